"""Fit the linear reranker (:mod:`engram.retrieval.rerank`) with cross-validation.

    python -m tools.fit_rerank --data ../shared/data/locomo/locomo_dev.json

For every scored question of the development split the base preset's fused
head (``rerank_depth`` candidates) is computed once, with its feature matrix
and, per candidate, the benchmark turns it stands for. Weights are fitted by
minimising a listwise softmax cross-entropy (the positives share the target
mass) with L2, by full-batch gradient descent in numpy: deterministic, no
extra dependency.

Leave-one-conversation-out: for each conversation the weights (and the L2
strength, from a small grid, chosen on the training folds) are fitted on the
others and scored on it by ``R_any@10`` and ``R_all@10``. The printout gives
the per-fold scores, their mean and spread, the unreranked head's scores for
comparison, and the weights fitted on all conversations: what the preset uses.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engram.bench.dataset import BenchDataset, Conversation, Question
from engram.bench.metrics import distinct_ranking, recall_all, recall_any
from engram.bench.runner import scope_user
from engram.models import Memory, Scope, SearchFilters
from engram.retrieval import rerank
from engram.retrieval.config import RetrievalConfig, get_preset
from engram.retrieval.search import Head, Searcher

if __package__ in (None, ""):  # run as a file (python tools/fit_rerank.py): find tools/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.tune_retrieval import open_dev  # noqa: E402

__all__ = ["Example", "collect", "fit", "heads", "main", "rank_scores"]

L2_GRID = (0.0, 0.01, 0.1)


@dataclass
class Example:
    """One question's head: features, the turns each row stands for, the gold."""

    conversation: str
    matrix: np.ndarray
    units: list[tuple[str, ...]]
    gold: tuple[str, ...]

    @property
    def labels(self) -> np.ndarray:
        gold = set(self.gold)
        return np.array([1.0 if gold.intersection(u) else 0.0 for u in self.units])


def heads(eg: Any, ds: BenchDataset, config: RetrievalConfig
          ) -> Iterator[tuple[Conversation, Question, Scope, Head, np.ndarray]]:
    """Every scored question with gold evidence: its fused head under ``config``
    and the head's feature matrix."""
    searcher = Searcher(eg.store, eg.embedder)
    for conv in ds.conversations:
        scope = Scope(user_id=scope_user(conv))
        for q in conv.questions:
            if not (q.scored and q.evidence_turns):
                continue
            h = searcher.head(q.text, scope, SearchFilters(), config, 10)
            matrix = rerank.features(rerank.query_info(q.text, q.asked_at), h.fused, h.items,
                                     h.raw, h.lists, h.named, h.neighbours)
            yield conv, q, scope, h, matrix


def collect(eg: Any, ds: BenchDataset, config: RetrievalConfig) -> list[Example]:
    """The head and features of every scored question, searched with ``config``."""
    return [Example(conv.id, matrix, [_units(eg, scope, h.items[f.ref]) for f in h.fused],
                    q.evidence_turns)
            for conv, q, scope, h, matrix in heads(eg, ds, config)]


def _units(eg: Any, scope: Scope, item: Any) -> tuple[str, ...]:
    if isinstance(item, Memory):
        srcs = eg.store.get_episodes(scope.with_session(None), item.source_episode_ids)
        return tuple(str(e.metadata["dia_id"]) for e in srcs if "dia_id" in e.metadata)
    tid = item.metadata.get("dia_id")
    return (str(tid),) if tid is not None else ()


def rank_scores(examples: Sequence[Example], w: np.ndarray | None, k: int = 10
                ) -> tuple[float, float]:
    """Mean ``R_any@k`` / ``R_all@k`` with rows ordered by ``matrix @ w``
    (``None``: the fused order); ties keep the fused order."""
    anys, alls = [], []
    for ex in examples:
        if w is None:
            order = list(range(len(ex.units)))
        else:
            s = ex.matrix @ w
            order = sorted(range(len(s)), key=lambda i: (-s[i], i))
        ranked = distinct_ranking([ex.units[i] for i in order])
        anys.append(recall_any(ranked, ex.gold, k))
        alls.append(recall_all(ranked, ex.gold, k))
    return statistics.fmean(anys), statistics.fmean(alls)


def fit(examples: Sequence[Example], l2: float, steps: int = 2000, lr: float = 0.05
        ) -> np.ndarray:
    """Weights minimising the mean listwise softmax cross-entropy + ``l2 * |w|^2``.

    Questions whose head holds no positive carry no signal and are skipped.
    Gradient descent with a fixed step on standardised columns; the returned
    weights apply to raw features.
    """
    usable = [ex for ex in examples if ex.labels.sum() > 0 and len(ex.units) > 1]
    allx = np.vstack([ex.matrix for ex in usable])
    mu = allx.mean(axis=0)
    sd = allx.std(axis=0)
    const = sd == 0  # a column never set in these heads: leave it at 0
    sd[const] = 1.0
    mu[const] = 0.0
    x = (allx - mu) / sd
    # rows of one question are contiguous: segment sums with reduceat
    sizes = np.array([len(ex.units) for ex in usable])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    seg = np.repeat(np.arange(len(usable)), sizes)
    y = np.concatenate([ex.labels / ex.labels.sum() for ex in usable])
    d = allx.shape[1]
    w = np.zeros(d)
    for _ in range(steps):
        z = x @ w
        z = z - np.maximum.reduceat(z, starts)[seg]
        e = np.exp(z)
        prob = e / np.add.reduceat(e, starts)[seg]
        grad = x.T @ (prob - y) / len(usable) + 2 * l2 * w
        w -= lr * grad
    # weights for raw columns; the shift by ``mu`` is the same for every row of a
    # question, so it changes no ranking and is dropped
    raw: np.ndarray = w / sd
    return raw


def _weights(w: np.ndarray) -> dict[str, float]:
    return {name: round(float(v), 4) for name, v in zip(rerank.FEATURES, w, strict=True)
            if abs(v) >= 1e-4}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.fit_rerank", description=__doc__)
    p.add_argument("--data", default="../shared/data/locomo/locomo_dev.json")
    p.add_argument("--workdir", default="/tmp/engram-tune",
                   help="keeps the ingested database between runs")
    p.add_argument("--base", default="recall", help="preset whose head is reranked")
    p.add_argument("--depth", type=int, default=60)
    args = p.parse_args(argv)
    ds, eg = open_dev(args.data, args.workdir)
    base = get_preset(args.base).replace(rerank={"fused": 1.0}, rerank_depth=args.depth)
    examples = collect(eg, ds, base)
    eg.close()
    convs = sorted({ex.conversation for ex in examples})
    folds: list[tuple[float, float, float, float]] = []
    for held in convs:
        train = [ex for ex in examples if ex.conversation != held]
        test = [ex for ex in examples if ex.conversation == held]
        best = max(L2_GRID, key=lambda l2: _inner_cv(train, l2))
        w = fit(train, best)
        ta, tb = rank_scores(test, w)
        fa, fb = rank_scores(test, None)
        folds.append((ta, tb, fa, fb))
        print(f"held out {held}: R_any@10 {ta:.3f} R_all@10 {tb:.3f}  "
              f"(fused head {fa:.3f} / {fb:.3f}; l2={best})", flush=True)
    for i, label in ((0, "R_any@10"), (1, "R_all@10")):
        vals = [f[i] for f in folds]
        base_vals = [f[i + 2] for f in folds]
        print(f"CV {label} mean {statistics.mean(vals):.3f} sd {statistics.pstdev(vals):.3f} "
              f"min {min(vals):.3f} max {max(vals):.3f}  (fused head mean "
              f"{statistics.mean(base_vals):.3f})")
    l2 = max(L2_GRID, key=lambda v: _inner_cv(examples, v))
    w = fit(examples, l2)
    a, b = rank_scores(examples, w)
    print(f"all conversations (l2={l2}): R_any@10 {a:.3f} R_all@10 {b:.3f}")
    print(f"rerank={_weights(w)!r}")
    return 0


def _inner_cv(train: Sequence[Example], l2: float) -> float:
    """Mean held-out ``R_any@10 + R_all@10`` over the training conversations."""
    convs = sorted({ex.conversation for ex in train})
    total = 0.0
    for held in convs:
        w = fit([ex for ex in train if ex.conversation != held], l2, steps=600)
        a, b = rank_scores([ex for ex in train if ex.conversation == held], w)
        total += a + b
    return total / len(convs)


if __name__ == "__main__":
    raise SystemExit(main())
