"""The reranker's best-of-a-list (:func:`rerank._best`) is ``max`` by (score, id):
ties by id, the first of equal keys, a list led by NaN, an empty list."""

from __future__ import annotations

import math
import random

from engram.models import ItemRef
from engram.retrieval.rerank import _best


def test_best_is_max_by_score_then_id() -> None:
    rnd = random.Random(4)
    pool = [0.0, -0.0, 0.25, 1.0, -1.5, math.nan, float("nan"), math.inf]
    for _ in range(3000):
        scores = {ItemRef(rnd.choice(["episode", "memory"]), f"i{rnd.randint(0, 6)}"):
                  rnd.choice(pool) for _ in range(rnd.randint(0, 8))}
        want = max(scores, key=lambda r: (scores[r], r.id), default=None)
        got = _best(scores)
        assert got == want and (got is None or got.type == want.type)  # type: ignore[union-attr]
