"""The all-data-sets reranker fit (tools.fit_rerank_cv): balance, monotone weights, floors."""

from __future__ import annotations

import numpy as np

from engram.retrieval.rerank import FEATURES
from tools.fit_rerank_cv import design, evaluate, fit
from tools.fit_rerank_heads import Head

NAMES = ["coverage", "dense"]
COV, DENSE = FEATURES.index("coverage"), FEATURES.index("dense")


def _head(dataset: str, q: int, rng: np.random.Generator, signal: str) -> Head:
    """20 rows; the gold row is marked by ``signal`` (the other column is noise)."""
    m = np.zeros((20, len(FEATURES)))
    cov, dense = rng.random(20), rng.random(20)
    pos = int(rng.integers(20))
    (cov if signal == "coverage" else dense)[pos] += 1.0
    m[:, COV] = cov
    m[:, DENSE] = dense
    ranks = np.argsort(np.argsort(-dense)) + 1.0
    return Head(dataset, "dev", f"{dataset}{q % 3}", "x", m,
                [(f"{dataset}{q}t{i}",) for i in range(20)], (f"{dataset}{q}t{pos}",),
                extra={"dense_rank": ranks})


def _sets(n_big: int, n_small: int) -> list[Head]:
    rng = np.random.default_rng(1)
    return ([_head("big", q, rng, "coverage") for q in range(n_big)]
            + [_head("small", q, rng, "dense") for q in range(n_small)])


def test_balance_gives_a_small_data_set_its_say() -> None:
    heads = _sets(300, 30)
    xs = design(heads, NAMES)
    small = [i for i, h in enumerate(heads) if h.dataset == "small"]
    by_question = fit(heads, xs, NAMES, 0.01, balance=0.0)
    by_set = fit(heads, xs, NAMES, 0.01, balance=1.0)
    assert by_set[1] / by_set[0] > by_question[1] / by_question[0]
    sub = ([heads[i] for i in small], [xs[i] for i in small])
    assert evaluate(*sub, by_set)["mrr"] > evaluate(*sub, by_question)["mrr"]


def test_monotone_keeps_signal_weights_non_negative() -> None:
    rng = np.random.default_rng(2)
    heads = [_head("a", q, rng, "coverage") for q in range(60)]
    for h in heads:  # dense now points away from the gold row
        h.matrix[:, DENSE] = -h.matrix[:, COV] + rng.random(20) * 0.1
    xs = design(heads, NAMES)
    assert fit(heads, xs, NAMES, 0.01)[1] < 0
    assert fit(heads, xs, NAMES, 0.01, monotone=True)[1] == 0.0


def test_the_dense_floors_lift_its_top_three_into_the_top_ten() -> None:
    rng = np.random.default_rng(3)
    h = _head("a", 0, rng, "dense")
    x = design([h], NAMES)[0]
    w = np.array([0.0, -1.0])  # ranks the dense best last
    with_floors = evaluate([h], [x], w, floors=True)
    without = evaluate([h], [x], w, floors=False)
    assert with_floors["any"] == 1.0 and without["any"] == 0.0


def test_tree_scores_walk_every_tree_to_its_leaf() -> None:
    from tools.fit_rerank_trees import tree_scores

    # tree 0: x0 <= .5 ? (x1 <= .2 ? 1 : 2) : 3 ; tree 1: a single leaf of 10 (padded)
    ens = {
        "feature": np.array([[0, 1, -1, -1, -1], [-1, -1, -1, -1, -1]]),
        "threshold": np.array([[0.5, 0.2, 0, 0, 0], [0.0] * 5]),
        "left": np.array([[1, 2, 2, 3, 4], [0, 1, 2, 3, 4]]),
        "right": np.array([[4, 3, 2, 3, 4], [0, 1, 2, 3, 4]]),
        "value": np.array([[0, 0, 1, 2, 3], [10, 0, 0, 0, 0.0]]),
        "depth": np.array(2),
    }
    x = np.array([[0.1, 0.1], [0.5, 0.9], [0.6, 0.0]])
    assert tree_scores(ens, x).tolist() == [11.0, 12.0, 13.0]
    rng = np.random.default_rng(4)
    h = _head("a", 0, rng, "coverage")
    xs = design([h], NAMES)
    # a scorer replaces x @ w: here it ranks the gold row (highest coverage) first
    assert evaluate([h], xs, None, floors=False, scorer=lambda m: m[:, 0])["mrr"] == 1.0
