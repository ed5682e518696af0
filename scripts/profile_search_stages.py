"""Per-stage wall time of default-preset searches on a ``bench scale`` database (issue #21).

    .venv/bin/python scripts/profile_search_stages.py /tmp/scale/scale-100000.db --seed 5

Opens the database as ``scripts/bench_search_cpu.py`` does (random-vector
embedder, the user's partition warmed, ``--warmup`` other queries first), wraps
the search's stages with timers and prints, per stage, its calls per search and
its wall time per search (mean, p50, p95 over ``--queries`` searches; a stage
called twice in a search counts both). Stages nest (``candidates`` holds
``search_both`` and ``feedback``; ``rerank`` holds ``features``; ``ordered``
holds ``newer_first``): the times are inclusive. Timers cost a few microseconds
each; the search total is timed without them too. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engram.bench.scale import _WORDS, RandomEmbedder, _pct
from engram.engine import Engram
from engram.models import Scope
from engram.retrieval import rerank, search, updates

#: (label, owner object, attribute) of each timed stage, outermost first
STAGES: list[tuple[str, Any, str]] = [
    ("candidates", search.Searcher, "candidates"),
    ("search_both", None, "search_both"),  # the store's (bound at run time)
    ("lexical_search", None, "lexical_search"),
    ("vector_search", None, "vector_search"),
    ("feedback", search.Searcher, "_fed_back"),
    ("windowed", search.Searcher, "windowed"),
    ("fused_head", search, "fused_head"),
    ("fetch_head", search.Searcher, "_fetch"),
    ("rerank", search.Searcher, "_reranked"),
    ("features", rerank, "features"),
    ("event_times", search.Searcher, "_event_times"),
    ("hops", search.Searcher, "_hopped"),
    ("ordered", search.Searcher, "_ordered"),
    ("newer_first", updates, "newer_first"),
    ("whole", search.Searcher, "_whole"),
    ("sources", search.Searcher, "_attach_sources"),
]


def _timed(label: str, fn: Callable[..., Any], spent: dict[str, float],
           calls: dict[str, int]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - t
            calls[label] += 1

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()
    eg = Engram(args.db, embedder=RandomEmbedder())
    scope = Scope(user_id="bench-user")
    rng = random.Random(args.seed)
    words = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 8)))
             for _ in range(2 * args.queries + args.warmup)]
    plain, queries, warmup = (words[: args.queries], words[args.queries : 2 * args.queries],
                              words[2 * args.queries :])
    gc.collect()
    gc.freeze()
    eg.store.warm(scope, eg.embedder().model_id)
    for q in warmup:
        eg.search(q, scope=scope, limit=10, track_access=False)
    untimed = []
    for q in plain:  # the total without timers (other queries: memos stay cold)
        t = time.perf_counter()
        eg.search(q, scope=scope, limit=10, track_access=False)
        untimed.append((time.perf_counter() - t) * 1000)
    spent: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    for label, owner, attr in STAGES:
        target = owner if owner is not None else eg.store
        setattr(target, attr, _timed(label, getattr(target, attr), spent, calls))
    per: dict[str, list[float]] = defaultdict(list)
    total = []
    for q in queries:
        spent.clear()
        t = time.perf_counter()
        eg.search(q, scope=scope, limit=10, track_access=False)
        total.append((time.perf_counter() - t) * 1000)
        for label, _, _ in STAGES:
            per[label].append(spent.get(label, 0.0) * 1000)
    eg.close()
    n = len(queries)
    print(f"search (no timers) p50/p95 {_pct(untimed, 50):.2f}/{_pct(untimed, 95):.2f} ms;"
          f" with timers {_pct(total, 50):.2f}/{_pct(total, 95):.2f} ms")
    print(f"{'stage':16s} {'calls':>6s} {'mean':>7s} {'p50':>7s} {'p95':>7s}  (ms per search)")
    for label, _, _ in STAGES:
        xs = per[label]
        print(f"{label:16s} {calls[label] / n:6.2f} {sum(xs) / n:7.3f} {_pct(xs, 50):7.3f}"
              f" {_pct(xs, 95):7.3f}")


if __name__ == "__main__":
    main()
