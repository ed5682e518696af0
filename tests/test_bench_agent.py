"""``engram bench agent``: the simulated environment is deterministic and fair to every
policy, and the command runs end to end on a tiny size (figures are the benchmark's job)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from engram.agents.procedures import abstract
from engram.bench.agent import FAMILIES, STRATEGIES, attempt, make_tasks, works
from engram.bench.cli import bench


def test_the_environment_is_deterministic_and_drifts_half_way() -> None:
    tasks = make_tasks(40, seed=3)
    assert [t.text for t in tasks] == [t.text for t in make_tasks(40, seed=3)]
    assert [works(t, s, 3) for t in tasks for s in STRATEGIES] == \
        [works(t, s, 3) for t in tasks for s in STRATEGIES]
    drifting = [f for f in FAMILIES if f.later_fix]
    assert drifting and all(f.fix_at(0, 40) == f.fix and f.fix_at(20, 40) == f.later_fix
                            for f in drifting)
    # instances of one family share one template: strategies transfer between them
    by_family: dict[str, set[str]] = {}
    for t in tasks:
        by_family.setdefault(t.family.name, set()).add(abstract(t.text))
        by_family.setdefault(t.family.name + "/steps", set()).add(
            " | ".join(abstract(x) for x in t.steps(t.family.fix)))
    assert all(len(v) == 1 for v in by_family.values())


def test_attempt_tries_preferred_first_and_at_most_three() -> None:
    task = make_tasks(1, seed=1)[0]
    out = attempt(task, 1, [task.fix])
    assert out.tried[0] == task.fix and len(out.tried) <= 3
    assert out.steps == sum(len(STRATEGIES[s]) for s in out.tried)


def test_bench_agent_command_writes_a_report(tmp_path: Path) -> None:
    out = tmp_path / "agent.json"
    result = CliRunner().invoke(bench, ["agent", "--tasks", "12", "--seeds", "1", "--block", "6",
                                        "--out", str(out), "--no-chart"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert [r["policy"] for r in report["results"]] == ["none", "episodes", "procedures"]
    for r in report["results"]:
        assert 0 <= r["success_rate"] <= 1 and len(r["curve_success"]) == 2
    assert "procedures" in result.output and "success" in result.output


def test_bench_agent_refuses_bad_options(tmp_path: Path) -> None:
    for args in (["--policies", "oracle"], ["--seeds", "x"], ["--tasks", "0"]):
        result = CliRunner().invoke(bench, ["agent", *args, "--out", str(tmp_path / "a.json")])
        assert result.exit_code == 2 and "Traceback" not in result.output


def test_the_learning_curve_chart_is_a_png(tmp_path: Path) -> None:
    from engram.bench.agent import AgentReport, PolicyResult, write_agent_chart

    report = AgentReport(tasks=4, seeds=[1], block=2, results=[PolicyResult(
        "none", 4, 0.5, 6.0, [0.5, 0.5], [6.0, 6.0], 0, 0.1)])
    png = write_agent_chart(report, tmp_path / "c" / "agent.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
