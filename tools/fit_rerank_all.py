"""Fit the linear reranker on the development parts of ALL data sets, with two CVs.

    python -m tools.fit_rerank_all --data-dir ../shared/data --work /tmp/engram-eval

Examples are the fused heads (``--depth`` candidates) of every scored question
with gold evidence in the **dev** part of LoCoMo, REALTALK, BEAM (100K) and
letta read (the held-apart parts are never read). letta update is left out of
the fit: its old and new facts are near copies that no feature here can tell
apart (the newer-first rule of :mod:`engram.retrieval.updates` orders them).

* leave-one-dataset-out: fit on three sets, score on the fourth;
* leave-one-conversation-out: every conversation (a letta fact set counts as
  one) is held out once; for speed the folds are grouped, ``--folds`` per set
  at most, each fold a set of whole conversations.

Each prints R_any@10 / R_all@10 of the fitted weights next to the preset's
current weights and the fused head, per held-out set. The last line gives the
weights fitted on everything (fixed L2 ``--l2``).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engram.retrieval import rerank
from engram.retrieval.config import get_preset
from tools.eval_sets import _engine
from tools.fit_rerank import Example, collect, fit, rank_scores

SETS = ("locomo", "realtalk", "beam", "letta_read")


def _current() -> np.ndarray:
    w = get_preset("recall").rerank
    return np.array([w.get(f, 0.0) for f in rerank.FEATURES])


def _line(label: str, test: Sequence[Example], w: np.ndarray) -> tuple[float, float]:
    a, b = rank_scores(test, w)
    ca, cb = rank_scores(test, _current())
    fa, fb = rank_scores(test, None)
    print(f"{label:28} n={len(test):5}  fitted {a:.3f} / {b:.3f}   current {ca:.3f} / {cb:.3f}"
          f"   fused {fa:.3f} / {fb:.3f}", flush=True)
    return a - ca, b - cb


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.fit_rerank_all", description=__doc__)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--work", default="/tmp/engram-eval")
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--depth", type=int, default=60)
    p.add_argument("--l2", type=float, default=0.01)
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--folds", type=int, default=6)
    args = p.parse_args(argv)
    base = get_preset("recall").replace(rerank={"fused": 1.0}, rerank_depth=args.depth)
    by_set: dict[str, list[Example]] = {}
    group: dict[str, str] = {}
    for name in args.sets.split(","):
        eg, ds, _ = _engine(Path(args.work), name, args.data_dir)
        dev = ds.part("dev")
        group.update({c.id: c.group or c.id for c in dev.conversations})
        by_set[name] = collect(eg, dev, base)
        eg.close()
        print(f"{name}: {len(by_set[name])} examples", flush=True)
    print("-- leave one data set out")
    for held in by_set:
        train = [ex for n, exs in by_set.items() if n != held for ex in exs]
        _line(f"held out {held}", by_set[held], fit(train, args.l2, steps=args.steps))
    print("-- leave one conversation out (whole conversations per fold)")
    deltas: list[tuple[float, float]] = []
    for name, exs in by_set.items():
        convs = sorted({group[ex.conversation] for ex in exs})
        folds = [convs[i :: args.folds] for i in range(min(args.folds, len(convs)))]
        for k, fold in enumerate(folds):
            held_set = set(fold)
            test = [ex for ex in exs if group[ex.conversation] in held_set]
            train = [ex for n, xs in by_set.items() for ex in xs
                     if not (n == name and group[ex.conversation] in held_set)]
            deltas.append(_line(f"{name} fold {k + 1}/{len(folds)}", test,
                                fit(train, args.l2, steps=args.steps)))
    print(f"LOCO mean change vs current: R_any@10 {statistics.fmean(d[0] for d in deltas):+.3f}"
          f"  R_all@10 {statistics.fmean(d[1] for d in deltas):+.3f}")
    every = [ex for exs in by_set.values() for ex in exs]
    w = fit(every, args.l2, steps=args.steps)
    _line("all dev sets (in-sample)", every, w)
    weights = {f: round(float(v), 4) for f, v in zip(rerank.FEATURES, w, strict=True)
               if abs(v) >= 1e-4}
    print(f"rerank={weights!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
