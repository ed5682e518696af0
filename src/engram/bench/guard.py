"""``engram bench guard``: what the poisoning scan costs a write, and what it flags.

Every human turn of the chat sets (LoCoMo and REALTALK turns, BEAM's user messages, of
its 100K chats or with ``--beam-500k`` its 500K chats too; ``--roles all`` adds BEAM's
assistant messages), dev and held-apart parts, goes through :func:`engram.trust.scan`,
the function every write calls, in order, once per pass, with the text memos emptied
before each pass, as a process that has just started writing them would (the rule
pattern set compiled first, as it is after a process's first few hundred messages).
Each pass scans them all with the rules' pattern set (:mod:`engram.trust.patternset`),
then all with the rules searched one pattern at a time: the baseline of the same run.
Scan time is the scanning thread's CPU time (the other processes of a shared machine do
not count), per message, in milliseconds: mean, p50, p95, p99, each the best of the
passes.

Flags: how many of those ordinary turns are flagged (false positives: the issue's line
is 1%). With ``--labelled FILE`` (JSON lines with ``text`` and ``label``,
``injected`` or anything else; e.g. ``tests/fixtures/poisoning_labelled.jsonl``), also
the share of injected texts caught and of the others flagged. Verdicts are the same
with and without the pattern set; a turn where they differ is counted
(``differ``, always 0 unless something is wrong).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ..errors import InvalidInput
from ..text import clear_text_caches
from ..trust import poisoning
from ..trust.poisoning import Verdict

__all__ = ["GuardBenchReport", "SetFigures", "guard_command", "run_guard_bench", "timings"]

#: the chat sets read (their human turns)
SETS = ("locomo", "realtalk", "beam")


@dataclass
class SetFigures:
    """One chat set's turns: their count and length, how many the scan flags, and the
    scan time per message in ms with and without the pattern set."""

    name: str
    turns: int
    mean_chars: float
    flagged: int
    #: ``with`` / ``without`` the pattern set -> mean, p50, p95, p99 (ms)
    ms: dict[str, dict[str, float]] = field(default_factory=dict)
    differ: int = 0

    @property
    def flagged_rate(self) -> float:
        return self.flagged / self.turns if self.turns else 0.0


@dataclass
class GuardBenchReport:
    """Everything one run measured (``to_dict`` is the JSON report)."""

    sets: list[SetFigures]
    pattern_set: str
    passes: int
    labelled: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"pattern_set": self.pattern_set, "passes": self.passes,
                "sets": [{**asdict(s), "flagged_rate": s.flagged_rate} for s in self.sets],
                "labelled": self.labelled}


def _quantiles(per: list[float]) -> dict[str, float]:
    per = sorted(per)
    return {"mean": statistics.fmean(per), "p50": per[len(per) // 2],
            "p95": per[int(len(per) * 0.95)], "p99": per[int(len(per) * 0.99)]}


def timings(texts: Sequence[str], scan: Callable[[str], Verdict], passes: int = 3
            ) -> tuple[dict[str, dict[str, float]], list[Verdict], list[Verdict]]:
    """Scan ``texts`` in order, all of them with the pattern set, then all without it,
    ``passes`` times (memos emptied before each: both sides start as cold as the other):
    ``with`` / ``without`` -> mean, p50, p95, p99 in ms (each the best pass), and the
    verdicts with and without."""
    patterns = poisoning.pattern_set()
    best: dict[str, dict[str, float]] = {}
    verdicts: dict[bool, list[Verdict]] = {True: [], False: []}
    try:
        for _ in range(max(1, passes)):
            for on, key in ((True, "with"), (False, "without")):
                patterns.enabled = on
                clear_text_caches()
                per: list[float] = []
                verdicts[on] = []
                for text in texts:
                    start = time.thread_time_ns()
                    verdicts[on].append(scan(text))
                    per.append((time.thread_time_ns() - start) / 1e6)
                q = _quantiles(per) if per else {}
                old = best.get(key)
                best[key] = q if old is None else {k: min(v, old[k]) for k, v in q.items()}
    finally:
        patterns.enabled = True
    return best, verdicts[True], verdicts[False]


def _turns(name: str, data_dir: Path, roles: str, limit: int | None,
           beam_sizes: tuple[str, ...]) -> list[str]:
    from .suite import load_set

    ds = load_set(name, data_dir, beam_sizes=beam_sizes)
    convs = ds.conversations[:limit] if limit else ds.conversations
    return [t.text for c in convs for t in c.turns
            if t.text.strip() and (roles == "all" or t.role == "user")]


def _labelled(path: Path) -> list[tuple[str, bool]]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"--labelled: cannot read {path}: {exc}") from None
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, label = row["text"], row["label"]
        except (ValueError, KeyError, TypeError):
            raise InvalidInput(f"--labelled: line {i} of {path} is not a JSON object with "
                               f"'text' and 'label'") from None
        if not isinstance(text, str):
            raise InvalidInput(f"--labelled: line {i} of {path}: 'text' is not a string")
        rows.append((text, label == "injected"))
    if not rows:
        raise InvalidInput(f"--labelled: {path} holds no texts")
    return rows


def run_guard_bench(data_dir: Path, sets: Sequence[str] = SETS, *, roles: str = "user",
                    limit: int | None = None, passes: int = 3,
                    beam_sizes: tuple[str, ...] = ("100K",), labelled: Path | None = None,
                    echo: Callable[[str], None] | None = None) -> GuardBenchReport:
    """Measure the scan on each chat set (see the module docstring)."""
    from ..trust import scan

    unknown = [s for s in sets if s not in SETS]
    if unknown:
        raise InvalidInput(f"unknown data set(s) {', '.join(unknown)}; known: "
                           f"{', '.join(SETS)}")
    rows = _labelled(labelled) if labelled is not None else None
    patterns = poisoning.pattern_set()
    state = "ready" if patterns.build() else f"unavailable ({patterns.error or 'no wheel'})"
    scan("warm up")
    out: list[SetFigures] = []
    for name in sets:
        texts = _turns(name, data_dir, roles, limit, beam_sizes)
        if echo:
            echo(f"{name}: {len(texts)} turns")
        ms, with_, without = timings(texts, scan, passes)
        out.append(SetFigures(
            name=name, turns=len(texts),
            mean_chars=statistics.fmean(len(t) for t in texts) if texts else 0.0,
            flagged=sum(v.flagged for v in with_), ms=ms,
            differ=sum(a != b for a, b in zip(with_, without, strict=True))))
    figures = None
    if rows is not None:
        verdicts = [scan(t).flagged for t, _ in rows]
        pos = [v for v, (_, bad) in zip(verdicts, rows, strict=True) if bad]
        neg = [v for v, (_, bad) in zip(verdicts, rows, strict=True) if not bad]
        figures = {"file": str(labelled), "injected": len(pos), "caught": sum(pos),
                   "other": len(neg), "flagged": sum(neg)}
    return GuardBenchReport(sets=out, pattern_set=state, passes=passes, labelled=figures)


def _rate(a: int, b: int) -> str:
    return f"{a}/{b} = {a / b:.1%}" if b else "-"


def _ms(q: dict[str, float]) -> str:
    return "/".join(f"{q[k]:.3f}" for k in ("mean", "p50", "p95", "p99")) if q else "-"


def format_report(rep: GuardBenchReport) -> str:
    lines = [f"pattern set: {rep.pattern_set}; scan time: thread CPU per message, each "
             f"message once, in order, memos emptied, best of {rep.passes} passes",
             f"{'set':<9} {'turns':>6} {'chars':>6} {'flagged':>14}  "
             f"{'pattern set mean/p50/p95/p99 ms':<32} {'one pattern at a time':<27} differ"]
    for s in rep.sets:
        lines.append(f"{s.name:<9} {s.turns:>6} {s.mean_chars:>6.0f} "
                     f"{s.flagged:>6} ({s.flagged_rate:6.2%})  {_ms(s.ms.get('with', {})):<32} "
                     f"{_ms(s.ms.get('without', {})):<27} {s.differ}")
    if rep.labelled:
        lab = rep.labelled
        lines.append(f"labelled ({lab['file']}): injected caught "
                     f"{_rate(lab['caught'], lab['injected'])}, others flagged "
                     f"{_rate(lab['flagged'], lab['other'])}")
    return "\n".join(lines)


@click.command("guard")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder holding locomo/, realtalk/, beam/ (default: ../shared/data from "
                   "the repository root).")
@click.option("--sets", default=",".join(SETS), show_default=True,
              help="Chat sets, comma-separated.")
@click.option("--roles", type=click.Choice(["user", "all"]), default="user",
              show_default=True, help="Human turns only, or BEAM's assistant messages too.")
@click.option("--limit", type=int, default=None, help="Only the first N conversations of each.")
@click.option("--beam-500k", is_flag=True, help="Read BEAM's 500K chats too.")
@click.option("--passes", default=3, show_default=True, help="Passes (each quantile: the best).")
@click.option("--labelled", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON lines with text and label (injected or not): detection and false "
                   "flags on them too.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the report as JSON here.")
def guard_command(data_dir: Path | None, sets: str, roles: str, limit: int | None,
                  beam_500k: bool, passes: int, labelled: Path | None, out: Path | None
                  ) -> None:
    """Poisoning scan: time per message (with and without the rules' pattern set) and
    flags on ordinary chat turns (see engram.bench.guard)."""
    from .paths import default_data_dir

    try:
        root = data_dir or default_data_dir()
        if root is None or not root.is_dir():
            raise InvalidInput("no data directory; pass --data-dir (holding locomo/, beam/, ...)")
        if passes < 1 or (limit is not None and limit < 1):
            raise InvalidInput("--passes and --limit must be at least 1")
        rep = run_guard_bench(root, [s.strip() for s in sets.split(",") if s.strip()],
                              roles=roles, limit=limit, passes=passes, labelled=labelled,
                              beam_sizes=("100K", "500K") if beam_500k else ("100K",),
                              echo=click.echo)
    except InvalidInput as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(format_report(rep))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"guard-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
        path.write_text(json.dumps(rep.to_dict(), indent=1), encoding="utf-8")
        click.echo(f"report: {path}")

