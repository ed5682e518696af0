"""Browsing side of the SQLite store: users, sessions, the timeline, failed jobs.

Indexed SQL for the :mod:`engram.store.browse` part of the contract. The timeline
reads one page of episodes and one of memories with the same keyset condition and
merges them, so a page costs two ``LIMIT`` queries however deep it is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..models import Page, Scope
from ..timeutil import parse_dt
from .base import Job
from .browse import ScopeSummary, TimelineFilters, parse_timeline_cursor
from .sqlite_base import SQLiteBase
from .sqlite_rows import (
    _EP_COLS,
    _MEM_COLS,
    _episode,
    _memory,
    _prefixed,
    _row_scope,
    _scope_sql,
)

__all__ = ["SQLiteBrowse"]

_FLAGGED = "json_extract(x.metadata, '$.engram.flags') IS NOT NULL"


class SQLiteBrowse(SQLiteBase):
    """See :class:`~engram.store.sqlite.SQLiteStore` and :mod:`engram.store.browse`."""

    def _summaries(self, where: str, args: list[Any], key: str, limit: int
                   ) -> list[ScopeSummary]:
        rows = self._q(
            f"SELECT k, user_id, sum(e) AS e, sum(m) AS m, max(ts) AS ts FROM ("
            f" SELECT x.{key} AS k, x.user_id, count(*) AS e, 0 AS m, max(x.created_ts) AS ts"
            f" FROM episodes x WHERE {where} GROUP BY x.{key}, x.user_id UNION ALL"
            f" SELECT x.{key}, x.user_id, 0, sum(x.status = 'active'), max(x.created_ts)"
            f" FROM memories x WHERE {where} GROUP BY x.{key}, x.user_id UNION ALL"
            f" SELECT x.{key}, x.user_id, 0, 0, max(x.recorded_ts)"
            f" FROM memory_versions x WHERE {where} GROUP BY x.{key}, x.user_id"
            ") GROUP BY k, user_id ORDER BY ts DESC LIMIT ?",
            (*args, *args, *args, limit),
        )
        return [ScopeSummary(
            user_id=r["user_id"], session_id=r["k"] if key == "session_id" else None,
            episodes=int(r["e"]), memories=int(r["m"] or 0),
            last_activity=datetime.fromtimestamp(r["ts"], UTC) if r["ts"] is not None else None,
        ) for r in rows]

    def users(self, tenant: str, limit: int = 1000) -> list[ScopeSummary]:
        return self._summaries("x.tenant = ? AND x.user_id IS NOT NULL", [tenant], "user_id",
                               limit)

    def sessions(self, scope: Scope, limit: int = 1000) -> list[ScopeSummary]:
        where, args = _scope_sql(scope, "x")
        return self._summaries(where, args, "session_id", limit)

    def timeline(self, scope: Scope, filters: TimelineFilters, limit: int,
                 cursor: str | None = None) -> Page:
        after = parse_timeline_cursor(cursor) if cursor else None
        where, args = _scope_sql(scope, "x")
        rows: list[tuple[tuple[float, int, int], Any]] = []
        if filters.episodes():
            sql, extra = where, list(args)
            if filters.speaker is not None:
                sql += " AND coalesce(x.speaker, x.role) = ?"
                extra.append(filters.speaker)
            if filters.status == "flagged":
                sql += f" AND {_FLAGGED}"
            sql, extra = _after(sql, extra, "x.occurred_ts", 0, after)
            for r in self._q(f"SELECT x.rid, x.occurred_ts AS ts, {_prefixed(_EP_COLS)}"
                             f" FROM episodes x WHERE {sql}"
                             " ORDER BY x.occurred_ts DESC, x.rid DESC LIMIT ?",
                             (*extra, limit + 1)):
                rows.append(((r["ts"], 0, r["rid"]), _episode(r)))
        if filters.memories():
            sql, extra = where, list(args)
            if filters.kinds is not None:
                sql += f" AND x.kind IN ({','.join('?' * len(filters.kinds))})"
                extra += sorted(filters.kinds)
            if filters.status == "flagged":
                sql += f" AND {_FLAGGED}"
            elif filters.status is not None:
                sql += " AND x.status = ?"
                extra.append(filters.status)
            sql, extra = _after(sql, extra, "x.event_ts", 1, after)
            for r in self._q(f"SELECT x.rid, x.event_ts AS ts, {_prefixed(_MEM_COLS)}"
                             f" FROM memories x WHERE {sql}"
                             " ORDER BY x.event_ts DESC, x.rid DESC LIMIT ?",
                             (*extra, limit + 1)):
                rows.append(((r["ts"], 1, r["rid"]), _memory(r)))
        rows.sort(key=lambda kv: kv[0], reverse=True)
        page = rows[:limit]
        nxt = None
        if len(rows) > limit:
            ts, rank, rid = page[-1][0]
            nxt = f"{ts!r}|{rank}|{rid}"
        return Page(items=[item for _, item in page], next_cursor=nxt)

    def failed_jobs(self, scope: Scope | None, limit: int = 50) -> list[Job]:
        where, args = ("1", []) if scope is None else _scope_sql(scope, "x")
        rows = self._q(
            "SELECT x.id, x.kind, x.tenant, x.user_id, x.agent_id, x.session_id, x.payload,"
            " x.attempts, x.status, x.last_error, x.created_at FROM jobs x"
            f" WHERE {where} AND x.status = 'failed' ORDER BY x.rid DESC LIMIT ?",
            (*args, limit),
        )
        return [Job(id=r["id"], kind=r["kind"], scope=_row_scope(r),
                    payload=json.loads(r["payload"]), attempts=r["attempts"],
                    status=r["status"], last_error=r["last_error"],
                    created_at=parse_dt(r["created_at"])) for r in rows]


def _after(sql: str, args: list[Any], col: str, rank: int,
           after: tuple[float, int, int] | None) -> tuple[str, list[Any]]:
    """Keyset condition: rows of type ``rank`` that sort after the cursor ``after``
    (newest first; at one event time memories (rank 1) before episodes (rank 0))."""
    if after is None:
        return sql, args
    ts, crank, rid = after
    if rank < crank:  # the cursor's type sorts before ours at equal time
        return sql + f" AND {col} <= ?", [*args, ts]
    if rank > crank:
        return sql + f" AND {col} < ?", [*args, ts]
    return sql + f" AND ({col} < ? OR ({col} = ? AND x.rid < ?))", [*args, ts, ts, rid]
