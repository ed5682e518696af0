"""SIGKILL in the middle of writes loses no acknowledged write and corrupts nothing.

A child process adds messages (or imports a JSONL file in batches) and prints
``ACK <n>`` after each call returned. The parent kills it with SIGKILL at a
random moment, reopens the file and checks: ``PRAGMA integrity_check`` is ok,
every acknowledged record is there, and no item is half-written (an episode or
memory without its vector or lexical index row, a memory without history).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engram import Engram
from engram.embed.base import Embedder

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")

ADD_CHILD = r"""
import sys
from engram import Engram, Message
eg = Engram(sys.argv[1])
print("READY", flush=True)
i = 0
while True:
    eg.add([Message(f"I visited city number {i} and I live in Town{i}", id=f"msg-{i}")],
           user_id="u", session_id=f"s{i % 3}")
    print(f"ACK {i}", flush=True)
    i += 1
"""

BACKGROUND_CHILD = r"""
import sys
from engram import Engram, Message
eg = Engram(sys.argv[1])
print("READY", flush=True)
i = 0
while True:
    res = eg.add([Message(f"I moved to Town{i} and I love tea number {i}", id=f"bg-{i}")],
                 user_id=f"u{i % 2}", derive="background")
    print(f"ACK {res.job_id}", flush=True)
    i += 1
"""

IMPORT_CHILD = r"""
import sys
from engram import Engram
eg = Engram(sys.argv[1])
print("READY", flush=True)
done = [0]
def progress(n):
    done[0] += n
    print(f"ACK {done[0]}", flush=True)
with open(sys.argv[2], encoding="utf-8") as fp:
    eg.import_(fp, batch_size=int(sys.argv[3]), progress=progress)
print("DONE", flush=True)
"""


def _run_and_kill(args: list[str], rng: random.Random, min_acks: int, max_acks: int) -> list[str]:
    """Start a child, wait for a random number of ACKs, sleep a random moment, SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    acks: list[str] = []
    want = rng.randint(min_acks, max_acks)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("ACK "):
                acks.append(line.split()[1])
                if len(acks) >= want:
                    break
            elif line.startswith("DONE"):
                break
        else:
            raise AssertionError(f"child ended early: {proc.stderr.read()}")  # type: ignore[union-attr]
        time.sleep(rng.uniform(0, 0.08))  # land somewhere inside the next write
        proc.send_signal(signal.SIGKILL)
        # ACKs printed before the kill landed are acknowledged writes too
        rest, _ = proc.communicate(timeout=60)
        acks.extend(ln.split()[1] for ln in rest.splitlines() if ln.startswith("ACK "))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL or proc.returncode == 0
    return acks


def _check_consistent(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    assert q("SELECT count(*) FROM episodes e WHERE NOT EXISTS (SELECT 1 FROM vectors v"
             " WHERE v.item_type = 'episode' AND v.item_rid = e.rid)") == 0
    assert q("SELECT count(*) FROM memories m WHERE NOT EXISTS (SELECT 1 FROM vectors v"
             " WHERE v.item_type = 'memory' AND v.item_rid = m.rid)") == 0
    assert q("SELECT count(*) FROM memories m WHERE NOT EXISTS (SELECT 1 FROM memory_versions"
             " h WHERE h.tenant = m.tenant AND h.memory_id = m.id AND h.version = m.version)") == 0
    assert q("SELECT count(*) FROM episodes e WHERE rid * 2 NOT IN (SELECT rowid FROM fts)") == 0
    assert q("SELECT count(*) FROM memories m WHERE rid * 2 + 1 NOT IN"
             " (SELECT rowid FROM fts)") == 0
    assert q("SELECT count(*) FROM fts") == q(
        "SELECT (SELECT count(*) FROM episodes) + (SELECT count(*) FROM memories)")
    return con


def test_sigkill_during_adds(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "crash.db"
    rng = random.Random(20240501)
    acked: set[str] = set()
    for _ in range(3):
        acks = _run_and_kill([ADD_CHILD, str(path)], rng, 1, 8)
        acked.update(f"msg-{n}" for n in acks)
        con = _check_consistent(path)
        stored = {r[0] for r in con.execute("SELECT id FROM episodes")}
        con.close()
        assert acked <= stored, f"lost acknowledged writes: {sorted(acked - stored)}"
    with Engram(path, embedder=embedder) as eg:  # the file is still a working store
        assert eg.search("which city did I visit", user_id="u")
        eg.add("after the crash", user_id="u")
        assert eg.stats(user_id="u").episodes == len(
            {r for r in eg.store.existing_episode_ids("default", [f"msg-{i}" for i in range(40)])}
        ) + 1


def test_background_derive_jobs_survive_sigkill(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "jobs.db"
    acks = _run_and_kill([BACKGROUND_CHILD, str(path)], random.Random(11), 2, 6)
    _check_consistent(path).close()
    with Engram(path, embedder=embedder) as eg:  # the restart: every job is still queued
        for job_id in acks:
            job = eg.job(job_id)
            assert job is not None and job.status == "pending", job_id
        report = eg.process_pending()
        assert report.failed == 0 and report.retried == 0 and report.done >= len(acks)
        assert eg.pending().pending == 0
        for job_id in acks:
            job = eg.job(job_id)
            assert job is not None and job.status == "done" and job.operations, job_id
        lives = [m for m in eg.list(user_id="u0").items if m.attribute == "user:lives_in"]
        assert len(lives) == 1  # derived in order: the last town wins
    _check_consistent(path).close()


def test_sigkill_during_import(tmp_path: Path, embedder: Embedder) -> None:
    src = tmp_path / "big.jsonl"
    ids = [f"imp-{i:04d}" for i in range(240)]
    with src.open("w", encoding="utf-8") as fp:
        for i, eid in enumerate(ids):
            fp.write(json.dumps({
                "type": "episode", "id": eid, "tenant": "default", "user_id": "u",
                "agent_id": None, "session_id": f"s{i % 5}", "role": "user", "speaker": None,
                "text": f"Imported note {i}: the quick brown fox number {i}",
                "occurred_at": f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
                "created_at": "2024-02-01T00:00:00Z", "metadata": {"i": i},
            }) + "\n")
    rng = random.Random(7)
    for attempt in range(2):
        path = tmp_path / f"import{attempt}.db"
        acks = _run_and_kill([IMPORT_CHILD, str(path), str(src), "20"], rng, 1, 4)
        acked = set(ids[: max(int(a) for a in acks)])
        con = _check_consistent(path)
        stored = {r[0] for r in con.execute("SELECT id FROM episodes")}
        con.close()
        assert acked <= stored, f"lost {len(acked - stored)} acknowledged records"
        assert len(stored) % 20 == 0  # batches are all-or-nothing
    with Engram(path, embedder=embedder) as eg:  # resuming the import is safe
        with src.open(encoding="utf-8") as fp:
            rep = eg.import_(fp, batch_size=100)
        assert rep.episodes_existing == len(stored)
        assert eg.stats().episodes == len(ids)
    _check_consistent(path).close()
