"""Every acknowledged write is searchable from every process at its next search.

Two real worker processes (A and B) open the same store (a real SQLite file,
or PostgreSQL) through :class:`engram.Engram` and take one JSON command per
line on stdin. The test interleaves their writes and searches the way a
server and a CLI share a store: a process's own write must never hide
another process's earlier write from its in-memory index, and a delete or a
forget done elsewhere must leave search at once, even when the searching
process wrote in between.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

WORKER = r"""
import json, sys
from engram import Engram
eg = Engram(url=sys.argv[1])
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    op, user = cmd["op"], cmd.get("user", "u")
    if op == "remember":
        out = {"id": eg.remember(cmd["text"], user_id=user).id}
    elif op == "add":
        eg.add([{"role": "user", "content": cmd["text"]}], user_id=user, derive=False)
        out = {}
    elif op == "search":
        hits = eg.search(cmd["q"], user_id=user, limit=50, track_access=False)
        out = {"texts": sorted(h.text for h in hits)}
    elif op == "delete":
        eg.delete(cmd["id"], user_id=user)
        out = {}
    elif op == "forget":
        eg.forget(user_id=user)
        out = {}
    else:
        out = {"error": op}
    print(json.dumps(out), flush=True)
eg.close()
"""


class Worker:
    """One long-lived process with its own :class:`engram.Engram` on ``url``."""

    def __init__(self, url: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self._read() == {"ready": True}

    def _read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"worker died: {err}")
        return json.loads(line)

    def __call__(self, op: str, **args: str) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def remember(self, text: str, user: str = "u") -> str:
        return str(self("remember", text=text, user=user)["id"])

    def search(self, q: str = "zebra", user: str = "u") -> set[str]:
        return set(self("search", q=q, user=user)["texts"])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(params=["sqlite", "postgres"])
def workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Worker, Worker]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        from pg_fixtures import fresh_pg_url

        url = fresh_pg_url()
    a = Worker(url)
    try:
        b = Worker(url)
        try:
            yield a, b
        finally:
            b.close()
    finally:
        a.close()


def test_own_write_does_not_hide_another_process_write(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    a.remember("zebra note w")
    assert b.search() == {"zebra note w"}  # B now holds the user's index in memory
    a.remember("zebra note x")
    b.remember("zebra note y")
    assert b.search() == {"zebra note w", "zebra note x", "zebra note y"}
    a.remember("zebra note z")
    assert b.search() == {"zebra note w", "zebra note x", "zebra note y", "zebra note z"}
    # episodes go the same way
    a("add", text="zebra message from A")
    b("add", text="zebra message from B")
    found = b.search()
    assert {"zebra message from A", "zebra message from B", "zebra note x"} <= found
    assert a.search() == found


def test_delete_and_forget_elsewhere_leave_search(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    x = a.remember("zebra note x")
    b.remember("zebra note y")
    b.remember("zebra note kept", user="other")
    assert b.search() == {"zebra note x", "zebra note y"}
    assert b.search(user="other") == {"zebra note kept"}
    a("delete", id=x)
    b.remember("zebra note q")
    assert b.search() == {"zebra note y", "zebra note q"}
    a("forget")
    b.remember("zebra note kept 2", user="other")
    assert b.search() == set()
    assert b.search(user="other") == {"zebra note kept", "zebra note kept 2"}
    b.remember("zebra note after")
    assert a.search() == {"zebra note after"}
    assert b.search() == {"zebra note after"}


def test_a_process_that_only_searches_sees_each_commit_elsewhere(
    workers: tuple[Worker, Worker],
) -> None:
    """B never writes: only A's commits tell B's next search that something
    changed (an insert, a delete, a forget), each seen at once."""
    a, b = workers
    x = a.remember("zebra note x")
    assert b.search() == {"zebra note x"}
    assert b.search() == {"zebra note x"}
    y = a.remember("zebra note y")
    assert b.search() == {"zebra note x", "zebra note y"}
    a("delete", id=x)
    assert b.search() == {"zebra note y"}
    a("delete", id=y)
    a.remember("zebra note z")
    assert b.search() == {"zebra note z"}
    a("forget")
    assert b.search() == set()
