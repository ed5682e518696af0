"""CPU time and recall of one graph query, for every installed ANN backend (issue #21).

Builds each backend of :data:`engram.index.ann.BACKENDS` through Engram's own
:class:`~engram.index.ann.AnnGraph` (M=16, ef_construction=64, inner product)
over the vectors of a saved partition index file (``<db>.index/*.idx``, e.g.
the ``bench scale`` database or a real one), then asks it what
:class:`~engram.index.partition.PartitionIndex` asks for an unfiltered search:
the best ``k`` labels with a beam of ``max(ef, k)``. Reports the CPU time of
one query (thread time: the figure to compare on a shared machine), p50 / p95,
and recall@10 / recall@k against exact search (one matrix product).

Queries: ``--queries`` random unit vectors (what ``bench scale``'s random
embedder searches with), or with ``--holdout`` that many rows taken out of
the index (real embeddings: a turn searched against the others).

Usage::

    python scripts/bench_ann_query.py /tmp/scale/scale-100000.db.index/<name>.idx
    python scripts/bench_ann_query.py real.db.index/<name>.idx --holdout

A measurement, not a test.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from engram.index.ann import BACKENDS, new_graph
from engram.index.files import unpack


def _recall(got: np.ndarray, truth: np.ndarray, k: int) -> float:
    return len(set(got[:k].tolist()) & set(truth[:k].tolist())) / k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("index", type=Path, help="a partition index file (.idx)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--holdout", action="store_true",
                    help="query with rows taken out of the index (real embeddings)")
    ap.add_argument("--k", type=int, nargs="+", default=[100, 10])
    ap.add_argument("--ef", type=int, nargs="+", default=[64, 100, 200])
    args = ap.parse_args()
    _, arrays = unpack(args.index)
    vecs = np.array(arrays["vecs"][arrays["alive"]], dtype=np.float32)
    rng = np.random.default_rng(0)
    if args.holdout:
        order = rng.permutation(len(vecs))
        queries, base = vecs[order[: args.queries]], vecs[order[args.queries :]]
    else:
        base = vecs
        queries = rng.standard_normal((args.queries, vecs.shape[1])).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = np.argsort(-(queries @ base.T), axis=1)[:, : max(args.k)]
    print(f"{len(base)} vectors of {base.shape[1]} dims, {len(queries)} queries"
          f" ({'held-out rows' if args.holdout else 'random'})")
    print(f"{'backend':<8} {'k':>4} {'ef':>4} {'CPU p50':>8} {'p95 ms':>7} {'mean':>6}"
          f" {'r@10':>5} {'r@k':>5}")
    for backend in BACKENDS:
        try:
            graph = new_graph(base.shape[1], capacity=len(base), backend=backend.name)
        except ValueError:
            print(f"{backend.name:<8} not installed")
            continue
        assert graph is not None
        t0 = time.process_time()
        graph.add(base, np.arange(len(base)))
        print(f"{backend.name:<8} build {time.process_time() - t0:.1f} s CPU (all threads)")
        for k in args.k:
            for ef in sorted({max(ef, k) for ef in args.ef}):
                for q in queries[:10]:  # warm up
                    graph.query(q, k, ef)
                cpu, r10, rk = [], [], []
                for q, t in zip(queries, truth, strict=True):
                    t0 = time.thread_time()
                    got = graph.query(q, k, ef)
                    cpu.append((time.thread_time() - t0) * 1000)
                    r10.append(_recall(got, t, min(10, k)))
                    rk.append(_recall(got, t, k))
                print(f"{backend.name:<8} {k:>4} {ef:>4} {np.percentile(cpu, 50):>8.3f}"
                      f" {np.percentile(cpu, 95):>7.3f} {np.mean(cpu):>6.3f}"
                      f" {np.mean(r10):>5.3f} {np.mean(rk):>5.3f}")


if __name__ == "__main__":
    main()
