"""Knowledge updates, a sixth case set (session 10), and a seventh held apart.

``tests/fixtures/knowledge_updates_s10.jsonl``: 48 cases written from general
knowledge and committed before any rule was run on them. 38 are chat: swimming
clubs, accountants, guitars, gas bills, a daughter's sport, favourite authors,
mobile networks, stand-up times, vets, a brother's city, blogs, marathons,
mortgages, nicknames, music apps, deadlifts, school runs, savings, degrees,
haircuts, pub quizzes... The replacement is told by someone else's event
("Mr Hughes passed our file to his junior partner, Ms Adeyemi"), by a verb
carrying the new value ("ported the blog to Hugo"), by a correction ("I said 14
earlier, it's number 41"), by a denial ("I haven't touched coffee since
January"), by a number ("it's at 18,500 now"), by a plan ("swapped Cornwall for
a fortnight in Norway") or with no marker at all ("Stand-up is at 10:15 these
days"). Five more are in the shape of letta's core-memory updates (a named
person's fact, then the same frame with another value) and five in BEAM's (long
requests to an assistant with the value in one clause among others); they are
written here, not copied from either set. Each old statement is said 200 days
before the question and the new one 20 days before, each in a session of small
talk of its own (:func:`support.labelled.add_update_cases`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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

CASES = load_cases("knowledge_updates_s10.jsonl")
#: small talk unlike the other sets' (a session of it before, between and after)
CHAT = [
    (["Did you hear the storm last night?", "Yes, the thunder woke the baby up."], 300),
    (["I'm thinking of repainting the hallway.", "Go for a warm grey, it hides scuffs."], 120),
    (["Any plans for the bank holiday?", "Just a barbecue if the weather is kind."], 5),
]

#: measured with session 9's rules before any change of session 10 ran on it:
#: 37/48 (missed t-guitar, t-work-days, t-network, t-mortgage, t-breakfast,
#: t-supervisor, t-ride-length, t-scripts, t-summer-trip, t-study,
#: t-beam-launch). Its misses were then read while the slot reader was built, so
#: the figure after (44/48) is not a held-apart one. Left: a new value sharing
#: nothing with the question or the old statement ("Ported my number over to
#: Three"), a new routine ("a protein shake after my morning swim"), a moved date
#: with no marker of a move ("slipped to June 17"), and "remortgaged with Halifax"
#: (another name in the slot, but no word of the question)
#: 45/48 with session 11's later telling (t-breakfast: "These days I just have a
#: protein shake after my morning swim", each the other's nearest hit)
#: 46/48 with session 12's another time for "When ...?" (t-beam-launch: "slipped
#: to June 17")
#: 47/48 with session 13's word forms (t-mortgage: "remortgaged" holds the
#: question's "mortgage", so "with Halifax" fills the older's slot "with Nationwide")
#: 48/48 with session 34's centred nearest-in-meaning tests (t-network)
MISSED: list[str] = []


#: ``knowledge_updates_s10_held.jsonl``: 32 more cases (4 past questions), written
#: and committed after the slot reader was built and before it ran on them, then
#: measured: 23/32 with session 9's rules, 24/32 with the slot reader
#: (u-choir-director gained, none lost), 25/32 once another number in the same unit
#: replaces a count (u-commute-time: "45 minutes" / "25 minutes"; a looser form of
#: that rule was run on this set once before the one kept was chosen on the
#: development sets)
HELD = load_cases("knowledge_updates_s10_held.jsonl")
#: 29/32 with session 11's later telling, whose rules were built with this set's
#: misses in view (no longer held apart): u-cat-food ("no more Whiskas"),
#: u-hometown-team, u-tea-brand, u-beam-deadline gained
#: 30/32 with session 12's another time for "When ...?" (u-dentist-day)
HELD_MISSED = ["u-office", "u-garden"]


def _store(factory: pytest.TempPathFactory, embedder: Embedder, cases: list[dict[str, Any]]
           ) -> Iterator[Engram]:
    yield from case_engine(factory, embedder, "ku10", cases, CHAT)


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from _store(tmp_path_factory, embedder, HELD)


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from _store(tmp_path_factory, embedder, CASES)


def test_fixture_is_well_formed() -> None:
    assert_well_formed(CASES, 48, 8, extra=frozenset({"shape"}))
    assert sorted(c.get("shape", "") for c in CASES).count("letta") == 5
    assert sum(c.get("shape") == "beam" for c in CASES) == 5


def test_the_newer_statement_ranks_first(eg: Engram) -> None:
    missed = newer_first_misses(eg, CASES)
    assert missed == MISSED, f"{len(CASES) - len(missed)}/48; missed {missed}"


def test_a_question_about_the_past_keeps_the_old_statement_in_view(eg: Engram) -> None:
    assert_past_keeps_old(eg, CASES, 8)


def test_the_held_cases_are_well_formed() -> None:
    assert len(HELD) == 32
    assert len({c["id"] for c in HELD} | {c["id"] for c in CASES}) == 80
    assert sum("past" in c for c in HELD) == 4


def test_the_newer_held_statement_ranks_first(held: Engram) -> None:
    missed = newer_first_misses(held, HELD)
    assert missed == HELD_MISSED, f"{len(HELD) - len(missed)}/32; missed {missed}"


def test_a_held_question_about_the_past_keeps_the_old_statement_in_view(held: Engram) -> None:
    assert_past_keeps_old(held, HELD, 4)
