"""The data Engram keeps and returns: plain dataclasses, no I/O.

Two layers, linked by provenance:

* :class:`Episode` — what was said or observed, verbatim, never rewritten.
* :class:`Memory` — a unit of knowledge derived from episodes (or written
  directly), versioned: every change appends a :class:`MemoryVersion`.

Times are always timezone-aware UTC ``datetime`` objects. *Event time*
(``occurred_at``, ``valid_from``/``valid_to``) says when something happened or
was true in the world; *record time* (``created_at``, ``updated_at``,
``expired_at``) says when Engram learned or retired it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, NamedTuple

from .timeutil import format_dt, now, parse_dt

__all__ = [
    "AddResult",
    "ContextBlock",
    "ContextItem",
    "Episode",
    "EpisodeResult",
    "ForgetReport",
    "Hit",
    "ItemRef",
    "Memory",
    "MemoryKind",
    "MemoryOp",
    "MemoryStatus",
    "MemoryVersion",
    "Message",
    "Operation",
    "Page",
    "Scope",
    "SearchFilters",
    "Stats",
]

ItemType = Literal["episode", "memory"]


class MemoryKind(StrEnum):
    FACT = "fact"
    PREFERENCE = "preference"
    EVENT = "event"
    PLAN = "plan"
    PROCEDURE = "procedure"
    SUMMARY = "summary"
    NOTE = "note"


class MemoryStatus(StrEnum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    DELETED = "deleted"


class Operation(StrEnum):
    ADD = "ADD"
    UPDATE = "UPDATE"
    SUPERSEDE = "SUPERSEDE"
    DELETE = "DELETE"
    NOOP = "NOOP"


@dataclass(frozen=True)
class Scope:
    """Who the data belongs to. Every call names at least ``user_id`` or ``agent_id``.

    A query scope matches an item when every field the query names is equal on
    the item: ``Scope(user_id="u")`` sees all of u's items whatever their agent
    or session; ``Scope(user_id="u", session_id="s")`` only session s. ``tenant``
    is set by the server from the API key and is always matched.
    """

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    tenant: str = "default"

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "session_id": self.session_id,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scope:
        return cls(
            user_id=d.get("user_id"),
            agent_id=d.get("agent_id"),
            session_id=d.get("session_id"),
            tenant=d.get("tenant") or "default",
        )

    def with_session(self, session_id: str | None) -> Scope:
        return dataclasses.replace(self, session_id=session_id)


@dataclass(frozen=True)
class Message:
    """One input message for :meth:`Engram.add`.

    ``id`` is an optional client-supplied id (or idempotency key): re-sending a
    message with an id already stored in the tenant stores nothing new.
    """

    text: str
    role: str = "user"
    speaker: str | None = None
    occurred_at: datetime | None = None
    id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _when(d: dict[str, Any], key: str) -> datetime:
    """A record's required timestamp ``d[key]``; ``null`` or ``""`` is refused
    (:func:`~engram.timeutil.parse_dt` reads them as none)."""
    value: datetime | None = parse_dt(d[key])
    if value is None:
        raise ValueError(f"field {key!r} must be a timestamp, not null")
    return value


@dataclass
class Episode:
    id: str
    scope: Scope
    role: str
    text: str
    occurred_at: datetime
    created_at: datetime
    speaker: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def session_id(self) -> str | None:
        return self.scope.session_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.scope.to_dict(),
            "role": self.role,
            "speaker": self.speaker,
            "text": self.text,
            "occurred_at": format_dt(self.occurred_at),
            "created_at": format_dt(self.created_at),
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Episode:
        return cls(
            id=d["id"],
            scope=Scope.from_dict(d),
            role=d.get("role") or "user",
            speaker=d.get("speaker"),
            text=d["text"],
            occurred_at=_when(d, "occurred_at"),
            created_at=_when(d, "created_at"),
            metadata=dict(d.get("metadata") or {}),
        )


@dataclass
class Memory:
    id: str
    scope: Scope
    kind: MemoryKind
    text: str
    created_at: datetime
    updated_at: datetime
    entities: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    expired_at: datetime | None = None
    importance: float = 0.5
    access_count: int = 0
    last_accessed_at: datetime | None = None
    source_episode_ids: list[str] = field(default_factory=list)
    version: int = 1
    status: MemoryStatus = MemoryStatus.ACTIVE
    #: key of a single-valued attribute ("lives_in", "works_at"...): a new
    #: value for the same subject supersedes the old one.
    attribute: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.scope.to_dict(),
            "kind": str(self.kind),
            "text": self.text,
            "entities": list(self.entities),
            "keywords": list(self.keywords),
            "valid_from": format_dt(self.valid_from),
            "valid_to": format_dt(self.valid_to),
            "created_at": format_dt(self.created_at),
            "updated_at": format_dt(self.updated_at),
            "expired_at": format_dt(self.expired_at),
            "importance": self.importance,
            "access_count": self.access_count,
            "last_accessed_at": format_dt(self.last_accessed_at),
            "source_episode_ids": list(self.source_episode_ids),
            "version": self.version,
            "status": str(self.status),
            "attribute": self.attribute,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Memory:
        return cls(
            id=d["id"],
            scope=Scope.from_dict(d),
            kind=MemoryKind(d.get("kind") or "note"),
            text=d["text"],
            entities=list(d.get("entities") or []),
            keywords=list(d.get("keywords") or []),
            valid_from=parse_dt(d.get("valid_from")),
            valid_to=parse_dt(d.get("valid_to")),
            created_at=_when(d, "created_at"),
            updated_at=parse_dt(d.get("updated_at") or d["created_at"]),
            expired_at=parse_dt(d.get("expired_at")),
            importance=float(d.get("importance", 0.5)),
            access_count=int(d.get("access_count", 0)),
            last_accessed_at=parse_dt(d.get("last_accessed_at")),
            source_episode_ids=list(d.get("source_episode_ids") or []),
            version=int(d.get("version", 1)),
            status=MemoryStatus(d.get("status") or "active"),
            attribute=d.get("attribute"),
            metadata=dict(d.get("metadata") or {}),
        )


@dataclass(frozen=True)
class MemoryVersion:
    """One immutable history entry: the memory before and after an operation."""

    memory_id: str
    version: int
    operation: Operation
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    recorded_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "memory_id": self.memory_id,
            "version": self.version,
            "operation": str(self.operation),
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "recorded_at": format_dt(self.recorded_at),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MemoryVersion:
        return cls(
            memory_id=d["memory_id"],
            version=int(d["version"]),
            operation=Operation(d["operation"]),
            before=d.get("before"),
            after=d.get("after"),
            reason=d.get("reason") or "",
            recorded_at=_when(d, "recorded_at"),
        )


class ItemRef(NamedTuple):
    """``(type, id)`` of an episode or memory. A tuple: hashing it is cheap, and
    search builds many dicts keyed by refs."""

    type: ItemType
    id: str


@dataclass(frozen=True)
class SearchFilters:
    """Filters applied *inside* the search (never truncate-then-filter).

    ``kinds``: memory kinds to include; the pseudo-kind ``"episode"`` selects
    episodes. ``None`` means everything. ``start``/``end`` bound event time
    (episode ``occurred_at``; memory ``valid_from``, else ``created_at``),
    inclusive start, exclusive end. ``metadata``: equality on top-level keys.
    ``as_of``: the record-time state at that instant. ``include_inactive``:
    also superseded/deleted memories (history views).
    """

    kinds: frozenset[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    metadata: tuple[tuple[str, Any], ...] = ()
    as_of: datetime | None = None
    include_inactive: bool = False

    def wants(self, item_type: ItemType) -> bool:
        if self.kinds is None:
            return True
        if item_type == "episode":
            return "episode" in self.kinds
        return any(k != "episode" for k in self.kinds)

    def memory_kinds(self) -> list[str] | None:
        if self.kinds is None:
            return None
        return sorted(k for k in self.kinds if k != "episode")


@dataclass
class Hit:
    """One ranked search result. ``scores`` breaks the final ``score`` down per signal."""

    ref: ItemRef
    item: Episode | Memory
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    sources: list[Episode] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.item.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.ref.type,
            "id": self.ref.id,
            "score": self.score,
            "scores": self.scores,
            "item": self.item.to_dict(),
            "sources": [s.to_dict() for s in self.sources],
        }


@dataclass(frozen=True)
class EpisodeResult:
    id: str
    created: bool


@dataclass(frozen=True)
class MemoryOp:
    op: Operation
    memory_id: str | None
    text: str
    reason: str = ""
    previous_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": str(self.op),
            "memory_id": self.memory_id,
            "text": self.text,
            "reason": self.reason,
            "previous_id": self.previous_id,
        }


@dataclass
class AddResult:
    episodes: list[EpisodeResult] = field(default_factory=list)
    operations: list[MemoryOp] = field(default_factory=list)
    #: id of the background job deriving memories, when the pipeline is asynchronous
    job_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "episodes": [{"id": e.id, "created": e.created} for e in self.episodes],
            "operations": [o.to_dict() for o in self.operations],
            "job_id": self.job_id,
        }


@dataclass(frozen=True)
class ContextItem:
    """One item of a :class:`ContextBlock`: its line in the block starts with ``[label]``."""

    ref: ItemRef
    date: datetime | None
    text: str
    tokens: int
    score: float
    label: int = 0


@dataclass
class ContextBlock:
    """A prompt-ready block: ``text`` fits ``max_tokens`` and ``tokens`` is its size."""

    text: str
    tokens: int
    max_tokens: int
    items: list[ContextItem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "tokens": self.tokens,
            "max_tokens": self.max_tokens,
            "items": [
                {
                    "type": i.ref.type,
                    "id": i.ref.id,
                    "date": format_dt(i.date),
                    "text": i.text,
                    "tokens": i.tokens,
                    "score": i.score,
                    "label": i.label,
                }
                for i in self.items
            ],
        }


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None = None


@dataclass
class ForgetAudit:
    """The audit record of one ``forget``. No ids or text in the clear.

    ``scope_hash`` is ``sha256(salt || canonical scope JSON)``; ``counts`` are
    rows removed per table/index; ``remaining`` rows still found per
    table/index (all zero when verified); ``caches`` entries dropped per cache;
    ``raw_scan`` is ``True`` (file bytes clean), ``False`` (a leftover was
    found) or ``None`` (not scanned: see ``checks["raw_file"]``).

    ``backend`` is the store's :attr:`~engram.store.base.Store.backend`
    (``"sqlite"``, ``"postgresql"``, ``"memory"``). ``checks``
    maps each check run to ``"passed"``, ``"failed"`` or ``"skipped"``:
    ``rows`` (``remaining`` all zero), ``search`` (search and list empty),
    ``llm_cache`` (purged; ``skipped`` for ``"keep"`` or no cache), then the
    backend's (:mod:`engram.store.residue`): ``wal_checkpoint``, ``vacuum``,
    ``vacuum_full``, ``raw_file``. ``exposure`` lists where copies may remain
    that were not verified (codes of :data:`engram.store.residue.EXPOSURE`).
    ``verified`` is ``True`` when no check failed.
    """

    scope_hash: str
    counts: dict[str, int]
    remaining: dict[str, int]
    caches: dict[str, int]
    search_hits: int
    raw_scan: bool | None
    raw_leftovers: int
    verified: bool
    at: datetime = field(default_factory=now)
    backend: str = "other"
    checks: dict[str, str] = field(default_factory=dict)
    exposure: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope_hash": self.scope_hash,
            "counts": dict(self.counts),
            "remaining": dict(self.remaining),
            "caches": dict(self.caches),
            "search_hits": self.search_hits,
            "raw_scan": self.raw_scan,
            "raw_leftovers": self.raw_leftovers,
            "verified": self.verified,
            "backend": self.backend,
            "checks": dict(self.checks),
            "exposure": list(self.exposure),
            "at": format_dt(self.at),
        }


@dataclass
class ForgetReport:
    """What a hard delete removed, per table/index. Holds no personal content."""

    scope: dict[str, Any]
    counts: dict[str, int]
    verified: bool
    at: datetime
    #: the persistable record (salted scope hash, counts, checks); see :class:`ForgetAudit`
    audit: ForgetAudit | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "scope": self.scope,
            "counts": self.counts,
            "verified": self.verified,
            "at": format_dt(self.at),
        }
        if self.audit is not None:
            out["audit"] = self.audit.to_dict()
        return out


@dataclass
class Stats:
    episodes: int
    memories: int
    memories_by_status: dict[str, int]
    memories_by_kind: dict[str, int]
    versions: int
    vectors: int
    embedding_model: str | None
    schema_version: str | None
    db_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
