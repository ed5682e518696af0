"""A day the question names by its date is also searched by its holiday's name
(:mod:`engram.retrieval.holidays`).

"Where was Elise on 31 Dec 2023?" is answered by a message written the next day that
names the day by what it was ("a great way to celebrate the New Year ... the
fireworks at midnight"), with no word of the question in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import ConfigError
from engram.retrieval.config import get_preset
from engram.retrieval.holidays import holiday_words


@pytest.mark.parametrize(("question", "words"), [
    ("Where was Elise on 31 Dec 2023?", "new year eve"),
    ("where was kate on december 31st", "new year eve"),
    ("What did we do on 31.12.2022?", "new year eve"),
    ("What did we do on 12/31/2022?", "new year eve"),
    ("Who did Sam visit on 1 January 2024?", "new year"),
    ("What did they do on December 25th?", "christmas xmas"),
    ("What happened on the 24th of December?", "christmas eve"),
    ("What did Mel wear on 31 October 2022?", "halloween"),
    ("What did Tom give Ana on Feb 14, 2023?", "valentine"),
    ("How did the family spend 4 July 2021?", "independence fourth"),
    ("Where did they go on 26 December?", "boxing"),
])
def test_a_holiday_named_by_its_date_gives_its_name(question: str, words: str) -> None:
    assert holiday_words(question) == words


@pytest.mark.parametrize("question", [
    "Where was Kate on 30 Dec 2023?",  # no holiday that day
    "What did we do last Friday?",  # a day counted from now: not read
    "What did Ana do on New Year's Eve?",  # it names the holiday already
    "What did Ana do on New Year's Eve 2023, Dec 31?",
    "What did we do in December 2023?",  # a month, not a day
    "Where were they from 24 to 26 December?",  # several days
    "How many presents did Maya buy?",
    "",
])
def test_other_questions_give_none(question: str) -> None:
    assert holiday_words(question) == ""


def test_the_weight_is_checked() -> None:
    with pytest.raises(ConfigError):
        get_preset("recall").replace(name="x", holiday_weight=-1.0)
    assert get_preset("recall").holiday_weight > 0
    assert get_preset("bm25").holiday_weight == 0


#: (who, the day it was told, what was said, questions naming the holiday by its date)
CASES = [
    ("Maya", datetime(2023, 12, 26, 10, tzinfo=UTC),
     "Yesterday we opened presents under the tree and had Christmas dinner at my aunt's",
     ["What did Maya do on 25 December 2023?", "how did maya spend dec 25"]),
    ("Leo", datetime(2024, 1, 1, 11, tzinfo=UTC),
     "We watched the fireworks from the rooftop at midnight to ring in the new year!",
     ["Where was Leo on 31 Dec 2023?", "What was Leo doing on December 31st, 2023?"]),
    ("Ines", datetime(2023, 11, 1, 9, tzinfo=UTC),
     "Last night I dressed up as a vampire for a Halloween party at Jo's",
     ["What costume did Ines wear on 31 October 2023?", "What did Ines do on Oct 31?"]),
    ("Raj", datetime(2024, 2, 15, 8, tzinfo=UTC),
     "Priya surprised me with roses and a candlelit dinner for Valentine's",
     ["What did Priya do for Raj on 14 February 2024?", "What happened on Feb 14 for Raj?"]),
    ("Nora", datetime(2023, 7, 5, 18, tzinfo=UTC),
     "We grilled burgers and watched the Independence Day parade downtown",
     ["How did Nora spend 4 July 2023?", "What did Nora do on July 4th?"]),
]
#: small talk on other days, some of it about dinners and parties
OTHER = ["How was your weekend?", "We had a lovely dinner at the Thai place on Friday",
         "I'm so tired today", "Did you see the news this morning?",
         "The party at work was fun, we stayed late", "Let's catch up soon",
         "My sister says hi", "I finally fixed the bike"]


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    engine = Engram(str(tmp_path_factory.mktemp("holidays") / "h.db"), embedder=embedder)
    try:
        for who, told, said, _ in CASES:
            turns = []
            for day in (-9, -4, 0, 3, 8):  # sessions around the holiday, told on day 0
                t0 = told + timedelta(days=day)
                lines = [OTHER[(day + i) % len(OTHER)] for i in range(5)]
                if day == 0:
                    lines.insert(2, said)
                turns += [{"text": t, "speaker": who, "role": "user",
                           "occurred_at": t0 + timedelta(minutes=i)}
                          for i, t in enumerate(lines)]
            engine.add(turns, user_id=who.lower(), session_id="chat")
        yield engine
    finally:
        engine.close()


def _rank(eg: Engram, who: str, question: str, said: str, preset: object) -> int:
    hits = eg.search(question, user_id=who.lower(), limit=20, preset=preset,
                     now=datetime(2024, 6, 1, tzinfo=UTC), track_access=False)
    return next((i for i, h in enumerate(hits) if h.item.text == said), 20) + 1


def test_the_message_naming_the_holiday_answers_a_question_naming_its_date(
        eg: Engram) -> None:
    """With ``recall`` the message that tells of the holiday (and never its date) ranks
    in the top 3 for every phrasing, and higher on the whole than without the
    holiday's name."""
    off = get_preset("recall").replace(name="recall-no-holidays", holiday_weight=0.0)
    ranks, before = [], []
    for who, _, said, questions in CASES:
        for q in questions:
            ranks.append(_rank(eg, who, q, said, "recall"))
            before.append(_rank(eg, who, q, said, off))
    assert max(ranks) <= 3, list(zip(before, ranks, strict=True))
    assert sum(1 / r for r in ranks) > sum(1 / b for b in before), (before, ranks)


def test_a_day_that_is_no_holiday_searches_as_before(eg: Engram) -> None:
    off = get_preset("recall").replace(name="recall-no-holidays", holiday_weight=0.0)
    q = "What did Maya do on 23 December 2023?"
    on_hits = eg.search(q, user_id="maya", limit=20, track_access=False)
    off_hits = eg.search(q, user_id="maya", limit=20, preset=off, track_access=False)
    assert [h.ref for h in on_hits] == [h.ref for h in off_hits]
