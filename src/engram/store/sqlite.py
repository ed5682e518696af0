"""The embedded default store: one SQLite file (WAL, FTS5, vectors as BLOBs).

* One connection per store object, serialised by a lock: a single writer path
  in the process, so concurrent callers never see "database is locked";
  other processes wait up to ``busy_timeout`` seconds.
* Every :meth:`write` is one ``BEGIN IMMEDIATE`` transaction.
* ``secure_delete`` is on: deleted rows are overwritten, not left in free pages.
* Vectors live in the same file; searches go through an in-memory
  :class:`~engram.index.partition.PartitionIndex` per user (or agent), loaded
  on first use and brought up to date before each search from a change log
  that every write, by any process, appends to in its transaction
  (:mod:`~engram.store.sqlite_changes`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from ..errors import Conflict, StoreError
from ..models import (
    Episode,
    ItemRef,
    Memory,
    Scope,
)
from ..timeutil import format_dt, now
from .base import Fence, Neighbour, VectorRecord, WriteBatch, WriteOutcome
from .sql_browse import SQLBrowse
from .sql_common import (
    EP_COLS,
    MEM_COLS,
    check_meta,
    episode_from_row,
    episode_values,
    insert_jobs,
    insert_versions,
    memory_from_row,
    memory_values,
)
from .sqlite_admin import SQLiteAdmin
from .sqlite_rowcache import Read, ScopeKey
from .sqlite_rows import (
    SQLITE,
    _scope_sql,
    _scope_tags,
)
from .sqlite_search import SQLiteSearch
from .sqlite_views import EP_VIEW_COLS, MEM_VIEW_COLS, card_view, held_view, row_view

__all__ = ["SQLiteStore"]


def _hold_fence(conn: sqlite3.Connection, fence: Fence) -> bool:
    """Check ``fence`` and claim its episodes, inside the write's transaction
    (``BEGIN IMMEDIATE``: no other write, ``forget`` included, runs meanwhile)."""
    if fence.job_id is not None and conn.execute(
        "SELECT 1 FROM jobs WHERE id = ?", (fence.job_id,)
    ).fetchone() is None:
        return False
    ids = list(dict.fromkeys(fence.claim))
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        free = conn.execute(
            f"SELECT count(*) FROM episodes WHERE tenant = ? AND id IN ({marks})"
            " AND derived_at IS NULL", (fence.tenant, *chunk),
        ).fetchone()[0]
        if free != len(chunk):
            return False
    stamp = format_dt(now())
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        conn.execute(f"UPDATE episodes SET derived_at = ? WHERE tenant = ? AND id IN ({marks})",
                     (stamp, fence.tenant, *chunk))
    return True


class SQLiteStore(SQLiteSearch, SQLiteAdmin, SQLBrowse):
    """See the module docstring. ``path`` may be ``":memory:"`` for throwaway use."""

    def write(self, batch: WriteBatch) -> WriteOutcome:
        out = WriteOutcome()
        if batch.is_empty():
            return out
        skipped: set[ItemRef] = set()
        try:
            with self._tx() as conn:
                check_meta(SQLITE, conn, batch.meta_expect)
                for e in batch.episodes:
                    self._insert_episode(conn, e, batch, out, skipped)
                if batch.fence is not None and not _hold_fence(conn, batch.fence):
                    out.fenced = True  # derived rows dropped (see Fence)
                    batch = batch.episodes_only()
                for m in batch.new_memories:
                    self._insert_memory(conn, m, batch, out, skipped)
                for m, expected in batch.changed_memories:
                    self._update_memory(conn, m, expected, batch)
                insert_versions(SQLITE, conn, batch.versions)
                for rec in batch.vectors:
                    if rec.ref not in skipped:
                        self._upsert_vector(conn, rec)
                insert_jobs(SQLITE, conn, batch.jobs)
        except sqlite3.Error as exc:
            raise StoreError(f"write failed: {exc}") from exc
        return out

    def _index(self, conn: sqlite3.Connection, rowid: int, body: str, tags: list[str]) -> None:
        conn.execute("DELETE FROM fts WHERE rowid = ?", (rowid,))
        conn.execute(
            "INSERT INTO fts (rowid, body, tags) VALUES (?, ?, ?)", (rowid, body, " ".join(tags))
        )

    def _insert_episode(
        self,
        conn: sqlite3.Connection,
        e: Episode,
        batch: WriteBatch,
        out: WriteOutcome,
        skipped: set[ItemRef],
    ) -> None:
        vals = episode_values(SQLITE, e)
        cur = conn.execute(
            f"INSERT INTO episodes ({', '.join(vals)}) VALUES ({SQLITE.marks(len(vals))})"
            " ON CONFLICT(tenant, id) DO NOTHING",
            tuple(vals.values()),
        )
        ref = ItemRef("episode", e.id)
        if cur.rowcount == 0:
            out.existing_episode_ids.append(e.id)
            skipped.add(ref)
            return
        rid = int(cur.lastrowid)  # type: ignore[arg-type]
        out.created_episode_ids.append(e.id)
        body = batch.index_texts.get(ref, e.text)
        self._index(conn, rid * 2, body, [*_scope_tags(e.scope), "episode"])

    def _insert_memory(
        self,
        conn: sqlite3.Connection,
        m: Memory,
        batch: WriteBatch,
        out: WriteOutcome,
        skipped: set[ItemRef],
    ) -> None:
        vals = memory_values(SQLITE, m)
        cur = conn.execute(
            f"INSERT INTO memories (tenant, id, {', '.join(vals)})"
            f" VALUES ({SQLITE.marks(len(vals) + 2)}) ON CONFLICT(tenant, id) DO NOTHING",
            (m.scope.tenant, m.id, *vals.values()),
        )
        ref = ItemRef("memory", m.id)
        if cur.rowcount == 0:
            out.existing_memory_ids.append(m.id)
            skipped.add(ref)
            return
        rid = int(cur.lastrowid)  # type: ignore[arg-type]
        out.created_memory_ids.append(m.id)
        body = batch.index_texts.get(ref, m.text)
        self._index(conn, rid * 2 + 1, body, [*_scope_tags(m.scope), "memory", f"k{m.kind}"])

    def _update_memory(
        self, conn: sqlite3.Connection, m: Memory, expected: int, batch: WriteBatch
    ) -> None:
        vals = memory_values(SQLITE, m)
        cur = conn.execute(
            f"UPDATE memories SET {', '.join(f'{c} = ?' for c in vals)}"
            " WHERE tenant = ? AND id = ? AND version = ? RETURNING rid",
            (*vals.values(), m.scope.tenant, m.id, expected),
        )
        row = cur.fetchone()
        if row is None:
            raise Conflict(
                f"memory {m.id} changed concurrently (expected version {expected}); retry"
            )
        ref = ItemRef("memory", m.id)
        body = batch.index_texts.get(ref, m.text)
        tags = [*_scope_tags(m.scope), "memory", f"k{m.kind}"]
        self._index(conn, int(row[0]) * 2 + 1, body, tags)

    def _item_rid(self, conn: sqlite3.Connection, tenant: str, ref: ItemRef) -> int | None:
        table = "episodes" if ref.type == "episode" else "memories"
        row = conn.execute(
            f"SELECT rid FROM {table} WHERE tenant = ? AND id = ?", (tenant, ref.id)
        ).fetchone()
        return None if row is None else int(row[0])

    def _upsert_vector(self, conn: sqlite3.Connection, rec: VectorRecord) -> None:
        rid = self._item_rid(conn, rec.tenant, rec.ref)
        if rid is None:
            raise StoreError(f"vector for unknown {rec.ref.type} {rec.ref.id}")
        vec = np.ascontiguousarray(rec.vector, dtype=np.float32)
        conn.execute(
            "INSERT INTO vectors (tenant, item_type, item_rid, model_id, dim, vector, content_hash)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT(item_type, item_rid) DO UPDATE SET"
            " model_id=excluded.model_id, dim=excluded.dim, vector=excluded.vector,"
            " content_hash=excluded.content_hash",
            (rec.tenant, rec.ref.type, rid, rec.model_id, vec.size, vec.tobytes(),
             rec.content_hash),
        )

    # -- reads -----------------------------------------------------------------
    def get_items(
        self, scope: Scope, episode_ids: Sequence[str], memory_ids: Sequence[str]
    ) -> tuple[list[Episode], list[Memory]]:
        """See the contract. A search reads its head here: rows read lately come
        from :attr:`_rows` (:mod:`.sqlite_rowcache`), current with every committed
        write since the change log is read first; the others are read and held.
        Other reads (``get_episodes``, ``get_memories``) go to the tables."""
        with self._lock:
            if self._conn.in_transaction:
                return super().get_episodes(scope, episode_ids), super().get_memories(
                    scope, memory_ids)
            self._catch_up()
            return (self._held_items("episodes", scope, episode_ids),
                    self._held_items("memories", scope, memory_ids))

    def _held_items(self, table: str, scope: Scope, ids: Sequence[str]) -> list[Any]:
        """The items of ``ids`` visible in ``scope``, in the order asked (a repeated id
        repeats), each a new object: held rows copied, the others read, decoded
        and held (:meth:`RowCache.read_items`; the caller has caught up with the change log)."""
        parity = 0 if table == "episodes" else 1

        def read(missing: list[str]) -> Read:
            cols = EP_COLS if parity == 0 else MEM_COLS
            decode = episode_from_row if parity == 0 else memory_from_row
            return {i: (r["rid"] * 2 + parity, decode(SQLITE, r), r["metadata"])
                    for i, r in self._get_many(table, "x.rid, " + cols, scope, missing).items()}

        return self._rows.read_items(parity, scope, ids, read)

    def get_item_views(
        self, scope: Scope, episode_ids: Sequence[str], memory_ids: Sequence[str]
    ) -> tuple[list[Episode], list[Memory]]:
        """See the contract. Views (:mod:`.views`) of the rows :attr:`_rows` holds,
        else made from the cards the user's loaded partition keeps, else read by the
        columns a view holds (:mod:`.sqlite_views`); nothing is held for them: only
        the hits a search returns are read whole (:meth:`get_items`)."""
        with self._lock:
            if self._conn.in_transaction:
                return self.get_items(scope, episode_ids, memory_ids)
            self._catch_up()
            return (self._views(0, scope, episode_ids), self._views(1, scope, memory_ids))

    def _views(self, parity: int, scope: Scope, ids: Sequence[str]) -> list[Any]:
        """Views of the items of ``ids`` visible in ``scope``, in the order asked (a
        repeated id repeats), from held rows, else partition cards, else the table
        (:mod:`.sqlite_views`); the caller has caught up with the change log."""
        if not ids:
            return []
        rows = self._rows
        held, _ = rows.lookup(parity, scope.tenant, ids)
        user, agent, session = scope.user_id, scope.agent_id, scope.session_id

        def visible(key: ScopeKey) -> bool:
            return ((user is None or key[1] == user) and (agent is None or key[2] == agent)
                    and (session is None or key[3] == session))

        load = partial(self._whole, scope, parity)
        made: dict[str, Any] = {}
        make = partial(ItemRef, "episode") if parity == 0 else partial(ItemRef, "memory")
        wanted = [i for i in dict.fromkeys(ids) if i not in held]
        for ref, card in self._cards(scope, [make(i) for i in wanted]).items():
            made[ref.id] = card_view(card, ref.id, parity, visible, rows.scope_of, load)
        missing = [i for i in wanted if i not in made]
        if missing:
            table, cols = ("episodes", EP_VIEW_COLS) if parity == 0 else ("memories", MEM_VIEW_COLS)
            for i, r in self._get_many(table, cols, scope, missing).items():
                key = (r["tenant"], r["user_id"], r["agent_id"], r["session_id"])
                made[i] = row_view(r, i, rows.scope_of(key), parity, load)
        for i, h in held.items():
            if visible(h[1]):
                made[i] = held_view(h, rows.scope_of(h[1]), load)
        # a repeated id repeats the same view (a view is read, never changed)
        return [v for v in (made.get(i) for i in ids) if v is not None]

    def _whole(self, scope: Scope, parity: int, item_id: str) -> Episode | Memory | None:
        """The whole item a view stands for (``None``: gone)."""
        episodes, memories = self.get_items(scope, *(([item_id], []) if parity == 0
                                                     else ([], [item_id])))
        found: list[Any] = episodes or memories
        return found[0] if found else None

    def _get_many(self, table: str, cols: str, scope: Scope, ids: Sequence[str]) -> dict[str, Any]:
        # look up by the (tenant, id) key only, then check the rest of the scope
        # here: lets SQLite use the unique index whatever the scope names. Items a
        # search just returned are read by rid (one B-tree instead of two), each
        # row kept only if it is the (tenant, id) asked for: a stale hint reads
        # nothing, and that id is read by its key like any other
        found: dict[str, Any] = {}
        ids = list(dict.fromkeys(ids))
        user, agent, session = scope.user_id, scope.agent_id, scope.session_id
        tenant = scope.tenant

        def keep(rows: list[dict[str, Any]], asked: dict[int, str] | None = None) -> None:
            for r in rows:
                if asked is not None and (asked.get(r["rid"]) != r["id"]
                                          or r["tenant"] != tenant):
                    continue
                if ((user is None or r["user_id"] == user)
                        and (agent is None or r["agent_id"] == agent)
                        and (session is None or r["session_id"] == session)):
                    found[r["id"]] = r

        by_rid = self._hinted_rids(table, ids)
        if by_rid:
            rids = list(by_rid)
            for i in range(0, len(rids), 500):
                part = rids[i : i + 500]
                keep(self._q_dicts(f"SELECT x.rid, x.tenant, {cols} FROM {table} x"
                                   f" WHERE x.rid IN ({','.join('?' * len(part))})", part),
                     by_rid)
            ids = [i for i in ids if i not in found]
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            keep(self._q_dicts(
                f"SELECT {cols} FROM {table} x "
                f" WHERE x.tenant = ? AND x.id IN ({marks})",
                (tenant, *chunk),
            ))
        return found

    def _hinted_rids(self, table: str, ids: Sequence[str]) -> dict[int, str]:
        """rid -> id of the ``ids`` the last search returned with their key
        (:attr:`SQLiteSearch._key_hints`; ``rid * 2`` an episode's, ``+ 1`` a memory's)."""
        hints = self._key_hints
        if not hints or table not in ("episodes", "memories"):
            return {}
        episodes = table == "episodes"
        parity = 0 if episodes else 1
        out: dict[int, str] = {}
        for i in ids:
            key = hints.get(ItemRef("episode", i) if episodes else ItemRef("memory", i))
            if key is not None and key >= 0 and key % 2 == parity:
                out[key // 2] = i
        return out

    def episode_neighbours(
        self, scope: Scope, ids: Sequence[str], radius: int
    ) -> dict[str, list[Neighbour]]:
        """See the contract. A user's scope is answered from the user's episode
        streams in memory (:mod:`.sqlite_streams`, current with every committed
        write); an agent-only scope by SQL (:meth:`_sql_neighbours`)."""
        if radius <= 0 or not ids:
            return {}
        if scope.user_id is not None:
            with self._lock:
                return self._episode_streams(scope.tenant, scope.user_id).neighbours(
                    scope, ids, radius)
        return self._sql_neighbours(scope, ids, radius)

    def _sql_neighbours(
        self, scope: Scope, ids: Sequence[str], radius: int
    ) -> dict[str, list[Neighbour]]:
        """:meth:`episode_neighbours` straight from the tables."""
        if radius <= 0 or not ids:
            return {}
        rows = self._get_many(
            "episodes", "x.id, x.rid, x.user_id, x.agent_id, x.session_id, x.occurred_ts",
            scope, ids,
        )
        where, args = _scope_sql(scope, "e")
        same = " AND e.user_id IS ? AND e.agent_id IS ? AND e.session_id IS ?"
        targets = [i for i in dict.fromkeys(ids) if i in rows]
        out: dict[str, list[Neighbour]] = {i: [] for i in targets}
        # one statement per 100 targets: a UNION ALL of two LIMIT-ed index scans each
        for c in range(0, len(targets), 100):
            parts: list[str] = []
            params: list[Any] = []
            for n, i in enumerate(targets[c : c + 100]):
                r = rows[i]
                key = (r["user_id"], r["agent_id"], r["session_id"])
                for sign, op, order in ((-1, "<", "DESC"), (1, ">", "ASC")):
                    parts.append(
                        f"SELECT * FROM (SELECT {n} AS t, {sign} AS dir, e.id AS id,"
                        " e.occurred_ts AS ts, e.rid AS rid"
                        f" FROM episodes e WHERE {where}{same}"
                        f" AND (e.occurred_ts, e.rid) {op} (?, ?)"
                        f" ORDER BY e.occurred_ts {order}, e.rid {order} LIMIT ?)"
                    )
                    params += [*args, *key, r["occurred_ts"], r["rid"], radius]
            chunk = targets[c : c + 100]
            found = self._q(" UNION ALL ".join(parts), params)
            # nearest first on each side, whatever order the engine returned
            found.sort(key=lambda x: (x["t"], x["dir"], x["dir"] * x["ts"], x["dir"] * x["rid"]))
            counts: dict[tuple[int, int], int] = {}
            for row in found:
                k = (row["t"], row["dir"])
                counts[k] = counts.get(k, 0) + 1
                out[chunk[row["t"]]].append(Neighbour(row["id"], row["dir"] * counts[k]))
        for i in targets:
            out[i].sort(key=lambda nb: nb.offset)
        return out

    # -- search ----------------------------------------------------------------

