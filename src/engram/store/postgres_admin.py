"""Maintenance methods of the PostgreSQL store: forget, remaining, export, stats, re-embed.

Mixed into :class:`~engram.store.postgres.PostgresStore`; kept apart so each
module reads in one sitting.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..models import Episode, ItemRef, Memory, Scope
from .base import VectorRecord
from .postgres_residue import PgResidue
from .postgres_schema import FENCE_LOCK_CLASS
from .postgres_sql import (
    EP_COLS,
    MEM_COLS,
    as_array,
    episode_from_row,
    memory_from_row,
    prefixed,
    scope_sql,
)
from .postgres_vector import index_name

__all__ = ["PgAdmin"]

_ITEM_TABLES = (("episode", "episodes"), ("memory", "memories"))


class PgAdmin(PgResidue):
    def forget(self, scope: Scope) -> dict[str, int]:
        """Hard-delete ``scope`` in one transaction. ``fts`` counts lexical
        entries (the ``tsv`` of each deleted item)."""
        where, args = scope_sql(scope)
        counts: dict[str, int] = {}
        with self._tx() as conn:
            # wait for running fenced writes, hold new ones off (store.base.Fence)
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                         (FENCE_LOCK_CLASS, scope.tenant))
            vec = 0
            for item_type, table in _ITEM_TABLES:
                cur = conn.execute(
                    f"DELETE FROM vectors v USING {table} x WHERE v.tenant = x.tenant"
                    f" AND v.item_type = '{item_type}' AND v.item_id = x.id AND {where}",
                    args,
                )
                vec += cur.rowcount
            counts["vectors"] = vec
            users: set[str] = set()
            for table in ("memory_versions", "memories", "episodes", "jobs"):
                if table in ("memories", "episodes"):
                    counts[table] = _delete_items(conn, table, f"x WHERE {where}", args, users)
                else:
                    counts[table] = conn.execute(f"DELETE FROM {table} x WHERE {where}",
                                                 args).rowcount
            counts["fts"] = counts["memories"] + counts["episodes"]
        if counts["fts"]:
            self._users_gone(scope.tenant, users)
        return counts

    def delete_episodes(
        self, tenant: str, episode_ids: Sequence[str], memory_ids: Sequence[str] = ()
    ) -> dict[str, int]:
        """Like :meth:`forget` for these ids: the lexical entry is the row's
        ``tsv`` column, so ``fts`` counts the deleted items."""
        eps, mems = list(dict.fromkeys(episode_ids)), list(dict.fromkeys(memory_ids))
        counts: dict[str, int] = {"vectors": 0}
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                         (FENCE_LOCK_CLASS, tenant))
            for item_type, ids in (("episode", eps), ("memory", mems)):
                counts["vectors"] += conn.execute(
                    "DELETE FROM vectors WHERE tenant = %s AND item_type = %s"
                    " AND item_id = ANY(%s)", (tenant, item_type, ids)).rowcount
            counts["memory_versions"] = conn.execute(
                "DELETE FROM memory_versions WHERE tenant = %s AND memory_id = ANY(%s)",
                (tenant, mems)).rowcount
            users: set[str] = set()
            for table, ids in (("memories", mems), ("episodes", eps)):
                counts[table] = _delete_items(conn, table, "WHERE tenant = %s AND id = ANY(%s)",
                                              (tenant, ids), users)
        counts["fts"] = counts["memories"] + counts["episodes"]
        if counts["fts"]:
            self._users_gone(tenant, users)
        return counts

    def memories_citing(self, scope: Scope, episode_ids: Sequence[str]) -> list[Memory]:
        ids = list(dict.fromkeys(episode_ids))
        if not ids:
            return []
        where, args = scope_sql(scope)
        rows = self._q(
            f"SELECT {prefixed(MEM_COLS)} FROM memories x WHERE {where}"
            " AND x.source_episode_ids ?| %s ORDER BY x.rid", (*args, ids))
        return [memory_from_row(r) for r in rows]

    def iter_vectors(self, tenant: str) -> Iterator[VectorRecord]:
        for r in self._q(
            "SELECT item_type, item_id, model_id, embedding, content_hash FROM vectors"
            " WHERE tenant = %s", (tenant,),
        ):
            yield VectorRecord(ItemRef(r["item_type"], r["item_id"]), tenant, r["model_id"],
                               as_array(r["embedding"]), r["content_hash"])

    def remaining(self, scope: Scope) -> dict[str, int]:
        where, args = scope_sql(scope)
        out: dict[str, int] = {}
        with self._conn() as conn:
            for table in ("episodes", "memories", "memory_versions", "jobs"):
                row = conn.execute(f"SELECT count(*) AS n FROM {table} x WHERE {where}", args)
                out[table] = int(row.fetchone()["n"])  # type: ignore[index]
            out["fts"] = out["episodes"] + out["memories"]
            vec = 0
            for item_type, table in _ITEM_TABLES:
                row = conn.execute(
                    f"SELECT count(*) AS n FROM vectors v JOIN {table} x ON v.tenant = x.tenant"
                    f" AND v.item_type = '{item_type}' AND v.item_id = x.id WHERE {where}",
                    args,
                )
                vec += int(row.fetchone()["n"])  # type: ignore[index]
            out["vectors"] = vec
            row = conn.execute(
                "SELECT count(*) AS n FROM vectors v WHERE v.tenant = %s AND NOT EXISTS"
                " (SELECT 1 FROM episodes e WHERE v.item_type = 'episode' AND e.tenant = v.tenant"
                " AND e.id = v.item_id) AND NOT EXISTS (SELECT 1 FROM memories m WHERE"
                " v.item_type = 'memory' AND m.tenant = v.tenant AND m.id = v.item_id)",
                (scope.tenant,),
            )
            out["orphan_vectors"] = int(row.fetchone()["n"])  # type: ignore[index]
        return out

    def _vector_count(self, scope: Scope | None) -> int:
        if scope is None:
            return int(self._q("SELECT count(*) AS n FROM vectors")[0]["n"])
        where, args = scope_sql(scope)
        return sum(
            int(self._q(
                f"SELECT count(*) AS n FROM vectors v JOIN {table} x ON v.tenant = x.tenant"
                f" AND v.item_type = '{t}' AND v.item_id = x.id WHERE {where}", args)[0]["n"])
            for t, table in _ITEM_TABLES
        )

    def _db_bytes(self, scope: Scope | None) -> int | None:
        """The whole database (``pg_database_size``) for the whole store, ``None``
        for a scope (dead tuples of rolled-back or deleted rows make it move with
        nothing visible changing)."""
        if scope is not None:
            return None
        return int(self._q("SELECT pg_database_size(current_database()) AS n")[0]["n"])

    def iter_items_for_reembed(
        self, model_id: str, batch_size: int
    ) -> Iterator[list[Episode | Memory]]:
        for item_type, table in _ITEM_TABLES:
            cols = EP_COLS if item_type == "episode" else MEM_COLS
            last = 0
            while True:
                rows = self._q(
                    f"SELECT x.rid, {prefixed(cols)} FROM {table} x LEFT JOIN vectors v"
                    " ON v.tenant = x.tenant AND v.item_type = %s AND v.item_id = x.id"
                    " WHERE x.rid > %s AND (v.item_id IS NULL OR v.model_id <> %s)"
                    " ORDER BY x.rid LIMIT %s",
                    (item_type, last, model_id, batch_size),
                )
                if not rows:
                    break
                last = int(rows[-1]["rid"])
                conv = episode_from_row if item_type == "episode" else memory_from_row
                yield [conv(r) for r in rows]

    def drop_vectors_except(self, model_id: str) -> int:
        """Delete other models' vectors, their ``vector_spaces`` rows and HNSW indexes."""
        with self._tx() as conn:
            n = conn.execute("DELETE FROM vectors WHERE model_id <> %s", (model_id,)).rowcount
            gone = conn.execute(
                "DELETE FROM vector_spaces WHERE model_id <> %s RETURNING model_id, dim",
                (model_id,),
            ).fetchall()
            for r in gone:
                conn.execute(f'DROP INDEX IF EXISTS "{index_name(r["model_id"], r["dim"])}"')
        for key in [k for k in self._spaces if k[0] != model_id]:
            del self._spaces[key]
        return int(n)


def _delete_items(conn: Any, table: str, where: str, args: Sequence[Any],
                  users: set[str]) -> int:
    """``DELETE FROM table {where}``: how many rows went; the users they were of
    are added to ``users`` (the caller drops its copies of them)."""
    row = conn.execute(
        f"WITH d AS (DELETE FROM {table} {where} RETURNING user_id)"
        " SELECT count(*) AS n, array_remove(array_agg(DISTINCT user_id), NULL) AS users"
        " FROM d", args).fetchone()
    users.update(row["users"] or ())
    return int(row["n"])
