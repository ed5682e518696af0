"""Rows of the in-memory store (:mod:`engram.store.memory`) and the filters over them.

An item is kept as the ``to_dict()`` of what was written (JSON types only, never
mutated: a change replaces the row), so every read builds fresh objects the
caller may change freely, as a database read would. Times used for ordering and
filtering are epoch seconds (:func:`engram.timeutil.to_epoch`), like the SQLite
store's ``*_ts`` columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..models import Episode, ItemRef, Memory, MemoryVersion, Scope, SearchFilters
from ..timeutil import to_epoch

__all__ = ["ItemRow", "JobRow", "VersionRow", "item_row", "passes", "visible"]


def _frozen_json(value: Any) -> Any:
    """A deep copy through JSON: what a database would hand back."""
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class ItemRow:
    """One episode or memory; ``rid`` orders insertion across the store."""

    rid: int
    ref: ItemRef
    scope: Scope
    data: dict[str, Any]
    body: str  #: lexical index text
    event_ts: float
    created_ts: float
    expired_ts: float | None = None
    derived: bool = False  #: episodes: memories were derived from it (see Fence)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", "episode"))

    @property
    def status(self) -> str:
        return str(self.data.get("status", "active"))

    def item(self) -> Episode | Memory:
        if self.ref.type == "episode":
            return Episode.from_dict(_frozen_json(self.data))
        return Memory.from_dict(_frozen_json(self.data))


def item_row(rid: int, item: Episode | Memory, body: str) -> ItemRow:
    """The row of a freshly written ``item`` (a copy: later changes to it are not seen)."""
    data = _frozen_json(item.to_dict())
    if isinstance(item, Episode):
        return ItemRow(rid, ItemRef("episode", item.id), item.scope, data, body,
                       to_epoch(item.occurred_at), to_epoch(item.created_at))
    return ItemRow(rid, ItemRef("memory", item.id), item.scope, data, body,
                   to_epoch(item.valid_from or item.created_at), to_epoch(item.created_at),
                   to_epoch(item.expired_at))


@dataclass(frozen=True)
class VersionRow:
    rid: int
    tenant: str
    scope: Scope  #: the user/agent/session of the memory's state, for scoping
    data: dict[str, Any]
    recorded_ts: float

    def version(self) -> MemoryVersion:
        return MemoryVersion.from_dict(_frozen_json(self.data))

    @staticmethod
    def of(rid: int, tenant: str, v: MemoryVersion) -> VersionRow:
        state = v.after or v.before or {}
        scope = Scope(user_id=state.get("user_id"), agent_id=state.get("agent_id"),
                      session_id=state.get("session_id"), tenant=tenant)
        return VersionRow(rid, tenant, scope, _frozen_json(v.to_dict()), to_epoch(v.recorded_at))


@dataclass(frozen=True)
class JobRow:
    rid: int
    id: str
    kind: str
    scope: Scope
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    created_at: str | None
    run_after_ts: float
    lease_until_ts: float | None = None
    finished_at: str | None = None
    result: dict[str, Any] | None = None


def visible(row_scope: Scope, scope: Scope) -> bool:
    """Whether a row of ``row_scope`` is visible in ``scope`` (tenant, and each id it names)."""
    return row_scope.tenant == scope.tenant and all(
        getattr(scope, f) is None or getattr(row_scope, f) == getattr(scope, f)
        for f in ("user_id", "agent_id", "session_id")
    )


def _json_eq(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def passes(row: ItemRow, filters: SearchFilters) -> bool:
    """``filters`` on one row, with the SQL stores' semantics (see
    :class:`~engram.models.SearchFilters`); a metadata value ``None`` matches a
    missing key too."""
    if not filters.wants(row.ref.type):
        return False
    if filters.start is not None and row.event_ts < to_epoch(filters.start):
        return False
    if filters.end is not None and row.event_ts >= to_epoch(filters.end):
        return False
    meta = row.data.get("metadata") or {}
    for key, value in filters.metadata:
        if not _json_eq(meta.get(key), value):
            return False
    if row.ref.type == "memory":
        kinds = filters.memory_kinds()
        if kinds is not None and row.kind not in kinds:
            return False
        if filters.as_of is not None:
            t = to_epoch(filters.as_of)
            return row.created_ts <= t and (row.expired_ts is None or row.expired_ts > t)
        return filters.include_inactive or row.status == "active"
    return filters.as_of is None or row.created_ts <= to_epoch(filters.as_of)
