"""Knowledge updates, a twelfth case set, held apart (session 31).

``tests/fixtures/knowledge_updates_s31_held.jsonl`` (50 cases) was written from
general knowledge by a writer who read no rule of :mod:`engram.retrieval.updates`
or :mod:`engram.ingest.supersede`, and committed before any rule of session 31
ran on it. It avoids the subjects earlier sets used most (pet, car, diet, job,
city, browser, bank, ...): landlords, password managers, broadband speeds, chess
ratings, office days, allotment plots, a name used at work; a third of the new
statements are one line, a third chatty messages of 40-61 words with the update
inside other news, many with no marker of change and no word of the question;
six about a named third person; eight with a question about the past. Each old
statement is said 200 days before the question and the new one 20 days before,
each in a session of small talk of its own (:func:`support.labelled.add_update_cases`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.labelled import (
    CHAT_S13,
    assert_past_keeps_old,
    assert_well_formed,
    case_engine,
    load_cases,
    newer_first_misses,
)

from engram import Engram
from engram.embed.base import Embedder

HELD = load_cases("knowledge_updates_s31_held.jsonl")
#: session 13's small talk (sport, cooking, the weather)
CHAT = CHAT_S13

#: measured once with session 30's rules (968b33d), before any session-31 change:
#: 32/50 newer first; the eight past questions keep their old statement. In 15 of the
#: 18 misses the new statement is in the top 3, just below the old one. Session 33's
#: rules (later tellings, chosen on the development sets and session 33's case set)
#: measured once here: 35/50 (the broadband speed, the cleaner, the mortgage rate); with
#: a time "moved to" or holding "from now on" for a "When ...?" question, 36/50 (the call
#: to the user's mother). Session 34's centred nearest-in-meaning tests (chosen on the
#: development sets) measured once here: 38/50 (the password manager, the contact lenses).
#: 39/50 with session 37's later telling of a change a little further in meaning (the
#: notes app; ``pairs.TOLD_MEANING``, chosen on session 37's development sets). 38/50
#: since session 52's ``recall`` gave up the bonus for being new (``present_weight``): the
#: houseplants, not read
HELD_MISSED = ["s31-landlord", "s31-houseplants",
               "s31-team-role", "s31-summer-holiday",
               "s31-volunteering", "s31-chess-rating", "s31-office-days", "s31-work-name",
               "s31-allotment-plot", "s31-sam-wedding", "s31-budgeting-tool",
               "s31-sleep-tracker"]


def test_the_held_set_is_well_formed() -> None:
    assert_well_formed(HELD, 50, 8)


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from case_engine(tmp_path_factory, embedder, "ku31", HELD, CHAT)


def test_the_newer_statement_ranks_first(held: Engram) -> None:
    missed = newer_first_misses(held, HELD)
    assert missed == HELD_MISSED, f"{len(HELD) - len(missed)}/50; missed {missed}"


def test_a_question_about_the_past_keeps_the_old_statement_in_view(held: Engram) -> None:
    assert_past_keeps_old(held, HELD, 8)
