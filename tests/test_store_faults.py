"""Issue #13 item 14: a full disk and a read-only store give typed errors, lose
nothing acknowledged, and leave the store usable once the cause is gone.

* Disk full, two ways: ``PRAGMA max_page_count`` (SQLite's own size limit:
  the same ``SQLITE_FULL`` path as a full disk, runs anywhere) and a real
  tiny tmpfs (needs root and permission to mount; skipped with the reason
  otherwise), on which ``add`` and ``forget`` hit ``ENOSPC``.
* Read-only: ``chattr +i`` on the file or directory (root ignores file modes,
  an immutable flag it does not).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engram import Engram, Message
from engram.embed.base import Embedder
from engram.errors import DiskFull, ReadOnlyStore, StoreError


def _big(i: int, user: str) -> str:
    return f"Entry {i} of {user}: " + "the long story of the orchard " * 40


def _fill_until_full(eg: Engram, user: str, limit: int = 900) -> list[str]:
    """Add messages until the store is full; return the ids acknowledged before that."""
    acked: list[str] = []
    for i in range(limit):
        mid = f"{user}-{i}"
        try:
            eg.add([Message(_big(i, user), id=mid)], user_id=user)
        except DiskFull as exc:
            assert exc.code == "disk_full" and exc.status == 507
            assert "rollback" not in str(exc) and "disk full" in str(exc)
            return acked
        acked.append(mid)
    raise AssertionError(f"store never filled after {limit} adds")


def _ids(eg: Engram, user: str) -> set[str]:
    return {e.id for e in eg.list(user_id=user, type="episode", limit=1000).items}


def test_size_limit_is_disk_full_and_the_store_recovers(tmp_path: Path,
                                                        embedder: Embedder) -> None:
    with Engram(tmp_path / "full.db", embedder=embedder) as eg:
        eg.add("Something small to start with", user_id="u")
        conn = eg.store._conn  # type: ignore[attr-defined]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 40}")
        acked = _fill_until_full(eg, "u")
        assert acked, "some adds fit before the limit"
        with pytest.raises(DiskFull):  # still full: same typed error, no raw sqlite3 error
            eg.add(_big(10_000, "u"), user_id="u")
        assert _ids(eg, "u") >= set(acked)  # nothing acknowledged was lost
        conn.execute(f"PRAGMA max_page_count = {pages * 100}")  # space returns
        eg.add([Message("after the space came back", id="back")], user_id="u")
        report = eg.forget(user_id="u")
        assert report.verified and report.counts["episodes"] == len(acked) + 2


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs mounted for the test (unmounted after)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _resize(mnt: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mnt)], check=True)


def test_real_full_disk_add_and_forget_are_typed_and_recover(tiny_fs: Path,
                                                             embedder: Embedder) -> None:
    db = tiny_fs / "store.db"
    with Engram(db, embedder=embedder) as eg:
        acked = {"keep": _fill_until_full(eg, "keep", 400)}
        # the disk is full: forget cannot write its WAL either; it says so, typed
        # (before the fix: a raw sqlite3.OperationalError)
        with pytest.raises(DiskFull):
            eg.forget(user_id="keep")
        assert _ids(eg, "keep") == set(acked["keep"])  # the failed forget changed nothing
        _resize(tiny_fs, "64m")  # space returns: the same store object works again
        eg.add([Message("written after the space came back", id="later")], user_id="keep")
        assert _ids(eg, "keep") == {*acked["keep"], "later"}
        report = eg.forget(user_id="keep")
        assert report.verified and report.counts["episodes"] == len(acked["keep"]) + 1
    with Engram(db, embedder=embedder) as eg:  # and from a fresh open
        eg.add("a new user after recovery", user_id="other")
        assert eg.stats(user_id="other").episodes == 1


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Paths to ``chattr +i``; the flags are removed after the test."""
    if shutil.which("chattr") is None:
        pytest.skip("no chattr command")
    paths: list[Path] = []
    yield paths
    for p in paths:
        subprocess.run(["chattr", "-i", str(p)], check=False)


def _chattr(path: Path, flags: list[Path]) -> None:
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot set the immutable flag here: {done.stderr.strip()}")
    flags.append(path)


def test_read_only_file_reads_work_writes_are_typed_and_close_closes(
    tmp_path: Path, embedder: Embedder, immutable: list[Path]
) -> None:
    db = tmp_path / "ro.db"
    with Engram(db, embedder=embedder) as eg:
        eg.add("I like green tea very much", user_id="u")
    _chattr(db, immutable)
    eg = Engram(db, embedder=embedder)
    assert eg.search("green tea", user_id="u")  # reads work (and queue access counts)
    with pytest.raises(ReadOnlyStore) as err:
        eg.add("a write that cannot happen", user_id="u")
    assert err.value.code == "read_only" and "read-only" in str(err.value)
    eg.close()  # no raw error, and the store is really closed
    with pytest.raises(StoreError, match="closed"):
        eg.store.stats(None)
    eg.close()  # idempotent


def test_read_only_directory_names_the_directory(tmp_path: Path, embedder: Embedder,
                                                 immutable: list[Path]) -> None:
    folder = tmp_path / "ro-dir"
    folder.mkdir()
    with Engram(folder / "s.db", embedder=embedder) as eg:
        eg.add("hello from a folder soon read-only", user_id="u")
    _chattr(folder, immutable)
    for name in ("s.db", f"new-{uuid.uuid4().hex[:6]}.db"):
        with pytest.raises(ReadOnlyStore) as err:
            Engram(folder / name, embedder=embedder)
        assert f"directory {folder.resolve()} is not writable" in str(err.value)


def test_postgres_errors_map_to_the_same_types(pg_url: str, embedder: Embedder) -> None:
    """PostgreSQL's disk full (SQLSTATE 53100) and read-only (25006) are the same
    typed errors; a read-only server or transaction is refused with ReadOnlyStore."""
    import psycopg

    from engram.store.postgres_pool import pg_store_error

    assert isinstance(pg_store_error(psycopg.errors.DiskFull("no space left")), DiskFull)
    assert type(pg_store_error(psycopg.errors.UniqueViolation("dup"))) is StoreError
    with Engram(url=pg_url, embedder=embedder) as eg:
        eg.add("written while the server was writable", user_id="u")
    assert "options=" in pg_url  # the fixture's search_path; add a read-only default to it
    ro = pg_url.replace("options=", "options=-cdefault_transaction_read_only%3Don%20", 1)
    with pytest.raises(ReadOnlyStore) as err:
        with Engram(url=ro, embedder=embedder) as eg:
            eg.add("a write that cannot happen", user_id="u")
    assert err.value.code == "read_only"
