"""Knowledge updates, an eighth case set (session 11), and a ninth held apart.

``tests/fixtures/knowledge_updates_s11.jsonl`` (development, 30 cases) and
``knowledge_updates_s11_held.jsonl`` (45 cases, written and committed before
any rule of session 11 ran on them), both from general knowledge, with most
values carrying no name or number: oat milk in the coffee, a bike instead of
the bus, pottery instead of knitting, a firm mattress, an e-reader, a cleaner
on Wednesdays. Some cases are in the shape of letta's core-memory updates (a
named person's fact, then the same frame with another value: 3 in the
development set, 5 held) or BEAM's (long requests to an assistant with the
value in one clause among others: 2 and 5), written here, not copied from
either set. Each old statement is said 200 days before the question and the
new one 20 days before, each in a session of small talk of its own
(:func:`support.labelled.add_update_cases`).
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

CASES = load_cases("knowledge_updates_s11.jsonl")
HELD = load_cases("knowledge_updates_s11_held.jsonl")
#: small talk unlike the other sets' (a session of it before, between and after)
CHAT = [
    (["Have you watched the new detective series?", "Two episodes in, it's slow but good."], 300),
    (["The neighbours' cat keeps sitting on our car.", "Ha, ours does the same on the shed."], 120),
    (["Is it your turn to host Sunday lunch?", "Yes, I'm doing a roast for eight."], 5),
]

#: measured with session 10's rules: 25/30 (missed d-snack, d-heating-fuel,
#: d-pet-food, d-glasses, d-dinner-time); its misses were read while the later
#: telling (:mod:`engram.retrieval.updates`, session 11) was built, so 28/30 after
#: it is not a held-apart figure. Left: a new snack told with no marker in a
#: statement not far enough apart from the small talk ("a handful of nuts when
#: I'm peckish"), and "we eat at half five" (a time with no unit)
MISSED = ["d-snack", "d-dinner-time"]


def _store(factory: pytest.TempPathFactory, embedder: Embedder, cases: list[dict[str, Any]]
           ) -> Iterator[Engram]:
    yield from case_engine(factory, embedder, "ku11", cases, CHAT)


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from _store(tmp_path_factory, embedder, CASES)


def test_the_case_sets_are_well_formed() -> None:
    for cases, n, past in ((CASES, 30, 2), (HELD, 45, 5)):
        assert_well_formed(cases, n, past, extra=frozenset({"shape"}))
        assert sum(c.get("shape") == "letta" for c in cases) in (3, 5)
        assert sum(c.get("shape") == "beam" for c in cases) in (2, 5)
    assert not {c["id"] for c in CASES} & {c["id"] for c in HELD}


def test_the_newer_statement_ranks_first(eg: Engram) -> None:
    missed = newer_first_misses(eg, CASES)
    assert missed == MISSED, f"{len(CASES) - len(missed)}/30; missed {missed}"


def test_a_question_about_the_past_keeps_the_old_statement_in_view(eg: Engram) -> None:
    assert_past_keeps_old(eg, CASES, 2)


#: the held set, measured once the rules were fixed: 43/45 with session 10's rules
#: (missed h-hair, h-beam-training), 44/45 with the later telling (h-beam-training:
#: "Training update: ... I've dropped to twice a week"). Left: "chopped it all off
#: into a short pixie cut" (no word of the question, and the older's nearest hit is
#: a line of small talk, "Pretty relaxed, I read a book.")
HELD_MISSED = ["h-hair"]


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from _store(tmp_path_factory, embedder, HELD)


def test_the_newer_held_statement_ranks_first(held: Engram) -> None:
    missed = newer_first_misses(held, HELD)
    assert missed == HELD_MISSED, f"{len(HELD) - len(missed)}/45; missed {missed}"


def test_a_held_question_about_the_past_keeps_the_old_statement_in_view(held: Engram) -> None:
    assert_past_keeps_old(held, HELD, 5)
