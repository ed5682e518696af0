"""Rows left in ``jobs`` after queued adds, and what purging them costs (issue #21).

    .venv/bin/python scripts/bench_job_purge.py                     # a SQLite file
    .venv/bin/python scripts/bench_job_purge.py --url postgresql://...  # an empty database
    .venv/bin/python scripts/bench_job_purge.py --retention 0       # keep them (as before #21)

Adds ``--adds`` single messages through the embed queue (real embedder, one
``embed`` job each), drains, then counts the job rows: within the retention,
after a no-op purge, and after the embed queue's next drain two hours later
(the runner's clock moved, no sleep). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from engram import Engram
from engram.models import Scope
from engram.timeutil import now

TOPICS = ["the garden", "the cello", "Lisbon", "climbing", "the cat Miso", "my sister",
          "work", "Porto"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--url", default=None, help="store URL (default: a fresh SQLite file)")
    ap.add_argument("--adds", type=int, default=2000)
    ap.add_argument("--retention", type=float, default=3600.0, help="embed_job_retention")
    args = ap.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'purge.db'}"
    with Engram(url=url, embed_queue=True, embed_job_retention=args.retention,
                derive_rules=False, link_notes=False) as eg:
        start = time.perf_counter()
        for i in range(args.adds):
            eg.add(f"Message {i}: today I talked about {TOPICS[i % len(TOPICS)]} for a while.",
                   scope=Scope(user_id=f"u{i % 20}"), derive=False)
            if i % 200 == 199:
                eg.ingest.embeds.drain()
        eg.ingest.embeds.drain()
        print(f"{url.split(':', 1)[0]}: {args.adds} adds in {time.perf_counter() - start:.1f} s,"
              f" embed_job_retention {args.retention:g} s")

        def rows() -> int:
            return sum(eg.store.job_counts(None).values())

        runner = eg.ingest.embeds.runner
        print(f"job rows after the adds (within the retention): {rows()}")
        t = time.perf_counter()
        n = runner.purge(now())
        print(f"purge with nothing old enough: {n} deleted in"
              f" {(time.perf_counter() - t) * 1000:.2f} ms")
        t = time.perf_counter()
        runner.run_pending(now=now() + timedelta(hours=2))
        print(f"two hours on, the next drain (with its purge) took"
              f" {(time.perf_counter() - t) * 1000:.1f} ms: {rows()} job rows left")


if __name__ == "__main__":
    main()
