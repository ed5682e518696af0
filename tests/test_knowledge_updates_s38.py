"""Knowledge updates between two people chatting, asked about one of them by name
(session 38).

Every earlier update case set is one user telling an assistant about themselves and
asks about "the user". Real chats (LoCoMo, REALTALK) are two people, and questions name
the one they ask about ("What does Caroline drive now?"). Each case here holds a named
``speaker`` and the ``other`` they chat with, the speaker's old statement (200 days before
the question) and new one (20 days before), each in a session of small talk said by both
(:func:`support.labelled.add_update_cases` with ``named``), and a question about the
speaker by name, half of them with no time word. Each set was written from general
knowledge by a writer who read no rule of :mod:`engram.retrieval` or
:mod:`engram.ingest`, avoiding the subjects of every earlier case set:

- ``knowledge_updates_s38_named.jsonl`` (development): 45 of 50 when first run; 47 once a
  correction is read as about the older statement whatever the question names ("I'm in
  Kona, not Hilo" for "Which town on the Big Island ...?": :attr:`~engram.retrieval.pairs.
  Pair.asks_older`), and a value added is read in the sentence on the subject, not in a
  side note ("... put me on Symbicort. Also the car park charges there are criminal.").
- ``knowledge_updates_s38_named_held.jsonl`` (held, another writer): 39 of 50 before and
  after those two changes, measured once before them and once after.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.labelled import load_cases, newer_first_test, sets_fixture

from engram import Engram

#: each set, the cases the rules miss (the module docstring says what each holds)
SETS = {
    # a ward named with no marker of change ("First week on the maternity ward done!"),
    # days off told after a statement that itself said "now" (two narrations), a pizza
    # named far from the question ("nduja and hot honey every single time now"); since
    # session 52 (no bonus for being new) the jigsaw "Finished Starry Night! Started a
    # 3000-piece map of Venice", which shares no word with the question
    "dev": ("knowledge_updates_s38_named.jsonl",
            ["n38-farah-ward", "n38-catalina-jigsaw", "n38-minjun-daysoff",
             "n38-ingeborg-pizza"]),
    # measured at the start and the end of session 38 (module docstring); session 46's
    # reading of "most recent" as a current value gives "m38-femi-bp"
    # (session 53, the question also read without its names: 10 -> 9, not read)
    "held": ("knowledge_updates_s38_named_held.jsonl",
             ["m38-rosa-grandkids", "m38-arjun-home-server", "m38-wanjiru-channel",
              "m38-pablo-interrail", "m38-olga-scan", "m38-noor-sneakers",
              "m38-amara-nappies", "m38-jaewon-rank", "m38-thabo-rugby"]),
}
FIELDS = {"id", "speaker", "other", "old", "new", "question"}


@pytest.mark.parametrize("name", sorted(SETS))
def test_the_sets_are_well_formed(name: str) -> None:
    cases = load_cases(SETS[name][0])
    assert len(cases) == 50
    assert len({c["id"] for c in cases}) == 50
    for case in cases:
        assert set(case) == FIELDS, case["id"]
        assert case["speaker"] in case["question"], case["id"]
        assert case["speaker"] != case["other"], case["id"]


cases = sets_fixture(SETS, "ku38", named=True)
test_the_newer_statement_ranks_first = newer_first_test()


def test_each_statement_keeps_its_speaker(
        cases: tuple[Engram, list[dict[str, Any]], list[str]]) -> None:
    eg, loaded, _ = cases
    case = loaded[0]
    hits = eg.search(case["question"], user_id=case["id"], limit=20, track_access=False)
    said = {h.item.id: getattr(h.item, "speaker", None) for h in hits}
    assert said.get(f"{case['id']}:3:2") == case["speaker"]
