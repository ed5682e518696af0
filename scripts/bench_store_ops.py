"""Store operations any backend serves, timed: batched writes, keyset pages,
history reads and the job state machine (claim + finish).

    .venv/bin/python scripts/bench_store_ops.py                  # a SQLite file
    .venv/bin/python scripts/bench_store_ops.py memory://
    .venv/bin/python scripts/bench_store_ops.py postgresql://...  # an empty database

Used to check that writing the SQL once (engram.store.sql_common) costs the
SQLite and PostgreSQL stores nothing, and to size the in-memory store.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta

from engram.models import (
    Episode,
    Memory,
    MemoryKind,
    MemoryVersion,
    Operation,
    Scope,
    SearchFilters,
)
from engram.store import open_store
from engram.store.base import Job, WriteBatch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url", nargs="?", help="store URL (default: a fresh SQLite file)")
    ap.add_argument("-n", type=int, default=5000, help="episodes (and as many memories)")
    ap.add_argument("--jobs", type=int, default=1000)
    args = ap.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    store = open_store(url)
    sc = Scope(user_id="u", tenant="bench")
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    try:
        s = time.perf_counter()
        for b in range(0, args.n, 500):
            batch = WriteBatch()
            for i in range(b, min(b + 500, args.n)):
                w = t0 + timedelta(minutes=i)
                batch.episodes.append(Episode(id=f"e{i}", scope=sc, role="user",
                                              text=f"episode {i}", occurred_at=w, created_at=w))
                m = Memory(id=f"m{i}", scope=sc, kind=MemoryKind.FACT, text=f"memory {i}",
                           created_at=w, updated_at=w)
                batch.new_memories.append(m)
                batch.versions.append((sc.tenant, MemoryVersion(m.id, 1, Operation.ADD, None,
                                                                m.to_dict(), "bench", w)))
            store.write(batch)
        write = time.perf_counter() - s
        s = time.perf_counter()
        listed = 0
        for lister in (store.list_episodes, store.list_memories):
            cursor = None
            while True:
                page = lister(sc, SearchFilters(), 100, cursor)
                listed += len(page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
        pages = time.perf_counter() - s
        s = time.perf_counter()
        for i in range(0, args.n, 10):
            store.history(sc, f"m{i}")
        history = time.perf_counter() - s
        store.write(WriteBatch(jobs=[Job(f"j{i}", "bench", sc, {"i": i}, created_at=t0)
                                     for i in range(args.jobs)]))
        s = time.perf_counter()
        while (job := store.claim_job(["bench"], t0 + timedelta(days=1), 60)) is not None:
            store.finish_job(job.id, result={"ok": True})
        jobs = time.perf_counter() - s
    finally:
        store.close()
    print(f"{url.split('://')[0]}: write {2 * args.n} items {write:.2f}s | list {listed} in pages"
          f" of 100 {pages:.2f}s | {args.n // 10} histories {history:.2f}s |"
          f" {args.jobs} jobs claim+finish {jobs:.2f}s")


if __name__ == "__main__":
    main()
