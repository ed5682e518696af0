"""CPU time of default-preset searches on a ``bench scale`` database (issue #21, target 3).

    .venv/bin/engram bench scale --n 100000 --keep /tmp/scale        # ingests, saves the graph
    .venv/bin/python scripts/bench_search_cpu.py /tmp/scale/scale-100000.db --seed 1 --embed

Times searches the way ``bench scale`` does once the saved graph is loaded:
the user's partition is warmed, 10 searches warm up, then ``--queries``
distinct synthetic queries (the bench's own words and random-vector
embedder) are each searched once. Prints wall and CPU (process time: a search
runs its graph query on a worker thread) p50 /
p95 / p99: on a shared machine wall time grows with the load, CPU time much
less, so compare CPU time. ``--passes N`` searches the same queries N times
and also prints the p50 / p95 of each query's least CPU time (other
processes only ever add time: the steadiest figure to compare two versions
of the code by; later passes find the per-text memos warm). ``--embed``
adds the real query embedding (the default embedder, each query embedded
once, CPU time) and the sum per query. ``--warmup N`` sets how many other
distinct queries warm up first (default 10). ``--serve-gc`` sets the garbage
collector as ``engram serve`` does. ``--preset NAME`` searches with another
preset than the default (e.g. ``recall-s10``, the default without lexical
feedback). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from pathlib import Path

from engram.bench.scale import _WORDS, RandomEmbedder, _pct
from engram.engine import Engram
from engram.models import Scope


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=10,
                    help="distinct warm-up searches before the timed ones (other queries)")
    ap.add_argument("--embed", action="store_true")
    ap.add_argument("--serve-gc", action="store_true",
                    help="the garbage collector as `engram serve` sets it (freeze, rarer "
                         "young collections) once the store is open")
    ap.add_argument("--preset", default=None,
                    help="search with this preset instead of the default")
    args = ap.parse_args()
    eg = Engram(args.db, embedder=RandomEmbedder())
    scope = Scope(user_id="bench-user")
    rng = random.Random(args.seed)
    words = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 8)))
             for _ in range(args.queries + args.warmup)]
    queries, warmup = words[: args.queries], words[args.queries :]
    if args.serve_gc:  # as create_app(freeze_gc=True) does at start-up
        import gc

        from engram.server.app import GC_YOUNG

        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
    eg.store.warm(scope, eg.embedder().model_id)
    for q in warmup:
        eg.search(q, scope=scope, limit=10, track_access=False, preset=args.preset)
    passes, wall = time_searches(eg, scope, queries, args.passes, args.preset)
    eg.close()
    report(passes, wall, queries, args.embed)


def time_searches(eg: Engram, scope: Scope, queries: list[str], n_passes: int,
                  preset: str | None = None) -> tuple[list[list[float]], list[float]]:
    """CPU ms of each search in each pass (the process's: the graph query runs on a
    worker thread), and wall ms of the first pass."""
    passes: list[list[float]] = []
    wall: list[float] = []
    for p in range(n_passes):
        cpu: list[float] = []
        for q in queries:
            w, c = time.perf_counter(), time.process_time()
            eg.search(q, scope=scope, limit=10, track_access=False, preset=preset)
            cpu.append((time.process_time() - c) * 1000)
            if p == 0:
                wall.append((time.perf_counter() - w) * 1000)
        passes.append(cpu)
    return passes, wall


def report(passes: list[list[float]], wall: list[float], queries: list[str], embed: bool,
           label: str = "search") -> None:
    """Print the wall and CPU percentiles (and with ``embed`` the query embedding's)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    first = passes[0]
    w50, w95, w99 = (_pct(wall, p) for p in (50, 95, 99))
    c50, c95, c99 = (_pct(first, p) for p in (50, 95, 99))
    print(f"{label} wall p50/p95/p99 {w50:.1f}/{w95:.1f}/{w99:.1f} ms, "
          f"CPU p50/p95/p99 {c50:.1f}/{c95:.1f}/{c99:.1f} ms; peak RSS {rss:.0f} MiB")
    if len(passes) > 1:
        best = [min(t) for t in zip(*passes, strict=True)]
        print(f"least CPU of {len(passes)} passes p50/p95 "
              f"{_pct(best, 50):.2f}/{_pct(best, 95):.2f} ms")
    if embed:
        from engram.embed.registry import get_embedder

        real = get_embedder("default")
        real.embed_one("warm up", "query")
        emb: list[float] = []
        for q in queries:
            c = time.process_time()  # the model may use its own threads
            real.embed_one(q, "query")
            emb.append((time.process_time() - c) * 1000)
        both = [a + b for a, b in zip(first, emb, strict=True)]
        print(f"{real.model_id} query embedding CPU p50/p95 "
              f"{_pct(emb, 50):.1f}/{_pct(emb, 95):.1f} ms; search + embedding CPU p50/p95 "
              f"{_pct(both, 50):.1f}/{_pct(both, 95):.1f} ms")


if __name__ == "__main__":
    main()
