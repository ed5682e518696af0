"""``engram bench scale``: synthetic scale test of the embedded store.

Synthetic memories in one scope with random unit vectors (so 100k memories do
not take an hour of embedding); a separate line times the real embedder.
Reports ingest rate with and without embedding, store overhead per ingested
turn, search latency p50/p95 with and without query embedding, peak RSS and
bytes on disk per memory. A command, not a test: it measures, it asserts nothing.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..embed.base import Embedder, InputType
from ..engine import Engram
from ..ids import new_id
from ..ingest.commit import version
from ..models import ItemRef, Memory, MemoryKind, Operation, Scope
from ..store.base import VectorRecord, WriteBatch
from ..text import content_hash
from ..timeutil import now

__all__ = ["RandomEmbedder", "ScaleResult", "run_scale"]

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
    extra: dict[str, float] = field(default_factory=dict)


def _ingest(eg: Engram, scope: Scope, n: int, rng: random.Random, batch_size: int) -> float:
    """Write ``n`` memories with random vectors straight through the store; seconds taken."""
    emb = eg.embedder()  # also records the model id in the store
    store = eg.store
    t_total = 0.0
    for start in range(0, n, batch_size):
        at = now()
        batch = WriteBatch()
        texts = [_text(rng) for _ in range(min(batch_size, n - start))]
        vecs = emb.embed(texts)
        for text, vec in zip(texts, vecs, strict=True):
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
            batch.vectors.append(
                VectorRecord(
                    ItemRef("memory", m.id),
                    scope.tenant,
                    emb.model_id,
                    vec,
                    content_hash(text),
                )
            )
        t0 = time.perf_counter()
        store.write(batch)
        t_total += time.perf_counter() - t0
    return t_total


def run_scale(
    ns: Sequence[int],
    *,
    queries: int = 200,
    batch_size: int = 1000,
    real_embedder: Embedder | None = None,
    workdir: Path | None = None,
    seed: int = 7,
) -> dict[str, object]:
    """Run the scale test for each size in ``ns``; returns a JSON-ready report."""
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
    for q in qtexts:
        t0 = time.perf_counter()
        real.embed_one(q, "query")
        embed_ms.append((time.perf_counter() - t0) * 1000)
    # real ingest through Engram.add (embedding + pipeline + store), small n
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        eg = Engram(Path(tmp) / "real.db", embedder=real)
        turns = [{"text": _text(rng) + ".", "speaker": "Sam"} for _ in range(500)]
        t0 = time.perf_counter()
        for i in range(0, len(turns), 20):
            eg.add(turns[i : i + 20], user_id="real", session_id=f"s{i // 20}")
        real_rate = len(turns) / (time.perf_counter() - t0)
        eg.close()
    for n in ns:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            db = Path(tmp) / "scale.db"
            eg = Engram(db, embedder=RandomEmbedder())
            scope = Scope(user_id="bench-user")
            secs = _ingest(eg, scope, n, rng, batch_size)
            t0 = time.perf_counter()
            eg.store.warm(scope, eg.embedder().model_id)  # type: ignore[attr-defined]
            build = time.perf_counter() - t0
            for q in qtexts[:10]:
                eg.search(q, scope=scope, limit=10, track_access=False)
            lat = []
            for q in qtexts:
                t0 = time.perf_counter()
                eg.search(q, scope=scope, limit=10, track_access=False)
                lat.append((time.perf_counter() - t0) * 1000)
            with_embed = [a + b for a, b in zip(lat, embed_ms, strict=False)]
            size = sum(p.stat().st_size for p in Path(tmp).iterdir())
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
                )
            )
            eg.close()
    return {
        "embedder": real.model_id,
        "query_embed_p50_ms": _pct(embed_ms, 50),
        "query_embed_p95_ms": _pct(embed_ms, 95),
        "real_ingest_turns_per_s": real_rate,
        "mean_embed_ms": statistics.fmean(embed_ms),
        "results": [asdict(r) for r in results],
    }


def print_report(report: dict[str, object], out: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="engram bench scale (one scope, random vectors)")
    for col in (
        "n",
        "ingest/s",
        "store ms/turn",
        "index build s",
        "search p50",
        "search p95",
        "+embed p50",
        "+embed p95",
        "peak RSS MB",
        "bytes/memory",
    ):
        table.add_column(col, justify="right")
    for r in report["results"]:  # type: ignore[attr-defined]
        table.add_row(
            f"{r['n']:,}",
            f"{r['ingest_per_s_no_embed']:,.0f}",
            f"{r['store_ms_per_turn']:.3f}",
            f"{r['index_build_s']:.2f}",
            f"{r['search_p50_ms']:.2f}",
            f"{r['search_p95_ms']:.2f}",
            f"{r['search_embed_p50_ms']:.2f}",
            f"{r['search_embed_p95_ms']:.2f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['bytes_per_memory']:,.0f}",
        )
    console.print(table)
    console.print(
        f"real embedder {report['embedder']}: query p50 {report['query_embed_p50_ms']:.2f} ms,"
        f" p95 {report['query_embed_p95_ms']:.2f} ms; Engram.add with embedding:"
        f" {report['real_ingest_turns_per_s']:.0f} turns/s"
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
        console.print(f"JSON report: {out}")


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
    @click.option(
        "--out",
        type=click.Path(path_type=Path),
        default=Path("bench-results/scale.json"),
        show_default=True,
        help="JSON report path.",
    )
    def scale(sizes: str, vectors: str, queries: int, out: Path) -> None:
        """Scale test of the embedded store: ingest, search latency, RSS, disk per memory."""
        try:
            ns = [int(x) for x in sizes.split(",") if x.strip()]
        except ValueError:
            raise click.BadParameter(f"--n takes comma-separated integers, got {sizes!r}") from None
        if not ns or any(n < 100 for n in ns):
            raise click.BadParameter("--n sizes must be at least 100")
        print_report(run_scale(ns, queries=queries), out)

    return scale


scale_command = _scale_command()
