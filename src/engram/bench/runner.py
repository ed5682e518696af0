"""Run a benchmark against a real Engram instance.

Protocol (the same for every method, so the figures are comparable):

1. One fresh SQLite file in a temporary directory; one embedder shared by
   everything. Every conversation goes into its own scope
   (``user_id="bench:<conversation id>"``), one ``add`` call per session with
   the session id, each turn carrying its speaker, role, real timestamp and
   ``metadata={"dia_id": <turn id>}``; the turn's client id is
   ``"<conversation id>:<turn id>"``.
2. For each method (an Engram retrieval preset; ``bm25`` and ``dense`` are the
   baselines) every question searches its own conversation's scope only, with
   ``now=`` the question time, ``limit=depth``. Hits become turn ids (an
   episode hit: its ``dia_id``; a memory hit: the ``dia_id`` of each source
   episode) and are scored by :mod:`.metrics` at turn and session level.
3. Answer coverage: ``context()`` at every token budget, then whether the
   normalised gold answer occurs in the block.
4. Full-context baseline: the whole conversation as dated lines, its token
   count (the engine's tokenizer) and whether it holds the answer.
5. Optional QA mode (:mod:`.qa`).

Presets only change search, so the data is ingested once per run. Questions
without gold evidence are left out of retrieval figures (and counted);
questions with ``scored=False`` are aggregated apart.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EngramError
from .contexts import context_blocks, full_context_text, hit_units, scope_user
from .dataset import BenchDataset, Question
from .metrics import (
    KS,
    answer_in_context,
    answer_token_recall,
    distinct_ranking,
    score_ranking,
    session_ranking,
)
from .progress import Progress
from .results import (
    BenchReport,
    FullContextSummary,
    IngestStats,
    MethodQuestionResult,
    QuestionResult,
)
from .summary import summarize_full_context, summarize_method

if TYPE_CHECKING:
    from ..embed.base import Embedder
    from .qa import QAConfig

__all__ = [
    "BASELINES",
    "BenchConfig",
    "EngineFactory",
    "default_engine",
    "hit_units",
    "ingest_dataset",
    "run_benchmark",
    "run_locomo",
    "run_longmemeval",
    "scope_user",
]

#: Presets that count as baselines (never the "Engram" side of a headline).
BASELINES: tuple[str, ...] = ("bm25", "dense")

#: Builds the engine on a database path with the shared embedder.
EngineFactory = Callable[[Path, "Embedder | None"], Any]


@dataclass(frozen=True)
class BenchConfig:
    """What to run. ``presets``: the Engram presets under test (first = headline);
    ``baselines`` are always run too. ``conversations``/``questions``: keep
    only the first *n* conversations / the first *n* questions of each.
    ``workdir``: where the SQLite file goes (default: a temporary directory,
    removed afterwards unless ``keep_db``)."""

    presets: tuple[str, ...] = ("hybrid",)
    baselines: tuple[str, ...] = BASELINES
    ks: tuple[int, ...] = KS
    depth: int = 50
    budgets: tuple[int, ...] = (256, 512, 1024, 2048)
    coverage: bool = True
    full_context: bool = True
    conversations: int | None = None
    questions: int | None = None
    workdir: str | None = None
    keep_db: bool = False
    progress: bool = True
    qa: QAConfig | None = None

    def methods(self) -> list[tuple[str, str]]:
        """``(preset, kind)`` in run order, each preset once."""
        out: list[tuple[str, str]] = []
        for p in (*self.presets, *self.baselines):
            if p not in [n for n, _ in out]:
                out.append((p, "baseline" if p in self.baselines else "engram"))
        return out

    def primary(self) -> str | None:
        return next((p for p, kind in self.methods() if kind == "engram"), None)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["qa"] = self.qa.to_dict() if self.qa is not None else None
        return d


def _sanitize(text: str, max_bytes: int) -> tuple[str, bool]:
    """Text the engine accepts: no NUL or lone surrogates, at most ``max_bytes`` UTF-8 bytes."""
    text = text.replace("\x00", " ").encode("utf-8", "replace").decode("utf-8")
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text, False
    return raw[:max_bytes].decode("utf-8", "ignore"), True


def default_engine(db_path: Path, embedder: Embedder | None) -> Any:
    """An Engram on ``db_path`` with default settings (no config file or environment)."""
    from ..config import Config
    from ..engine import Engram

    cfg = Config(store=f"sqlite:///{db_path}", sqlite_synchronous="NORMAL")
    return Engram(config=cfg, embedder=embedder)


def _max_text_bytes(eg: Any) -> int:
    cfg = getattr(eg, "config", None)
    return int(getattr(cfg, "max_text_bytes", 32_768))


def ingest_dataset(
    eg: Any, ds: BenchDataset, progress: Progress
) -> tuple[IngestStats, dict[str, str]]:
    """Add every session; returns the stats and a map episode id -> turn id."""
    limit = _max_text_bytes(eg)
    episode_turn: dict[str, str] = {}
    errors: list[str] = []
    truncated = n_sessions = n_turns = 0
    total = sum(len(c.turns) for c in ds.conversations)
    t0 = time.perf_counter()
    with progress.task("ingest", total) as advance:
        for conv in ds.conversations:
            user = scope_user(conv)
            for session in conv.sessions:
                batch = []
                for turn in session.turns:
                    text, cut = _sanitize(turn.text, limit)
                    truncated += cut
                    batch.append(
                        {
                            "id": f"{conv.id}:{turn.id}",
                            "text": text,
                            "role": turn.role,
                            "speaker": turn.speaker,
                            "occurred_at": turn.occurred_at,
                            "metadata": {"dia_id": turn.id},
                        }
                    )
                try:
                    res = eg.add(batch, user_id=user, session_id=session.id)
                except EngramError as exc:
                    errors.append(f"{conv.id}/{session.id}: {exc}")
                else:
                    for turn, ep in zip(session.turns, res.episodes, strict=False):
                        episode_turn[ep.id] = turn.id
                    n_turns += len(batch)
                n_sessions += 1
                advance(len(batch))
    secs = time.perf_counter() - t0
    stats = IngestStats(
        seconds=secs,
        conversations=len(ds.conversations),
        sessions=n_sessions,
        turns=n_turns,
        turns_per_second=n_turns / secs if secs > 0 else 0.0,
        truncated_turns=truncated,
        errors=errors,
    )
    return stats, episode_turn


def _question_result(q: Question) -> QuestionResult:
    return QuestionResult(
        id=q.id,
        conversation_id=q.conversation_id,
        category=q.category,
        question=q.text,
        answer=q.answer,
        scored=q.scored,
        abstention=q.abstention,
        evidence_turns=list(q.evidence_turns),
        evidence_sessions=list(q.evidence_sessions),
    )


def _coverable(q: Question) -> bool:
    return bool(q.answer.strip()) and not q.abstention


def _run_method(
    eg: Any,
    preset: str,
    ds: BenchDataset,
    results: dict[str, QuestionResult],
    episode_turn: dict[str, str],
    cfg: BenchConfig,
    progress: Progress,
) -> None:
    with progress.task(f"search {preset}", len(results)) as advance:
        for conv in ds.conversations:
            user = scope_user(conv)
            session_of = conv.session_of()
            for q in conv.questions:
                t0 = time.perf_counter()
                hits = eg.search(
                    q.text, user_id=user, limit=cfg.depth, preset=preset, now=q.asked_at
                )
                latency = (time.perf_counter() - t0) * 1000
                ranked = [hit_units(h, episode_turn) for h in hits]
                distinct = distinct_ranking(ranked)
                turn = score_ranking(distinct, q.evidence_turns, cfg.ks)
                sess = score_ranking(
                    session_ranking(distinct, session_of), q.evidence_sessions, cfg.ks
                )
                mr = MethodQuestionResult(
                    retrieved=ranked,
                    latency_ms=latency,
                    turn=turn.flat() if turn else None,
                    session=sess.flat() if sess else None,
                )
                answered = _coverable(q)
                if cfg.coverage and (answered or (q.evidence_turns and not q.abstention)):
                    # the evidence of a question with no answer text (BEAM's instruction
                    # and preference questions) is looked for too; the answer only
                    # where there is one
                    units: dict[Any, list[str]] = {}
                    blocks = context_blocks(eg, q, user, preset, cfg.budgets, units, episode_turn)
                    gold = set(q.evidence_turns)
                    for budget, block in blocks.items():
                        mr.evidence_in_context[budget] = any(
                            gold.intersection(units.get(i.ref, ())) for i in block.items
                        )
                        mr.context_units[budget] = list(dict.fromkeys(
                            u for i in block.items for u in units.get(i.ref, ())))
                        if not answered:
                            continue
                        mr.coverage[budget] = answer_in_context(q.answer, block.text)
                        mr.token_recall[budget] = answer_token_recall(q.answer, block.text) or 0.0
                        mr.context_tokens[budget] = int(block.tokens)
                results[q.id].methods[preset] = mr
                advance(1)


def _full_context(
    eg: Any, ds: BenchDataset, results: dict[str, QuestionResult]
) -> FullContextSummary:
    tokens: dict[str, int] = {}
    for conv in ds.conversations:
        text = full_context_text(conv)
        tokens[conv.id] = int(eg.count_tokens(text))
        for q in conv.questions:
            if _coverable(q):
                results[q.id].full_context_covered = answer_in_context(q.answer, text)
                results[q.id].full_context_token_recall = answer_token_recall(q.answer, text)
    return summarize_full_context(list(results.values()), tokens)


def _versions(eg: Any) -> dict[str, str]:
    out = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
    }
    for dist in ("engramdb", "numpy", "onnxruntime", "tokenizers", "faiss-cpu", "voyager"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    out.update(_git_state())
    emb = getattr(eg, "embedder", None)
    if callable(emb):
        try:
            emb = emb()
        except EngramError:
            emb = None
    model = getattr(emb, "model_id", None)
    if model is not None:
        out["embedder"] = str(model)
    return out


def _git_state() -> dict[str, str]:
    """``git_commit`` (and ``git_dirty``) of the source checkout, when it is one."""
    import subprocess

    from .paths import repo_root

    root = repo_root()
    if root is None or not (root / ".git").exists():
        return {}
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "src"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    if not head:
        return {}
    return {"git_commit": head, "git_dirty": "yes" if dirty else "no"}


def peak_rss_mb() -> float | None:
    """Peak resident set size of this process in MiB (``None`` where unknown)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@contextmanager
def _workdir(cfg: BenchConfig) -> Iterator[Path]:
    if cfg.workdir:
        p = Path(cfg.workdir)
        p.mkdir(parents=True, exist_ok=True)
        yield p
    elif cfg.keep_db:
        yield Path(tempfile.mkdtemp(prefix="engram-bench-"))
    else:
        with tempfile.TemporaryDirectory(prefix="engram-bench-") as d:
            yield Path(d)


def _check_presets(cfg: BenchConfig) -> None:
    """Fail before ingesting when a preset name is unknown (raises ConfigError)."""
    from ..retrieval.config import get_preset

    names = [p for p, _ in cfg.methods()]
    if cfg.qa is not None:
        from .qa import FULL

        names += [m for m in cfg.qa.methods if m != FULL]
    for name in names:
        get_preset(name)


def run_benchmark(
    dataset: BenchDataset,
    config: BenchConfig | None = None,
    *,
    embedder: Embedder | None = None,
    engine_factory: EngineFactory | None = None,
) -> BenchReport:
    """Ingest ``dataset`` once, run every method, and return the full report."""
    from .report import compute_headlines, compute_qa_headlines

    cfg = config or BenchConfig()
    _check_presets(cfg)
    ds = dataset.subset(conversations=cfg.conversations, questions=cfg.questions)
    started = datetime.now(UTC)
    t_start = time.perf_counter()
    progress = Progress(enabled=cfg.progress)
    results = {q.id: _question_result(q) for q in ds.questions}
    factory = engine_factory or default_engine
    with _workdir(cfg) as work:
        db = work / f"{ds.benchmark}-{started:%Y%m%dT%H%M%S}.db"
        eg = factory(db, embedder)
        try:
            with progress:
                ingest, episode_turn = ingest_dataset(eg, ds, progress)
                for preset, _kind in cfg.methods():
                    _run_method(eg, preset, ds, results, episode_turn, cfg, progress)
                full = _full_context(eg, ds, results) if cfg.full_context else None
                qa_summary = None
                if cfg.qa is not None:
                    from .qa import run_qa

                    qa_summary = run_qa(eg, ds, results, cfg, progress)
            versions = _versions(eg)
        finally:
            eg.close()
    qrs = list(results.values())
    methods = [summarize_method(name, kind, qrs, cfg) for name, kind in cfg.methods()]
    primary = cfg.primary()
    headlines = compute_headlines(methods, primary) if primary else []
    if qa_summary is not None and primary:
        from .qa import FULL

        headlines += compute_qa_headlines(qa_summary, primary, (*cfg.baselines, FULL))
    scored_no_gold = sum(1 for q in ds.questions if q.scored and not q.evidence_turns)
    return BenchReport(
        benchmark=ds.benchmark,
        dataset_path=ds.path,
        dataset_sha256=ds.sha256,
        config=cfg.to_dict(),
        versions=versions,
        started_at=started.isoformat(),
        counts={
            "conversations": len(ds.conversations),
            "sessions": sum(len(c.sessions) for c in ds.conversations),
            "turns": sum(len(c.turns) for c in ds.conversations),
            "questions": len(ds.questions),
            "scored": sum(1 for q in ds.questions if q.scored),
        },
        evidence={
            "repaired": ds.repaired,
            "skipped": ds.skipped,
            "questions_without_evidence": scored_no_gold,
            "issues": [dataclasses.asdict(i) for i in ds.evidence_issues],
        },
        ingest=ingest,
        methods=methods,
        questions=qrs,
        peak_rss_mb=peak_rss_mb(),
        full_context=full,
        qa=qa_summary,
        headlines=headlines,
        seconds=time.perf_counter() - t_start,
    )


def run_locomo(
    data: str | Path | None = None,
    config: BenchConfig | None = None,
    *,
    embedder: Embedder | None = None,
) -> BenchReport:
    """LoCoMo from ``data`` (a ``locomo10.json``-layout file or its directory;
    default: ``../shared/data/locomo`` from the repository root)."""
    from ..errors import InvalidInput
    from .locomo import load_locomo
    from .paths import default_locomo_path

    path = data or default_locomo_path()
    if path is None:
        raise InvalidInput("no LoCoMo data found; pass the path of a locomo10.json file")
    return run_benchmark(load_locomo(path), config, embedder=embedder)


def run_longmemeval(
    data: str | Path,
    config: BenchConfig | None = None,
    *,
    limit: int | None = None,
    embedder: Embedder | None = None,
) -> BenchReport:
    """LongMemEval from an S / M / oracle file; ``limit`` keeps the first *n* questions."""
    from .longmemeval import load_longmemeval

    return run_benchmark(load_longmemeval(data, limit=limit), config, embedder=embedder)
