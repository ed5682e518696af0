"""Approximate nearest neighbour libraries against exact search: recall@10 and build time.

Each candidate builds an HNSW graph over ``N`` unit vectors with the
parameters Engram uses (M=16, ef_construction=64, inner product) and answers
``--queries`` held-out queries with ef=64 (what
:class:`~engram.index.partition.PartitionIndex` asks for an unfiltered top 10).
Recall@10 is the share of the exact top 10 (one matrix product) it returns.
Libraries that are not installed are skipped.

Usage::

    python scripts/bench_ann.py [--n 20000 100000] [--vectors minilm.npy] [--libs voyager hnswlib]

``--vectors`` takes an ``.npy`` matrix of real embeddings (rows need not be
normalised); without it, random Gaussian vectors of ``--dim`` dimensions.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

M, EF_CONSTRUCTION, EF, K = 16, 64, 64, 10

Builder = Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]]


def _voyager(x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    import voyager

    idx = voyager.Index(voyager.Space.InnerProduct, num_dimensions=x.shape[1], M=M,
                        ef_construction=EF_CONSTRUCTION, max_elements=len(x))
    idx.add_items(x, np.arange(len(x)))
    return lambda q: np.asarray(idx.query(q, k=K, query_ef=EF)[0], dtype=np.int64)


def _hnswlib(x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    import hnswlib

    idx = hnswlib.Index(space="ip", dim=x.shape[1])
    idx.init_index(max_elements=len(x), ef_construction=EF_CONSTRUCTION, M=M)
    idx.add_items(x, np.arange(len(x)))
    idx.set_ef(EF)
    return lambda q: np.asarray(idx.knn_query(q, k=K)[0], dtype=np.int64)


def _faiss(x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    import faiss

    idx = faiss.IndexHNSWFlat(x.shape[1], M, faiss.METRIC_INNER_PRODUCT)
    idx.hnsw.efConstruction = EF_CONSTRUCTION
    idx.add(x)
    idx.hnsw.efSearch = EF
    return lambda q: np.asarray(idx.search(q, K)[1], dtype=np.int64)


def _usearch(x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    from usearch.index import Index

    idx = Index(ndim=x.shape[1], metric="ip", dtype="f32", connectivity=M,
                expansion_add=EF_CONSTRUCTION, expansion_search=EF)
    idx.add(np.arange(len(x)), x)
    return lambda q: np.asarray(idx.search(q, K).keys, dtype=np.int64)


LIBS: dict[str, Builder] = {
    "voyager": _voyager, "hnswlib": _hnswlib, "faiss": _faiss, "usearch": _usearch,
}


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--vectors", help=".npy file of real embeddings")
    ap.add_argument("--libs", nargs="+", default=list(LIBS))
    args = ap.parse_args()
    if args.vectors:
        pool = _unit(np.load(args.vectors))
        queries, pool = pool[: args.queries], pool[args.queries :]
        source = "real"
    else:
        rng = np.random.default_rng(0)
        pool = _unit(rng.standard_normal((max(args.n), args.dim)))
        queries = _unit(rng.standard_normal((args.queries, args.dim)))
        source = "random"
    print(f"{'vectors':<8} {'n':>7} {'library':<8} {'build s':>8} {'recall@10':>9} {'query ms':>8}")
    for n in args.n:
        x = pool[:n]
        if len(x) < n:
            print(f"only {len(x)} vectors available, skipping n={n}")
            continue
        truth = np.argsort(-(queries @ x.T), axis=1)[:, :K]
        for name in args.libs:
            try:
                t0 = time.perf_counter()
                search = LIBS[name](x)
                build = time.perf_counter() - t0
            except ImportError:
                print(f"{source:<8} {n:>7} {name:<8} not installed")
                continue
            t0 = time.perf_counter()
            got = [search(q[None, :]).reshape(-1) for q in queries]
            per_query = (time.perf_counter() - t0) / len(queries) * 1000
            recall = np.mean([len(set(g) & set(t)) / K for g, t in zip(got, truth, strict=True)])
            print(f"{source:<8} {n:>7} {name:<8} {build:>8.2f} {recall:>9.3f}"
                  f" {per_query:>8.2f}")


if __name__ == "__main__":
    main()
