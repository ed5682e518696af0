"""Knowledge updates, an eleventh case set, held apart (session 13).

``tests/fixtures/knowledge_updates_s13_held.jsonl`` (51 cases) was written from
general knowledge and committed before any rule of session 13 ran on it. It
mixes the four kinds of miss session 12 named with ordinary updates: a new value
sharing no word with the question or the old statement ("Ported my number over
to Three"), a new telling whose nearest match is small talk (cricket, cooking,
the weather, all in :data:`CHAT`), a name given as a value with no slot word
("we're The Night Porters now") and a change carried by a word's form
("remortgaged", "re-homed", "re-enrolled", "relocated"); short statements and
chatty messages of 60-100 words; three about a named third person; nine with a
question about the past. Each old statement is said 200 days before the
question and the new one 20 days before, each in a session of small talk of
its own (:func:`support.labelled.add_update_cases`).
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

HELD = load_cases("knowledge_updates_s13_held.jsonl")
#: small talk near some of the cases' subjects (sport, cooking, weather)
CHAT = CHAT_S13

#: measured once with session 12's rules (664b934), before any session-13 rule:
#: 42/51; the nine past questions keep their old statement
#: 42/51 again at the end with session 13's rules (92fae1b, 555bf4c: none gained,
#: none lost). 43/51 with session 21's memories replaced with their message
#: (s13-commute: "The user drives to work" below "I've been cycling in since ...").
#: 45/51 with session 37's later telling with another number, chosen on session 37's
#: development set (s13-podcast: "about ten episodes so far" / "Rebranding for season
#: two"; s13-lt-laptop: "a 2015 MacBook Air" / "after ten years away"; numbers of other
#: things, in two statements each the other's nearest in meaning)
#: 46/51 with session 37's present verb on the owner's things read as current
#: (s13-mortgage: "Which lender holds the user's mortgage?")
#: 47/51 with session 37's later telling of a change a little further in meaning
#: (s13-browser)
HELD_MISSED = ["s13-mobile-network", "s13-coffee", "s13-name"]
#: a case that falls by the embedder's arithmetic, not by a rule: the new
#: statement ranks first with onnxruntime's integer products (x86-64 with VNNI,
#: and on every machine before da36a05) and not with the float products the
#: embedder falls back to where those saturate (da36a05: x86-64 without VNNI,
#: 41/51 there)
BY_ARITHMETIC = {"s13-office"}


def test_the_held_set_is_well_formed() -> None:
    assert_well_formed(HELD, 51, 9)


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from case_engine(tmp_path_factory, embedder, "ku13", HELD, CHAT)


def test_the_newer_statement_ranks_first(held: Engram) -> None:
    missed = newer_first_misses(held, HELD)
    assert [m for m in missed if m not in BY_ARITHMETIC] == HELD_MISSED, (
        f"{len(HELD) - len(missed)}/51; missed {missed}")


def test_a_question_about_the_past_keeps_the_old_statement_in_view(held: Engram) -> None:
    assert_past_keeps_old(held, HELD, 9)
