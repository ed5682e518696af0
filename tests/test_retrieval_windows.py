"""Neighbour windows, speaker boost and the recall preset, on a real engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.models import ItemRef
from engram.retrieval.config import RetrievalConfig, get_preset
from engram.retrieval.windows import spread
from engram.store.base import Candidate, Neighbour

T0 = datetime(2023, 5, 8, 13, 0, tzinfo=UTC)
BM25 = RetrievalConfig("bm25-only", weights={"bm25": 1.0})
WINDOWED = BM25.replace(name="bm25-window", window_radius=1, window_weights={"bm25": 1.0})


def ep(i: str) -> ItemRef:
    return ItemRef("episode", i)


def test_spread_adds_neighbours_with_decay() -> None:
    cands = [Candidate(ep("a"), 4.0), Candidate(ep("b"), 2.0), Candidate(ep("z"), 0.0)]
    nb = {"a": [Neighbour("x", -1), Neighbour("b", 1), Neighbour("y", 2)]}
    out = {c.ref.id: c.score for c in spread(cands, nb, weight=1.0, decay=0.5)}
    assert out["a"] == pytest.approx(1.0)  # normalised, has no scored neighbour listed
    assert out["b"] == pytest.approx(0.5 + 0.5)  # own 0.5 + 0.5 * a
    assert out["x"] == pytest.approx(0.5)
    assert out["y"] == pytest.approx(0.25)
    assert out["z"] == 0.0


def test_spread_without_weight_keeps_the_order() -> None:
    cands = [Candidate(ep("a"), 3.0), Candidate(ep("b"), 1.0)]
    out = spread(cands, {"a": [Neighbour("x", 1)]}, weight=0.0, decay=0.5)
    assert [c.ref.id for c in out] == ["a", "b"]


@pytest.fixture
def eg(tmp_path: Path, embedder: Embedder) -> Iterator[Engram]:
    engine = Engram(str(tmp_path / "w.db"), embedder=embedder)
    talk = [
        ("Caroline", "I went to the LGBTQ support group yesterday."),
        ("Melanie", "Wow, how did that go?"),
        ("Caroline", "It was so powerful, I felt accepted."),
        ("Melanie", "I painted a lake sunset last week."),
        ("Caroline", "I love painting sunsets too."),
        ("Melanie", "We should paint together."),
    ]
    engine.add(
        [
            {"text": t, "speaker": s, "role": "user", "occurred_at": T0 + timedelta(seconds=i),
             "id": f"t{i}"}
            for i, (s, t) in enumerate(talk)
        ],
        user_id="u", session_id="s1",
    )
    engine.add(
        [{"text": "Another support group meeting is planned.", "speaker": "Caroline",
          "role": "user", "occurred_at": T0 + timedelta(days=30), "id": "later"}],
        user_id="u", session_id="s2",
    )
    yield engine
    engine.close()


def _ids(engine: Engram, query: str, config: RetrievalConfig, **kw: object) -> list[str]:
    hits = engine.search(query, user_id="u", preset=config, limit=10, track_access=False,
                         **kw)  # type: ignore[arg-type]
    return [h.item.id for h in hits]


def test_window_finds_a_reply_that_shares_no_word(eg: Engram) -> None:
    q = "support group"
    assert "t1" not in _ids(eg, q, BM25)
    got = _ids(eg, q, WINDOWED)
    assert "t1" in got and got.index("t0") < got.index("t1")


def test_window_neighbours_respect_filters(eg: Engram) -> None:
    got = _ids(eg, "support group", WINDOWED, start=T0 + timedelta(days=1))
    assert got == ["later"]


def test_window_never_crosses_sessions(eg: Engram) -> None:
    cfg = WINDOWED.replace(name="r3", window_radius=3)
    hits = eg.search("meeting planned", user_id="u", preset=cfg, limit=10, track_access=False)
    assert [h.item.id for h in hits] == ["later"]


def test_speaker_named_in_the_query_is_boosted(eg: Engram) -> None:
    cfg = BM25.replace(name="spk", fusion="score", speaker_boost=0.5)
    plain = _ids(eg, "Who likes painting sunsets?", BM25, kinds=["episode"])
    boosted = _ids(eg, "Does Melanie like painting sunsets?", cfg, kinds=["episode"])
    assert plain[0] == "t4"
    assert boosted[0] == "t3"  # Melanie's turn on the same topic goes first


def test_recall_preset_runs_and_explains_its_scores(eg: Engram) -> None:
    hits = eg.search("How did Caroline feel at the support group?", user_id="u",
                     preset="recall", track_access=False)
    ids = [h.item.id for h in hits]
    assert "t0" in ids[:3] and "t2" in ids[:5]
    assert all("bm25_part" in h.scores or "dense_part" in h.scores for h in hits)
    assert get_preset("recall").window_radius > 0
