"""Fit the reranker on all development sets; leave-one-data-set-out and leave-one-conversation-out.

    python -m tools.fit_rerank_heads --work /tmp/engram-eval     # once: the heads
    python -m tools.fit_rerank_cv --work /tmp/engram-eval [--features ...] [--l2 ...]

Reads the heads saved by :mod:`tools.fit_rerank_heads` (the held-apart parts
are never fitted on; they are scored with the weights fitted on every dev
part). Weights minimise a listwise softmax cross-entropy (a question's
positives share the target mass) plus ``l2 * |w|^2`` on standardised columns;
a question of a data set with ``n`` questions weighs ``n ** -balance``
(``--balance 1``: every data set the same total weight; ``0``: every question
the same). ``--monotone`` keeps the weights of the
signal features (scores, ranks, coverage) non-negative. A simulated ranking
orders a head by score, then lifts the dense signal's 3 best to rank 10 (the
floors); the newer-first rule and the hops are not simulated.

Prints, per data set: R_any@10 / R_all@10 / MRR (and knowledge-update accuracy
where there are updates) of (1) the fitted weights out of sample (LODO: fitted
on the other data sets; LOCO: fitted on everything but the conversation's
fold), (2) the preset's current weights and (3) the weights fitted on all dev
sets, on the dev and on the held part.
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from engram.bench.metrics import distinct_ranking, recall_all, recall_any, reciprocal_rank
from engram.recall.entities import singular
from engram.retrieval import expand, rerank
from engram.retrieval.config import get_preset
from engram.retrieval.floors import apply_floors
from tools.fit_rerank_heads import Head, load_heads

__all__ = ["derived", "design", "evaluate", "fit", "main"]

FIT_SETS = ("locomo", "realtalk", "beam", "letta_read")
ALL_SETS = (*FIT_SETS, "letta_update")
#: scored where its heads exist, never fitted on (tools.fit_rerank_heads --sets cases)
CHECK_SETS = ("cases",)


def _rr(rank: np.ndarray, k: float) -> np.ndarray:
    return np.where(rank > 0, (1.0 + k) / (k + np.maximum(rank, 1.0)), 0.0)


def _top(rank: np.ndarray, n: int) -> np.ndarray:
    return ((rank > 0) & (rank <= n)).astype(float)


def _z(h: Head, sig: str) -> np.ndarray:
    sc = h.extra[f"{sig}_score"]
    sd = h.extra[f"{sig}_sd"] or 1.0
    z: np.ndarray = np.nan_to_num(np.clip((sc - h.extra[f"{sig}_mean"]) / sd, -3.0, 6.0),
                                  nan=-3.0)
    return z


def _tied_top(h: Head, sig: str) -> np.ndarray:
    """1 for every row whose raw ``sig`` score equals the list's best (ties share the top)."""
    sc = np.nan_to_num(h.extra[f"{sig}_score"], nan=-np.inf)
    hi = sc.max() if sc.size else -np.inf
    out: np.ndarray = ((sc == hi) & np.isfinite(sc)).astype(float)
    return out


def _margin(h: Head, sig: str) -> np.ndarray:
    """For the rows tied at the list's best: how far the best stands above the next
    distinct score, relative to the best (how decisive the signal is); 0 elsewhere."""
    sc = np.nan_to_num(h.extra[f"{sig}_score"], nan=-np.inf)
    top = _tied_top(h, sig)
    fin = np.unique(sc[np.isfinite(sc)])
    if fin.size < 2 or fin[-1] <= 0:
        return top
    out: np.ndarray = top * (fin[-1] - fin[-2]) / fin[-1]
    return out


def _lead(h: Head, sig: str) -> np.ndarray:
    """For the list's first row only: (best - second best) / best of the raw
    ``sig`` scores (0 on a tie: nothing decided); 0 elsewhere."""
    sc = h.extra[f"{sig}_score"]
    rank = h.extra[f"{sig}_rank"]
    out = np.zeros(len(sc))
    fin = np.sort(sc[np.isfinite(sc)])[::-1]
    first = np.flatnonzero(rank == 1)
    if first.size and fin.size and fin[0] > 0:
        out[first[0]] = (fin[0] - (fin[1] if fin.size > 1 else 0.0)) / fin[0]
    return out


def _norm(h: Head, sig: str) -> np.ndarray:
    """The raw ``sig`` score over the list's best (0 where absent)."""
    sc = np.nan_to_num(h.extra[f"{sig}_score"], nan=0.0)
    hi = sc.max() if sc.size else 0.0
    out: np.ndarray = sc / hi if hi > 0 else np.zeros(len(sc))
    return out


def _gap(h: Head, feature: str) -> np.ndarray:
    """A feature minus its best in the head (0 for the best rows, < 0 below)."""
    col = h.matrix[:, rerank.FEATURES.index(feature)]
    gap: np.ndarray = col - col.max()
    return gap


#: candidate features computed from a head's raw material (not yet in rerank.FEATURES)
DERIVED: dict[str, Callable[[Head], np.ndarray]] = {
    # session 10: ties at a signal's top, how decisive its lead is, coverage against
    # the head's best (docs/recall.md, "Session 10"; bm25_lead became a feature of
    # rerank.FEATURES, the preset recall-lead; none in recall)
    "bm25_tied": lambda h: _tied_top(h, "bm25"),
    # session 14: the share of the query's non-name terms the item's text holds
    # (tools.fit_rerank_heads._rest_cover), for letta read's near-duplicate facts
    "rest_cover": lambda h: h.extra["rest_cover"],
    "rest_prefix": lambda h: h.extra["rest_prefix"],  # stems of one family match too
    # session 15: what an item borrows from neighbours with its own speaker
    # (tools.fit_rerank_heads._same_borrow)
    "same_borrow": lambda h: h.extra["same_borrow"],
    "dense_same_borrow": lambda h: h.extra["dense_same_borrow"],
    "dense_tied": lambda h: _tied_top(h, "dense"),
    "bm25_margin": lambda h: _margin(h, "bm25"),
    "dense_margin1": lambda h: _margin(h, "dense"),
    "cover_gap": lambda h: _gap(h, "coverage"),
    "names_gap": lambda h: _gap(h, "names"),
    "cover_best": lambda h: (_gap(h, "coverage") >= 0).astype(float),
    "bm25_first": lambda h: _top(h.extra["bm25_rank"], 1),
    "dense_first": lambda h: _top(h.extra["dense_rank"], 1),
    "dense_lead": lambda h: _lead(h, "dense"),
    "bm25_lead_said": lambda h: _lead(h, "bm25") * (  # not for assistant turns
        1.0 - h.matrix[:, rerank.FEATURES.index("assistant")]),
    "bm25_lead_short": lambda h: _lead(h, "bm25") * (  # less for long items
        1.0 - h.matrix[:, rerank.FEATURES.index("length")]),
    "both_top": lambda h: _tied_top(h, "bm25") * _tied_top(h, "dense"),
    "full_cover": lambda h: (h.matrix[:, rerank.FEATURES.index("coverage")] >= 1.0).astype(float),
    "rr_bm25": lambda h: _rr(h.extra["bm25_rank"], 5.0),
    "rr_dense": lambda h: _rr(h.extra["dense_rank"], 5.0),
    "rr_bm25_20": lambda h: _rr(h.extra["bm25_rank"], 20.0),
    "rr_dense_20": lambda h: _rr(h.extra["dense_rank"], 20.0),
    "rr_wbm25": lambda h: _rr(h.extra["bm25_wrank"], 5.0),
    "rr_wdense": lambda h: _rr(h.extra["dense_wrank"], 5.0),
    "rr_fused": lambda h: _rr(h.extra["fused_rank"], 5.0),
    "z_bm25": lambda h: _z(h, "bm25"),
    "z_dense": lambda h: _z(h, "dense"),
    "dense_top3": lambda h: _top(h.extra["dense_rank"], 3),
    "bm25_top3": lambda h: _top(h.extra["bm25_rank"], 3),
    # session 11: lexical pseudo-relevance feedback, a second BM25 pass over the
    # terms the first hits share (heads collected with a "prf" list)
    "prf_rr": lambda h: _rr(h.extra["prf_rank"], 5.0),
    "prf_rr20": lambda h: _rr(h.extra["prf_rank"], 20.0),
    "prf_top10": lambda h: _top(h.extra["prf_rank"], 10),
    "prf_z": lambda h: _z(h, "prf"),
    "prf_norm": lambda h: _norm(h, "prf"),
    # session 12: the question's rewrite as a statement, its own dense list
    # (heads collected with tools.fit_rerank_heads --restate-signal speaker)
    "restate_rr": lambda h: _rr(h.extra["restate_rank"], 5.0),
    "restate_rr20": lambda h: _rr(h.extra["restate_rank"], 20.0),
    "restate_top3": lambda h: _top(h.extra["restate_rank"], 3),
    "restate_z": lambda h: _z(h, "restate"),
    # (heads collected with tools.fit_rerank_heads --adapted-signal)
    "adapted_rr": lambda h: _rr(h.extra["adapted_rank"], 5.0),
    "adapted_rr20": lambda h: _rr(h.extra["adapted_rank"], 20.0),
    "adapted_top3": lambda h: _top(h.extra["adapted_rank"], 3),
    "adapted_z": lambda h: _z(h, "adapted"),
    # session 40: the item names an instance of a category the question asks for
    # ("What is X's profession?" / "X is a graphic designer"; heads with ``texts``)
    "instance": lambda h: _instance(h),
    # session 40: a derived standing instruction ("When user asks about ...: always ...")
    "procedure": lambda h: np.array([k == "procedure" for k in h.extra["kinds"]], dtype=float),
    "near_procedure": lambda h: h.matrix[:, rerank.FEATURES.index("memory_near")] * np.array(
        [k == "procedure" for k in h.extra["kinds"]], dtype=float),
    # session 52: ``dense_nolex`` / ``session_nolex`` for an item holding none of the
    # question's terms but the names it gives (its speaker's name is no word it says)
    "dense_nolex_rest": lambda h: _nolex_rest(h, "dense", says=True),
    "session_nolex_rest": lambda h: _nolex_rest(h, "session", says=False),
    # session 52: an item of fewer than 3 index terms ("gutted", "deal", "that's love")
    "says_little": lambda h: (h.matrix[:, rerank.FEATURES.index("length")]
                              < 3 / 30 - 1e-9).astype(float),
}


def _nolex_rest(h: Head, feature: str, says: bool) -> np.ndarray:
    """``feature``'s column where the item's own text holds none of the question's
    terms beyond its names (``rest_cover`` 0), else 0; with ``says``, only for an item
    of at least 4 index terms (``length`` is terms / 30), as ``dense_nolex``."""
    col = h.matrix[:, rerank.FEATURES.index(feature)]
    bare = h.extra["rest_cover"] == 0.0
    if says:
        bare &= h.matrix[:, rerank.FEATURES.index("length")] >= 4 / 30 - 1e-9
    out: np.ndarray = np.where(bare, col, 0.0)
    return out


#: features whose weight ``--monotone`` keeps >= 0 (more evidence never ranks lower)
MONOTONE = frozenset({
    "fused", "bm25", "window", "dense_window", "coverage", "names", "speaker", "session",
    "time_in", "when_time", "prev_coverage", "rr_bm25", "rr_dense", "rr_bm25_20",
    "rr_dense_20", "rr_wbm25", "rr_wdense", "rr_fused", "z_bm25", "z_dense", "bm25_top",
    "dense_top", "dense_top3", "bm25_top3", "dense_gap", "dense",
})

#: columns z-scored within each head by ``--per-query``
CONTINUOUS = ("fused", "bm25", "dense", "dense_gap", "window", "dense_window", "session")


#: "X's profession", "the field of X", "his main hobby": a category word after a
#: possessive or "the" (:func:`engram.retrieval.expand.categories` reads it after
#: "what", "which", "any", "favourite")
_POSSESSED = re.compile(r"(?:'s|s'|\bthe|\bhis|\bher|\btheir|\bmy|\byour)\s+"
                        r"(?:main\s+|current\s+|favou?rite\s+|professional\s+)?([a-z]+)\b")


def _instance(h: Head) -> np.ndarray:
    """1 for a row whose text names an instance of a category the question asks for
    (the shipped category table, ``engram/data/categories.tsv``)."""
    known = expand.table()
    query = h.extra["query"]
    asked = expand.categories(query)
    for m in _POSSESSED.finditer(query.lower()):
        for form in (m.group(1), singular(m.group(1))):
            if form in known and form not in asked:
                asked.append(form)
                break
    out = np.zeros(len(h.units))
    if not asked:
        return out
    words = set().union(*(known[c] for c in asked)) - set(re.findall(r"[a-z]+", query.lower()))
    for i, text in enumerate(h.extra["texts"]):
        found = set(re.findall(r"[a-z]+", text.lower()))
        out[i] = bool(words & (found | {singular(w) for w in found}))
    return out


def derived(name: str, h: Head) -> np.ndarray:
    if name in DERIVED:
        return DERIVED[name](h)
    return h.matrix[:, rerank.FEATURES.index(name)]


def design(heads: Sequence[Head], names: Sequence[str], per_query: bool = False
           ) -> list[np.ndarray]:
    """Each head's matrix over ``names``; ``per_query`` z-scores :data:`CONTINUOUS`
    columns within the head (a signal's spread, not its scale, counts)."""
    out = []
    for h in heads:
        x = np.column_stack([derived(n, h) for n in names])
        if per_query:
            for j, n in enumerate(names):
                if n in CONTINUOUS:
                    col = x[:, j]
                    sd = col.std()
                    x[:, j] = (col - col.mean()) / sd if sd > 0 else 0.0
        out.append(x)
    return out


def fit(heads: Sequence[Head], xs: Sequence[np.ndarray], names: Sequence[str], l2: float,
        steps: int = 400, monotone: bool = False, balance: float = 0.0) -> np.ndarray:
    """Listwise softmax cross-entropy + ``l2 * |w|^2`` by Adam on standardised
    columns; returns weights on the raw columns."""
    idx = [i for i, h in enumerate(heads) if h.labels.sum() > 0 and len(h.units) > 1]
    per_set: dict[str, int] = defaultdict(int)
    for i in idx:
        per_set[heads[i].dataset] += 1
    allx = np.vstack([xs[i] for i in idx])
    mu, sd = allx.mean(axis=0), allx.std(axis=0)
    const = sd == 0
    sd[const], mu[const] = 1.0, 0.0
    x = (allx - mu) / sd
    sizes = np.array([len(heads[i].units) for i in idx])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    seg = np.repeat(np.arange(len(idx)), sizes)
    y = np.concatenate([heads[i].labels / heads[i].labels.sum() for i in idx])
    qw = np.array([per_set[heads[i].dataset] ** -balance for i in idx])
    qw = qw / qw.sum()
    rw = qw[seg]
    mono = np.array([n in MONOTONE for n in names]) if monotone else np.zeros(len(names), bool)
    w = np.zeros(x.shape[1])
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    lr, b1, b2 = 0.05, 0.9, 0.999
    for t in range(1, steps + 1):
        z = x @ w
        z = z - np.maximum.reduceat(z, starts)[seg]
        e = np.exp(z)
        prob = e / np.add.reduceat(e, starts)[seg]
        g = x.T @ ((prob - y) * rw) + 2 * l2 * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + 1e-8)
        w[mono & (w < 0)] = 0.0
        w[const] = 0.0
    raw: np.ndarray = w / sd
    return raw


#: the floors simulated: signal -> n (its n best raw candidates rank no lower than 10)
FLOORS: dict[str, int] = {"dense": 3}


def _order(h: Head, s: np.ndarray, floors: bool) -> list[int]:
    order = sorted(range(len(s)), key=lambda i: (-s[i], i))
    for sig, n in FLOORS.items() if floors else ():
        if len(order) <= 10:
            break
        rank = h.extra[f"{sig}_rank"]
        tops = sorted((int(r) for r in np.flatnonzero((rank > 0) & (rank <= n))),
                      key=lambda r: rank[r])
        order = apply_floors(order, lambda r: r, tops, 10)  # the search's own floors
    return order


def evaluate(heads: Sequence[Head], xs: Sequence[np.ndarray], w: np.ndarray | None,
             floors: bool = True, dense: bool = False,
             scorer: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, float]:
    """Mean R_any@1/@5/@10, R_all@10, MRR and update accuracy (``None`` w: the
    fused order; ``dense``: the dense signal's order, no floors; ``scorer``: a
    head's scores from its matrix, instead of ``x @ w``); empty: ``{}``."""
    a, b, r, r1, r5, ku = [], [], [], [], [], []
    for h, x in zip(heads, xs, strict=True):
        if dense:
            rank = h.extra["dense_rank"]
            s = np.where(rank > 0, -rank, -1e9)
        elif scorer is not None:
            s = scorer(x)
        else:
            s = -np.arange(len(h.units), dtype=float) if w is None else x @ w
        ranked = distinct_ranking([h.units[i] for i in _order(h, s, floors and not dense)])
        a.append(recall_any(ranked, h.gold, 10))
        b.append(recall_all(ranked, h.gold, 10))
        r.append(reciprocal_rank(ranked, h.gold))
        r1.append(recall_any(ranked, h.gold, 1))
        r5.append(recall_any(ranked, h.gold, 5))
        if h.stale:
            new, old = set(h.gold), set(h.stale)
            fn = next((i for i, g in enumerate(ranked) if new.intersection(g)), None)
            fo = next((i for i, g in enumerate(ranked) if old.intersection(g)), None)
            ku.append(float(fn is not None and fn < 10 and (fo is None or fn < fo)))
    if not a:
        return {}
    out = {"n": float(len(a)), "any": statistics.fmean(a), "all": statistics.fmean(b),
           "mrr": statistics.fmean(r), "r1": statistics.fmean(r1), "r5": statistics.fmean(r5)}
    if ku:
        out["ku"] = statistics.fmean(ku)
    return out


def _fmt(m: dict[str, float]) -> str:
    if not m:
        return "-"
    ku = f" KU {m['ku']:.3f}" if "ku" in m else ""
    return f"{m['any']:.3f} / {m['all']:.3f} / {m['mrr']:.3f}{ku}"


def current_weights(names: Sequence[str]) -> np.ndarray:
    cur = get_preset("recall").rerank
    return np.array([cur.get(n, 0.0) for n in names])


def run(heads: list[Head], names: Sequence[str], l2: float, steps: int, monotone: bool,
        per_query: bool, balance: float, folds: int, loco: bool,
        fit_sets: Sequence[str] = FIT_SETS, lodo: bool = True,
        by_category: Sequence[str] = ()) -> dict[str, object]:
    xs = design(heads, names, per_query)
    by = defaultdict(list)
    for i, h in enumerate(heads):
        by[(h.dataset, h.part)].append(i)

    def sub(key: tuple[str, str]) -> tuple[list[Head], list[np.ndarray]]:
        return [heads[i] for i in by[key]], [xs[i] for i in by[key]]

    def fitted(train: list[int]) -> np.ndarray:
        return fit([heads[i] for i in train], [xs[i] for i in train], names, l2, steps,
                   monotone, balance)

    dev_fit = [i for s in fit_sets for i in by[(s, "dev")]]
    w_all = fitted(dev_fit)
    cur = current_weights(names) if not per_query else None
    report: dict[str, object] = {"weights": dict(zip(names, w_all.round(4).tolist(), strict=True))}
    print("-- per set: LODO out of sample | weights fitted on all dev: dev, held"
          " | current: dev, held | fused: dev  (R_any@10 / R_all@10 / MRR)")
    out_of: dict[str, dict[str, float]] = {}
    for s in ALL_SETS + tuple(c for c in CHECK_SETS if (c, "held") in by):
        line = f"{s:13} "
        if lodo and s in fit_sets:
            train = [i for t in fit_sets if t != s for i in by[(t, "dev")]]
            out_of[s] = evaluate(*sub((s, "dev")), fitted(train))
            line += f"LODO {_fmt(out_of[s])} | "
        d, hd = evaluate(*sub((s, "dev")), w_all), evaluate(*sub((s, "held")), w_all)
        line += f"all {_fmt(d)} ; {_fmt(hd)}"
        if cur is not None:
            cd, ch = evaluate(*sub((s, "dev")), cur), evaluate(*sub((s, "held")), cur)
            line += f" | cur {_fmt(cd)} ; {_fmt(ch)}"
        line += f" | fused {_fmt(evaluate(*sub((s, 'dev')), None))}"
        if s in CHECK_SETS:  # never fitted on: top 1 / 5 and the dense signal alone
            dn = evaluate(*sub((s, "held")), None, dense=True)
            line += (f"\n{'':13} R_any@1 / @5: all {hd['r1']:.3f} / {hd['r5']:.3f}"
                     f" | dense alone {dn['r1']:.3f} / {dn['r5']:.3f} ; {_fmt(dn)}")
        print(line, flush=True)
    report["lodo"] = out_of
    if loco:
        print("-- leave one conversation out (whole conversations per fold)")
        for s in ALL_SETS:
            idx = by[(s, "dev")]
            convs = sorted({heads[i].conversation for i in idx})
            parts = [convs[k::folds] for k in range(min(folds, len(convs)))]
            scores: dict[int, np.ndarray] = {}
            if s not in fit_sets:
                continue
            for fold in parts:
                held = set(fold)
                train = [i for i in dev_fit if not (heads[i].dataset == s
                                                      and heads[i].conversation in held)]
                w = fitted(train)
                for i in idx:
                    if heads[i].conversation in held:
                        scores[i] = w
            hs = [heads[i] for i in idx]
            res = [evaluate([heads[i]], [xs[i]], scores[i]) for i in idx]
            m = {k: statistics.fmean(r[k] for r in res) for k in ("any", "all", "mrr")}
            if any("ku" in r for r in res):
                m["ku"] = statistics.fmean(r["ku"] for r in res if "ku" in r)
            print(f"{s:13} LOCO {_fmt(m)}  ({len(hs)} questions, {len(parts)} folds)", flush=True)
    for s in by_category:
        for part in ("dev", "held"):
            hs, xx = sub((s, part))
            cats = sorted({h.category for h in hs})
            cells = []
            for cat in cats:
                keep = [i for i, h in enumerate(hs) if h.category == cat]
                kh, kx = [hs[i] for i in keep], [xx[i] for i in keep]
                m = evaluate(kh, kx, w_all)
                c = evaluate(kh, kx, cur) if cur is not None else None
                cells.append(f"{cat} {m['any']:.2f}" + (f" (cur {c['any']:.2f})" if c else ""))
            print(f"{s} {part} R_any@10 by type: " + ", ".join(cells))
    print(f"weights={report['weights']!r}")
    return report


def on_current(heads: list[Head], added: Sequence[str], weights: Sequence[float]) -> None:
    """The preset's weights with one candidate feature added at each of ``weights``
    (nothing fitted): R_any@10 / MRR per data set and part."""
    base = list(rerank.FEATURES)
    cur = current_weights(base)
    by_set: dict[tuple[str, str], list[Head]] = defaultdict(list)
    for h in heads:
        by_set[h.dataset, h.part].append(h)
    for feature in added:
        xs = {k: design(hs, [*base, feature]) for k, hs in by_set.items()}
        for w in weights:
            cells = []
            for (name, part), hs in sorted(by_set.items()):
                m = evaluate(hs, xs[name, part], np.concatenate([cur, [w]]))
                cells.append(f"{name} {part} {m['any']:.3f}/{m['mrr']:.3f}")
            print(f"{feature} {w:+.2f}: " + " | ".join(cells))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.fit_rerank_cv", description=__doc__)
    p.add_argument("--work", default="/tmp/engram-eval")
    p.add_argument("--features", default=",".join(rerank.FEATURES))
    p.add_argument("--add", default="", help="features added to --features")
    p.add_argument("--drop", default="", help="features dropped from --features")
    p.add_argument("--l2", type=float, default=0.01)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--monotone", action="store_true")
    p.add_argument("--per-query", action="store_true")
    p.add_argument("--balance", type=float, default=0.0)
    p.add_argument("--fit-sets", default=",".join(FIT_SETS))
    p.add_argument("--no-lodo", action="store_true")
    p.add_argument("--by-category", default="beam", help="sets reported per question type")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--loco", action="store_true")
    p.add_argument("--on-current", default="", metavar="W,W,...",
                   help="no fit: the preset's weights kept, each --add feature added alone "
                        "at each of these weights; dev and held R_any@10 / MRR per set")
    args = p.parse_args(argv)
    names = [n for n in args.features.split(",") + args.add.split(",")
             if n and n not in args.drop.split(",")]
    work = Path(args.work)
    heads = load_heads(work, ALL_SETS + tuple(
        s for s in CHECK_SETS if (work / f"heads-{s}.pkl").exists()))
    if args.on_current:
        on_current(heads, [n for n in args.add.split(",") if n],
                   [float(w) for w in args.on_current.split(",")])
        return 0
    run(heads, names, args.l2, args.steps, args.monotone, args.per_query, args.balance,
        args.folds, args.loco, args.fit_sets.split(","), not args.no_lodo,
        [x for x in args.by_category.split(",") if x])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
