"""The word gates of the time rules (``Rule.needs``) skip only texts a rule cannot
match: resolving with them gives what resolving without them gives, on messages built
at random from time phrases and everyday chat (years, dates with slashes and dots,
ordinals, holidays, "last night", "this morning", versions and prices that are no
dates)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from engram.recall import _timerules, timeexpr

_PHRASES = [
    "yesterday", "tomorrow morning", "today", "tonight", "last night", "this morning",
    "this afternoon", "earlier today", "later tonight", "tmrw", "the day before yesterday",
    "in 2019", "since 2021", "back in 1998", "2020 was hard", "the year 2005", "in the 90s",
    "the 1980s", "the nineties", "on 2023-05-07", "2024/01/15", "on 3/4/22", "12/25/2023",
    "21.01.2024", "3.4.2023", "version 1.2.24", "v3.11.2", "on the 5th", "the 21st",
    "on 8 May", "May 8th, 2023", "June 2022", "last March", "in early April", "this summer",
    "last winter", "over Christmas", "on New Year's Eve", "New Years", "for Thanksgiving",
    "on the fourth of July", "Mother's Day", "Valentine's Day", "St. Patrick's Day",
    "Easter Sunday", "three days ago", "a few weeks ago", "two years back", "next Friday",
    "last weekend", "this week", "next month", "recently", "the other day", "in 5 minutes",
    "it cost 20 dollars", "about 1999 people", "room 2021", "3 times", "at 10:30",
]
_CHAT = ["I went out", "we met up", "she called", "the game was fun", "lol", "my mum",
         "it rained", "I started a new job", "we moved", "the 4 of us"]


def _texts(seed: int, n: int = 500) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        parts = rnd.sample(_PHRASES, rnd.randint(1, 4)) + rnd.sample(_CHAT, rnd.randint(0, 3))
        rnd.shuffle(parts)
        text = rnd.choice([" ", ", ", ". "]).join(parts)
        out.append(text if rnd.random() < 0.5 else text.lower())
    return out


def _resolved(text: str) -> list[tuple[object, ...]]:
    ref = datetime(2024, 3, 14, 15, 0, tzinfo=UTC)
    return [(m.span, m.start, m.end, m.granularity, m.fuzzy)
            for m in timeexpr.resolve_time_expressions(text, ref)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_gates_skip_only_what_cannot_match(seed: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts(seed)
    gated = [_resolved(t) for t in texts]
    monkeypatch.setattr(_timerules.Rule, "may_match", lambda self, words: True)
    assert [_resolved(t) for t in texts] == gated
    assert sum(map(len, gated)) > len(texts)  # the phrases are read, not all skipped
