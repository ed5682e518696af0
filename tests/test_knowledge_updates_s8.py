"""Knowledge updates, a fourth case set (session 8): 40 written from general
knowledge, 10 drawn from letta and 16 from BEAM development data.

``tests/fixtures/knowledge_updates_s8.jsonl``. The 40 written cases cover other
subjects than the earlier sets (gyms, phones, bedtimes, managers, salaries,
dentists, banks, hosting, surnames, heat pumps, curtains, GPs, leases,
password managers, stand-up times), in other phrasings: third persons ("Jonno
did his knee in, so the lads voted me captain"), questions with "Who coaches",
"How far", "Is the user allergic", changes told as events ("Traded the Fiat in
for a silver Skoda"), counts that fall ("down to 12 kilos"), and two changes
with no marker at all ("In the office I sit at the end of the long table").
They were written before any session-8 rule was measured on them; the rules
were chosen on the development sets and the earlier case sets. The drawn cases
are the development parts' own updates: each letta case is a fact and the
contradicting fact that replaces it (10 sampled, seed 8, none in the earlier
sets); each BEAM case the original and the updated message of a
knowledge-update question of the 100K development chats (long turns, where the
answer is one clause of many). Stored as the other sets are
(:func:`support.labelled.add_update_cases`).
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
from test_knowledge_updates_more import CHAT as MORE_CHAT

from engram import Engram
from engram.embed.base import Embedder

CASES = load_cases("knowledge_updates_s8.jsonl")
#: written 28/40, letta 10/10, BEAM 13/16 when first measured (the rules of
#: commit 03c298f); written 30/40 once a newer count close in meaning to the older
#: answer counted (chosen on the development sets and the 76 of session 6, which
#: it also gains, 56 -> 57/64); 35/40 in session 9 (an irregular past is an
#: event, a participle after "be" a state, capitals are no name): the cases missed
#: per source, exactly (no wobble: the ranking depends on what is stored and asked
#: only); 34/40 with the centred default (s-vote lost); 36/40 with session 10's
#: slot reader (s-hair: "How long is ...?" asks a current length; s-running-distance:
#: "Sunday" names a range ending after the question, no earlier time); BEAM 14/16
#: (s-beam-12: a moved time read in the whole of a short statement), 15/16 once
#: another number in the same unit replaces a count (s-beam-7), 16/16 once "I've got a
#: webinar ... coming up" is a state, not a change (session 36: "have got" is have)
MISSED: dict[str | None, list[str]] = {
    # s-vote and s-password-manager gained with session 11's later telling,
    # s-lease-end with session 12's another time ("so the lease now ends in December")
    None: ["s-surname"],
    "letta": [], "beam": []}


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from case_engine(tmp_path_factory, embedder, "ku8", CASES, MORE_CHAT)


def test_fixture_is_well_formed() -> None:
    assert_well_formed(CASES, 66, extra=frozenset({"source"}))
    assert [sum(c.get("source") == s for c in CASES) for s in (None, "letta", "beam")] == [
        40, 10, 16]


@pytest.mark.parametrize("source", [None, "letta", "beam"])
def test_the_newer_statement_ranks_first(eg: Engram, source: str | None) -> None:
    cases = [c for c in CASES if c.get("source") == source]
    missed = newer_first_misses(eg, cases)
    won = len(cases) - len(missed)
    # Misses (written): a count that changes where the new statement holds few
    # of the question's words ("the Sunday long run is 16k"), a replacement told
    # as someone else's event ("Dr Hughes retired and the practice gave us Dr
    # Amin", "Marco went back to Italy"), a new value with a verb of its own ("We
    # rewrote the front end in Svelte", "shifted the site onto Cloudflare
    # Pages"), "When does ...?" / "How long is ...?" (not read as current);
    # BEAM: a "should" question, a count whose new turn holds few of the
    # question's words, a "When is ... scheduled" question
    assert missed == MISSED[source], f"{source or 'written'}: {won}/{len(cases)}; missed {missed}"


def test_a_question_about_the_past_keeps_the_old_statement_in_view(eg: Engram) -> None:
    assert_past_keeps_old(eg, CASES, 4)
