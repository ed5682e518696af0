"""Knowledge updates told in turn, a development set and a held set (session 35).

Both sets hold chains of three values, told 300, 150 and 20 days before the question in
sessions of small talk (as session 34's, ``tests/test_knowledge_chains_s34.py``); the
newest has to rank above both older ones and within the top 10. Each was written from
general knowledge by a writer who read no rule of :mod:`engram.retrieval.updates` and
avoided every subject of the earlier case sets:

* ``knowledge_chains_s35.jsonl`` (development, 30): a GP surgery, a takeaway, swimming
  lengths, a grandmother's care home, a cousin's job, a savings rate, a yoga style, a
  fitness watch, a printer, a colleague's department, ...; eleven newest statements hold
  no marker of change, seven are about a named third person, eight give a number.
* ``knowledge_chains_s35_held.jsonl`` (held, 30): hairdressers, dentists, running
  distances, a sertraline dose, a daughter's piano grade, a brother's home, a code
  editor, a manager, ...

Session 35's changes to the newer-first rule were chosen on the development sets (this
one and session 34's): a statement that replaced one value is replaced in turn by its
next (:data:`engram.retrieval.updates.CHAIN`); that next may be a plain short statement
with no marker; and it need not answer the question by itself where it is as close to
the chain as a later telling (``FOLLOW_MEANING``). Development set: 15 of 30 with
session 34's rules, 18 with the first change, 23 with the second, 25 with the third.
Held set, measured after each: 13 of 30, then 14, 17 and 18 (the third gained the step
goal and the code editor and lost the cloud storage; docs/recall.md, "Session 35").
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.labelled import CHAT_S13, NOW, add_in_small_talk, load_cases, rank_of

from engram import Engram
from engram.embed.base import Embedder

DEV = load_cases("knowledge_chains_s35.jsonl")
HELD = load_cases("knowledge_chains_s35_held.jsonl")

#: a newest nearer small talk than the chain ("Doing 50 every time now." for swimming
#: lengths), a first change not read as one (one move after another, "Gran Edith moved
#: into Willow Court" / "We had to move Edith to Oakfield House"; "Binned the HP and
#: bought a Canon Pixma"), a newest with no marker that does not answer the question by
#: itself ("Tom's in Glasgow with his girlfriend's family"), a middle value outside the
#: hits read (the yoga style)
#: (session 36: the yoga style and the best friend's city gained, the next value in a
#: chain replacing a middle one that does not answer by itself, ``pairs.Pair.next_in_chain``;
#: the printer gained and the board game venue lost once "we've got an old HP Deskjet" and
#: "he's got a huge table" read as what one has, not as a change)
# (session 52: the takeaway lost with the bonus for being new; its newest value was
# first only by that bonus, below the newest small talk)
MISSED = ["d35-takeaway", "d35-swim-lengths", "d35-board-game-venue", "d35-gran-care-home"]
#: measured after each change (module docstring)
HELD_MISSED = [
    "h35-hairdresser", "h35-energy-supplier", "h35-mobile-network", "h35-sertraline-dose",
    "h35-garden-project", "h35-daughter-course", "h35-brother-home", "h35-home-insurer",
    "h35-cloud-photos", "h35-backend-language", "h35-project-codename",
]  # (session 36: the manager gained)


@pytest.mark.parametrize("cases", [DEV, HELD], ids=["dev", "held"])
def test_the_chains_are_well_formed(cases: list[dict[str, object]]) -> None:
    assert len(cases) == 30
    assert len({c["id"] for c in cases}) == 30
    assert all(len(c["values"]) == 3 and str(c["question"]).endswith("?")  # type: ignore[arg-type]
               for c in cases)


def _store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder,
           cases: list[dict[str, object]], name: str) -> Iterator[Engram]:
    eg = Engram(str(tmp_path_factory.mktemp(name) / "c.db"), embedder=embedder)
    try:
        for c in cases:
            first, then, now = c["values"]  # type: ignore[misc]
            add_in_small_talk(eg, str(c["id"]), [CHAT_S13[0], ([first], 300), CHAT_S13[1],
                                                 ([then], 150), ([now], 20), CHAT_S13[2]],
                              id_prefix=f"{c['id']}:")
        yield eg
    finally:
        eg.close()


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from _store(tmp_path_factory, embedder, DEV, "chains35")


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    yield from _store(tmp_path_factory, embedder, HELD, "chains35h")


def _missed(eg: Engram, cases: list[dict[str, object]]) -> list[str]:
    missed = []
    for c in cases:
        cid = str(c["id"])
        hits = eg.search(str(c["question"]), user_id=cid, now=NOW, limit=20,
                         track_access=False)
        first, then, now = (rank_of(hits, f"{cid}:{n}:2") for n in (1, 3, 4))
        if not (now < then and now < first and now < 10):
            missed.append(cid)
    return missed


def test_the_newest_value_ranks_above_both_older_ones(dev: Engram) -> None:
    missed = _missed(dev, DEV)
    assert missed == MISSED, f"{len(DEV) - len(missed)}/30; missed {missed}"


def test_the_newest_held_value_ranks_above_both_older_ones(held: Engram) -> None:
    missed = _missed(held, HELD)
    assert missed == HELD_MISSED, f"{len(HELD) - len(missed)}/30; missed {missed}"
