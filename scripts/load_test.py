"""Load test for ``engram serve`` on loopback (a command that prints figures, not a test).

Starts its own server on a temporary store, runs N concurrent clients mixing
add and search for a fixed number of operations, then checks that every
acknowledged add is searchable. Stops by itself (bounded count and time).

    python scripts/load_test.py --clients 8 --ops 400 --search-ratio 0.5
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from server_fixtures import start_server, stop_server  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--ops", type=int, default=400, help="total operations")
    ap.add_argument("--search-ratio", type=float, default=0.5)
    ap.add_argument("--max-seconds", type=float, default=300)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="engram-load-"))
    srv = start_server(tmp)
    lat = {"add": [], "search": []}  # type: dict[str, list[float]]
    errors: list[str] = []
    acked: list[tuple[str, str]] = []  # (token, episode id)
    lock = threading.Lock()
    counter = iter(range(args.ops))
    deadline = time.monotonic() + args.max_seconds

    def worker(wid: int) -> None:
        rng = random.Random(wid)
        with httpx.Client(base_url=srv.url, timeout=60,
                          headers={"Authorization": f"Bearer {srv.key_a}"}) as c:
            while time.monotonic() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                search = acked and rng.random() < args.search_ratio
                t = time.perf_counter()
                if search:
                    r = c.post("/v1/search", json={"user_id": "load", "limit": 5,
                                                   "query": f"topic {rng.randrange(1000)}"})
                else:
                    token = f"tok{i:06d}x"
                    r = c.post("/v1/messages", json={"user_id": "load", "messages": [
                        {"text": f"Note {i}: I talked about {token} and topic {i % 1000}"}]})
                dt = time.perf_counter() - t
                with lock:
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {r.text[:200]}")
                    elif search:
                        lat["search"].append(dt)
                    else:
                        lat["add"].append(dt)
                        acked.append((token, r.json()["episodes"][0]["id"]))

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - start

    missing = 0
    with httpx.Client(base_url=srv.url, timeout=60,
                      headers={"Authorization": f"Bearer {srv.key_a}"}) as c:
        for token, ep in acked:
            hits = c.post("/v1/search", json={"user_id": "load", "query": token,
                                              "kinds": ["episode"], "limit": 3}).json()["hits"]
            if ep not in [h["id"] for h in hits]:
                missing += 1
        jobs_pending = c.get("/readyz").json().get("derive_jobs_pending")
    stop_server(srv)

    done = len(lat["add"]) + len(lat["search"])
    print(f"clients={args.clients} ops={done}/{args.ops} wall={wall:.1f}s "
          f"throughput={done / wall:.1f} ops/s errors={len(errors)}")
    for name, xs in lat.items():
        if xs:
            q = statistics.quantiles(xs, n=100)
            print(f"  {name:6s} n={len(xs):4d} p50={q[49]*1000:.0f}ms p95={q[94]*1000:.0f}ms "
                  f"p99={q[98]*1000:.0f}ms")
    print(f"acknowledged adds={len(acked)} searchable afterwards={len(acked) - missing} "
          f"missing={missing} (derive jobs still pending at the end: {jobs_pending})")
    for e in errors[:5]:
        print("  error:", e)
    return 1 if errors or missing else 0


if __name__ == "__main__":
    sys.exit(main())
