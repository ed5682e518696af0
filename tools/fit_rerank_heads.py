"""Reranked heads of every data set, saved once, for fitting and simulating the reranker.

    python -m tools.fit_rerank_heads --data-dir ../shared/data --work /tmp/engram-eval

For every scored question with gold evidence (dev and held parts, each row
tagged) the ``recall`` preset's fused head (``rerank_depth`` candidates plus
each signal's ``keep_top`` best) is computed once with its feature matrix
(:data:`engram.retrieval.rerank.FEATURES`), the benchmark turns each row stands
for, and the dense signal's raw top 3 (for the floors). The heads are pickled
to ``--work/heads-<set>.pkl``; :mod:`tools.fit_rerank_cv` fits and scores on
them without searching again. A head is what the reranker sees: the floors are
simulated there, the newer-first rule and the hops are not.

``--sets cases`` stores the category/paraphrase test cases
(``tests/fixtures/category_paraphrase.jsonl``) in ``--work/cases.db`` and saves
their heads too: :mod:`tools.fit_rerank_cv` scores them (top 1 / 5 / 10, and the
dense signal alone) but never fits on them.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engram.index.lexical import term_set, tokens
from engram.models import Episode, Memory
from engram.recall import query_names
from engram.retrieval import adapter
from engram.retrieval.config import RetrievalConfig, get_preset
from engram.retrieval.signals import Signal
from tools.fit_rerank import heads as searched_heads

__all__ = ["Head", "collect", "load_heads"]

SETS = ("locomo", "realtalk", "beam", "letta_read", "letta_update")
#: the category/paraphrase cases of ``tests/fixtures/category_paraphrase.jsonl``:
#: scored, never fitted on (part "held"); ``--sets cases`` builds them
CASES = "cases"


@dataclass
class Head:
    """One question's reranked head: features, the turns each row stands for, the gold."""

    dataset: str
    part: str
    conversation: str
    category: str
    matrix: np.ndarray
    units: list[tuple[str, ...]]
    gold: tuple[str, ...]
    stale: tuple[str, ...] = ()
    #: rows of the dense signal's 3 best raw candidates (best first)
    dense_top: list[int] = field(default_factory=list)
    #: per row, raw material for trying new features: ``<signal>_rank`` (1-based
    #: in the raw list, 0: absent), ``<signal>_wrank`` (windowed list),
    #: ``<signal>_score`` (raw); per head ``<signal>_mean`` / ``<signal>_sd`` of
    #: the raw list's scores; ``query``: the question; ``texts`` / ``kinds``: each
    #: row's text and, for a derived memory, its kind ("" for an episode)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> np.ndarray:
        gold = set(self.gold)
        return np.array([1.0 if gold.intersection(u) else 0.0 for u in self.units])


def _units(item: Episode | Memory, episode_turn: dict[str, str]) -> tuple[str, ...]:
    if isinstance(item, Episode):
        tid = episode_turn.get(item.id)
        return (tid,) if tid else ()
    return tuple(dict.fromkeys(episode_turn[e] for e in item.source_episode_ids
                               if e in episode_turn))


def _extra(h: Any, query: str) -> dict[str, Any]:
    out: dict[str, Any] = {"query": query}
    n = len(h.fused)
    for sig in (Signal.BM25, Signal.DENSE):
        out.update(_raw_extra(sig, h.fused, h.raw.get(sig, ())))
        pos = {c.ref: i + 1 for i, c in enumerate(h.lists.get(sig, ()))}
        out[f"{sig}_wrank"] = np.array([pos.get(f.ref, 0) for f in h.fused], dtype=float)
    out["fused_rank"] = np.arange(1, n + 1, dtype=float)
    texts = [h.items[f.ref].text for f in h.fused]
    out["rest_cover"] = _rest_cover(query, texts)
    out["rest_prefix"] = _rest_cover(query, texts, prefix=5)
    out["texts"] = texts
    # a derived memory's kind ("fact", "procedure", ...), "" for an episode
    out["kinds"] = [getattr(h.items[f.ref], "kind", "") or "" for f in h.fused]
    return out


#: holds an entry once :func:`_same_borrow` has checked its rebuild of a windowed list
_REBUILT_CHECKED: list[bool] = []


def _same_borrow(store: Any, scope: Any, h: Any, config: RetrievalConfig
                 ) -> dict[str, np.ndarray]:
    """Per row, how much of its windowed score (BM25: ``same_borrow``, dense:
    ``dense_same_borrow``; relative to the windowed list's best, as the ``window``
    feature) the item borrows from a session neighbour with its own speaker (session
    15: in a fact list every neighbour is the same person's next fact, not a reply).
    The windowed list is rebuilt from the raw list with the cross-speaker neighbours
    alone; the difference is the same-speaker part. The first call of a run checks
    that rebuilding with every neighbour gives the search's own windowed list."""
    from engram.retrieval import windows
    from tools.eval_same_speaker import same_speaker_pairs

    nb = h.neighbours
    same = same_speaker_pairs(store, scope, nb)
    cross = {k: [n for n in ns if (k, n.id) not in same] for k, ns in nb.items()}
    refs = [f.ref for f in h.fused]
    out: dict[str, np.ndarray] = {}
    for sig, name in ((Signal.BM25, "same_borrow"), (Signal.DENSE, "dense_same_borrow")):
        w = config.window_weights.get(sig, 0.0)
        raw, full = h.raw.get(sig, ()), h.lists.get(sig, ())
        if w <= 0 or not raw or not full or config.window_radius <= 0:
            out[name] = np.zeros(len(refs))
            continue
        kw = dict(seeds=config.window_seeds, weight=w, decay=config.window_decay,
                  from_zero=sig == Signal.BM25, radius=config.window_radius,
                  self_weight=config.window_self)
        fs = {c.ref: c.score for c in full}
        if not _REBUILT_CHECKED:  # once a run: the rebuild is the search's own windows
            again = {c.ref: c.score for c in windows.windowed(raw, nb, **kw)}
            assert all(abs(again.get(r, 0.0) - s) < 1e-9 for r, s in fs.items()), "rebuilt"
            _REBUILT_CHECKED.append(True)
        xs = {c.ref: c.score for c in windows.windowed(raw, cross, **kw)}
        hi = max(fs.values(), default=0.0) or 1.0
        out[name] = np.array([(fs.get(r, 0.0) - xs.get(r, 0.0)) / hi for r in refs])
    return out


def _rest_cover(query: str, texts: Sequence[str], prefix: int = 0) -> np.ndarray:
    """Per row, the share of the query's index terms beyond the names it gives
    (:func:`~engram.recall.query_names`) that the item's own text holds (session 14:
    near-duplicate facts about one person share the name; one other word decides).
    ``prefix``: a term also matches a term it begins, or that begins it, when the
    shorter has at least ``prefix`` letters (stems of one word family: "advoc" /
    "advocaci"); 0: equal terms only."""
    rest = frozenset(tokens(query)) - frozenset(tokens(" ".join(query_names(query))))
    if not rest:
        return np.zeros(len(texts))

    def held(terms: frozenset[str]) -> int:
        if not prefix:
            return len(rest & terms)
        return sum(1 for q in rest if q in terms or any(
            min(len(q), len(t)) >= prefix and (t.startswith(q) or q.startswith(t))
            for t in terms))

    return np.array([held(term_set(t)) / len(rest) for t in texts])


def _dense_list(eg: Any, scope: Any, query: str, text: str,
                config: RetrievalConfig) -> list[Any]:
    """The dense list of ``text`` embedded as a query, its vector moved as ``config``
    moves ``query``'s (the search's own :meth:`Searcher._dense_query`)."""
    from engram.models import SearchFilters
    from engram.retrieval.search import Searcher

    emb = eg.embedder()
    vec = Searcher(eg.store, eg.embedder)._dense_query(  # noqa: SLF001 - the search's own move
        query, emb.embed_one(text, "query"), scope, emb, config)
    found: list[Any] = eg.store.vector_search(scope, vec, emb.model_id, SearchFilters(),
                                              config.candidates)
    return found


def _adapted_list(eg: Any, scope: Any, query: str, config: RetrievalConfig) -> list[Any]:
    """The dense list of ``query`` with ``adapter_weight`` 1 (then centred and moved
    like the query's)."""
    return _dense_list(eg, scope, query, query, config.replace(adapter_weight=1.0))


def _restate_list(eg: Any, scope: Any, query: str, config: RetrievalConfig,
                  form: str) -> list[Any]:
    """The dense list of ``query``'s rewrite (:mod:`engram.retrieval.reformulate`),
    its vector centred and moved like the query's; empty when no rule changes it."""
    from engram.retrieval.reformulate import restated

    text = restated(query, speaker=form == "speaker")
    return [] if text is None else _dense_list(eg, scope, query, text, config)


def collect(eg: Any, ds: Any, part: str, name: str, config: RetrievalConfig,
            episode_turn: dict[str, str], restate_signal: str = "",
            adapted_signal: bool = False) -> list[Head]:
    """The head and features of every scored question of ``ds`` with gold evidence;
    with ``restate_signal`` (a ``restate_form``) also ``extra["restate_rank"]`` and
    ``["restate_score"]``: each row's place in the rewrite's own dense list; with
    ``adapted_signal`` ``extra["adapted_rank"]`` / ``["adapted_score"]``: each row's
    place in the dense list of the query through the adapter (weight 1)."""
    out = []
    for conv, q, scope, h, matrix in searched_heads(eg, ds, config):
        row = {f.ref: i for i, f in enumerate(h.fused)}
        tops = [row[c.ref] for c in h.raw.get(Signal.DENSE, ())[:3] if c.ref in row]
        extra = _extra(h, q.text)
        extra.update(_same_borrow(eg.store, scope, h, config))
        if restate_signal:
            extra.update(_raw_extra("restate", h.fused, _restate_list(
                eg, scope, q.text, config, restate_signal)))
        if adapted_signal:
            extra.update(_raw_extra("adapted", h.fused, _adapted_list(eg, scope, q.text, config)))
        out.append(Head(name, part, conv.group or conv.id, q.category, matrix,
                        [_units(h.items[f.ref], episode_turn) for f in h.fused],
                        q.evidence_turns, q.stale_turns, tops, extra))
    return out


def _raw_extra(sig: str, fused: Sequence[Any], found: Sequence[Any]) -> dict[str, Any]:
    """``<sig>_rank`` / ``<sig>_score`` per head row and the list's mean / sd."""
    pos = {c.ref: i + 1 for i, c in enumerate(found)}
    sc = {c.ref: c.score for c in found}
    vals = np.array(list(sc.values())) if sc else np.zeros(1)
    return {f"{sig}_rank": np.array([pos.get(f.ref, 0) for f in fused], dtype=float),
            f"{sig}_score": np.array([sc.get(f.ref, np.nan) for f in fused]),
            f"{sig}_mean": float(vals.mean()), f"{sig}_sd": float(vals.std())}


def collect_cases(work: Path, config: RetrievalConfig) -> list[Head]:
    """Heads of the category/paraphrase test cases (each its own user; gold: the
    evidence turn), stored in ``work/cases.db`` with the real embedder."""
    from datetime import UTC, datetime

    from engram import Engram
    from engram.models import Scope, SearchFilters
    from engram.retrieval import rerank
    from engram.retrieval.search import Searcher

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.categories import CASES as cases  # noqa: PLC0415
    from support.categories import add_cases

    db = work / "cases.db"
    db.unlink(missing_ok=True)
    eg = Engram(str(db))
    add_cases(eg)
    now = datetime(2024, 6, 1, 12, tzinfo=UTC)
    searcher = Searcher(eg.store, eg.embedder)
    out = []
    for case in cases:
        scope = Scope(user_id=case["id"])
        h = searcher.head(case["question"], scope, SearchFilters(), config, 10)
        matrix = rerank.features(rerank.query_info(case["question"], now), h.fused, h.items,
                                 h.raw, h.lists, h.named, h.neighbours)
        row = {f.ref: i for i, f in enumerate(h.fused)}
        tops = [row[c.ref] for c in h.raw.get(Signal.DENSE, ())[:3] if c.ref in row]
        units = [(it.id,) if isinstance(it, Episode) else tuple(it.source_episode_ids)
                 for it in (h.items[f.ref] for f in h.fused)]
        out.append(Head(CASES, "held", case["id"], case["id"].split("-")[0], matrix, units,
                        (f"{case['id']}:e",), (), tops,
                        {**_extra(h, case["question"]),
                         **_same_borrow(eg.store, scope, h, config)}))
    eg.close()
    return out


class _Unpickler(pickle.Unpickler):
    """Reads heads pickled by this module run as ``__main__`` too."""

    def find_class(self, module: str, name: str) -> Any:
        return Head if name == "Head" else super().find_class(module, name)


def load_heads(work: Path, sets: Sequence[str]) -> list[Head]:
    out: list[Head] = []
    for name in sets:
        with (work / f"heads-{name}.pkl").open("rb") as fh:
            out.extend(_Unpickler(fh).load())  # our own file
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from tools.eval_sets import _engine

    p = argparse.ArgumentParser(prog="python -m tools.fit_rerank_heads", description=__doc__)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--work", default="/tmp/engram-eval")
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--depth", type=int, default=None, help="rerank_depth (default: the preset's)")
    p.add_argument("--keep-top", type=int, default=None,
                   help="each signal's N best raw hits enter the head (default: the preset's)")
    p.add_argument("--topic-weight", type=float, default=None,
                   help="topic_weight of the dense query (default: the preset's)")
    p.add_argument("--centre-weight", type=float, default=None,
                   help="centre_weight of the dense query (default: the preset's)")
    p.add_argument("--adapter-weight", type=float, default=None,
                   help="adapter_weight of the dense query (default: the preset's)")
    p.add_argument("--adapter-file", default="",
                   help="an adapter written by tools.fit_adapter --out, used instead of the "
                        "shipped one (a fold's fit)")
    p.add_argument("--adapted-signal", action="store_true",
                   help="record each row's rank in the adapted query's own dense list "
                        "(features adapted_* of tools.fit_rerank_cv)")
    p.add_argument("--restate-weight", type=float, default=None,
                   help="restate_weight of the dense query (default: the preset's)")
    p.add_argument("--unnamed-weight", type=float, default=None,
                   help="unnamed_weight of the dense query (default: the preset's)")
    p.add_argument("--restate-form", default=None, choices=("statement", "speaker", "named"))
    p.add_argument("--restate-merge", action="store_true",
                   help="the rewrite's own dense hits join the dense list")
    p.add_argument("--restate-signal", default="", choices=("", "statement", "speaker"),
                   help="record each row's rank in the rewrite's own dense list (features "
                        "restate_* of tools.fit_rerank_cv)")
    args = p.parse_args(argv)
    base = get_preset("recall").replace(rerank={"fused": 1.0})
    if args.restate_weight is not None:
        base = base.replace(restate_weight=args.restate_weight)
    if args.restate_form is not None:
        base = base.replace(restate_form=args.restate_form)
    if args.restate_merge:
        base = base.replace(restate_merge=True)
    if args.unnamed_weight is not None:
        base = base.replace(unnamed_weight=args.unnamed_weight)
    if args.topic_weight is not None:
        base = base.replace(topic_weight=args.topic_weight)
    if args.centre_weight is not None:
        base = base.replace(centre_weight=args.centre_weight)
    if args.adapter_weight is not None:
        base = base.replace(adapter_weight=args.adapter_weight)
    if args.adapter_file:
        with np.load(args.adapter_file, allow_pickle=False) as z:
            adapter.register(str(z["model_id"]), z["matrix"])
    if args.depth:
        base = base.replace(rerank_depth=args.depth)
    if args.keep_top is not None:
        base = base.replace(keep_top=args.keep_top)
    for name in args.sets.split(","):
        if name == CASES:
            heads = collect_cases(Path(args.work), base)
            with (Path(args.work) / f"heads-{name}.pkl").open("wb") as fh:
                pickle.dump(heads, fh)
            print(f"{name}: {len(heads)} heads", flush=True)
            continue
        eg, ds, episode_turn = _engine(Path(args.work), name, args.data_dir)
        heads = [h for part in ("dev", "held")
                 for h in collect(eg, ds.part(part), part, name, base, episode_turn,
                                  args.restate_signal, args.adapted_signal)]
        eg.close()
        with (Path(args.work) / f"heads-{name}.pkl").open("wb") as fh:
            pickle.dump(heads, fh)
        print(f"{name}: {len(heads)} heads", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
