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
from ..index.partition import (
    PartitionIndex,
)
from ..models import (
    SearchFilters,
)
from ..timeutil import format_dt, now, to_epoch
from .base import Store
from .migrations import pending
from .sqlite_rows import (
    PartitionKey,
    _dumps,
)
from .sqlite_schema import MIGRATIONS

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


class SQLiteBase(Store):
    """See the module docstring. ``path`` may be ``":memory:"`` for throwaway use."""

    backend = "sqlite"

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
        self._partitions: OrderedDict[PartitionKey, PartitionIndex] = OrderedDict()
        self._max_partitions = max_partitions

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
        with self._lock:
            self._check_open()
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise store_error("query failed", exc, self.path) from exc

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
                self._rollback()
                try:
                    self._conn.close()
                except sqlite3.Error as exc:
                    log.warning("sqlite close failed: %s", exc)

    def get_meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def meta_items(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._q("SELECT key, value FROM meta ORDER BY key")}

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- writes ----------------------------------------------------------------

    def _filter_sql(
        self, filters: SearchFilters, alias: str, item_type: str
    ) -> tuple[str, list[Any]]:
        parts: list[str] = []
        args: list[Any] = []
        ts_col = "occurred_ts" if item_type == "episode" else "event_ts"
        if filters.start is not None:
            parts.append(f"{alias}.{ts_col} >= ?")
            args.append(to_epoch(filters.start))
        if filters.end is not None:
            parts.append(f"{alias}.{ts_col} < ?")
            args.append(to_epoch(filters.end))
        for key, value in filters.metadata:
            if isinstance(value, (dict, list)):  # compare JSON text, keys sorted both sides
                parts.append(f"json_extract({alias}.metadata, ?) = json(?)")
                args.extend([f'$."{key}"', _dumps(value)])
            else:
                parts.append(f"json_extract({alias}.metadata, ?) IS ?")
                args.extend([f'$."{key}"', value])
        if item_type == "memory":
            kinds = filters.memory_kinds()
            if kinds is not None:
                parts.append(f"{alias}.kind IN ({','.join('?' * len(kinds))})" if kinds else "0")
                args.extend(kinds)
            if filters.as_of is not None:
                t = to_epoch(filters.as_of)
                parts.append(
                    f"{alias}.created_ts <= ? AND ({alias}.expired_ts IS NULL"
                    f" OR {alias}.expired_ts > ?)"
                )
                args.extend([t, t])
            elif not filters.include_inactive:
                parts.append(f"{alias}.status = 'active'")
        elif filters.as_of is not None:
            parts.append(f"{alias}.created_ts <= ?")
            args.append(to_epoch(filters.as_of))
        return (" AND ".join(parts) or "1"), args
