"""Plumbing of the SQLite store: connection, transactions, migrations, metadata."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import DiskFull, ReadOnlyStore, StoreError
from ..index.partition import PartitionIndex
from ..models import ItemRef
from ..timeutil import format_dt, now
from .migrations import pending
from .sql_common import SQLCommon
from .sqlite_rowcache import RowCache
from .sqlite_rows import SQLITE, PartitionKey
from .sqlite_schema import MIGRATIONS
from .sqlite_streams import EpisodeStreams

log = logging.getLogger(__name__)


def store_error(what: str, exc: sqlite3.Error, path: str) -> StoreError:
    """Map a ``sqlite3.Error`` to the typed error callers act on.

    ``SQLITE_FULL`` -> :class:`DiskFull`; ``SQLITE_READONLY`` ->
    :class:`ReadOnlyStore`; anything else -> :class:`StoreError`. The message
    says what failed and, for the typed cases, what to do."""
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return DiskFull(f"{what}: disk full ({path}); nothing of this call was written."
                        " Free space and retry: the store stays usable")
    if code == sqlite3.SQLITE_READONLY:
        return ReadOnlyStore(f"{what}: the store {path} is read-only (file permissions,"
                             " a read-only mount or an immutable file); reads still work")
    return StoreError(f"{what}: {exc}")


def _open_error(path: str, exc: sqlite3.Error) -> StoreError:
    """Why a SQLite file could not be opened, naming the directory when it is the cause."""
    parent = Path(path).expanduser().resolve().parent
    if not os.access(parent, os.W_OK):
        return ReadOnlyStore(
            f"cannot open SQLite database {path}: its directory {parent} is not writable"
            " (SQLite creates the -wal and -shm files next to the database; use a writable"
            " directory)"
        )
    return store_error(f"cannot open SQLite database {path}", exc, path)


class SQLiteBase(SQLCommon):
    """See the module docstring. ``path`` may be ``":memory:"`` for throwaway use."""

    backend = "sqlite"
    _dialect = SQLITE

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
        max_partitions: int = 32,
    ) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise StoreError(f"unknown sqlite synchronous mode {synchronous!r}")
        if self.path != ":memory:":
            try:
                Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the directory of SQLite database {self.path}:"
                                 f" {exc.strerror or exc}") from exc
        try:
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        except sqlite3.Error as exc:
            raise _open_error(self.path, exc) from exc
        self._lock = threading.RLock()
        self._closed = False
        #: transactions this object committed (with ``PRAGMA data_version``, which
        #: counts other connections' commits: :meth:`change_marker`)
        self._commits = 0
        self._partitions: OrderedDict[PartitionKey, PartitionIndex] = OrderedDict()
        self._max_partitions = max_partitions
        #: (tenant, user) -> its episodes' session order (:mod:`.sqlite_streams`)
        self._streams: OrderedDict[tuple[str, str], EpisodeStreams] = OrderedDict()
        #: ref -> rid * 2 + (0 episode, 1 memory) of what the partition searched last
        #: returned (:attr:`PartitionIndex.result_keys`; ids and numbers, emptied by
        #: deletes): reading those items goes by rid, each row checked against the
        #: tenant and id asked for (``SQLiteStore._get_many``)
        self._key_hints: dict[ItemRef, int] = {}
        #: decoded rows read lately, current with the change log (:mod:`.sqlite_rowcache`)
        self._rows = RowCache()

    # -- plumbing --------------------------------------------------------------
    @contextmanager
    def _tx(self, what: str = "write") -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on normal exit, rolled
        back on any exception. A ``sqlite3.Error`` leaves as a typed
        :class:`StoreError` (:func:`store_error`) naming ``what`` failed; the
        connection stays usable (e.g. once disk space returns)."""
        with self._lock:
            self._check_open()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise store_error(f"cannot start a transaction ({what})", exc, self.path) from exc
            try:
                yield self._conn
                self._conn.execute("COMMIT")
                self._commits += 1
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise store_error(f"{what} failed", exc, self.path) from exc
                raise

    def _rollback(self) -> None:
        """Roll back if a transaction is still open. SQLite may already have
        rolled back by itself (disk full, I/O error): then there is nothing to
        do, and the original error is what the caller must see."""
        if not self._conn.in_transaction:
            return
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error as exc:  # keep the original error; the next BEGIN will tell
            log.warning("sqlite rollback failed: %s", exc)

    def _q(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._fetch(sql, args, plain=False)[0]

    def _q_dicts(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """:meth:`_q` with each row as a plain dict: reading a row's columns by
        name then costs a dict lookup, not a scan of the column names (the
        search decodes its whole head, ~70 rows of 22 columns)."""
        rows, description = self._fetch(sql, args, plain=True)
        names = [c[0] for c in description or ()]
        return [dict(zip(names, r, strict=True)) for r in rows]

    def _fetch(self, sql: str, args: Sequence[Any], *, plain: bool
               ) -> tuple[list[Any], Any]:
        """Every row of one statement, under the lock (as :class:`sqlite3.Row`, or
        plain tuples with ``plain``), and the cursor's description."""
        with self._lock:
            self._check_open()
            try:
                cur = self._conn.cursor()
                if plain:
                    cur.row_factory = None
                return cur.execute(sql, args).fetchall(), cur.description
            except sqlite3.Error as exc:
                raise store_error("query failed", exc, self.path) from exc

    def change_marker(self) -> str | None:
        """This connection's commits and ``PRAGMA data_version`` (every other
        connection's, any process)."""
        with self._lock:
            self._check_open()
            try:
                version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error as exc:
                raise store_error("reading the data version failed", exc, self.path) from exc
            return f"{version}.{self._commits}"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("store is closed")

    # -- lifecycle -------------------------------------------------------------
    def applied_migrations(self) -> list[str]:
        with self._lock:
            self._check_open()
            try:
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                rows = self._conn.execute("SELECT name FROM schema_migrations ORDER BY rowid")
                return [r[0] for r in rows]
            except sqlite3.Error as exc:
                raise store_error("reading the schema version failed", exc, self.path) from exc

    def migrate(self) -> list[str]:
        done: list[str] = []
        with self._lock:
            try:
                todo = pending(MIGRATIONS, self.applied_migrations())
            except ValueError as exc:
                raise StoreError(str(exc)) from exc
            for migration in todo:
                with self._tx(f"migration {migration.name}") as conn:
                    migration.apply(conn)
                    conn.execute(
                        "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                        (migration.name, format_dt(now())),
                    )
                done.append(migration.name)
        return done

    def close(self) -> None:
        """Close the connection. Idempotent; never raises for a store that cannot
        be written (read-only file or mount): closing needs no write."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._partitions.clear()
                self._streams.clear()
                self._key_hints = {}
                self._rows.clear()
                self._rollback()
                try:
                    self._conn.close()
                except sqlite3.Error as exc:
                    log.warning("sqlite close failed: %s", exc)
