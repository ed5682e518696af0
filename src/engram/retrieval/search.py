"""The search stage: signals -> fusion -> items with sources and a score breakdown."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol

import numpy as np

from ..agents.preferences import is_tracked
from ..embed.base import Embedder
from ..ingest.index import embedding_text
from ..models import Episode, Hit, ItemRef, Memory, Scope, SearchFilters
from ..store.base import Candidate, Neighbour
from ..store.views import is_view
from ..text import content_hash
from . import (
    adapter,
    expand,
    feedback,
    floors,
    holidays,
    hops,
    links,
    overview,
    reformulate,
    rerank,
    topics,
    unnamed,
    updates,
    variants,
    windows,
)
from .aliases import speaker_aliases
from .config import RetrievalConfig
from .decay import decay_factor
from .fusion import Fused, fused_head
from .signals import Signal

__all__ = ["Head", "SearchSource", "Searcher"]


class SearchSource(Protocol):
    """The store reads a :class:`Searcher` makes: a narrow slice of
    :class:`~engram.store.base.Store`, whose docstrings pin each method's behaviour.

    Every store satisfies it; a tuning tool may pass a wrapper that memoises
    these reads (``tools/tune_retrieval.py``).
    """

    def lexical_search(
        self, scope: Scope, query: str, filters: SearchFilters, limit: int,
        max_postings: int | None = None,
    ) -> list[Candidate]: ...

    def vector_search(
        self, scope: Scope, vector: np.ndarray, model_id: str, filters: SearchFilters,
        limit: int,
    ) -> list[Candidate]: ...

    def episode_neighbours(
        self, scope: Scope, ids: Sequence[str], radius: int
    ) -> dict[str, list[Neighbour]]: ...

    def get_episodes(self, scope: Scope, ids: Sequence[str]) -> list[Episode]: ...

    def get_memories(self, scope: Scope, ids: Sequence[str]) -> list[Memory]: ...

    def get_items(
        self, scope: Scope, episode_ids: Sequence[str], memory_ids: Sequence[str]
    ) -> tuple[list[Episode], list[Memory]]: ...

    def get_item_views(
        self, scope: Scope, episode_ids: Sequence[str], memory_ids: Sequence[str]
    ) -> tuple[list[Episode], list[Memory]]: ...

    def search_both(
        self, scope: Scope, query: str, vector: np.ndarray, model_id: str,
        filters: SearchFilters, limit: int,
    ) -> tuple[list[Candidate], list[Candidate]]: ...

    def memory_as_of(self, scope: Scope, memory_id: str, as_of: datetime) -> Memory | None: ...

    def stored_vectors(
        self, scope: Scope, model_id: str, refs: Sequence[ItemRef], hashes: Sequence[str],
        *, tenant: str | None = None,
    ) -> dict[str, np.ndarray]: ...

    def kept_terms(
        self, scope: Scope, model_id: str, ref: ItemRef, text: str
    ) -> frozenset[str] | None: ...

    def scope_centroid(self, scope: Scope, model_id: str) -> np.ndarray | None: ...


#: a value not read yet (``Searcher.candidates``' ``mean``)
_UNREAD: Any = object()


@dataclass
class Head:
    """The fused head of one search: best first, every item fetched (as a view
    where the store makes them: :meth:`~engram.store.base.Store.get_item_views`)."""

    fused: list[Fused]
    items: dict[ItemRef, Episode | Memory]
    #: each signal's list before and after neighbour windows
    raw: dict[str, list[Candidate]]
    lists: dict[str, list[Candidate]]
    #: lower-cased speakers of the head that the query names (by their label, or by
    #: another name the chat gives them: :mod:`.aliases`)
    named: set[str]
    #: session neighbours of the window seeds (episode id -> neighbours)
    neighbours: dict[str, list[Neighbour]] = field(default_factory=dict)
    #: the user's mean message vector as this search read it (``None``: not read, or
    #: the store gives none)
    mean: np.ndarray | None = None
    #: lower-cased speaker -> the query's names for them that are not their label
    aliases: dict[str, str] = field(default_factory=dict)


class Searcher:
    """Runs one :class:`RetrievalConfig` against a store.

    ``embedder`` is a callable returning the embedder, so a lexical-only
    search never loads the model.
    """

    def __init__(self, store: SearchSource, embedder: Callable[[], Embedder]) -> None:
        self.store = store
        self._embedder = embedder

    def candidates(
        self,
        query: str,
        scope: Scope,
        filters: SearchFilters,
        config: RetrievalConfig,
        query_vector: object | None = None,
        mean: object = _UNREAD,
    ) -> dict[str, list[Candidate]]:
        """Each signal's candidate list, best first, before neighbour windows. ``mean``:
        the user's mean message vector where the caller has read it already."""
        lists: dict[str, list[Candidate]] = {}
        n = config.candidates
        if config.uses(Signal.DENSE):
            emb = self._embedder()
            vec, plain = unnamed.embedded(query, emb, config.unnamed_weight,
                                          query_vector)  # type: ignore[arg-type]
            vec, also = reformulate.query_vectors(query, vec, emb, config)
            vec = unnamed.mixed(vec, plain, config.unnamed_weight)  # "Paola": what she watches
            vec = self._dense_query(query, vec, scope, emb, config, mean)
            if config.uses(Signal.BM25):  # one round trip where the store can
                lists[Signal.BM25], lists[Signal.DENSE] = self.store.search_both(
                    scope, query, vec, emb.model_id, filters, n)
            else:
                lists[Signal.DENSE] = self.store.vector_search(scope, vec, emb.model_id, filters, n)
            if also is not None:  # the rewrite searches too; each item's better cosine
                also = self._dense_query(query, also, scope, emb, config, mean)
                lists[Signal.DENSE] = reformulate.merged(
                    lists[Signal.DENSE],
                    self.store.vector_search(scope, also, emb.model_id, filters, n), n)
        elif config.uses(Signal.BM25):
            lists[Signal.BM25] = self.store.lexical_search(scope, query, filters, n)
        if config.expand_weight > 0 and Signal.BM25 in lists:  # "pet" also finds "corgi"
            lists[Signal.BM25] = expand.merged(
                lists[Signal.BM25], query, config.expand_weight, n,
                lambda q: self.store.lexical_search(scope, q, filters, n))
        if config.variant_weight > 0 and Signal.BM25 in lists:  # "advocacy": "advocate"
            lists[Signal.BM25] = variants.merged(
                lists[Signal.BM25], query, config.variant_weight, n,
                lambda q: self.store.lexical_search(scope, q, filters, n))
        if config.holiday_weight > 0 and Signal.BM25 in lists:  # "31 Dec": "New Year's Eve"
            lists[Signal.BM25] = expand.also(
                lists[Signal.BM25], holidays.holiday_words(query), config.holiday_weight, n,
                lambda q: self.store.lexical_search(scope, q, filters, n))
        if config.feedback_weight > 0 and lists.get(Signal.BM25):  # the first hits' words
            lists[Signal.BM25] = self._fed_back(query, scope, filters, config, lists)
        return lists

    def _dense_query(self, query: str, vec: np.ndarray, scope: Scope, emb: Embedder,
                     config: RetrievalConfig, mean: object = _UNREAD) -> np.ndarray:
        """The dense signal's query vector: adapted, centred, then moved towards a broad
        query's topic. ``mean``: the user's mean message vector, read here unless given."""
        if config.adapter_weight > 0:  # a question's vector nearer the turns that answer it
            vec = adapter.adapted(vec, emb.model_id, config.adapter_weight)
        if config.centre_weight > 0:  # what all the user's turns share counts less
            if mean is _UNREAD:
                mean = self.store.scope_centroid(scope, emb.model_id)
            vec = _centred(vec, mean, config.centre_weight)  # type: ignore[arg-type]
        if config.topic_weight > 0 and topics.broad(query):  # "hobbies": "Pilates"
            vec = topics.expanded(vec, emb, config.topic_weight)
        return vec

    def _fed_back(self, query: str, scope: Scope, filters: SearchFilters,
                  config: RetrievalConfig, lists: dict[str, list[Candidate]]) -> list[Candidate]:
        """The BM25 list after lexical feedback (:func:`.feedback.merged`)."""
        refs = feedback.feedback_refs([lists.get(Signal.DENSE, []), lists[Signal.BM25]])
        eps, mems = self.store.get_item_views(
            scope, [r.id for r in refs if r.type == "episode"],
            [r.id for r in refs if r.type != "episode"])
        terms = feedback.feedback_terms(query, [e.text for e in eps] + [m.text for m in mems])
        n = config.candidates
        return feedback.merged(lists[Signal.BM25], terms, config.feedback_weight, n,
                               lambda q: self.store.lexical_search(
                                   scope, q, filters, n, feedback.MAX_POSTINGS))

    def windowed(
        self,
        lists: dict[str, list[Candidate]],
        scope: Scope,
        filters: SearchFilters,
        config: RetrievalConfig,
        neighbours_out: dict[str, list[Neighbour]] | None = None,
    ) -> dict[str, list[Candidate]]:
        """Apply neighbour windows (:mod:`.windows`) to the lists that have a weight.

        Neighbours come from :meth:`Store.episode_neighbours` for the
        ``window_seeds`` best episodes of each windowed list; a neighbour that
        a filter would exclude is dropped. ``neighbours_out``, when given,
        receives them (seed id -> neighbours).
        """
        active = [s for s, w in config.window_weights.items() if w > 0 and lists.get(s)]
        if config.window_radius <= 0 or not active:
            return lists
        seeds: dict[str, None] = {}
        for s in active:
            for c in lists[s][: config.window_seeds]:
                if c.ref.type == "episode":
                    seeds[c.ref.id] = None
        nb = self.store.episode_neighbours(scope, list(seeds), config.window_radius)
        if _filtering(filters):
            known = {c.ref.id for cands in lists.values() for c in cands}
            extra = {n.id for ns in nb.values() for n in ns} - known
            allowed = known | self._admitted(scope, extra, filters)
            nb = {k: [n for n in ns if n.id in allowed] for k, ns in nb.items()}
        if neighbours_out is not None:
            neighbours_out.update(nb)
        out = dict(lists)
        for s in active:  # only the seeds spread; the tail keeps its own score after them
            out[s] = windows.windowed(
                lists[s], nb, seeds=config.window_seeds, weight=config.window_weights[s],
                decay=config.window_decay, from_zero=s == Signal.BM25,
                radius=config.window_radius, self_weight=config.window_self,
            )
        return out

    def _admitted(self, scope: Scope, ids: set[str], filters: SearchFilters) -> set[str]:
        """Which of these episode ids pass ``filters`` (kinds, time range, metadata)."""
        if not ids or not filters.wants("episode"):
            return set()
        ok = set()
        for e in self.store.get_episodes(scope, sorted(ids)):
            if filters.start is not None and e.occurred_at < filters.start:
                continue
            if filters.end is not None and e.occurred_at >= filters.end:
                continue
            if filters.as_of is not None and e.created_at > filters.as_of:
                continue
            if any(e.metadata.get(k) != v for k, v in filters.metadata):
                continue
            ok.add(e.id)
        return ok

    def search(
        self,
        query: str,
        scope: Scope,
        filters: SearchFilters,
        config: RetrievalConfig,
        limit: int,
        now: datetime,
        query_vector: object | None = None,
    ) -> list[Hit]:
        if config.overview and (about := overview.topic(query)) is not None:
            query, query_vector = about, None  # the request's topic, embedded anew
        present = config.present_weight > 0 and _PRESENT.search(query) is not None
        h = self.head(query, scope, filters, config, limit, present, query_vector)
        head, items, named = h.fused, h.items, h.named
        hopping = config.hop_seeds > 0 and config.hop_limit > 0
        # what the reranker and the hops need from the query, parsed once
        info = rerank.query_info(query, now) if config.rerank or hopping else None
        learned = self._reranked(scope, info, h, config)
        when_of = self._event_times(scope, items) if present or config.recency_weight > 0 else {}
        newest = max(when_of.values(), default=now)
        ranked: list[tuple[float, Fused]] = []
        for i, f in enumerate(head):
            item = items[f.ref]
            score = f.score
            if learned is not None:
                score = float(learned[i])
                f.scores["rerank"] = score
            elif isinstance(item, Memory) and config.memory_boost != 1.0:
                score *= config.memory_boost
                f.scores["memory_boost"] = config.memory_boost
            if present:
                rel = max(0.0, (newest - when_of[f.ref]).total_seconds() / 86400.0)
                bonus = config.present_weight * math.pow(0.5, rel / config.recency_half_life_days)
                f.scores["present_part"] = bonus
                score += bonus
            if config.recency_weight > 0:
                when = when_of[f.ref]
                age = max(0.0, (now - when).total_seconds() / 86400.0)
                bonus = config.recency_weight * math.pow(0.5, age / config.recency_half_life_days)
                f.scores["recency_part"] = bonus
                score += bonus
            if (learned is None and named and isinstance(item, Episode)
                    and (item.speaker or "").lower() in named):
                f.scores["speaker_part"] = config.speaker_boost
                score += config.speaker_boost
            if isinstance(item, Memory) and config.decay_weight > 0:
                factor = decay_factor(item, now, config.decay_weight, config.decay_strength_days)
                f.scores["decay"] = factor
                score *= factor
            ranked.append((score, f))
        ranked.sort(key=lambda t: (-t[0], t[1].ref.type, t[1].ref.id))
        if hopping and ranked and info is not None:
            ranked = self._hopped(info.names, scope, filters, config, ranked, items)
        if config.link_weight > 0:  # linked notes (:mod:`.links`)
            ranked = links.boost(ranked, lambda f: f.ref, lambda f: f.scores, items,
                                 config.link_weight, config.link_seeds)
        crossing = bool(config.cross_model) and config.cross_weight > 0
        if crossing and config.cross_stage == "ranked":
            ranked = self._crossed(query, config, ranked, items)
        ranked = self._ordered(query, scope, config, ranked, h, info, when_of, now)
        if crossing and config.cross_stage == "last":
            ranked = self._crossed(query, config, ranked, items)
        top = ranked[:limit]
        whole = self._whole(scope, [f.ref for _, f in top], items)
        hits = [Hit(ref=f.ref, item=whole[f.ref], score=score, scores=dict(f.scores))
                for score, f in top if f.ref in whole]
        self._attach_sources(scope, hits)
        return hits

    @staticmethod
    def _crossed(
        query: str,
        config: RetrievalConfig,
        ranked: list[tuple[float, Fused]],
        items: dict[ItemRef, Episode | Memory],
    ) -> list[tuple[float, Fused]]:
        """The second model's re-scoring of the head (:mod:`.crossrank`)."""
        from . import crossrank

        scorer = crossrank.get_scorer(config.cross_model)
        return crossrank.rescored(ranked, query, lambda f: items[f.ref].text,
                                  lambda f: f.scores, scorer, config.cross_depth,
                                  config.cross_weight)

    def _ordered(
        self,
        query: str,
        scope: Scope,
        config: RetrievalConfig,
        ranked: list[tuple[float, Fused]],
        h: Head,
        info: rerank.QueryInfo | None,
        when_of: dict[ItemRef, datetime],
        now: datetime,
    ) -> list[tuple[float, Fused]]:
        """The signal floors and the newer-first rule (:mod:`.updates`); scores are
        kept non-increasing (a moved hit takes the score of the place it moves to)."""
        before = [sc for sc, _ in ranked]
        out = ranked
        for signal, n in config.floors.items():
            tops = [c.ref for c in h.raw.get(signal, ())[:n]]
            out = floors.apply_floors(out, lambda t: t[1].ref, tops, config.floor_rank)
        timed = info is not None and updates.earlier_range(info.start, info.end, now)
        # a question about an earlier time keeps the ranker's order, unless it names
        # a dated event both statements name too (a correction of that event)
        past = updates.asks_past(query)
        anchor = updates.anchor_terms(query) if timed or past else None
        # a question about an earlier state ("What car did I drive before?") puts the
        # older of two statements of one thing first; one about an earlier time alone
        # ("What did I do last week?") keeps the ranker's order
        earlier = anchor == frozenset() and past and updates.marks_earlier_state(query)
        if config.update_depth > 1 and (anchor != frozenset() or earlier):
            reach = updates.reach(config.update_depth)
            top = [h.items[f.ref] for _, f in out[:reach]]
            missing = {f.ref: i for i, (_, f) in enumerate(out[:reach])
                       if f.ref not in when_of}
            if missing:
                when_of = {**when_of, **self._event_times(scope, {r: h.items[r] for r in missing})}
            vectors = self._vectors(scope, top)
            cosine = {c.ref: c.score for c in h.raw.get(Signal.DENSE, ())}
            out = updates.newer_first(
                out, config.update_depth, lambda t: h.items[t[1].ref].text,
                lambda t: when_of[t[1].ref], vectors, lambda t: cosine.get(t[1].ref),
                updates.naming_terms(query, info.names if info is not None else ()),
                (updates.asks_current(query) and anchor is None) or bool(anchor) or earlier,
                anchor or frozenset(),
                lambda t: _session_of(h.items[t[1].ref]),
                query,
                lambda t: _origin_of(h.items[t[1].ref]),
                lambda t: _tracked(h.items[t[1].ref]),
                lambda t: _teller_of(h.items[t[1].ref]),
                None if h.mean is None else config.centre_weight * np.asarray(
                    h.mean, dtype=np.float64).reshape(-1),
                earlier,
            )
        if out is ranked:
            return ranked
        was = {f.ref: i for i, (_, f) in enumerate(ranked)}
        for i, (_, f) in enumerate(out):
            if was[f.ref] != i:
                f.scores["moved_from"] = float(was[f.ref] + 1)
        return [(sc, f) for sc, (_, f) in zip(before, out, strict=True)]

    def _vectors(self, scope: Scope, items: list[Episode | Memory]) -> dict[int, np.ndarray]:
        """Each item's stored vector, by position (missing where none is stored)."""
        hashes = [content_hash(embedding_text(i)) for i in items]
        tenants = {i.scope.tenant for i in items}  # one in a search: one shard on Citus
        refs = [ItemRef("episode" if isinstance(i, Episode) else "memory", i.id) for i in items]
        found = self.store.stored_vectors(scope, self._embedder().model_id, refs, hashes,
                                          tenant=tenants.pop() if len(tenants) == 1 else None)
        return {i: found[hsh] for i, hsh in enumerate(hashes) if hsh in found}

    def head(
        self,
        query: str,
        scope: Scope,
        filters: SearchFilters,
        config: RetrievalConfig,
        limit: int,
        present: bool = False,
        query_vector: object | None = None,
    ) -> Head:
        """Signals, windows and fusion; the fused head that later stages rescore, fetched.

        The head is deep enough for what reorders it: ``rerank_depth`` with a
        reranker, ``3 * limit`` with bonuses, else ``limit + 5``.
        """
        # the user's mean message vector, read once: it centres the dense query and the
        # newer-first rule's nearest-in-meaning tests
        mean = (self.store.scope_centroid(scope, self._embedder().model_id)
                if config.centre_weight > 0 and config.uses(Signal.DENSE) else None)
        raw = self.candidates(query, scope, filters, config, query_vector, mean)
        nb: dict[str, list[Neighbour]] = {}
        lists = self.windowed(raw, scope, filters, config, nb)
        # boosts that need the items (recency) may reorder the head: fetch more then
        reorders = (
            config.recency_weight > 0
            or config.speaker_boost > 0
            or config.decay_weight > 0
            or present
        )
        kept: set[ItemRef] = set()
        if config.rerank:
            depth = max(config.rerank_depth, limit)
            if config.keep_top > 0:  # each signal's best raw hits, however they fuse
                kept = {c.ref for cands in raw.values() for c in cands[: config.keep_top]}
        elif reorders:
            depth = max(limit * 3, limit + 20)
        else:
            depth = limit + 5
        # the fused list's first ``depth`` and the kept ones below them, made alone
        top = fused_head(lists, config.weights, depth, kept, method=config.fusion,
                         rrf_k=config.rrf_k)
        items = self._fetch(scope, [f.ref for f in top], filters)
        top = [f for f in top if f.ref in items]
        wants_speaker = config.speaker_boost > 0 or bool(config.rerank)
        named = _named_speakers(query, items.values()) if wants_speaker else set()
        other = speaker_aliases(query, items.values()) if wants_speaker else {}
        return Head(top, items, raw, lists, named | other.keys(), nb, mean, other)

    def _hopped(
        self,
        query_names: Iterable[str],
        scope: Scope,
        filters: SearchFilters,
        config: RetrievalConfig,
        ranked: list[tuple[float, Fused]],
        items: dict[ItemRef, Episode | Memory],
    ) -> list[tuple[float, Fused]]:
        """``ranked`` with items reached over the entity graph (:mod:`.hops`);
        ``items`` gains the ones it fetches."""
        seeds = ranked[: config.hop_seeds]
        speakers = {i.speaker for i in items.values() if isinstance(i, Episode) and i.speaker}
        via = hops.bridges(query_names, [(sc, items[f.ref]) for sc, f in seeds], speakers)
        if not via:
            return ranked
        found = self.store.lexical_search(scope, " ".join(via), filters, config.hop_candidates)
        seed_refs = {f.ref for _, f in seeds}
        current = {f.ref: (sc, f) for sc, f in ranked}
        wanted = [c.ref for c in found if c.ref not in seed_refs]
        items.update(self._fetch(scope, [r for r in wanted if r not in items], filters))
        moved: dict[ItemRef, tuple[float, Fused]] = {}
        for ref in wanted:
            item = items.get(ref)
            best = hops.linked(item, via) if item is not None else None
            if best is None:
                continue
            score = best - config.hop_penalty
            own = current.get(ref)
            if own is not None and own[0] >= score:
                continue
            breakdown = dict(own[1].scores) if own is not None else {}
            breakdown["hop"] = -config.hop_penalty
            moved[ref] = (score, Fused(ref, score, breakdown))
            if len(moved) >= config.hop_limit:
                break
        if not moved:
            return ranked
        out = [t for t in ranked if t[1].ref not in moved] + list(moved.values())
        out.sort(key=lambda t: (-t[0], t[1].ref.type, t[1].ref.id))
        return out

    def _reranked(self, scope: Scope, info: rerank.QueryInfo | None, h: Head,
                  config: RetrievalConfig) -> Any:
        """The learned scores of ``h.fused`` (:mod:`.rerank`), or ``None`` when off.
        Texts' term sets kept from indexing are read from the store's index
        (:meth:`~engram.store.base.Store.kept_terms`) where it holds the model's."""
        if not config.rerank or info is None:
            return None
        kept = None
        if config.uses(Signal.DENSE):  # the embedder is loaded: its index is the store's
            model_id = self._embedder().model_id
            kept = partial(self.store.kept_terms, scope, model_id)
        matrix = rerank.features(info, h.fused, h.items, h.raw, h.lists, h.named,
                                 h.neighbours, kept, h.aliases)
        return rerank.score(matrix, config.rerank)

    def _event_times(
        self, scope: Scope, items: dict[ItemRef, Episode | Memory]
    ) -> dict[ItemRef, datetime]:
        """When each item happened: an episode's ``occurred_at``; a memory's
        ``valid_from``, else the latest of its source episodes, else ``created_at``
        (a memory derived today from an old message is as old as the message)."""
        wanted = [
            sid
            for i in items.values()
            if isinstance(i, Memory) and i.valid_from is None
            for sid in i.source_episode_ids
        ]
        found = self.store.get_episodes(scope.with_session(None), wanted)
        src = {e.id: e.occurred_at for e in found}
        out: dict[ItemRef, datetime] = {}
        for ref, i in items.items():
            if isinstance(i, Episode):
                out[ref] = i.occurred_at
            elif i.valid_from is not None:
                out[ref] = i.valid_from
            else:
                times = [src[s] for s in i.source_episode_ids if s in src]
                out[ref] = max(times) if times else i.created_at
        return out

    def _whole(self, scope: Scope, refs: list[ItemRef],
               items: dict[ItemRef, Episode | Memory]) -> dict[ItemRef, Episode | Memory]:
        """The decoded items of ``refs`` (the hits to return): views read whole
        (:meth:`~engram.store.base.Store.get_items`), the others as they are; an
        item gone from the store since its view was made is left out."""
        out = {r: items[r] for r in refs if not is_view(items[r])}
        wanted = [r for r in refs if r not in out]
        if wanted:
            episodes, memories = self.store.get_items(
                scope, [r.id for r in wanted if r.type == "episode"],
                [r.id for r in wanted if r.type == "memory"])
            out.update((ItemRef("episode", e.id), e) for e in episodes)
            out.update((ItemRef("memory", m.id), m) for m in memories)
        return out

    def _fetch(
        self, scope: Scope, refs: list[ItemRef], filters: SearchFilters
    ) -> dict[ItemRef, Episode | Memory]:
        """The items of ``refs`` visible in ``scope``, for ranking: views where the
        store makes them (:meth:`~engram.store.base.Store.get_item_views`); with
        ``filters.as_of``, each memory as it was then."""
        ep_ids = [r.id for r in refs if r.type == "episode"]
        mem_ids = [r.id for r in refs if r.type == "memory"]
        out: dict[ItemRef, Episode | Memory] = {}
        if filters.as_of is None:  # both in one round trip where the store can
            episodes, memories = self.store.get_item_views(scope, ep_ids, mem_ids)
            out.update((ItemRef("episode", e.id), e) for e in episodes)
            out.update((ItemRef("memory", m.id), m) for m in memories)
            return out
        for e in self.store.get_episodes(scope, ep_ids):
            out[ItemRef("episode", e.id)] = e
        for mid in mem_ids:
            m = self.store.memory_as_of(scope, mid, filters.as_of)
            if m is not None:
                out[ItemRef("memory", mid)] = m
        return out

    def _attach_sources(self, scope: Scope, hits: list[Hit]) -> None:
        wanted = [
            sid for h in hits if isinstance(h.item, Memory) for sid in h.item.source_episode_ids
        ]
        if not wanted:
            return
        found = {e.id: e for e in self.store.get_episodes(scope.with_session(None), wanted)}
        for h in hits:
            if isinstance(h.item, Memory):
                h.sources = [found[s] for s in h.item.source_episode_ids if s in found]


#: words by which a query asks about the present state of things
_PRESENT = re.compile(
    r"\b(now|nowadays|currently|current|these days|at the moment|at present|"
    r"any ?more|still|latest|most recent(?:ly)?|today)\b",
    re.IGNORECASE,
)


def _session_of(item: Episode | Memory) -> str | None:
    """An episode's session (statements of one session are one telling)."""
    return item.scope.session_id if isinstance(item, Episode) else None


def _tracked(item: Episode | Memory) -> bool:
    """A tracked preference (one memory per topic): its value gathers observations."""
    return isinstance(item, Memory) and is_tracked(item)


def _origin_of(item: Episode | Memory) -> frozenset[str]:
    """The messages an item tells (:func:`.tellings.inherited`): an episode itself, a
    memory its source episodes; none for a tracked preference (one memory per topic,
    "Nicolas likes new exotic foods", whose value only its own tracker moves: a later
    "Just ate some diner food" replaces nothing of it)."""
    if isinstance(item, Episode):
        return frozenset((item.id,))
    return frozenset() if _tracked(item) else frozenset(item.source_episode_ids)


def _teller_of(item: Episode | Memory) -> updates.Teller | None:
    """Who told an item (:func:`.updates.told_apart`): the speaker a message names; none
    for a message without one, or a memory, which tells what its messages said."""
    return (item.speaker or None) if isinstance(item, Episode) else None


def _filtering(filters: SearchFilters) -> bool:
    return bool(
        filters.start is not None
        or filters.end is not None
        or filters.metadata
        or filters.as_of is not None
        or not filters.wants("episode")
    )


def _named_speakers(query: str, items: Iterable[Episode | Memory]) -> set[str]:
    """Lower-cased speakers of ``items`` that ``query`` names as a whole word."""
    speakers = {i.speaker.lower() for i in items if isinstance(i, Episode) and i.speaker}
    q = query.lower()
    return {s for s in speakers if re.search(rf"(?<![^\W_]){re.escape(s)}(?![^\W_])", q)}


def _centred(vec: np.ndarray, centroid: np.ndarray | None, weight: float) -> np.ndarray:
    """``vec/|vec| - weight * centroid``, unit length, float32 (``config.centre_weight``);
    ``vec`` unchanged without a centroid or when it would cancel out."""
    if centroid is None:
        return vec
    q = np.asarray(vec, dtype=np.float64).reshape(-1)
    c = np.asarray(centroid, dtype=np.float64).reshape(-1)
    norm = np.linalg.norm(q)
    if norm == 0 or c.shape != q.shape:
        return vec
    q = q / norm - weight * c
    out = np.linalg.norm(q)
    return vec if out == 0 else (q / out).astype(np.float32)
