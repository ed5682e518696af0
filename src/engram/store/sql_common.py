"""The SQL the SQLite and PostgreSQL stores share, written once against a
:class:`~engram.store.sql_dialect.Dialect`: scope and filter fragments, row
conversion, metadata, keyset pagination, history and ``as_of``, export order,
and the background-job state machine.

Both schemas name their tables and columns alike (``episodes``, ``memories``,
``memory_versions``, ``jobs``, ``meta``; every row has an increasing ``rid``);
where they differ (time and JSON columns) the dialect says how.
:class:`SQLCommon` holds the :class:`~engram.store.base.Store` methods built on
them; a backend provides ``_dialect``, ``_q(sql, args)`` (rows addressable by
column name) and ``_tx()`` (a transaction whose connection has ``execute``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, ClassVar

from ..errors import InvalidInput, MetaMoved
from ..models import (
    Episode,
    Memory,
    MemoryKind,
    MemoryStatus,
    MemoryVersion,
    Page,
    Scope,
    SearchFilters,
    Stats,
)
from ..timeutil import now
from .base import Job, Store, Usage
from .sql_dialect import Dialect

__all__ = [
    "EP_COLS",
    "MEM_COLS",
    "SQLCommon",
    "check_meta",
    "episode_from_row",
    "episode_values",
    "filter_sql",
    "insert_jobs",
    "insert_versions",
    "job_from_row",
    "memory_from_row",
    "memory_values",
    "prefixed",
    "row_scope",
    "scope_sql",
    "version_from_row",
]

EP_COLS = (
    "id, tenant, user_id, agent_id, session_id, role, speaker, text, occurred_at, created_at, "
    "metadata"
)
MEM_COLS = (
    "id, tenant, user_id, agent_id, session_id, kind, text, entities, keywords, valid_from, "
    "valid_to, created_at, updated_at, expired_at, importance, access_count, last_accessed_at, "
    "source_episode_ids, version, status, attribute, metadata"
)
_VERSION_COLS = "memory_id, version, operation, before, after, reason, recorded_at"
#: a page of ids per ``IN`` list (SQLite's parameter limit is 999 on old builds)
_CHUNK = 500

Row = Any  # sqlite3.Row or a psycopg dict row: both read by column name


def prefixed(cols: str, alias: str = "x") -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in cols.split(","))


def scope_sql(d: Dialect, scope: Scope | None, alias: str = "x") -> tuple[str, list[Any]]:
    """``tenant = ... AND user_id = ...`` for each field ``scope`` names; always
    true for ``None`` (the whole store)."""
    if scope is None:
        return d.true, []
    parts = [f"{alias}.tenant = {d.mark}"]
    args: list[Any] = [scope.tenant]
    for col in ("user_id", "agent_id", "session_id"):
        value = getattr(scope, col)
        if value is not None:
            parts.append(f"{alias}.{col} = {d.mark}")
            args.append(value)
    return " AND ".join(parts), args


def filter_sql(
    d: Dialect, filters: SearchFilters, alias: str, item_type: str
) -> tuple[str, list[Any]]:
    """The :class:`SearchFilters` of one item type as a WHERE fragment."""
    parts: list[str] = []
    args: list[Any] = []
    event = f"{alias}.{d.col('occurred' if item_type == 'episode' else 'event')}"
    created = f"{alias}.{d.col('created')}"
    if filters.start is not None:
        parts.append(f"{event} >= {d.mark}")
        args.append(d.ts(filters.start))
    if filters.end is not None:
        parts.append(f"{event} < {d.mark}")
        args.append(d.ts(filters.end))
    for key, value in filters.metadata:
        sql, more = d.metadata_eq(alias, key, value)
        parts.append(sql)
        args.extend(more)
    if item_type == "memory":
        kinds = filters.memory_kinds()
        if kinds is not None:
            sql, more = d.in_list(f"{alias}.kind", kinds)
            parts.append(sql)
            args.extend(more)
        if filters.as_of is not None:
            t = d.ts(filters.as_of)
            expired = f"{alias}.{d.col('expired')}"
            parts.append(f"{created} <= {d.mark} AND ({expired} IS NULL OR {expired} > {d.mark})")
            args.extend([t, t])
        elif not filters.include_inactive:
            parts.append(f"{alias}.status = 'active'")
    elif filters.as_of is not None:
        parts.append(f"{created} <= {d.mark}")
        args.append(d.ts(filters.as_of))
    return (" AND ".join(parts) or d.true), args


# -- models -> rows ----------------------------------------------------------------
def _times(d: Dialect, name: str, dt: datetime | None) -> dict[str, Any]:
    """The readable ``{name}_at`` column and, where the dialect compares on a
    twin column (SQLite's ``{name}_ts``), that twin."""
    out = {f"{name}_at": d.stamp(dt)}
    if d.col(name) != f"{name}_at":
        out[d.col(name)] = d.ts(dt)
    return out


def episode_values(d: Dialect, e: Episode) -> dict[str, Any]:
    """Column -> parameter of an episode row (``tenant`` and ``id`` included)."""
    return {
        "tenant": e.scope.tenant,
        "id": e.id,
        "user_id": e.scope.user_id,
        "agent_id": e.scope.agent_id,
        "session_id": e.scope.session_id,
        "role": e.role,
        "speaker": e.speaker,
        "text": e.text,
        **_times(d, "occurred", e.occurred_at),
        **_times(d, "created", e.created_at),
        "metadata": d.json(e.metadata),
    }


def memory_values(d: Dialect, m: Memory) -> dict[str, Any]:
    """Column -> parameter of a memory row, but ``tenant`` and ``id`` (the key a
    changed memory is found by)."""
    return {
        "user_id": m.scope.user_id,
        "agent_id": m.scope.agent_id,
        "session_id": m.scope.session_id,
        "kind": str(m.kind),
        "text": m.text,
        "entities": d.json(list(m.entities)),
        "keywords": d.json(list(m.keywords)),
        "valid_from": d.stamp(m.valid_from),
        "valid_to": d.stamp(m.valid_to),
        d.col("event"): d.ts(m.valid_from or m.created_at),
        **_times(d, "created", m.created_at),
        "updated_at": d.stamp(m.updated_at),
        **_times(d, "expired", m.expired_at),
        "importance": m.importance,
        "access_count": m.access_count,
        "last_accessed_at": d.stamp(m.last_accessed_at),
        "source_episode_ids": d.json(list(m.source_episode_ids)),
        "version": m.version,
        "status": str(m.status),
        "attribute": m.attribute,
        "metadata": d.json(m.metadata),
    }


def _insert_rows(conn: Any, table: str, rows: list[dict[str, Any]], d: Dialect,
                 key: str) -> None:
    if not rows:
        return
    cols = list(rows[0])
    cur = conn.cursor()
    cur.executemany(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({d.marks(len(cols))})"
        f" ON CONFLICT {key} DO NOTHING",
        [tuple(r.values()) for r in rows],
    )


def insert_versions(d: Dialect, conn: Any, versions: Sequence[tuple[str, MemoryVersion]]
                    ) -> None:
    """Append history entries in the caller's transaction; a ``(tenant,
    memory_id, version)`` already stored is left as it is (idempotent import).
    The entry is scoped by the user/agent/session of its state."""
    rows = []
    for tenant, v in versions:
        state = v.after or v.before or {}
        rows.append({
            "tenant": tenant,
            "memory_id": v.memory_id,
            "user_id": state.get("user_id"),
            "agent_id": state.get("agent_id"),
            "session_id": state.get("session_id"),
            "version": v.version,
            "operation": str(v.operation),
            "before": None if v.before is None else d.json(v.before),
            "after": None if v.after is None else d.json(v.after),
            "reason": v.reason,
            **_times(d, "recorded", v.recorded_at),
        })
    _insert_rows(conn, "memory_versions", rows, d, "(tenant, memory_id, version)")


def check_meta(d: Dialect, conn: Any, expect: Mapping[str, str]) -> None:
    """Raise :class:`~engram.errors.MetaMoved` unless every ``meta`` row named in
    ``expect`` holds its value (missing reads as ``""``), in the caller's write
    transaction (``WriteBatch.meta_expect``). PostgreSQL reads the rows ``FOR
    SHARE``: a concurrent ``set_meta`` of one waits for this transaction, or
    this read waits for it and sees its value. SQLite's write transaction
    already excludes every other writer."""
    if not expect:
        return
    keys = sorted(expect)
    lock = " FOR SHARE" if d.row_lock else ""
    rows = conn.execute(f"SELECT key, value FROM meta WHERE key IN ({d.marks(len(keys))}){lock}",
                        keys).fetchall()
    held = {r["key"]: r["value"] for r in rows}
    moved = [k for k in keys if (held.get(k) or "") != expect[k]]
    if moved:
        raise MetaMoved(f"{len(moved)} store setting(s) this write depends on changed")


def insert_jobs(d: Dialect, conn: Any, jobs: Sequence[Job]) -> None:
    """Enqueue ``jobs`` as pending in the caller's transaction; a job id already
    stored is left as it is. ``run_after`` defaults to ``created_at`` (now)."""
    rows = []
    for job in jobs:
        created = job.created_at or now()
        rows.append({
            "id": job.id,
            "tenant": job.scope.tenant,
            "user_id": job.scope.user_id,
            "agent_id": job.scope.agent_id,
            "session_id": job.scope.session_id,
            "kind": job.kind,
            "payload": d.json(job.payload),
            "status": "pending",
            "attempts": 0,
            "created_at": d.stamp(created),
            d.col("run_after"): d.ts(job.run_after or created),
        })
    _insert_rows(conn, "jobs", rows, d, d.job_key)


# -- rows -> models ----------------------------------------------------------------
def row_scope(r: Row) -> Scope:
    return Scope(user_id=r["user_id"], agent_id=r["agent_id"], session_id=r["session_id"],
                 tenant=r["tenant"])


def episode_from_row(d: Dialect, r: Row) -> Episode:
    return Episode(
        id=r["id"],
        scope=row_scope(r),
        role=r["role"],
        speaker=r["speaker"],
        text=r["text"],
        occurred_at=d.load_stamp(r["occurred_at"]),  # type: ignore[arg-type]
        created_at=d.load_stamp(r["created_at"]),  # type: ignore[arg-type]
        metadata=dict(d.load_json(r["metadata"]) or {}),
    )


#: stored kind and status texts -> their enum members (a dict lookup, not ``Enum(value)``)
_KINDS: dict[str, MemoryKind] = {k.value: k for k in MemoryKind}
_STATUSES: dict[str, MemoryStatus] = {s.value: s for s in MemoryStatus}


def memory_from_row(d: Dialect, r: Row) -> Memory:
    """The same :class:`Memory` as ``Memory.from_dict`` over the decoded row, built
    directly: each stamp parsed once, empty JSON lists not parsed (a search decodes
    its whole reranked head, ~70 rows)."""
    stamp, js = d.load_stamp, _load_json_fast(d)
    created = stamp(r["created_at"])
    return Memory(
        id=r["id"],
        scope=Scope(user_id=r["user_id"], agent_id=r["agent_id"], session_id=r["session_id"],
                    tenant=r["tenant"] or "default"),
        kind=_KINDS.get(r["kind"]) or MemoryKind(r["kind"] or "note"),
        text=r["text"],
        entities=list(js(r["entities"]) or []),
        keywords=list(js(r["keywords"]) or []),
        valid_from=stamp(r["valid_from"]),
        valid_to=stamp(r["valid_to"]),
        created_at=created,  # type: ignore[arg-type]
        updated_at=stamp(r["updated_at"]) or created,  # type: ignore[arg-type]
        expired_at=stamp(r["expired_at"]),
        importance=float(r["importance"]),
        access_count=int(r["access_count"]),
        last_accessed_at=stamp(r["last_accessed_at"]),
        source_episode_ids=list(js(r["source_episode_ids"]) or []),
        version=int(r["version"]),
        status=_STATUSES.get(r["status"]) or MemoryStatus(r["status"] or "active"),
        attribute=r["attribute"],
        metadata=dict(js(r["metadata"]) or {}),
    )


#: JSON texts decoded without the parser (a fresh copy is made by the caller)
_EMPTY_JSON: dict[str, Any] = {"[]": (), "{}": {}, "null": None}


def _load_json_fast(d: Dialect) -> Callable[[Any], Any]:
    """``d.load_json``, skipping the parser for the empty texts of :data:`_EMPTY_JSON`."""
    load = d.load_json

    def go(value: Any) -> Any:
        if isinstance(value, str) and value in _EMPTY_JSON:
            return _EMPTY_JSON[value]
        return load(value)

    return go


def version_from_row(d: Dialect, r: Row) -> MemoryVersion:
    v = {k: r[k] for k in ("memory_id", "version", "operation", "reason", "recorded_at")}
    v["before"] = d.load_json(r["before"])
    v["after"] = d.load_json(r["after"])
    return MemoryVersion.from_dict(v)


def job_from_row(d: Dialect, r: Row) -> Job:
    return Job(
        id=r["id"],
        kind=r["kind"],
        scope=row_scope(r),
        payload=dict(d.load_json(r["payload"]) or {}),
        attempts=int(r["attempts"]),
        status=r["status"],
        last_error=r["last_error"],
        created_at=d.load_stamp(r["created_at"]),
        finished_at=d.load_stamp(r["finished_at"]),
        result=d.load_json(r["result"]),
    )


def _parse_cursor(d: Dialect, cursor: str) -> tuple[Any, int]:
    try:
        ts, rid = cursor.split("|")
        return d.parse_cursor_value(ts), int(rid)
    except (ValueError, InvalidInput) as exc:
        raise InvalidInput(f"invalid cursor {cursor!r}") from exc


class SQLCommon(Store):
    """The :class:`Store` methods whose SQL both backends share (module docstring)."""

    _dialect: ClassVar[Dialect]
    _q: Callable[..., list[Any]]
    _tx: Callable[[], AbstractContextManager[Any]]
    #: rows of ``table`` (columns ``cols``) with these ids visible in the scope, by id
    _get_many: Callable[[str, str, Scope, Sequence[str]], dict[str, Row]]
    #: vectors of the items visible in the scope (``None``: the whole store)
    _vector_count: Callable[[Scope | None], int]
    #: the store's size on disk as :meth:`stats` reports it (``None``: not known)
    _db_bytes: Callable[[Scope | None], int | None]

    def _filter_sql(self, filters: SearchFilters, alias: str, item_type: str
                    ) -> tuple[str, list[Any]]:
        return filter_sql(self._dialect, filters, alias, item_type)

    # -- metadata --------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._q(f"SELECT value FROM meta WHERE key = {self._dialect.mark}", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as conn:
            conn.execute(
                f"INSERT INTO meta (key, value) VALUES ({self._dialect.marks(2)})"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def set_meta_if(self, key: str, expected: str | None, value: str) -> bool:
        """One statement: ``INSERT ... ON CONFLICT DO NOTHING`` when ``expected``
        is ``None``, else ``UPDATE ... WHERE value = expected`` (PostgreSQL
        re-checks the ``WHERE`` on a row another transaction just updated;
        SQLite's write transaction excludes other writers)."""
        d, m = self._dialect, self._dialect.mark
        with self._tx() as conn:
            if expected is None:
                cur = conn.execute(f"INSERT INTO meta (key, value) VALUES ({d.marks(2)})"
                                   " ON CONFLICT (key) DO NOTHING", (key, value))
            else:
                cur = conn.execute(f"UPDATE meta SET value = {m} WHERE key = {m} AND value = {m}",
                                   (value, key, expected))
            return bool(cur.rowcount == 1)

    def meta_items(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self._q("SELECT key, value FROM meta ORDER BY key")}

    # -- writes ----------------------------------------------------------------
    def touch(self, tenant: str, memory_ids: Sequence[str], at: datetime) -> None:
        d = self._dialect
        ids = list(dict.fromkeys(memory_ids))
        if not ids:
            return
        with self._tx() as conn:
            for i in range(0, len(ids), _CHUNK):
                member, args = d.in_list("id", ids[i : i + _CHUNK])
                conn.execute(
                    "UPDATE memories SET access_count = access_count + 1,"
                    f" last_accessed_at = {d.mark} WHERE tenant = {d.mark} AND {member}",
                    (d.stamp(at), tenant, *args),
                )

    def replace_episode_metadata(self, episode: Episode, expected: Mapping[str, Any], *,
                                 meta_expect: Mapping[str, str] | None = None) -> bool:
        d = self._dialect
        key = (episode.scope.tenant, episode.id)
        with self._tx() as conn:
            check_meta(d, conn, meta_expect or {})
            row = conn.execute(f"SELECT metadata FROM episodes WHERE tenant = {d.mark}"
                               f" AND id = {d.mark}{d.row_lock}", key).fetchone()
            if row is None or (d.load_json(row["metadata"]) or {}) != dict(expected):
                return False
            conn.execute(f"UPDATE episodes SET metadata = {d.mark}, text = {d.mark}"
                         f" WHERE tenant = {d.mark} AND id = {d.mark}",
                         (d.json(episode.metadata), episode.text, *key))
            return True

    # -- reads -----------------------------------------------------------------
    def get_episodes(self, scope: Scope, ids: Sequence[str]) -> list[Episode]:
        rows = self._get_many("episodes", EP_COLS, scope, ids)
        return [episode_from_row(self._dialect, rows[i]) for i in ids if i in rows]

    def get_memories(self, scope: Scope, ids: Sequence[str]) -> list[Memory]:
        rows = self._get_many("memories", MEM_COLS, scope, ids)
        return [memory_from_row(self._dialect, rows[i]) for i in ids if i in rows]

    def existing_episode_ids(self, tenant: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        ids = list(dict.fromkeys(ids))
        for i in range(0, len(ids), _CHUNK):
            member, args = self._dialect.in_list("id", ids[i : i + _CHUNK])
            rows = self._q(f"SELECT id FROM episodes WHERE tenant = {self._dialect.mark}"
                           f" AND {member}", (tenant, *args))
            found.update(r["id"] for r in rows)
        return found

    def memory_as_of(self, scope: Scope, memory_id: str, as_of: datetime) -> Memory | None:
        if not self.get_memories(scope, [memory_id]):
            return None
        d = self._dialect
        rows = self._q(
            f"SELECT after, before FROM memory_versions WHERE tenant = {d.mark}"
            f" AND memory_id = {d.mark} AND {d.col('recorded')} <= {d.mark}"
            " ORDER BY version DESC LIMIT 1",
            (scope.tenant, memory_id, d.ts(as_of)),
        )
        if not rows:
            return None
        state = d.load_json(rows[0]["after"]) or d.load_json(rows[0]["before"])
        return Memory.from_dict(state) if state else None

    def _page(
        self, table: str, cols: str, scope: Scope, filters: SearchFilters, limit: int,
        cursor: str | None, time_col: str, newest_first: bool, item_type: str,
    ) -> tuple[list[Row], str | None]:
        """One keyset page of ``table`` ordered by ``(time_col, rid)``; the rows
        and the cursor of the next page (``None`` on the last)."""
        d = self._dialect
        col = d.col(time_col)
        where, args = scope_sql(d, scope)
        fsql, fargs = filter_sql(d, filters, "x", item_type)
        if cursor:
            ts, rid = _parse_cursor(d, cursor)
            where += f" AND (x.{col}, x.rid) {'<' if newest_first else '>'} ({d.marks(2)})"
            args += [ts, rid]
        order = "DESC" if newest_first else "ASC"
        rows = self._q(
            f"SELECT x.rid, x.{col} AS keyset_ts, {prefixed(cols)} FROM {table} x"
            f" WHERE {where} AND {fsql} ORDER BY x.{col} {order}, x.rid {order}"
            f" LIMIT {d.mark}",
            (*args, *fargs, limit + 1),
        )
        last = rows[limit - 1] if len(rows) > limit else None
        nxt = None if last is None else f"{d.cursor_value(last['keyset_ts'])}|{last['rid']}"
        return rows[:limit], nxt

    def list_episodes(
        self, scope: Scope, filters: SearchFilters, limit: int, cursor: str | None = None
    ) -> Page:
        rows, nxt = self._page("episodes", EP_COLS, scope, filters, limit, cursor,
                               "occurred", False, "episode")
        return Page(items=[episode_from_row(self._dialect, r) for r in rows], next_cursor=nxt)

    def list_memories(
        self, scope: Scope, filters: SearchFilters, limit: int, cursor: str | None = None
    ) -> Page:
        rows, nxt = self._page("memories", MEM_COLS, scope, filters, limit, cursor,
                               "created", True, "memory")
        items: list[Memory] = []
        for r in rows:
            m = memory_from_row(self._dialect, r)
            if filters.as_of is not None:
                m = self.memory_as_of(scope, m.id, filters.as_of) or m
            items.append(m)
        return Page(items=items, next_cursor=nxt)

    def active_memories_with_attribute(self, scope: Scope, attribute: str) -> list[Memory]:
        d = self._dialect
        where, args = scope_sql(d, scope)
        rows = self._q(
            f"SELECT {prefixed(MEM_COLS)} FROM memories x WHERE {where}"
            f" AND x.attribute = {d.mark} AND x.status = 'active'"
            f" ORDER BY x.{d.col('created')}, x.rid",
            (*args, attribute),
        )
        return [memory_from_row(d, r) for r in rows]

    def history(self, scope: Scope, memory_id: str) -> list[MemoryVersion]:
        if not self.get_memories(scope, [memory_id]):
            return []
        d = self._dialect
        rows = self._q(
            f"SELECT {_VERSION_COLS} FROM memory_versions WHERE tenant = {d.mark}"
            f" AND memory_id = {d.mark} ORDER BY version",
            (scope.tenant, memory_id),
        )
        return [version_from_row(d, r) for r in rows]

    # -- whole-tenant reads --------------------------------------------------------
    def tenants(self) -> list[str]:
        return [r["tenant"] for r in self._q(
            "SELECT tenant FROM episodes UNION SELECT tenant FROM memories"
            " UNION SELECT tenant FROM memory_versions ORDER BY 1")]

    def tenant_usage(self, tenant: str) -> Usage:
        d = self._dialect
        size = f"coalesce(sum({d.byte_length('text')}), 0)"
        row = self._q(
            f"SELECT (SELECT count(*) FROM episodes WHERE tenant = {d.mark}) +"
            f" (SELECT count(*) FROM memories WHERE tenant = {d.mark}) AS items,"
            f" (SELECT {size} FROM episodes WHERE tenant = {d.mark}) +"
            f" (SELECT {size} FROM memories WHERE tenant = {d.mark}) AS bytes",
            (tenant,) * 4)[0]
        return Usage(int(row["items"]), int(row["bytes"]))

    def iter_records(self, scope: Scope) -> Iterator[dict[str, Any]]:
        d = self._dialect
        where, args = scope_sql(d, scope)
        for r in self._q(
            f"SELECT {prefixed(EP_COLS)} FROM episodes x WHERE {where}"
            f" ORDER BY x.{d.col('occurred')}, x.rid",
            args,
        ):
            yield {"type": "episode", **episode_from_row(d, r).to_dict()}
        for r in self._q(
            f"SELECT {prefixed(MEM_COLS)} FROM memories x WHERE {where} ORDER BY x.rid", args
        ):
            yield {"type": "memory", **memory_from_row(d, r).to_dict()}
        for r in self._q(
            f"SELECT x.tenant, {prefixed(_VERSION_COLS)} FROM memory_versions x"
            f" WHERE {where} ORDER BY x.rid",
            args,
        ):
            yield {"type": "version", "tenant": r["tenant"], **version_from_row(d, r).to_dict()}

    def stats(self, scope: Scope | None) -> Stats:
        d = self._dialect
        where, args = scope_sql(d, scope)

        def counts(sql: str) -> dict[Any, int]:
            return {r["k"]: int(r["n"]) for r in self._q(sql, args)}

        by_status = counts(f"SELECT status AS k, count(*) AS n FROM memories x WHERE {where}"
                           " GROUP BY status")
        by_kind = counts(f"SELECT kind AS k, count(*) AS n FROM memories x WHERE {where}"
                         " AND status = 'active' GROUP BY kind")
        episodes = counts(f"SELECT 0 AS k, count(*) AS n FROM episodes x WHERE {where}")[0]
        versions = counts(f"SELECT 0 AS k, count(*) AS n FROM memory_versions x"
                          f" WHERE {where}")[0]
        # migration names start with their number: the greatest is the latest
        schema = self._q("SELECT max(name) AS name FROM schema_migrations")[0]["name"]
        return Stats(
            episodes=episodes,
            memories=sum(by_status.values()),
            memories_by_status=by_status,
            memories_by_kind=by_kind,
            versions=versions,
            vectors=self._vector_count(scope),
            embedding_model=self.get_meta("embedding_model"),
            schema_version=schema,
            db_bytes=self._db_bytes(scope),
        )

    # -- jobs ------------------------------------------------------------------------
    def claim_job(self, kinds: Iterable[str], now: datetime, lease_seconds: float) -> Job | None:
        kinds = list(kinds)
        if not kinds:
            return None
        d = self._dialect
        t = d.ts(now)
        run_after, lease = d.col("run_after"), d.col("lease_until")
        member, kargs = d.in_list("kind", kinds)
        runnable = (f"((status = 'pending' AND {run_after} <= {d.mark})"
                    f" OR (status = 'running' AND {lease} < {d.mark}))")
        # two steps, so that every locking statement names one tenant (one shard on
        # Citus): candidate keys from the whole queue without locks, then claim the
        # first one still runnable and not locked by another worker
        keys = self._q(
            f"SELECT tenant, id FROM jobs WHERE {member} AND {runnable}"
            f" ORDER BY {run_after}, rid LIMIT 16", (*kargs, t, t))
        row = None
        with self._tx() as conn:
            for key in keys:
                row = conn.execute(
                    f"SELECT * FROM jobs WHERE tenant = {d.mark} AND id = {d.mark}"
                    f" AND {member} AND {runnable}{d.claim_lock}",
                    (key["tenant"], key["id"], *kargs, t, t),
                ).fetchone()
                if row is not None:
                    break
            if row is None:
                return None
            conn.execute(
                f"UPDATE jobs SET status = 'running', attempts = attempts + 1,"
                f" {lease} = {d.mark} WHERE tenant = {d.mark} AND id = {d.mark}",
                (d.ts(now + timedelta(seconds=lease_seconds)), row["tenant"], row["id"]),
            )
        job = job_from_row(d, row)
        return dataclasses.replace(job, attempts=job.attempts + 1, status="running")

    def finish_job(
        self, job_id: str, *, error: str | None = None, retry_at: datetime | None = None,
        result: dict[str, Any] | None = None, tenant: str | None = None,
    ) -> None:
        d = self._dialect
        done = None if error is not None and retry_at is not None else now()
        sets = f"finished_at = {d.mark}, {d.col('lease_until')} = NULL"
        args: list[Any] = [d.stamp(done)]
        if result is not None:
            sets += f", result = {d.mark}"
            args.append(d.json(result))
        if error is None:
            status, more = f"'done', last_error = NULL, {sets}", args
        elif retry_at is not None:
            status = f"'pending', last_error = {d.mark}, {d.col('run_after')} = {d.mark}, {sets}"
            more = [error[:2000], d.ts(retry_at), *args]
        else:
            status, more = f"'failed', last_error = {d.mark}, {sets}", [error[:2000], *args]
        with self._tx() as conn:
            if tenant is None:  # look it up, so that the write names its shard
                found = conn.execute(f"SELECT tenant FROM jobs WHERE id = {d.mark}",
                                     (job_id,)).fetchone()
                tenant = None if found is None else found["tenant"]
            if tenant is not None:
                conn.execute(f"UPDATE jobs SET status = {status} WHERE tenant = {d.mark}"
                             f" AND id = {d.mark}", (*more, tenant, job_id))

    def get_job(self, tenant: str, job_id: str) -> Job | None:
        d = self._dialect
        rows = self._q(f"SELECT * FROM jobs WHERE tenant = {d.mark} AND id = {d.mark}",
                       (tenant, job_id))
        return job_from_row(d, rows[0]) if rows else None

    def purge_jobs(self, kinds: Iterable[str], finished_before: datetime,
                   limit: int = 1000) -> int:
        kinds = list(kinds)
        if not kinds or limit <= 0:
            return 0
        d = self._dialect
        member, kargs = d.in_list("kind", kinds)
        # like claim_job: candidate keys from the whole queue without locks, then one
        # DELETE per tenant (one shard on Citus), still only of done jobs. A job runs
        # after its run_after, so the runnable index's (status, kind, run_after) range
        # skips the recent done jobs, which stay
        keys = self._q(f"SELECT tenant, id FROM jobs WHERE status = 'done' AND {member}"
                       f" AND {d.col('run_after')} < {d.mark} AND finished_at < {d.mark}"
                       f" LIMIT {int(limit)}",
                       (*kargs, d.ts(finished_before), d.stamp(finished_before)))
        by_tenant: dict[str, list[str]] = {}
        for key in keys:
            by_tenant.setdefault(key["tenant"], []).append(key["id"])
        if not by_tenant:
            return 0
        purged = 0
        with self._tx() as conn:
            for tenant, ids in by_tenant.items():
                for start in range(0, len(ids), 500):
                    ids_in, iargs = d.in_list("id", ids[start:start + 500])
                    purged += conn.execute(
                        f"DELETE FROM jobs WHERE tenant = {d.mark} AND {ids_in}"
                        f" AND status = 'done'", (tenant, *iargs)).rowcount
        return purged

    def job_counts(self, scope: Scope | None) -> dict[str, int]:
        where, args = scope_sql(self._dialect, scope)
        rows = self._q(f"SELECT status, count(*) AS n FROM jobs x WHERE {where} GROUP BY status",
                       args)
        return {r["status"]: int(r["n"]) for r in rows}
