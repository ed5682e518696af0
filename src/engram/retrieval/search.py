"""The search stage: signals -> fusion -> items with sources and a score breakdown."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from ..embed.base import Embedder
from ..models import Episode, Hit, ItemRef, Memory, Scope, SearchFilters
from ..store.base import Candidate, Store
from .config import RetrievalConfig
from .fusion import Fused, fuse

__all__ = ["Searcher"]


class Searcher:
    """Runs one :class:`RetrievalConfig` against a store.

    ``embedder`` is a callable returning the embedder, so a lexical-only
    search never loads the model.
    """

    def __init__(self, store: Store, embedder: Callable[[], Embedder]) -> None:
        self.store = store
        self._embedder = embedder

    def candidates(
        self,
        query: str,
        scope: Scope,
        filters: SearchFilters,
        config: RetrievalConfig,
        query_vector: object | None = None,
    ) -> dict[str, list[Candidate]]:
        lists: dict[str, list[Candidate]] = {}
        n = config.candidates
        if config.uses("bm25"):
            lists["bm25"] = self.store.lexical_search(scope, query, filters, n)
        if config.uses("dense"):
            emb = self._embedder()
            vec = query_vector if query_vector is not None else emb.embed_one(query, "query")
            lists["dense"] = self.store.vector_search(scope, vec, emb.model_id, filters, n)  # type: ignore[arg-type]
        return lists

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
        lists = self.candidates(query, scope, filters, config, query_vector)
        fused = fuse(lists, config.weights, method=config.fusion, rrf_k=config.rrf_k)
        # boosts that need the items (recency) may reorder the head: fetch more then
        head = fused[: max(limit * 3, limit + 20)] if config.recency_weight > 0 else fused[: limit + 5]
        items = self._fetch(scope, [f.ref for f in head], filters)
        ranked: list[tuple[float, Fused]] = []
        for f in head:
            item = items.get(f.ref)
            if item is None:
                continue
            score = f.score
            if isinstance(item, Memory) and config.memory_boost != 1.0:
                score *= config.memory_boost
                f.scores["memory_boost"] = config.memory_boost
            if config.recency_weight > 0:
                when = item.occurred_at if isinstance(item, Episode) else (
                    item.valid_from or item.created_at
                )
                age = max(0.0, (now - when).total_seconds() / 86400.0)
                bonus = config.recency_weight * math.pow(0.5, age / config.recency_half_life_days)
                f.scores["recency_part"] = bonus
                score += bonus
            ranked.append((score, f))
        ranked.sort(key=lambda t: (-t[0], t[1].ref.type, t[1].ref.id))
        hits: list[Hit] = []
        for score, f in ranked[:limit]:
            item = items[f.ref]
            hits.append(Hit(ref=f.ref, item=item, score=score, scores=dict(f.scores)))
        self._attach_sources(scope, hits)
        return hits

    def _fetch(
        self, scope: Scope, refs: list[ItemRef], filters: SearchFilters
    ) -> dict[ItemRef, Episode | Memory]:
        ep_ids = [r.id for r in refs if r.type == "episode"]
        mem_ids = [r.id for r in refs if r.type == "memory"]
        out: dict[ItemRef, Episode | Memory] = {}
        for e in self.store.get_episodes(scope, ep_ids):
            out[ItemRef("episode", e.id)] = e
        if filters.as_of is not None:
            for mid in mem_ids:
                m = self.store.memory_as_of(scope, mid, filters.as_of)
                if m is not None:
                    out[ItemRef("memory", mid)] = m
        else:
            for m in self.store.get_memories(scope, mem_ids):
                out[ItemRef("memory", m.id)] = m
        return out

    def _attach_sources(self, scope: Scope, hits: list[Hit]) -> None:
        wanted = [sid for h in hits if isinstance(h.item, Memory) for sid in h.item.source_episode_ids]
        if not wanted:
            return
        found = {e.id: e for e in self.store.get_episodes(scope.with_session(None), wanted)}
        for h in hits:
            if isinstance(h.item, Memory):
                h.sources = [found[s] for s in h.item.source_episode_ids if s in found]
