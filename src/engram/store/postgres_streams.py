"""Session order of recently searched users, in the PostgreSQL store's process.

:meth:`~engram.store.base.Store.episode_neighbours` by SQL costs the server two
index scans per seed (about 1 ms for 48 seeds of a 419-turn user, a fifth of its
work in a search) and the client a row per neighbour. The SQLite store answers
it from an :class:`~engram.store.sqlite_streams.EpisodeStreams` per user kept
current by its change log; PostgreSQL has no such log, so here a user's streams
are trusted only while the server's **change marker** (``pg_current_snapshot()``
as text, :meth:`PostgresStore.change_marker`) is what it was when they were
read: any committed write, by any connection or process, moves it, so a forget
anywhere makes every process drop its copy before the copy answers again.

:meth:`PostgresStore.search_both` reads the marker in the round trip of the
candidate lists when it holds the user's streams; when it has not moved, the
neighbours asked next on the same thread (:meth:`StreamCache.take_hint`) cost
no round trip: the user's streams as of that moment, as if the neighbour query
had travelled with the candidates (a write committed in between is seen by the
item reads that follow, as before: a forgotten neighbour finds no row and drops
out). The hint is used once, within :data:`HINT_SECONDS`, and any other search
or write on the store drops it first. Otherwise the neighbours check the marker
in one statement (where the SQL query was one round trip too) that reads the
user's episodes only when the marker moved (or nothing is held), in the
snapshot of that marker. Under a stream
of writes every search re-reads its user, so only users of at most
:data:`MAX_EPISODES` episodes are kept (reading 2,000 cost about what the SQL
query costs; a larger user always takes the SQL path). At most :data:`USERS`
users are kept (least recently used dropped). Not on Citus (no marker there).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from ..models import Scope
from .base import Neighbour
from .sqlite_streams import EpisodeStreams

__all__ = ["HINT_SECONDS", "MAX_EPISODES", "MARKER_SQL", "USERS", "StreamCache", "load_sql"]

#: users whose streams one process keeps
USERS = 64
#: users with more episodes than this are never cached
MAX_EPISODES = 2_000

#: how long a marker read by a search stays usable for its neighbours
HINT_SECONDS = 5.0
#: the change marker's statement (:meth:`PostgresStore.change_marker` adds the Citus check)
MARKER_SQL = "SELECT pg_current_snapshot()::text AS snap"

_Key = tuple[str, str]


def load_sql(tenant: str, user_id: str, held: str | None) -> tuple[str, tuple[Any, ...]]:
    """The change marker, and unless it is ``held``, every episode of ``(tenant,
    user_id)`` (at most ``MAX_EPISODES + 1``) in stream order (the B-tree's),
    read in the marker's snapshot; one row with NULL episode columns when there
    is none to return."""
    return (
        "SELECT s.snap, e.rid, e.id, e.tenant, e.user_id, e.agent_id, e.session_id, e.ts"
        " FROM (SELECT pg_current_snapshot()::text AS snap) s LEFT JOIN LATERAL"
        " (SELECT e.rid, e.id, e.tenant, e.user_id, e.agent_id, e.session_id,"
        "  (extract(epoch FROM e.occurred_at) * 1000000)::bigint AS ts"
        "  FROM episodes e WHERE e.tenant = %s AND e.user_id = %s"
        "  AND s.snap IS DISTINCT FROM %s ORDER BY e.occurred_at, e.rid LIMIT %s) e ON TRUE",
        (tenant, user_id, held, MAX_EPISODES + 1),
    )


class StreamCache:
    """Per-user :class:`EpisodeStreams` tagged with the marker they were read at.
    Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: OrderedDict[_Key, tuple[str, EpisodeStreams]] = OrderedDict()
        #: users found over MAX_EPISODES (the SQL path; forgotten after 10,000)
        self._big: set[_Key] = set()
        self._hint = threading.local()

    def set_hint(self, scope: Scope, marker: str) -> None:
        """Note on this thread that ``scope``'s user's streams were current at
        ``marker`` just now (:meth:`PostgresStore.search_both`)."""
        self._hint.value = ((scope.tenant, str(scope.user_id)), marker,
                            time.monotonic() + HINT_SECONDS)

    def take_hint(self, scope: Scope) -> str | None:
        """The marker :meth:`set_hint` left for ``scope``'s user on this thread, once
        and within :data:`HINT_SECONDS`; else ``None``."""
        hint = getattr(self._hint, "value", None)
        self._hint.value = None
        if (hint is None or hint[0] != (scope.tenant, str(scope.user_id))
                or hint[2] < time.monotonic()):
            return None
        return str(hint[1])

    def drop_hint(self) -> None:
        """Forget this thread's hint (another search or a write came first)."""
        self._hint.value = None

    def marker(self, scope: Scope) -> str | None:
        """The marker the held streams of ``scope``'s user were read at, if any."""
        with self._lock:
            held = self._streams.get((scope.tenant, str(scope.user_id)))
        return None if held is None else held[0]

    def big(self, scope: Scope) -> bool:
        """Whether ``scope``'s user was found over :data:`MAX_EPISODES`."""
        return (scope.tenant, str(scope.user_id)) in self._big

    def neighbours(self, scope: Scope, marker: str, ids: Sequence[str], radius: int,
                   ) -> dict[str, list[Neighbour]] | None:
        """The answer of the user's streams read at ``marker``; ``None`` when none
        are held at that marker (a copy at another marker is replaced by the next
        read of the user, :meth:`store`)."""
        key = (scope.tenant, str(scope.user_id))
        with self._lock:
            held = self._streams.get(key)
            if held is None or held[0] != marker:
                return None
            self._streams.move_to_end(key)
            found = held[1].neighbours(scope, ids, radius)
        return dict(sorted(found.items()))  # the SQL query's order: by target id

    def store(self, scope: Scope, rows: list[dict[str, Any]]) -> str | None:
        """Keep the streams of ``rows`` (from :func:`load_sql`) and return the
        marker they were read at; ``None`` (and the user remembered as big) when
        the user has more than :data:`MAX_EPISODES` episodes."""
        key = (scope.tenant, str(scope.user_id))
        if len(rows) > MAX_EPISODES:
            with self._lock:
                if len(self._big) >= 10_000:
                    self._big.clear()
                self._big.add(key)
                self._streams.pop(key, None)
            return None
        marker = str(rows[0]["snap"])
        streams = EpisodeStreams(*key)
        streams.apply((), [(r["rid"], r["id"], r["tenant"], r["user_id"], r["agent_id"],
                            r["session_id"], r["ts"]) for r in rows if r["id"] is not None])
        with self._lock:
            self._streams[key] = (marker, streams)
            self._streams.move_to_end(key)
            while len(self._streams) > USERS:
                self._streams.popitem(last=False)
        return marker

    def drop_tenant(self, tenant: str) -> None:
        """Drop every user of ``tenant`` (rows of the tenant were deleted: a copy
        read before may hold a forgotten user's ids; reading again costs what the
        moved marker costs anyway)."""
        with self._lock:
            for key in [k for k in self._streams if k[0] == tenant]:
                del self._streams[key]
            self._big = {k for k in self._big if k[0] != tenant}

    def clear(self) -> None:
        with self._lock:
            self._streams.clear()
            self._big.clear()
