"""Soak test for ``engram serve`` on loopback (a command that prints figures, not a test).

Starts its own server on a temporary store and runs a steady mixed load
(adds, searches, context, list, stats) from a few clients for ``--minutes``
(default 30). Every ``--sample-seconds`` it samples the server's resident set
size (RSS, from ``/proc/<pid>/status``). At the end it reports:

* the RSS slope in MB/min (least squares over samples after ``--warmup``
  seconds, so model loading and cache fill are not counted as a leak);
* errors (any non-200 answer or transport error; must be 0);
* lost writes: every acknowledged add must be in the store (checked from one
  export per user, must be 0), and a random sample of ``--search-probes`` of them
  must be found by a search for its unique token (must be 0 not found).

Bounded: it stops after ``--minutes`` plus the final check, whatever happens.
Exit status 0 only when errors, lost writes and unfound probes are all 0.

    python scripts/soak.py --minutes 30          # the full run
    python scripts/soak.py --minutes 5 --clients 3
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from server_fixtures import start_server, stop_server  # noqa: E402

WORDS = ("tea coffee hiking Lisbon Berlin piano guitar sister dentist deadline budget "
         "garden cat dog marathon sushi vegan flight hotel meeting promotion").split()


@dataclass
class Tally:
    ops: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    acked: list[tuple[str, str, str]] = field(default_factory=list)  # (user, token, episode id)
    lock: threading.Lock = field(default_factory=threading.Lock)


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found")


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points; 0.0 with fewer than two points."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    return sxy / sxx if sxx else 0.0


def worker(wid: int, url: str, key: str, deadline: float, tally: Tally, pace: float,
           add_share: float) -> None:
    rng = random.Random(wid)
    user = f"soak{wid % 4}"
    n = 0
    with httpx.Client(base_url=url, timeout=60,
                      headers={"Authorization": f"Bearer {key}"}) as c:
        while time.monotonic() < deadline:
            n += 1
            roll = rng.random()
            # adds take add_share of the traffic; the rest keeps the original proportions
            roll = roll * 0.45 / add_share if roll < add_share else \
                0.45 + (roll - add_share) * 0.55 / (1 - add_share)
            topic = " ".join(rng.sample(WORDS, 3))
            try:
                if roll < 0.45:
                    kind = "add"
                    token = f"soak{wid}n{n}q"
                    r = c.post("/v1/messages", json={"user_id": user, "messages": [
                        {"text": f"I mentioned {token} while talking about {topic}"}]})
                elif roll < 0.80:
                    kind = "search"
                    r = c.post("/v1/search", json={"user_id": user, "query": topic, "limit": 5})
                elif roll < 0.92:
                    kind = "context"
                    r = c.post("/v1/context", json={"user_id": user, "query": topic,
                                                    "max_tokens": 256})
                elif roll < 0.97:
                    kind = "list"
                    r = c.get("/v1/memories", params={"user_id": user, "limit": 20})
                else:
                    kind = "stats"
                    r = c.get("/v1/stats", params={"user_id": user})
            except httpx.HTTPError as exc:
                with tally.lock:
                    tally.errors.append(f"transport: {exc!r}")
                continue
            with tally.lock:
                tally.ops[kind] = tally.ops.get(kind, 0) + 1
                if r.status_code != 200:
                    tally.errors.append(f"{kind} {r.status_code} {r.text[:200]}")
                elif kind == "add":
                    tally.acked.append((user, token, r.json()["episodes"][0]["id"]))
            if pace:
                time.sleep(pace)


def final_check(url: str, key: str, acked: list[tuple[str, str, str]],
                probes: int) -> tuple[list[str], list[str], int]:
    """Every acknowledged add must be in the store; a sample must also be searchable.

    Presence is checked from one export per user (bounded: a few requests however
    long the soak ran); findability by searching for the unique token of up to
    ``probes`` acknowledged adds drawn at random.
    """
    lost: list[str] = []
    unfound: list[str] = []
    with httpx.Client(base_url=url, timeout=600,
                      headers={"Authorization": f"Bearer {key}"}) as c:
        for user in sorted({u for u, _, _ in acked}):
            r = c.get("/v1/export", params={"user_id": user})
            r.raise_for_status()
            stored = {rec["id"] for rec in map(json.loads, r.text.splitlines())
                      if rec.get("type") == "episode"}
            lost += [ep for u, _, ep in acked if u == user and ep not in stored]
        sample = random.Random(0).sample(acked, min(probes, len(acked)))
        for user, token, ep in sample:
            # the lexical preset: this checks that the write reached the index,
            # not how a fused ranking orders near-identical soak messages
            r = c.post("/v1/search", json={"user_id": user, "query": token, "preset": "bm25",
                                           "kinds": ["episode"], "limit": 3})
            if r.status_code != 200 or ep not in [h["id"] for h in r.json()["hits"]]:
                unfound.append(ep)
    return lost, unfound, len(sample)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--sample-seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=30.0, help="seconds left out of the slope")
    ap.add_argument("--pace", type=float, default=0.0, help="sleep between a client's requests")
    ap.add_argument("--add-share", type=float, default=0.45,
                    help="share of adds (lower it to tell a leak from a growing store)")
    ap.add_argument("--search-probes", type=int, default=2000,
                    help="acknowledged adds (at random) that must also be found by search")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="engram-soak-"))
    srv = start_server(tmp)
    tally = Tally()
    t0 = time.monotonic()
    deadline = t0 + args.minutes * 60
    threads = [threading.Thread(target=worker, args=(w, srv.url, srv.key_a, deadline, tally,
                                                     args.pace, args.add_share), daemon=True)
               for w in range(args.clients)]
    for th in threads:
        th.start()
    samples: list[tuple[float, float]] = []
    while time.monotonic() < deadline:
        samples.append((time.monotonic() - t0, rss_mb(srv.proc.pid)))
        time.sleep(min(args.sample_seconds, max(0.0, deadline - time.monotonic())))
    for th in threads:
        th.join(120)
    samples.append((time.monotonic() - t0, rss_mb(srv.proc.pid)))

    lost, unfound, probed = final_check(srv.url, srv.key_a, tally.acked, args.search_probes)
    stop_server(srv)

    steady = [(t / 60, m) for t, m in samples if t >= args.warmup] or \
        [(t / 60, m) for t, m in samples]
    total = sum(tally.ops.values())
    wall = samples[-1][0]
    print(f"minutes={args.minutes:g} clients={args.clients} ops={total} "
          f"({total / wall:.1f}/s) " + " ".join(f"{k}={v}" for k, v in sorted(tally.ops.items())))
    print(f"rss_mb start={samples[0][1]:.1f} after_warmup={steady[0][1]:.1f} "
          f"end={samples[-1][1]:.1f} max={max(m for _, m in samples):.1f} samples={len(samples)}")
    print(f"rss_slope={slope(steady):.3f} MB/min (least squares, after {args.warmup:g}s warmup); "
          f"growth per 1k acknowledged adds="
          f"{(samples[-1][1] - steady[0][1]) / max(1, len(tally.acked)) * 1000:.2f} MB")
    print(f"errors={len(tally.errors)} acknowledged_adds={len(tally.acked)} "
          f"lost_writes={len(lost)} search_probes={probed} not_found_by_search={len(unfound)}")
    for e in tally.errors[:5]:
        print("  error:", e)
    return 1 if tally.errors or lost or unfound else 0


if __name__ == "__main__":
    sys.exit(main())
