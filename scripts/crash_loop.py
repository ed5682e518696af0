"""Crash loop: SIGKILL a writer at random moments, then prove the store is intact.

Each run starts a child process that writes to one shared SQLite store and
prints ``ACK <id>`` after every call that returned (an acknowledged write).
The run's kind is picked at random:

* ``add``          batch adds (several messages per call),
* ``import``       a JSONL import in small atomic batches,
* ``consolidate``  adds that supersede a fact ("I moved to City<n>"), so each
  write retires the previous ``lives_in`` memory and creates a new one.

After a random number of ACKs and a random extra pause the parent sends
SIGKILL, reopens the file and checks:

* ``PRAGMA integrity_check`` is ``ok`` and the store opens with :class:`Engram`;
* every acknowledged write is present;
* no half-written record: every episode/memory has its vector and its FTS
  row, every memory has its current version, FTS holds no extra rows, import
  batches are all-or-nothing, and a user has at most one active ``lives_in``
  memory whose city is the last acknowledged one or a later one.

Usage::

    python scripts/crash_loop.py --runs 100 --seed 1 [--db /tmp/crash.db]

Prints one line per run and a summary; exit status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("add", "import", "consolidate")
IMPORT_BATCH = 10
IMPORT_LINES = 120

CHILD = r"""
import sys
from engram import Engram, Message
path, kind, run = sys.argv[1], sys.argv[2], sys.argv[3]
eg = Engram(path)
print("READY", flush=True)
if kind == "add":
    i = 0
    while True:
        msgs = [Message(f"Run {run} note {i}.{k}: I bought {k} apples at market {i}",
                        id=f"r{run}-add-{i}-{k}") for k in range(3)]
        eg.add(msgs, user_id="u-add", session_id=f"s{i % 3}")
        print(" ".join(f"ACK {m.id}" for m in msgs), flush=True)
        i += 1
elif kind == "consolidate":
    i = 0
    while True:
        eg.add([Message(f"I moved to City{run}x{i}", id=f"r{run}-mv-{i}")], user_id="u-move")
        print(f"ACK r{run}-mv-{i}", flush=True)
        i += 1
else:
    done = [0]
    def progress(n):
        done[0] += n
        print(f"ACK import:{done[0]}", flush=True)
    with open(sys.argv[4], encoding="utf-8") as fp:
        eg.import_(fp, batch_size=int(sys.argv[5]), progress=progress)
    print("DONE", flush=True)
"""


@dataclass
class RunResult:
    run: int
    kind: str
    killed: bool
    acked: int
    lost: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.lost and not self.problems


def _write_import_file(path: Path, run: int) -> list[str]:
    ids = [f"r{run}-imp-{i:04d}" for i in range(IMPORT_LINES)]
    with path.open("w", encoding="utf-8") as fp:
        for i, eid in enumerate(ids):
            fp.write(json.dumps({
                "type": "episode", "id": eid, "tenant": "default", "user_id": "u-imp",
                "agent_id": None, "session_id": f"s{i % 4}", "role": "user", "speaker": None,
                "text": f"Imported note {i} of run {run}: the quick brown fox {i}",
                "occurred_at": f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
                "created_at": "2024-02-01T00:00:00Z", "metadata": {"i": i},
            }) + "\n")
    return ids


def _kill_after_acks(args: list[str], rng: random.Random, want: int) -> tuple[list[str], bool]:
    """Run the child, wait for ``want`` ACK tokens, pause 0-80 ms, SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    acks: list[str] = []
    done = False
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            acks.extend(re.findall(r"ACK (\S+)", line))
            if line.startswith("DONE"):
                done = True
                break
            if len(acks) >= want:
                break
        else:
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"child ended early: {err[-2000:]}")
        if not done:
            time.sleep(rng.uniform(0, 0.08))  # land somewhere inside the next write
            proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=120)
        acks.extend(re.findall(r"ACK (\S+)", rest))  # printed before the kill landed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return acks, proc.returncode == -signal.SIGKILL


def check_store(path: Path) -> list[str]:
    """Structural checks on the raw file; returns the problems found (empty: ok)."""
    problems: list[str] = []
    con = sqlite3.connect(path)
    try:
        verdict = con.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            return [f"integrity_check: {verdict}"]
        checks = {
            "episode without vector": "SELECT count(*) FROM episodes e WHERE NOT EXISTS"
            " (SELECT 1 FROM vectors v WHERE v.item_type = 'episode' AND v.item_rid = e.rid)",
            "memory without vector": "SELECT count(*) FROM memories m WHERE NOT EXISTS"
            " (SELECT 1 FROM vectors v WHERE v.item_type = 'memory' AND v.item_rid = m.rid)",
            "memory without current version": "SELECT count(*) FROM memories m WHERE NOT EXISTS"
            " (SELECT 1 FROM memory_versions h WHERE h.tenant = m.tenant"
            " AND h.memory_id = m.id AND h.version = m.version)",
            "episode without fts row": "SELECT count(*) FROM episodes e"
            " WHERE rid * 2 NOT IN (SELECT rowid FROM fts)",
            "memory without fts row": "SELECT count(*) FROM memories m"
            " WHERE rid * 2 + 1 NOT IN (SELECT rowid FROM fts)",
            "fts rows without item": "SELECT (SELECT count(*) FROM fts) - (SELECT count(*)"
            " FROM episodes) - (SELECT count(*) FROM memories)",
            "orphan vectors": "SELECT count(*) FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM"
            " episodes e WHERE v.item_type = 'episode' AND e.rid = v.item_rid) AND NOT EXISTS"
            " (SELECT 1 FROM memories m WHERE v.item_type = 'memory' AND m.rid = v.item_rid)",
            "several active lives_in": "SELECT count(*) FROM (SELECT user_id FROM memories"
            " WHERE status = 'active' AND attribute = 'user:lives_in'"
            " GROUP BY tenant, user_id HAVING count(*) > 1)",
        }
        for name, sql in checks.items():
            n = con.execute(sql).fetchone()[0]
            if n:
                problems.append(f"{name}: {n}")
    finally:
        con.close()
    return problems


def _stored_ids(path: Path, prefix: str) -> set[str]:
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT id FROM episodes WHERE id LIKE ?",
                                          (prefix + "%",))}
    finally:
        con.close()


def _active_city(path: Path) -> str | None:
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT text FROM memories WHERE status = 'active' AND"
                          " attribute = 'user:lives_in' AND user_id = 'u-move'").fetchone()
        return row[0] if row else None
    finally:
        con.close()


def one_run(path: Path, run: int, kind: str, rng: random.Random, workdir: Path) -> RunResult:
    """One child, one kill, one verification."""
    if kind == "import":
        src = workdir / f"import-{run}.jsonl"
        ids = _write_import_file(src, run)
        acks, killed = _kill_after_acks(
            [str(path), kind, str(run), str(src), str(IMPORT_BATCH)], rng, rng.randint(1, 6))
        top = max((int(a.split(":")[1]) for a in acks), default=0)
        acked = ids[:top]
    else:
        acks, killed = _kill_after_acks([str(path), kind, str(run)], rng, rng.randint(1, 9))
        acked = acks
    res = RunResult(run, kind, killed, len(acked))
    res.problems = check_store(path)
    if res.problems and res.problems[0].startswith("integrity_check"):
        return res
    stored = _stored_ids(path, f"r{run}-")
    res.lost = sorted(set(acked) - stored)
    if kind == "import" and len(stored) % IMPORT_BATCH:
        res.problems.append(f"partial import batch: {len(stored)} rows")
    if kind == "consolidate" and acked:
        last = max(int(a.rsplit("-", 1)[1]) for a in acked)
        city = _active_city(path)
        got = re.search(rf"City{run}x(\d+)", city or "")
        if got is None or int(got.group(1)) < last:
            res.problems.append(f"active residence {city!r}, last acknowledged move {last}")
    return res


def run_loop(path: Path, runs: int, seed: int, *, echo: bool = True,
             embedder: Any = None) -> list[RunResult]:
    """``runs`` kill-and-check rounds on the store at ``path``; results in order.

    ``embedder`` (optional) is reused for the reopen check; default: the built-in one."""
    from engram import Engram
    from engram.embed.registry import get_embedder

    emb = embedder or get_embedder("default")

    rng = random.Random(seed)
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            kind = KINDS[run % len(KINDS)] if run < len(KINDS) else rng.choice(KINDS)
            res = one_run(path, run, kind, rng, Path(tmp))
            if not (res.problems and res.problems[0].startswith("integrity_check")):
                try:  # the store opens and answers (engine-level check)
                    with Engram(path, embedder=emb) as eg:
                        eg.stats()
                except Exception as exc:  # noqa: BLE001 - reported, not raised
                    res.problems.append(f"store does not open: {type(exc).__name__}: {exc}")
            results.append(res)
            if echo:
                status = "ok" if res.ok else f"FAIL lost={res.lost[:3]} {res.problems}"
                print(f"run {run:3d} {kind:11s} killed={res.killed!s:5s} acked={res.acked:4d}"
                      f" {status}", flush=True)
    return results


def summarize(results: list[RunResult]) -> str:
    kinds = Counter(r.kind for r in results)
    lines = [
        f"runs: {len(results)} ({', '.join(f'{k} {kinds[k]}' for k in KINDS)})",
        f"killed mid-run by SIGKILL: {sum(r.killed for r in results)}"
        f" (others finished before the kill)",
        f"acknowledged writes checked: {sum(r.acked for r in results)}",
        f"acknowledged writes lost: {sum(len(r.lost) for r in results)}",
        f"integrity_check failures: "
        f"{sum(any(p.startswith('integrity') for p in r.problems) for r in results)}",
        f"runs with half-written/inconsistent records: "
        f"{sum(bool(r.problems) for r in results)}",
        f"runs passing every check: {sum(r.ok for r in results)}/{len(results)}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", type=Path, default=None, help="store file (default: a temp file)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "crash-loop.db"
        results = run_loop(path, args.runs, args.seed)
        print(summarize(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
