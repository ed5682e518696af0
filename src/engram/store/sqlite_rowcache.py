"""Decoded episode and memory rows a SQLite store read lately, kept current by its change log.

A search reads its whole reranked head (about 70 rows) by id, and related
searches read many of the same rows again: reading and decoding them cost a
tenth of a search at 100k memories. :class:`RowCache` keeps the decoded rows
a store read, by the store key of the change log (``rid * 2`` an episode,
``rid * 2 + 1`` a memory), and:

- is filled lazily, by reads (never the whole store at start), and bounded:
  the least recently used rows leave past :attr:`RowCache.limit`;
- holds each row in a private, immutable form and hands out a fresh
  :class:`~engram.models.Episode` or :class:`~engram.models.Memory` on every
  read (equal to what decoding the row gives): a caller that changes what it
  got changes nothing held;
- is only as current as the change log the store last read: the store drops
  every item the log names (a change in any column a decoded row holds is
  logged since migration ``0006``, :mod:`~engram.store.sqlite_changes`) and
  empties it when the log no longer reaches back, before serving a read;
- holds user text, so it is a :class:`~engram.text.TextMemo`: a forget or a
  delete (:func:`~engram.text.clear_text_caches`, also run when the change log
  shows rows another process deleted) empties it.

The store serialises access (not thread-safe by itself).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from ..models import Episode, Memory, MemoryKind, MemoryStatus, Scope
from ..text import TextMemo

__all__ = ["Held", "HeldEpisode", "HeldMemory", "RowCache"]


class HeldEpisode(NamedTuple):
    """An episode row, immutable (``metadata``: its stored JSON text)."""

    id: str
    scope: Scope
    role: str
    speaker: str | None
    text: str
    occurred_at: Any
    created_at: Any
    metadata: str | None

    def fresh(self) -> Episode:
        return Episode(id=self.id, scope=self.scope, role=self.role, speaker=self.speaker,
                       text=self.text, occurred_at=self.occurred_at,
                       created_at=self.created_at, metadata=_metadata(self.metadata))


class HeldMemory(NamedTuple):
    """A memory row, immutable (lists as tuples, ``metadata``: its stored JSON text)."""

    id: str
    scope: Scope
    kind: MemoryKind
    text: str
    created_at: Any
    updated_at: Any
    entities: tuple[str, ...]
    keywords: tuple[str, ...]
    valid_from: Any
    valid_to: Any
    expired_at: Any
    importance: float
    access_count: int
    last_accessed_at: Any
    source_episode_ids: tuple[str, ...]
    version: int
    status: MemoryStatus
    attribute: str | None
    metadata: str | None

    def fresh(self) -> Memory:
        return Memory(
            id=self.id, scope=self.scope, kind=self.kind, text=self.text,
            created_at=self.created_at, updated_at=self.updated_at,
            entities=list(self.entities), keywords=list(self.keywords),
            valid_from=self.valid_from, valid_to=self.valid_to, expired_at=self.expired_at,
            importance=self.importance, access_count=self.access_count,
            last_accessed_at=self.last_accessed_at,
            source_episode_ids=list(self.source_episode_ids), version=self.version,
            status=self.status, attribute=self.attribute, metadata=_metadata(self.metadata),
        )


Held = HeldEpisode | HeldMemory


def _metadata(text: str | None) -> dict[str, Any]:
    """A new dict of stored metadata JSON (as the row decoders make it)."""
    if text is None or text in ("{}", "null"):
        return {}
    return dict(json.loads(text) or {})


class RowCache(TextMemo[int, Held]):
    """Held rows by store key, least recently used first (see the module)."""

    #: rows held at most (a few MB per thousand rows of chat-sized texts)
    limit = 16_384

    def __init__(self) -> None:
        super().__init__()
        #: (key parity, tenant, id) -> store key of each held row
        self._keys: dict[tuple[int, str, str], int] = {}

    def clear(self) -> None:
        super().clear()
        self._keys.clear()

    def find(self, parity: int, tenant: str, item_id: str) -> Held | None:
        """The held row of ``item_id`` (``parity`` 0 an episode, 1 a memory), if any."""
        key = self._keys.get((parity, tenant, item_id))
        if key is None:
            return None
        held = self.pop(key, None)
        if held is None:  # emptied meanwhile
            del self._keys[(parity, tenant, item_id)]
            return None
        self[key] = held  # now the most recently used
        return held

    def hold_episode(self, key: int, e: Episode, metadata: str | None) -> Held:
        """Hold ``e`` (decoded from its row, whose metadata text is ``metadata``)."""
        return self._hold(key, HeldEpisode(e.id, e.scope, e.role, e.speaker, e.text,
                                    e.occurred_at, e.created_at, metadata))

    def hold_memory(self, key: int, m: Memory, metadata: str | None) -> Held:
        """Hold ``m`` (decoded from its row, whose metadata text is ``metadata``)."""
        return self._hold(key, HeldMemory(
            m.id, m.scope, m.kind, m.text, m.created_at, m.updated_at,
            tuple(m.entities), tuple(m.keywords), m.valid_from, m.valid_to, m.expired_at,
            m.importance, m.access_count, m.last_accessed_at, tuple(m.source_episode_ids),
            m.version, m.status, m.attribute, metadata))

    def drop(self, keys: list[int]) -> None:
        """Forget the rows of ``keys`` (changed or deleted)."""
        for key in keys:
            held = self.pop(key, None)
            if held is not None:
                self._unname(key, held)

    def _unname(self, key: int, held: Held) -> None:
        name = (key & 1, held[1].tenant, held[0])
        if self._keys.get(name) == key:
            del self._keys[name]

    def _hold(self, key: int, held: Held) -> Held:
        old = self.pop(key, None)
        if old is not None:
            self._unname(key, old)
        self[key] = held
        self._keys[(key & 1, held[1].tenant, held[0])] = key
        if len(self) > self.limit:  # the least recently used leave
            oldest = iter(self)
            self.drop([next(oldest) for _ in range(len(self) - self.limit)])
        return held
