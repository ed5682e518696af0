"""Session order of one user's episodes, in memory: neighbours without an SQL round trip.

A search asks :meth:`~engram.store.base.Store.episode_neighbours` for the turns
around its best episodes (:mod:`engram.retrieval.windows`): on a conversational
user that SQL query (two index scans per seed, 30 seeds) took a third of a
search. The SQLite store answers it from an :class:`EpisodeStreams` per
``(tenant, user)`` instead, loaded from the ``episodes`` table on first use
(every episode of the user, with or without a vector) and kept current, like the
partitions, from the change log (:mod:`~engram.store.sqlite_changes`): the log's
triggers name every episode whose user, agent, session or time changed and every
deleted one, whichever process wrote it.

A stream is what the contract calls a session: the episodes of one
``(agent_id, session_id)`` pair of the user (``None`` values included), ordered
by ``occurred_ts`` then row number, exactly the order of the SQL query.

It holds ids, times and row numbers, never text; a forget clears it with the
partitions.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from typing import Any

from ..models import Scope
from .base import Neighbour

__all__ = ["EPISODE_STREAM_COLS", "EpisodeStreams", "StreamKey"]

#: a stream of one user: ``(agent_id, session_id)``
StreamKey = tuple[str | None, str | None]
#: the episode columns :meth:`EpisodeStreams.load` and :meth:`EpisodeStreams.apply` read
EPISODE_STREAM_COLS = "rid, id, tenant, user_id, agent_id, session_id, occurred_ts"


class EpisodeStreams:
    """The ordered episode streams of one ``(tenant, user_id)``."""

    def __init__(self, tenant: str, user_id: str) -> None:
        self.tenant = tenant
        self.user_id = user_id
        #: stream -> its ``(occurred_ts, rid)``, sorted
        self._order: dict[StreamKey, list[tuple[float, int]]] = {}
        #: rid -> (stream, occurred_ts, id)
        self._rows: dict[int, tuple[StreamKey, float, str]] = {}
        #: id -> rid
        self._rid: dict[str, int] = {}

    @classmethod
    def load(cls, conn: sqlite3.Connection, tenant: str, user_id: str) -> EpisodeStreams:
        """Every episode of ``(tenant, user_id)``, read in one statement."""
        out = cls(tenant, user_id)
        rows = conn.execute(
            f"SELECT {EPISODE_STREAM_COLS} FROM episodes WHERE tenant = ? AND user_id = ?",
            (tenant, user_id),
        ).fetchall()
        for rid, item_id, _t, _u, agent, session, ts in rows:
            key = (agent, session)
            out._order.setdefault(key, []).append((ts, rid))
            out._rows[rid] = (key, ts, item_id)
            out._rid[item_id] = rid
        for order in out._order.values():
            order.sort()
        return out

    def __len__(self) -> int:
        return len(self._rows)

    def apply(self, rids: Iterable[int], rows: Sequence[Sequence[Any]]) -> None:
        """Bring the episodes ``rids`` (changed or deleted) to their current ``rows``
        (:data:`EPISODE_STREAM_COLS`; a rid without a row is gone). Idempotent."""
        for rid in rids:
            self._drop(rid)
        for rid, item_id, tenant, user, agent, session, ts in rows:
            if tenant == self.tenant and user == self.user_id:
                key = (agent, session)
                insort(self._order.setdefault(key, []), (ts, rid))
                self._rows[rid] = (key, ts, item_id)
                self._rid[item_id] = rid

    def _drop(self, rid: int) -> None:
        old = self._rows.pop(rid, None)
        if old is None:
            return
        key, ts, item_id = old
        if self._rid.get(item_id) == rid:
            del self._rid[item_id]
        order = self._order[key]
        i = bisect_left(order, (ts, rid))
        if i < len(order) and order[i] == (ts, rid):
            del order[i]
        if not order:
            del self._order[key]

    def rid(self, item_id: str) -> int | None:
        """The row number of the episode ``item_id`` of this user (``None``: none)."""
        return self._rid.get(item_id)

    def neighbours(self, scope: Scope, ids: Sequence[str], radius: int
                   ) -> dict[str, list[Neighbour]]:
        """:meth:`Store.episode_neighbours` for a scope of this stream's user: a key
        for each of ``ids`` visible in ``scope`` (in the order of ``ids``), its
        neighbours ordered by offset."""
        out: dict[str, list[Neighbour]] = {}
        for item_id in dict.fromkeys(ids):
            rid = self._rid.get(item_id)
            if rid is None:
                continue
            key, ts, _ = self._rows[rid]
            if ((scope.agent_id is not None and key[0] != scope.agent_id)
                    or (scope.session_id is not None and key[1] != scope.session_id)):
                continue
            order = self._order[key]
            at = bisect_left(order, (ts, rid))
            rows = self._rows
            out[item_id] = [
                Neighbour(rows[r][2], pos - at)
                for pos, (_, r) in enumerate(order[max(0, at - radius): at + radius + 1],
                                             start=max(0, at - radius))
                if pos != at
            ]
        return out
