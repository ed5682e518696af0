"""``engram bench ingest``: how fast ``add`` takes LoCoMo turns, and when their vectors follow.

Every LoCoMo turn is added through :meth:`engram.Engram.add` with the default
rules derivation, one session per call (as ``engram bench locomo`` does) or one
message per call, into a fresh SQLite file, in two modes:

* ``inline``: ``add`` embeds the episodes before it returns (``embed_queue=False``);
* ``queued``: ``add`` stores them with a durable ``embed`` job and returns; the
  engine's embed thread (:mod:`engram.ingest.embed_queue`) makes the vectors
  meanwhile, on the other core.

Each run reports turns per second acknowledged (the time spent in ``add``),
``add`` p50/p95/max in ms, and for ``queued`` the time until every vector is
written (turns per second to vectors), the queue delay of the jobs (creation ->
vectors written) p50/p95/max, and the lowest cosine between a queued vector and
the inline vector of the same text (the same model: 1.0 up to float rounding).
``--rate`` offers the turns at a chat's pace instead of as fast as ``add``
returns: the queue delay then shows how far the vectors trail when the
embedder keeps up, rather than the backlog of a bulk load. CPU per ``add`` and
for the whole process are reported too: on a shared machine wall times grow
with other processes' load, CPU times do not.
A command, not a test: it measures, it asserts nothing.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .metrics import percentile

if TYPE_CHECKING:
    import click

    from ..embed.base import Embedder
    from .dataset import BenchDataset

__all__ = ["IngestRun", "ingest_command", "run_ingest"]

#: ``(user, session id, messages)``: one add per session
Sessions = list[tuple[str, str, list[dict[str, Any]]]]


@dataclass
class IngestRun:
    """One ingest of the data in one mode (module docstring); times in seconds,
    ``add_ms_*`` in milliseconds per ``add`` call."""

    mode: str
    per: str
    turns: int
    adds: int
    seconds: float
    turns_per_second: float
    add_ms_p50: float
    add_ms_p95: float
    add_ms_max: float
    #: CPU time of the calling thread per ``add`` (load on other processes does
    #: not change it; wall times do, on a shared machine)
    add_cpu_ms_p50: float
    add_cpu_ms_p95: float
    #: CPU seconds of the calling thread in all ``add`` calls, and of the whole
    #: process (adds, embed thread, final drain)
    add_cpu_seconds: float
    cpu_seconds: float
    #: until every vector is written (``inline``: the same as ``seconds``)
    vectors_seconds: float
    turns_per_second_to_vectors: float
    delay_p50: float | None = None
    delay_p95: float | None = None
    delay_max: float | None = None
    #: lowest cosine of a queued vector to the inline vector of the same text
    min_cosine: float | None = None


def sessions_of(ds: BenchDataset, max_text_bytes: int = 32_768) -> Sessions:
    """The dataset's sessions as ``add`` payloads (texts cut to ``max_text_bytes``)."""
    from .contexts import scope_user

    out: Sessions = []
    for conv in ds.conversations:
        for session in conv.sessions:
            msgs = [{
                "id": f"{conv.id}:{t.id}",
                "text": t.text.encode()[:max_text_bytes].decode(errors="ignore") or ".",
                "role": t.role, "speaker": t.speaker, "occurred_at": t.occurred_at,
            } for t in session.turns]
            if msgs:
                out.append((scope_user(conv), session.id, msgs))
    return out


def run_ingest(sessions: Sessions, mode: str, per: str, embedder: Embedder, db: Path,
               reference: Path | None = None, rate: float = 0.0) -> IngestRun:
    """Ingest ``sessions`` into a new SQLite file ``db`` (``mode``: inline | queued;
    ``per``: session | message); ``reference``: an inline run's file to compare
    vectors with; ``rate``: turns per second offered (``0``: as fast as ``add``
    returns; a chat's pace shows the queue delay when the embedder keeps up)."""
    from ..config import Config
    from ..engine import Engram

    cfg = Config(store=f"sqlite:///{db}", sqlite_synchronous="NORMAL",
                 embed_queue=mode == "queued")
    calls = [(u, s, [m]) for u, s, msgs in sessions for m in msgs] if per == "message" \
        else sessions
    lat: list[float] = []
    cpu: list[float] = []
    with Engram(config=cfg, embedder=embedder) as eg:
        embeds = eg.ingest.embeds
        if mode == "queued":
            embeds.start(poll_seconds=0.5)
        t0, c0 = time.perf_counter(), time.process_time()
        offered = 0
        for user, session, msgs in calls:
            if rate > 0:
                time.sleep(max(0.0, t0 + offered / rate - time.perf_counter()))
            offered += len(msgs)
            a, ca = time.perf_counter(), time.thread_time()
            eg.add(msgs, user_id=user, session_id=session)
            lat.append(time.perf_counter() - a)
            cpu.append(time.thread_time() - ca)
        acked = time.perf_counter() - t0
        if mode == "queued":
            embeds.stop()
            embeds.drain()
        done = time.perf_counter() - t0
        cpu_total = time.process_time() - c0
        delays = embeds.delays()
        store = eg.store
        min_cos = _min_cosine(store, reference) if reference is not None else None
    turns = sum(len(m) for _, _, m in calls)
    return IngestRun(
        mode=mode, per=per, turns=turns, adds=len(calls), seconds=acked,
        turns_per_second=turns / acked if acked else 0.0,
        add_ms_p50=percentile(lat, 50) * 1e3, add_ms_p95=percentile(lat, 95) * 1e3,
        add_ms_max=max(lat, default=0.0) * 1e3,
        add_cpu_ms_p50=percentile(cpu, 50) * 1e3, add_cpu_ms_p95=percentile(cpu, 95) * 1e3,
        add_cpu_seconds=sum(cpu), cpu_seconds=cpu_total,
        vectors_seconds=done, turns_per_second_to_vectors=turns / done if done else 0.0,
        delay_p50=percentile(delays, 50) if delays else None,
        delay_p95=percentile(delays, 95) if delays else None,
        delay_max=max(delays) if delays else None,
        min_cosine=min_cos,
    )


def _min_cosine(store: Any, reference: Path) -> float | None:
    """Lowest cosine between this store's episode vectors and the reference file's
    vectors of the same content hash."""
    import numpy as np

    from ..store import open_store

    ref = open_store(f"sqlite:///{reference}")
    try:
        known = {v.content_hash: np.asarray(v.vector) for v in ref.iter_vectors("default")}
    finally:
        ref.close()
    cos = [float(np.asarray(v.vector) @ known[v.content_hash])
           for v in store.iter_vectors("default") if v.content_hash in known]
    return min(cos) if cos else None


def run_all(sessions: Sessions, embedder: Embedder, modes: Sequence[str],
            pers: Sequence[str], workdir: Path,
            say: Callable[[str], None] = lambda _: None, rate: float = 0.0) -> list[IngestRun]:
    """Every (mode, per) run; queued runs are compared with the inline run of the
    same granularity when there is one."""
    runs: list[IngestRun] = []
    for per in pers:
        reference: Path | None = None
        for mode in modes:
            db = workdir / f"{mode}-{per}.db"
            say(f"bench ingest: {mode}, one add per {per}")
            run = run_ingest(sessions, mode, per, embedder, db,
                             reference if mode == "queued" else None, rate)
            if mode == "inline":
                reference = db
            runs.append(run)
    return runs


def format_table(runs: Sequence[IngestRun]) -> str:
    """The runs in a table of at most 80 columns."""
    def f(v: float | None, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    lines = [
        f"{'mode':<7}{'add per':<8}{'turns':>6}{'turns/s':>8}{'add ms':>14}"
        f"{'to vec/s':>9}{'queue delay s':>18}{'min cos':>9}",
        f"{'':<7}{'':<8}{'':>6}{'':>8}{'p50/p95':>14}{'':>9}{'p50/p95/max':>18}{'':>9}",
    ]
    for r in runs:
        add_ms = f"{f(r.add_ms_p50, '.1f')}/{f(r.add_ms_p95, '.1f')}"
        delay = f"{f(r.delay_p50, '.2f')}/{f(r.delay_p95, '.2f')}/{f(r.delay_max, '.1f')}"
        lines.append(
            f"{r.mode:<7}{r.per:<8}{r.turns:>6}{r.turns_per_second:>8.1f}{add_ms:>14}"
            f"{r.turns_per_second_to_vectors:>9.1f}{delay:>18}{f(r.min_cosine, '.5f'):>9}"
        )
    lines += ["", f"{'mode':<7}{'add per':<8}{'add cpu ms':>12}{'add cpu s':>10}"
              f"{'turns/add-cpu-s':>16}{'all cpu s':>10}{'turns/cpu-s':>12}",
              f"{'':<7}{'':<8}{'p50/p95':>12}"]
    for r in runs:
        add_cpu = f"{r.add_cpu_ms_p50:.1f}/{r.add_cpu_ms_p95:.1f}"
        per_add = r.turns / r.add_cpu_seconds if r.add_cpu_seconds else 0.0
        per_cpu = r.turns / r.cpu_seconds if r.cpu_seconds else 0.0
        lines.append(f"{r.mode:<7}{r.per:<8}{add_cpu:>12}{r.add_cpu_seconds:>10.1f}"
                     f"{per_add:>16.1f}{r.cpu_seconds:>10.1f}{per_cpu:>12.1f}")
    return "\n".join(lines)


def _command() -> click.Command:
    import click

    @click.command("ingest")
    @click.option("--data", type=click.Path(path_type=Path), default=None,
                  help="LoCoMo file (default: ../shared/data/locomo from the repository root).")
    @click.option("--conversations", type=int, default=None,
                  help="Only the first N conversations.")
    @click.option("--modes", default="inline,queued", show_default=True,
                  help="Comma-separated: inline, queued.")
    @click.option("--per", "pers", default="session,message", show_default=True,
                  help="Comma-separated add granularity: session, message.")
    @click.option("--threads", default=1, show_default=True, help="Embedder threads.")
    @click.option("--workers", default=2, show_default=True,
                  help="Embedding passes run at once (embed_workers).")
    @click.option("--embedder", "spec", default="default", show_default=True,
                  help="Embedder spec (e.g. onnx:all-MiniLM-L6-v2-int8-dynamic).")
    @click.option("--rate", type=float, default=0.0, show_default=True,
                  help="Turns per second offered (0: as fast as add returns).")
    @click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
    def ingest(data: Path | None, conversations: int | None, modes: str, pers: str,
               threads: int, workers: int, spec: str, rate: float, as_json: bool) -> None:
        """Ingest speed: turns/s, add() p50/p95, embed-queue delay (LoCoMo turns)."""
        from ..embed.registry import get_embedder
        from ..errors import InvalidInput
        from .locomo import load_locomo
        from .paths import default_locomo_path

        mode_list = [m.strip() for m in modes.split(",") if m.strip()]
        per_list = [p.strip() for p in pers.split(",") if p.strip()]
        if not mode_list or set(mode_list) - {"inline", "queued"}:
            raise click.BadParameter("--modes takes inline and/or queued")
        if not per_list or set(per_list) - {"session", "message"}:
            raise click.BadParameter("--per takes session and/or message")
        if rate < 0:
            raise click.BadParameter("--rate must be >= 0")
        path = data or default_locomo_path()
        if path is None:
            raise InvalidInput("no LoCoMo data found; pass --data PATH (a locomo10.json file)")
        ds = load_locomo(path)
        if conversations is not None:
            ds.conversations = ds.conversations[:conversations]
        opts = {"threads": threads, "workers": workers} if spec.startswith(
            ("onnx", "default", "minilm")) else {}
        embedder = get_embedder(spec, **opts)
        embedder.embed(["warm up"])  # model load is not ingest
        say = (lambda _: None) if as_json else click.echo
        with tempfile.TemporaryDirectory(prefix="engram-bench-ingest-") as tmp:
            runs = run_all(sessions_of(ds), embedder, mode_list, per_list, Path(tmp), say, rate)
        embedder.close()
        if as_json:
            click.echo(json.dumps([asdict(r) for r in runs], indent=2))
        else:
            click.echo(format_table(runs))

    return ingest


ingest_command = _command()
