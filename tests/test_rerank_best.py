"""The reranker's best-of-a-list (:func:`rerank._first_best`, behind ``bm25_top`` and
``dense_top``): the best-scored candidate; a tie goes to the newest tied item, then
to the list's order (the store's row order), never to an id's random bits."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from engram.models import Episode, ItemRef, Scope
from engram.retrieval.rerank import _first_best
from engram.store.base import Candidate

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)


def _ep(ref: ItemRef, minutes: int) -> Episode:
    at = T0 + timedelta(minutes=minutes)
    return Episode(id=ref.id, scope=Scope(user_id="u"), role="user", text="x",
                   occurred_at=at, created_at=at)


def test_without_items_it_is_the_first_of_the_best_scores_in_list_order() -> None:
    rnd = random.Random(4)
    pool = [0.0, -0.0, 0.25, 1.0, -1.5, math.inf]
    for _ in range(3000):
        cands = [Candidate(ItemRef(rnd.choice(["episode", "memory"]), f"i{rnd.randint(0, 6)}"),
                           rnd.choice(pool)) for _ in range(rnd.randint(0, 8))]
        hi = max((c.score for c in cands), default=None)
        want = next((c.ref for c in cands if c.score == hi), None)
        assert _first_best(cands) == want


def test_a_tie_goes_to_the_newest_then_to_the_list_order_not_the_greater_id() -> None:
    a, b = ItemRef("episode", "ep_0000000000zzzz"), ItemRef("episode", "ep_0000000000aaaa")
    c = ItemRef("episode", "ep_0000000000mmmm")
    tied = [Candidate(b, 0.8), Candidate(a, 0.8), Candidate(c, 0.1)]
    assert _first_best(tied) == b  # no items: the list's order
    assert _first_best(tied, {a: _ep(a, 5), b: _ep(b, 1), c: _ep(c, 9)}) == a  # newest tied
    assert _first_best(tied, {a: _ep(a, 1), b: _ep(b, 5)}) == b
    assert _first_best(tied, {a: _ep(a, 3), b: _ep(b, 3)}) == b  # same time: list order
    assert _first_best(tied, {a: _ep(a, 3)}) == a  # an unfetched tie is never the newest
    assert _first_best([Candidate(c, 0.9), *tied], {a: _ep(a, 5), c: _ep(c, 0)}) == c


def test_nan_scores_never_win_and_an_empty_list_has_no_best() -> None:
    a, b = ItemRef("episode", "ep_a"), ItemRef("memory", "mem_b")
    assert _first_best([Candidate(a, math.nan), Candidate(b, 0.2)]) == b
    assert _first_best([Candidate(a, math.nan)]) is None
    assert _first_best([]) is None


def test_lead_is_how_far_the_best_stands_above_the_second() -> None:
    from engram.retrieval.rerank import _lead

    a, b, c = (ItemRef("episode", f"ep_{x}") for x in "abc")
    assert _lead([Candidate(a, 8.0), Candidate(b, 2.0), Candidate(c, 1.0)]) == 0.75
    assert _lead([Candidate(b, 2.0), Candidate(a, 8.0)]) == 0.75  # any list order
    assert _lead([Candidate(a, 3.0), Candidate(b, 3.0)]) == 0.0  # a tie decides nothing
    assert _lead([Candidate(a, 3.0)]) == 1.0
    assert _lead([Candidate(a, math.nan), Candidate(b, 4.0), Candidate(c, 1.0)]) == 0.75
    assert _lead([]) == 0.0 and _lead([Candidate(a, 0.0)]) == 0.0
