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

from support.labelled import load_cases

CASES = load_cases("knowledge_updates_s9.jsonl")
#: small talk unlike the other sets' (a session of it before, between and after)
CHAT = [
    (["Have you tried that new noodle place?", "Not yet, is it any good?"], 300),
    (["My neighbour's cat keeps sitting on my car.", "Ha, they always pick the warm bonnet."], 120),
    (["Are you watching the cricket later?", "If the rain holds off, yes."], 5),
]


def test_fixture_is_well_formed() -> None:
    assert len(CASES) == 50
    assert len({c["id"] for c in CASES}) == 50
    keys = {"id", "old", "new", "question", "past"}
    assert all({"id", "old", "new", "question"} <= set(c) <= keys for c in CASES)
    assert sum("past" in c for c in CASES) == 7

