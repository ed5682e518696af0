"""Present a :class:`BenchReport`: headlines, terminal tables (rich), JSON file.

The PNG chart lives in :mod:`.chart` (matplotlib is imported only there).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .metrics import Aggregate
from .results import BenchReport, Headline, MethodSummary, QASummary

__all__ = [
    "HEADLINE_METRICS",
    "compute_headlines",
    "compute_qa_headlines",
    "render_report",
    "write_json",
]

Getter = Callable[[MethodSummary], float | None]


def _turn(key: str) -> Getter:
    return lambda m: m.turn.overall.get(key) if m.turn.counts.get("all") else None


def _session(key: str) -> Getter:
    return lambda m: m.session.overall.get(key) if m.session.counts.get("all") else None


def _coverage(budget: int) -> Getter:
    return lambda m: m.coverage.rate.get(budget) if m.coverage.questions else None


#: (label, getter, higher is better)
HEADLINE_METRICS: list[tuple[str, Getter, bool]] = [
    ("turn R_any@5", _turn("recall_any@5"), True),
    ("turn R_any@10", _turn("recall_any@10"), True),
    ("turn R_all@10", _turn("recall_all@10"), True),
    ("turn MRR", _turn("mrr"), True),
    ("turn nDCG@10", _turn("ndcg@10"), True),
    ("session R_any@5", _session("recall_any@5"), True),
    ("session R_all@10", _session("recall_all@10"), True),
    ("coverage@1024", _coverage(1024), True),
    ("evidence in context@1024",
     lambda m: m.coverage.evidence.get(1024) if m.coverage.questions else None, True),
    ("search p50 ms", lambda m: m.latency_p50_ms, False),
]


def compute_headlines(methods: Sequence[MethodSummary], primary: str) -> list[Headline]:
    """Each headline metric for ``primary`` against the best baseline on that metric."""
    engram = next((m for m in methods if m.name == primary), None)
    baselines = [m for m in methods if m.kind == "baseline" and m.name != primary]
    if engram is None or not baselines:
        return []
    out: list[Headline] = []
    for label, get, higher in HEADLINE_METRICS:
        ev = get(engram)
        scored = [(get(b), b.name) for b in baselines]
        vals = [(v, n) for v, n in scored if v is not None]
        if ev is None or not vals:
            continue
        best_v, best_n = max(vals) if higher else min(vals)
        out.append(Headline(label, primary, ev, best_n, best_v, higher))
    return out


def compute_qa_headlines(qa: QASummary, primary: str, baselines: Sequence[str]) -> list[Headline]:
    """QA J / F1 of ``primary`` against the best of the QA methods named in ``baselines``."""
    mine = qa.methods.get(primary)
    others = [(n, a) for n, a in qa.methods.items() if n in baselines and n != primary]
    if mine is None or not others:
        return []
    out = []
    for key, label in (("j", "QA J"), ("f1", "QA F1")):
        vals = [(a.overall[key], n) for n, a in others if key in a.overall]
        if key in mine.overall and vals:
            best_v, best_n = max(vals)
            out.append(Headline(label, primary, mine.overall[key], best_n, best_v))
    return out


def write_json(report: BenchReport, path: str | Path) -> Path:
    """Write the JSON report (UTF-8, indented, keys in a stable order)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    return p


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


AggGetter = Callable[[MethodSummary], Aggregate | None]


def _methods_table(
    report: BenchReport, turn_of: AggGetter, session_of: AggGetter, title: str
) -> Table:
    ks = report.config.get("ks", [1, 5, 10, 20])
    t = Table(title=title, title_justify="left")
    t.add_column("method")
    for k in ks:
        t.add_column(f"R_any@{k}", justify="right")
    t.add_column("R_all@10", justify="right")
    t.add_column("MRR", justify="right")
    t.add_column("nDCG@10", justify="right")
    t.add_column("S R_any@5", justify="right")
    t.add_column("S R_all@10", justify="right")
    for m in report.methods:
        a = turn_of(m) or Aggregate()
        s = session_of(m)
        sv = s.overall if s is not None else {}
        t.add_row(
            f"{m.name} ({m.kind})",
            *[_pct(a.overall.get(f"recall_any@{k}")) for k in ks],
            _pct(a.overall.get("recall_all@10")),
            _pct(a.overall.get("mrr")),
            _pct(a.overall.get("ndcg@10")),
            _pct(sv.get("recall_any@5")),
            _pct(sv.get("recall_all@10")),
        )
    return t


def _coverage_table(report: BenchReport) -> Table:
    budgets = report.config.get("budgets", [])
    t = Table(
        title="Answer in context: exact % / answer-word recall % / evidence turn % "
        "(mean tokens used)",
        title_justify="left",
    )
    t.add_column("method")
    for b in budgets:
        t.add_column(f"@{b}", justify="right")
    t.add_column("search p50/p95 ms", justify="right")
    for m in report.methods:
        t.add_row(
            f"{m.name} ({m.kind})",
            *[
                f"{_pct(m.coverage.rate.get(b))} / {_pct(m.coverage.token_recall.get(b))} / "
                f"{_pct(m.coverage.evidence.get(b))} ({m.coverage.mean_tokens.get(b, 0):.0f})"
                for b in budgets
            ],
            f"{m.latency_p50_ms:.1f} / {m.latency_p95_ms:.1f}",
        )
    fc = report.full_context
    if fc is not None:
        t.add_row(
            "full context (baseline)",
            *[f"{_pct(fc.coverage)} / {_pct(fc.token_recall)} / 100 ({fc.mean_tokens:.0f})"]
            * len(budgets),
            "-",
        )
    return t


def _category_table(report: BenchReport, key: str) -> Table:
    t = Table(title=f"Per category: turn {key} (questions)", title_justify="left")
    t.add_column("category")
    for m in report.methods:
        t.add_column(m.name, justify="right")
    cats: list[str] = []
    for m in report.methods:
        for agg in (m.turn, m.turn_apart):
            if agg is not None:
                cats.extend(c for c in agg.by_category if c not in cats)
    for c in cats:
        cells = []
        for m in report.methods:
            agg = m.turn if c in m.turn.by_category else m.turn_apart
            if agg is None or c not in agg.by_category:
                cells.append("-")
            else:
                cells.append(f"{_pct(agg.by_category[c].get(key))} ({agg.counts.get(c, 0)})")
        t.add_row(c, *cells)
    return t


def _evidence_count_table(report: BenchReport) -> Table:
    t = Table(title="By number of gold evidence turns: turn R_any@10 / R_all@10 (questions)",
              title_justify="left")
    t.add_column("evidence turns")
    for m in report.methods:
        t.add_column(m.name, justify="right")
    for group in ("1", "2+"):
        cells = []
        for m in report.methods:
            agg = m.turn_by_evidence
            v = agg.by_category.get(group) if agg is not None else None
            cells.append("-" if agg is None or v is None else
                         f"{_pct(v.get('recall_any@10'))} / {_pct(v.get('recall_all@10'))} "
                         f"({agg.counts.get(group, 0)})")
        t.add_row(group, *cells)
    return t


def _qa_table(report: BenchReport) -> Table | None:
    qa = report.qa
    if qa is None:
        return None
    t = Table(
        title=f"QA @{qa.budget} tokens: answer {qa.answer_model}, judge {qa.judge_model}",
        title_justify="left",
    )
    for col in ("method", "J", "F1", "BLEU-1", "J (macro)", "J apart"):
        t.add_column(col, justify="right" if col != "method" else "left")
    for name, agg in qa.methods.items():
        apart = qa.apart.get(name)
        t.add_row(
            name,
            _pct(agg.overall.get("j")),
            _pct(agg.overall.get("f1")),
            _pct(agg.overall.get("bleu1")),
            _pct(agg.macro.get("j")),
            _pct(apart.overall.get("j")) if apart and apart.counts.get("all") else "-",
        )
    return t


def _qa_category_table(qa: QASummary) -> Table:
    t = Table(title="QA J per category (questions)", title_justify="left")
    t.add_column("category")
    for name in qa.methods:
        t.add_column(name, justify="right")
    cats: list[str] = []
    for aggs in (qa.methods, qa.apart):
        for agg in aggs.values():
            cats.extend(c for c in agg.by_category if c not in cats)
    for c in cats:
        cells = []
        for name, agg in qa.methods.items():
            src = agg if c in agg.by_category else qa.apart.get(name)
            if src is None or c not in src.by_category or "j" not in src.by_category[c]:
                cells.append("-")
            else:
                cells.append(f"{_pct(src.by_category[c]['j'])} ({src.counts.get(c, 0)})")
        t.add_row(c, *cells)
    return t


def render_report(report: BenchReport, console: Console | None = None) -> None:
    """Print the summary tables and the headlines."""
    if console is None:
        probe = Console()
        console = probe if probe.is_terminal else Console(width=160)
    con = console
    c = report.counts
    con.print(
        f"[bold]{report.benchmark}[/bold] {report.dataset_path} "
        f"(sha256 {report.dataset_sha256[:12]}): "
        f"{c.get('conversations', 0)} conversations, {c.get('turns', 0)} turns, "
        f"{c.get('questions', 0)} questions ({c.get('scored', 0)} scored)"
    )
    ev = report.evidence
    con.print(
        f"evidence: {ev.get('repaired', 0)} entries repaired, {ev.get('skipped', 0)} skipped; "
        f"{ev.get('questions_without_evidence', 0)} scored questions without gold evidence"
    )
    ing = report.ingest
    rss = f"{report.peak_rss_mb:.0f} MB" if report.peak_rss_mb is not None else "n/a"
    con.print(
        f"ingest: {ing.turns} turns in {ing.seconds:.1f} s ({ing.turns_per_second:.0f} turns/s); "
        f"{len(ing.errors)} errors, {ing.truncated_turns} truncated; peak RSS {rss}"
    )
    con.print(
        _methods_table(report, lambda m: m.turn, lambda m: m.session, "Retrieval, per question (%)")
    )
    if report.benchmark == "longmemeval":
        con.print(
            _methods_table(
                _macro_view(report),
                lambda m: m.turn,
                lambda m: m.session,
                "Retrieval, macro average over question types (%)",
            )
        )
    if any(m.turn_apart is not None for m in report.methods):
        con.print(
            _methods_table(
                report,
                lambda m: m.turn_apart,
                lambda m: m.session_apart,
                "Reported apart, not in the headline figures (%)",
            )
        )
    if any(m.coverage.questions for m in report.methods):
        con.print(_coverage_table(report))
    con.print(_category_table(report, "recall_any@10"))
    if any(m.turn_by_evidence is not None for m in report.methods):
        con.print(_evidence_count_table(report))
    qa_t = _qa_table(report)
    if qa_t is not None and report.qa is not None:
        con.print(qa_t)
        con.print(_qa_category_table(report.qa))
        q = report.qa
        con.print(
            f"LLM calls: {q.calls} ({q.cached_calls} from cache), {q.errors} failed; "
            f"tokens {q.prompt_tokens} prompt + {q.completion_tokens} completion; "
            f"served models: {', '.join(q.served_models) or '-'}"
        )
    if report.headlines:
        con.print("[bold]Headlines (Engram vs best baseline)[/bold]")
        for h in report.headlines:
            if h.metric.endswith("ms"):
                val = f"{h.engram_value:.1f} vs {h.baseline_value:.1f} ({h.baseline})"
                delta = f"{h.delta:+.1f} ms"
            else:
                val = f"{_pct(h.engram_value)} vs {_pct(h.baseline_value)} ({h.baseline})"
                delta = f"{100 * h.delta:+.1f} pts"
            con.print(f"  {h.metric:<18} {h.engram}: {val}  {delta}")


def _macro_view(report: BenchReport) -> BenchReport:
    """A shallow copy whose method aggregates show the macro averages as ``overall``."""
    import dataclasses

    def swap(a: Aggregate) -> Aggregate:
        return dataclasses.replace(a, overall=a.macro)

    methods = [
        dataclasses.replace(m, turn=swap(m.turn), session=swap(m.session)) for m in report.methods
    ]
    return dataclasses.replace(report, methods=methods)
