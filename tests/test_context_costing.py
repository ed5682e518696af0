"""context()'s budget fill costs a block line by line (:class:`_Costing`): adding a
line costs what the whole block's layout (:func:`_cost`) says, whatever the order
lines arrive in, with turns of one day, one minute, one time, one speaker and
memories mixed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from engram.models import Episode, Hit, ItemRef, Memory, MemoryKind, Scope
from engram.retrieval.context import _cost, _Costing, _Line


def _count(text: str) -> int:
    """A stand-in token count: differs between days, minutes and headers."""
    return len(text) // 3 + 1


def _line(rnd: random.Random, i: int) -> _Line:
    # few days, few minutes: many lines share a day header, a time of day, a key
    at = datetime(2024, 3, 1, 9, tzinfo=UTC) + timedelta(days=rnd.randint(0, 2),
                                                         minutes=rnd.choice([0, 0, 5, 61]))
    if rnd.random() < 0.2:
        mem = Memory(id=f"mem_{i:03d}", scope=Scope(user_id="u"), kind=MemoryKind.FACT,
                     text="a fact", created_at=at, updated_at=at, valid_from=at)
        return _Line(Hit(ref=ItemRef("memory", mem.id), item=mem, score=1.0), i, None, at,
                     rnd.randint(3, 20), 0, 0)
    ep_id = f"ep_{rnd.randint(0, 9):03d}"  # the same id twice: an equal sort key
    speaker = rnd.choice(["Ana", "Bo", None])  # None: the role ("user") speaks
    text = rnd.choice(["a turn", "PS: a turn"])  # the second always names its speaker
    ep = Episode(id=ep_id, scope=Scope(user_id="u"), role="user", text=text,
                 occurred_at=at, created_at=at, speaker=speaker)
    return _Line(Hit(ref=ItemRef("episode", ep_id), item=ep, score=1.0), i, None, at,
                 rnd.randint(3, 20), _count(f"{at.hour:02d}:{at.minute:02d}"),
                 _count(f"{speaker or 'user'}:"))


def test_a_line_costs_what_the_whole_layout_says() -> None:
    rnd = random.Random(11)
    for _ in range(300):
        lines = [_line(rnd, i) for i in range(rnd.randint(0, 25))]
        start = rnd.randint(0, len(lines))
        costing = _Costing(lines[:start], _count)
        assert costing.total == _cost(lines[:start], _count)
        taken = lines[:start]
        for ln in lines[start:]:
            cost = costing.with_line(ln)
            assert cost == _cost([*taken, ln], _count)
            if rnd.random() < 0.7:  # lines that do not fit are tried, not taken
                costing.add(ln, cost)
                taken.append(ln)
        assert costing.total == _cost(taken, _count)
