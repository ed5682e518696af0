"""Knowledge updates: a later change should outrank the stale fact it replaced.

``tests/fixtures/knowledge_updates.jsonl``: 20 hand-written cases, each an old
statement (200 days before the question) and a later change (20 days before),
each inside a short session of small talk, and a question about the present.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.labelled import NOW, add_in_small_talk, load_cases

from engram import Engram
from engram.embed.base import Embedder
from engram.models import Hit

CASES = load_cases("knowledge_updates.jsonl")


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    engine = Engram(str(tmp_path_factory.mktemp("ku") / "ku.db"), embedder=embedder)
    for case in CASES:
        add_in_small_talk(engine, case["id"], [([case["old"]], 200), ([case["new"]], 20)],
                          id_prefix=f"{case['id']}:")
    yield engine
    engine.close()


def _first(hits: list[Hit], episode_id: str) -> int:
    for rank, h in enumerate(hits):
        if h.item.id == episode_id or episode_id in getattr(h.item, "source_episode_ids", []):
            return rank
    return len(hits)


def newer_first(eg: Engram, preset: str) -> int:
    wins = 0
    for case in CASES:
        hits = eg.search(case["question"], user_id=case["id"], preset=preset, now=NOW,
                         limit=20, track_access=False)
        wins += _first(hits, f"{case['id']}:1:2") < _first(hits, f"{case['id']}:0:2")
    return wins


def test_fixture_is_well_formed() -> None:
    assert len(CASES) == 20
    assert len({c["id"] for c in CASES}) == 20
    assert all(set(c) == {"id", "old", "new", "question"} for c in CASES)


def test_the_later_change_outranks_the_stale_fact(eg: Engram) -> None:
    recall = newer_first(eg, "recall")
    hybrid = newer_first(eg, "hybrid")
    assert recall == 20, f"recall preset puts the change first in {recall}/20"
    assert recall > hybrid
