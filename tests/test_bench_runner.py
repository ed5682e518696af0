"""The benchmark harness end to end, on a slice of LoCoMo and on the LongMemEval fixture."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from engram.bench.dataset import BenchDataset
from engram.bench.locomo import load_locomo
from engram.bench.longmemeval import load_longmemeval
from engram.bench.progress import Progress
from engram.bench.report import render_report, write_json
from engram.bench.results import BenchReport
from engram.bench.runner import (
    BenchConfig,
    context_blocks,
    default_engine,
    ingest_dataset,
    run_benchmark,
    scope_user,
)
from engram.embed.base import Embedder

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "locomo"
FIXTURE = Path(__file__).parent / "fixtures" / "longmemeval_small.json"
needs_locomo = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"LoCoMo development split not found at {SHARED}"
)

FAST = BenchConfig(budgets=(256, 1024), progress=False)


def _locomo_slice(sessions: int = 3, questions: int = 10) -> BenchDataset:
    """The first conversation cut to its first sessions, with questions answerable there."""
    ds = load_locomo(SHARED)
    conv = ds.conversations[0]
    kept = conv.sessions[:sessions]
    ids = {t.id for s in kept for t in s.turns}
    qs = [q for q in conv.questions if q.evidence_turns and set(q.evidence_turns) <= ids]
    conv = dataclasses.replace(conv, sessions=kept, questions=tuple(qs[:questions]))
    return BenchDataset("locomo", ds.path, ds.sha256, [conv])


@needs_locomo
def test_locomo_slice_end_to_end_and_deterministic(tmp_path: Path, embedder: Embedder) -> None:
    ds = _locomo_slice()
    first = run_benchmark(ds, FAST, embedder=embedder)
    second = run_benchmark(ds, FAST, embedder=embedder)

    assert [m.name for m in first.methods] == ["hybrid", "bm25", "dense"]
    assert [m.kind for m in first.methods] == ["engram", "baseline", "baseline"]
    assert first.counts["questions"] == len(ds.questions) > 0
    assert first.ingest.turns == sum(len(c.turns) for c in ds.conversations)
    assert first.ingest.errors == []
    turn_ids = {t.id for t in ds.conversations[0].turns}
    for qr in first.questions:
        for name, mr in qr.methods.items():
            assert mr.turn is not None and mr.session is not None, (qr.id, name)
            assert {u for hit in mr.retrieved for u in hit} <= turn_ids
            assert set(mr.coverage) == {256, 1024}
            assert mr.context_tokens[256] <= 256
            assert set(mr.evidence_in_context) == {256, 1024}
    for m in first.methods:
        r = m.turn.overall
        assert 0.0 <= r["recall_any@1"] <= r["recall_any@5"] <= r["recall_any@20"] <= 1.0
        assert r["recall_all@10"] <= r["recall_any@10"]
        assert m.latency_p50_ms <= m.latency_p95_ms
        assert all(0.0 <= m.coverage.evidence[b] <= 1.0 for b in (256, 1024))
        # grouped by how many evidence turns a question has: R_all == R_any with one
        groups = m.turn_by_evidence
        assert groups is not None and groups.counts["all"] == m.turn.counts["all"]
        one = groups.by_category.get("1")
        assert one is None or one["recall_all@10"] == one["recall_any@10"]
    assert first.full_context is not None and first.full_context.mean_tokens > 1024
    assert {h.baseline for h in first.headlines} <= {"bm25", "dense"}
    assert any(h.metric == "turn R_any@5" for h in first.headlines)

    # two runs give the same retrieval numbers
    for a, b in zip(first.questions, second.questions, strict=True):
        for name in a.methods:
            assert a.methods[name].retrieved == b.methods[name].retrieved
            assert a.methods[name].coverage == b.methods[name].coverage
    for ma, mb in zip(first.methods, second.methods, strict=True):
        assert ma.turn == mb.turn and ma.session == mb.session

    # the report renders and serialises
    buf = io.StringIO()
    render_report(first, Console(file=buf, width=200))
    assert "Headlines (Engram vs best baseline)" in buf.getvalue()
    assert "By number of gold evidence turns" in buf.getvalue()
    data = json.loads(write_json(first, tmp_path / "r.json").read_text())
    assert data["dataset_sha256"] == ds.sha256
    assert data["questions"][0]["methods"]["hybrid"]["retrieved"]
    assert data["config"]["presets"] == ["hybrid"]
    assert "embedder" in data["versions"]


@needs_locomo
def test_coverage_blocks_match_engram_context(tmp_path: Path, embedder: Embedder) -> None:
    ds = _locomo_slice(sessions=2, questions=3)
    eg = default_engine(tmp_path / "c.db", embedder)
    try:
        ingest_dataset(eg, ds, Progress(enabled=False))
        conv = ds.conversations[0]
        for q in conv.questions:
            blocks = context_blocks(eg, q, scope_user(conv), "hybrid", [256, 1024])
            for budget, block in blocks.items():
                ref = eg.context(
                    q.text,
                    user_id=scope_user(conv),
                    max_tokens=budget,
                    preset="hybrid",
                    now=q.asked_at,
                )
                assert block.text == ref.text
                assert block.tokens == ref.tokens
    finally:
        eg.close()


@pytest.fixture(scope="module")
def lme_report(embedder: Embedder) -> BenchReport:
    cfg = dataclasses.replace(FAST, presets=("hybrid", "bm25"))
    return run_benchmark(load_longmemeval(FIXTURE), cfg, embedder=embedder)


def test_longmemeval_fixture_end_to_end(lme_report: BenchReport) -> None:
    ds = load_longmemeval(FIXTURE)
    rep = lme_report

    assert rep.counts == {
        "conversations": 7,
        "sessions": sum(len(c.sessions) for c in ds.conversations),
        "turns": sum(len(c.turns) for c in ds.conversations),
        "questions": 7,
        "scored": 6,
    }
    # bm25 asked for as a preset is still a baseline
    assert [(m.name, m.kind) for m in rep.methods] == [
        ("hybrid", "engram"),
        ("bm25", "baseline"),
        ("dense", "baseline"),
    ]
    by_conv = {c.id: c for c in ds.conversations}
    for qr in rep.questions:
        own = {t.id for t in by_conv[qr.conversation_id].turns}
        for mr in qr.methods.values():
            # each question searches its own haystack only
            assert {u for hit in mr.retrieved for u in hit} <= own
    hybrid = rep.method("hybrid")
    # abstention is not in the retrieval figures, and is not reported apart either
    assert hybrid.turn.counts["all"] == 6
    assert "single-session-user" in hybrid.turn.by_category
    assert set(hybrid.turn.macro) == set(hybrid.turn.overall)
    assert hybrid.turn_apart is not None and hybrid.turn_apart.counts["all"] == 1
    # tiny haystacks: every gold session is found within 5 sessions
    assert hybrid.session.overall["recall_all@5"] == 1.0
    abs_q = next(q for q in rep.questions if q.abstention)
    assert abs_q.methods["hybrid"].coverage == {}


def test_chart_is_written(tmp_path: Path, lme_report: BenchReport) -> None:
    pytest.importorskip("matplotlib")
    from engram.bench.chart import write_chart

    png = write_chart(lme_report, tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_locomo
def test_a_question_with_evidence_and_no_answer_text_has_its_evidence_looked_for(
        embedder: Embedder) -> None:
    """BEAM's instruction and preference questions have evidence but no answer text:
    the bench looks for their evidence in the block, and measures no answer coverage."""
    ds = _locomo_slice(questions=2)
    conv = ds.conversations[0]
    mute = dataclasses.replace(conv.questions[0], id="mute", answer="")
    conv = dataclasses.replace(conv, questions=(conv.questions[1], mute))
    only_bm25 = dataclasses.replace(FAST, presets=("bm25",), baselines=())
    report = run_benchmark(BenchDataset("locomo", ds.path, ds.sha256, [conv]), only_bm25,
                           embedder=embedder)
    by_id = {q.id: q.methods["bm25"] for q in report.questions}
    assert set(by_id["mute"].evidence_in_context) == {256, 1024}
    assert by_id["mute"].coverage == {} and by_id["mute"].context_tokens == {}
    other = next(k for k in by_id if k != "mute")
    assert set(by_id[other].coverage) == {256, 1024}
