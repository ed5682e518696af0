"""Knowledge updates in general: category questions, paraphrases, corrections, the past.

``tests/fixtures/knowledge_updates_general.jsonl``: 40 cases written from general
knowledge, none of them used to choose the rules' thresholds: an old statement
(200 days before the question) and a later one that replaces it (20 days
before), each inside a session of small talk, with sessions of small talk
only between them. Questions mostly name a category while the statements name
an instance ("What pet ...?" / "we adopted a corgi"), and most carry no
present-tense marker at all. Some cases also have a ``past`` question
("What pet did the user have before?"), for which the old statement must not
be pushed below the new one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.labelled import (
    assert_past_keeps_old,
    assert_well_formed,
    case_engine,
    load_cases,
    newer_first_misses,
)

from engram import Engram
from engram.embed.base import Embedder

CASES = load_cases("knowledge_updates_general.jsonl")
CHAT = [
    (["Did you catch the match last night?", "Only the second half, what a finish."], 300),
    (["The weather has been awful this week.", "I know, my umbrella broke on Tuesday."], 120),
    (["Any plans for the long weekend?", "Probably just a barbecue if it stays dry."], 5),
]


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from case_engine(tmp_path_factory, embedder, "kug", CASES, CHAT)


def newer_first(eg: Engram, preset: str) -> list[str]:
    """Ids of the cases whose new statement is in the top 10 and above the old one
    (session 1 holds the old statement, session 3 the new one, turn 2 of each)."""
    missed = set(newer_first_misses(eg, CASES, preset))
    return [c["id"] for c in CASES if c["id"] not in missed]


def test_fixture_is_well_formed() -> None:
    assert_well_formed(CASES, 40)


def test_the_newer_statement_is_the_top_hit(eg: Engram) -> None:
    recall = newer_first(eg, "recall")
    dense = newer_first(eg, "dense")
    missed = sorted({c["id"] for c in CASES} - set(recall))
    # 37/40 when written: the misses share (almost) nothing with their question
    # ("How does the user get around?" / "I ride a Yamaha motorbike everywhere").
    # Exact: the ranking depends on what is stored and asked only (no clock,
    # thread timing or load; test_knowledge_updates_s9 runs a store twice). 38/40
    # with the centred default of session 9 (car-motorbike gained); 39/40 with
    # session 11's later telling (wedding-venue: "The barn cancelled on us, so the
    # wedding will be at a hotel in Brighton", each the other's nearest hit); 40/40
    # with session 22's "we moved to <a place>" (city-country: "We moved to Porto in
    # May" now derives where the user lives, superseding "The user lives in Lyon")
    assert missed == [], missed
    assert len(recall) > len(dense)


def test_a_question_about_the_past_keeps_the_old_statement_in_view(eg: Engram) -> None:
    assert_past_keeps_old(eg, CASES, 6)
