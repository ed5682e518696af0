"""A SQLite forget truncates the WAL once: the residue audit reports the forget's
own checkpoint instead of running (and, under contention, waiting on) a second.

Before, ``forget`` checkpointed after the delete and ``forget_residue`` checkpointed
again, so a reader holding an old snapshot cost the busy timeout twice. The statements
the store's connection runs are traced; the raw scan (a child process) still proves
the file holds no trace of the forgotten text."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engram import Engram, Message
from engram.embed.base import Embedder
from engram.store import open_store
from engram.store.rawfile import database_files, raw_file_scan

MARKER = "Vorpalquindle-41c9"


def _fill(eg: Engram) -> None:
    eg.add("I moved to Lisbon and I keep bees on the roof", user_id="bob")
    for i in range(3):
        eg.add([Message(f"My parrot {MARKER} hums sea shanties ({i})", id=f"a-{i}")],
               user_id="alice")


def _traced(store: object) -> list[str]:
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)  # type: ignore[attr-defined]
    return seen


def test_one_checkpoint_per_forget_and_no_trace_left(tmp_path: Path, embedder: Embedder) -> None:
    db = tmp_path / "one.db"
    store = open_store(str(db))
    with Engram(store=store, embedder=embedder) as eg:
        _fill(eg)
        seen = _traced(store)
        report = eg.forget(user_id="alice", markers=[MARKER])
        store._conn.set_trace_callback(None)  # type: ignore[attr-defined]
        checkpoints = [s for s in seen if "wal_checkpoint" in s]
        assert checkpoints == ["PRAGMA wal_checkpoint(TRUNCATE)"]
        audit = report.audit
        assert audit is not None and report.verified
        assert audit.checks["wal_checkpoint"] == "passed" and audit.checks["raw_file"] == "passed"
        assert raw_file_scan(database_files(str(db)), [MARKER]) == set()
        assert eg.search("bees", user_id="bob")  # bob untouched
        # a standalone (repeated) residue check runs its own checkpoint
        seen = _traced(store)
        again = store.forget_residue([MARKER], 1 << 30)
        store._conn.set_trace_callback(None)  # type: ignore[attr-defined]
        assert [s for s in seen if "wal_checkpoint" in s] == ["PRAGMA wal_checkpoint(TRUNCATE)"]
        assert again.checks == {"wal_checkpoint": "passed", "raw_file": "passed"}


def test_a_busy_checkpoint_waits_once_and_the_audit_says_so(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A reader on the pre-forget snapshot: the forget's checkpoint waits the busy
    timeout and cannot truncate; the audit retries without waiting and reports
    ``failed``. Once the reader is gone, a repeated check passes and the file is clean."""
    db = tmp_path / "busy.db"
    store = open_store(str(db), busy_timeout=0.2)
    with Engram(store=store, embedder=embedder) as eg:
        _fill(eg)
        reader = sqlite3.connect(db)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM episodes").fetchone()[0] == 4
        seen = _traced(store)
        try:
            report = eg.forget(user_id="alice", markers=[MARKER])
        finally:
            reader.close()
        store._conn.set_trace_callback(None)  # type: ignore[attr-defined]
        at = [i for i, s in enumerate(seen) if "wal_checkpoint" in s]
        assert len(at) == 2
        assert seen[at[1] - 1] == "PRAGMA busy_timeout=0"  # the retry does not wait
        assert seen[at[1] + 1] == "PRAGMA busy_timeout=200"  # and the timeout is restored
        assert report.audit is not None and report.audit.checks["rows"] == "passed"
        assert report.audit.checks["wal_checkpoint"] == "failed" and not report.verified
        assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 200  # type: ignore[attr-defined]
        again = store.forget_residue([MARKER], 1 << 30)
        assert again.checks == {"wal_checkpoint": "passed", "raw_file": "passed"}
        assert raw_file_scan(database_files(str(db)), [MARKER]) == set()
