"""Turn per-question results into per-method summaries (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .metrics import Aggregate, aggregate, mean, percentile
from .results import (
    CoverageSummary,
    FullContextSummary,
    MethodKind,
    MethodSummary,
    QuestionResult,
)

if TYPE_CHECKING:
    from .runner import BenchConfig

__all__ = ["summarize_coverage", "summarize_full_context", "summarize_method"]


def _agg(rows: Sequence[tuple[str, Mapping[str, float]]]) -> Aggregate | None:
    return aggregate(rows) if rows else None


def summarize_coverage(
    name: str, questions: Sequence[QuestionResult], budgets: Sequence[int]
) -> CoverageSummary:
    """Coverage over scored questions that have coverage figures for method ``name``."""
    out = CoverageSummary()
    qs = [q for q in questions if q.scored and name in q.methods and q.methods[name].coverage]
    out.questions = len(qs)
    if not qs:
        return out
    for b in budgets:
        out.rate[b] = mean(float(q.methods[name].coverage.get(b, False)) for q in qs)
        out.token_recall[b] = mean(q.methods[name].token_recall.get(b, 0.0) for q in qs)
        out.mean_tokens[b] = mean(q.methods[name].context_tokens.get(b, 0) for q in qs)
        with_ev = [q for q in qs if q.evidence_turns]
        if with_ev:
            out.evidence[b] = mean(
                float(q.methods[name].evidence_in_context.get(b, False)) for q in with_ev
            )
    cats = sorted({q.category for q in qs}, key=lambda c: (not c.isdigit(), c.zfill(8)))
    for c in cats:
        in_cat = [q for q in qs if q.category == c]
        out.by_category[c] = {
            b: mean(float(q.methods[name].coverage.get(b, False)) for q in in_cat) for b in budgets
        }
    return out


def summarize_method(
    name: str, kind: str, questions: Sequence[QuestionResult], cfg: BenchConfig
) -> MethodSummary:
    """Aggregates of one method: scored questions in the headline, the rest apart."""
    mine = [(q, q.methods[name]) for q in questions if name in q.methods]
    turn = [(q.category, r.turn) for q, r in mine if q.scored and r.turn is not None]
    sess = [(q.category, r.session) for q, r in mine if q.scored and r.session is not None]
    turn_apart = [(q.category, r.turn) for q, r in mine if not q.scored and r.turn is not None]
    sess_apart = [
        (q.category, r.session) for q, r in mine if not q.scored and r.session is not None
    ]
    by_evidence = [
        ("1" if len(q.evidence_turns) == 1 else "2+", r.turn)
        for q, r in mine if q.scored and r.turn is not None and q.evidence_turns
    ]
    lat = [r.latency_ms for _, r in mine]
    method_kind: MethodKind = "engram" if kind == "engram" else "baseline"
    return MethodSummary(
        name=name,
        kind=method_kind,
        turn=aggregate(turn),
        session=aggregate(sess),
        coverage=summarize_coverage(name, questions, cfg.budgets),
        latency_p50_ms=percentile(lat, 50),
        latency_p95_ms=percentile(lat, 95),
        latency_mean_ms=mean(lat),
        turn_apart=_agg(turn_apart),
        session_apart=_agg(sess_apart),
        turn_by_evidence=_agg(by_evidence),
    )


def summarize_full_context(
    questions: Sequence[QuestionResult], tokens: Mapping[str, int]
) -> FullContextSummary:
    """Full-context baseline over scored questions with a coverage figure."""
    qs = [q for q in questions if q.scored and q.full_context_covered is not None]
    by_cat: dict[str, list[float]] = {}
    for q in qs:
        by_cat.setdefault(q.category, []).append(float(bool(q.full_context_covered)))
    return FullContextSummary(
        mean_tokens=mean(tokens.get(q.conversation_id, 0) for q in qs),
        max_tokens=max(tokens.values(), default=0),
        coverage=mean(float(bool(q.full_context_covered)) for q in qs),
        token_recall=mean(q.full_context_token_recall or 0.0 for q in qs),
        by_category={c: mean(v) for c, v in by_cat.items()},
        questions=len(qs),
    )
