"""``engram bench all``: every data set, the baselines, one table and one JSON report.

    engram bench all --data-dir ../shared/data [--sets locomo,beam] [--limit 3]

Data sets (each read by its own loader from ``<data-dir>/<folder>``):

========================  ===========  =====================================================
name                      folder       loader
========================  ===========  =====================================================
``locomo``                locomo/      :func:`.locomo.load_locomo`
``realtalk``              realtalk/    :func:`.realtalk.load_realtalk`
``beam``                  beam/        :func:`.beam.load_beam` (100K; ``--beam-500k`` adds 500K)
``letta_read``            letta/       :func:`.letta.load_letta_read`
``letta_update``          letta/       :func:`.letta.load_letta_update`
========================  ===========  =====================================================

Each set is ingested once (:func:`.runner.run_benchmark`) and searched by every
method; the figures are then computed apart for the development part and the
held-apart part (:meth:`.dataset.BenchDataset.part`), which nothing is fitted on.

Per set, part and method: ``R_any@10``, ``R_all@10``, ``MRR``, evidence in a
1,024-token ``context()``, knowledge-update accuracy (questions with stale
turns: the first evidence turn ranks above every stale turn and within the
question's ``update_within``, 10 for BEAM and 1 for letta) and search latency
p50 / p95 (including the query embedding). BEAM also gets ``R_any@10`` per
question type. With judgments (``--judged``, :mod:`.judged`), ``R_any@10`` is also
given with the turns a reader judged relevant counted beside the labels.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .dataset import BenchDataset, DatasetError, Question
from .judged import Judgment, judged_any, unjudged
from .metrics import distinct_ranking
from .results import BenchReport

if TYPE_CHECKING:
    from ..embed.base import Embedder
    from .runner import BenchConfig

__all__ = ["SETS", "PartFigures", "SuiteReport", "load_set", "run_suite", "update_correct"]

#: every data set ``engram bench all`` knows, in run order
SETS: tuple[str, ...] = ("locomo", "realtalk", "beam", "letta_read", "letta_update")
PARTS: tuple[Literal["dev", "held"], ...] = ("dev", "held")
BUDGET = 1024


def load_set(name: str, data_dir: str | Path, *, beam_sizes: tuple[str, ...] = ("100K",)
             ) -> BenchDataset:
    """Load one data set by name from its folder under ``data_dir``."""
    root = Path(data_dir).expanduser()
    if name == "locomo":
        from .locomo import load_locomo

        return load_locomo(root / "locomo")
    if name == "realtalk":
        from .realtalk import load_realtalk

        return load_realtalk(root / "realtalk")
    if name == "beam":
        from .beam import load_beam

        return load_beam(root / "beam", beam_sizes)
    if name == "letta_read":
        from .letta import load_letta_read

        return load_letta_read(root / "letta")
    if name == "letta_update":
        from .letta import load_letta_update

        return load_letta_update(root / "letta")
    raise DatasetError(f"unknown data set {name!r}; known: {', '.join(SETS)}")


def update_correct(q: Question, retrieved: Sequence[Sequence[str]]) -> bool | None:
    """Whether a knowledge update was retrieved right (``None``: not an update question).

    Right means: some evidence (updated) turn is at distinct rank ``<=
    q.update_within`` and ranks above every stale (original) turn.
    """
    if not q.stale_turns or not q.evidence_turns:
        return None
    ranking = distinct_ranking([tuple(r) for r in retrieved])
    new = set(q.evidence_turns)
    old = set(q.stale_turns)
    first_new = next((i for i, g in enumerate(ranking) if new.intersection(g)), None)
    first_old = next((i for i, g in enumerate(ranking) if old.intersection(g)), None)
    if first_new is None or first_new >= q.update_within:
        return False
    return first_old is None or first_new < first_old


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _pct(xs: Sequence[float], p: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p * (len(s) - 1))))]


@dataclass
class PartFigures:
    """One method on one part of one data set; fractions in [0, 1], ``None`` when
    no question of the part has what the figure needs."""

    questions: int
    r_any10: float | None
    r_all10: float | None
    mrr: float | None
    evidence_at_1024: float | None
    update_accuracy: float | None
    updates: int
    p50_ms: float | None
    p95_ms: float | None
    #: per question type (BEAM's): R_any@10, and evidence in a 1,024-token block
    by_type: dict[str, float] = field(default_factory=dict)
    evidence_by_type: dict[str, float] = field(default_factory=dict)
    #: with judgments (:mod:`.judged`): R_any@10 counting judged-relevant turns beside
    #: the labels, how many of the part's questions were judged, and the mean number
    #: of units neither labelled nor judged in a judged question's top 10 (``None``: no
    #: judgments given, or no question judged)
    r_any10_judged: float | None = None
    judged_questions: int = 0
    unjudged10: float | None = None
    #: evidence in a 1,024-token block counting judged-relevant turns beside the labels
    #: (a lower bound: a block holds more turns than the judged pools)
    evidence_at_1024_judged: float | None = None


def part_figures(report: BenchReport, part: BenchDataset, method: str,
                 judgments: Mapping[str, Judgment] | None = None) -> PartFigures:
    """The figures of ``method`` over the scored questions of ``part``.

    ``evidence_at_1024`` counts, like ``r_any10``, only the questions with gold
    evidence turns: a question whose evidence ids all name no turn (REALTALK's
    unknown ids) cannot have its evidence in a context block, and is no miss.
    ``judgments`` (question id -> :class:`.judged.Judgment`, this set's) fill the
    judged figures over the same questions as ``r_any10``."""
    qmap = {q.id: q for q in part.questions}
    rows = [r for r in report.questions if r.id in qmap and r.scored and method in r.methods]
    turn = [(r, r.methods[method].turn) for r in rows if r.methods[method].turn is not None]
    ev_type: dict[str, list[float]] = {}  # each type's questions with evidence, in the block?
    ev_judged: list[float] = []
    for r in rows:
        e = r.methods[method].evidence_in_context.get(BUDGET)
        if r.evidence_turns and e is not None:
            ev_type.setdefault(r.category, []).append(float(e))
            if judgments is not None:
                j, shown = judgments.get(r.id), r.methods[method].context_units.get(BUDGET)
                ev_judged.append(float(e or (j is not None and shown is not None
                                             and bool(j.relevant.intersection(shown)))))
    ku = [update_correct(qmap[r.id], r.methods[method].retrieved) for r in rows]
    kus = [float(k) for k in ku if k is not None]
    by_type: dict[str, list[float]] = {}
    for r, t in turn:
        assert t is not None
        by_type.setdefault(r.category, []).append(t["recall_any@10"])
    lat = [r.methods[method].latency_ms for r in rows]
    judged: dict[str, Any] = {}
    if judgments is not None:
        got = [(r.methods[method].retrieved, r.evidence_turns, judgments.get(r.id))
               for r, _ in turn]
        judged = {"r_any10_judged": _mean([judged_any(*g) for g in got]),
                  "judged_questions": sum(1 for g in got if g[2] is not None),
                  "unjudged10": _mean([float(unjudged(*g)) for g in got if g[2] is not None]),
                  "evidence_at_1024_judged": _mean(ev_judged)}
    return PartFigures(
        questions=len(turn),
        r_any10=_mean([t["recall_any@10"] for _, t in turn if t]),
        r_all10=_mean([t["recall_all@10"] for _, t in turn if t]),
        mrr=_mean([t["mrr"] for _, t in turn if t]),
        evidence_at_1024=_mean([e for es in ev_type.values() for e in es]),
        update_accuracy=_mean(kus),
        updates=len(kus),
        p50_ms=_pct(lat, 0.5),
        p95_ms=_pct(lat, 0.95),
        by_type={k: sum(v) / len(v) for k, v in sorted(by_type.items())},
        evidence_by_type={k: sum(v) / len(v) for k, v in sorted(ev_type.items())},
        **judged,
    )


@dataclass
class SetResult:
    name: str
    counts: dict[str, int]
    evidence: dict[str, int]
    seconds: float
    #: part -> method -> figures
    figures: dict[str, dict[str, PartFigures]]
    error: str | None = None


@dataclass
class SuiteReport:
    config: dict[str, Any]
    versions: dict[str, str]
    sets: list[SetResult]
    reports: dict[str, BenchReport] = field(default_factory=dict)

    def to_dict(self, *, questions: bool = False) -> dict[str, Any]:
        """The JSON report; ``questions=True`` adds every set's per-question results."""
        out: dict[str, Any] = {
            "config": self.config,
            "versions": self.versions,
            "sets": [dataclasses.asdict(s) for s in self.sets],
        }
        if questions:
            out["reports"] = {k: r.to_dict() for k, r in self.reports.items()}
        return out


def _trim(ds: BenchDataset, limit: int | None, questions: int | None) -> BenchDataset:
    """The first ``limit`` conversations of each part (both parts stay present)."""
    if limit is None and questions is None:
        return ds
    dev = ds.part("dev").subset(conversations=limit, questions=questions)
    held = ds.part("held").subset(conversations=limit, questions=questions)
    keep = {c.id for c in dev.conversations + held.conversations}
    convs = [
        next(c for c in dev.conversations + held.conversations if c.id == conv.id)
        for conv in ds.conversations
        if conv.id in keep
    ]
    kept_q = {q.id for c in convs for q in c.questions}
    issues = [i for i in ds.evidence_issues if i.question_id in kept_q]
    return BenchDataset(ds.benchmark, ds.path, ds.sha256, convs, issues)


def run_suite(
    data_dir: str | Path,
    config: BenchConfig,
    *,
    sets: Sequence[str] = SETS,
    limit: int | None = None,
    questions: int | None = None,
    beam_sizes: tuple[str, ...] = ("100K",),
    embedder: Embedder | None = None,
    echo: Callable[[str], None] | None = None,
    judgments: Mapping[tuple[str, str], Judgment] | None = None,
) -> SuiteReport:
    """Run every named set with ``config`` (its presets and baselines) and collect the figures.

    A set whose data is missing is recorded with its error and skipped. ``judgments``
    (:func:`.judged.load_judgments`) add the judged figures to every set and part.
    """
    from .runner import run_benchmark

    results: list[SetResult] = []
    reports: dict[str, BenchReport] = {}
    versions: dict[str, str] = {}
    for name in sets:
        try:
            ds = _trim(load_set(name, data_dir, beam_sizes=beam_sizes), limit, questions)
        except DatasetError as exc:
            results.append(SetResult(name, {}, {}, 0.0, {}, error=str(exc)))
            if echo:
                echo(f"{name}: skipped ({exc})")
            continue
        t0 = time.perf_counter()
        report = run_benchmark(ds, config, embedder=embedder)
        versions = report.versions
        reports[name] = report
        mine = (None if judgments is None else
                {q: j for (s, q), j in judgments.items() if s == name})
        figures: dict[str, dict[str, PartFigures]] = {
            part: {m.name: part_figures(report, ds.part(part), m.name, mine)
                   for m in report.methods}
            for part in PARTS
        }
        results.append(
            SetResult(
                name,
                counts={**report.counts,
                        "held_conversations": len(ds.part("held").conversations)},
                evidence={k: v for k, v in report.evidence.items() if isinstance(v, int)},
                seconds=time.perf_counter() - t0,
                figures=figures,
            )
        )
        if echo:
            echo(f"{name}: {report.counts['questions']} questions, "
                 f"{time.perf_counter() - t0:.0f} s")
    cfg = config.to_dict()
    cfg.update(sets=list(sets), limit=limit, questions=questions, beam_sizes=list(beam_sizes),
               data_dir=str(data_dir), judged=judgments is not None)
    return SuiteReport(cfg, versions, results, reports)


def _f(x: float | None, scale: float = 100.0, nd: int = 1) -> str:
    return "-" if x is None else f"{x * scale:.{nd}f}"


def render_suite(report: SuiteReport) -> str:
    """The one table (plain text, Markdown-compatible) plus BEAM's per-type line."""
    head = ("| set | part | method | n | R_any@10 | R_all@10 | MRR | evidence@1024 "
            "| update acc (n) | p50 / p95 ms |")
    lines = [head, "| " + " | ".join(["---"] * 10) + " |"]
    types: list[str] = []
    for s in report.sets:
        if s.error:
            lines.append(f"| {s.name} | - | skipped: {s.error} | | | | | | | |")
            continue
        for part, methods in s.figures.items():
            for m, f in methods.items():
                upd = "-" if f.update_accuracy is None else f"{_f(f.update_accuracy)} ({f.updates})"
                lines.append(
                    f"| {s.name} | {part} | {m} | {f.questions} | {_f(f.r_any10)} | "
                    f"{_f(f.r_all10)} | {_f(f.mrr)} | {_f(f.evidence_at_1024)} | {upd} | "
                    f"{_f(f.p50_ms, 1)} / {_f(f.p95_ms, 1)} |"
                )
                if s.name == "beam" and f.by_type:
                    per = ", ".join(f"{k} {_f(v, nd=0)}" for k, v in f.by_type.items())
                    types.append(f"beam {part} {m} R_any@10 by type: {per}")
                if s.name == "beam" and f.evidence_by_type:
                    per = ", ".join(f"{k} {_f(v, nd=0)}" for k, v in f.evidence_by_type.items())
                    types.append(f"beam {part} {m} evidence@1024 by type: {per}")
    judged = [
        f"{s.name} {part} {m}: R_any@10 {_f(f.r_any10)} by the labels, {_f(f.r_any10_judged)} "
        f"with judged turns ({f.judged_questions} of {f.questions} questions judged; "
        f"{_f(f.unjudged10, 1.0, 1)} of their top 10 unjudged); evidence@1024 "
        f"{_f(f.evidence_at_1024)} -> {_f(f.evidence_at_1024_judged)}"
        for s in report.sets if not s.error
        for part, methods in s.figures.items() for m, f in methods.items()
        if f.r_any10_judged is not None and f.judged_questions]
    return "\n".join(lines + ([""] + types if types else [])
                     + ([""] + judged if judged else []))
