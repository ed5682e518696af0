"""What PostgreSQL keeps of a forgotten scope, and what the store can do about it.

A ``DELETE`` only marks rows dead: their bytes stay in the table's pages (and
the lexemes in the GIN index) until ``VACUUM``, and even then a freed row's
bytes can stay in the page's free space until new rows overwrite them.
:meth:`PgResidue.forget_residue` therefore, after :meth:`forget`:

1. runs ``VACUUM`` on every table a forget touches (outside a transaction, on
   the store's autocommit connection): dead rows and index entries go;
2. when the role may read server files (superuser, or ``pg_checkpoint`` and
   ``pg_read_server_files`` with ``EXECUTE`` on ``pg_read_binary_file``):
   ``CHECKPOINT`` (so the pages are on disk), then reads the raw files of each
   table, its TOAST table and all their indexes through
   ``pg_read_binary_file`` and looks for the subject's texts;
3. for a table whose files still hold such a text (free space), runs
   ``VACUUM FULL`` on it (rewrites the table and its indexes; an ``ACCESS
   EXCLUSIVE`` lock for the rewrite, waiting at most ``lock_timeout`` 10 s)
   and scans again.

Without the privilege the raw check is ``skipped`` and ``page_free_space``
is listed as an exposure. WAL segments, WAL archives, replicas and backups are
out of the store's reach and always listed (:data:`~engram.store.residue.EXPOSURE`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import Connection

from .postgres_pool import PgBase
from .rawfile import CHUNK
from .residue import Residue

__all__ = ["TOUCHED_TABLES", "PgResidue"]

#: tables a forget deletes from
TOUCHED_TABLES = ("episodes", "memories", "memory_versions", "vectors", "jobs")

#: live-row columns (as text) that may legitimately hold a text of another scope
_LIVE = (("episodes", "text"), ("memories", "text"), ("memory_versions", "before::text"),
         ("memory_versions", "after::text"), ("jobs", "payload::text"))


class PgResidue(PgBase):
    """``forget_residue`` for :class:`~engram.store.postgres.PostgresStore`."""

    def forget_residue(self, needles: Sequence[str], scan_limit: int) -> Residue:
        """See the module docstring and :mod:`engram.store.residue`."""
        res = Residue("postgresql", exposure=["backups", "wal_archive", "replicas"])
        with self._conn() as conn:
            res.checks["vacuum"] = "passed" if _vacuum(conn, TOUCHED_TABLES) else "failed"
            if not needles:  # nothing to look for: vacuously clean, no scan needed
                res.raw_scan = True
                res.checks["raw_file"] = "passed"
                return res
            if not _can_read_files(conn):
                res.checks["raw_file"] = "skipped"
                res.exposure += ["page_free_space", "unscanned_files"]
                return res
            files = {t: _relation_files(conn, t) for t in TOUCHED_TABLES}
            if sum(size for fs in files.values() for _, size in fs) > scan_limit:
                res.checks["raw_file"] = "skipped"
                res.exposure += ["page_free_space", "unscanned_files"]
                return res
            conn.execute("CHECKPOINT")
            dirty = {t: _leftovers(conn, fs, needles) for t, fs in files.items()}
            dirty = {t: found for t, found in dirty.items() if found}
            if dirty:  # bytes in page free space: rewrite those tables
                ok = _vacuum(conn, sorted(dirty), full=True)
                res.checks["vacuum_full"] = "passed" if ok else "failed"
                conn.execute("CHECKPOINT")
                dirty = {t: _leftovers(conn, _relation_files(conn, t), needles) for t in dirty}
            left = set().union(*dirty.values()) if dirty else set()
        res.leftovers = len(left)
        res.raw_scan = not left
        res.checks["raw_file"] = "passed" if res.raw_scan else "failed"
        res.exposure += ["compressed_values", "storage_blocks"]
        return res


def _vacuum(conn: Connection[Any], tables: Iterable[str], *, full: bool = False) -> bool:
    """``VACUUM`` (or ``VACUUM FULL``) each table; ``False`` if one could not be.

    ``VACUUM`` skips a table the role does not own with only a warning, so
    ownership is checked first."""
    ok = True
    for table in tables:
        row = conn.execute(
            "SELECT pg_has_role(c.relowner, 'USAGE') OR r.rolsuper AS may FROM pg_class c,"
            " pg_roles r WHERE c.oid = %s::regclass AND r.rolname = current_user", (table,)
        ).fetchone()
        if not row or not row["may"]:
            ok = False
            continue
        try:
            if full:
                conn.execute("SET lock_timeout = '10s'")
            conn.execute(f'VACUUM {"FULL " if full else ""}"{table}"')
        except psycopg.Error:
            ok = False
        finally:
            if full:
                conn.execute("RESET lock_timeout")
    return ok


def _can_read_files(conn: Connection[Any]) -> bool:
    """Whether this role may ``CHECKPOINT`` and read relation files (tried, not guessed)."""
    try:
        conn.execute("SELECT pg_read_binary_file(pg_relation_filepath('episodes'), 0, 1, true)")
        conn.execute("CHECKPOINT")
    except psycopg.Error:
        return False
    return True


def _relation_files(conn: Connection[Any], table: str) -> list[tuple[str, int]]:
    """``(path, size)`` of every segment file of ``table``, its TOAST table and their indexes."""
    rows = conn.execute(
        "WITH rels AS (SELECT %s::regclass::oid AS oid UNION SELECT reltoastrelid"
        " FROM pg_class WHERE oid = %s::regclass AND reltoastrelid <> 0),"
        " idx AS (SELECT indexrelid AS oid FROM pg_index"
        " WHERE indrelid IN (SELECT oid FROM rels))"
        " SELECT pg_relation_filepath(oid) AS path, pg_relation_size(oid) AS size"
        " FROM (SELECT oid FROM rels UNION SELECT oid FROM idx) r",
        (table, table),
    ).fetchall()
    seg = conn.execute(
        "SELECT current_setting('segment_size', true) AS s,"
        " current_setting('block_size')::bigint AS b"
    ).fetchone()
    assert seg is not None
    seg_bytes = _setting_bytes(seg["s"], int(seg["b"]))
    out: list[tuple[str, int]] = []
    for r in rows:
        path, size = r["path"], int(r["size"])
        if path is None:
            continue
        for n in range(max(1, -(-size // seg_bytes))):
            out.append((path if n == 0 else f"{path}.{n}", min(seg_bytes, size - n * seg_bytes)))
    return out


def _setting_bytes(text: str | None, block: int) -> int:
    """``segment_size`` ("1GB") in bytes; PostgreSQL's default when unknown."""
    units = {"kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
    if text:
        for unit, mult in units.items():
            if text.endswith(unit) and text[: -len(unit)].strip().isdigit():
                return int(text[: -len(unit)]) * mult
        if text.isdigit():
            return int(text) * block
    return 1024**3


def _leftovers(conn: Connection[Any], files: list[tuple[str, int]],
               needles: Sequence[str]) -> set[str]:
    """Needles found in the raw bytes of ``files`` that no live row holds."""
    todo = {n: n.encode("utf-8") for n in needles}
    keep = max((len(b) for b in todo.values()), default=1) - 1
    found: set[str] = set()
    for path, size in files:
        tail = b""
        for off in range(0, size, CHUNK):
            row = conn.execute("SELECT pg_read_binary_file(%s, %s, %s, true) AS d",
                               (path, off, CHUNK)).fetchone()
            data = bytes(row["d"]) if row and row["d"] is not None else b""
            buf = tail + data
            found |= {n for n, b in todo.items() if n not in found and b in buf}
            tail = buf[-keep:] if keep else b""
    return {n for n in found if not _live(conn, n)}


def _live(conn: Connection[Any], text: str) -> bool:
    """Whether a live row (any scope) still holds ``text``: then its bytes are legitimate."""
    for table, col in _LIVE:
        if conn.execute(f"SELECT 1 FROM {table} WHERE strpos({col}, %s) > 0 LIMIT 1",
                        (text,)).fetchone():
            return True
    return False
