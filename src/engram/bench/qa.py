"""QA mode: answer each question from ``context()`` with an LLM, then score it.

Scores per answer: token F1 and BLEU-1 against the gold answer
(:mod:`.metrics`), and the **J** metric of the Mem0 paper: an LLM judge reads
the question, the gold answer and the generated answer and labels it
``CORRECT`` or ``WRONG``, grading generously (same topic counts; dates count
when they name the same day or period whatever the format). J is the share
labelled ``CORRECT``.

Every LLM call goes through :class:`engram.llm.LLMClient` with its on-disk
response cache, so a rerun (or a run resumed after an interruption) sends
only the calls not answered yet: the retrieval part is deterministic, so the
prompts, and therefore the cache keys, are the same. Calls run in a bounded
thread pool (``concurrency``). A failed call is recorded on its question and
counted; it never stops the run.

Methods: Engram presets by name, and ``"full"`` for the full-context baseline
(the whole conversation as the context).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EngramError
from .contexts import context_blocks, full_context_text, scope_user
from .dataset import BenchDataset, Conversation, Question
from .metrics import aggregate, bleu1, token_f1
from .progress import Progress
from .results import QAAnswer, QASummary, QuestionResult

if TYPE_CHECKING:
    from ..llm import LLMClient
    from .runner import BenchConfig

__all__ = [
    "FULL",
    "JUDGE_SCHEMA",
    "QAConfig",
    "answer_messages",
    "judge_messages",
    "run_qa",
    "stable_context",
]

#: Method name of the full-context baseline in QA mode.
FULL = "full"

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string"},
        "label": {"type": "string", "enum": ["CORRECT", "WRONG"]},
    },
    "required": ["reasoning", "label"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class QAConfig:
    """Where the OpenAI-compatible endpoint is and what to ask it.

    ``judge_model`` defaults to ``answer_model``; ``methods`` defaults to the
    run's headline preset; ``cache_dir`` holds the response cache (``None``:
    ``<user cache dir>/engram/bench-llm``). The key is never written to reports.
    """

    base_url: str
    answer_model: str
    judge_model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    budget: int = 1024
    methods: tuple[str, ...] = ()
    concurrency: int = 4
    cache_dir: str | None = None
    timeout: float = 60.0
    max_retries: int = 3
    backoff_base: float = 0.5

    @property
    def judge(self) -> str:
        return self.judge_model or self.answer_model

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        import platformdirs

        return Path(platformdirs.user_cache_dir("engram", appauthor=False)) / "bench-llm"

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "answer_model": self.answer_model,
            "judge_model": self.judge,
            "budget": self.budget,
            "methods": list(self.methods),
            "concurrency": self.concurrency,
            "cache_dir": str(self.resolved_cache_dir()),
        }


_MEMORY_ID = re.compile(r"\bmem_[0-9A-Za-z]{8,}\b")


def stable_context(text: str) -> str:
    """Replace generated memory ids by ``mem-1``, ``mem-2``... in order of appearance.

    Memory ids are random per run; without this the prompts (and so the
    cache keys) would change between two runs of the same benchmark.
    """
    seen: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(0), f"mem-{len(seen) + 1}")

    return _MEMORY_ID.sub(sub, text)


def _when(dt: datetime) -> str:
    return f"{dt:%Y-%m-%d %H:%M} UTC"


def answer_messages(question: str, context: str, asked_at: datetime) -> list[dict[str, str]]:
    """The answering prompt: the context block, the question date and the question."""
    system = (
        "You answer questions about the past conversations of the people involved, using only "
        "the memories and conversation excerpts given. Each line is dated; resolve relative "
        "dates ('yesterday', 'last week') against the line's date and give absolute dates. "
        "If the memories do not contain the answer, say that the information is not available. "
        "Answer in as few words as possible (usually under 10), without explanation."
    )
    user = (
        f"Memories:\n{context}\n\n"
        f"The question is asked on {_when(asked_at)}.\nQuestion: {question}\nAnswer:"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def judge_messages(question: str, gold: str, generated: str) -> list[dict[str, str]]:
    """The J-metric judge prompt (CORRECT/WRONG, generous matching, JSON reply)."""
    prompt = (
        "Label a generated answer to a question as CORRECT or WRONG by comparing it with the "
        "gold answer.\n"
        "Be generous: if the generated answer refers to the same thing, topic or fact as the "
        "gold answer, it is CORRECT, even when it is longer or worded differently. For questions "
        "about time, it is CORRECT when it points to the same date or period as the gold answer, "
        "whatever the format ('May 7th' and '7 May 2023' are the same date) and even if it uses "
        "a relative expression that resolves to it. It is WRONG when it contradicts the gold "
        "answer, names something else, or says the information is unavailable while the gold "
        "answer gives it.\n\n"
        f"Question: {question}\nGold answer: {gold}\nGenerated answer: {generated}\n\n"
        'Reply with JSON: {"reasoning": "<one sentence>", "label": "CORRECT" or "WRONG"}.'
    )
    return [{"role": "user", "content": prompt}]


def _judge_gold(q: Question) -> str:
    if q.abstention and not q.answer:
        wrong = f" (a plausible but unsupported answer would be: {q.adversarial_answer})"
        return (
            "The conversation does not contain this information; the right answer says so"
            + (wrong if q.adversarial_answer else "")
            + "."
        )
    return q.answer


@dataclass
class _Job:
    method: str
    question: Question
    context: str
    tokens: int


def _contexts(
    eg: Any, ds: BenchDataset, methods: Sequence[str], budget: int, progress: Progress
) -> list[_Job]:
    jobs: list[_Job] = []
    total = len(methods) * len(ds.questions)
    full_cache: dict[str, tuple[str, int]] = {}
    with progress.task("qa contexts", total) as advance:
        for method in methods:
            for conv in ds.conversations:
                for q in conv.questions:
                    if method == FULL:
                        text, tokens = _full(eg, conv, full_cache, full_context_text)
                    else:
                        block = context_blocks(eg, q, scope_user(conv), method, [budget])[budget]
                        text, tokens = stable_context(block.text), int(block.tokens)
                    jobs.append(_Job(method, q, text, tokens))
                    advance(1)
    return jobs


def _full(
    eg: Any, conv: Conversation, cache: dict[str, tuple[str, int]], render: Any
) -> tuple[str, int]:
    if conv.id not in cache:
        text = render(conv)
        cache[conv.id] = (text, int(eg.count_tokens(text)))
    return cache[conv.id]


def _answer_one(job: _Job, answerer: LLMClient, judge: LLMClient) -> tuple[QAAnswer, list[str]]:
    q = job.question
    served: list[str] = []
    try:
        reply = answerer.chat(
            answer_messages(q.text, job.context, q.asked_at), stage="answer", max_tokens=200
        )
    except EngramError as exc:
        return QAAnswer("", 0.0, 0.0, None, job.tokens, f"answer: {exc}"), served
    served.append(reply.model)
    text = reply.text.strip()
    gold = q.answer
    result = QAAnswer(text, token_f1(text, gold), bleu1(text, gold), None, job.tokens)
    try:
        verdict = judge.chat(
            judge_messages(q.text, _judge_gold(q), text),
            json_schema=JUDGE_SCHEMA,
            schema_name="judgement",
            stage="judge",
            max_tokens=300,
        )
    except EngramError as exc:
        result.error = f"judge: {exc}"
        return result, served
    served.append(verdict.model)
    label = str((verdict.data or {}).get("label", "")).upper()
    result.judge = label == "CORRECT"
    return result, served


def run_qa(
    eg: Any,
    ds: BenchDataset,
    results: dict[str, QuestionResult],
    cfg: BenchConfig,
    progress: Progress,
) -> QASummary:
    """Answer and judge every question for every QA method; fills ``results[...].qa``."""
    from ..llm import LLMClient, ResponseCache, UsageLedger

    qa = cfg.qa
    assert qa is not None
    methods = list(qa.methods) or [cfg.primary() or cfg.methods()[0][0]]
    jobs = _contexts(eg, ds, methods, qa.budget, progress)
    ledger = UsageLedger()
    # one cache (one connection) for both clients: no lock contention between them
    cache = ResponseCache(qa.resolved_cache_dir())
    common: dict[str, Any] = {
        "api_key": qa.api_key,
        "timeout": qa.timeout,
        "max_retries": qa.max_retries,
        "backoff_base": qa.backoff_base,
        "cache": cache,
        "ledger": ledger,
    }
    answerer = LLMClient(qa.base_url, qa.answer_model, stage="answer", **common)
    judge = LLMClient(qa.base_url, qa.judge, stage="judge", **common)
    served: set[str] = set()
    try:
        with (
            progress.task("qa answer+judge", len(jobs)) as advance,
            ThreadPoolExecutor(max_workers=max(1, qa.concurrency)) as pool,
        ):
            futures = [pool.submit(_answer_one, job, answerer, judge) for job in jobs]
            for job, fut in zip(jobs, futures, strict=True):
                answer, models = fut.result()
                served.update(models)
                results[job.question.id].qa[job.method] = answer
                advance(1)
    finally:
        answerer.close()
        judge.close()
        cache.close()
    return _summarize(qa, methods, results, ledger, served)


def _summarize(
    qa: QAConfig,
    methods: Sequence[str],
    results: dict[str, QuestionResult],
    ledger: Any,
    served: set[str],
) -> QASummary:
    totals = ledger.snapshot().total
    out = QASummary(
        answer_model=qa.answer_model,
        judge_model=qa.judge,
        base_url=qa.base_url,
        budget=qa.budget,
        calls=totals.calls,
        cached_calls=totals.cached_calls,
        errors=sum(1 for r in results.values() for a in r.qa.values() if a.error),
        prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens,
        served_models=sorted(served),
    )
    for m in methods:
        rows: list[tuple[str, dict[str, float]]] = []
        apart: list[tuple[str, dict[str, float]]] = []
        for r in results.values():
            a = r.qa.get(m)
            if a is None:
                continue
            scores = {"f1": a.f1, "bleu1": a.bleu1}
            if a.judge is not None:
                scores["j"] = 1.0 if a.judge else 0.0
            (rows if r.scored else apart).append((r.category, scores))
        out.methods[m] = aggregate(rows)
        if apart:
            out.apart[m] = aggregate(apart)
    return out
