"""Storage backends behind one contract (:class:`~engram.store.base.Store`)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, MissingDependency
from .base import Candidate, Job, Store, VectorRecord, WriteBatch, WriteOutcome

__all__ = [
    "Candidate",
    "Job",
    "Store",
    "VectorRecord",
    "WriteBatch",
    "WriteOutcome",
    "open_store",
    "sqlite_path",
]


def sqlite_path(url: str) -> str | None:
    """The file a SQLite store URL (or bare path) names; ``None`` for an in-memory
    database or another backend. Never touches the file."""
    if url.startswith("sqlite://"):
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url[len("sqlite://") :]
    elif "://" in url:
        return None
    else:
        path = url
    return None if path in ("", ":memory:") else path


def open_store(url: str, **options: Any) -> Store:
    """Open (and migrate) the store at ``url``.

    ``sqlite:///relative/or/absolute.db``, ``sqlite:///:memory:``, a bare file path,
    or ``postgresql://...`` (needs ``pip install 'engramdb[postgres]'``).
    """
    if url.startswith("sqlite://"):
        from .sqlite import SQLiteStore

        store: Store = SQLiteStore(sqlite_path(url) or ":memory:", **options)
    elif url.startswith(("postgresql://", "postgres://")):
        try:
            from .postgres import PostgresStore
        except ImportError as exc:
            raise MissingDependency(
                "PostgreSQL support needs: pip install 'engramdb[postgres]'"
            ) from exc
        store = PostgresStore(url, **options)
    elif "://" not in url:
        from .sqlite import SQLiteStore

        store = SQLiteStore(url, **options)
    else:
        raise ConfigError(f"unsupported store URL {url!r} (use sqlite:///path or postgresql://)")
    store.migrate()
    return store
