"""``engram bench scale``: synthetic scale test of the embedded store.

Synthetic memories in one scope with random unit vectors (so 100k memories do
not take an hour of embedding); a separate line times the real embedder.
Reports ingest rate with and without embedding, store overhead per ingested
turn, search latency p50/p95 with and without query embedding, peak RSS and
bytes on disk per memory, and the CPU seconds of the index build (all threads)
and CPU ms per search under the table (``extra`` in the JSON): on a loaded
machine wall time grows with the load, CPU time much less. With the graph it
also reports recall@10 of the store's vector search against exact search for
the same query vectors (random vectors: the graph's worst case, see
docs/bench.md). A command, not a test: it measures, it asserts nothing.

Progress: :func:`run_scale` reports each stage (query embedding, real ingest,
then ingest, index build and searches per size) through an optional
``progress(label, total)`` context manager yielding ``advance(n)``; the command
passes :class:`engram.cli._progress.Progress` (a bar on a terminal, a line every
tenth elsewhere) and announces each stage in one line. The table fits 80 columns.
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..embed.base import Embedder, InputType
from ..engine import Engram
from ..ids import new_id
from ..ingest.commit import version
from ..ingest.index import Indexer
from ..models import ItemRef, Memory, MemoryKind, Operation, Scope
from ..store.base import WriteBatch
from ..text import content_hash
from ..timeutil import now

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["RandomEmbedder", "ScaleResult", "StageProgress", "print_report", "run_scale",
           "write_scale_chart"]

#: ``progress(label, total, unit)`` -> a context manager yielding ``advance(n)``
StageProgress = Callable[[str, int, str], AbstractContextManager[Callable[[int], None]]]


@contextmanager
def _silent(label: str, total: int, unit: str) -> Iterator[Callable[[int], None]]:
    yield lambda n: None

_WORDS = (
    "coffee tea hiking trip paris lisbon berlin dog cat sister brother job office meeting "
    "project deadline birthday party concert guitar piano painting book novel movie series "
    "garden flowers recipe pasta sushi tacos marathon yoga gym doctor dentist appointment "
    "school course exam vacation beach mountain camping car bike train flight hotel museum "
    "friend colleague manager family wedding anniversary gift budget savings rent apartment "
    "house kitchen laptop phone camera photo podcast music festival game soccer tennis swim"
).split()


class RandomEmbedder(Embedder):
    """Deterministic pseudo-random unit vectors keyed by text (scale tests only)."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.model_id = f"random:{dim}"

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            rng = np.random.default_rng(int(content_hash(t)[:16], 16))
            v = rng.standard_normal(self.dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


_SYLLABLES = "ka lo mi ne ru sa te vo zi da fe gu ha jo ki lu ma no pi re".split()
#: a Zipf-distributed vocabulary: a few hundred common words, thousands of rare ones
_VOCAB = (
    _WORDS + sorted({a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in _SYLLABLES})[:8000]
)
_WEIGHTS = [1.0 / (rank + 1) for rank in range(len(_VOCAB))]


def _text(rng: random.Random, n: tuple[int, int] = (8, 16)) -> str:
    """Synthetic text with Zipfian word frequencies (like real language)."""
    return " ".join(rng.choices(_VOCAB, weights=_WEIGHTS, k=rng.randint(*n)))


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass
class ScaleResult:
    n: int
    ingest_per_s_no_embed: float
    store_ms_per_turn: float
    index_build_s: float
    search_p50_ms: float
    search_p95_ms: float
    search_embed_p50_ms: float
    search_embed_p95_ms: float
    peak_rss_mb: float
    bytes_per_memory: float
    search_p99_ms: float = float("nan")
    search_embed_p99_ms: float = float("nan")
    #: a fresh process: open the engine and answer one search (imports excluded)
    cold_start_s: float = float("nan")
    #: bytes of the persisted index files per memory (part of ``bytes_per_memory``)
    index_bytes_per_memory: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


def _ingest(eg: Engram, scope: Scope, n: int, rng: random.Random, batch_size: int,
            advance: Callable[[int], None]) -> float:
    """Write ``n`` memories with random vectors straight through the store; seconds taken.

    Each memory's vector is made and keyed as real ingest makes it
    (:meth:`~engram.ingest.index.Indexer.vector_records`: the embedder sees the
    dated :func:`~engram.ingest.index.embedding_text`, stored under its content
    hash), so a search finds the stored vectors it asks for. The lexical index
    holds the bare text."""
    emb = eg.embedder()  # also records the model id in the store
    store = eg.store
    t_total = 0.0
    for start in range(0, n, batch_size):
        at = now()
        batch = WriteBatch()
        texts = [_text(rng) for _ in range(min(batch_size, n - start))]
        for text in texts:
            m = Memory(
                id=new_id("mem"),
                scope=scope,
                kind=MemoryKind.FACT,
                text=text,
                created_at=at,
                updated_at=at,
                valid_from=at,
            )
            batch.new_memories.append(m)
            batch.versions.append((scope.tenant, version(m, Operation.ADD, None, "bench", at)))
        # a fresh indexer per batch: its memo of vectors stays one batch long
        batch.vectors.extend(Indexer(store, emb).vector_records(batch.new_memories))
        t0 = time.perf_counter()
        store.write(batch)
        t_total += time.perf_counter() - t0
        advance(len(texts))
    return t_total


#: how a kept database's vectors are keyed (``<db>.ingest.json``): a database kept by
#: an older bench, which keyed them by the bare text, is not reused
_KEYED = "embedding_text"


def _kept(db: Path, n: int) -> bool:
    """Whether a finished earlier run left ``n`` memories in ``db``, keyed as
    :func:`_ingest` keys them. When not, whatever is there (an older bench's, or an
    ingest that was stopped) is deleted: the ingest starts from an empty file."""
    mark = db.with_name(db.name + ".ingest.json")
    if mark.exists() and db.exists():
        done = json.loads(mark.read_text())
        if done.get("n") == n and done.get("keyed") == _KEYED:
            return True
    for path in (mark, db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))):
        path.unlink(missing_ok=True)
    shutil.rmtree(db.with_name(db.name + ".index"), ignore_errors=True)
    return False


def _kept_ingest(
    eg: Engram, db: Path, scope: Scope, n: int, rng: random.Random, batch_size: int,
    advance: Callable[[int], None],
) -> float:
    """Ingest ``n`` memories into ``db`` (opened by ``eg`` after :func:`_kept`) unless
    :func:`_kept` found them there (``<db>.ingest.json`` records the seconds that
    ingest took); seconds of store writes."""
    mark = db.with_name(db.name + ".ingest.json")
    if mark.exists():
        advance(n)
        return float(json.loads(mark.read_text())["secs"])
    secs = _ingest(eg, scope, n, rng, batch_size, advance)
    mark.write_text(json.dumps({"n": n, "secs": secs, "keyed": _KEYED}))
    return secs


#: run in a fresh interpreter: time opening the store and answering one search
_COLD = r"""
import json, sys, time
t0 = time.perf_counter()
from engram.bench.scale import RandomEmbedder
from engram.engine import Engram
from engram.index.partition import PartitionIndex
from engram.models import Scope
t1 = time.perf_counter()
if sys.argv[4] == "exact":
    PartitionIndex.ann_threshold = sys.maxsize
eg = Engram(sys.argv[1], embedder=RandomEmbedder())
eg.search(sys.argv[2], scope=Scope(user_id=sys.argv[3]), limit=10, track_access=False)
t2 = time.perf_counter()
eg.close()
print(json.dumps({"import_s": t1 - t0, "first_search_s": t2 - t1}))
"""


def _cold_start(db: Path, query: str, user_id: str, exact: bool) -> dict[str, float]:
    """Seconds a new process takes to open ``db`` and answer its first search."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", _COLD, str(db), query, user_id,
                          "exact" if exact else "graph"],
                         capture_output=True, text=True, check=True)
    return {k: float(v) for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def _graph_recall(eg: Engram, scope: Scope, qtexts: Sequence[str],
                  advance: Callable[[int], None]) -> float:
    """Mean share of the exact top 10 that the store's vector search (the dense
    signal alone, with the graph) returns for ``qtexts``' random query vectors."""
    from ..index.partition import PartitionIndex
    from ..models import SearchFilters

    emb = eg.embedder()

    def top(v: np.ndarray) -> set[ItemRef]:
        return {c.ref for c in eg.store.vector_search(scope, v, emb.model_id, SearchFilters(),
                                                      10)}

    vecs = list(emb.embed(qtexts, "query"))
    graph = [top(v) for v in vecs]
    threshold = PartitionIndex.ann_threshold
    PartitionIndex.ann_threshold = sys.maxsize  # every search exact
    try:
        exact = []
        for v in vecs:
            exact.append(top(v))
            advance(1)
    finally:
        PartitionIndex.ann_threshold = threshold
    return statistics.fmean(len(g & e) / max(len(e), 1)
                            for g, e in zip(graph, exact, strict=True))


def _disk(db: Path) -> tuple[int, int]:
    """Bytes of the database files and of its persisted index, on disk."""
    base = sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())
    index = sum(p.stat().st_size for p in db.parent.glob(db.name + ".index/*") if p.is_file())
    return base + index, index


def run_scale(
    ns: Sequence[int],
    *,
    queries: int = 200,
    batch_size: int = 1000,
    real_embedder: Embedder | None = None,
    workdir: Path | None = None,
    seed: int = 7,
    real_turns: int = 500,
    progress: StageProgress | None = None,
    keep: Path | None = None,
    partial: Path | None = None,
    exact: bool = False,
) -> dict[str, object]:
    """Run the scale test for each size in ``ns``; returns a JSON-ready report.

    ``real_turns`` messages go through :meth:`Engram.add` with the real embedder
    (20 per call) to measure real ingest; ``progress`` sees every stage.
    ``keep``: a directory where each size's database stays (``scale-<n>.db``); a
    later run reuses it (and the ingest time recorded with it) instead of
    ingesting again. The index build is timed from the tables every time (the
    persisted index is removed first); the cold start is a fresh process that
    opens the store and answers one search from the index the build persisted.
    ``partial``: the report so far is written there after each size (a long run
    that is stopped keeps what it measured). ``exact``: no HNSW graph, every
    search is exact (for sizes whose graph build does not fit the time at hand;
    the report says so).
    """
    from ..index.partition import PartitionIndex

    threshold = PartitionIndex.ann_threshold
    if exact:
        PartitionIndex.ann_threshold = sys.maxsize
    try:
        return _run(ns, queries, batch_size, real_embedder, workdir, seed, real_turns,
                    progress, keep, partial, exact)
    finally:
        PartitionIndex.ann_threshold = threshold


def _run(ns: Sequence[int], queries: int, batch_size: int, real_embedder: Embedder | None,
         workdir: Path | None, seed: int, real_turns: int, progress: StageProgress | None,
         keep: Path | None, partial: Path | None, exact: bool) -> dict[str, object]:
    stage = progress or _silent
    rng = random.Random(seed)
    results: list[ScaleResult] = []
    real = real_embedder
    if real is None:
        from ..embed.registry import get_embedder

        real = get_embedder("default")
    qtexts = [
        " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 8))) for _ in range(queries)
    ]
    # query embedding cost, measured once on the real model
    real.embed_one("warm up", "query")
    embed_ms = []
    with stage("query embedding", len(qtexts), "queries") as advance:
        for q in qtexts:
            t0 = time.perf_counter()
            real.embed_one(q, "query")
            embed_ms.append((time.perf_counter() - t0) * 1000)
            advance(1)
    # real ingest through Engram.add (embedding + pipeline + store), small n
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        eg = Engram(Path(tmp) / "real.db", embedder=real)
        turns = [{"text": _text(rng) + ".", "speaker": "Sam"} for _ in range(real_turns)]
        t0 = time.perf_counter()
        with stage("real ingest (Engram.add)", len(turns), "messages") as advance:
            for i in range(0, len(turns), 20):
                eg.add(turns[i : i + 20], user_id="real", session_id=f"s{i // 20}")
                advance(len(turns[i : i + 20]))
        real_rate = len(turns) / max(time.perf_counter() - t0, 1e-9)
        eg.close()
    for n in ns:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            db = (keep or Path(tmp)) / f"scale-{n}.db"
            db.parent.mkdir(parents=True, exist_ok=True)
            scope = Scope(user_id="bench-user")
            _kept(db, n)
            eg = Engram(db, embedder=RandomEmbedder())
            with stage(f"n={n:,}: ingest", n, "memories") as advance:
                secs = _kept_ingest(eg, db, scope, n, rng, batch_size, advance)
            eg.close()
            shutil.rmtree(db.with_name(db.name + ".index"), ignore_errors=True)
            eg = Engram(db, embedder=RandomEmbedder())
            with stage(f"n={n:,}: index build", 1, "index") as advance:
                t0, c0 = time.perf_counter(), time.process_time()
                eg.store.warm(scope, eg.embedder().model_id)  # type: ignore[attr-defined]
                build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
                advance(1)
            eg.close()  # persists the index
            with stage(f"n={n:,}: cold start", 1, "process") as advance:
                cold = _cold_start(db, qtexts[0], scope.user_id or "", exact)
                advance(1)
            eg = Engram(db, embedder=RandomEmbedder())
            # steady state: the saved graph loaded (searches meanwhile are exact: the
            # cold-start stage above measures that)
            eg.store.warm(scope, eg.embedder().model_id)  # type: ignore[attr-defined]
            for q in qtexts[:10]:
                eg.search(q, scope=scope, limit=10, track_access=False)
            lat, cpu = [], []
            with stage(f"n={n:,}: search", len(qtexts), "queries") as advance:
                for q in qtexts:
                    t0, c0 = time.perf_counter(), time.process_time()
                    eg.search(q, scope=scope, limit=10, track_access=False)
                    lat.append((time.perf_counter() - t0) * 1000)
                    cpu.append((time.process_time() - c0) * 1000)
                    advance(1)
            recall = float("nan")
            if not exact:
                with stage(f"n={n:,}: recall@10 vs exact", len(qtexts), "queries") as advance:
                    recall = _graph_recall(eg, scope, qtexts, advance)
            eg.close()
            with_embed = [a + b for a, b in zip(lat, embed_ms, strict=False)]
            size, index_size = _disk(db)
            results.append(
                ScaleResult(
                    n=n,
                    ingest_per_s_no_embed=n / secs,
                    store_ms_per_turn=secs / n * 1000,
                    index_build_s=build,
                    search_p50_ms=_pct(lat, 50),
                    search_p95_ms=_pct(lat, 95),
                    search_embed_p50_ms=_pct(with_embed, 50),
                    search_embed_p95_ms=_pct(with_embed, 95),
                    peak_rss_mb=_rss_mb(),
                    bytes_per_memory=size / n,
                    search_p99_ms=_pct(lat, 99),
                    search_embed_p99_ms=_pct(with_embed, 99),
                    cold_start_s=cold["first_search_s"],
                    index_bytes_per_memory=index_size / n,
                    extra={"cold_import_s": cold["import_s"], "index_build_cpu_s": build_cpu,
                           "search_cpu_p50_ms": _pct(cpu, 50),
                           "search_cpu_p95_ms": _pct(cpu, 95), "recall_at_10": recall},
                )
            )
            if partial is not None:
                partial.parent.mkdir(parents=True, exist_ok=True)
                partial.write_text(json.dumps(
                    _report(real, embed_ms, real_rate, results, exact), indent=2))
    return _report(real, embed_ms, real_rate, results, exact)


def _report(real: Embedder, embed_ms: list[float], real_rate: float,
            results: list[ScaleResult], exact: bool) -> dict[str, object]:
    return {
        "search": "exact (no HNSW graph)" if exact else "default (HNSW graph from 8,000 rows)",
        "embedder": real.model_id,
        "query_embed_p50_ms": _pct(embed_ms, 50),
        "query_embed_p95_ms": _pct(embed_ms, 95),
        "real_ingest_turns_per_s": real_rate,
        "mean_embed_ms": statistics.fmean(embed_ms),
        "results": [asdict(r) for r in results],
    }


def _ms(x: float) -> str:
    """Milliseconds in at most 4 characters (``nan`` when not measured)."""
    if x != x:
        return "nan"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


#: (header, format of one result row): two header lines keep the table within 80 columns
_COLUMNS: tuple[tuple[str, Callable[[dict[str, float]], str]], ...] = (
    ("memories", lambda r: f"{r['n']:,.0f}"),
    ("ingest\n/s", lambda r: f"{r['ingest_per_s_no_embed']:,.0f}"),
    ("build\ns", lambda r: f"{r['index_build_s']:.1f}"),
    ("cold\ns", lambda r: f"{r.get('cold_start_s', float('nan')):.2f}"),
    ("search ms\np50/95/99", lambda r: "/".join(
        _ms(r.get(f"search_p{q}_ms", float("nan"))) for q in (50, 95, 99))),
    ("+embed ms\np50/p95", lambda r: "/".join(
        _ms(r.get(f"search_embed_p{q}_ms", float("nan"))) for q in (50, 95))),
    ("RSS\nMB", lambda r: f"{r['peak_rss_mb']:,.0f}"),
    ("disk B\n/mem", lambda r: f"{r['bytes_per_memory']:,.0f}"),
)


def print_report(
    report: dict[str, object], out: Path | None, console: Console | None = None
) -> None:
    """Print the results table (at most 80 columns wide) and write the JSON report to ``out``."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    exact = str(report.get("search", "")).startswith("exact")
    table = Table(title="engram bench scale (one scope, synthetic random vectors"
                  + (", exact search)" if exact else ")"), box=None,
                  pad_edge=False, header_style="bold")
    for header, _ in _COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for r in report["results"]:  # type: ignore[attr-defined]
        table.add_row(*(fmt(r) for _, fmt in _COLUMNS))
    console.print(table)
    console.print(
        f"real embedder {report['embedder']}:\n  query p50"
        f" {report['query_embed_p50_ms']:.2f} ms, p95 {report['query_embed_p95_ms']:.2f} ms;"
        f" Engram.add with embedding: {report['real_ingest_turns_per_s']:.0f} turns/s"
    )
    cpu = [r for r in report["results"] if "search_cpu_p50_ms" in r.get("extra", {})]  # type: ignore[attr-defined]
    if cpu:
        console.print("CPU time (wall time above grows with the machine's load):")
    for r in cpu:
        x = r["extra"]
        # within 80 columns at any load: every figure in at most 4 characters (_ms)
        console.print(f"{r['n']:>9,.0f}: build {_ms(x['index_build_cpu_s'])} s,"
                      f" search p50/p95 {_ms(x['search_cpu_p50_ms'])}/"
                      f"{_ms(x['search_cpu_p95_ms'])} ms"
                      + (f", recall@10 vs exact {x['recall_at_10']:.3f}"
                         if x.get("recall_at_10", float("nan")) == x.get("recall_at_10") else ""))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
        console.print(f"JSON report: {out}")


def write_scale_chart(report: dict[str, object], path: Path) -> Path:
    """Growth with the number of memories (log scale): ingest rate, index build and
    cold start, search latency, memory and disk. Needs matplotlib (``bench`` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from ..errors import MissingDependency

        raise MissingDependency(
            "the scale chart needs matplotlib: pip install 'engramdb[bench]'") from exc
    rows: list[dict[str, float]] = report["results"]  # type: ignore[assignment]
    ns = [r["n"] for r in rows]
    panels: list[tuple[str, list[tuple[str, str]]]] = [
        ("ingest (memories/s, store only)", [("ingest_per_s_no_embed", "ingest/s")]),
        ("seconds", [("index_build_s", "index build from the tables"),
                     ("cold_start_s", "cold start (new process, first search)")]),
        ("search latency (ms, no query embedding)",
         [("search_p50_ms", "p50"), ("search_p95_ms", "p95"), ("search_p99_ms", "p99")]),
        ("bytes per memory", [("bytes_per_memory", "disk"),
                              ("index_bytes_per_memory", "of which index files"),
                              ("rss_bytes_per_memory", "peak RSS of the process")]),
    ]
    rows = [{**r, "rss_bytes_per_memory": r["peak_rss_mb"] * 2**20 / r["n"]} for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for ax, (title, series) in zip(axes.flat, panels, strict=True):
        for key, label in series:
            ax.plot(ns, [r.get(key, float("nan")) for r in rows], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("memories in the scope")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    exact = str(report.get("search", "")).startswith("exact")
    fig.suptitle("engram bench scale: one scope on SQLite, synthetic random vectors"
                 + (", exact search (no HNSW graph)" if exact else ""), fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _scale_command() -> object:
    import click

    @click.command("scale")
    @click.option(
        "--n",
        "sizes",
        default="10000,100000",
        show_default=True,
        help="Scope sizes to test, comma-separated.",
    )
    @click.option(
        "--vectors",
        type=click.Choice(["random"]),
        default="random",
        show_default=True,
        help="Vectors for the synthetic memories (random unit vectors).",
    )
    @click.option("--queries", default=200, show_default=True, help="Searches timed per size.")
    @click.option("--real-turns", default=500, show_default=True,
                  help="Messages added through Engram.add with the real embedder.")
    @click.option("--quiet", is_flag=True, help="No progress on stderr.")
    @click.option("--exact", is_flag=True,
                  help="No HNSW graph: every search is exact (sizes whose graph build does"
                       " not fit the time at hand).")
    @click.option("--keep", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Keep each size's database in this directory and reuse it next time"
                       " (no second ingest).")
    @click.option(
        "--out",
        type=click.Path(path_type=Path),
        default=Path("bench-results/scale.json"),
        show_default=True,
        help="JSON report path (a growth chart is written beside it as .png when"
             " matplotlib is installed).",
    )
    def scale(sizes: str, vectors: str, queries: int, real_turns: int, quiet: bool,
              exact: bool, keep: Path | None, out: Path) -> None:
        """Scale test of the embedded store: ingest, search latency, RSS, disk per memory."""
        try:
            ns = [int(x) for x in sizes.split(",") if x.strip()]
        except ValueError:
            raise click.BadParameter(f"--n takes comma-separated integers, got {sizes!r}") from None
        if not ns or any(n < 100 for n in ns):
            raise click.BadParameter("--n sizes must be at least 100")
        if queries < 1 or real_turns < 1:
            raise click.BadParameter("--queries and --real-turns must be at least 1")
        report = run_scale(ns, queries=queries, real_turns=real_turns, keep=keep, partial=out,
                           exact=exact, progress=None if quiet else _cli_progress)
        print_report(report, out)
        if len(ns) > 1:
            from ..errors import MissingDependency

            try:
                click.echo(f"chart: {write_scale_chart(report, out.with_suffix('.png'))}")
            except MissingDependency as exc:
                click.echo(f"no chart: {exc}", err=True)

    return scale


def _cli_progress(
    label: str, total: int, unit: str
) -> AbstractContextManager[Callable[[int], None]]:
    """One line naming the stage, then the CLI's progress (a bar, or a line per tenth)."""
    import click

    from ..cli._progress import Progress

    click.echo(f"bench scale: {label}" + (f" ({total:,} {unit})" if total > 1 else ""),
               err=True)
    return Progress(f"bench scale: {label}", total, unit=unit)


scale_command = _scale_command()
