"""A search's fused head made alone (:func:`fusion.fused_head`) is the head cut
from the whole fused list: the first ``n`` of :func:`fusion.fuse`, then the later
entries a search keeps, with the same scores and breakdowns (key order too)."""

from __future__ import annotations

import random

from engram.models import ItemRef
from engram.retrieval.fusion import Fused, fuse, fused_head
from engram.store.base import Candidate


def _dump(fused: list[Fused]) -> list[object]:
    return [(f.ref, repr(f.score), [(k, repr(v)) for k, v in f.scores.items()]) for f in fused]


def test_the_head_made_alone_is_the_head_of_the_fused_list() -> None:
    rnd = random.Random(8)
    for _ in range(400):
        refs = [ItemRef(rnd.choice(["episode", "memory"]), f"r{i:02d}") for i in range(30)]
        lists = {}
        for signal in rnd.sample(["bm25", "dense", "topic"], rnd.randint(1, 3)):
            # duplicates, ties and equal scores: what the two must agree on
            chosen = [rnd.choice(refs) for _ in range(rnd.randint(0, 25))]
            scores = sorted((rnd.choice([0.0, 0.5, 0.5, 1.0, 2.0, -0.2]) for _ in chosen),
                            reverse=True)
            lists[signal] = [Candidate(r, s) for r, s in zip(chosen, scores, strict=True)]
        weights = {s: rnd.choice([0.0, 0.3, 1.0, 1.0]) for s in lists}
        method = rnd.choice(["rrf", "score"])
        n = rnd.randint(0, 20)
        keep = set(rnd.sample(refs, rnd.randint(0, 8)))
        for k in (1, 60):
            whole = fuse(lists, weights, method=method, rrf_k=k)
            want = whole[:n] + [f for f in whole[n:] if f.ref in keep]
            got = fused_head(lists, weights, n, keep, method=method, rrf_k=k)
            assert _dump(got) == _dump(want)
            assert _dump(fused_head(lists, weights, n, method=method, rrf_k=k)) == _dump(whole[:n])


def test_a_nan_score_gives_the_fused_lists_order_too() -> None:
    refs = [ItemRef("episode", f"r{i}") for i in range(6)]
    lists = {"bm25": [Candidate(r, s) for r, s in zip(refs, [3.0, float("nan"), 1.0, 0.5, 0.5,
                                                              0.0], strict=True)],
             "dense": [Candidate(refs[5], 0.9), Candidate(refs[2], 0.4)]}
    for n in range(8):
        whole = fuse(lists, {"bm25": 1.0, "dense": 0.5}, method="score")
        got = fused_head(lists, {"bm25": 1.0, "dense": 0.5}, n, {refs[1]}, method="score")
        assert _dump(got) == _dump(whole[:n] + [f for f in whole[n:] if f.ref == refs[1]])
