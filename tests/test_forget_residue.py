"""Issue #13 item 8: the forget audit says exactly what it verified on each
backend, and on PostgreSQL the deleted text is gone from the table files.

Before the fix a PostgreSQL forget reported ``verified`` while the deleted
rows were still in the heap pages (a ``DELETE`` only marks them dead, and
even ``VACUUM`` can leave their bytes in the page's free space). The store now
vacuums the touched tables, scans their raw files when it may, rewrites a
table whose free space still holds the text, and lists what it cannot reach.
The raw files are read here independently (``pg_read_binary_file``)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pg_fixtures import pg_base_url, with_options

from engram import Engram, Message
from engram.embed.base import Embedder
from engram.store.postgres_residue import TOUCHED_TABLES
from engram.store.residue import EXPOSURE

MARKER = "Quetzalfrobnix-7f3a"


def _fill(eg: Engram) -> None:
    eg.add("I moved to Berlin and I play the cello on Sundays", user_id="bob")
    for i in range(3):  # alice last: her rows sit in the pages' free space after VACUUM
        eg.add([Message(f"My cat {MARKER} sleeps on the piano ({i})", id=f"a-{i}")],
               user_id="alice")


def _raw_hits(url: str, needle: str) -> dict[str, int]:
    """Occurrences of ``needle`` in the files of each touched table, its TOAST and indexes."""
    import psycopg

    hits: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        for table in TOUCHED_TABLES:
            rels = conn.execute(
                "SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.oid = %s::regclass"
                " OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = %s::regclass)"
                " OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = %s::regclass)",
                (table, table, table),
            ).fetchall()
            n = 0
            for (path,) in rels:
                data = conn.execute("SELECT pg_read_binary_file(%s)",
                                    (path,)).fetchone()
                n += bytes(data[0] or b"").count(needle.encode()) if data else 0
            hits[table] = n
    return hits


def test_postgres_forget_removes_the_bytes_and_says_what_it_checked(
    pg_url: str, embedder: Embedder
) -> None:
    with Engram(url=pg_url, embedder=embedder) as eg:
        _fill(eg)
        assert sum(_raw_hits(pg_url, MARKER).values()) > 0
        report = eg.forget(user_id="alice", markers=[MARKER])
        audit = report.audit
        assert audit is not None
        assert audit.backend == "postgresql"
        assert audit.checks["rows"] == "passed" and audit.checks["search"] == "passed"
        assert audit.checks["vacuum"] == "passed"
        assert audit.checks["raw_file"] == "passed" and audit.raw_scan is True
        assert {"backups", "wal_archive", "replicas"} <= set(audit.exposure)
        assert set(audit.exposure) <= set(EXPOSURE)
        assert "page_free_space" not in audit.exposure  # it was scanned
        assert report.verified and audit.to_dict()["checks"] == audit.checks
        assert eg.search("cello", user_id="bob")  # bob untouched
    assert _raw_hits(pg_url, MARKER) == dict.fromkeys(TOUCHED_TABLES, 0)


def test_postgres_without_file_privilege_reports_the_exposure(embedder: Embedder) -> None:
    """A role that may not read server files: VACUUM still runs, the raw check is
    ``skipped`` and the unverified free space is listed."""
    import psycopg

    base = pg_base_url()
    role, schema = "r_" + uuid.uuid4().hex[:10], "s_" + uuid.uuid4().hex[:10]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{role}"')
    try:
        url = with_options(base, user=role, options=f"-csearch_path={schema},public")
        with Engram(url=url, embedder=embedder) as eg:
            _fill(eg)
            audit = eg.forget(user_id="alice", markers=[MARKER]).audit
            assert audit is not None
            assert audit.checks["vacuum"] == "passed"
            assert audit.checks["raw_file"] == "skipped" and audit.raw_scan is None
            assert {"page_free_space", "unscanned_files", "wal_archive"} <= set(audit.exposure)
            assert audit.verified  # nothing that ran failed; what did not run is listed
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            conn.execute(f'DROP ROLE "{role}"')


def test_sqlite_audit_names_its_checks(tmp_path: Path, embedder: Embedder) -> None:
    with Engram(tmp_path / "a.db", embedder=embedder) as eg:
        _fill(eg)
        audit = eg.forget(user_id="alice", markers=[MARKER]).audit
        assert audit is not None and audit.backend == "sqlite"
        assert audit.checks == {"llm_cache": "skipped", "rows": "passed", "search": "passed",
                                "wal_checkpoint": "passed", "raw_file": "passed"}
        assert audit.exposure == ["backups", "storage_blocks"]


def test_an_audit_whose_raw_scan_cannot_run_is_not_verified(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engram.errors import StoreError
    from engram.store import sqlite_admin

    def broken(*_a: object, **_k: object) -> set[str]:
        raise StoreError("raw file scan could not start")

    monkeypatch.setattr(sqlite_admin, "raw_file_scan", broken)
    with Engram(tmp_path / "b.db", embedder=embedder) as eg:
        _fill(eg)
        report = eg.forget(user_id="alice", markers=[MARKER])
        assert report.audit is not None and report.audit.checks["raw_file"] == "failed"
        assert not report.verified
        assert eg.list(user_id="alice", type="episode").items == []  # the delete still happened


def test_sqlite_reader_holding_an_old_snapshot_makes_the_audit_say_so(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A reader that still sees the pre-forget snapshot keeps the WAL from being
    truncated: the audit reports exactly that check as failed, not verified."""
    import sqlite3

    from engram.store import open_store

    db = tmp_path / "r.db"
    with Engram(store=open_store(str(db), busy_timeout=0.2), embedder=embedder) as eg:
        _fill(eg)
        reader = sqlite3.connect(db)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM episodes").fetchone()[0] == 4
        try:
            report = eg.forget(user_id="alice", markers=[MARKER])
        finally:
            reader.close()
        audit = report.audit
        assert audit is not None and audit.checks["rows"] == "passed"
        assert audit.checks["wal_checkpoint"] == "failed"
        assert not report.verified
