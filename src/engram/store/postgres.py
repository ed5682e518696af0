"""PostgreSQL + pgvector store, for ``postgresql://`` URLs (``pip install 'engramdb[postgres]'``).

Same contract as :class:`~engram.store.sqlite.SQLiteStore` (see
:mod:`engram.store.base`); what differs is how it is met:

* A psycopg 3 connection pool (``pool_size`` connections, autocommit, UTC);
  every :meth:`write` is one transaction, retried up to three times when
  PostgreSQL aborts it for a deadlock or serialization failure (the whole
  transaction rolled back, so a retry is safe). Any number of processes may
  write at once.
* Search of a user's scope: in this process, as on SQLite (BM25 and cosine
  over a per-user :class:`~engram.index.partition.PartitionIndex`), kept
  current by the change feed of migration ``0008_change_feed``; see
  :mod:`engram.store.postgres_index`. Other scopes take the SQL path below.
* Lexical search (SQL path): PostgreSQL full-text search (``english`` config, a
  ``tsvector`` per item, GIN index) ranked with ``ts_rank_cd(tsv, q, 1)``:
  cover density (term frequency and proximity) divided by ``1 + log(length)``.
  It is BM25-*like* (saturating term frequency, length normalisation) but has
  no IDF; fusion in :mod:`engram.retrieval` uses ranks, not raw scores.
* Vector search (SQL path): pgvector, see :mod:`engram.store.postgres_vector` (HNSW per
  model, exact search inside small scopes, widening for selective filters).
* Deleted rows stay in the heap until (auto)vacuum reclaims them; they are
  unreachable by every query at once.
* psycopg errors are raised as :class:`~engram.errors.StoreError`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg import Connection
from psycopg import errors as pg_errors

from ..errors import Conflict, StoreError
from ..models import Episode, ItemRef, Memory, Scope
from ..timeutil import now
from .base import (
    Fence,
    Store,
    VectorRecord,
    WriteBatch,
    WriteOutcome,
)
from .migrations import pending
from .postgres_index import prune_sql
from .postgres_pool import register_vector
from .postgres_rows import held_metadata
from .postgres_schema import FENCE_LOCK_CLASS, MIGRATION_LOCK_ID, MIGRATIONS
from .postgres_search import PgSearch
from .postgres_sql import (
    EP_COLS,
    MEM_COLS,
    POSTGRES,
    TEXT_CONFIG,
    episode_from_row,
    memory_from_row,
    prefixed,
)
from .postgres_streams import MARKER_SQL
from .postgres_vector import create_index_sql, index_name
from .sql_browse import SQLBrowse
from .sql_common import (
    check_meta,
    episode_values,
    insert_jobs,
    insert_versions,
    memory_values,
)
from .sqlite_rowcache import Read

__all__ = ["PostgresStore"]

_log = logging.getLogger(__name__)
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)


class PostgresStore(PgSearch, SQLBrowse, Store):
    """See the module docstring.

    ``hnsw_m``, ``hnsw_ef_construction``: build parameters of the HNSW indexes
    (used when an index is created). ``ef_search``: first candidate-list size
    of an approximate search. ``exact_limit``: scopes with at most this many
    passing vectors are searched exactly. ``auto_index=False`` leaves index
    creation to :meth:`create_vector_indexes` (faster bulk loads); with
    ``auto_index=True`` a model's HNSW index is built by the first write after
    which it holds more than ``exact_limit`` vectors (see :meth:`_index_due`).
    ``pool_size``: most connections this object opens.
    """

    # -- lifecycle -------------------------------------------------------------
    def applied_migrations(self) -> list[str]:
        with self._conn() as conn:
            return self._applied(conn)

    @staticmethod
    def _applied(conn: Connection[Any]) -> list[str]:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (seq bigint GENERATED ALWAYS AS"
            " IDENTITY, name text PRIMARY KEY, applied_at timestamptz NOT NULL)"
        )
        return [r["name"] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY seq")]

    def migrate(self) -> list[str]:
        done: list[str] = []
        with self._conn() as conn:
            self._applied(conn)  # the bookkeeping table itself, outside the lock
            while True:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
                    try:
                        todo = pending(MIGRATIONS, self._applied(conn))
                    except ValueError as exc:
                        raise StoreError(str(exc)) from exc
                    if not todo:
                        break
                    migration = todo[0]
                    try:
                        migration.apply(conn)
                    except psycopg.Error as exc:
                        raise StoreError(f"migration {migration.name} failed: {exc}") from exc
                    conn.execute(
                        "INSERT INTO schema_migrations (name, applied_at) VALUES (%s, %s)",
                        (migration.name, now()),
                    )
                done.append(migration.name)
            register_vector(conn)
        return done

    def change_marker(self) -> str | None:
        """The server's transaction snapshot (``pg_current_snapshot()``): every
        commit of a writing transaction, by any connection or process, moves its
        ``xmax`` or leaves its list of running transactions, so the text changes;
        reads assign no transaction id and change nothing. Other databases' and
        maintenance writes move it too (a needless invalidation, never a stale
        answer). No table is read: nothing reaches a Citus worker. ``None`` on
        Citus, where a write routed to a worker leaves the coordinator's
        snapshot as it was."""
        if self._on_citus():
            return None
        return str(self._q(MARKER_SQL)[0]["snap"])

    # -- writes ----------------------------------------------------------------
    def write(self, batch: WriteBatch) -> WriteOutcome:
        self._streams.drop_hint()
        self._rows.drop_hint()
        if batch.is_empty():
            return WriteOutcome()
        for attempt in range(3):
            try:
                out = self._write_once(batch)
                for rec in batch.vectors:  # registered in vector_spaces (committed)
                    self._spaces.setdefault((rec.model_id, int(np.asarray(rec.vector).size)),
                                            False)
                break
            except StoreError as exc:
                if attempt < 2 and isinstance(exc.__cause__, _RETRYABLE):
                    continue
                raise
        self._prune_feed({e.scope.tenant for e in batch.episodes}
                         | {m.scope.tenant for m in batch.new_memories}
                         | {m.scope.tenant for m, _ in batch.changed_memories}
                         | {r.tenant for r in batch.vectors})
        if self.auto_index:
            written: dict[tuple[str, int], int] = {}
            for rec in batch.vectors:
                key = (rec.model_id, int(np.asarray(rec.vector).size))
                written[key] = written.get(key, 0) + 1
            for key, n in written.items():
                if not self._spaces.get(key) and self._index_due(key, n):
                    self.create_vector_index(*key)
        return out

    def _prune_feed(self, tenants: set[str]) -> None:
        """Prune the change feed of ``tenants`` where due (``postgres_index``:
        a process's first write to a tenant, then at most every
        ``PRUNE_EVERY`` seconds; one tenant-keyed statement each)."""
        for tenant in sorted(tenants):
            if self._index.prune_due(tenant):
                try:  # best effort: the write itself committed
                    self._q(*prune_sql(tenant, self._on_citus()))
                except StoreError as exc:
                    _log.info("change feed not pruned: %s", exc)

    def _index_due(self, key: tuple[str, int], written: int) -> bool:
        """Whether the model ``key`` now holds more vectors than ``exact_limit``
        (so some scope may outgrow exact search) and has no HNSW index yet.

        Until then every search is exact (no scope can pass more than
        ``exact_limit`` rows) and writes skip HNSW maintenance, the dearest part
        of a PostgreSQL write. Looked up in the database only once this process
        has written enough vectors since its last look for the model to have
        crossed the limit (another process's index is noticed the same way)."""
        left = self._index_check.get(key, 0) - written
        self._index_check[key] = left
        if left > 0:
            return False
        limit = self.hnsw.exact_limit
        row = self._q(
            "SELECT (SELECT index_name IS NOT NULL FROM vector_spaces"
            "  WHERE model_id = %s AND dim = %s) AS indexed,"
            " (SELECT count(*) FROM (SELECT 1 FROM vectors WHERE model_id = %s AND dim = %s"
            "  LIMIT %s) s) AS n",
            (*key, *key, limit + 1),
        )[0]
        if row["indexed"]:
            self._spaces[key] = True
            return False
        self._index_check[key] = limit + 1 - int(row["n"])
        return int(row["n"]) > limit

    def _write_once(self, batch: WriteBatch) -> WriteOutcome:
        out = WriteOutcome()
        skipped: set[ItemRef] = set()
        written: set[ItemRef] = set()
        with self._tx() as conn:
            if batch.fence is not None:  # before any row lock: forget waits, or we do
                conn.execute("SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))",
                             (FENCE_LOCK_CLASS, batch.fence.tenant))
            check_meta(POSTGRES, conn, batch.meta_expect)
            created = _insert_many(
                conn, "episodes", "(tenant, id)",
                [(episode_values(POSTGRES, e), _lexical(batch, ItemRef("episode", e.id), e.text))
                 for e in batch.episodes],
            )
            for e, ok in zip(batch.episodes, created, strict=True):
                ref = ItemRef("episode", e.id)
                (out.created_episode_ids if ok else out.existing_episode_ids).append(e.id)
                (written if ok else skipped).add(ref)
            if batch.fence is not None and not _hold_fence(conn, batch.fence):
                out.fenced = True  # derived rows dropped (see Fence)
                batch = batch.episodes_only()
            created = _insert_many(
                conn, "memories", "(tenant, id)",
                [({"tenant": m.scope.tenant, "id": m.id, **memory_values(POSTGRES, m)},
                  _lexical(batch, ItemRef("memory", m.id), m.text))
                 for m in batch.new_memories],
            )
            for m, ok in zip(batch.new_memories, created, strict=True):
                ref = ItemRef("memory", m.id)
                (out.created_memory_ids if ok else out.existing_memory_ids).append(m.id)
                (written if ok else skipped).add(ref)
            for m, expected in batch.changed_memories:
                ref = ItemRef("memory", m.id)
                vals = memory_values(POSTGRES, m)
                sets = ", ".join(f"{c} = %s" for c in vals)
                row = conn.execute(
                    f"UPDATE memories SET {sets}, index_text = %s,"
                    " tsv = to_tsvector(%s::regconfig, %s)"
                    " WHERE tenant = %s AND id = %s AND version = %s RETURNING rid",
                    (*vals.values(), *_lexical(batch, ref, m.text),
                     m.scope.tenant, m.id, expected),
                ).fetchone()
                if row is None:
                    raise Conflict(
                        f"memory {m.id} changed concurrently (expected version {expected}); retry"
                    )
                written.add(ref)
            insert_versions(POSTGRES, conn, batch.versions)
            vectors = [r for r in batch.vectors if r.ref not in skipped]
            if vectors:
                self._upsert_vectors(conn, vectors, batch, written)
            insert_jobs(POSTGRES, conn, batch.jobs)
        return out

    def _upsert_vectors(
        self, conn: Connection[Any], records: list[VectorRecord], batch: WriteBatch,
        written: set[ItemRef],
    ) -> None:
        rows = []
        spaces: set[tuple[str, int]] = set()
        for rec in records:
            vec = np.ascontiguousarray(rec.vector, dtype=np.float32).reshape(-1)
            spaces.add((rec.model_id, int(vec.size)))
            rows.append((rec.tenant, rec.ref.type, rec.ref.id, rec.model_id, vec.size, vec,
                         rec.content_hash))
            if rec.ref not in written and rec.ref in batch.index_texts:
                table = "episodes" if rec.ref.type == "episode" else "memories"
                conn.execute(
                    f"UPDATE {table} SET index_text = %s, tsv = to_tsvector(%s::regconfig, %s)"
                    " WHERE tenant = %s AND id = %s",
                    (*_lexical(batch, rec.ref, ""), rec.tenant, rec.ref.id),
                )
        # a reference table on Citus (every node): written once per model and
        # process, not on every write (the key is known once registered)
        for key in sorted(spaces - self._spaces.keys()):
            conn.execute(
                "INSERT INTO vector_spaces (model_id, dim) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                key,
            )
        for tenant, item_type, item_id, *_ in rows:
            if ItemRef(item_type, item_id) in written:
                continue
            table = "episodes" if item_type == "episode" else "memories"
            found = conn.execute(
                f"SELECT 1 FROM {table} WHERE tenant = %s AND id = %s", (tenant, item_id)
            ).fetchone()
            if found is None:
                raise StoreError(f"vector for unknown {item_type} {item_id}")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO vectors (tenant, item_type, item_id, model_id, dim, embedding,"
                " content_hash) VALUES (%s,%s,%s,%s,%s,%s,%s)"
                " ON CONFLICT (tenant, item_type, item_id) DO UPDATE SET"
                " model_id = excluded.model_id, dim = excluded.dim,"
                " embedding = excluded.embedding, content_hash = excluded.content_hash",
                rows,
            )

    def create_vector_index(self, model_id: str, dim: int) -> str:
        """Build (if missing) the HNSW index of one model; return its name.

        Serialised across processes by an advisory lock; idempotent."""
        name = index_name(model_id, dim)
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID + 1,))
            conn.execute(create_index_sql(model_id, dim, self.hnsw))
            conn.execute(
                "INSERT INTO vector_spaces (model_id, dim, index_name) VALUES (%s, %s, %s)"
                " ON CONFLICT (model_id, dim) DO UPDATE SET index_name = excluded.index_name",
                (model_id, dim, name),
            )
        self._spaces[(model_id, dim)] = True
        self._space_cache.pop(model_id, None)
        return name

    def finish_bulk_load(self) -> None:
        """Build the HNSW indexes a load with ``auto_index=False`` deferred."""
        self.create_vector_indexes()

    def relation_bytes(self, tables: Sequence[str]) -> dict[str, int]:
        """On-disk bytes of each table with its indexes and TOAST
        (``pg_total_relation_size``), for capacity planning."""
        return {t: int(self._q("SELECT pg_total_relation_size(%s::regclass) AS n", (t,))[0]["n"])
                for t in tables}

    def create_vector_indexes(self) -> list[str]:
        """Build the HNSW index of every model/dimension holding vectors, then
        refresh planner statistics (call after a bulk load)."""
        rows = self._q("SELECT model_id, dim FROM vector_spaces ORDER BY model_id, dim")
        with self._conn() as conn:
            conn.execute("ANALYZE episodes, memories, vectors")
        return [self.create_vector_index(r["model_id"], int(r["dim"])) for r in rows]

    def add_counters(self, tenant: str, deltas: Mapping[str, int]) -> None:
        """One atomic increment per key in ``job_counters``, keyed on ``tenant``."""
        if not deltas:
            return
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO job_counters (tenant, key, value)"
                " SELECT %s, k, v FROM unnest(%s::text[], %s::bigint[]) AS d(k, v)"
                " ON CONFLICT (tenant, key) DO UPDATE"
                " SET value = job_counters.value + excluded.value",
                (tenant, list(deltas), [int(n) for n in deltas.values()]),
            )

    def counters(self) -> dict[str, int]:
        """Sums over every tenant (a multi-shard read on Citus), plus totals kept
        in ``meta`` before migration ``0007_job_counters`` or copied by a store move."""
        totals = super().counters()
        for r in self._q("SELECT key, sum(value) AS n FROM job_counters GROUP BY key"):
            totals[r["key"]] = totals.get(r["key"], 0) + int(r["n"])
        return totals

    def lexical_texts(self, tenant: str, refs: Sequence[ItemRef]) -> dict[ItemRef, str]:
        out: dict[ItemRef, str] = {}
        for item_type, table in (("episode", "episodes"), ("memory", "memories")):
            ids = [r.id for r in refs if r.type == item_type]
            if ids:
                rows = self._q(
                    f"SELECT id, coalesce(index_text, text) AS body FROM {table}"
                    " WHERE tenant = %s AND id = ANY(%s)",
                    (tenant, ids),
                )
                out.update({ItemRef(item_type, r["id"]): r["body"] for r in rows})  # type: ignore[arg-type]
        return out

    # -- reads -----------------------------------------------------------------
    def _get_many(
        self, table: str, cols: str, scope: Scope, ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        return {r["id"]: r for r in self._q(*_many_sql(table, cols, scope, ids), binary=True)}

    def get_items(
        self, scope: Scope, episode_ids: Sequence[str], memory_ids: Sequence[str]
    ) -> tuple[list[Episode], list[Memory]]:
        """Both reads pipelined: one round trip. Right after a search ranked the
        user in process, rows read lately come from the row cache, current as of
        that search's snapshot, and only the others are read
        (:mod:`.postgres_rows`)."""
        if scope.user_id is not None and self._rows.take_hint(scope):
            return self._rows.get_items(scope, episode_ids, memory_ids,
                                        lambda e, m: self._read_held(scope, e, m))
        if not episode_ids or not memory_ids:
            return super().get_items(scope, episode_ids, memory_ids)
        erows, mrows = self._read_rows(scope, episode_ids, memory_ids, "")
        return ([episode_from_row(erows[i]) for i in episode_ids if i in erows],
                [memory_from_row(mrows[i]) for i in memory_ids if i in mrows])

    def _read_rows(self, scope: Scope, episode_ids: Sequence[str], memory_ids: Sequence[str],
                   extra: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The rows of both id lists visible in ``scope``, by id, pipelined."""
        with self._conn() as conn:
            with conn.pipeline():  # leaving it syncs both: one round trip
                eps = None if not episode_ids else conn.execute(
                    *_many_sql("episodes", extra + EP_COLS, scope, episode_ids), binary=True)
                mems = None if not memory_ids else conn.execute(
                    *_many_sql("memories", extra + MEM_COLS, scope, memory_ids), binary=True)
            return ({} if eps is None else {r["id"]: r for r in eps.fetchall()},
                    {} if mems is None else {r["id"]: r for r in mems.fetchall()})

    def _read_held(self, scope: Scope, episode_ids: list[str],
                   memory_ids: list[str]) -> tuple[Read, Read]:
        """Rows to hold: by id, (store key, decoded item, metadata as JSON text)."""
        erows, mrows = self._read_rows(scope, episode_ids, memory_ids, "rid, ")
        eps = {i: (r["rid"] * 2, episode_from_row(r)) for i, r in erows.items()}
        mems = {i: (r["rid"] * 2 + 1, memory_from_row(r)) for i, r in mrows.items()}
        return ({i: (k, e, held_metadata(e.metadata)) for i, (k, e) in eps.items()},
                {i: (k, m, held_metadata(m.metadata)) for i, (k, m) in mems.items()})


def _hold_fence(conn: Connection[Any], fence: Fence) -> bool:
    """Check ``fence`` and claim its episodes inside the write's transaction.

    The caller holds the tenant's shared fence lock, so a ``forget`` (which
    takes it exclusively) ran wholly before or runs wholly after this write.
    ``FOR UPDATE`` serialises two claims of one episode: the second sees it
    claimed (READ COMMITTED re-checks a row after waiting for its lock)."""
    if fence.job_id is not None and conn.execute(
        "SELECT 1 FROM jobs WHERE tenant = %s AND id = %s", (fence.tenant, fence.job_id)
    ).fetchone() is None:
        return False
    ids = list(dict.fromkeys(fence.claim))
    if not ids:
        return True
    free = conn.execute(
        "SELECT id FROM episodes WHERE tenant = %s AND id = ANY(%s) AND derived_at IS NULL"
        " ORDER BY id FOR UPDATE", (fence.tenant, ids),
    ).fetchall()
    if len(free) != len(ids):
        return False
    conn.execute("UPDATE episodes SET derived_at = now() WHERE tenant = %s AND id = ANY(%s)",
                 (fence.tenant, ids))
    return True


def _insert_many(
    conn: Connection[Any], table: str, key: str,
    rows: list[tuple[dict[str, Any], tuple[str | None, str, str]]],
) -> list[bool]:
    """``INSERT ... ON CONFLICT {key} DO NOTHING`` of each ``(values, lexical)``
    row in one pipeline (``lexical`` as from :func:`_lexical`); ``True`` where a
    row was inserted."""
    if not rows:
        return []
    cols = list(rows[0][0])
    query = (
        f"INSERT INTO {table} ({', '.join(cols)}, index_text, tsv) VALUES"
        f" ({', '.join(['%s'] * len(cols))}, %s, to_tsvector(%s::regconfig, %s))"
        f" ON CONFLICT {key} DO NOTHING RETURNING rid"
    )
    out: list[bool] = []
    with conn.cursor() as cur:
        cur.executemany(query, [(*vals.values(), *lex) for vals, lex in rows], returning=True)
        while True:
            out.append(cur.fetchone() is not None)
            if not cur.nextset():
                break
    return out


def _lexical(batch: WriteBatch, ref: ItemRef, text: str) -> tuple[str | None, str, str]:
    """``(index_text, config, body)``: ``index_text`` is NULL when it equals the text."""
    body = batch.index_texts.get(ref, text)
    return (None if body == text else body), TEXT_CONFIG, body


def _many_sql(table: str, cols: str, scope: Scope, ids: Sequence[str]) -> tuple[str, list[Any]]:
    """The rows of ``table`` with these ids visible in ``scope``, through the
    primary key ``(tenant, id)``, one probe per id: the scope's other fields are
    compared with ``IS NOT DISTINCT FROM`` (the same test for a given value, but
    no index serves it), since on a table not analysed yet the planner took the
    user's index and filtered the ids instead (0.2-0.5 ms for 4-65 ids among
    663 rows, against 0.01-0.1 ms)."""
    where, args = ["x.tenant = %s"], [scope.tenant]
    for col in ("user_id", "agent_id", "session_id"):
        value = getattr(scope, col)
        if value is not None:
            where.append(f"x.{col} IS NOT DISTINCT FROM %s")
            args.append(value)
    return (f"SELECT {prefixed(cols)} FROM unnest(%s::text[]) i(id) JOIN LATERAL"
            f" (SELECT * FROM {table} x WHERE {' AND '.join(where)} AND x.id = i.id LIMIT 1)"
            " x ON TRUE", [list(dict.fromkeys(ids)), *args])
