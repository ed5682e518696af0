"""Per-user in-process search index of the PostgreSQL store, kept current by a change feed.

A search of a user's scope on PostgreSQL ranks in this process, like the SQLite
store: the user's rows with a vector of the model are held in a
:class:`~engram.index.partition.PartitionIndex` (BM25 postings, vectors and the
light columns filters need), so PostgreSQL and SQLite give one ranking (BM25
over the same text, numpy cosine over the same float32 vectors) and one fitted
reranker serves both.

**The change feed** (migration ``0008_change_feed``): triggers on
``episodes``, ``memories`` and ``vectors`` add a row to ``item_changes`` for
every item of a user that a statement inserts, deletes, re-embeds or changes
in a column the index holds, inside the writing transaction, by any code path
(``write``, ``forget``, ``delete_episodes``, re-embedding, a store move, raw
SQL). A row holds numbers only: ``(tenant, hashtext(user_id), xid, seq,
item)``, ``item`` being the store key ``rid * 2`` (episode) or ``rid * 2 + 1``
(memory), so a forgotten user leaves no id or text in it.

**A position is a snapshot**, not a sequence number. Each index remembers the
``pg_current_snapshot()`` of the statement that last read it. The next search
asks, in its one round trip, for the user's change rows that snapshot did not
see (``xid >= xmin AND NOT pg_visible_in_snapshot(xid, snap)``) together
with the current row of each changed item (or nothing: it is gone, moved to
another user, or lost its vector), all in the statement's own snapshot, which
becomes the new position. A transaction that took its sequence number early
and commits late is still running in the old snapshot, so it is read next
time: commit order cannot hide a change, and there is no counter a process's
own commit could advance past another's. Applying current rows is idempotent.
Reading, applying and ranking hold the index's lock, so two threads never
apply an older state over a newer one.

**Forget is total in every process**: a ``forget`` or delete in another
process commits its change rows with its deletes, so this process's next
search of the user finds those rows gone and reloads the user (an index that
only marked them removed would keep their terms, ids and session names).
The feed is per user, so the same statement also reads the **tenant's
deletion markers** (migration ``0009_gone_marker``: a row per user a deleting
statement deleted from, written by a statement trigger in its transaction)
that the process has not seen: at its next search of *anyone* in the tenant it
empties the text memos (:func:`~engram.text.clear_text_caches`) and drops the
indexes (and the store its episode streams) of the users deleted from, though
it never searches them again. The process that deletes drops its own copies
at once (``PgAdmin.forget``). A process that never searches the tenant again
keeps what it held until it does, closes, or evicts it.

**Pruning** (:func:`prune_sql`, after a process's first write to a tenant and
then at most every :data:`PRUNE_EVERY` seconds, in one statement): note the
oldest running transaction now (``xmin``, a marker row), and delete the
tenant's change rows older than the newest such marker at least
:data:`KEEP_SECONDS` old, recording that horizon (another marker). A search
whose position's ``xmin`` is below the recorded horizon may have lost rows:
its statement says so and it reloads the user from the tables instead. So
short-lived processes (a CLI ``add``) prune too, and no clock of any process
decides what is safe.

Only users' scopes with at most ``exact_limit`` rows of the model are held
(at most :data:`USERS` users, least recently used dropped); agent-only scopes,
larger users and Citus (snapshots are per node) keep the SQL path of
:mod:`~engram.store.postgres_vector` and ``ts_rank_cd``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from ..index.partition import PartitionIndex
from ..index.rows import INF, STATUS_CODES, TYPE_EPISODE, TYPE_MEMORY, RowAttrs
from ..models import ItemRef, Scope
from ..text import clear_text_caches
from .postgres_sql import as_array

__all__ = ["KEEP_SECONDS", "PRUNE_EVERY", "USERS", "UserIndexes", "prune_sql"]

#: change rows are kept at least this long (then a reader that far behind reloads)
KEEP_SECONDS = 600.0
#: a process prunes a tenant's feed at most this often (and after its first write)
PRUNE_EVERY = 60.0
#: users whose index one process keeps
USERS = 64
#: more changed items than this since the last search: reload instead
MAX_CATCH_UP = 2_000
#: a user found over the size limit takes the SQL path for this long
BIG_SECONDS = 60.0

_T = TypeVar("_T")
_Key = tuple[str, str, str]

# one SELECT per item type: the row's store key, light columns, text and vector
_EP_ROW = (
    "SELECT e.rid * 2 AS item, e.id, e.agent_id, e.session_id, 'episode'::text AS kind,"
    " 'active'::text AS status, (extract(epoch FROM e.occurred_at) * 1000000)::bigint AS ev,"
    " (extract(epoch FROM e.created_at) * 1000000)::bigint AS cr, NULL::bigint AS ex,"
    " coalesce(e.index_text, e.text) AS body, v.embedding FROM episodes e CROSS JOIN LATERAL"
    " (SELECT v.embedding, v.model_id FROM vectors v WHERE v.tenant = e.tenant"
    " AND v.item_type = 'episode' AND v.item_id = e.id LIMIT 1) v"
    " WHERE e.tenant = %s AND e.user_id = %s AND v.model_id = %s"
)
_MEM_ROW = (
    "SELECT x.rid * 2 + 1 AS item, x.id, x.agent_id, x.session_id, x.kind, x.status,"
    " (extract(epoch FROM x.event_at) * 1000000)::bigint AS ev,"
    " (extract(epoch FROM x.created_at) * 1000000)::bigint AS cr,"
    " (extract(epoch FROM x.expired_at) * 1000000)::bigint AS ex,"
    " coalesce(x.index_text, x.text) AS body, v.embedding FROM memories x CROSS JOIN LATERAL"
    " (SELECT v.embedding, v.model_id FROM vectors v WHERE v.tenant = x.tenant"
    " AND v.item_type = 'memory' AND v.item_id = x.id LIMIT 1) v"
    " WHERE x.tenant = %s AND x.user_id = %s AND v.model_id = %s"
)


#: the tenant's deletion markers (migration ``0009_gone_marker``) in transactions
#: the snapshot ``seen`` did not see, and whether the feed was pruned past ``seen``
#: (``h.x``: the recorded pruning horizon); arguments ``(seen, tenant, seen, seen)``
_MARKERS = (
    "coalesce(h.x > pg_snapshot_xmin(%s::pg_snapshot), FALSE) AS lost,"
    " (SELECT array_agg(DISTINCT g.owner) FROM item_changes g WHERE g.tenant = %s"
    " AND g.item = -3 AND g.xid >= pg_snapshot_xmin(%s::pg_snapshot)"
    " AND NOT pg_visible_in_snapshot(g.xid, %s::pg_snapshot)) AS gone"
)
_HORIZON = ("(SELECT max(xid) AS x FROM item_changes WHERE tenant = %s AND owner = 0"
            " AND item = -2) h")


def _head(key: _Key, snap: str | None, seen: str | None) -> tuple[str, tuple[Any, ...]]:
    """The first row's columns of a search's statement: its snapshot (``snap``),
    the user's ``hashtext`` (``owner``), whether the feed was pruned past the
    user's position ``snap`` (``pruned``) or past the tenant's ``seen``
    (``lost``), and the owners of the tenant's deletion markers in transactions
    ``seen`` did not see (``gone``)."""
    tenant, user, _ = key
    return (
        "(SELECT pg_current_snapshot()::text AS snap, hashtext(%s) AS owner,"
        f" coalesce(h.x > pg_snapshot_xmin(%s::pg_snapshot), FALSE) AS pruned, {_MARKERS}"
        f" FROM {_HORIZON}) s",
        (user, snap, seen, tenant, seen, seen, tenant),
    )


def load_sql(key: _Key, cap: int, seen: str | None = None) -> tuple[str, tuple[Any, ...]]:
    """The head (:func:`_head`), and the rows of the user's items with a vector of
    the model (at most ``cap + 1`` of each type), episodes then memories, each by
    ``rid``; one row with NULL item columns when there is none."""
    tenant, user, model = key
    head, head_args = _head(key, None, seen)
    return (
        f"SELECT s.*, NULL::bigint AS changed, r.* FROM {head}"
        f" LEFT JOIN LATERAL (({_EP_ROW} ORDER BY e.rid LIMIT %s) UNION ALL"
        f" ({_MEM_ROW} ORDER BY x.rid LIMIT %s)) r ON TRUE ORDER BY r.item %% 2, r.item",
        (*head_args, tenant, user, model, cap + 1, tenant, user, model, cap + 1),
    )


def changes_sql(key: _Key, snap: str, seen: str | None = None) -> tuple[str, tuple[Any, ...]]:
    """The head (:func:`_head`: ``pruned`` says rows may be missing), and each
    item of the user changed in a transaction ``snap`` did not see (``changed``,
    at most ``MAX_CATCH_UP + 1``) with its current row when it is still the
    user's and has a vector of the model (else NULLs); an item changed only in
    columns the index does not hold (``row_only``, migration ``0010_row_feed``)
    comes with NULLs (only the row cache drops it)."""
    tenant, user, model = key
    head, head_args = _head(key, snap, seen)
    return (
        "WITH c AS (SELECT DISTINCT CASE WHEN item >= 0 THEN item ELSE -4 - item END AS item,"
        " item < 0 AS row_only FROM item_changes WHERE tenant = %s"
        " AND owner = hashtext(%s) AND xid >= pg_snapshot_xmin(%s::pg_snapshot)"
        " AND NOT pg_visible_in_snapshot(xid, %s::pg_snapshot) AND (item >= 0 OR item <= -4)"
        " LIMIT %s)"
        " SELECT s.*, c.item AS changed, c.row_only, r.* FROM"
        f" {head} LEFT JOIN c ON TRUE LEFT JOIN LATERAL"
        f" ({_EP_ROW} AND NOT c.row_only AND c.item %% 2 = 0 AND e.rid = c.item / 2 UNION ALL"
        f" {_MEM_ROW} AND NOT c.row_only AND c.item %% 2 = 1 AND x.rid = c.item / 2) r ON TRUE",
        (tenant, user, snap, snap, MAX_CATCH_UP + 1, *head_args, tenant, user, model, tenant,
         user, model),
    )


def prune_sql(tenant: str, citus: bool) -> tuple[str, tuple[Any, ...]]:
    """One statement: delete ``tenant``'s change rows older than the newest
    ``xmin`` marker at least :data:`KEEP_SECONDS` old and record that horizon
    (``item`` -2), then add a marker of the current ``xmin`` (``item`` -1).
    Readers compare their position with the recorded horizon
    (:func:`changes_sql`). On Citus no process reads the feed (the in-process
    index is off there) and every row of the tenant goes."""
    if citus:
        return ("WITH d AS (DELETE FROM item_changes WHERE tenant = %s) SELECT 1 AS done",
                (tenant,))
    return (
        "WITH h AS (SELECT max(xid) AS x FROM item_changes WHERE tenant = %s AND owner = 0"
        " AND item = -1 AND at < now() - make_interval(secs => %s)),"
        " d AS (DELETE FROM item_changes WHERE tenant = %s AND xid < (SELECT x FROM h)),"
        " p AS (INSERT INTO item_changes (tenant, owner, xid, item, at)"
        " SELECT %s, 0, x, -2, now() FROM h WHERE x IS NOT NULL),"
        " m AS (INSERT INTO item_changes (tenant, owner, xid, item, at)"
        " VALUES (%s, 0, pg_snapshot_xmin(pg_current_snapshot()), -1, now()))"
        " SELECT 1 AS done",
        (tenant, float(KEEP_SECONDS), tenant, tenant, tenant),
    )


def _unit(v: np.ndarray) -> np.ndarray:
    """``v`` at unit length, for cosine as a dot product (pgvector's ``<=>``
    normalises; embedders' vectors are unit already and kept bit for bit)."""
    norm = float(np.linalg.norm(v))
    return v / np.float32(norm) if norm > 0 and abs(norm - 1.0) > 1e-4 else v


def _upsert(part: PartitionIndex, r: dict[str, Any]) -> bool:
    """Upsert row ``r``; ``False`` (nothing done) when its vector's dimension is
    not the index's (a model id stored at two dimensions)."""
    vector = as_array(r["embedding"])
    if vector.size != part.dim:
        return False
    item = int(r["item"])
    episode = item % 2 == 0
    ex = r["ex"]
    part.upsert(
        ItemRef("episode" if episode else "memory", r["id"]),
        _unit(vector),
        RowAttrs(TYPE_EPISODE if episode else TYPE_MEMORY, r["kind"],
                 STATUS_CODES[r["status"]], r["agent_id"], r["session_id"],
                 int(r["ev"]) / 1_000_000, int(r["cr"]) / 1_000_000,
                 INF if ex is None else int(ex) / 1_000_000),
        r["body"] or "",
        key=item,
    )
    return True


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    part: PartitionIndex | None = None
    #: the snapshot the index reflects
    snap: str | None = None
    #: the user's ``hashtext`` (what the tenant's deletion markers name)
    owner: int | None = None


class UserIndexes:
    """The in-process indexes of recently searched users (see the module
    docstring), and the pruning memo of the tenants this process wrote.
    Thread-safe.

    ``opened``: a snapshot taken when the store opened, the position in each
    tenant's deletion markers until this process first searches it (so a forget
    between the opening and that search is seen). ``on_gone(tenant)`` is called
    when markers show that rows of ``tenant`` were deleted since this process
    last looked (the store drops its other per-user copies of the tenant).
    ``on_changed(tenant, user, keys)`` is called by every search that brings a
    user's index up to date, before it ranks, with the store keys of the items
    changed since (in any column: ``row_only`` ones too), or ``None`` when the
    user was (re)loaded from the tables: the store's row cache
    (:mod:`.postgres_rows`) drops them."""

    def __init__(self, opened: str | None = None,
                 on_gone: Callable[[str], None] | None = None,
                 on_changed: Callable[[str, str, list[int] | None], None] | None = None
                 ) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        #: users over the size limit -> (when to try again, the user's hashtext)
        self._big: dict[_Key, tuple[float, int | None]] = {}
        #: tenant -> the snapshot of its deletion markers this process has read
        self._seen: dict[str, str] = {}
        self._opened = opened
        self._on_gone = on_gone
        self._on_changed = on_changed
        #: tenant -> when (monotonic) this process last pruned its feed
        self._pruned: dict[str, float] = {}
        #: (tenant, user) -> the model its last search used (a lexical search
        #: alone names none)
        self.models: dict[tuple[str, str], str] = {}

    def use(self, scope: Scope, model_id: str, cap: int,
            run: Callable[[str, tuple[Any, ...]], list[dict[str, Any]]],
            rank: Callable[[PartitionIndex], _T]) -> tuple[_T, str] | None:
        """``rank(index)`` of ``scope``'s user and model, brought up to date in one
        statement (``run`` executes it), and the snapshot it reflects; ``None``
        (nothing ranked) when the user has no vector of the model or more than
        ``cap`` rows of it: the caller takes the SQL path."""
        key = (scope.tenant, str(scope.user_id), model_id)
        clock = time.monotonic()
        with self._lock:
            if self._big.get(key, (0.0, None))[0] > clock:
                return None
            seen = self._seen.get(scope.tenant, self._opened)
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
            self._entries.move_to_end(key)
            while len(self._entries) > USERS:
                self._entries.popitem(last=False)
            if len(self.models) >= 10_000:
                self.models.clear()
            self.models[key[:2]] = model_id
        with entry.lock:
            part, mixed = entry.part, False
            if part is not None and entry.snap is not None:
                rows = run(*changes_sql(key, entry.snap, seen))
                seen = self._gone(key, rows[0])
                changed = [r for r in rows if r["changed"] is not None]
                if self._on_changed is not None:
                    self._on_changed(key[0], key[1], [int(r["changed"]) for r in changed])
                changed = [r for r in changed if not r["row_only"]]
                gone = any(r["item"] is None for r in changed)
                if gone or rows[0]["pruned"]:
                    clear_text_caches()  # rows deleted or forgotten (maybe elsewhere)
                if gone or rows[0]["pruned"] or len(changed) > MAX_CATCH_UP:
                    # rows gone (a removed row's terms, id and agent or session
                    # names would stay in the index), maybe missing, or too
                    # many: reload
                    part = None
                else:
                    mixed = not all([_upsert(part, r) for r in changed])
            if part is None:
                entry.part = entry.snap = None
                rows = run(*load_sql(key, cap, seen))
                if self._on_changed is not None:
                    self._on_changed(key[0], key[1], None)
                self._gone(key, rows[0])
                items = [r for r in rows if r["item"] is not None]
                if items:
                    part = PartitionIndex(as_array(items[0]["embedding"]).size)
                    mixed = not all([_upsert(part, r) for r in items])
                    part.compact()
            entry.owner = int(rows[0]["owner"])
            if part is None or len(part) == 0 or len(part) > cap or mixed:
                # the SQL path answers: no vector, too many rows, or two dimensions
                self._forget(key, entry.owner,
                             big=part is not None and (len(part) > cap or mixed))
                return None
            entry.part, entry.snap = part, str(rows[0]["snap"])
            return rank(part), entry.snap

    def _gone(self, key: _Key, head: dict[str, Any]) -> str:
        """Act on the tenant's deletion markers in a statement's ``head``
        (:func:`_head`): when rows of the tenant were deleted since this process
        last looked (or the markers were pruned past that), empty the text memos
        and drop the indexes of the users deleted from (of every user of the
        tenant when the markers were pruned) but ``key``'s own (its feed
        tells), then ``on_gone``. Then note the statement's snapshot as read, and
        return it."""
        tenant, lost = key[0], bool(head["lost"])
        owners = set(head["gone"] or ())
        if owners or lost:
            clear_text_caches()  # forgotten elsewhere: their words may be in the memos
            with self._lock:
                for k, e in list(self._entries.items()):
                    if k[0] == tenant and k != key and (lost or e.owner in owners):
                        del self._entries[k]
                for k, (_, owner) in list(self._big.items()):
                    if k[0] == tenant and (lost or owner in owners):
                        del self._big[k]
                for u in [u for u in self.models if u[0] == tenant]:
                    del self.models[u]
            if self._on_gone is not None:
                self._on_gone(tenant)
        with self._lock:
            if len(self._seen) >= 10_000:
                self._seen.clear()
            self._seen[tenant] = str(head["snap"])
        return str(head["snap"])

    def markers_sql(self, tenant: str) -> tuple[str, tuple[Any, ...]]:
        """A statement for a search that takes the SQL path (a user over
        ``exact_limit``, an agent-only scope): the tenant's deletion markers this
        process has not seen, for :meth:`note_markers` (one more statement in the
        search's round trip)."""
        with self._lock:
            seen = self._seen.get(tenant, self._opened)
        return (f"SELECT pg_current_snapshot()::text AS snap, {_MARKERS} FROM {_HORIZON}",
                (seen, tenant, seen, seen, tenant))

    def note_markers(self, tenant: str, head: dict[str, Any]) -> None:
        """Act on the row of :meth:`markers_sql` (see :meth:`_gone`)."""
        self._gone((tenant, "", ""), head)

    def drop_users(self, tenant: str, users: set[str]) -> None:
        """Drop what this process holds of ``users`` of ``tenant`` (after its own
        forget or delete of their rows: nothing of theirs waits for a search)."""
        with self._lock:
            for k in [k for k in (*self._entries, *self._big) if k[0] == tenant
                      and k[1] in users]:
                self._entries.pop(k, None)
                self._big.pop(k, None)
            for u in users:
                self.models.pop((tenant, u), None)

    def _forget(self, key: _Key, owner: int | None, big: bool) -> None:
        with self._lock:
            self._entries.pop(key, None)
            if big:
                if len(self._big) >= 10_000:
                    self._big.clear()
                self._big[key] = (time.monotonic() + BIG_SECONDS, owner)

    def prune_due(self, tenant: str) -> bool:
        """Whether this process should prune ``tenant``'s feed now (its first
        write to it, or :data:`PRUNE_EVERY` seconds after the last prune), noting
        that it does."""
        clock = time.monotonic()
        with self._lock:
            last = self._pruned.get(tenant)
            if last is not None and clock - last < PRUNE_EVERY:
                return False
            if len(self._pruned) >= 10_000:
                self._pruned.clear()
            self._pruned[tenant] = clock
            return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._big.clear()
            self._seen.clear()
            self.models.clear()

