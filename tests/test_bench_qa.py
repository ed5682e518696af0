"""QA mode against the scripted OpenAI-compatible server on loopback."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from support.scripted_llm import RecordedRequest, Reply, ScriptedLLMServer, ok, server_error

from engram.bench.longmemeval import load_longmemeval
from engram.bench.qa import FULL, QAConfig, answer_messages, judge_messages
from engram.bench.report import render_report
from engram.bench.runner import BenchConfig, run_benchmark
from engram.embed.base import Embedder

FIXTURE = Path(__file__).parent / "fixtures" / "longmemeval_small.json"

ANSWERS = {
    "What degree did I graduate with?": "Business Administration",
    "Which city do I live in now?": "Portland",  # wrong on purpose
}


def _question_of(req: RecordedRequest) -> str:
    text = req.last_user
    for q in ANSWERS:
        if q in text:
            return q
    return ""


def _is_judge(req: RecordedRequest) -> bool:
    return "Gold answer:" in req.last_user


def _reply(req: RecordedRequest) -> Reply:
    q = _question_of(req)
    if _is_judge(req):
        gold = req.last_user.split("Gold answer: ", 1)[1].split("\n", 1)[0]
        generated = req.last_user.split("Generated answer: ", 1)[1].split("\n", 1)[0]
        label = "CORRECT" if generated and generated.lower() in gold.lower() else "WRONG"
        return ok({"reasoning": "compared", "label": label})
    return ok(ANSWERS.get(q, "I don't know"))


def _cfg(server: ScriptedLLMServer, cache: Path, **over: Any) -> BenchConfig:
    qa = QAConfig(
        base_url=server.base_url,
        answer_model="answer-model",
        judge_model="judge-model",
        budget=256,
        methods=("hybrid", FULL),
        concurrency=3,
        cache_dir=str(cache),
        backoff_base=0.0,
        max_retries=0,
        timeout=5.0,
    )
    qa = dataclasses.replace(qa, **over)
    return BenchConfig(budgets=(256,), coverage=False, full_context=False, progress=False, qa=qa)


def test_prompts_carry_question_context_and_date() -> None:
    from datetime import UTC, datetime

    msgs = answer_messages("Where?", "- [2023-05-01] user: Paris", datetime(2023, 6, 1, tzinfo=UTC))
    assert "Paris" in msgs[-1]["content"] and "2023-06-01" in msgs[-1]["content"]
    j = judge_messages("Where?", "Paris", "in Paris, France")[0]["content"]
    assert "CORRECT" in j and "WRONG" in j and "generous" in j.lower()


def test_stable_context_renames_memory_ids() -> None:
    from engram.bench.qa import stable_context

    text = "(mem_01abcdefghjk, fact) x\n(mem_01zzzzzzzzzz, fact) y\n[from mem_01abcdefghjk]"
    assert stable_context(text) == "(mem-1, fact) x\n(mem-2, fact) y\n[from mem-1]"


def test_qa_scores_caches_and_resumes(
    tmp_path: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    ds = load_longmemeval(FIXTURE, limit=4)
    n_jobs = 2 * len(ds.questions)  # two methods
    with ScriptedLLMServer(default=_reply) as server:
        # first run: the judge fails for one question -> counted, not fatal
        server.on(
            lambda r: _is_judge(r) and "Which city" in r.last_user,
            server_error(),
        )
        first = run_benchmark(ds, _cfg(server, tmp_path / "cache"), embedder=embedder)
        assert first.qa is not None
        assert first.qa.errors == 2  # one question x two methods
        assert first.qa.answer_model == "answer-model" and first.qa.judge_model == "judge-model"
        assert first.qa.served_models == ["answer-model", "judge-model"]
        hy = first.qa.methods["hybrid"]
        assert hy.counts["all"] == len(ds.questions)
        degree = next(q for q in first.questions if q.question.startswith("What degree"))
        assert degree.qa["hybrid"].answer == "Business Administration"
        assert degree.qa["hybrid"].judge is True
        assert degree.qa["hybrid"].f1 == pytest.approx(1.0)
        assert degree.qa[FULL].context_tokens > 0
        sent_first = len(server.chat_requests)
        # answer + judge per job, less the identical prompts the cache answered
        assert n_jobs < sent_first <= 2 * n_jobs
        assert first.qa.calls == 2 * n_jobs - first.qa.errors

        # second run ("resume"): the judge works now; only the failed calls are sent
        server.reset()
        server.default = _reply
        second = run_benchmark(ds, _cfg(server, tmp_path / "cache"), embedder=embedder)
        assert second.qa is not None and second.qa.errors == 0
        resent = server.chat_requests
        assert 1 <= len(resent) <= 2  # the judge calls that had failed (same prompt twice)
        assert all(_is_judge(r) and "Which city" in r.last_user for r in resent), (
            [r.last_user[-400:] for r in resent],
            caplog.text,
        )
        assert all((r.response_format or {}).get("type") == "json_schema" for r in resent)
        city = next(q for q in second.questions if q.question.startswith("Which city"))
        assert city.qa["hybrid"].judge is False  # "Portland" vs gold "Seattle"
        assert second.qa.calls == 2 * n_jobs
        assert second.qa.methods["hybrid"].overall["j"] == pytest.approx(
            sum(q.qa["hybrid"].judge is True for q in second.questions) / len(ds.questions)
        )
        assert any(h.metric == "QA J" and h.baseline == FULL for h in second.headlines)

        # third run: everything from the cache, nothing sent
        server.reset()
        server.default = _reply
        third = run_benchmark(ds, _cfg(server, tmp_path / "cache"), embedder=embedder)
        assert server.chat_requests == [], (
            [r.last_user[-400:] for r in server.chat_requests],
            caplog.text,
        )
        assert third.qa is not None and third.qa.cached_calls == third.qa.calls == 2 * n_jobs
        assert third.qa.methods == second.qa.methods
        buf = io.StringIO()
        render_report(third, Console(file=buf, width=200))
        assert "QA J per category" in buf.getvalue() and "from cache" in buf.getvalue()
        assert (third.qa.prompt_tokens, third.qa.completion_tokens) == (0, 0)
