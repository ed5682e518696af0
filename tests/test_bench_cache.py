"""``engram bench cache``: the query stream and one small end-to-end run (figures are
measured by the command, not checked here beyond their shape and the no-stale rule)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner

from engram.bench.cache import query_stream, run_cache_bench
from engram.bench.cli import bench
from engram.bench.dataset import BenchDataset, Conversation, Question, Session, Turn

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def test_every_question_gets_its_variants_after_its_first_asking() -> None:
    qs = ["When did Anna move to Lisbon?", "What is Bob's favorite movie?",
          "How many dogs does Anna have, 2 or 3?"]
    stream = query_stream(qs, ["Anna", "Bob"], random.Random(1))
    kinds = {s.kind for s in stream}
    assert {"first", "repeat", "surface", "paraphrase", "near_miss", "topic_swap"} <= kinds
    seen: set[int] = set()
    for s in stream:
        if s.kind == "first":
            seen.add(s.question)
        else:
            assert s.question in seen
    near = {s.text for s in stream if s.kind == "near_miss"}
    assert "When did Bob move to Lisbon?" in near and "What is Anna's favorite movie?" in near
    assert any("favourite film" in s.text for s in stream if s.kind == "paraphrase")


def _dataset() -> BenchDataset:
    lines = ["I moved to Lisbon last spring.", "My dog Rex loves the beach.",
             "I started learning the cello in 2021.", "Bob prefers green tea to coffee."]
    turns = tuple(Turn(f"D1:{i}", "s1", "user", text, T0 + timedelta(minutes=i), "Anna")
                  for i, text in enumerate(lines, 1))
    asked = T0 + timedelta(days=1)
    questions = tuple(
        Question(f"q{i}", "c1", text, "", "1", (f"D1:{i}",), ("s1",), asked)
        for i, text in enumerate(["Where did Anna move?", "What is the name of Anna's dog?",
                                  "When did Anna start the cello?",
                                  "What does Bob prefer to drink?"], 1))
    conv = Conversation("c1", (Session("s1", T0, turns),), questions, ("Anna", "Bob"))
    return BenchDataset("tiny", "tiny.json", "0" * 64, [conv], [])


def test_a_small_run_measures_hits_and_serves_nothing_stale(embedder: Any) -> None:
    rep = run_cache_bench(_dataset(), embedder, [0.9, 0.97], writes=4)
    names = [p["policy"] for p in rep.policies]
    assert names == ["default", "all>=0.9", "all>=0.97", "exact"]
    for p in rep.policies:
        assert p["by_kind"]["first"]["hit_rate"] == 0.0  # nothing cached yet
        assert p["by_kind"]["repeat"]["hit_rate"] == 1.0
        assert p["by_kind"]["near_miss"]["wrong"] == 0
    assert rep.stale["after_write"] == 0 and rep.stale["stale"] == 0
    assert rep.fresh_ms["mean"] > 0 and rep.cached_ms["mean"] > 0


def test_the_command_rejects_bad_thresholds() -> None:
    out = CliRunner().invoke(bench, ["cache", "--thresholds", "high"])
    assert out.exit_code == 2 and "thresholds" in out.output
