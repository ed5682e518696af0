"""``engram bench ingest`` on a few turns: the report is complete and consistent
(it measures; nothing here checks a timing)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from engram.bench.ingest import format_table, run_all
from engram.cli import cli
from engram.embed.base import Embedder

T = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def _sessions() -> list[tuple[str, str, list[dict[str, object]]]]:
    texts = ["Hey Mel! I went to a support group yesterday.",
             "That's great, Caroline! How did it feel?",
             "I moved to Lisbon last year, and I love it."]
    msgs = [{"id": f"c:{i}", "text": t, "role": "user", "speaker": "Caroline",
             "occurred_at": T} for i, t in enumerate(texts)]
    return [("bench:c", "s1", msgs[:2]), ("bench:c", "s2", msgs[2:])]


def test_inline_and_queued_runs_report_the_same_vectors(
    tmp_path: Path, embedder: Embedder
) -> None:
    runs = run_all(_sessions(), embedder, ["inline", "queued"], ["session", "message"], tmp_path)
    assert [(r.mode, r.per) for r in runs] == [
        ("inline", "session"), ("queued", "session"), ("inline", "message"),
        ("queued", "message")]
    for r in runs:
        assert r.turns == 3 and r.adds == (2 if r.per == "session" else 3)
        assert r.add_ms_p50 <= r.add_ms_p95 <= r.add_ms_max
    inline, queued = runs[0], runs[1]
    assert inline.delay_p50 is None and inline.min_cosine is None
    assert queued.delay_p50 is not None and queued.delay_max is not None
    assert queued.min_cosine is not None and queued.min_cosine >= 0.999
    table = format_table(runs).splitlines()
    assert max(len(line) for line in table) <= 80
    assert sum(line.startswith("queued") for line in table) == 4  # two per table


def test_bad_options_are_one_line_errors() -> None:
    res = CliRunner().invoke(cli, ["bench", "ingest", "--modes", "fast"])
    assert res.exit_code == 2 and "--modes" in res.output
    res = CliRunner().invoke(cli, ["bench", "ingest", "--rate", "-1"])
    assert res.exit_code == 2 and "--rate" in res.output


def test_a_paced_run_offers_every_turn(tmp_path: Path, embedder: Embedder) -> None:
    (run,) = run_all(_sessions(), embedder, ["queued"], ["message"], tmp_path, rate=200.0)
    assert run.turns == run.adds == 3 and run.delay_max is not None
