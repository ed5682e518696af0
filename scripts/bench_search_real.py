"""CPU time of default-preset searches over REAL texts and REAL embeddings in one scope (#21).

    .venv/bin/python scripts/bench_search_real.py /tmp/real.db --data-dir /work/shared/data \\
        --embed-cache /tmp/embed-cache.sqlite --seed 1 --passes 3

The companion of ``scripts/bench_search_cpu.py``, whose corpus is ``bench scale``'s
synthetic texts with random vectors (the approximate graph's worst case). Here the
corpus is every turn of the development sets under ``--data-dir`` (LoCoMo,
REALTALK, BEAM 100K and 500K, letta read and update facts; at most ``--limit``),
all in ONE user's scope, each distinct turn an episode in its session with its speaker
and time, indexed as ingest indexes it (:class:`engram.ingest.index.Indexer`: the
same lexical text, the default embedder's vectors, read from ``--embed-cache``
where a benchmark run embedded them before and added to it otherwise). No
memories are derived: the store holds the turns only. The first run builds the
database and its graph (kept beside it, like ``bench scale --keep``); later
runs reuse it.

Queries are the data sets' own questions (``--queries`` of them, drawn with
``--seed``). Their real query vectors are made before the timing, so the figure
is the search alone, as in ``bench_search_cpu.py`` (``--embed`` adds the
embedding CPU per query; ``--serve-gc`` sets the garbage collector as ``engram
serve`` does). Prints the same wall / CPU p50 / p95 / p99 lines. A measurement,
not a test.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from bench_search_cpu import report, time_searches  # the same timing and figures

from engram.bench.beam import load_beam
from engram.bench.dataset import BenchDataset, DatasetError
from engram.bench.diskcache import DiskCachedEmbedder
from engram.bench.letta import load_letta_read, load_letta_update
from engram.bench.locomo import load_locomo
from engram.bench.realtalk import load_realtalk
from engram.embed.base import Embedder, InputType, WrappedEmbedder
from engram.embed.registry import get_embedder
from engram.engine import Engram
from engram.ingest.index import Indexer
from engram.models import Episode, Scope
from engram.store.base import WriteBatch
from engram.timeutil import now

USER = "real-user"


def _datasets(data: Path) -> list[BenchDataset]:
    loaders: list[Callable[[], BenchDataset]] = [
        lambda: load_locomo(data / "locomo"),
        lambda: load_realtalk(data / "realtalk"),
        lambda: load_beam(data / "beam"),
        lambda: load_letta_read(data / "letta"),
        lambda: load_letta_update(data / "letta"),
    ]
    out = []
    for load in loaders:
        try:
            out.append(load())
        except (DatasetError, OSError) as exc:
            print(f"skipped: {exc}")
    return out


class _QueryVectors(WrappedEmbedder):
    """The inner embedder, with query vectors made ahead of the timing."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.memo: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        if input_type == "query" and all(t in self.memo for t in texts):
            return np.stack([self.memo[t] for t in texts])
        return self.inner.embed(texts, input_type)


def _build(eg: Engram, sets: list[BenchDataset], limit: int) -> int:
    """Write every turn (up to ``limit``) as an episode of one user; how many."""
    scope = Scope(user_id=USER)
    indexer = Indexer(eg.store, eg.embedder())
    at = now()
    episodes = []
    for ds in sets:
        for conv in ds.conversations:
            for session in conv.sessions:
                sid = f"{ds.benchmark}:{conv.id}:{session.id}"
                for t in session.turns:
                    episodes.append(Episode(
                        id=f"{ds.benchmark}:{conv.id}:{t.id}", scope=scope.with_session(sid),
                        role=t.role, text=t.text, occurred_at=t.occurred_at, created_at=at,
                        speaker=t.speaker))
    # one episode per distinct text (letta's update set repeats each fact set per question)
    episodes = list({e.text: e for e in reversed(episodes)}.values())[::-1][:limit]
    t0 = time.perf_counter()
    for i in range(0, len(episodes), 500):
        batch = WriteBatch(episodes=episodes[i : i + 500])
        indexer.add_to(batch, batch.episodes)
        eg.store.write(batch)
        print(f"\r{i + len(batch.episodes)} / {len(episodes)} turns written", end="", flush=True)
    print(f" in {time.perf_counter() - t0:.0f} s")
    return len(episodes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--embed-cache", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--embed", action="store_true")
    ap.add_argument("--serve-gc", action="store_true",
                    help="the garbage collector as `engram serve` sets it")
    args = ap.parse_args()
    sets = _datasets(args.data_dir)
    real = get_embedder("default")
    fresh = not args.db.exists()
    embedder = _QueryVectors(DiskCachedEmbedder(real, args.embed_cache))
    eg = Engram(args.db, embedder=embedder)
    scope = Scope(user_id=USER)
    if fresh:
        n = _build(eg, sets, args.limit)
        t0, c0 = time.perf_counter(), time.process_time()
        eg.store.warm(scope, embedder.model_id)  # builds and saves the graph
        print(f"{n} episodes; graph built in {time.perf_counter() - t0:.0f} s wall,"
              f" {time.process_time() - c0:.0f} s CPU")
    rng = random.Random(args.seed)
    texts = sorted({q.text for ds in sets for q in ds.questions if q.text.strip()})
    del sets  # tens of thousands of objects the garbage collector would walk meanwhile
    gc.collect()
    if args.serve_gc:  # as create_app(freeze_gc=True) does at start-up
        from engram.server.app import GC_YOUNG

        gc.freeze()
        gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
    picked = rng.sample(texts, min(len(texts), args.queries + args.warmup))
    queries, warmup = picked[: args.queries], picked[args.queries :]
    vecs = real.embed(picked, "query")
    embedder.memo.update(zip(picked, vecs, strict=True))
    eg.store.warm(scope, embedder.model_id)
    for q in warmup:
        eg.search(q, scope=scope, limit=10, track_access=False)
    passes, wall = time_searches(eg, scope, queries, args.passes)
    eg.close()
    report(passes, wall, queries, args.embed,
           label=f"{len(queries)} questions over {len(texts)}: search")


if __name__ == "__main__":
    main()
