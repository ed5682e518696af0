"""A question for the newest of its kind asks for the value that holds, whatever its
tense ("What score did I get most recently?", "When was the last time ...?"): the
newer-first rule reads it as current (:data:`engram.retrieval.asks._RECENT`), unless it
names an earlier time. Real SQLite files and the real embedder."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.labelled import said_in_small_talk

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
    said = said_in_small_talk(str(tmp_path / "r.db"), embedder, older, newer, question)
    assert newer in said and older in said
    assert said.index(newer) < said.index(older)
