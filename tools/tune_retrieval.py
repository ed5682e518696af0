"""Fit retrieval parameters on LoCoMo with leave-one-conversation-out cross-validation.

    python -m tools.tune_retrieval --data ../shared/data/locomo/locomo_dev.json \\
        --workdir /tmp/engram-tune

Each conversation is held out in turn: the grid point with the best mean
``R_any@10 + R_all@10`` on the other conversations is scored on the held-out
one. The printout gives each fold's choice and score, the mean and spread of
the held-out scores, and the grid point that is best on all conversations
(what a preset should use). Deterministic: the grid is fixed, ties keep the
first grid point.

Searches run through the real :class:`~engram.retrieval.search.Searcher`; the
store reads they make (its :class:`~engram.retrieval.search.SearchSource`:
BM25, vector search, neighbours, fetches) are memoised per question, so a grid
of a few hundred points takes minutes, not hours. Uses the dev split only: the
held-out conversations stay unseen.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from engram.bench.dataset import BenchDataset, Question
from engram.bench.locomo import load_locomo
from engram.bench.metrics import distinct_ranking, recall_all, recall_any
from engram.bench.progress import Progress
from engram.bench.runner import default_engine, hit_units, ingest_dataset, scope_user
from engram.models import Episode, ItemRef, Memory, Scope, SearchFilters
from engram.retrieval.config import RetrievalConfig, get_preset
from engram.retrieval.search import Searcher, SearchSource
from engram.store.base import Candidate, Neighbour

__all__ = ["FoldResult", "MemoSource", "grid", "main", "open_dev", "run_cv"]

MAX_RADIUS = 5


class MemoSource:
    """A :class:`~engram.retrieval.search.SearchSource` over ``source`` that
    memoises the four reads a grid repeats (BM25, vector search, neighbours,
    episodes); the other reads go straight through."""

    def __init__(self, source: SearchSource) -> None:
        self._source = source
        self._lex: dict[tuple[Any, ...], list[Candidate]] = {}
        self._vec: dict[tuple[Any, ...], list[Candidate]] = {}
        self._nb: dict[tuple[Scope, str], list[Neighbour]] = {}
        self._ep: dict[tuple[Scope, str], Episode] = {}

    def lexical_search(
        self, scope: Scope, query: str, filters: SearchFilters, limit: int,
        max_postings: int | None = None,
    ) -> list[Candidate]:
        key = (scope, query, limit, max_postings)
        if key not in self._lex:
            self._lex[key] = self._source.lexical_search(scope, query, filters, limit,
                                                         max_postings)
        return self._lex[key]

    def vector_search(
        self, scope: Scope, vector: np.ndarray, model_id: str, filters: SearchFilters,
        limit: int,
    ) -> list[Candidate]:
        key = (scope, vector.tobytes(), limit)
        if key not in self._vec:
            self._vec[key] = self._source.vector_search(scope, vector, model_id, filters, limit)
        return self._vec[key]

    def search_both(
        self, scope: Scope, query: str, vector: np.ndarray, model_id: str,
        filters: SearchFilters, limit: int,
    ) -> tuple[list[Candidate], list[Candidate]]:
        return (self.lexical_search(scope, query, filters, limit),
                self.vector_search(scope, vector, model_id, filters, limit))

    def get_items(
        self, scope: Scope, episode_ids: Sequence[str], memory_ids: Sequence[str]
    ) -> tuple[list[Episode], list[Memory]]:
        return self.get_episodes(scope, episode_ids), self.get_memories(scope, memory_ids)

    def get_item_views(
        self, scope: Scope, episode_ids: Sequence[str], memory_ids: Sequence[str]
    ) -> tuple[list[Episode], list[Memory]]:
        return self.get_items(scope, episode_ids, memory_ids)

    def episode_neighbours(
        self, scope: Scope, ids: Sequence[str], radius: int
    ) -> dict[str, list[Neighbour]]:
        todo = [i for i in ids if (scope, i) not in self._nb]
        if todo:
            got = self._source.episode_neighbours(scope, todo, MAX_RADIUS)
            for i in todo:
                self._nb[(scope, i)] = got.get(i, [])
        return {i: [n for n in self._nb[(scope, i)] if abs(n.offset) <= radius] for i in ids}

    def get_episodes(self, scope: Scope, ids: Sequence[str]) -> list[Episode]:
        todo = [i for i in ids if (scope, i) not in self._ep]
        if todo:
            for e in self._source.get_episodes(scope, todo):
                self._ep[(scope, e.id)] = e
        return [self._ep[(scope, i)] for i in ids if (scope, i) in self._ep]

    def get_memories(self, scope: Scope, ids: Sequence[str]) -> list[Memory]:
        return self._source.get_memories(scope, ids)

    def memory_as_of(self, scope: Scope, memory_id: str, as_of: datetime) -> Memory | None:
        return self._source.memory_as_of(scope, memory_id, as_of)

    def stored_vectors(
        self, scope: Scope, model_id: str, refs: Sequence[ItemRef], hashes: Sequence[str],
        *, tenant: str | None = None,
    ) -> dict[str, np.ndarray]:
        return self._source.stored_vectors(scope, model_id, refs, hashes, tenant=tenant)

    def kept_terms(
        self, scope: Scope, model_id: str, ref: ItemRef, text: str
    ) -> frozenset[str] | None:
        return self._source.kept_terms(scope, model_id, ref, text)

    def scope_centroid(self, scope: Scope, model_id: str) -> np.ndarray | None:
        return self._source.scope_centroid(scope, model_id)


@dataclass(frozen=True)
class FoldResult:
    held_out: str
    config: str
    train: float
    test_any: float
    test_all: float


def grid(base: RetrievalConfig, stage: str = "fine") -> list[RetrievalConfig]:
    """The fixed search grid around ``base``.

    ``coarse`` (192 points): fusion, dense weight, radius 1-3, window weights,
    decay, speaker boost. ``fine`` (72 points): RRF around the coarse winner,
    which sat on the grid's edge (radius 3, bm25 window 1.0, decay 0.8).
    """
    if stage == "coarse":
        axes = itertools.product(
            ("rrf", "score"), (0.3, 0.6), (1, 2, 3), (0.5, 1.0), (0.0, 0.5), (0.5, 0.8),
            (0.0, 0.05),
        )
    else:
        axes = itertools.product(
            ("rrf",), (0.15, 0.3), (3, 4, 5), (1.0, 1.5, 2.0), (0.5, 1.0), (0.8, 0.9), (0.05,),
        )
    out = []
    for fusion, dense_w, radius, wb, wd, decay, speaker in axes:
        out.append(
            base.replace(
                name=f"{fusion} d={dense_w} r={radius} wb={wb} wd={wd} dec={decay} sp={speaker}",
                fusion=fusion,
                weights={"bm25": 1.0, "dense": dense_w},
                window_radius=radius,
                window_weights={"bm25": wb, "dense": wd},
                window_decay=decay,
                # RRF scores are ~1/60 per signal: the boost is scaled to match
                speaker_boost=speaker if fusion == "score" else speaker / 20,
            )
        )
    return out


def _score(hits_units: list[list[str]], q: Question, k: int = 10) -> tuple[float, float]:
    ranked = distinct_ranking(hits_units)
    return recall_any(ranked, q.evidence_turns, k), recall_all(ranked, q.evidence_turns, k)


def run_cv(
    eg: Any, ds: BenchDataset, configs: Sequence[RetrievalConfig], progress: Progress
) -> tuple[list[FoldResult], dict[str, dict[str, tuple[float, float]]]]:
    """Score every config on every question, then run leave-one-conversation-out."""
    searcher = Searcher(MemoSource(eg.store), eg.embedder)
    qvec: dict[str, Any] = {}
    # per config, per conversation: list of (any, all)
    table: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    questions = [(c, q) for c in ds.conversations for q in c.questions
                 if q.scored and q.evidence_turns]
    done = 0
    with progress.task("grid", len(questions)) as advance:
        for conv, q in questions:
            scope = Scope(user_id=scope_user(conv))
            if q.text not in qvec:
                qvec[q.text] = eg.embedder().embed_one(q.text, "query")
            for cfg in configs:
                hits = searcher.search(q.text, scope, SearchFilters(), cfg, 10, q.asked_at,
                                       query_vector=qvec[q.text])
                table[cfg.name][conv.id].append(_score([hit_units(h, {}) for h in hits], q))
            advance(1)
            done += 1
            if done % 100 == 0:
                print(f"  {done}/{len(questions)} questions", file=sys.stderr, flush=True)
    means: dict[str, dict[str, tuple[float, float]]] = {}
    for name, per_conv in table.items():
        means[name] = {cid: _mean2(v) for cid, v in per_conv.items()}
    folds = []
    convs = [c.id for c in ds.conversations]
    for held in convs:
        def train_score(name: str, held: str = held) -> float:
            vals = [s for cid in convs if cid != held for s in table[name][cid]]
            a, b = _mean2(vals)
            return a + b

        best = max((c.name for c in configs), key=train_score)
        ta, tb = means[best][held]
        folds.append(FoldResult(held, best, train_score(best), ta, tb))
    return folds, means


def open_dev(data: str, workdir: str) -> tuple[BenchDataset, Any]:
    """The LoCoMo split at ``data`` and an engine holding it, ingested into
    ``<workdir>/tune.db`` on first use and reused after."""
    ds = load_locomo(data)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    db = work / "tune.db"
    fresh = not db.exists()
    eg = default_engine(db, None)
    if fresh:
        ingest_dataset(eg, ds, Progress(enabled=False))
    return ds, eg


def _mean2(vals: Iterable[tuple[float, float]]) -> tuple[float, float]:
    v = list(vals)
    if not v:
        return 0.0, 0.0
    return sum(a for a, _ in v) / len(v), sum(b for _, b in v) / len(v)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.tune_retrieval", description=__doc__)
    p.add_argument("--data", default="../shared/data/locomo/locomo_dev.json")
    p.add_argument("--workdir", default="/tmp/engram-tune",
                   help="keeps the ingested database between runs")
    p.add_argument("--base", default="recall", help="preset whose other settings are kept")
    p.add_argument("--stage", choices=("coarse", "fine"), default="fine")
    args = p.parse_args(argv)
    ds, eg = open_dev(args.data, args.workdir)
    progress = Progress(enabled=False)
    configs = grid(get_preset(args.base), args.stage)
    folds, means = run_cv(eg, ds, configs, progress)
    for f in folds:
        print(f"held out {f.held_out}: R_any@10 {f.test_any:.3f} R_all@10 {f.test_all:.3f}"
              f"  (train any+all {f.train:.3f}; {f.config})")
    anys = [f.test_any for f in folds]
    alls = [f.test_all for f in folds]
    print(f"CV R_any@10 mean {statistics.mean(anys):.3f} sd {statistics.pstdev(anys):.3f}"
          f" min {min(anys):.3f} max {max(anys):.3f}")
    print(f"CV R_all@10 mean {statistics.mean(alls):.3f} sd {statistics.pstdev(alls):.3f}"
          f" min {min(alls):.3f} max {max(alls):.3f}")
    n = {c.id: sum(1 for q in c.questions if q.scored and q.evidence_turns)
         for c in ds.conversations}
    total = sum(n.values())

    def overall(name: str) -> tuple[float, float]:
        a = sum(means[name][cid][0] * n[cid] for cid in n) / total
        b = sum(means[name][cid][1] * n[cid] for cid in n) / total
        return a, b

    ranked = sorted((c.name for c in configs), key=lambda nm: -sum(overall(nm)))
    for nm in ranked[:5]:
        a, b = overall(nm)
        print(f"all folds: {nm}: R_any@10 {a:.3f} R_all@10 {b:.3f}")
    eg.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
