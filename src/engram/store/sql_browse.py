"""Browsing side of the SQL stores (SQLite, PostgreSQL): users, sessions, the timeline,
failed jobs, written once against :class:`~engram.store.sql_dialect.Dialect`.

Indexed SQL for the :mod:`engram.store.browse` part of the contract. The timeline
reads one page of episodes and one of memories with the same keyset condition and
merges them, so a page costs two ``LIMIT`` queries however deep it is; the indexes
are migrations ``0005_browse`` (SQLite) and ``0004_browse`` (PostgreSQL): memories by
event time, and flagged items. Cursors carry the backend's exact time value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidInput
from ..models import Page, Scope
from ..timeutil import ensure_aware
from .base import Job
from .browse import ScopeSummary, TimelineFilters, merged_page
from .sql_common import (
    EP_COLS,
    MEM_COLS,
    SQLCommon,
    episode_from_row,
    job_from_row,
    memory_from_row,
    prefixed,
    scope_sql,
)

__all__ = ["SQLBrowse"]

#: "the item carries a poisoning flag", per dialect (the partial indexes use the same)
_FLAGGED = {
    "sqlite": "json_extract(x.metadata, '$.engram.flags') IS NOT NULL",
    "postgresql": "(x.metadata -> 'engram' -> 'flags') IS NOT NULL",
}
_Key = tuple[Any, int, int]  # (time value, 0 episode | 1 memory, rid)


def _when(value: Any) -> datetime | None:
    """A time column's value (epoch seconds or a datetime) as an aware datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return ensure_aware(value)
    return datetime.fromtimestamp(float(value), UTC)


class SQLBrowse(SQLCommon):
    """See :mod:`engram.store.browse`; mixed into both SQL stores."""

    def _cursor(self, cursor: str) -> _Key:
        try:
            ts, rank, rid = cursor.split("|")
            out = (self._dialect.parse_cursor_value(ts), int(rank), int(rid))
        except (ValueError, InvalidInput):
            raise InvalidInput(f"invalid cursor {cursor!r}") from None
        if out[1] not in (0, 1):
            raise InvalidInput(f"invalid cursor {cursor!r}")
        return out

    def _after(self, sql: str, args: list[Any], col: str, rank: int, after: _Key | None
               ) -> tuple[str, list[Any]]:
        """Keyset condition: rows of type ``rank`` that sort after the cursor ``after``
        (newest first; at one event time memories (rank 1) before episodes (rank 0))."""
        if after is None:
            return sql, args
        ts, crank, rid = after
        m = self._dialect.mark
        if rank < crank:  # the cursor's type sorts before ours at equal time
            return sql + f" AND x.{col} <= {m}", [*args, ts]
        if rank > crank:
            return sql + f" AND x.{col} < {m}", [*args, ts]
        return sql + f" AND (x.{col}, x.rid) < ({m}, {m})", [*args, ts, rid]

    def _summaries(self, where: str, args: list[Any], key: str, limit: int
                   ) -> list[ScopeSummary]:
        d = self._dialect
        created, recorded = d.col("created"), d.col("recorded")
        rows = self._q(
            f"SELECT k, user_id, sum(e) AS e, sum(m) AS m, max(ts) AS last_ts FROM ("
            f" SELECT x.{key} AS k, x.user_id, count(*) AS e, 0 AS m, max(x.{created}) AS ts"
            f" FROM episodes x WHERE {where} GROUP BY x.{key}, x.user_id UNION ALL"
            f" SELECT x.{key}, x.user_id, 0,"
            f" sum(CASE WHEN x.status = 'active' THEN 1 ELSE 0 END), max(x.{created})"
            f" FROM memories x WHERE {where} GROUP BY x.{key}, x.user_id UNION ALL"
            f" SELECT x.{key}, x.user_id, 0, 0, max(x.{recorded})"
            f" FROM memory_versions x WHERE {where} GROUP BY x.{key}, x.user_id"
            f") s GROUP BY k, user_id ORDER BY last_ts DESC LIMIT {d.mark}",
            (*args, *args, *args, limit),
        )
        return [ScopeSummary(
            user_id=r["user_id"], session_id=r["k"] if key == "session_id" else None,
            episodes=int(r["e"]), memories=int(r["m"] or 0), last_activity=_when(r["last_ts"]),
        ) for r in rows]

    def users(self, tenant: str, limit: int = 1000) -> list[ScopeSummary]:
        return self._summaries(f"x.tenant = {self._dialect.mark} AND x.user_id IS NOT NULL",
                               [tenant], "user_id", limit)

    def sessions(self, scope: Scope, limit: int = 1000) -> list[ScopeSummary]:
        where, args = scope_sql(self._dialect, scope)
        return self._summaries(where, args, "session_id", limit)

    def timeline(self, scope: Scope, filters: TimelineFilters, limit: int,
                 cursor: str | None = None) -> Page:
        d = self._dialect
        after = self._cursor(cursor) if cursor else None
        where, args = scope_sql(d, scope)
        flagged = _FLAGGED[d.name]
        rows: list[tuple[_Key, Any]] = []
        if filters.episodes():
            sql, extra = where, list(args)
            if filters.speaker is not None:
                sql += f" AND coalesce(x.speaker, x.role) = {d.mark}"
                extra.append(filters.speaker)
            if filters.status == "flagged":
                sql += f" AND {flagged}"
            rows += self._newest("episodes", 0, sql, extra, after, limit)
        if filters.memories():
            sql, extra = where, list(args)
            if filters.kinds is not None:
                member, kargs = d.in_list("x.kind", sorted(filters.kinds))
                sql += f" AND {member}"
                extra += kargs
            if filters.status == "flagged":
                sql += f" AND {flagged}"
            elif filters.status is not None:
                sql += f" AND x.status = {d.mark}"
                extra.append(filters.status)
            rows += self._newest("memories", 1, sql, extra, after, limit)
        return merged_page(rows, limit, d.cursor_value)

    def _newest(self, table: str, rank: int, sql: str, args: list[Any], after: _Key | None,
                limit: int) -> list[tuple[_Key, Any]]:
        """The ``limit + 1`` newest rows of ``table`` (0 episodes, 1 memories) matching
        ``sql`` after the cursor, keyed for :func:`~.browse.merged_page`."""
        d = self._dialect
        col = d.col("occurred" if rank == 0 else "event")
        sql, args = self._after(sql, args, col, rank, after)
        rows = self._q(f"SELECT x.rid, x.{col} AS keyset_ts,"
                       f" {prefixed(EP_COLS if rank == 0 else MEM_COLS)} FROM {table} x"
                       f" WHERE {sql} ORDER BY x.{col} DESC, x.rid DESC LIMIT {d.mark}",
                       (*args, limit + 1))
        load = episode_from_row if rank == 0 else memory_from_row
        return [((r["keyset_ts"], rank, int(r["rid"])), load(d, r)) for r in rows]

    def failed_jobs(self, scope: Scope | None, limit: int = 50) -> list[Job]:
        d = self._dialect
        where, args = scope_sql(d, scope)
        rows = self._q(f"SELECT x.* FROM jobs x WHERE {where} AND x.status = 'failed'"
                       f" ORDER BY x.rid DESC LIMIT {d.mark}", (*args, limit))
        return [job_from_row(d, r) for r in rows]
