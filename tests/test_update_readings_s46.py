"""A question for the newest of its kind asks for the value that holds, whatever its
tense ("What score did I get most recently?", "When was the last time ...?"): the
newer-first rule reads it as current (:data:`engram.retrieval.asks._RECENT`), unless it
names an earlier time. Real SQLite files and the real embedder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.retrieval.asks import asks_current


@pytest.mark.parametrize("question", [
    "What score did I achieve on my number theory quiz most recently?",
    "What was my most recent blood pressure reading?",
    "When was the last time Elise saw her ex?",
    "Which laptop did I buy most recently?",
    "What did the latest test run report?",
    "What's the newest version of the app I installed?",
    "How much did I weigh at my latest check-up?",
    "Who did I have lunch with lately?",
])
def test_a_question_for_the_newest_asks_for_the_value_that_holds(question: str) -> None:
    assert asks_current(question)


@pytest.mark.parametrize("question", [
    "What did I eat last week?",
    "Who did I meet most recently before the trip?",
    "What was my first score on the quiz?",
    "What did I do last summer?",
    "When did Mia start school?",
])
def test_an_earlier_time_or_no_marker_is_no_such_question(question: str) -> None:
    assert not asks_current(question)


T0 = datetime(2025, 2, 3, 18, 0, tzinfo=UTC)
SMALL_TALK = [
    "Traffic was terrible on the way home today.",
    "I finally watched that documentary about octopuses.",
    "My neighbour's dog barked all night again.",
    "We're thinking about repainting the kitchen a pale green.",
    "The new bakery on the corner does amazing croissants.",
]


@pytest.mark.parametrize(("older", "newer", "question"), [
    # the older telling holds more of the question's words: without the marker read,
    # the ranking puts it first
    ("I achieved a score of 78% on my number theory quiz, my first quiz score this term.",
     "Number theory quiz is back: 91%!",
     "What score did I achieve on my number theory quiz most recently?"),
    ("At my check-up the nurse weighed me at 84 kilos, the check-up went fine.",
     "Check-up done, 79 kilos now.",
     "How much did I weigh at my latest check-up?"),
    ("My blood pressure reading was 142 over 90 at the pharmacy blood pressure machine.",
     "Blood pressure reading today: 128 over 82.",
     "What was my most recent blood pressure reading?"),
])
def test_the_newest_telling_comes_first(tmp_path: Path, embedder: Embedder, older: str,
                                        newer: str, question: str) -> None:
    with Engram(str(tmp_path / "r.db"), embedder=embedder) as eg:
        texts = [older, *SMALL_TALK[:3], newer, *SMALL_TALK[3:]]
        for i, text in enumerate(texts):
            eg.add(text, user_id="ana", occurred_at=T0 + timedelta(days=9 * i))
        said = [h.item.text for h in eg.search(question, user_id="ana", limit=10)
                if h.ref.type == "episode"]
        assert newer in said and older in said
        assert said.index(newer) < said.index(older)
