"""The four data sets' loaders, the held-apart split and ``engram bench all``.

Fixtures: ``tests/fixtures/bench/`` holds one small file set per layout
(REALTALK ``Chat_*.json``, BEAM ``100K/1`` and ``500K/1`` with all ten question
types, letta core-memory read and update JSON lines), written by hand in the
published layouts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from engram.bench.beam import QUESTION_TYPES, load_beam, parse_beam_anchor
from engram.bench.cli import bench
from engram.bench.dataset import BenchDataset, Conversation, DatasetError, Question, held_apart
from engram.bench.letta import load_letta_read, load_letta_update
from engram.bench.realtalk import expand_ranges, load_realtalk, parse_realtalk_datetime
from engram.bench.suite import part_figures, update_correct

DATA = Path(__file__).parent / "fixtures" / "bench"


# --------------------------------------------------------------------------- REALTALK


def test_realtalk_ranges_expand_and_unknown_ids_are_counted() -> None:
    ds = load_realtalk(DATA / "realtalk")
    assert ds.benchmark == "realtalk"
    (chat,) = ds.conversations
    assert chat.id == "Chat_1_Ana_Ben"
    assert chat.speakers == ("Ana", "Ben")
    q = {x.text: x for x in chat.questions}
    assert q["What sports does Ben do?"].evidence_turns == ("D1:2", "D2:1", "D2:2", "D2:3")
    assert q["Where does Ana live?"].evidence_turns == ("D1:4", "D1:5")
    assert q["When did Ben sign up for the marathon?"].evidence_turns == ("D2:1", "D2:3")
    assert q["What did Ana bake?"].evidence_turns == ("D1:3",)
    assert ds.skipped == 1  # D1:9 does not exist
    assert [i.raw for i in ds.evidence_issues if i.action == "skipped"] == ["D1:9"]
    assert ds.repaired == 1  # "D2:1; D2:3" split
    turns = {t.id: t for t in chat.turns}
    assert turns["D1:3"].text.endswith("[image: a loaf of bread on a wooden board]")
    assert turns["D1:2"].occurred_at == datetime(2024, 1, 3, 18, 5, 44, tzinfo=UTC)
    assert all(x.asked_at > turns["D2:3"].occurred_at for x in chat.questions)


def test_realtalk_helpers() -> None:
    assert expand_ranges(["D3:2-D3:4", "D1:1"]) == ["D3:2", "D3:3", "D3:4", "D1:1"]
    assert expand_ranges("D12:3-5") == ["D12:3", "D12:4", "D12:5"]
    assert expand_ranges(["D3:9-D4:2"]) == ["D3:9-D4:2"]  # across sessions: left to repair
    assert parse_realtalk_datetime("29.12.2023, 22:42:04") == datetime(
        2023, 12, 29, 22, 42, 4, tzinfo=UTC
    )
    with pytest.raises(DatasetError):
        parse_realtalk_datetime("2023-12-29")
    with pytest.raises(DatasetError):
        load_realtalk(DATA / "nowhere")


# --------------------------------------------------------------------------- BEAM


def test_beam_reads_both_sizes_all_types_and_update_roles() -> None:
    ds = load_beam(DATA / "beam")
    assert [c.id for c in ds.conversations] == ["100K/1", "500K/1"]
    assert [c.id for c in load_beam(DATA / "beam", ("100K",)).conversations] == ["100K/1"]
    conv = ds.conversations[0]
    assert {q.category for q in conv.questions} == set(QUESTION_TYPES)
    by = {q.category: q for q in conv.questions}
    ku = by["knowledge_update"]
    assert ku.evidence_turns == ("8",) and ku.stale_turns == ("2",)
    assert by["summarization"].evidence_turns == ("0", "1", "8", "10")
    assert not by["abstention"].scored and by["abstention"].abstention
    assert by["abstention"].answer.startswith("There is no information")
    assert by["multi_session_reasoning"].evidence_turns == ("5", "10")  # nested list
    assert by["temporal_reasoning"].evidence_turns == ("0", "8")
    assert by["contradiction_resolution"].evidence_turns == ("10", "11")
    assert all(q.evidence_turns for q in conv.questions if q.scored)
    assert ds.skipped == 2  # message 999, once per chat
    turns = {t.id: t for t in conv.turns}
    assert turns["1"].role == "assistant" and turns["1"].speaker == "assistant"
    assert turns["0"].occurred_at == parse_beam_anchor("March-15-2024")
    assert turns["3"].occurred_at < turns["4"].occurred_at == parse_beam_anchor("April-05-2024")
    assert len(conv.sessions) == 6


def test_beam_an_update_whose_original_is_the_update_itself_is_not_scored_as_one(
    tmp_path: Path,
) -> None:
    import shutil

    root = tmp_path / "beam"
    shutil.copytree(DATA / "beam", root)
    qfile = root / "100K" / "1" / "probing_questions" / "probing_questions.json"
    probing = json.loads(qfile.read_text())
    probing["knowledge_update"].append({
        "question": "How many days a week do I work remotely?", "answer": "Three",
        "source_chat_ids": {"original_info": [8], "updated_info": [8]}})
    probing["knowledge_update"].append({
        "question": "What is the dashboard's response time now?", "answer": "250ms",
        "source_chat_ids": {"original_info": [2, 8], "updated_info": [8]}})
    qfile.write_text(json.dumps(probing))
    conv = load_beam(root, ("100K",)).conversations[0]
    first, same, partly = [q for q in conv.questions if q.category == "knowledge_update"]
    assert first.stale_turns == ("2",)
    # evidence kept for recall; no original left to rank below it: not an update question
    assert same.evidence_turns == ("8",) and same.stale_turns == ()
    assert update_correct(same, [["8"]]) is None
    assert partly.stale_turns == ("2",)  # judged on the original that differs
    ds = load_beam(root, ("100K",))
    assert [i.reason for i in ds.evidence_issues if i.raw == "8"] == [
        "original_info is updated_info"] * 2


# --------------------------------------------------------------------------- letta


def test_letta_update_puts_the_contradicting_fact_later_and_names_the_stale_one() -> None:
    ds = load_letta_update(DATA / "letta")
    assert len(ds.conversations) == 3
    conv = ds.conversations[0]
    (q,) = conv.questions
    facts, later = conv.sessions
    assert later.turns[0].id == "new" and later.turns[0].occurred_at > facts.turns[-1].occurred_at
    assert later.turns[0].text.startswith("Tobin Reyes and Ilse Varga")  # quotes stripped
    assert q.evidence_turns == ("new",) and q.stale_turns == ("f3",) and q.update_within == 1
    assert q.answer == "Tobin Reyes"
    # questions over the same facts share a group (one side of the split)
    assert conv.group == ds.conversations[1].group != ds.conversations[2].group


def test_letta_read_takes_the_gold_fact_from_the_update_file() -> None:
    ds = load_letta_read(DATA / "letta")
    assert [len(c.questions) for c in ds.conversations] == [2, 1]
    assert [q.evidence_turns for q in ds.questions] == [("f3",), ("f1",), ("f3",)]
    assert ds.skipped == 0


# --------------------------------------------------------------------------- split, metric


def _conv(cid: str) -> Conversation:
    return Conversation(cid, (), ())


def test_held_apart_is_deterministic_one_in_five_and_shared_by_read_and_update() -> None:
    groups = [f"g{i}" for i in range(50)]
    held = held_apart("letta", groups)
    assert len(held) == 10 and held == held_apart("letta", list(reversed(groups)))
    assert len(held_apart("realtalk", ["a", "b", "c"])) == 1  # at least one
    assert held_apart("realtalk", ["a"]) == set()  # a lone conversation stays dev
    read, update = load_letta_read(DATA / "letta"), load_letta_update(DATA / "letta")
    read_held = {c.id for c in read.part("held").conversations}
    assert read_held == {c.group for c in update.part("held").conversations}
    ds = BenchDataset("locomo", "x", "0", [_conv(f"c{i}") for i in range(7)])
    dev, kept = ds.part("dev"), ds.part("held")
    assert len(kept.conversations) == 1 and len(dev.conversations) == 6


def test_update_correct() -> None:
    q = Question("q", "c", "?", "", "u", ("new",), (), datetime.now(UTC), stale_turns=("old",),
                 update_within=1)
    assert update_correct(q, [["new"], ["old"]]) is True
    assert update_correct(q, [["old"], ["new"]]) is False
    assert update_correct(q, [["x"], ["new"]]) is False  # not the top hit
    assert update_correct(q, [["new"]]) is True  # the original not retrieved at all
    beam = Question("b", "c", "?", "", "u", ("8",), (), datetime.now(UTC), stale_turns=("2",))
    others = [[f"x{i}"] for i in range(10)]
    assert update_correct(beam, others[:3] + [["8"], ["2"]]) is True
    assert update_correct(beam, [["2"], ["8"]]) is False  # the original ranks first
    assert update_correct(beam, others + [["8"]]) is False  # not in the top 10
    plain = Question("p", "c", "?", "", "1", ("a",), (), datetime.now(UTC))
    assert update_correct(plain, [["a"]]) is None


def test_evidence_in_context_counts_only_questions_with_gold_evidence() -> None:
    """A question whose evidence ids all name no turn is no context miss (as for R_any@10)."""
    from engram.bench.results import BenchReport, IngestStats, MethodQuestionResult, QuestionResult

    asked = datetime.now(UTC)
    qs = [Question(f"q{i}", "c", "?", "x", "1", ev, (), asked) for i, ev in
          enumerate([("a",), ("b",), ()])]
    conv = Conversation("c", (), tuple(qs))
    part = BenchDataset("realtalk", "p", "s", [conv])
    rows = []
    for q, hit in zip(qs, (True, False, False), strict=True):
        mr = MethodQuestionResult(retrieved=[], latency_ms=1.0, evidence_in_context={1024: hit})
        rows.append(QuestionResult(q.id, "c", "1", "?", "x", True, False,
                                   list(q.evidence_turns), [], {"recall": mr}))
    report = BenchReport("realtalk", "p", "s", {}, {}, "", {}, {}, IngestStats(0.0, 1, 0, 0, 0.0),
                         [], rows, None)
    assert part_figures(report, part, "recall").evidence_at_1024 == 0.5


# --------------------------------------------------------------------------- the command


def test_bench_all_runs_every_set_with_baselines_and_writes_one_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(
        bench,
        ["all", "--data-dir", str(DATA), "--sets", "realtalk,beam,letta_read,letta_update",
         "--beam-500k", "--out", str(out), "-q"],
    )
    assert res.exit_code == 0, res.output
    assert "| realtalk | dev | recall |" in res.output
    assert "| letta_update | held | dense |" in res.output
    assert "beam dev recall R_any@10 by type:" in res.output
    assert "beam dev recall evidence@1024 by type:" in res.output
    (path,) = out.glob("all-*.json")
    report = json.loads(path.read_text())
    sets = {s["name"]: s for s in report["sets"]}
    assert set(sets) == {"realtalk", "beam", "letta_read", "letta_update"}
    upd = sets["letta_update"]["figures"]
    assert {m for part in upd.values() for m in part} == {"recall", "bm25", "dense"}
    fig = next(f for part in upd.values() for f in part.values() if f["updates"])
    assert 0 <= fig["update_accuracy"] <= 1 and fig["p95_ms"] >= fig["p50_ms"] > 0
    assert (out / "embed-cache.sqlite").is_file()


def test_bench_all_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(bench, ["all", "--data-dir", str(DATA), "--sets", "nope"])
    assert res.exit_code == 2 and "unknown data set" in res.output
    res = CliRunner().invoke(bench, ["all", "--data-dir", str(tmp_path / "none")])
    assert res.exit_code == 2 and "no data directory" in res.output
