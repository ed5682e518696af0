"""Decoded rows of a search's head held in the PostgreSQL store's process.

The same cache as SQLite's (:class:`~engram.store.sqlite_rowcache.RowCache`:
rows by store key, bounded, least recently used first, plain tuples handed out
as fresh items, a :class:`~engram.text.TextMemo` that a forget or delete
empties), kept current by the user's change feed
(:mod:`~engram.store.postgres_index`) instead of SQLite's change log:

- a search that ranks a user in process reads the user's feed in its one
  statement; every item it names (changed in any column a decoded row holds:
  the index's columns since ``0008_change_feed``, the others as ``row_only``
  rows since ``0010_row_feed``) is dropped before it ranks, and every held row
  of the user when the user is (re)loaded from the tables
  (:meth:`PgRows.changed`), so held rows of a user are current as of that
  statement's snapshot;
- :meth:`PostgresStore.get_items` serves held rows only right after such a
  search on the same thread, for the same user (:meth:`PgRows.take_hint`,
  once, within :data:`HINT_SECONDS`; any other search or write drops the
  hint): the head's rows as of the snapshot the search ranked in, as if they
  had travelled with its candidates. Other reads, and every other
  ``get_items``, go to the tables as before;
- a row read while another thread dropped rows is handed out but not held
  (:attr:`RowCache.epoch <engram.store.sqlite_rowcache.RowCache.epoch>`);
- a forget or delete empties it: in this process at once
  (``PgBase._users_gone`` and :func:`~engram.text.clear_text_caches`), in
  another at its next search of the tenant (the deletion markers of
  ``0009_gone_marker`` empty the text memos, this cache with them).

Thread-safe.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..models import Episode, Memory, Scope
from .sqlite_rowcache import Read, RowCache

__all__ = ["HINT_SECONDS", "PgRows", "held_metadata"]

#: a search's hint serves the ``get_items`` that follows it within this long
HINT_SECONDS = 5.0


class _LockedRowCache(RowCache):
    """A :class:`RowCache` whose :meth:`clear` takes the cache's lock: it is also
    called from other threads, by :func:`~engram.text.clear_text_caches`."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.RLock()

    def clear(self) -> None:
        with self.lock:
            super().clear()


class PgRows:
    """A :class:`RowCache` with its lock and the per-thread search hint."""

    def __init__(self) -> None:
        self.cache = _LockedRowCache()
        self._lock = self.cache.lock
        self._hint = threading.local()

    def changed(self, tenant: str, user: str, keys: list[int] | None) -> None:
        """Drop the held rows of ``keys`` (changed), or of every item of the
        user when ``keys`` is ``None`` (reloaded: its feed was not followed)."""
        with self._lock:
            if keys is None:
                self.cache.epoch += 1  # a read of this user's rows now in flight is stale
                keys = [k for k, h in self.cache.items() if h[1][0] == tenant
                        and h[1][1] == user]
            self.cache.drop(keys)

    def set_hint(self, scope: Scope) -> None:
        """Note on this thread that ``scope``'s user's held rows were just made current."""
        self._hint.value = ((scope.tenant, scope.user_id), time.monotonic() + HINT_SECONDS)

    def drop_hint(self) -> None:
        """Forget this thread's hint (another search or a write came first)."""
        self._hint.value = None

    def take_hint(self, scope: Scope) -> bool:
        """Whether :meth:`set_hint` left a hint for ``scope``'s user on this
        thread within :data:`HINT_SECONDS` (used once)."""
        hint = getattr(self._hint, "value", None)
        self._hint.value = None
        return (hint is not None and hint[0] == (scope.tenant, scope.user_id)
                and hint[1] >= time.monotonic())

    def get_items(
        self, scope: Scope, episode_ids: Sequence[str], memory_ids: Sequence[str],
        read: Callable[[list[str], list[str]], tuple[Read, Read]],
    ) -> tuple[list[Episode], list[Memory]]:
        """Held rows copied, the others read by ``read(missing episode ids,
        missing memory ids)`` in one round trip and held (see the module)."""
        with self._lock:
            eps, epoch = self.cache.lookup(0, scope.tenant, episode_ids)
            mems, _ = self.cache.lookup(1, scope.tenant, memory_ids)
        missing = ([i for i in dict.fromkeys(episode_ids) if i not in eps],
                   [i for i in dict.fromkeys(memory_ids) if i not in mems])
        found: tuple[Read, Read] = read(*missing) if missing[0] or missing[1] else ({}, {})
        with self._lock:
            if self.cache.epoch != epoch:
                epoch = -1  # rows were dropped meanwhile: hold neither read
            else:
                epoch = self.cache.epoch
            episodes = self.cache.finish(0, scope, episode_ids, eps, found[0], epoch)
            if epoch >= 0:
                epoch = self.cache.epoch  # holding may trim the least recently used
            return episodes, self.cache.finish(1, scope, memory_ids, mems, found[1], epoch)

    def clear(self) -> None:
        with self._lock:
            self.cache.clear()


def held_metadata(metadata: Any) -> str:
    """A decoded row's metadata as the JSON text :class:`RowCache` holds."""
    return json.dumps(metadata or {}, ensure_ascii=False, separators=(",", ":"))
