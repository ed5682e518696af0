"""Maintenance side of the SQLite store: forget, export, stats, re-embed, jobs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..models import (
    Episode,
    ItemRef,
    Memory,
    Scope,
)
from .base import VectorRecord
from .rawfile import database_files, raw_file_scan
from .residue import Residue
from .sqlite_base import SQLiteBase, log, store_error
from .sqlite_index_files import IndexFiles, owners_of
from .sqlite_rows import (
    _EP_COLS,
    _MEM_COLS,
    _episode,
    _memory,
    _prefixed,
    _scope_sql,
    _scope_tags,
)


class SQLiteAdmin(SQLiteBase):
    """Maintenance methods; see :class:`~engram.store.sqlite.SQLiteStore`."""

    index_files: IndexFiles  # set by SQLiteSearch
    #: outcome of the last delete's WAL checkpoint, until :meth:`forget_residue` reads it
    _wal_truncated: bool | None = None

    def _drop_index_files(self, conn: sqlite3.Connection, ep: list[int], mem: list[int]) -> None:
        """Inside a hard delete: the persisted indexes of every partition these rows
        are in go with them (see :mod:`~engram.store.sqlite_index_files`)."""
        self.index_files.drop(conn, owners_of(conn, "episodes", ep)
                              | owners_of(conn, "memories", mem))

    def _scope_rids(self, conn: sqlite3.Connection, table: str, scope: Scope) -> list[int]:
        where, args = _scope_sql(scope, "x")
        return [int(r[0]) for r in conn.execute(f"SELECT rid FROM {table} x WHERE {where}", args)]

    @staticmethod
    def _delete_index_rows(conn: sqlite3.Connection, ep: list[int], mem: list[int]
                           ) -> dict[str, int]:
        """Delete the lexical entries and vectors of these episode and memory rids,
        then merge FTS segments so deleted terms do not linger in old segments."""
        fts = 0
        vec = 0
        for rids, kind, add in ((ep, "episode", 0), (mem, "memory", 1)):
            for i in range(0, len(rids), 500):
                chunk = rids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                fts += conn.execute(
                    f"DELETE FROM fts WHERE rowid IN ({marks})", [r * 2 + add for r in chunk]
                ).rowcount
                vec += conn.execute(
                    f"DELETE FROM vectors WHERE item_type = ? AND item_rid IN ({marks})",
                    (kind, *chunk),
                ).rowcount
        if fts:
            conn.execute("INSERT INTO fts (fts) VALUES ('optimize')")
        return {"fts": fts, "vectors": vec}

    def _after_delete(self, clear_partitions: bool) -> None:
        """Truncate the WAL so deleted text leaves it, best effort: the one
        checkpoint of a forget. Its outcome is kept for :meth:`forget_residue`,
        which reports it instead of waiting on the busy timeout a second time."""
        with self._lock:
            self._key_hints = {}
            self._rows.clear()
            if clear_partitions:
                self._partitions.clear()
                self._streams.clear()
            if self.path == ":memory:":
                return
            try:
                busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.Error as exc:
                log.warning("checkpoint after delete failed: %s", exc)
                busy = 1
            self._wal_truncated = busy == 0

    def _checkpoint_for_residue(self) -> bool:
        """Whether the WAL is truncated for :meth:`forget_residue` (under the lock).

        The last delete's checkpoint completed: nothing to do. A row written since
        cannot bring deleted text back (``secure_delete`` overwrote it in its page,
        and the raw scan checks the WAL anyway). It did not complete (a reader held an
        older snapshot): one retry that does not wait. No delete's outcome is pending
        (a repeated or standalone call): a checkpoint that waits as usual."""
        pending, self._wal_truncated = self._wal_truncated, None
        if pending:
            return True
        conn = self._conn
        try:
            if pending is None:
                return bool(conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0)
            wait = conn.execute("PRAGMA busy_timeout").fetchone()[0]
            conn.execute("PRAGMA busy_timeout=0")
            try:
                return bool(conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0)
            finally:
                conn.execute(f"PRAGMA busy_timeout={int(wait)}")
        except sqlite3.Error as exc:
            raise store_error("checkpoint failed", exc, self.path) from exc

    def forget(self, scope: Scope) -> dict[str, int]:
        with self._tx() as conn:
            ep = self._scope_rids(conn, "episodes", scope)
            mem = self._scope_rids(conn, "memories", scope)
            self._drop_index_files(conn, ep, mem)
            counts = self._delete_index_rows(conn, ep, mem)
            for table in ("memory_versions", "memories", "episodes", "jobs"):
                where, args = _scope_sql(scope, "x")
                counts[table] = conn.execute(
                    f"DELETE FROM {table} AS x WHERE {where}", args
                ).rowcount
        self._after_delete(clear_partitions=True)
        return counts

    def delete_episodes(
        self, tenant: str, episode_ids: Sequence[str], memory_ids: Sequence[str] = ()
    ) -> dict[str, int]:
        with self._tx() as conn:
            rids: dict[str, list[int]] = {}
            for table, ids in (("episodes", episode_ids), ("memories", memory_ids)):
                rids[table] = []
                ids = list(dict.fromkeys(ids))
                for i in range(0, len(ids), 500):
                    chunk = ids[i : i + 500]
                    rids[table] += [int(r[0]) for r in conn.execute(
                        f"SELECT rid FROM {table} WHERE tenant = ? AND id IN"
                        f" ({','.join('?' * len(chunk))})", (tenant, *chunk))]
            self._drop_index_files(conn, rids["episodes"], rids["memories"])
            counts = self._delete_index_rows(conn, rids["episodes"], rids["memories"])
            mids = list(dict.fromkeys(memory_ids))
            counts["memory_versions"] = 0
            for i in range(0, len(mids), 500):
                chunk = mids[i : i + 500]
                counts["memory_versions"] += conn.execute(
                    "DELETE FROM memory_versions WHERE tenant = ? AND memory_id IN"
                    f" ({','.join('?' * len(chunk))})", (tenant, *chunk)).rowcount
            for table in ("memories", "episodes"):
                counts[table] = 0
                for i in range(0, len(rids[table]), 500):
                    part = rids[table][i : i + 500]
                    counts[table] += conn.execute(
                        f"DELETE FROM {table} WHERE rid IN ({','.join('?' * len(part))})",
                        part).rowcount
        self._after_delete(clear_partitions=False)
        return counts

    def memories_citing(self, scope: Scope, episode_ids: Sequence[str]) -> list[Memory]:
        ids = list(dict.fromkeys(episode_ids))
        if not ids:
            return []
        where, args = _scope_sql(scope, "x")
        found: dict[str, tuple[int, Memory]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for r in self._q(
                f"SELECT x.rid, {_prefixed(_MEM_COLS)} FROM memories x WHERE {where} AND EXISTS"
                " (SELECT 1 FROM json_each(x.source_episode_ids) j WHERE j.value IN"
                f" ({','.join('?' * len(chunk))}))", (*args, *chunk),
            ):
                found[r["id"]] = (int(r["rid"]), _memory(r))
        return [m for _, m in sorted(found.values(), key=lambda x: x[0])]

    def forget_residue(self, needles: Sequence[str], scan_limit: int) -> Residue:
        """After :meth:`forget`: the WAL truncated (by the forget's own checkpoint,
        see :meth:`_checkpoint_for_residue`), then scan the raw file bytes
        (the database, its WAL and the persisted partition index files).

        The scan runs in a child process (:func:`~engram.store.rawfile.raw_file_scan`):
        reading the file here would drop this process's SQLite locks. A needle
        found counts as a leftover only if no live row (any scope) holds it.
        See :mod:`engram.store.residue` for the checks and exposure codes."""
        res = Residue("sqlite", exposure=["backups", "storage_blocks"])
        if self.path == ":memory:":
            res.checks["raw_file"] = "skipped"
            return res
        with self._lock:
            self._check_open()
            truncated = self._checkpoint_for_residue()
        res.checks["wal_checkpoint"] = "passed" if truncated else "failed"
        files = database_files(self.path)
        size = sum(f.stat().st_size for f in files if f.exists())
        if size > scan_limit:
            res.checks["raw_file"] = "skipped"
            res.exposure.append("unscanned_files")
            return res
        # the index files of other partitions are scanned too when the limit allows
        # (the forgotten partitions' files were deleted in the forget's transaction)
        index = self.index_files.files()
        if size + sum(f.stat().st_size for f in index) <= scan_limit:
            files = [*files, *index]
        elif index:
            res.exposure.append("unscanned_files")
        found = raw_file_scan(files, needles)
        res.leftovers = sum(1 for t in found if not self._text_is_live(t))
        res.raw_scan = res.leftovers == 0
        res.checks["raw_file"] = "passed" if res.raw_scan else "failed"
        return res

    def _text_is_live(self, text: str) -> bool:
        """Whether a live row (any scope) still holds ``text``: its bytes are legitimate."""
        for table, col in (("episodes", "text"), ("memories", "text"),
                           ("memory_versions", "after"), ("memory_versions", "before"),
                           ("jobs", "payload")):
            if self._q(f"SELECT 1 FROM {table} WHERE instr({col}, ?) > 0 LIMIT 1", (text,)):
                return True
        return False

    def iter_vectors(self, tenant: str) -> Iterator[VectorRecord]:
        for r in self._q(
            "SELECT 'episode', x.id, v.model_id, v.vector, v.content_hash FROM vectors v"
            " JOIN episodes x ON v.item_type = 'episode' AND x.rid = v.item_rid"
            " WHERE x.tenant = ? UNION ALL"
            " SELECT 'memory', x.id, v.model_id, v.vector, v.content_hash FROM vectors v"
            " JOIN memories x ON v.item_type = 'memory' AND x.rid = v.item_rid WHERE x.tenant = ?",
            (tenant, tenant),
        ):
            yield VectorRecord(ItemRef(r[0], r[1]), tenant, r[2],
                               np.frombuffer(r[3], dtype=np.float32).copy(), r[4])

    def lexical_texts(self, tenant: str, refs: Sequence[ItemRef]) -> dict[ItemRef, str]:
        out: dict[ItemRef, str] = {}
        for ref in refs:
            table, add = ("episodes", 0) if ref.type == "episode" else ("memories", 1)
            rows = self._q(
                f"SELECT f.body FROM {table} x JOIN fts f ON f.rowid = x.rid * 2 + {add}"
                " WHERE x.tenant = ? AND x.id = ?", (tenant, ref.id))
            if rows:
                out[ref] = rows[0][0]
        return out

    def remaining(self, scope: Scope) -> dict[str, int]:
        try:
            return self._remaining(scope)
        except sqlite3.Error as exc:
            raise store_error("counting remaining rows failed", exc, self.path) from exc

    def _remaining(self, scope: Scope) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._lock:
            self._check_open()
            conn = self._conn
            ep = self._scope_rids(conn, "episodes", scope)
            mem = self._scope_rids(conn, "memories", scope)
            for table in ("episodes", "memories", "memory_versions", "jobs"):
                where, args = _scope_sql(scope, "x")
                out[table] = conn.execute(
                    f"SELECT count(*) FROM {table} x WHERE {where}", args
                ).fetchone()[0]
            tags = " AND ".join(f'"{t}"' for t in _scope_tags(scope))
            out["fts"] = conn.execute(
                "SELECT count(*) FROM fts WHERE fts MATCH ?", (f"tags:({tags})",)
            ).fetchone()[0]
            vec = 0
            for rids, kind in ((ep, "episode"), (mem, "memory")):
                for i in range(0, len(rids), 500):
                    chunk = rids[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    vec += conn.execute(
                        "SELECT count(*) FROM vectors"
                        f" WHERE item_type = ? AND item_rid IN ({marks})",
                        (kind, *chunk),
                    ).fetchone()[0]
            out["vectors"] = vec
            # orphans: vectors whose item is gone (would be unreachable leftovers)
            out["orphan_vectors"] = conn.execute(
                "SELECT count(*) FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM episodes e"
                " WHERE v.item_type = 'episode' AND e.rid = v.item_rid) AND NOT EXISTS"
                " (SELECT 1 FROM memories m WHERE v.item_type = 'memory' AND m.rid = v.item_rid)"
            ).fetchone()[0]
        return out

    def _vector_count(self, scope: Scope | None) -> int:
        if scope is None:
            return int(self._q("SELECT count(*) FROM vectors")[0][0])
        where, args = _scope_sql(scope, "x")
        return int(self._q(
            f"SELECT (SELECT count(*) FROM vectors v JOIN episodes x ON v.item_type='episode'"
            f" AND x.rid = v.item_rid WHERE {where}) + (SELECT count(*) FROM vectors v JOIN"
            f" memories x ON v.item_type='memory' AND x.rid = v.item_rid WHERE {where})",
            (*args, *args),
        )[0][0])

    def _db_bytes(self, scope: Scope | None) -> int | None:
        """The database file with its ``-wal`` and ``-shm`` (any scope: one file)."""
        if self.path == ":memory:":
            return None
        p = Path(self.path)
        return sum(f.stat().st_size
                   for f in (p, Path(self.path + "-wal"), Path(self.path + "-shm"))
                   if f.exists())

    def iter_items_for_reembed(
        self, model_id: str, batch_size: int
    ) -> Iterator[list[Episode | Memory]]:
        for item_type, table, cols, conv in (
            ("episode", "episodes", _EP_COLS, _episode),
            ("memory", "memories", _MEM_COLS, _memory),
        ):
            last = 0
            while True:
                rows = self._q(
                    f"SELECT x.rid, {_prefixed(cols)} FROM {table} x LEFT JOIN vectors v"
                    " ON v.item_type = ? AND v.item_rid = x.rid WHERE x.rid > ?"
                    " AND (v.rid IS NULL OR v.model_id != ?) ORDER BY x.rid LIMIT ?",
                    (item_type, last, model_id, batch_size),
                )
                if not rows:
                    break
                last = rows[-1]["rid"]
                yield [conv(r) for r in rows]

    def drop_vectors_except(self, model_id: str) -> int:
        with self._tx() as conn:
            n = conn.execute("DELETE FROM vectors WHERE model_id != ?", (model_id,)).rowcount
            self.index_files.drop_all(conn)
        with self._lock:
            self._partitions.clear()
        return int(n)
