"""Row conversion and SQL helpers shared by the SQLite store modules."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..errors import StoreError
from ..models import (
    Episode,
    Memory,
    Scope,
)
from ..text import scope_token
from ..timeutil import parse_dt, to_epoch

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
        occurred_at=parse_dt(r["occurred_at"]),
        created_at=parse_dt(r["created_at"]),
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
    return to_epoch(m.valid_from or m.created_at)


def _partition_of(scope: Scope, model_id: str) -> PartitionKey:
    if scope.user_id is not None:
        return (scope.tenant, "u", scope.user_id, model_id)
    if scope.agent_id is not None:
        return (scope.tenant, "a", scope.agent_id, model_id)
    raise StoreError("a scope needs a user_id or agent_id")


def _prefixed(cols: str) -> str:
    return ", ".join(f"x.{c.strip()}" for c in cols.split(","))


def _parse_cursor(cursor: str) -> tuple[float, int]:
    from ..errors import InvalidInput

    try:
        ts, rid = cursor.split("|")
        return float(ts), int(rid)
    except ValueError as exc:
        raise InvalidInput(f"invalid cursor {cursor!r}") from exc


