"""``engram bench prefs``: the scoring of drift following and the command on tiny sizes."""

from __future__ import annotations

import json
import random
from pathlib import Path

from click.testing import CliRunner

from engram.bench.prefs import make_stream, score


def test_score_counts_lag_until_the_stance_follows_and_stays() -> None:
    truth = [1, 1, 1, -1, -1, -1, -1, -1]
    follows = [1, 1, 1, 1, -1, 1, -1, -1]   # back once: it only stays from turn 6
    s = score([(truth, follows)])
    assert s.lag_median == 3.0 and s.accuracy == 0.75
    assert s.false_flips_per_100 == 12.5  # one flip to the wrong stance in 8 turns
    never = score([(truth, [1] * 8)])
    assert never.lag_median == 5.0 and never.false_flips_per_100 == 0.0


def test_streams_are_deterministic_and_change_where_told() -> None:
    a = make_stream(random.Random(3), "tea", 30, 2, 0.1)
    b = make_stream(random.Random(3), "tea", 30, 2, 0.1)
    assert a == b and len(a.said) == 30
    assert sum(a.truth[i] != a.truth[i - 1] for i in range(1, 30)) == 2
    assert all("tea" in s.lower() for s in a.said)


def test_command_on_tiny_sizes(tmp_path: Path) -> None:
    from engram.bench.cli import bench

    out = tmp_path / "prefs.json"
    result = CliRunner().invoke(bench, ["prefs", "--topics", "2", "--turns", "14",
                                        "--changes", "1", "--personas", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "tracked" in result.output and "form filling" in result.output
    report = json.loads(out.read_text())
    assert set(report["policies"]) >= {"tracked", "last", "mean", "ema", "sustain=2"}
    assert report["policies"]["tracked"] == report["policies"]["sustain=2"]
    assert report["form"]["citations_valid"] == 1.0
    bad = CliRunner().invoke(bench, ["prefs", "--noise", "0.9"])
    assert bad.exit_code == 2
