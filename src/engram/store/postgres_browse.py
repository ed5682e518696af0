"""Browsing side of the PostgreSQL store: users, sessions, the timeline, failed jobs.

The same plan as :mod:`engram.store.sqlite_browse`: the timeline reads one page of
episodes and one of memories with the same keyset condition (``occurred_at`` /
``event_at``, then ``rid``) and merges them; migration ``0004_browse`` indexes both
orders and the flagged items. Cursors carry the exact timestamp (ISO), not a float.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..errors import InvalidInput
from ..models import Page, Scope
from ..timeutil import ensure_aware, format_dt, parse_dt
from .base import Job
from .browse import ScopeSummary, TimelineFilters
from .postgres_pool import PgBase
from .postgres_sql import (
    EP_COLS,
    MEM_COLS,
    episode_from_row,
    memory_from_row,
    prefixed,
    scope_sql,
)

__all__ = ["PgBrowse"]

_FLAGGED = "(x.metadata -> 'engram' -> 'flags') IS NOT NULL"
_Key = tuple[datetime, int, int]


def _cursor(cursor: str) -> _Key:
    try:
        ts, rank, rid = cursor.split("|")
        out = (ensure_aware(parse_dt(ts)), int(rank), int(rid))
    except (ValueError, InvalidInput):
        raise InvalidInput(f"invalid cursor {cursor!r}") from None
    if out[1] not in (0, 1):
        raise InvalidInput(f"invalid cursor {cursor!r}")
    return out


def _after(sql: str, args: list[Any], col: str, rank: int, after: _Key | None
           ) -> tuple[str, list[Any]]:
    """Rows of type ``rank`` after the cursor (see ``sqlite_browse._after``)."""
    if after is None:
        return sql, args
    ts, crank, rid = after
    if rank < crank:
        return sql + f" AND {col} <= %s", [*args, ts]
    if rank > crank:
        return sql + f" AND {col} < %s", [*args, ts]
    return sql + f" AND ({col}, x.rid) < (%s, %s)", [*args, ts, rid]


class PgBrowse(PgBase):
    """See :class:`~engram.store.postgres.PostgresStore` and :mod:`engram.store.browse`."""

    def _summaries(self, where: str, args: list[Any], key: str, limit: int
                   ) -> list[ScopeSummary]:
        rows = self._q(
            f"SELECT k, user_id, sum(e) AS e, sum(m) AS m, max(ts) AS ts FROM ("
            f" SELECT x.{key} AS k, x.user_id, count(*) AS e, 0 AS m, max(x.created_at) AS ts"
            f" FROM episodes x WHERE {where} GROUP BY x.{key}, x.user_id UNION ALL"
            f" SELECT x.{key}, x.user_id, 0, count(*) FILTER (WHERE x.status = 'active'),"
            f" max(x.created_at) FROM memories x WHERE {where} GROUP BY x.{key}, x.user_id"
            f" UNION ALL SELECT x.{key}, x.user_id, 0, 0, max(x.recorded_at)"
            f" FROM memory_versions x WHERE {where} GROUP BY x.{key}, x.user_id"
            ") s GROUP BY k, user_id ORDER BY max(ts) DESC NULLS LAST LIMIT %s",
            (*args, *args, *args, limit),
        )
        return [ScopeSummary(
            user_id=r["user_id"], session_id=r["k"] if key == "session_id" else None,
            episodes=int(r["e"]), memories=int(r["m"] or 0),
            last_activity=ensure_aware(r["ts"]) if r["ts"] is not None else None,
        ) for r in rows]

    def users(self, tenant: str, limit: int = 1000) -> list[ScopeSummary]:
        return self._summaries("x.tenant = %s AND x.user_id IS NOT NULL", [tenant],
                               "user_id", limit)

    def sessions(self, scope: Scope, limit: int = 1000) -> list[ScopeSummary]:
        where, args = scope_sql(scope)
        return self._summaries(where, args, "session_id", limit)

    def timeline(self, scope: Scope, filters: TimelineFilters, limit: int,
                 cursor: str | None = None) -> Page:
        after = _cursor(cursor) if cursor else None
        where, args = scope_sql(scope)
        rows: list[tuple[_Key, Any]] = []
        if filters.episodes():
            sql, extra = where, list(args)
            if filters.speaker is not None:
                sql += " AND coalesce(x.speaker, x.role) = %s"
                extra.append(filters.speaker)
            if filters.status == "flagged":
                sql += f" AND {_FLAGGED}"
            sql, extra = _after(sql, extra, "x.occurred_at", 0, after)
            for r in self._q(f"SELECT x.rid, {prefixed(EP_COLS)} FROM episodes x WHERE {sql}"
                             " ORDER BY x.occurred_at DESC, x.rid DESC LIMIT %s",
                             (*extra, limit + 1)):
                e = episode_from_row(r)
                rows.append(((e.occurred_at, 0, int(r["rid"])), e))
        if filters.memories():
            sql, extra = where, list(args)
            if filters.kinds is not None:
                sql += " AND x.kind = ANY(%s)"
                extra.append(sorted(filters.kinds))
            if filters.status == "flagged":
                sql += f" AND {_FLAGGED}"
            elif filters.status is not None:
                sql += " AND x.status = %s"
                extra.append(filters.status)
            sql, extra = _after(sql, extra, "x.event_at", 1, after)
            for r in self._q(f"SELECT x.rid, x.event_at AS ts, {prefixed(MEM_COLS)}"
                             f" FROM memories x WHERE {sql}"
                             " ORDER BY x.event_at DESC, x.rid DESC LIMIT %s",
                             (*extra, limit + 1)):
                rows.append(((ensure_aware(r["ts"]), 1, int(r["rid"])), memory_from_row(r)))
        rows.sort(key=lambda kv: kv[0], reverse=True)
        page = rows[:limit]
        nxt = None
        if len(rows) > limit:
            ts, rank, rid = page[-1][0]
            nxt = f"{format_dt(ts)}|{rank}|{rid}"
        return Page(items=[item for _, item in page], next_cursor=nxt)

    def failed_jobs(self, scope: Scope | None, limit: int = 50) -> list[Job]:
        where, args = scope_sql(scope)
        rows = self._q(
            "SELECT x.id, x.kind, x.tenant, x.user_id, x.agent_id, x.session_id, x.payload,"
            " x.attempts, x.status, x.last_error, x.created_at FROM jobs x"
            f" WHERE {where} AND x.status = 'failed' ORDER BY x.rid DESC LIMIT %s",
            (*args, limit),
        )
        return [Job(id=r["id"], kind=r["kind"],
                    scope=Scope(user_id=r["user_id"], agent_id=r["agent_id"],
                                session_id=r["session_id"], tenant=r["tenant"]),
                    payload=dict(r["payload"] or {}), attempts=r["attempts"],
                    status=r["status"], last_error=r["last_error"],
                    created_at=ensure_aware(r["created_at"])) for r in rows]
