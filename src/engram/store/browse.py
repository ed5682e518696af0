"""What a browser of the store lists: users, sessions, one timeline, failed jobs.

The types here are part of the :class:`~engram.store.base.Store` contract
(:meth:`~engram.store.base.Store.users`, :meth:`~engram.store.base.Store.sessions`,
:meth:`~engram.store.base.Store.timeline`, :meth:`~engram.store.base.Store.failed_jobs`).
The functions are the generic implementations a backend inherits: correct for any
store, reading every record of the scope (``O(items)`` per call). SQLite and
PostgreSQL override them with indexed SQL (keyset paging, one page per query).

The timeline is newest first on the *event-time* axis: an episode at its
``occurred_at``, a memory at its ``valid_from`` (else its ``created_at``, the moment it
was recorded), the same event time :class:`~engram.models.SearchFilters` filters on.
Ties: memories before episodes, then the later-stored row first. A cursor is opaque.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..models import Episode, Memory, Page, Scope
from ..timeutil import parse_dt, to_epoch

if TYPE_CHECKING:
    from .base import Store

__all__ = [
    "STATUSES",
    "ScopeSummary",
    "TimelineFilters",
    "event_ts",
    "flagged",
    "generic_sessions",
    "generic_timeline",
    "generic_users",
    "merged_page",
    "parse_timeline_cursor",
]

#: the ``status`` values a timeline filters on; ``flagged`` means a poisoning flag
#: on the item (episode or memory), the others are memory statuses
STATUSES = ("active", "superseded", "deleted", "flagged")


@dataclass(frozen=True)
class ScopeSummary:
    """One user of a tenant (``session_id`` None) or one session of a user.

    ``memories`` counts active memories; ``last_activity`` is the latest record time
    of its episodes, memories and memory versions (None when it holds nothing).
    A session summary with ``session_id`` None stands for the items without a session.
    """

    user_id: str | None
    session_id: str | None
    episodes: int
    memories: int
    last_activity: datetime | None


@dataclass(frozen=True)
class TimelineFilters:
    """Which items a timeline shows. Every field narrows it (None: no filter).

    * ``types``: ``{"episode", "memory"}`` or one of them.
    * ``kinds``: memory kinds; episodes have none, so they are left out when given.
    * ``speaker``: episodes whose speaker (else role) is this; memories are left out.
    * ``status``: one of :data:`STATUSES`. ``active``/``superseded``/``deleted`` keep
      memories with that status (episodes left out); ``flagged`` keeps episodes and
      memories carrying a poisoning flag, whatever their status.
    """

    types: frozenset[str] = frozenset({"episode", "memory"})
    kinds: frozenset[str] | None = None
    speaker: str | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        if not self.types or not self.types <= {"episode", "memory"}:
            raise InvalidInput("types must be 'episode', 'memory' or both")
        if self.status is not None and self.status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")

    def episodes(self) -> bool:
        """Whether any episode can pass these filters."""
        return ("episode" in self.types and self.kinds is None
                and self.status in (None, "flagged"))

    def memories(self) -> bool:
        """Whether any memory can pass these filters."""
        return "memory" in self.types and self.speaker is None


def flagged(metadata: dict[str, Any]) -> bool:
    """Whether the reserved namespace records a poisoning flag."""
    ns = metadata.get("engram")
    return isinstance(ns, dict) and bool(ns.get("flags"))


def event_ts(item: Episode | Memory) -> float:
    """The item's place on the event-time axis (epoch seconds)."""
    if isinstance(item, Episode):
        return to_epoch(item.occurred_at)
    return to_epoch(item.valid_from or item.created_at)


def parse_timeline_cursor(cursor: str) -> tuple[float, int, int]:
    """``(event_ts, type rank, row)``: rank 0 episode, 1 memory; InvalidInput when bad."""
    try:
        ts, rank, rid = cursor.split("|")
        out = (float(ts), int(rank), int(rid))
    except ValueError:
        raise InvalidInput(f"invalid cursor {cursor!r}") from None
    if out[1] not in (0, 1):
        raise InvalidInput(f"invalid cursor {cursor!r}")
    return out


def _passes(item: Episode | Memory, f: TimelineFilters) -> bool:
    if isinstance(item, Episode):
        if not f.episodes():
            return False
        if f.speaker is not None and (item.speaker or item.role) != f.speaker:
            return False
        return f.status != "flagged" or flagged(item.metadata)
    if not f.memories():
        return False
    if f.kinds is not None and str(item.kind) not in f.kinds:
        return False
    if f.status == "flagged":
        return flagged(item.metadata)
    return f.status is None or str(item.status) == f.status


def _items(store: Store, scope: Scope) -> Iterator[Episode | Memory]:
    for rec in store.iter_records(scope):
        kind = rec.get("type")
        if kind == "episode":
            yield Episode.from_dict(rec)
        elif kind == "memory":
            yield Memory.from_dict(rec)


def generic_timeline(store: Store, scope: Scope, filters: TimelineFilters, limit: int,
                     cursor: str | None) -> Page:
    """:meth:`Store.timeline` by reading every record of ``scope``. The row number in
    the cursor is the item's position in export order (stable while nothing changes)."""
    keyed = []
    for pos, item in enumerate(_items(store, scope)):
        if _passes(item, filters):
            keyed.append(((event_ts(item), 0 if isinstance(item, Episode) else 1, pos), item))
    if cursor is not None:
        after = parse_timeline_cursor(cursor)
        keyed = [kv for kv in keyed if kv[0] < after]
    return merged_page(keyed, limit, repr)


def merged_page(rows: list[tuple[tuple[Any, int, int], Episode | Memory]], limit: int,
                time_text: Callable[[Any], str]) -> Page:
    """The first ``limit`` of ``rows`` keyed ``(event time, type rank, row)``, newest
    first, and the cursor after them (``time_text`` writes the time into it)."""
    rows.sort(key=lambda kv: kv[0], reverse=True)
    page = rows[:limit]
    nxt = None
    if len(rows) > limit:
        ts, rank, row = page[-1][0]
        nxt = f"{time_text(ts)}|{rank}|{row}"
    return Page(items=[item for _, item in page], next_cursor=nxt)


def _summaries(store: Store, scope: Scope, key: str) -> dict[str | None, list[Any]]:
    acc: dict[str | None, list[Any]] = {}
    for rec in store.iter_records(scope):
        if rec.get("type") == "version":
            who = rec.get("after") or rec.get("before") or {}
            at = rec.get("recorded_at")
        else:
            who, at = rec, rec.get("created_at")
        if key == "user_id" and who.get("user_id") is None:
            continue
        row = acc.setdefault(who.get(key), [0, 0, None])
        if rec.get("type") == "episode":
            row[0] += 1
        elif rec.get("type") == "memory" and rec.get("status") == "active":
            row[1] += 1
        stamp = parse_dt(at) if isinstance(at, str) else None
        if stamp is not None and (row[2] is None or stamp > row[2]):
            row[2] = stamp
    return acc


def _ordered(rows: list[ScopeSummary]) -> list[ScopeSummary]:
    return sorted(rows, key=lambda s: (s.last_activity is not None,
                                       to_epoch(s.last_activity) if s.last_activity else 0.0),
                  reverse=True)


def generic_users(store: Store, tenant: str, limit: int) -> list[ScopeSummary]:
    """:meth:`Store.users` by reading every record of the tenant."""
    acc = _summaries(store, Scope(tenant=tenant), "user_id")
    return _ordered([ScopeSummary(u, None, e, m, at) for u, (e, m, at) in acc.items()])[:limit]


def generic_sessions(store: Store, scope: Scope, limit: int) -> list[ScopeSummary]:
    """:meth:`Store.sessions` by reading every record of ``scope``."""
    acc = _summaries(store, scope, "session_id")
    return _ordered([ScopeSummary(scope.user_id, s, e, m, at)
                     for s, (e, m, at) in acc.items()])[:limit]
