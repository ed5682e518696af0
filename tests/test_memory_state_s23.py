"""Which memories are current after a later message (session 23, #14's stale facts).

``tests/fixtures/memory_state_s23.jsonl``: 133 pairs of an older and a newer statement by
one user, written from general knowledge in many phrasings; each is stored as its own
user among small talk (:func:`support.labelled.add_update_cases`: the old statement 200
days before, the new one 20 days before). ``ends``: the newer one ends what the older
said (a new way to work, an activity given up or not kept up, a switch, a move, a
parting, a thing sold or gone); ``keeps``: it does not (someone else's, a one-off, a
question, a plan, a pause). A case holds when the older statement's memory exists and is
ended (``ends``) or no memory of it is ended (``keeps``).

Three parts: ``tuned`` (50 pairs) was written before session 23's rules and the rules
were written with its misses in view; ``after`` (24 pairs) was written after the first
rules, by the same hand, and measured once before any further change: 22/24 (ends 13/15,
keeps 9/9); then "the drums" (a plural) was read, 23/24. ``third`` (29 pairs) was written
after every rule of the session but the last five, and measured once: 24/29 (session 22's
code: 17/29); the last five ("we live in X", a pet beyond the table, more languages, "not
teaching" ending "works as a teacher", "stopped swimming when ...") and one false ending it
showed ("My friend's tortoise died" ended the user's tortoise: someone else's thing ends
nothing now) were fixed with it in view. ``fourth`` (30 pairs, informal phrasings and
near-misses of other people, hypotheticals and pauses) was written after all of those and
measured once: 27/30 (session 22's code: 18/30); then "five-a-side football", "Not playing
football anymore" (no subject) and "handed in my notice at the dentist today" were read.
With session 22's code (a7a28e9) the set holds 73/133: tuned 27/50, after 11/24, third
17/29, fourth 18/30; now 126/133: tuned 45/50, after 23/24, third 29/29, fourth 29/30.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.labelled import case_engine, load_cases

from engram import Engram
from engram.embed.base import Embedder
from engram.models import SearchFilters

CASES = load_cases("memory_state_s23.jsonl")
CHAT = [
    (["How was your weekend?", "Quiet, I read a book."], 300),
    (["Any plans for dinner?", "Pasta, probably."], 120),
    (["Busy week?", "Not too bad."], 5),
]
#: the cases that do not hold, and why
MISSED = {
    # the old memory is not derived: "I use X for Y" and "I use X as my browser" say
    # nothing single-valued, and no rule reads "I live with"
    "s23-tuned-ends-07", "s23-tuned-ends-08", "s23-tuned-ends-30",
    # the ending is not read: "quit the band and sold my guitar" (the memory says
    # "plays guitar")
    "s23-tuned-ends-15",
    # by design: "adopted" states a change, so a new pet replaces the old one (#14's text)
    "s23-tuned-keeps-08",
    # "we moved to Swansea": Swansea is not in the shipped place table ("we moved to X"
    # also names tools: "we moved to Slack"); "we moved to Lewes" likewise
    "s23-after-ends-08", "s23-fourth-ends-04",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from case_engine(tmp_path_factory, embedder, "state23", CASES, CHAT)


def _holds(eg: Engram, case: dict[str, str]) -> bool:
    mems = eg.list(user_id=case["id"], limit=200,
                   filters=SearchFilters(include_inactive=True)).items
    old = [m for m in mems if f"{case['id']}:1:2" in m.source_episode_ids]
    ended = [m for m in old if m.valid_to is not None]
    return bool(old) and bool(ended) if case["kind"] == "ends" else not ended


def test_the_case_set_is_well_formed() -> None:
    assert len(CASES) == 133
    assert {c["split"] for c in CASES} == {"tuned", "after", "third", "fourth"}
    assert sum(c["kind"] == "keeps" for c in CASES) == 58


def test_a_later_message_leaves_the_memories_that_hold_current(engine: Engram) -> None:
    missed = {c["id"] for c in CASES if not _holds(engine, c)}
    assert missed == MISSED, (f"{len(CASES) - len(missed)}/{len(CASES)}; newly missed "
                              f"{sorted(missed - MISSED)}, newly held {sorted(MISSED - missed)}")
