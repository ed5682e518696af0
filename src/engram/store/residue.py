"""What a backend can say about the bytes a ``forget`` leaves behind.

After :meth:`Store.forget` deleted the rows, :meth:`forget_residue` (a method
of the SQLite and PostgreSQL stores) does the backend's physical clean-up and
checks the raw bytes where it can. It returns a :class:`Residue`:

``checks`` maps a check name to ``"passed"``, ``"failed"`` or ``"skipped"``:

* ``wal_checkpoint`` (SQLite): ``wal_checkpoint(TRUNCATE)`` completed, so the
  WAL no longer holds pages written before the delete. ``failed`` while
  another connection still reads an older snapshot.
* ``vacuum`` (PostgreSQL): ``VACUUM`` ran on every table the delete touched
  (episodes, memories, memory_versions, vectors, jobs), so the deleted rows are
  gone from heap line pointers and index entries.
* ``raw_file``: the raw bytes were read and no text of the subject (nor a
  caller's marker) was found outside live rows of other scopes. SQLite: the
  database file, its ``-wal`` and the persisted partition indexes beside it
  (``<database>.index/``; the files of the forgotten partitions were deleted
  in the forget's transaction, see :mod:`engram.store.sqlite_index_files`;
  the others are scanned when the limit allows, else ``unscanned_files``).
  PostgreSQL: the files of those tables, their TOAST tables and every index
  (needs a superuser, or membership of ``pg_read_server_files`` and
  ``pg_checkpoint``; else ``skipped``).
  ``skipped`` too above the audit's ``scan_limit``.
* ``vacuum_full`` (PostgreSQL, only when the raw scan found bytes that plain
  ``VACUUM`` leaves in page free space): ``VACUUM FULL`` rewrote those tables
  (briefly locking them) and the scan was repeated.

``exposure`` lists, as stable codes, where copies may remain that the store
cannot reach or did not verify (see :data:`EXPOSURE`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["EXPOSURE", "Residue"]

#: exposure code -> what it means (documented in docs/trust.md)
EXPOSURE: dict[str, str] = {
    "backups": "backups, snapshots, exports and copies of the store made before the forget",
    "storage_blocks": "file-system or device blocks freed by a truncated WAL or a rewritten"
                      " file keep the old bytes until they are reused",
    "unscanned_files": "the raw files were not scanned (too large, no privilege, or in memory)",
    "wal_archive": "PostgreSQL WAL segments (pg_wal, any WAL archive) keep the deleted rows"
                   " until they are recycled or expire",
    "replicas": "PostgreSQL standbys and logical subscribers hold copies until they replay"
                " the delete and vacuum",
    "page_free_space": "PostgreSQL: VACUUM frees deleted rows but their bytes can stay in the"
                       " page's free space until overwritten (not verified without a raw scan)",
    "compressed_values": "PostgreSQL compresses large values (TOAST); the raw scan cannot match"
                         " text inside a compressed value",
}


@dataclass
class Residue:
    """Outcome of a backend's post-forget clean-up; see the module docstring.

    ``raw_scan``: ``True`` no leftover, ``False`` leftovers found, ``None`` not
    scanned. ``leftovers`` counts distinct texts found that no live row holds.
    """

    backend: str
    raw_scan: bool | None = None
    leftovers: int = 0
    checks: dict[str, str] = field(default_factory=dict)
    exposure: list[str] = field(default_factory=list)
