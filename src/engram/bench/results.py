"""Typed benchmark results: per question, per method, and the whole report.

Everything here is plain data; :meth:`BenchReport.to_dict` gives the JSON
report (config, versions, dataset hash, per-question results with retrieved
ids). Retrieval figures are fractions in [0, 1]; times are milliseconds
unless the field name says seconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from .metrics import Aggregate

__all__ = [
    "BenchReport",
    "CoverageSummary",
    "FullContextSummary",
    "Headline",
    "IngestStats",
    "MethodQuestionResult",
    "MethodSummary",
    "QAAnswer",
    "QASummary",
    "QuestionResult",
]

MethodKind = Literal["engram", "baseline"]


@dataclass
class MethodQuestionResult:
    """One method's outcome on one question.

    ``retrieved``: the unit ids of every hit, in rank order (a memory hit
    lists the turns it came from; ``[]`` for a hit with no known source).
    ``turn`` / ``session``: flat retrieval scores (``None`` without gold).
    ``coverage`` / ``context_tokens``: per token budget; ``evidence_in_context``:
    per budget, whether the block holds at least one gold evidence turn;
    ``context_units``: per budget, the turns the block's items stand for, in block order.
    """

    retrieved: list[list[str]]
    latency_ms: float
    turn: dict[str, float] | None = None
    session: dict[str, float] | None = None
    coverage: dict[int, bool] = field(default_factory=dict)
    token_recall: dict[int, float] = field(default_factory=dict)
    context_tokens: dict[int, int] = field(default_factory=dict)
    evidence_in_context: dict[int, bool] = field(default_factory=dict)
    context_units: dict[int, list[str]] = field(default_factory=dict)


@dataclass
class QAAnswer:
    """A generated answer and its scores (``judge`` is ``None`` when judging failed)."""

    answer: str
    f1: float
    bleu1: float
    judge: bool | None
    context_tokens: int
    error: str | None = None


@dataclass
class QuestionResult:
    id: str
    conversation_id: str
    category: str
    question: str
    answer: str
    scored: bool
    abstention: bool
    evidence_turns: list[str]
    evidence_sessions: list[str]
    methods: dict[str, MethodQuestionResult] = field(default_factory=dict)
    full_context_covered: bool | None = None
    full_context_token_recall: float | None = None
    qa: dict[str, QAAnswer] = field(default_factory=dict)


@dataclass
class CoverageSummary:
    """Per token budget: ``rate`` = share of questions whose normalised answer is
    in the context; ``token_recall`` = mean share of the answer's content words
    found in it; ``evidence`` = share of the questions with gold evidence whose
    block holds at least one evidence turn; ``mean_tokens`` = mean size of the block."""

    rate: dict[int, float] = field(default_factory=dict)
    token_recall: dict[int, float] = field(default_factory=dict)
    evidence: dict[int, float] = field(default_factory=dict)
    mean_tokens: dict[int, float] = field(default_factory=dict)
    by_category: dict[str, dict[int, float]] = field(default_factory=dict)
    questions: int = 0


@dataclass
class MethodSummary:
    """Aggregates of one method (an Engram preset).

    ``turn`` / ``session``: over scored questions with gold evidence;
    ``turn_apart`` / ``session_apart``: the questions reported apart (LoCoMo
    category 5), ``None`` when there are none with evidence;
    ``turn_by_evidence``: the headline questions grouped by how many gold
    evidence turns they have (``"1"``, ``"2+"``): R_all differs from R_any
    only on the second group.
    """

    name: str
    kind: MethodKind
    turn: Aggregate
    session: Aggregate
    coverage: CoverageSummary
    latency_p50_ms: float
    latency_p95_ms: float
    latency_mean_ms: float
    turn_apart: Aggregate | None = None
    session_apart: Aggregate | None = None
    turn_by_evidence: Aggregate | None = None


@dataclass
class FullContextSummary:
    """The whole conversation as context: its size and whether it holds the answer."""

    mean_tokens: float
    max_tokens: int
    coverage: float
    token_recall: float = 0.0
    by_category: dict[str, float] = field(default_factory=dict)
    questions: int = 0


@dataclass
class IngestStats:
    seconds: float
    conversations: int
    sessions: int
    turns: int
    turns_per_second: float
    truncated_turns: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class QASummary:
    """QA-mode figures per method. ``overall``/``macro``/``by_category`` hold
    ``f1``, ``bleu1`` and ``j`` (judge accuracy) means."""

    answer_model: str
    judge_model: str
    base_url: str
    budget: int
    methods: dict[str, Aggregate] = field(default_factory=dict)
    apart: dict[str, Aggregate] = field(default_factory=dict)
    calls: int = 0
    cached_calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: model names the server reported in its replies
    served_models: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Headline:
    """One headline figure: Engram against the best baseline on the same metric."""

    metric: str
    engram: str
    engram_value: float
    baseline: str
    baseline_value: float
    higher_is_better: bool = True

    @property
    def delta(self) -> float:
        return self.engram_value - self.baseline_value


@dataclass
class BenchReport:
    benchmark: str
    dataset_path: str
    dataset_sha256: str
    config: dict[str, Any]
    versions: dict[str, str]
    started_at: str
    counts: dict[str, int]
    evidence: dict[str, Any]
    ingest: IngestStats
    methods: list[MethodSummary]
    questions: list[QuestionResult]
    peak_rss_mb: float | None
    full_context: FullContextSummary | None = None
    qa: QASummary | None = None
    headlines: list[Headline] = field(default_factory=list)
    seconds: float = 0.0

    def method(self, name: str) -> MethodSummary:
        for m in self.methods:
            if m.name == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (dict keys that are budgets or k become strings)."""
        out: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return round(obj, 6)
    return obj
