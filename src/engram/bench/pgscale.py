"""PostgreSQL scale benchmark: ``python -m engram.bench.pgscale --n 1000000 --users 1000``.

Loads ``n`` memories over ``users`` users with precomputed random unit vectors
(no embedder), then prints: ingest rate, HNSW build time, vector search p50/p95
for a user holding ~1k memories and for one holding ~100k (``min(100k, n/2)``),
and disk size. Uses ``--url`` (a database it may fill; tables land in a new
schema that is dropped afterwards unless ``--keep``) or, without it, a
throwaway server started with ``pgserver``. A command, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from ..models import ItemRef, Memory, MemoryKind, Scope, SearchFilters
from ..store.base import VectorRecord, WriteBatch

__all__ = ["PgScaleResult", "main", "run"]

MODEL = "bench:random"


@dataclass(frozen=True)
class PgScaleResult:
    n: int
    users: int
    dim: int
    ingest_seconds: float
    index_seconds: float
    search_ms: dict[str, tuple[float, float]]  # label -> (p50, p95)
    db_bytes: int
    table_bytes: dict[str, int]

    def render(self) -> str:
        lines = [
            f"memories {self.n:,} over {self.users:,} users, dim {self.dim}",
            f"ingest   {self.n / self.ingest_seconds:,.0f} memories/s"
            f" ({self.ingest_seconds:.1f} s, no index)",
            f"index    HNSW build {self.index_seconds:.1f} s",
        ]
        for label, (p50, p95) in self.search_ms.items():
            lines.append(f"search   {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        lines.append(f"disk     database {self.db_bytes / 1e6:,.0f} MB; "
                     + ", ".join(f"{t} {b / 1e6:,.0f} MB" for t, b in self.table_bytes.items()))
        return "\n".join(lines)


def _user_sizes(n: int, users: int) -> list[int]:
    big = min(100_000, n // 2)
    small = min(1_000, max(1, (n - big) // max(1, users - 1)))
    rest = n - big - small
    others = max(1, users - 2)
    sizes = [big, small] + [rest // others] * others
    sizes[-1] += n - sum(sizes)
    return sizes


def run(url: str, n: int, users: int, dim: int, queries: int, batch: int,
        m: int, ef_construction: int, ef_search: int) -> PgScaleResult:
    from ..store.postgres import PostgresStore

    store = PostgresStore(url, auto_index=False, hnsw_m=m, hnsw_ef_construction=ef_construction,
                          ef_search=ef_search, exact_limit=10_000)
    try:
        store.migrate()
        rng = np.random.default_rng(1)
        t0 = datetime(2024, 1, 1, tzinfo=UTC)
        sizes = _user_sizes(n, users)
        started = time.perf_counter()
        pending = WriteBatch()
        i = 0
        for u, size in enumerate(sizes):
            scope = Scope(user_id=f"user{u}")
            vecs = rng.normal(size=(size, dim)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            for j in range(size):
                when = t0 + timedelta(seconds=i)
                mem = Memory(id=f"m{i}", scope=scope, kind=MemoryKind.FACT,
                             text=f"memory {i} of user {u}", created_at=when, updated_at=when)
                pending.new_memories.append(mem)
                pending.vectors.append(VectorRecord(ItemRef("memory", mem.id), scope.tenant,
                                                    MODEL, vecs[j], f"h{i}"))
                i += 1
                if len(pending.new_memories) >= batch:
                    store.write(pending)
                    pending = WriteBatch()
        if not pending.is_empty():
            store.write(pending)
        ingest = time.perf_counter() - started
        started = time.perf_counter()
        store.create_vector_indexes()
        index = time.perf_counter() - started
        search: dict[str, tuple[float, float]] = {}
        for label, u in ((f"user with {sizes[1]:,} memories", 1),
                         (f"user with {sizes[0]:,} memories", 0)):
            times = []
            for _ in range(queries):
                q = rng.normal(size=dim).astype(np.float32)
                s = time.perf_counter()
                store.vector_search(Scope(user_id=f"user{u}"), q, MODEL, SearchFilters(), 10)
                times.append((time.perf_counter() - s) * 1000)
            times.sort()
            search[label] = (statistics.median(times), times[int(0.95 * (len(times) - 1))])
        tables = store.relation_bytes(("memories", "vectors"))
        db_bytes = store.stats(None).db_bytes or 0  # pg_database_size for the whole store
        return PgScaleResult(n, users, dim, ingest, index, search, db_bytes, tables)
    finally:
        store.close()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="engram-bench-pgscale", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--users", type=int, default=1_000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--batch", type=int, default=2_000)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=64)
    p.add_argument("--ef-search", type=int, default=40)
    p.add_argument("--url", help="postgresql:// URL (default: a throwaway pgserver)")
    p.add_argument("--keep", action="store_true", help="keep the benchmark schema")
    a = p.parse_args(argv)
    import psycopg

    url = a.url
    if url is None:
        import pgserver

        data = tempfile.mkdtemp(prefix="engram-pgscale-")
        server = pgserver.get_server(data, cleanup_mode="delete")  # type: ignore[attr-defined]
        url = str(server.get_uri())
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET maintenance_work_mem = '1GB'")
            conn.execute("ALTER SYSTEM SET synchronous_commit = off")
            conn.execute("SELECT pg_reload_conf()")
    schema = "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    try:
        result = run(f"{url}{sep}options=-csearch_path%3D{schema},public", a.n, a.users, a.dim,
                     a.queries, a.batch, a.m, a.ef_construction, a.ef_search)
        print(result.render())
    finally:
        if not a.keep:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
