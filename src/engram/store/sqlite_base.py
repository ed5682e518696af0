"""Plumbing of the SQLite store: connection, transactions, migrations, metadata."""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StoreError
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


class SQLiteBase(Store):
    """See the module docstring. ``path`` may be ``":memory:"`` for throwaway use."""

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
        if self.path != ":memory:":
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise StoreError(f"unknown sqlite synchronous mode {synchronous!r}")
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
            raise StoreError(f"cannot open SQLite database {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        self._closed = False
        self._partitions: OrderedDict[PartitionKey, PartitionIndex] = OrderedDict()
        self._max_partitions = max_partitions

    # -- plumbing --------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._check_open()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot start a transaction: {exc}") from exc
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._conn.execute("ROLLBACK")
                    raise StoreError(f"commit failed: {exc}") from exc

    def _q(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            self._check_open()
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"query failed: {exc}") from exc

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("store is closed")

    # -- lifecycle -------------------------------------------------------------
    def applied_migrations(self) -> list[str]:
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            rows = self._conn.execute("SELECT name FROM schema_migrations ORDER BY rowid")
            return [r[0] for r in rows]

    def migrate(self) -> list[str]:
        done: list[str] = []
        with self._lock:
            try:
                todo = pending(MIGRATIONS, self.applied_migrations())
            except ValueError as exc:
                raise StoreError(str(exc)) from exc
            for migration in todo:
                try:
                    with self._tx() as conn:
                        migration.apply(conn)
                        conn.execute(
                            "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                            (migration.name, format_dt(now())),
                        )
                except sqlite3.Error as exc:
                    raise StoreError(f"migration {migration.name} failed: {exc}") from exc
                done.append(migration.name)
        return done

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._partitions.clear()
                self._conn.close()

    def get_meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

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
