"""The embedded default store: one SQLite file (WAL, FTS5, vectors as BLOBs).

* One connection per store object, serialised by a lock: a single writer path
  in the process, so concurrent callers never see "database is locked";
  other processes wait up to ``busy_timeout`` seconds.
* Every :meth:`write` is one ``BEGIN IMMEDIATE`` transaction.
* ``secure_delete`` is on: deleted rows are overwritten, not left in free pages.
* Vectors live in the same file; searches go through an in-memory
  :class:`~engram.index.partition.PartitionIndex` per user (or agent), loaded
  on first use and kept current by this process's writes. Writes by another
  process are detected with ``PRAGMA data_version`` and drop the cache.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Conflict, StoreError
from ..index.partition import (
    INF,
    STATUS_CODES,
    TYPE_EPISODE,
    TYPE_MEMORY,
    PartitionIndex,
    RowAttrs,
    RowFilter,
)
from ..models import (
    Episode,
    ItemRef,
    Memory,
    MemoryVersion,
    Page,
    Scope,
    SearchFilters,
    Stats,
)
from ..text import query_terms, scope_token
from ..timeutil import format_dt, now, parse_dt, to_epoch
from .base import Candidate, Job, Neighbour, Store, VectorRecord, WriteBatch, WriteOutcome
from .migrations import pending
from .sqlite_schema import MIGRATIONS

__all__ = ["SQLiteStore"]

PartitionKey = tuple[str, str, str, str]  # tenant, "u"|"a", id, model_id

_EP_COLS = (
    "id, tenant, user_id, agent_id, session_id, role, speaker, text, occurred_at, created_at, "
    "metadata"
)
_MEM_COLS = (
    "id, tenant, user_id, agent_id, session_id, kind, text, entities, keywords, valid_from, "
    "valid_to, created_at, updated_at, expired_at, importance, access_count, last_accessed_at, "
    "source_episode_ids, version, status, attribute, metadata"
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _row_scope(r: sqlite3.Row) -> Scope:
    return Scope(
        user_id=r["user_id"],
        agent_id=r["agent_id"],
        session_id=r["session_id"],
        tenant=r["tenant"],
    )


def _episode(r: sqlite3.Row) -> Episode:
    return Episode(
        id=r["id"],
        scope=_row_scope(r),
        role=r["role"],
        speaker=r["speaker"],
        text=r["text"],
        occurred_at=parse_dt(r["occurred_at"]),  # type: ignore[arg-type]
        created_at=parse_dt(r["created_at"]),  # type: ignore[arg-type]
        metadata=json.loads(r["metadata"]),
    )


def _memory(r: sqlite3.Row) -> Memory:
    d = dict(r)
    for key in ("entities", "keywords", "source_episode_ids", "metadata"):
        d[key] = json.loads(d[key])
    return Memory.from_dict(d)


def _scope_sql(scope: Scope, alias: str) -> tuple[str, list[Any]]:
    parts = [f"{alias}.tenant = ?"]
    args: list[Any] = [scope.tenant]
    for col in ("user_id", "agent_id", "session_id"):
        value = getattr(scope, col)
        if value is not None:
            parts.append(f"{alias}.{col} = ?")
            args.append(value)
    return " AND ".join(parts), args


def _scope_tags(scope: Scope) -> list[str]:
    tags = [scope_token("t", scope.tenant)]
    if scope.user_id is not None:
        tags.append(scope_token("u", scope.user_id))
    if scope.agent_id is not None:
        tags.append(scope_token("a", scope.agent_id))
    if scope.session_id is not None:
        tags.append(scope_token("s", scope.session_id))
    return tags


def _memory_event_ts(m: Memory) -> float:
    return to_epoch(m.valid_from or m.created_at)  # type: ignore[return-value]


def _episode_attrs(e: Episode) -> RowAttrs:
    return RowAttrs(
        item_type=TYPE_EPISODE,
        kind="episode",
        status=0,
        agent_id=e.scope.agent_id,
        session_id=e.scope.session_id,
        event_ts=to_epoch(e.occurred_at),  # type: ignore[arg-type]
        created_ts=to_epoch(e.created_at),  # type: ignore[arg-type]
        expired_ts=INF,
    )


def _memory_attrs(m: Memory) -> RowAttrs:
    return RowAttrs(
        item_type=TYPE_MEMORY,
        kind=str(m.kind),
        status=STATUS_CODES[str(m.status)],
        agent_id=m.scope.agent_id,
        session_id=m.scope.session_id,
        event_ts=_memory_event_ts(m),
        created_ts=to_epoch(m.created_at),  # type: ignore[arg-type]
        expired_ts=INF if m.expired_at is None else to_epoch(m.expired_at),  # type: ignore[arg-type]
    )


def _partition_of(scope: Scope, model_id: str) -> PartitionKey:
    if scope.user_id is not None:
        return (scope.tenant, "u", scope.user_id, model_id)
    if scope.agent_id is not None:
        return (scope.tenant, "a", scope.agent_id, model_id)
    raise StoreError("a scope needs a user_id or agent_id")


def _partitions_of_item(scope: Scope, model_id: str) -> list[PartitionKey]:
    keys = []
    if scope.user_id is not None:
        keys.append((scope.tenant, "u", scope.user_id, model_id))
    if scope.agent_id is not None:
        keys.append((scope.tenant, "a", scope.agent_id, model_id))
    return keys


class SQLiteStore(Store):
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
        self._data_version = self._read_data_version()

    # -- plumbing --------------------------------------------------------------
    def _read_data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

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
    def write(self, batch: WriteBatch) -> WriteOutcome:
        out = WriteOutcome()
        if batch.is_empty():
            return out
        skipped: set[ItemRef] = set()
        try:
            with self._tx() as conn:
                for e in batch.episodes:
                    self._insert_episode(conn, e, batch, out, skipped)
                for m in batch.new_memories:
                    self._insert_memory(conn, m, batch, out, skipped)
                for m, expected in batch.changed_memories:
                    self._update_memory(conn, m, expected, batch)
                for tenant, v in batch.versions:
                    self._insert_version(conn, tenant, v)
                for rec in batch.vectors:
                    if rec.ref not in skipped:
                        self._upsert_vector(conn, rec)
                for job in batch.jobs:
                    self._insert_job(conn, job)
        except sqlite3.Error as exc:
            raise StoreError(f"write failed: {exc}") from exc
        self._after_write(batch, skipped)
        return out

    def _index(self, conn: sqlite3.Connection, rowid: int, body: str, tags: list[str]) -> None:
        conn.execute("DELETE FROM fts WHERE rowid = ?", (rowid,))
        conn.execute(
            "INSERT INTO fts (rowid, body, tags) VALUES (?, ?, ?)", (rowid, body, " ".join(tags))
        )

    def _insert_episode(
        self,
        conn: sqlite3.Connection,
        e: Episode,
        batch: WriteBatch,
        out: WriteOutcome,
        skipped: set[ItemRef],
    ) -> None:
        cur = conn.execute(
            "INSERT INTO episodes (tenant, id, user_id, agent_id, session_id, role, speaker, text,"
            " occurred_at, occurred_ts, created_at, created_ts, metadata)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(tenant, id) DO NOTHING",
            (
                e.scope.tenant,
                e.id,
                e.scope.user_id,
                e.scope.agent_id,
                e.scope.session_id,
                e.role,
                e.speaker,
                e.text,
                format_dt(e.occurred_at),
                to_epoch(e.occurred_at),
                format_dt(e.created_at),
                to_epoch(e.created_at),
                _dumps(e.metadata),
            ),
        )
        ref = ItemRef("episode", e.id)
        if cur.rowcount == 0:
            out.existing_episode_ids.append(e.id)
            skipped.add(ref)
            return
        rid = int(cur.lastrowid)  # type: ignore[arg-type]
        out.created_episode_ids.append(e.id)
        body = batch.index_texts.get(ref, e.text)
        self._index(conn, rid * 2, body, [*_scope_tags(e.scope), "episode"])

    def _memory_params(self, m: Memory) -> tuple[Any, ...]:
        return (
            m.scope.user_id,
            m.scope.agent_id,
            m.scope.session_id,
            str(m.kind),
            m.text,
            _dumps(m.entities),
            _dumps(m.keywords),
            format_dt(m.valid_from),
            format_dt(m.valid_to),
            _memory_event_ts(m),
            format_dt(m.created_at),
            to_epoch(m.created_at),
            format_dt(m.updated_at),
            format_dt(m.expired_at),
            to_epoch(m.expired_at),
            m.importance,
            m.access_count,
            format_dt(m.last_accessed_at),
            _dumps(m.source_episode_ids),
            m.version,
            str(m.status),
            m.attribute,
            _dumps(m.metadata),
        )

    def _insert_memory(
        self,
        conn: sqlite3.Connection,
        m: Memory,
        batch: WriteBatch,
        out: WriteOutcome,
        skipped: set[ItemRef],
    ) -> None:
        cur = conn.execute(
            "INSERT INTO memories (tenant, id, user_id, agent_id, session_id, kind, text, entities,"
            " keywords, valid_from, valid_to, event_ts, created_at, created_ts, updated_at,"
            " expired_at, expired_ts, importance, access_count, last_accessed_at,"
            " source_episode_ids, version, status, attribute, metadata)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(tenant, id) DO NOTHING",
            (m.scope.tenant, m.id, *self._memory_params(m)),
        )
        ref = ItemRef("memory", m.id)
        if cur.rowcount == 0:
            out.existing_memory_ids.append(m.id)
            skipped.add(ref)
            return
        rid = int(cur.lastrowid)  # type: ignore[arg-type]
        out.created_memory_ids.append(m.id)
        body = batch.index_texts.get(ref, m.text)
        self._index(conn, rid * 2 + 1, body, [*_scope_tags(m.scope), "memory", f"k{m.kind}"])

    def _update_memory(
        self, conn: sqlite3.Connection, m: Memory, expected: int, batch: WriteBatch
    ) -> None:
        cur = conn.execute(
            "UPDATE memories SET user_id=?, agent_id=?, session_id=?, kind=?, text=?, entities=?,"
            " keywords=?, valid_from=?, valid_to=?, event_ts=?, created_at=?, created_ts=?,"
            " updated_at=?, expired_at=?, expired_ts=?, importance=?, access_count=?,"
            " last_accessed_at=?, source_episode_ids=?, version=?, status=?, attribute=?,"
            " metadata=? WHERE tenant=? AND id=? AND version=? RETURNING rid",
            (*self._memory_params(m), m.scope.tenant, m.id, expected),
        )
        row = cur.fetchone()
        if row is None:
            raise Conflict(
                f"memory {m.id} changed concurrently (expected version {expected}); retry"
            )
        ref = ItemRef("memory", m.id)
        body = batch.index_texts.get(ref, m.text)
        self._index(conn, int(row[0]) * 2 + 1, body, [*_scope_tags(m.scope), "memory", f"k{m.kind}"])

    def _insert_version(self, conn: sqlite3.Connection, tenant: str, v: MemoryVersion) -> None:
        state = v.after or v.before or {}
        conn.execute(
            "INSERT OR IGNORE INTO memory_versions (tenant, memory_id, user_id, agent_id,"
            " session_id, version, operation, before, after, reason, recorded_at, recorded_ts)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                tenant,
                v.memory_id,
                state.get("user_id"),
                state.get("agent_id"),
                state.get("session_id"),
                v.version,
                str(v.operation),
                None if v.before is None else _dumps(v.before),
                None if v.after is None else _dumps(v.after),
                v.reason,
                format_dt(v.recorded_at),
                to_epoch(v.recorded_at),
            ),
        )

    def _item_rid(self, conn: sqlite3.Connection, tenant: str, ref: ItemRef) -> int | None:
        table = "episodes" if ref.type == "episode" else "memories"
        row = conn.execute(
            f"SELECT rid FROM {table} WHERE tenant = ? AND id = ?", (tenant, ref.id)
        ).fetchone()
        return None if row is None else int(row[0])

    def _upsert_vector(self, conn: sqlite3.Connection, rec: VectorRecord) -> None:
        rid = self._item_rid(conn, rec.tenant, rec.ref)
        if rid is None:
            raise StoreError(f"vector for unknown {rec.ref.type} {rec.ref.id}")
        vec = np.ascontiguousarray(rec.vector, dtype=np.float32)
        conn.execute(
            "INSERT INTO vectors (tenant, item_type, item_rid, model_id, dim, vector, content_hash)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT(item_type, item_rid) DO UPDATE SET"
            " model_id=excluded.model_id, dim=excluded.dim, vector=excluded.vector,"
            " content_hash=excluded.content_hash",
            (rec.tenant, rec.ref.type, rid, rec.model_id, vec.size, vec.tobytes(), rec.content_hash),
        )

    def _insert_job(self, conn: sqlite3.Connection, job: Job) -> None:
        created = job.created_at or now()
        conn.execute(
            "INSERT INTO jobs (id, tenant, user_id, agent_id, session_id, kind, payload, status,"
            " attempts, created_at, run_after_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(id) DO NOTHING",
            (
                job.id,
                job.scope.tenant,
                job.scope.user_id,
                job.scope.agent_id,
                job.scope.session_id,
                job.kind,
                _dumps(job.payload),
                "pending",
                0,
                format_dt(created),
                to_epoch(job.run_after or created),
            ),
        )

    def _after_write(self, batch: WriteBatch, skipped: set[ItemRef]) -> None:
        """Keep loaded partitions in step with what was just committed."""
        with self._lock:
            if not self._partitions:
                return
            attrs: dict[ItemRef, tuple[Scope, RowAttrs]] = {}
            texts: dict[ItemRef, str] = {}
            for e in batch.episodes:
                ref = ItemRef("episode", e.id)
                attrs[ref] = (e.scope, _episode_attrs(e))
                texts[ref] = batch.index_texts.get(ref, e.text)
            for m in [*batch.new_memories, *(m for m, _ in batch.changed_memories)]:
                ref = ItemRef("memory", m.id)
                attrs[ref] = (m.scope, _memory_attrs(m))
                texts[ref] = batch.index_texts.get(ref, m.text)
            with_vector: set[ItemRef] = set()
            for rec in batch.vectors:
                if rec.ref in skipped:
                    continue
                with_vector.add(rec.ref)
                known = attrs.get(rec.ref)
                if known is None:  # vector-only change (re-embed): reload lazily
                    self._partitions.clear()
                    return
                scope, a = known
                for key in _partitions_of_item(scope, rec.model_id):
                    part = self._partitions.get(key)
                    if part is not None:
                        part.upsert(
                            rec.ref, np.asarray(rec.vector, dtype=np.float32), a, texts[rec.ref]
                        )
            for ref, (scope, a) in attrs.items():
                if ref in with_vector or ref in skipped:
                    continue
                for key, part in self._partitions.items():
                    if key[:3] in {k[:3] for k in _partitions_of_item(scope, key[3])}:
                        part.update_attrs(ref, a)
            self._data_version = self._read_data_version()

    def touch(self, tenant: str, memory_ids: Sequence[str], at: datetime) -> None:
        if not memory_ids:
            return
        with self._tx() as conn:
            conn.executemany(
                "UPDATE memories SET access_count = access_count + 1, last_accessed_at = ?"
                " WHERE tenant = ? AND id = ?",
                [(format_dt(at), tenant, i) for i in memory_ids],
            )
        with self._lock:
            self._data_version = self._read_data_version()

    # -- reads -----------------------------------------------------------------
    def existing_episode_ids(self, tenant: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        ids = list(ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._q(
                f"SELECT id FROM episodes WHERE tenant = ? AND id IN ({marks})", (tenant, *chunk)
            )
            found.update(r[0] for r in rows)
        return found

    def _get_many(self, table: str, cols: str, scope: Scope, ids: Sequence[str]) -> dict[str, Any]:
        # look up by the (tenant, id) key only, then check the rest of the scope
        # here: lets SQLite use the unique index whatever the scope names
        found: dict[str, Any] = {}
        ids = list(dict.fromkeys(ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._q(
                f"SELECT {cols} FROM {table} x "
                f" WHERE x.tenant = ? AND x.id IN ({marks})",
                (scope.tenant, *chunk),
            )
            for r in rows:
                if all(
                    getattr(scope, col) is None or r[col] == getattr(scope, col)
                    for col in ("user_id", "agent_id", "session_id")
                ):
                    found[r["id"]] = r
        return found

    def get_episodes(self, scope: Scope, ids: Sequence[str]) -> list[Episode]:
        rows = self._get_many("episodes", _EP_COLS, scope, ids)
        return [_episode(rows[i]) for i in ids if i in rows]

    def episode_neighbours(
        self, scope: Scope, ids: Sequence[str], radius: int
    ) -> dict[str, list[Neighbour]]:
        if radius <= 0 or not ids:
            return {}
        rows = self._get_many(
            "episodes", "x.id, x.rid, x.user_id, x.agent_id, x.session_id, x.occurred_ts", scope, ids
        )
        where, args = _scope_sql(scope, "e")
        same = " AND e.user_id IS ? AND e.agent_id IS ? AND e.session_id IS ?"
        out: dict[str, list[Neighbour]] = {}
        for i in dict.fromkeys(ids):
            r = rows.get(i)
            if r is None:
                continue
            key = (r["user_id"], r["agent_id"], r["session_id"])
            before = self._q(
                f"SELECT e.id FROM episodes e WHERE {where}{same}"
                " AND (e.occurred_ts, e.rid) < (?, ?)"
                " ORDER BY e.occurred_ts DESC, e.rid DESC LIMIT ?",
                (*args, *key, r["occurred_ts"], r["rid"], radius),
            )
            after = self._q(
                f"SELECT e.id FROM episodes e WHERE {where}{same}"
                " AND (e.occurred_ts, e.rid) > (?, ?)"
                " ORDER BY e.occurred_ts, e.rid LIMIT ?",
                (*args, *key, r["occurred_ts"], r["rid"], radius),
            )
            out[i] = [Neighbour(b["id"], -k) for k, b in reversed(list(enumerate(before, 1)))]
            out[i] += [Neighbour(a["id"], k) for k, a in enumerate(after, 1)]
        return out

    def get_memories(self, scope: Scope, ids: Sequence[str]) -> list[Memory]:
        rows = self._get_many("memories", _MEM_COLS, scope, ids)
        return [_memory(rows[i]) for i in ids if i in rows]

    def memory_as_of(self, scope: Scope, memory_id: str, as_of: datetime) -> Memory | None:
        if not self.get_memories(scope, [memory_id]):
            return None
        rows = self._q(
            "SELECT after, before FROM memory_versions WHERE tenant = ? AND memory_id = ?"
            " AND recorded_ts <= ? ORDER BY version DESC LIMIT 1",
            (scope.tenant, memory_id, to_epoch(as_of)),
        )
        if not rows:
            return None
        state = rows[0]["after"] or rows[0]["before"]
        return Memory.from_dict(json.loads(state)) if state else None

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

    def list_episodes(
        self, scope: Scope, filters: SearchFilters, limit: int, cursor: str | None = None
    ) -> Page:
        where, args = _scope_sql(scope, "x")
        fsql, fargs = self._filter_sql(filters, "x", "episode")
        if cursor:
            ts, rid = _parse_cursor(cursor)
            where += " AND (x.occurred_ts > ? OR (x.occurred_ts = ? AND x.rid > ?))"
            args += [ts, ts, rid]
        rows = self._q(
            f"SELECT x.rid, x.occurred_ts, {_prefixed(_EP_COLS)} FROM episodes x"
            f" WHERE {where} AND {fsql} ORDER BY x.occurred_ts, x.rid LIMIT ?",
            (*args, *fargs, limit + 1),
        )
        items = [_episode(r) for r in rows[:limit]]
        nxt = f"{rows[limit - 1]['occurred_ts']}|{rows[limit - 1]['rid']}" if len(rows) > limit else None
        return Page(items=items, next_cursor=nxt)

    def list_memories(
        self, scope: Scope, filters: SearchFilters, limit: int, cursor: str | None = None
    ) -> Page:
        where, args = _scope_sql(scope, "x")
        fsql, fargs = self._filter_sql(filters, "x", "memory")
        if cursor:
            ts, rid = _parse_cursor(cursor)
            where += " AND (x.created_ts < ? OR (x.created_ts = ? AND x.rid < ?))"
            args += [ts, ts, rid]
        rows = self._q(
            f"SELECT x.rid, x.created_ts, {_prefixed(_MEM_COLS)} FROM memories x"
            f" WHERE {where} AND {fsql} ORDER BY x.created_ts DESC, x.rid DESC LIMIT ?",
            (*args, *fargs, limit + 1),
        )
        items: list[Memory] = []
        for r in rows[:limit]:
            m = _memory(r)
            if filters.as_of is not None:
                m = self.memory_as_of(scope, m.id, filters.as_of) or m
            items.append(m)
        nxt = f"{rows[limit - 1]['created_ts']}|{rows[limit - 1]['rid']}" if len(rows) > limit else None
        return Page(items=items, next_cursor=nxt)

    def active_memories_with_attribute(self, scope: Scope, attribute: str) -> list[Memory]:
        where, args = _scope_sql(scope, "x")
        rows = self._q(
            f"SELECT {_prefixed(_MEM_COLS)} FROM memories x WHERE {where}"
            " AND x.attribute = ? AND x.status = 'active' ORDER BY x.created_ts",
            (*args, attribute),
        )
        return [_memory(r) for r in rows]

    def history(self, scope: Scope, memory_id: str) -> list[MemoryVersion]:
        if not self.get_memories(scope, [memory_id]):
            return []
        rows = self._q(
            "SELECT memory_id, version, operation, before, after, reason, recorded_at"
            " FROM memory_versions WHERE tenant = ? AND memory_id = ? ORDER BY version",
            (scope.tenant, memory_id),
        )
        return [
            MemoryVersion.from_dict(
                {
                    **dict(r),
                    "before": None if r["before"] is None else json.loads(r["before"]),
                    "after": None if r["after"] is None else json.loads(r["after"]),
                }
            )
            for r in rows
        ]

    # -- search ----------------------------------------------------------------
    def lexical_search(
        self, scope: Scope, query: str, filters: SearchFilters, limit: int
    ) -> list[Candidate]:
        terms = query_terms(query)
        if not terms or limit <= 0:
            return []
        model_id = self.get_meta("embedding_model")
        if model_id is not None:
            with self._lock:
                part = self._partition(_partition_of(scope, model_id))
                if len(part):
                    f = self._row_filter(scope, filters)
                    if f is None:
                        return []
                    hits = part.lexical_search(query, limit, f)
                    return [Candidate(ref, score) for ref, score in hits]
        return self._fts_search(scope, terms, filters, limit)

    def _fts_search(
        self, scope: Scope, terms: list[str], filters: SearchFilters, limit: int
    ) -> list[Candidate]:
        """Lexical search straight on FTS5 (items not loaded in a partition)."""
        tags = [f'"{t}"' for t in _scope_tags(scope)]
        wants_ep = filters.wants("episode")
        wants_mem = filters.wants("memory")
        if not (wants_ep or wants_mem):
            return []
        if not wants_ep:
            tags.append('"memory"')
        elif not wants_mem:
            tags.append('"episode"')
        body = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        match = f"tags:({' AND '.join(tags)}) AND body:({body})"
        # Scope and item type are inside the MATCH (tag tokens); the remaining
        # filters are checked on the rows. Widen the FTS window until ``limit``
        # rows pass or every match was seen: no top-k-then-filter losses.
        window = max(limit * 2, 50)
        while True:
            rows = self._q(
                "SELECT rowid, bm25(fts, 1.0, 0.0) AS s FROM fts WHERE fts MATCH ?"
                " ORDER BY s, rowid LIMIT ?",
                (match, window),
            )
            passing = self._lexical_filter(scope, filters, rows)
            if len(passing) >= limit or len(rows) < window:
                return passing[:limit]
            window *= 4

    def _lexical_filter(
        self, scope: Scope, filters: SearchFilters, rows: list[sqlite3.Row]
    ) -> list[Candidate]:
        if not rows:
            return []
        ep_rids = [r[0] // 2 for r in rows if r[0] % 2 == 0]
        mem_rids = [(r[0] - 1) // 2 for r in rows if r[0] % 2 == 1]
        ok: dict[int, str] = {}
        for rids, table, item_type, parity in (
            (ep_rids, "episodes", "episode", 0),
            (mem_rids, "memories", "memory", 1),
        ):
            if not rids or not filters.wants(item_type):  # type: ignore[arg-type]
                continue
            ssql, sargs = _scope_sql(scope, "x")
            fsql, fargs = self._filter_sql(filters, "x", item_type)
            for i in range(0, len(rids), 500):
                chunk = rids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for r in self._q(
                    f"SELECT x.rid, x.id FROM {table} x WHERE x.rid IN ({marks})"
                    f" AND {ssql} AND {fsql}",
                    (*chunk, *sargs, *fargs),
                ):
                    ok[r[0] * 2 + parity] = r[1]
        out: list[Candidate] = []
        for r in rows:
            item_id = ok.get(r[0])
            if item_id is not None:
                item_type = "episode" if r[0] % 2 == 0 else "memory"
                out.append(Candidate(ItemRef(item_type, item_id), -float(r[1])))  # type: ignore[arg-type]
        return out

    def _load_partition(self, key: PartitionKey) -> PartitionIndex:
        tenant, kind, owner, model_id = key
        col = "user_id" if kind == "u" else "agent_id"
        part: PartitionIndex | None = None
        rows_e = self._q(
            "SELECT e.id, e.agent_id, e.session_id, e.occurred_ts, e.created_ts, v.vector, v.dim,"
            " f.body FROM vectors v JOIN episodes e ON v.item_type = 'episode' AND e.rid = v.item_rid"
            " LEFT JOIN fts f ON f.rowid = e.rid * 2"
            f" WHERE e.tenant = ? AND e.{col} = ? AND v.model_id = ? ORDER BY e.rid",
            (tenant, owner, model_id),
        )
        rows_m = self._q(
            "SELECT x.id, x.agent_id, x.session_id, x.kind, x.status, x.event_ts, x.created_ts,"
            " x.expired_ts, v.vector, v.dim, f.body FROM vectors v JOIN memories x"
            " ON v.item_type = 'memory' AND x.rid = v.item_rid"
            " LEFT JOIN fts f ON f.rowid = x.rid * 2 + 1"
            f" WHERE x.tenant = ? AND x.{col} = ? AND v.model_id = ? ORDER BY x.rid",
            (tenant, owner, model_id),
        )
        dim = (rows_e or rows_m)[0]["dim"] if (rows_e or rows_m) else 0
        part = PartitionIndex(dim)
        for r in rows_e:
            part.upsert(
                ItemRef("episode", r["id"]),
                np.frombuffer(r["vector"], dtype=np.float32),
                RowAttrs(TYPE_EPISODE, "episode", 0, r["agent_id"], r["session_id"],
                         r["occurred_ts"], r["created_ts"], INF),
                r["body"] or "",
            )
        for r in rows_m:
            part.upsert(
                ItemRef("memory", r["id"]),
                np.frombuffer(r["vector"], dtype=np.float32),
                RowAttrs(TYPE_MEMORY, r["kind"], STATUS_CODES[r["status"]], r["agent_id"],
                         r["session_id"], r["event_ts"], r["created_ts"],
                         INF if r["expired_ts"] is None else r["expired_ts"]),
                r["body"] or "",
            )
        return part

    def _partition(self, key: PartitionKey) -> PartitionIndex:
        with self._lock:
            version = self._read_data_version()
            if version != self._data_version:
                self._partitions.clear()
                self._data_version = version
            part = self._partitions.get(key)
            if part is None:
                part = self._load_partition(key)
                if part.dim == 0:
                    return part  # empty: not cached, so first vectors load it properly
                self._partitions[key] = part
                while len(self._partitions) > self._max_partitions:
                    self._partitions.popitem(last=False)
            else:
                self._partitions.move_to_end(key)
            return part

    def warm(self, scope: Scope, model_id: str) -> None:
        """Load (and index) the partition of ``scope`` ahead of the first search."""
        self._partition(_partition_of(scope, model_id)).warm()

    def vector_search(
        self,
        scope: Scope,
        vector: np.ndarray,
        model_id: str,
        filters: SearchFilters,
        limit: int,
    ) -> list[Candidate]:
        if limit <= 0:
            return []
        f = self._row_filter(scope, filters)
        if f is None:
            return []
        with self._lock:
            part = self._partition(_partition_of(scope, model_id))
            if len(part) == 0:
                return []
            q = np.ascontiguousarray(vector, dtype=np.float32)
            if q.shape != (part.dim,):
                from ..errors import ModelMismatch

                raise ModelMismatch(
                    f"query vector has dimension {q.shape} but the store holds {part.dim}"
                )
            hits = part.search(q, limit, f)
        return [Candidate(ref, score) for ref, score in hits]

    def _row_filter(self, scope: Scope, filters: SearchFilters) -> RowFilter | None:
        """The in-memory filter for ``filters``; ``None`` when nothing can match."""
        allowed: frozenset[ItemRef] | None = None
        if filters.metadata:
            allowed = frozenset(self._metadata_matches(scope, filters))
            if not allowed:
                return None
        return RowFilter(
            agent_id=scope.agent_id if scope.user_id is not None else None,
            session_id=scope.session_id,
            kinds=filters.kinds,
            start_ts=to_epoch(filters.start),
            end_ts=to_epoch(filters.end),
            as_of_ts=to_epoch(filters.as_of),
            include_inactive=filters.include_inactive,
            allowed=allowed,
        )

    def _metadata_matches(self, scope: Scope, filters: SearchFilters) -> list[ItemRef]:
        refs: list[ItemRef] = []
        for item_type, table in (("episode", "episodes"), ("memory", "memories")):
            if not filters.wants(item_type):  # type: ignore[arg-type]
                continue
            ssql, sargs = _scope_sql(scope, "x")
            fsql, fargs = self._filter_sql(filters, "x", item_type)
            rows = self._q(f"SELECT x.id FROM {table} x WHERE {ssql} AND {fsql}", (*sargs, *fargs))
            refs.extend(ItemRef(item_type, r[0]) for r in rows)  # type: ignore[arg-type]
        return refs

    def vectors_by_hash(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        hashes = list(dict.fromkeys(hashes))
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._q(
                f"SELECT content_hash, vector FROM vectors WHERE model_id = ?"
                f" AND content_hash IN ({marks})",
                (model_id, *chunk),
            )
            for r in rows:
                found[r[0]] = np.frombuffer(r[1], dtype=np.float32).copy()
        return found

    # -- maintenance -------------------------------------------------------------
    def _scope_rids(self, conn: sqlite3.Connection, table: str, scope: Scope) -> list[int]:
        where, args = _scope_sql(scope, "x")
        return [int(r[0]) for r in conn.execute(f"SELECT rid FROM {table} x WHERE {where}", args)]

    def forget(self, scope: Scope) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._tx() as conn:
            ep = self._scope_rids(conn, "episodes", scope)
            mem = self._scope_rids(conn, "memories", scope)
            fts = 0
            vec = 0
            for rids, kind, mult, add in ((ep, "episode", 2, 0), (mem, "memory", 2, 1)):
                for i in range(0, len(rids), 500):
                    chunk = rids[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    fts += conn.execute(
                        f"DELETE FROM fts WHERE rowid IN ({marks})", [r * mult + add for r in chunk]
                    ).rowcount
                    vec += conn.execute(
                        f"DELETE FROM vectors WHERE item_type = ? AND item_rid IN ({marks})",
                        (kind, *chunk),
                    ).rowcount
            counts["fts"] = fts
            counts["vectors"] = vec
            for table in ("memory_versions", "memories", "episodes", "jobs"):
                where, args = _scope_sql(scope, "x")
                counts[table] = conn.execute(
                    f"DELETE FROM {table} AS x WHERE {where}", args
                ).rowcount
            if fts:
                # merge FTS segments so deleted terms do not linger in old segments
                conn.execute("INSERT INTO fts (fts) VALUES ('optimize')")
        with self._lock:
            self._partitions.clear()
            self._data_version = self._read_data_version()
            if self.path != ":memory:":
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return counts

    def remaining(self, scope: Scope) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._lock:
            conn = self._conn
            ep = self._scope_rids(conn, "episodes", scope)
            mem = self._scope_rids(conn, "memories", scope)
            for table in ("episodes", "memories", "memory_versions", "jobs"):
                where, args = _scope_sql(scope, "x")
                out[table] = conn.execute(
                    f"SELECT count(*) FROM {table} x WHERE {where}", args
                ).fetchone()[0]
            tags = " AND ".join(f'"{t}"' for t in _scope_tags(scope))
            out["fts"] = conn.execute(
                "SELECT count(*) FROM fts WHERE fts MATCH ?", (f"tags:({tags})",)
            ).fetchone()[0]
            vec = 0
            for rids, kind in ((ep, "episode"), (mem, "memory")):
                for i in range(0, len(rids), 500):
                    chunk = rids[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    vec += conn.execute(
                        f"SELECT count(*) FROM vectors WHERE item_type = ? AND item_rid IN ({marks})",
                        (kind, *chunk),
                    ).fetchone()[0]
            out["vectors"] = vec
            # orphans: vectors whose item is gone (would be unreachable leftovers)
            out["orphan_vectors"] = conn.execute(
                "SELECT count(*) FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM episodes e"
                " WHERE v.item_type = 'episode' AND e.rid = v.item_rid) AND NOT EXISTS"
                " (SELECT 1 FROM memories m WHERE v.item_type = 'memory' AND m.rid = v.item_rid)"
            ).fetchone()[0]
        return out

    def iter_records(self, scope: Scope) -> Iterator[dict[str, Any]]:
        where, args = _scope_sql(scope, "x")
        for r in self._q(
            f"SELECT {_prefixed(_EP_COLS)} FROM episodes x WHERE {where}"
            " ORDER BY x.occurred_ts, x.rid",
            args,
        ):
            yield {"type": "episode", **_episode(r).to_dict()}
        for r in self._q(
            f"SELECT {_prefixed(_MEM_COLS)} FROM memories x WHERE {where} ORDER BY x.rid", args
        ):
            yield {"type": "memory", **_memory(r).to_dict()}
        for r in self._q(
            "SELECT x.tenant, x.memory_id, x.version, x.operation, x.before, x.after, x.reason,"
            f" x.recorded_at FROM memory_versions x WHERE {where} ORDER BY x.rid",
            args,
        ):
            v = MemoryVersion.from_dict(
                {
                    **dict(r),
                    "before": None if r["before"] is None else json.loads(r["before"]),
                    "after": None if r["after"] is None else json.loads(r["after"]),
                }
            )
            yield {"type": "version", "tenant": r["tenant"], **v.to_dict()}

    def stats(self, scope: Scope | None) -> Stats:
        if scope is None:
            where, args = "1", []
        else:
            where, args = _scope_sql(scope, "x")
        ep = self._q(f"SELECT count(*) FROM episodes x WHERE {where}", args)[0][0]
        by_status = {
            r[0]: r[1]
            for r in self._q(
                f"SELECT status, count(*) FROM memories x WHERE {where} GROUP BY status", args
            )
        }
        by_kind = {
            r[0]: r[1]
            for r in self._q(
                f"SELECT kind, count(*) FROM memories x WHERE {where} AND status = 'active'"
                " GROUP BY kind",
                args,
            )
        }
        versions = self._q(f"SELECT count(*) FROM memory_versions x WHERE {where}", args)[0][0]
        if scope is None:
            vectors = self._q("SELECT count(*) FROM vectors")[0][0]
        else:
            vectors = self._q(
                f"SELECT (SELECT count(*) FROM vectors v JOIN episodes x ON v.item_type='episode'"
                f" AND x.rid = v.item_rid WHERE {where}) + (SELECT count(*) FROM vectors v JOIN"
                f" memories x ON v.item_type='memory' AND x.rid = v.item_rid WHERE {where})",
                (*args, *args),
            )[0][0]
        size = None
        if self.path != ":memory:":
            p = Path(self.path)
            size = sum(
                f.stat().st_size
                for f in (p, Path(self.path + "-wal"), Path(self.path + "-shm"))
                if f.exists()
            )
        return Stats(
            episodes=ep,
            memories=sum(by_status.values()),
            memories_by_status=by_status,
            memories_by_kind=by_kind,
            versions=versions,
            vectors=vectors,
            embedding_model=self.get_meta("embedding_model"),
            schema_version=(self.applied_migrations() or [None])[-1],
            db_bytes=size,
        )

    def iter_items_for_reembed(
        self, model_id: str, batch_size: int
    ) -> Iterator[list[Episode | Memory]]:
        for item_type, table, cols, conv in (
            ("episode", "episodes", _EP_COLS, _episode),
            ("memory", "memories", _MEM_COLS, _memory),
        ):
            last = 0
            while True:
                rows = self._q(
                    f"SELECT x.rid, {_prefixed(cols)} FROM {table} x LEFT JOIN vectors v"
                    " ON v.item_type = ? AND v.item_rid = x.rid WHERE x.rid > ?"
                    " AND (v.rid IS NULL OR v.model_id != ?) ORDER BY x.rid LIMIT ?",
                    (item_type, last, model_id, batch_size),
                )
                if not rows:
                    break
                last = rows[-1]["rid"]
                yield [conv(r) for r in rows]  # type: ignore[operator]

    def drop_vectors_except(self, model_id: str) -> int:
        with self._tx() as conn:
            n = conn.execute("DELETE FROM vectors WHERE model_id != ?", (model_id,)).rowcount
        with self._lock:
            self._partitions.clear()
            self._data_version = self._read_data_version()
        return int(n)

    # -- jobs ------------------------------------------------------------------
    def claim_job(self, kinds: Iterable[str], now_: datetime, lease_seconds: float) -> Job | None:
        kinds = list(kinds)
        if not kinds:
            return None
        t = to_epoch(now_)
        marks = ",".join("?" * len(kinds))
        with self._tx() as conn:
            row = conn.execute(
                f"SELECT * FROM jobs WHERE kind IN ({marks}) AND ((status = 'pending' AND"
                " run_after_ts <= ?) OR (status = 'running' AND lease_until_ts < ?))"
                " ORDER BY run_after_ts, rid LIMIT 1",
                (*kinds, t, t),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1,"
                " lease_until_ts = ? WHERE rid = ?",
                (t + lease_seconds, row["rid"]),
            )
        return Job(
            id=row["id"],
            kind=row["kind"],
            scope=_row_scope(row),
            payload=json.loads(row["payload"]),
            attempts=row["attempts"] + 1,
            status="running",
            last_error=row["last_error"],
            created_at=parse_dt(row["created_at"]),
        )

    def finish_job(
        self, job_id: str, *, error: str | None = None, retry_at: datetime | None = None
    ) -> None:
        with self._tx() as conn:
            if error is None:
                conn.execute(
                    "UPDATE jobs SET status = 'done', last_error = NULL, lease_until_ts = NULL"
                    " WHERE id = ?",
                    (job_id,),
                )
            elif retry_at is not None:
                conn.execute(
                    "UPDATE jobs SET status = 'pending', last_error = ?, run_after_ts = ?,"
                    " lease_until_ts = NULL WHERE id = ?",
                    (error[:2000], to_epoch(retry_at), job_id),
                )
            else:
                conn.execute(
                    "UPDATE jobs SET status = 'failed', last_error = ?, lease_until_ts = NULL"
                    " WHERE id = ?",
                    (error[:2000], job_id),
                )

    def job_counts(self, scope: Scope | None) -> dict[str, int]:
        if scope is None:
            where, args = "1", []
        else:
            where, args = _scope_sql(scope, "x")
        return {
            r[0]: r[1]
            for r in self._q(f"SELECT status, count(*) FROM jobs x WHERE {where} GROUP BY status", args)
        }


def _prefixed(cols: str) -> str:
    return ", ".join(f"x.{c.strip()}" for c in cols.split(","))


def _parse_cursor(cursor: str) -> tuple[float, int]:
    from ..errors import InvalidInput

    try:
        ts, rid = cursor.split("|")
        return float(ts), int(rid)
    except ValueError as exc:
        raise InvalidInput(f"invalid cursor {cursor!r}") from exc

