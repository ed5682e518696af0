"""Relevance judged by a reader beside the labels (``engram.bench.judged``, ``--judged``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from engram.bench.cli import bench
from engram.bench.dataset import BenchDataset, Conversation, DatasetError, Question
from engram.bench.judged import Judgment, judged_any, load_judgments, unjudged
from engram.bench.results import BenchReport, IngestStats, MethodQuestionResult, QuestionResult
from engram.bench.suite import part_figures

DATA = Path(__file__).parent / "fixtures" / "bench"
SHIPPED = Path(__file__).parent.parent / "tools" / "judged"


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _row(q: str = "q1", judged: tuple[str, ...] = ("a", "b"), relevant: tuple[str, ...] = ("b",),
         set_: str = "realtalk") -> dict[str, object]:
    return {"set": set_, "question": q, "judged": list(judged), "relevant": list(relevant)}


def test_judgments_load_from_a_file_or_a_folder_and_keep_extra_fields(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl", [_row("q1"), {**_row("q2", ("c",), ()), "pool": "dev"}])
    _write(tmp_path / "b.jsonl", [_row("q1", set_="locomo")])
    (tmp_path / "notes.txt").write_text("not read")
    got = load_judgments(tmp_path)
    assert set(got) == {("realtalk", "q1"), ("realtalk", "q2"), ("locomo", "q1")}
    assert got["realtalk", "q1"] == Judgment(frozenset({"a", "b"}), frozenset({"b"}))
    assert got["realtalk", "q2"].relevant == frozenset()
    assert load_judgments(tmp_path / "b.jsonl") == {("locomo", "q1"): got["locomo", "q1"]}


@pytest.mark.parametrize(("line", "says"), [
    ("{not json", "a.jsonl:2: not JSON"),
    ("[1, 2]", "must be a JSON object"),
    (json.dumps({"set": "realtalk", "judged": [], "relevant": []}), "'set' and 'question'"),
    (json.dumps(_row("q9", judged=("a",), relevant=("z",))), "not judged: z"),
    (json.dumps({**_row("q9"), "judged": "a b"}), "'judged' must be a list of turn ids"),
    (json.dumps({**_row("q9"), "relevant": [""]}), "'relevant' must be a list"),
    (json.dumps(_row("q1")), "judged twice"),
])
def test_a_bad_judgment_names_its_file_and_line(tmp_path: Path, line: str, says: str) -> None:
    (tmp_path / "a.jsonl").write_text(json.dumps(_row("q1")) + "\n" + line + "\n")
    with pytest.raises(DatasetError, match=says):
        load_judgments(tmp_path / "a.jsonl")


def test_a_folder_without_judgments_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no \\*.jsonl"):
        load_judgments(tmp_path)


def test_judged_turns_count_beside_the_labels_within_the_first_k_distinct_units() -> None:
    j = Judgment(frozenset({"x", "y", "z"}), frozenset({"y"}))
    ranked = [["x"], ["x", "y"], ["w"]]  # a memory of x and y: y is the second unit
    assert judged_any(ranked, ["gold"], None) == 0.0
    assert judged_any(ranked, ["gold"], j) == 1.0
    assert judged_any(ranked, ["gold"], j, k=1) == 0.0
    assert judged_any([["gold"]], ["gold"], None) == 1.0  # the labels alone still count
    assert judged_any([["x"]] * 3, [], j) == 0.0  # judged, not relevant
    # units neither labelled nor judged: w (and y's duplicate x is one unit)
    assert unjudged(ranked, ["gold"], j) == 1
    assert unjudged(ranked, ["w"], j) == 0
    assert unjudged(ranked, [], None) == 3


def test_part_figures_give_r_any_with_judged_turns_over_the_same_questions() -> None:
    asked = datetime.now(UTC)
    qs = [Question(f"q{i}", "c", "?", "x", "1", ev, (), asked)
          for i, ev in enumerate([("a",), ("b",), ("c",), ()])]
    part = BenchDataset("realtalk", "p", "s", [Conversation("c", (), tuple(qs))])
    got = {"q0": [["a"]], "q1": [["m"]], "q2": [["n"], ["o"]], "q3": [["m"]]}
    rows = []
    for q in qs:
        turn = {"recall_any@10": float(q.evidence_turns[0] in got[q.id][0]),
                "recall_all@10": 0.0, "mrr": 0.0} if q.evidence_turns else None
        mr = MethodQuestionResult(retrieved=got[q.id], latency_ms=1.0, turn=turn)
        rows.append(QuestionResult(q.id, "c", "1", "?", "x", True, False,
                                   list(q.evidence_turns), [], {"recall": mr}))
    report = BenchReport("realtalk", "p", "s", {}, {}, "", {}, {}, IngestStats(0.0, 1, 0, 0, 0.0),
                         [], rows, None)
    plain = part_figures(report, part, "recall")
    assert plain.r_any10 == pytest.approx(1 / 3)
    assert plain.r_any10_judged is None and plain.judged_questions == 0
    judged = {"q1": Judgment(frozenset({"m"}), frozenset({"m"})),
              "q2": Judgment(frozenset({"n"}), frozenset()),
              "q3": Judgment(frozenset({"m"}), frozenset({"m"}))}  # no evidence: not scored
    f = part_figures(report, part, "recall", judged)
    assert f.r_any10 == plain.r_any10  # the labels' figure does not move
    assert f.r_any10_judged == pytest.approx(2 / 3)
    assert f.judged_questions == 2
    assert f.unjudged10 == pytest.approx(1 / 2)  # "o" of q2, over the judged q1 and q2


def test_bench_all_prints_the_judged_figure_and_bad_judgments_change_nothing(
        tmp_path: Path) -> None:
    good = _write(tmp_path / "j.jsonl", [
        _row("Chat_1_Ana_Ben/q1", judged=("D1:1", "D1:3"), relevant=("D1:1",))])
    out = tmp_path / "out"
    args = ["all", "--data-dir", str(DATA), "--sets", "realtalk", "--baselines", "bm25",
            "--no-coverage", "--out", str(out), "-q"]
    res = CliRunner().invoke(bench, [*args, "--judged", str(good)])
    assert res.exit_code == 0, res.output
    assert "realtalk dev recall: R_any@10" in res.output or "realtalk held recall: R_any@10" \
        in res.output
    assert "with judged turns (1 of 4 questions judged" in res.output
    (path,) = out.glob("all-*.json")
    report = json.loads(path.read_text())
    assert report["config"]["judged"] is True
    figs = [f for part in report["sets"][0]["figures"].values() for f in part.values()]
    assert any(f["judged_questions"] == 1 for f in figs)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{nope\n")
    res = CliRunner().invoke(bench, [*args, "--out", str(tmp_path / "out2"), "--judged", str(bad)])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [f"error: {bad}:1: not JSON (Expecting property "
                                               f"name enclosed in double quotes)"]
    assert not (tmp_path / "out2").exists()
    res = CliRunner().invoke(bench, [*args, "--judged", str(tmp_path / "none.jsonl")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    assert "cannot read judgments" in res.output


def test_the_shipped_judgments_load_and_judge_the_three_chat_sets() -> None:
    got = load_judgments(SHIPPED)
    assert {s for s, _ in got} == {"beam", "locomo", "realtalk"}
    assert len(got) >= 250 and sum(bool(j.relevant) for j in got.values()) >= 150


def test_evidence_in_a_block_counts_judged_turns_the_block_holds() -> None:
    asked = datetime.now(UTC)
    qs = [Question(f"q{i}", "c", "?", "x", "1", ("gold",), (), asked) for i in range(3)]
    part = BenchDataset("realtalk", "p", "s", [Conversation("c", (), tuple(qs))])
    blocks = {"q0": ["gold", "m"], "q1": ["m", "n"], "q2": ["n"]}
    rows = []
    for q in qs:
        mr = MethodQuestionResult(
            retrieved=[[u] for u in blocks[q.id]], latency_ms=1.0,
            turn={"recall_any@10": float(q.id == "q0"), "recall_all@10": 0.0, "mrr": 0.0},
            evidence_in_context={1024: q.id == "q0"}, context_units={1024: blocks[q.id]})
        rows.append(QuestionResult(q.id, "c", "1", "?", "x", True, False, ["gold"], [],
                                   {"recall": mr}))
    report = BenchReport("realtalk", "p", "s", {}, {}, "", {}, {}, IngestStats(0.0, 1, 0, 0, 0.0),
                         [], rows, None)
    judged = {"q1": Judgment(frozenset({"m", "n"}), frozenset({"m"})),
              "q2": Judgment(frozenset({"n"}), frozenset())}
    f = part_figures(report, part, "recall", judged)
    assert f.evidence_at_1024 == pytest.approx(1 / 3)
    assert f.evidence_at_1024_judged == pytest.approx(2 / 3)
    assert part_figures(report, part, "recall").evidence_at_1024_judged is None
