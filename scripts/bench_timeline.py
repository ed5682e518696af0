"""How fast the memory browser's listings are on a large user: Store.timeline pages
(first, deep, filtered), Store.sessions and Store.users.

    python scripts/bench_timeline.py                      # 100,000 items, SQLite
    python scripts/bench_timeline.py --items 20000 --url postgresql://...

Writes ``--items`` items for one user (half episodes over 200 sessions, half memories
of several kinds and statuses, 1% flagged) straight through the store contract (no
embedding), then prints the median time of each listing over ``--repeat`` runs.
A deep page is reached by following cursors, as the UI's "Older" link does.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engram.models import Episode, Memory, MemoryKind, MemoryStatus, Scope
from engram.store import open_store
from engram.store.base import WriteBatch
from engram.store.browse import TimelineFilters

T0 = datetime(2020, 1, 1, tzinfo=UTC)
KINDS = [MemoryKind.FACT, MemoryKind.PREFERENCE, MemoryKind.EVENT, MemoryKind.PLAN]
FLAG = {"engram": {"trust": "tool", "origin": "message", "flags": ["instruction_override"]}}


def fill(store_url: str, items: int) -> None:
    store = open_store(store_url)
    batch = WriteBatch()
    for i in range(items):
        sc = Scope(user_id="big", session_id=f"s{i % 200}", tenant="bench")
        at = T0 + timedelta(minutes=i)
        meta = dict(FLAG) if i % 100 == 7 else {}
        if i % 2 == 0:
            batch.episodes.append(Episode(id=f"e{i}", scope=sc, role="user", text=f"line {i}",
                                          occurred_at=at, created_at=at,
                                          speaker="bot" if i % 10 == 0 else None,
                                          metadata=meta))
        else:
            status = MemoryStatus.SUPERSEDED if i % 9 == 1 else MemoryStatus.ACTIVE
            batch.new_memories.append(Memory(id=f"m{i}", scope=sc, kind=KINDS[i % 4],
                                             text=f"memory {i}", created_at=at, updated_at=at,
                                             status=status, metadata=meta))
        if len(batch.episodes) + len(batch.new_memories) >= 2000:
            store.write(batch)
            batch = WriteBatch()
    store.write(batch)
    for u in range(50):  # other users, so users() has something to group
        sc = Scope(user_id=f"u{u}", tenant="bench")
        store.write(WriteBatch(episodes=[Episode(id=f"o{u}", scope=sc, role="user", text="hi",
                                                 occurred_at=T0, created_at=T0)]))
    store.close()


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--url", default=None, help="store URL [default: a temporary SQLite file]")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--depth", type=int, default=200, help="pages to follow for the deep page")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    t = time.perf_counter()
    fill(url, args.items)
    print(f"filled {args.items:,} items in {time.perf_counter() - t:.1f} s ({url.split(':')[0]})")
    store = open_store(url)
    sc = Scope(user_id="big", tenant="bench")
    every = TimelineFilters()
    cursor = None
    for _ in range(args.depth):
        cursor = store.timeline(sc, every, 50, cursor).next_cursor
    cases = {
        "timeline, first page (50)": lambda: store.timeline(sc, every, 50),
        f"timeline, page {args.depth + 1} (50)": lambda: store.timeline(sc, every, 50, cursor),
        "timeline, flagged only": lambda: store.timeline(sc, TimelineFilters(status="flagged"), 50),
        "timeline, kind=plan": lambda: store.timeline(sc, TimelineFilters(
            kinds=frozenset({"plan"})), 50),
        "timeline, speaker=bot": lambda: store.timeline(sc, TimelineFilters(speaker="bot"), 50),
        "timeline, one session": lambda: store.timeline(
            Scope(user_id="big", session_id="s17", tenant="bench"), every, 50),
        "sessions of the user (200)": lambda: store.sessions(sc),
        "users of the tenant (51)": lambda: store.users("bench"),
    }
    for name, fn in cases.items():
        print(f"{name:32s} {timed(fn, args.repeat):8.1f} ms")
    store.close()


if __name__ == "__main__":
    main()
