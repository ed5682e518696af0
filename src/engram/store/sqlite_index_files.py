"""Persisted partition indexes of the SQLite store: the files beside the database.

A large partition (vectors, filter attributes, BM25 postings and the HNSW
graph of one user or agent, :class:`~engram.index.partition.PartitionIndex`)
takes minutes to rebuild from the tables (the graph dominates: 74-89 s at
100k). The store saves it to ``<database>.index/<owner>.<model>.npz`` and a new
process loads it instead, then applies the change log written since
(:mod:`~engram.store.sqlite_changes`).

What keeps a file honest:

* **Written under the write lock.** A save runs inside ``BEGIN IMMEDIATE``
  after catching up with the change log, so no write (a forget included)
  commits between the state it captures and the file landing (``os.replace``
  of a temporary file: readers see the old file or the new one).
* **The database names the valid file.** Each save draws a random token,
  written into the file's header and into the store's ``meta`` table in the
  same transaction. A file whose token is not the one in ``meta`` (written by
  another database, an older copy of this one, or a save that did not commit)
  is ignored and the partition is rebuilt from the tables.
* **Stale is caught up, too stale is rebuilt.** The header records the
  change-log position the file reflects; loading applies every change logged
  after it (current rows re-read, gone rows removed). When the log no longer
  reaches back that far, or went backwards, the file is ignored.
* **Forget means forgotten.** ``forget``, ``delete_episodes`` and
  ``drop_vectors_except`` delete the files (and their tokens) of every partition
  the deleted rows belong to, inside their own transaction. A saved file holds
  live rows only (removed rows are zero vectors with no id and no terms, the
  graph's copy zeroed too, see :mod:`engram.index.ann`), and the forget audit
  scans the remaining files with the database
  (:meth:`~engram.store.sqlite_admin.SQLiteAdmin.forget_residue`).
* **Encryption at rest is not bypassed**: a store whose rows are encrypted
  (``meta`` key ``encryption``) persists no index file at all, so no plain
  term leaves the database; its partitions are rebuilt after every start.
* Files are created ``0600`` in a ``0700`` directory, read with
  ``allow_pickle=False`` (a planted file cannot run code), and names are
  hashes (no user or agent name on disk). A file whose header, array types or
  sizes do not check out is ignored (rebuilt), never trusted.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ..index.ann import load_graph
from ..index.files import pack, unpack, write_atomically
from ..index.partition import PartitionIndex
from .sqlite_rows import PartitionKey

__all__ = ["FORMAT", "IndexFiles"]

log = logging.getLogger(__name__)

#: the file layout version; another version is ignored (rebuilt)
FORMAT = 1
#: ``meta`` key of an encrypted store (:mod:`engram.trust.encryption`): nothing is persisted
_ENCRYPTED_META = "encryption"
_TOKEN_META = "index_file:"


def _key_digest(key: PartitionKey) -> str:
    return hashlib.sha256("\0".join(key).encode()).hexdigest()


def _owner_stem(tenant: str, kind: str, owner: str | None) -> str:
    return hashlib.sha256(f"{tenant}\0{kind}\0{owner}".encode()).hexdigest()[:32]


class IndexFiles:
    """The index files of one database (``None`` directory: an in-memory database)."""

    #: partitions of fewer rows than this, whose texts also hold fewer index terms than
    #: :attr:`min_terms`, are not persisted: rebuilding them is quick
    min_rows = 2_000
    #: about 2 us a term to rebuild on a 2-core machine: a BEAM 100K chat (200 messages,
    #: 58,000 terms) 100-140 ms, a 500K one (830-930 messages, 190,000-220,000 terms)
    #: 400-460 ms; from their files 15-35 ms
    min_terms = 50_000

    def __init__(self, db_path: str) -> None:
        self.dir = None if db_path == ":memory:" else Path(db_path + ".index")

    def worth_saving(self, part: PartitionIndex) -> bool:
        """Whether ``part`` is large enough to persist (:attr:`min_rows`, :attr:`min_terms`)."""
        return len(part) >= self.min_rows or part.terms >= self.min_terms

    def name(self, key: PartitionKey) -> str:
        tenant, kind, owner, model_id = key
        model = hashlib.sha256(model_id.encode()).hexdigest()[:12]
        return f"{_owner_stem(tenant, kind, owner)}.{model}.idx"

    def files(self) -> list[Path]:
        """Every file in the index directory (for the forget audit's raw scan)."""
        if self.dir is None or not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.iterdir() if p.is_file())

    @staticmethod
    def _encrypted(conn: sqlite3.Connection) -> bool:
        row = conn.execute("SELECT 1 FROM meta WHERE key = ?", (_ENCRYPTED_META,)).fetchone()
        return row is not None

    # -- save ------------------------------------------------------------------
    def save(self, conn: sqlite3.Connection, key: PartitionKey, part: PartitionIndex,
             seq: int) -> bool:
        """Write ``part`` (reflecting change-log position ``seq``) and record its token.

        Call inside the caller's ``BEGIN IMMEDIATE`` transaction, after catching
        up with the log; the token row commits with it. ``False`` when nothing
        was written (in-memory or encrypted store). ``OSError`` leaves as is (the
        caller rolls back: the token stays the old one, the old file stays valid
        or is replaced by a file whose token does not match)."""
        if self.dir is None or self._encrypted(conn):
            return False
        self.dir.mkdir(mode=0o700, exist_ok=True)
        name = self.name(key)
        token = secrets.token_hex(16)
        graph = part.graph
        ann = f"{name[:-4]}.{token}.ann" if graph is not None else None
        if graph is not None and ann is not None:
            write_atomically(self.dir / ann, graph.chunks())
        header = {"format": FORMAT, "token": token, "seq": seq, "key": _key_digest(key),
                  "ann": ann, "ann_live": len(graph) if graph is not None else 0}
        write_atomically(self.dir / name, pack(header, part.state()))
        for old in self.dir.glob(f"{name[:-4]}.*.ann"):
            if old.name != ann:
                old.unlink(missing_ok=True)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_TOKEN_META + name, token),
        )
        return True

    # -- load ------------------------------------------------------------------
    def load(self, conn: sqlite3.Connection, key: PartitionKey
             ) -> tuple[PartitionIndex, int] | None:
        """The saved partition of ``key`` and the log position it reflects, or
        ``None`` (no file, another format, or not the file the database names).
        A missing or unreadable graph file only means the graph is rebuilt."""
        if self.dir is None:
            return None
        name = self.name(key)
        path = self.dir / name
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (_TOKEN_META + name,)
                           ).fetchone()
        if row is None or not path.is_file():
            return None
        try:
            header, arrays = unpack(path)
            if (header.get("format") != FORMAT or header.get("token") != row[0]
                    or header.get("key") != _key_digest(key)):
                return None
            part = PartitionIndex.from_state(arrays)
        except Exception as exc:  # unreadable or foreign file: rebuild from the tables
            log.warning("index file %s unreadable (%s): rebuilding the partition", path, exc)
            return None
        if header.get("ann"):  # loaded in the background: the first searches are exact
            ann, live, dim = self.dir / str(header["ann"]), int(header["ann_live"]), part.dim
            part.attach_graph(lambda: load_graph(ann, dim, live))
        return part, int(header["seq"])

    # -- delete ----------------------------------------------------------------
    def drop(self, conn: sqlite3.Connection, owners: Iterable[tuple[str, str, str | None]]
             ) -> int:
        """Delete the files (every model) and tokens of these ``(tenant, kind, owner)``
        partitions; inside the deleting transaction. Returns files deleted."""
        if self.dir is None:
            return 0
        n = 0
        for tenant, kind, owner in set(owners):
            stem = _owner_stem(tenant, kind, owner)
            conn.execute("DELETE FROM meta WHERE key LIKE ?", (f"{_TOKEN_META}{stem}.%",))
            if self.dir.is_dir():
                for p in self.dir.glob(f"*{stem}.*"):  # the file and any temporary one
                    p.unlink(missing_ok=True)
                    n += 1
        return n

    def drop_all(self, conn: sqlite3.Connection) -> None:
        """Delete every index file and token (inside the deleting transaction)."""
        conn.execute("DELETE FROM meta WHERE key LIKE ?", (f"{_TOKEN_META}%",))
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)


def owners_of(conn: sqlite3.Connection, table: str, rids: list[int]
              ) -> set[tuple[str, str, str | None]]:
    """The ``(tenant, kind, owner)`` partitions the rows ``rids`` of ``table`` belong to."""
    out: set[tuple[str, str, str | None]] = set()
    for i in range(0, len(rids), 500):
        chunk = rids[i : i + 500]
        for tenant, user, agent in conn.execute(
            f"SELECT DISTINCT tenant, user_id, agent_id FROM {table}"
            f" WHERE rid IN ({','.join('?' * len(chunk))})", chunk,
        ):
            out.add((tenant, "u", user))
            out.add((tenant, "a", agent))
    return out
