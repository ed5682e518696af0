"""Decoded episode and memory rows a SQLite store read lately, kept current by its change log.

A search reads its whole reranked head (about 70 rows) by id, and related
searches read many of the same rows again: reading and decoding them cost a
tenth of a search at 100k memories. :class:`RowCache` keeps the decoded rows
a store read, by the store key of the change log (``rid * 2`` an episode,
``rid * 2 + 1`` a memory), and:

- is filled lazily, by reads (never the whole store at start), and bounded:
  the least recently used rows leave past :attr:`RowCache.limit`;
- holds each row in a private, immutable form of plain values (which the
  garbage collector stops walking: a full collection does not grow with it)
  and hands out a fresh :class:`~engram.models.Episode` or
  :class:`~engram.models.Memory` on every read (equal to what decoding the row
  gives): a caller that changes what it got changes nothing held;
- is only as current as the change log the store last read: the store drops
  every item the log names (a change in any column a decoded row holds is
  logged since migration ``0006``, :mod:`~engram.store.sqlite_changes`) and
  empties it when the log no longer reaches back, before serving a read;
- holds user text, so it is a :class:`~engram.text.TextMemo`: a forget or a
  delete (:func:`~engram.text.clear_text_caches`, also run when the change log
  shows rows another process deleted) empties it.

The store serialises access (not thread-safe by itself): SQLite under its
store lock; PostgreSQL (:mod:`~engram.store.postgres_rows`) under a lock of its
own around :meth:`RowCache.lookup` and :meth:`RowCache.finish` but not the read
between them, so :meth:`~RowCache.finish` holds nothing read while rows were
dropped (:attr:`RowCache.epoch` moved).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from ..models import Episode, Memory, MemoryKind, MemoryStatus, Scope
from ..text import TextMemo

__all__ = ["Held", "Read", "RowCache", "ScopeKey"]


#: a held scope: ``(tenant, user_id, agent_id, session_id)``
ScopeKey = tuple[str, str | None, str | None, str | None]


#: a held row: a plain tuple (a tuple subclass would stay tracked by the garbage
#: collector), the item's id then its :data:`ScopeKey` first. An episode's is
#: ``(id, scope, role, speaker, text, occurred_at, created_at, metadata)``; a
#: memory's holds its fields in :class:`~engram.models.Memory`'s order with lists
#: as tuples and kind and status as their texts. ``metadata``: the stored JSON text.
Held = tuple[Any, ...]
_EPISODE_LEN = 8

#: rows read for :meth:`RowCache.read_items`: id -> (store key, the decoded item, the
#: stored metadata as JSON text)
Read = dict[str, tuple[int, Any, str | None]]

_KINDS = {k.value: k for k in MemoryKind}
_STATUSES = {s.value: s for s in MemoryStatus}


def _key(scope: Scope) -> ScopeKey:
    return (scope.tenant, scope.user_id, scope.agent_id, scope.session_id)


def _metadata(text: str | None) -> dict[str, Any]:
    """A new dict of stored metadata JSON (as the row decoders make it)."""
    if text is None or text in ("{}", "null"):
        return {}
    return dict(json.loads(text) or {})


def _episode_row(e: Episode, metadata: str | None) -> Held:
    return (e.id, _key(e.scope), e.role, e.speaker, e.text, e.occurred_at, e.created_at,
            metadata)


def _memory_row(m: Memory, metadata: str | None) -> Held:
    return (m.id, _key(m.scope), m.kind.value, m.text, m.created_at, m.updated_at,
            tuple(m.entities), tuple(m.keywords), m.valid_from, m.valid_to, m.expired_at,
            m.importance, m.access_count, m.last_accessed_at, tuple(m.source_episode_ids),
            m.version, m.status.value, m.attribute, metadata)


class RowCache(TextMemo[int, Held]):
    """Held rows by store key, least recently used first (see the module)."""

    #: rows held at most (a few MB per thousand rows of chat-sized texts)
    limit = 16_384

    def __init__(self) -> None:
        super().__init__()
        #: (key parity, tenant, id) -> store key of each held row
        self._keys: dict[tuple[int, str, str], int] = {}
        #: the Scope object of each held scope handed out lately
        self._scopes: dict[ScopeKey, Scope] = {}
        #: moves on every drop and clear: a row read before it moved may be stale
        self.epoch = 0

    def clear(self) -> None:
        self.epoch += 1
        super().clear()
        self._keys.clear()
        self._scopes.clear()

    def read_items(self, parity: int, scope: Scope, ids: Sequence[str],
                   read: Callable[[list[str]], Read]) -> list[Any]:
        """The items of ``ids`` visible in ``scope`` (``parity`` 0 episodes, 1
        memories), in the order asked (a repeated id repeats), each a new object:
        held rows copied, the others read by ``read(missing ids)`` (which checks
        the scope) and held. The caller has caught up with the changes before."""
        held, epoch = self.lookup(parity, scope.tenant, ids)
        missing = [i for i in dict.fromkeys(ids) if i not in held]
        return self.finish(parity, scope, ids, held, read(missing) if missing else {}, epoch)

    def lookup(self, parity: int, tenant: str, ids: Sequence[str]) -> tuple[dict[str, Held], int]:
        """:meth:`read_items`' first half: the held rows of ``ids``, and the epoch
        to pass to :meth:`finish` with the rows read of the others."""
        held: dict[str, Held] = {}
        for i in ids:
            h = self.find(parity, tenant, i)
            if h is not None:
                held[i] = h
        return held, self.epoch

    def finish(self, parity: int, scope: Scope, ids: Sequence[str], held: dict[str, Held],
               read: Read, epoch: int) -> list[Any]:
        """:meth:`read_items`' second half: hold the rows ``read`` unless rows were
        dropped since :meth:`lookup` (``epoch`` moved: they may be stale), and
        return the items of ``ids`` visible in ``scope`` in order."""
        keep = self.epoch == epoch
        for i, (key, item, meta) in read.items():
            row = _episode_row(item, meta) if parity == 0 else _memory_row(item, meta)
            held[i] = self._hold(key, row) if keep else row
        read_items = {i: r[1] for i, r in read.items()}
        user, agent, session = scope.user_id, scope.agent_id, scope.session_id
        out = []
        for i in ids:
            item = read_items.pop(i, None)
            if item is not None:
                out.append(item)
                continue
            h = held.get(i)
            if h is None:
                continue
            _, u, a, s = h[1]
            if ((user is None or u == user) and (agent is None or a == agent)
                    and (session is None or s == session)):
                out.append(self.fresh(h))
        return out

    def scope_of(self, key: ScopeKey) -> Scope:
        """The :class:`Scope` of ``key``: one object per scope handed out lately
        (they are immutable)."""
        scope = self._scopes.get(key)
        if scope is None:
            scope = Scope(user_id=key[1], agent_id=key[2], session_id=key[3], tenant=key[0])
            if len(self._scopes) >= self.limit:
                self._scopes.clear()
            self._scopes[key] = scope
        return scope

    def fresh(self, held: Held) -> Episode | Memory:
        """A new item equal to the one ``held`` was made from."""
        scope = self.scope_of(held[1])
        if len(held) == _EPISODE_LEN:
            i, _, role, speaker, text, occurred, created, meta = held
            return Episode(id=i, scope=scope, role=role, speaker=speaker, text=text,
                           occurred_at=occurred, created_at=created, metadata=_metadata(meta))
        (i, _, kind, text, created, updated, entities, keywords, valid_from, valid_to, expired,
         importance, accesses, accessed, sources, version, status, attribute, meta) = held
        return Memory(
            id=i, scope=scope, kind=_KINDS[kind], text=text, created_at=created,
            updated_at=updated, entities=list(entities), keywords=list(keywords),
            valid_from=valid_from, valid_to=valid_to, expired_at=expired,
            importance=importance, access_count=accesses, last_accessed_at=accessed,
            source_episode_ids=list(sources), version=version, status=_STATUSES[status],
            attribute=attribute, metadata=_metadata(meta),
        )

    def find(self, parity: int, tenant: str, item_id: str) -> Held | None:
        """The held row of ``item_id`` (``parity`` 0 an episode, 1 a memory), if any."""
        key = self._keys.get((parity, tenant, item_id))
        if key is None:
            return None
        held = self.pop(key, None)
        if held is None:  # emptied meanwhile
            self._keys.pop((parity, tenant, item_id), None)
            return None
        self[key] = held  # now the most recently used
        return held

    def drop(self, keys: Sequence[int]) -> None:
        """Forget the rows of ``keys`` (changed or deleted)."""
        if keys:
            self.epoch += 1
        for key in keys:
            held = self.pop(key, None)
            if held is not None:
                self._unname(key, held)

    def _unname(self, key: int, held: Held) -> None:
        name = (key & 1, held[1][0], held[0])
        if self._keys.get(name) == key:
            del self._keys[name]

    def _hold(self, key: int, held: Held) -> Held:
        old = self.pop(key, None)
        if old is not None:
            self._unname(key, old)
        self[key] = held
        self._keys[(key & 1, held[1][0], held[0])] = key
        if len(self) > self.limit:  # the least recently used leave
            oldest = iter(self)
            self.drop([next(oldest) for _ in range(len(self) - self.limit)])
        return held
