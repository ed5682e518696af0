"""Knowledge updates, a fifth case set (session 9), held apart from the rules.

``tests/fixtures/knowledge_updates_s9.jsonl``: 50 cases written from general
knowledge and committed before any rule was run on them (dentists, front ends,
landlords, commutes, drummers, rents, languages, managers, medications,
schools, races, flights, newsletters, neighbours, grandparents...). The
replacement is told in many ways: by someone else's event ("Dr Patel retired in
March, so the surgery moved me over to Dr Okafor", "Mrs Green retired and her
son Daniel took over the bakery"), by a verb carrying the new value ("rewriting
the front end in React", "migrated the whole backend off MySQL onto Postgres"),
by a correction ("Arlo is seven, not six"), by a denial ("I haven't had a
cigarette in three months"), by a number ("down to 26 kilos", "my 23rd book of
the year") and by "When ...?" questions about a current value ("When does the
user's flight to Lisbon leave?"). Each old statement is said 200 days before the
question and the new one 20 days before, each in a session of small talk of its
own (:func:`support.labelled.add_update_cases`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.labelled import (
    NOW,
    add_update_cases,
    assert_past_keeps_old,
    assert_well_formed,
    case_engine,
    load_cases,
    newer_first_misses,
)

from engram import Engram
from engram.embed.base import Embedder

CASES = load_cases("knowledge_updates_s9.jsonl")
#: small talk unlike the other sets' (a session of it before, between and after)
CHAT = [
    (["Have you tried that new noodle place?", "Not yet, is it any good?"], 300),
    (["My neighbour's cat keeps sitting on my car.", "Ha, they always pick the warm bonnet."], 120),
    (["Are you watching the cricket later?", "If the rain holds off, yes."], 5),
]


#: held apart: measured once the session-9 rules were chosen on the development
#: sets and the earlier case sets. 37/50 with session 8's rules, 41/50 with
#: session 9's (no case lost). Misses: a value carried by an event with no word of
#: the question ("taking the number 12 bus" for "How does the user get to work?"),
#: "When does ...?" moved without a marker of a moved time ("We've moved book club
#: to the last Sunday"), a count in an ordinal ("my 23rd book"), changes told
#: as a plan ("booked a week in Crete instead") or a routine ("out on the river
#: every Saturday"). The centred default keeps 41/50 with other misses: n9-car
#: gained, n9-diet lost. 45/50 with session 10's slot reader: n9-database ("off
#: MySQL onto Postgres" names the older value), n9-holiday ("this summer" is no
#: earlier time), n9-days and n9-books (numbers in words)
#: 46/50 with session 12's another time for "When ...?" (n9-bookclub: "moved book
#: club to the last Sunday", the two each other's nearest in meaning)
#: 47/50 with session 21's memories replaced with their message (n9-diet: "The user
#: is pescatarian" below "I've gone fully vegan since January ...")
#: 48/50 with session 34's centred nearest-in-meaning tests (n9-weekends)
#: 49/50 with session 37's later telling with another number (n9-shift: "six till two" /
#: "ten till seven", :attr:`~engram.retrieval.pairs.Pair.renumbers`)
MISSED = ["n9-commute"]


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from case_engine(tmp_path_factory, embedder, "ku9", CASES, CHAT)


def test_fixture_is_well_formed() -> None:
    assert_well_formed(CASES, 50, 7)




def test_the_newer_statement_ranks_first(eg: Engram) -> None:
    missed = newer_first_misses(eg, CASES)
    assert missed == MISSED, f"{len(CASES) - len(missed)}/50; missed {missed}"


def test_a_question_about_the_past_keeps_the_old_statement_in_view(eg: Engram) -> None:
    assert_past_keeps_old(eg, CASES, 7)


def _ranking(eg: Engram, cases: list[dict[str, Any]]) -> list[list[tuple[str, str, float]]]:
    """Each case's 20 hits for its question, as (kind, text, score): memory ids
    are new at every store, their texts and scores are not."""
    return [[(type(h.item).__name__, h.item.text, h.score) for h in eg.search(
        c["question"], user_id=c["id"], preset="recall", now=NOW, limit=20,
        track_access=False)] for c in cases]


def test_two_stores_of_the_same_cases_rank_alike(
    tmp_path: Path, embedder: Embedder
) -> None:
    """The ranking depends on what is stored and asked only: no clock, thread
    timing or random id decides it. Two stores of the same cases, filled one
    after the other (the wall clock and the new ids differ), give the same hits
    in the same order with the same scores."""
    cases = [c for c in load_cases("knowledge_updates_s8.jsonl") if not c.get("source")][:10]
    runs = []
    for n in range(2):
        eg = Engram(str(tmp_path / f"run{n}.db"), embedder=embedder)
        add_update_cases(eg, cases, CHAT)
        runs.append(_ranking(eg, cases))
        eg.close()
    assert runs[0] == runs[1]
