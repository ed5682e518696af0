"""Knowledge updates: a later change should outrank the stale fact it replaced.

``tests/fixtures/knowledge_updates.jsonl``: 20 hand-written cases, each an old
statement (200 days before the question) and a later change (20 days before),
each inside a short session of small talk, and a question about the present.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.models import Hit

FIXTURE = Path(__file__).parent / "fixtures" / "knowledge_updates.jsonl"
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
SMALL_TALK = ["How was your weekend?", "Pretty relaxed, I read a book.",
              "Nice, anything else new?", "Not much, work has been busy."]
CASES = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    engine = Engram(str(tmp_path_factory.mktemp("ku") / "ku.db"), embedder=embedder)
    for case in CASES:
        for n, (text, days_ago) in enumerate([(case["old"], 200), (case["new"], 20)]):
            t0 = NOW - timedelta(days=days_ago)
            turns = [*SMALL_TALK[:2], text, *SMALL_TALK[2:]]
            engine.add(
                [{"text": t, "role": "user", "occurred_at": t0 + timedelta(seconds=i),
                  "id": f"{case['id']}:{n}:{i}"} for i, t in enumerate(turns)],
                user_id=case["id"], session_id=f"s{n}",
            )
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
    assert recall >= 17, f"recall preset puts the change first in {recall}/20"
    assert recall > hybrid
