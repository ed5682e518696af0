"""Recall@10 of the HNSW graph against exact search on a ``bench scale`` database (issue #21).

    .venv/bin/engram bench scale --n 1000000 --keep /tmp/scale      # builds and saves the graph
    .venv/bin/python scripts/bench_scale_recall.py /tmp/scale/scale-1000000.db

Opens the database the way a new process does (the saved graph is loaded, not
rebuilt; the seconds that takes are printed) and asks the store's vector search
for the same query vectors twice: through the graph, then exactly (the
partition's ``ann_threshold`` raised so that every search is a full scan).
Two kinds of query, ``--queries`` of each:

* ``random``: the synthetic query texts of ``bench scale`` through its
  random-vector embedder (a query with no near neighbour: the hardest case
  for a graph, and what the bench's latency figures time);
* ``near``: a stored memory's vector with Gaussian noise added (cosine about
  ``--near-cos`` to it), like a real query that has its evidence in the store.

For each, recall@1 and @10 for a top-10 request (the graph searched with ef
64) and for a top-100 request (what the default preset's dense signal asks
for: ef 200), and recall@100 of the latter. Random 384-dimensional vectors
have no near neighbours (the exact top 10 of a random query sit at cosine
about .2, barely above the bulk), so their recall@10 is the graph's worst
case; a ``near`` query's recall@1 says whether the graph finds the memory it
was made from. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from engram import Engram
from engram.bench.scale import _WORDS, RandomEmbedder
from engram.index.partition import PartitionIndex
from engram.models import Scope, SearchFilters


def _near_vectors(eg: Engram, scope: Scope, n: int, cos: float,
                  rng: random.Random) -> list[np.ndarray]:
    """``n`` vectors at cosine about ``cos`` to memories picked across the scope's time span."""
    emb = RandomEmbedder()
    first = eg.store.list_memories(scope, SearchFilters(), 1).items
    if not first:
        return []
    newest = first[0].valid_from or first[0].created_at
    span = timedelta(seconds=1)  # widened until no memory is older than newest - span
    while eg.store.list_memories(scope, SearchFilters(end=newest - span), 1).items:
        span *= 2
    out: list[np.ndarray] = []
    nrng = np.random.default_rng(rng.randrange(2**32))
    for _ in range(n * 10):
        if len(out) == n:
            break
        end = newest - span * rng.random() + timedelta(microseconds=1)
        page = eg.store.list_memories(scope, SearchFilters(end=end), 1).items
        if not page:
            continue
        v = emb.embed([page[0].text])[0]
        noise = nrng.standard_normal(v.size).astype(np.float32)
        noise -= (noise @ v) * v
        noise /= np.linalg.norm(noise)
        q = cos * v + np.sqrt(1 - cos * cos) * noise
        out.append((q / np.linalg.norm(q)).astype(np.float32))
    return out


def _recall(eg: Engram, scope: Scope, model_id: str, vectors: list[np.ndarray],
            k: int) -> tuple[dict[int, float], list[float]]:
    """Recall@1, @10 and @k of ``k``-wide vector searches, and the graph's ms per search."""
    graph, exact, ms = [], [], []
    threshold = PartitionIndex.ann_threshold
    for v in vectors:
        t0 = time.perf_counter()
        graph.append([c.ref for c in eg.store.vector_search(scope, v, model_id,
                                                              SearchFilters(), k)])
        ms.append((time.perf_counter() - t0) * 1000)
    PartitionIndex.ann_threshold = sys.maxsize
    try:
        for v in vectors:
            exact.append([c.ref for c in eg.store.vector_search(scope, v, model_id,
                                                                  SearchFilters(), k)])
    finally:
        PartitionIndex.ann_threshold = threshold
    recall = {at: float(np.mean([len(set(g[:at]) & set(e[:at])) / len(e[:at])
                                 for g, e in zip(graph, exact, strict=True)]))
              for at in sorted({1, 10, k})}
    return recall, ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("db", type=Path, help="a database `engram bench scale --keep` left")
    ap.add_argument("--user", default="bench-user")
    ap.add_argument("--queries", type=int, default=200, help="queries of each kind")
    ap.add_argument("--near-cos", type=float, default=0.7)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if not args.db.exists():
        ap.error(f"no database at {args.db}")
    rng = random.Random(args.seed)
    scope = Scope(user_id=args.user)
    emb = RandomEmbedder()
    with Engram(args.db, embedder=emb) as eg:
        model_id = eg.embedder().model_id
        t0 = time.perf_counter()
        eg.store.warm(scope, model_id)  # type: ignore[attr-defined]
        print(f"{args.db.name}: partition and saved graph loaded in"
              f" {time.perf_counter() - t0:.1f} s")
        texts = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 8)))
                 for _ in range(args.queries)]
        kinds = {"random": list(emb.embed(texts, "query")),
                 f"near (cos {args.near_cos:g})": _near_vectors(eg, scope, args.queries,
                                                                args.near_cos, rng)}
        for kind, vectors in kinds.items():
            for k in (10, 100):
                recall, ms = _recall(eg, scope, model_id, vectors, k)
                at = ", ".join(f"@{a} {r:.3f}" for a, r in recall.items())
                print(f"{kind:>16} queries ({len(vectors)}), top {k:>3}: recall{at};"
                      f" graph search p50 {np.percentile(ms, 50):.2f} ms,"
                      f" p95 {np.percentile(ms, 95):.2f} ms")


if __name__ == "__main__":
    main()
