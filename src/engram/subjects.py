"""Who has data in a tenant: its users, agents and sessions, with counts and first and
last activity (record time: when an episode was stored, when a memory last changed).

:func:`subjects` reads every episode and active memory of the tenant once (pages
of 1,000 through the store contract) and groups them; its cost grows with the
tenant's size, so it serves listings (``GET /v1/users``, ``GET /v1/sessions``,
mem0's ``/v1/entities/``), not hot paths. A session is keyed by its id and lists
the ``owners`` (user, agent) it appears under, so it can be forgotten owner by owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .models import Episode, Memory, Scope, SearchFilters
from .store.base import Store
from .timeutil import format_dt

__all__ = ["Subject", "SubjectType", "iter_items", "subjects"]

SubjectType = Literal["user", "agent", "session"]
_PAGE = 1000


@dataclass
class Subject:
    """One user, agent or session of a tenant."""

    type: SubjectType
    id: str
    memories: int = 0
    episodes: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    #: (user_id, agent_id) pairs the subject's items carry (for sessions)
    owners: set[tuple[str | None, str | None]] = field(default_factory=set)

    def seen(self, at: datetime, owner: tuple[str | None, str | None]) -> None:
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        self.last_at = at if self.last_at is None else max(self.last_at, at)
        self.owners.add(owner)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "memories": self.memories,
                "episodes": self.episodes, "first_activity_at": format_dt(self.first_at),
                "last_activity_at": format_dt(self.last_at)}


def iter_items(store: Store, scope: Scope, kind: Literal["memory", "episode"]
               ) -> Iterator[Memory | Episode]:
    """Every active memory (newest first) or episode (oldest first) visible in ``scope``."""
    cursor: str | None = None
    while True:
        if kind == "memory":
            page = store.list_memories(scope, SearchFilters(), _PAGE, cursor)
        else:
            page = store.list_episodes(scope, SearchFilters(), _PAGE, cursor)
        yield from page.items
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def subjects(store: Store, tenant: str) -> list[Subject]:
    """Users, agents and sessions of ``tenant``, most recently active first."""
    found: dict[tuple[str, str], Subject] = {}
    for kind in ("memory", "episode"):
        for item in iter_items(store, Scope(tenant=tenant), kind):
            sc = item.scope
            at = item.updated_at if isinstance(item, Memory) else item.created_at
            for typ, value in (("user", sc.user_id), ("agent", sc.agent_id),
                               ("session", sc.session_id)):
                if value is None:
                    continue
                s = found.setdefault((typ, value), Subject(typ, value))  # type: ignore[arg-type]
                if kind == "memory":
                    s.memories += 1
                else:
                    s.episodes += 1
                s.seen(at, (sc.user_id, sc.agent_id))
    return sorted(found.values(), key=_recency, reverse=True)


def _recency(s: Subject) -> tuple[str, str, str]:
    return (format_dt(s.last_at) or "", s.type, s.id)
