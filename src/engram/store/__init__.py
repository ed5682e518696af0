"""Storage backends behind one contract (:class:`~engram.store.base.Store`),
opened by URL through one registry (:mod:`engram.store.registry`)."""

from __future__ import annotations

from .base import Candidate, Job, Store, VectorRecord, WriteBatch, WriteOutcome
from .registry import open_store, open_unmigrated, register_backend, sqlite_path

__all__ = [
    "Candidate",
    "Job",
    "Store",
    "VectorRecord",
    "WriteBatch",
    "WriteOutcome",
    "open_store",
    "open_unmigrated",
    "register_backend",
    "sqlite_path",
]
