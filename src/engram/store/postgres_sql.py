"""SQL fragments and row conversions shared by the PostgreSQL store modules.

Every fragment is a ``(sql, params)`` pair with ``%s`` placeholders: user
values never reach the SQL text. Rows come from psycopg's ``dict_row``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from ..errors import InvalidInput
from ..models import Episode, Memory, MemoryVersion, Scope, SearchFilters
from ..timeutil import ensure_aware, format_dt, parse_dt

__all__ = [
    "EP_COLS",
    "MEM_COLS",
    "as_array",
    "episode_from_row",
    "episode_params",
    "filter_sql",
    "memory_from_row",
    "memory_params",
    "parse_cursor",
    "prefixed",
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
#: columns written for a memory (after tenant, id), in ``memory_params`` order
MEM_WRITE_COLS = (
    "user_id, agent_id, session_id, kind, text, entities, keywords, valid_from, valid_to, "
    "event_at, created_at, updated_at, expired_at, importance, access_count, last_accessed_at, "
    "source_episode_ids, version, status, attribute, metadata"
)


def prefixed(cols: str, alias: str = "x") -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in cols.split(","))


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else ensure_aware(value)


def _row_scope(r: dict[str, Any]) -> Scope:
    return Scope(
        user_id=r["user_id"], agent_id=r["agent_id"], session_id=r["session_id"], tenant=r["tenant"]
    )


def episode_from_row(r: dict[str, Any]) -> Episode:
    return Episode(
        id=r["id"],
        scope=_row_scope(r),
        role=r["role"],
        speaker=r["speaker"],
        text=r["text"],
        occurred_at=ensure_aware(r["occurred_at"]),
        created_at=ensure_aware(r["created_at"]),
        metadata=dict(r["metadata"] or {}),
    )


def memory_from_row(r: dict[str, Any]) -> Memory:
    d = {k: r[k] for k in (c.strip() for c in MEM_COLS.split(","))}
    for key in ("valid_from", "valid_to", "created_at", "updated_at", "expired_at",
                "last_accessed_at"):
        d[key] = _utc(d[key])
    return Memory.from_dict(d)


def version_from_row(r: dict[str, Any]) -> MemoryVersion:
    return MemoryVersion.from_dict(
        {k: r[k] for k in ("memory_id", "version", "operation", "before", "after", "reason",
                           "recorded_at")}
    )


def episode_params(e: Episode) -> tuple[Any, ...]:
    return (
        e.scope.tenant,
        e.id,
        e.scope.user_id,
        e.scope.agent_id,
        e.scope.session_id,
        e.role,
        e.speaker,
        e.text,
        ensure_aware(e.occurred_at),
        ensure_aware(e.created_at),
        Jsonb(e.metadata),
    )


def memory_params(m: Memory) -> tuple[Any, ...]:
    """Values for :data:`MEM_WRITE_COLS`."""
    return (
        m.scope.user_id,
        m.scope.agent_id,
        m.scope.session_id,
        str(m.kind),
        m.text,
        Jsonb(list(m.entities)),
        Jsonb(list(m.keywords)),
        _utc(m.valid_from),
        _utc(m.valid_to),
        ensure_aware(m.valid_from or m.created_at),
        ensure_aware(m.created_at),
        ensure_aware(m.updated_at),
        _utc(m.expired_at),
        m.importance,
        m.access_count,
        _utc(m.last_accessed_at),
        Jsonb(list(m.source_episode_ids)),
        m.version,
        str(m.status),
        m.attribute,
        Jsonb(m.metadata),
    )


def scope_sql(scope: Scope | None, alias: str = "x") -> tuple[str, list[Any]]:
    """``tenant = ... AND user_id = ...`` for each field the scope names."""
    if scope is None:
        return "TRUE", []
    parts = [f"{alias}.tenant = %s"]
    args: list[Any] = [scope.tenant]
    for col in ("user_id", "agent_id", "session_id"):
        value = getattr(scope, col)
        if value is not None:
            parts.append(f"{alias}.{col} = %s")
            args.append(value)
    return " AND ".join(parts), args


def filter_sql(filters: SearchFilters, alias: str, item_type: str) -> tuple[str, list[Any]]:
    """The :class:`SearchFilters` of one item type as a WHERE fragment."""
    parts: list[str] = []
    args: list[Any] = []
    ts_col = "occurred_at" if item_type == "episode" else "event_at"
    if filters.start is not None:
        parts.append(f"{alias}.{ts_col} >= %s")
        args.append(ensure_aware(filters.start))
    if filters.end is not None:
        parts.append(f"{alias}.{ts_col} < %s")
        args.append(ensure_aware(filters.end))
    for key, value in filters.metadata:
        if value is None:
            parts.append(
                f"({alias}.metadata -> %s IS NULL OR {alias}.metadata -> %s = 'null'::jsonb)"
            )
            args.extend([key, key])
        else:
            parts.append(f"{alias}.metadata -> %s = %s")
            args.extend([key, Jsonb(value)])
    if item_type == "memory":
        kinds = filters.memory_kinds()
        if kinds is not None:
            parts.append(f"{alias}.kind = ANY(%s)")
            args.append(kinds)
        if filters.as_of is not None:
            t = ensure_aware(filters.as_of)
            parts.append(
                f"{alias}.created_at <= %s AND ({alias}.expired_at IS NULL"
                f" OR {alias}.expired_at > %s)"
            )
            args.extend([t, t])
        elif not filters.include_inactive:
            parts.append(f"{alias}.status = 'active'")
    elif filters.as_of is not None:
        parts.append(f"{alias}.created_at <= %s")
        args.append(ensure_aware(filters.as_of))
    return (" AND ".join(parts) or "TRUE"), args


def make_cursor(ts: datetime, rid: int) -> str:
    return f"{format_dt(ts)}|{rid}"


def parse_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        ts, rid = cursor.split("|")
        parsed = parse_dt(ts)
        if parsed is None:
            raise ValueError(cursor)
        return parsed, int(rid)
    except (ValueError, InvalidInput) as exc:
        raise InvalidInput(f"invalid cursor {cursor!r}") from exc


def as_array(value: Any) -> np.ndarray:
    """A float32 array from what pgvector's loader returns (``Vector`` or array)."""
    to_numpy = getattr(value, "to_numpy", None)
    arr = to_numpy() if to_numpy is not None else value
    return np.asarray(arr, dtype=np.float32).copy()
