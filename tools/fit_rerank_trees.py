"""Gradient-boosted trees as the reranker, judged like the linear one (LODO, held parts).

    pip install -e '.[fit]'                                      # lightgbm: this tool only
    python -m tools.fit_rerank_heads --work /tmp/engram-eval     # once: the heads
    python -m tools.fit_rerank_trees --work /tmp/engram-eval --depth 3 --rounds 200 --pure --loco 5

Fits LightGBM trees (lambdarank: a question's head is one group, its rows that
hold a gold turn are the positives) on the dev parts of LoCoMo, REALTALK, BEAM
and letta read over the reranker's features (:data:`engram.retrieval.rerank.FEATURES`).
By default the trees fit the residual of the linear reranker (the linear weights,
fitted on the same questions, are the initial score: a row's score is
``x @ w + trees(x)``); ``--pure``: trees alone. The ranking is simulated as in
:mod:`tools.fit_rerank_cv` (the dense floors included). Prints per data set
R_any@10 / R_all@10 / MRR of the linear weights and of the trees: leave one data
set out (fitted on the other dev sets), and fitted on all dev sets, on the dev
and the held part; ``--loco N``: leave whole conversations out (N folds per set,
the other sets' dev parts always in the fit); then the CPU time of scoring a
60-row head with the fitted ensemble in numpy (:func:`tree_scores`, every tree
at once), the form it would ship in (``--dump``: the ensemble as JSON arrays).

Nothing in ``src/engram`` uses this: the trees were measured, not adopted
(docs/recall.md, session 8).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engram.retrieval import rerank
from tools.fit_rerank_cv import ALL_SETS, CHECK_SETS, FIT_SETS, _fmt, design, evaluate, fit
from tools.fit_rerank_heads import Head, load_heads

__all__ = ["Ensemble", "ensemble", "main", "tree_scores"]

#: an ensemble as arrays, every tree padded to the same node count: per tree and
#: node the feature column (-1: a leaf), the threshold, the left / right child and
#: the leaf value; a row goes left when ``x[feature] <= threshold``
Ensemble = dict[str, np.ndarray]


def ensemble(booster: Any) -> Ensemble:
    """A LightGBM booster's trees as :data:`Ensemble` arrays."""
    trees = booster.dump_model()["tree_info"]
    flat: list[list[tuple[int, float, int, int, float]]] = []
    for t in trees:
        nodes: list[tuple[int, float, int, int, float]] = []

        def walk(node: dict[str, Any], nodes: list[tuple[int, float, int, int, float]] = nodes
                 ) -> int:
            at = len(nodes)
            nodes.append((-1, 0.0, at, at, float(node.get("leaf_value", 0.0))))
            if "split_index" in node:
                left, right = walk(node["left_child"]), walk(node["right_child"])
                nodes[at] = (int(node["split_feature"]), float(node["threshold"]), left, right,
                             0.0)
            return at

        walk(t["tree_structure"])
        flat.append(nodes)
    width = max(len(n) for n in flat)
    out = {k: np.zeros((len(flat), width), dtype=d) for k, d in (
        ("feature", np.int64), ("threshold", np.float64), ("left", np.int64),
        ("right", np.int64), ("value", np.float64))}
    out["feature"][:] = -1
    for i, nodes in enumerate(flat):
        for j, (f, thr, lc, rc, v) in enumerate(nodes):
            out["feature"][i, j], out["threshold"][i, j] = f, thr
            out["left"][i, j], out["right"][i, j], out["value"][i, j] = lc, rc, v
        for j in range(len(nodes), width):  # padding: leaves of value 0 that loop on themselves
            out["left"][i, j] = out["right"][i, j] = j
    out["depth"] = np.array(max(_depth(n) for n in flat))
    return out


def _depth(nodes: list[tuple[int, float, int, int, float]], at: int = 0) -> int:
    f, _, lc, rc, _ = nodes[at]
    return 0 if f < 0 else 1 + max(_depth(nodes, lc), _depth(nodes, rc))


def tree_scores(ens: Ensemble, x: np.ndarray) -> np.ndarray:
    """Sum of every tree's leaf for each row of ``x``: all trees and rows at once,
    one step a level."""
    n_trees = ens["feature"].shape[0]
    node = np.zeros((n_trees, x.shape[0]), dtype=np.int64)
    tree = np.arange(n_trees)[:, None]
    rows = np.arange(x.shape[0])[None, :]
    for _ in range(int(ens["depth"])):
        feat = ens["feature"][tree, node]
        leaf = feat < 0
        val = x[rows, np.where(leaf, 0, feat)]
        go = np.where(val <= ens["threshold"][tree, node], ens["left"][tree, node],
                      ens["right"][tree, node])
        node = np.where(leaf, node, go)
    out: np.ndarray = ens["value"][tree, node].sum(axis=0)
    return out


def boost(heads: Sequence[Head], xs: Sequence[np.ndarray], init: np.ndarray | None,
          args: argparse.Namespace) -> Any:
    import lightgbm as lgb  # the `fit` extra: this tool only

    keep = [i for i, h in enumerate(heads) if h.labels.sum() > 0 and len(h.units) > 1]
    x = np.vstack([xs[i] for i in keep])
    y = np.concatenate([heads[i].labels for i in keep])
    start = None if init is None else np.concatenate([xs[i] @ init for i in keep])
    data = lgb.Dataset(x, y, group=[len(heads[i].units) for i in keep], init_score=start)
    params = {"objective": "lambdarank", "learning_rate": args.lr, "max_depth": args.depth,
              "num_leaves": 2 ** args.depth, "min_data_in_leaf": args.min_leaf,
              "lambda_l2": args.l2_trees, "feature_fraction": 0.8, "bagging_fraction": 0.8,
              "bagging_freq": 1, "lambdarank_truncation_level": 20, "verbose": -1,
              "num_threads": 1, "seed": 1, "deterministic": True}
    return lgb.train(params, data, num_boost_round=args.rounds)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.fit_rerank_trees", description=__doc__)
    p.add_argument("--work", default="/tmp/engram-eval")
    p.add_argument("--pure", action="store_true", help="trees alone (no linear initial score)")
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--rounds", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--min-leaf", type=int, default=200, help="rows a leaf needs at least")
    p.add_argument("--l2-trees", type=float, default=10.0, help="L2 on leaf values")
    p.add_argument("--l2", type=float, default=0.01, help="L2 of the linear fit")
    p.add_argument("--dump", default=None, help="write the all-dev ensemble as JSON here")
    p.add_argument("--loco", type=int, default=0, metavar="FOLDS",
                   help="also leave conversations out: FOLDS folds of whole conversations")
    args = p.parse_args(argv)
    names = list(rerank.FEATURES)
    work = Path(args.work)
    heads = load_heads(work, ALL_SETS + tuple(
        s for s in CHECK_SETS if (work / f"heads-{s}.pkl").exists()))
    xs = design(heads, names)
    by: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, h in enumerate(heads):
        by[(h.dataset, h.part)].append(i)

    def model(train: list[int]) -> tuple[np.ndarray, Ensemble]:
        hs, xx = [heads[i] for i in train], [xs[i] for i in train]
        w = fit(hs, xx, names, args.l2)
        return w, ensemble(boost(hs, xx, None if args.pure else w, args))

    def score(key: tuple[str, str], w: np.ndarray, ens: Ensemble | None) -> dict[str, float]:
        hs, xx = [heads[i] for i in by[key]], [xs[i] for i in by[key]]
        if ens is None:
            return evaluate(hs, xx, w)
        lin = np.zeros_like(w) if args.pure else w
        return evaluate(hs, xx, None, scorer=lambda x: x @ lin + tree_scores(ens, x))

    print("-- per set: linear -> trees (R_any@10 / R_all@10 / MRR): LODO | all dev: dev ; held")
    w_all, ens_all = model([i for s in FIT_SETS for i in by[(s, "dev")]])
    for s in (*FIT_SETS, *(c for c in CHECK_SETS if (c, "held") in by)):
        line = f"{s:11} "
        if s in FIT_SETS:
            w, ens = model([i for t in FIT_SETS if t != s for i in by[(t, "dev")]])
            line += (f"LODO {_fmt(score((s, 'dev'), w, None))} -> "
                     f"{_fmt(score((s, 'dev'), w, ens))} | ")
            line += (f"dev {_fmt(score((s, 'dev'), w_all, None))} -> "
                     f"{_fmt(score((s, 'dev'), w_all, ens_all))} ; ")
        line += (f"held {_fmt(score((s, 'held'), w_all, None))} -> "
                 f"{_fmt(score((s, 'held'), w_all, ens_all))}")
        print(line, flush=True)
    for s in FIT_SETS if args.loco else ():
        idx = by[(s, "dev")]
        convs = sorted({heads[i].conversation for i in idx})
        lin, trees = [], []
        for k in range(min(args.loco, len(convs))):
            out = set(convs[k::args.loco])
            train = [i for t in FIT_SETS for i in by[(t, "dev")]
                     if not (t == s and heads[i].conversation in out)]
            w, ens = model(train)
            test = [heads[i] for i in idx if heads[i].conversation in out]
            xt = [xs[i] for i in idx if heads[i].conversation in out]
            pure = np.zeros_like(w) if args.pure else w
            lin.append((len(test), evaluate(test, xt, w)))
            trees.append((len(test), evaluate(test, xt, None, scorer=lambda x, e=ens, v=pure:
                                                x @ v + tree_scores(e, x))))
        mean = [{m: sum(n * r[m] for n, r in res) / len(idx) for m in ("any", "all", "mrr")}
                for res in (lin, trees)]
        print(f"{s:11} LOCO {_fmt(mean[0])} -> {_fmt(mean[1])}", flush=True)
    x60 = np.random.default_rng(0).random((60, len(names)))
    t0 = time.process_time()
    for _ in range(200):
        tree_scores(ens_all, x60)
    cpu = (time.process_time() - t0) / 200 * 1000
    n_trees, depth = ens_all["feature"].shape[0], int(ens_all["depth"])
    print(f"{n_trees} trees of depth <= {depth}: {cpu:.3f} ms CPU to score 60 rows in numpy")
    if args.dump:
        Path(args.dump).write_text(json.dumps({k: v.tolist() for k, v in ens_all.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
