"""`engram bench` commands: help, a real run on the fixture, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from engram.bench.cli import bench

FIXTURE = Path(__file__).parent / "fixtures" / "longmemeval_small.json"


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(bench, ["--help"])
    assert result.exit_code == 0
    assert "locomo" in result.output and "longmemeval" in result.output
    for cmd in ("locomo", "longmemeval"):
        sub = CliRunner().invoke(bench, [cmd, "--help"])
        assert sub.exit_code == 0
        assert "--preset" in sub.output and "--data" in sub.output and "--llm" in sub.output


def test_longmemeval_run_writes_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        bench,
        [
            "longmemeval",
            "--data",
            str(FIXTURE),
            "--limit",
            "3",
            "--preset",
            "hybrid",
            "--budgets",
            "256",
            "--no-chart",
            "--quiet",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Headlines" in result.output
    (report,) = tmp_path.glob("longmemeval-*.json")
    data = json.loads(report.read_text())
    assert data["counts"]["questions"] == 3
    assert data["config"]["budgets"] == [256]


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(bench, ["longmemeval", "--data", str(tmp_path / "nope.json"), "-q"])
    assert missing.exit_code == 2
    assert missing.output.strip().startswith("error:")
    assert "Traceback" not in missing.output

    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "locomo"}')
    r = runner.invoke(bench, ["locomo", "--data", str(bad), "-q", "--out", str(tmp_path)])
    assert r.exit_code == 2 and r.output.startswith("error:")

    r = runner.invoke(bench, ["longmemeval", "--data", str(FIXTURE), "--budgets", "x", "-q"])
    assert r.exit_code == 2

    r = runner.invoke(bench, ["longmemeval", "--data", str(FIXTURE), "--preset", "nope", "-q"])
    assert r.exit_code != 0 and "nope" in r.output and "Traceback" not in r.output

    r = runner.invoke(bench, ["longmemeval", "--data", str(FIXTURE), "--llm", "-q"])
    assert r.exit_code == 2 and "--llm-base-url" in r.output
