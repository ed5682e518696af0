"""Issue #13 item 1: a forget in a long-lived process must not cost anyone an
acknowledged write when another process opens and closes the same SQLite file.

Real processes (scripts/fault_forget_other_process.py): A keeps one Engram
open, forgets a user (the audit's raw scan included), keeps writing; between
A's writes ``engram stats`` and a second writer B open and close the file.
Every acknowledged write must be visible to a fresh process while A runs and
must survive SIGKILL of A. Before the fix the audit read the database with a
plain file read in A, which released A's POSIX locks: B then deleted the WAL
under A and A's later writes were lost. SQLite only (PostgreSQL has no file
locks in the client)."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.store.rawfile import database_files, raw_file_scan

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX locks and SIGKILL")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fault_forget_other_process.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fault_forget_other_process", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fault_forget_other_process"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_forget_then_other_process_loses_no_acknowledged_write(tmp_path: Path) -> None:
    res = _load().run(tmp_path / "fault.db", rounds=2)
    assert res.forget_verified
    assert len(res.acked["A"]) == 3 + 2 * 2 and len(res.acked["B"]) == 2
    assert res.integrity == "ok"
    assert not any(res.lost.values()), res.summary()
    assert res.ok


def test_raw_scan_keeps_this_process_locks(tmp_path: Path, embedder: Embedder) -> None:
    """The scan itself, in-process: after it, another process's open/close must not
    delete the WAL this process is using, and our next write stays visible."""
    db = tmp_path / "locks.db"
    with Engram(db, embedder=embedder) as eg:
        eg.add("The first note about the tulip garden", user_id="u")
        assert raw_file_scan(database_files(db), ["tulip garden"]) == {"tulip garden"}
        subprocess.run([sys.executable, "-c", "import sqlite3, sys;"
                        " c = sqlite3.connect(sys.argv[1]);"
                        " c.execute('select count(*) from episodes').fetchall(); c.close()",
                        str(db)], check=True)
        assert db.with_name(db.name + "-wal").exists()  # not checkpointed away under us
        eg.add("The second note about the lilac hedge", user_id="u")
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)  # another connection sees it
        texts = [r[0] for r in con.execute("SELECT text FROM episodes")]
        con.close()
        assert any("lilac hedge" in t for t in texts)


def test_raw_file_scan_reads_chunks_and_missing_files(tmp_path: Path) -> None:
    from engram.store import rawfile

    f = tmp_path / "blob.bin"
    # a needle that straddles the chunk boundary is still found
    f.write_bytes(b"x" * (rawfile.CHUNK - 3) + "Zürich-needle".encode() + b"y" * 10)
    found = raw_file_scan([tmp_path / "missing", f], ["Zürich-needle", "absent text"])
    assert found == {"Zürich-needle"}
    assert raw_file_scan([f], []) == set()
