"""Knowledge updates told in turn, a held set and a development set written for session 36.

``knowledge_chains_s36_held.jsonl`` (30 chains of three values, told 300, 150 and 20
days before the question in sessions of small talk, as session 35's): written from
general knowledge by a writer who read no rule of :mod:`engram.retrieval.updates` or
:mod:`engram.retrieval.pairs` and avoided every subject of the earlier case sets (a
pharmacy, air miles, a council tax band, a washing machine, a library branch, a TV's
size, a credit limit, a resting heart rate, a son's judo belt, a daughter's teacher, a
father-in-law's golf handicap, ...; ten newest statements with no marker of change, ten
with a stated change, ten telling an event; eight about a third person, eight numbers).
It was written after session 36's first changes were chosen on the development sets and
read once before and after each: 24 of 30 before them, 24 after the chain change
(``pairs.Pair.next_in_chain``), 25 after "have got" read as have
(:mod:`engram.ingest.supersede`).

``knowledge_chains_s36.jsonl`` (development, 30, written the same way after the held set,
avoiding its subjects too: a narrowboat mooring, a boiler engineer, a railcard, a
cattery, a migraine medicine, a command-line shell, hens, an aquarium, a thermostat, a
typing speed, a brother's army rank, a niece's gap year, ...): 24 of 30 at the start of
the session, 25 with the changes above (the boiler engineer gained), 27 once a "when"
clause of a habit no longer made a question ask about an event (chosen on it: two of its
misses asked so; neither held set holds such a question).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.labelled import load_cases
from test_knowledge_chains_s35 import _missed, _store

from engram import Engram
from engram.embed.base import Embedder

HELD = load_cases("knowledge_chains_s36_held.jsonl")
DEV = load_cases("knowledge_chains_s36.jsonl")

#: measured once (module docstring); the smart speaker gained with "have got" read as have;
#: the pharmacy with session 37's present verb on the owner's things read as current
#: ("Which chemist fills the user's prescriptions?")
HELD_MISSED = ["h36-cinema", "h36-headphones", "h36-fragrance", "h36-daughter-teacher"]


#: a newest that names no program word ("Everything I produce goes through Bitwig"), the
#: artist's name in a booking, a speed told as an average (the cattery and the migraine
#: medicine gained once a "when" clause of a habit kept their questions current:
#: "Where does the user's cat stay when they go away?", :func:`~engram.retrieval.asks.asks_current`)
#: (the typing speed gained with session 37's "How fast can the user type?" read as
#: current: :data:`~engram.retrieval.asks._CAN_NOW`)
DEV_MISSED = ["d36-music-production", "d36-tattoo-artist"]


@pytest.mark.parametrize("cases", [DEV, HELD], ids=["dev", "held"])
def test_the_chains_are_well_formed(cases: list[dict[str, object]]) -> None:
    assert len(cases) == 30 and len({c["id"] for c in cases}) == 30
    assert all(len(c["values"]) == 3 and str(c["question"]).endswith("?")  # type: ignore[arg-type]
               for c in cases)
    assert not {c["question"] for c in DEV} & {c["question"] for c in HELD}


#: each set, the cases it misses, as measured (module docstring)
SETS = {"dev": (DEV, DEV_MISSED), "held": (HELD, HELD_MISSED)}


@pytest.fixture(scope="module", params=sorted(SETS))
def chains(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           embedder: Embedder) -> Iterator[tuple[Engram, list[dict[str, object]], list[str]]]:
    cases, expected = SETS[request.param]
    stores = _store(tmp_path_factory, embedder, cases, f"chains36{request.param}")
    yield next(stores), cases, expected
    stores.close()


def test_the_newest_value_ranks_above_both_older_ones(
        chains: tuple[Engram, list[dict[str, object]], list[str]]) -> None:
    eg, cases, expected = chains
    missed = _missed(eg, cases)
    assert missed == expected, f"{len(cases) - len(missed)}/30; missed {missed}"
