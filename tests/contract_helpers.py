"""Builders for the store contract tests: items, unit vectors and one-call writes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from engram.models import (
    Episode,
    ItemRef,
    Memory,
    MemoryKind,
    MemoryStatus,
    MemoryVersion,
    Operation,
    Scope,
)
from engram.store.base import Store, VectorRecord, WriteBatch, WriteOutcome
from engram.text import content_hash

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MODEL = "test:unit-8"
DIM = 8


def at(days: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(days=days, seconds=seconds)


def unit(seed: int, dim: int = DIM) -> np.ndarray:
    """A deterministic random unit vector."""
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def near(base: np.ndarray, seed: int, noise: float = 0.05) -> np.ndarray:
    v = base + noise * unit(seed, base.size)
    return (v / np.linalg.norm(v)).astype(np.float32)


def episode(
    id: str, scope: Scope, text: str, when: datetime = T0, **meta: Any
) -> Episode:
    return Episode(
        id=id, scope=scope, role="user", text=text, occurred_at=when, created_at=when,
        metadata=dict(meta),
    )


def memory(
    id: str,
    scope: Scope,
    text: str,
    kind: MemoryKind = MemoryKind.FACT,
    when: datetime = T0,
    **kw: Any,
) -> Memory:
    return Memory(
        id=id, scope=scope, kind=kind, text=text, created_at=when, updated_at=when, **kw
    )


def vrec(item: Episode | Memory, vec: np.ndarray, model: str = MODEL) -> VectorRecord:
    ref = ItemRef("episode" if isinstance(item, Episode) else "memory", item.id)
    return VectorRecord(ref, item.scope.tenant, model, vec, content_hash(item.text))


def add_episode(
    store: Store, e: Episode, vec: np.ndarray | None = None, model: str = MODEL
) -> WriteOutcome:
    batch = WriteBatch(episodes=[e])
    if vec is not None:
        batch.vectors.append(vrec(e, vec, model))
    return store.write(batch)


def add_memory(
    store: Store, m: Memory, vec: np.ndarray | None = None, model: str = MODEL
) -> WriteOutcome:
    batch = WriteBatch(new_memories=[m])
    batch.versions.append(
        (m.scope.tenant, MemoryVersion(m.id, m.version, Operation.ADD, None, m.to_dict(),
                                       "test", m.created_at))
    )
    if vec is not None:
        batch.vectors.append(vrec(m, vec, model))
    return store.write(batch)


def change_memory(
    store: Store, old: Memory, when: datetime, op: Operation = Operation.UPDATE,
    vec: np.ndarray | None = None, **changes: Any,
) -> Memory:
    """Write the next version of ``old`` (with its history entry); return it."""
    if op == Operation.SUPERSEDE:
        changes.setdefault("status", MemoryStatus.SUPERSEDED)
        changes.setdefault("expired_at", when)
    if op == Operation.DELETE:
        changes.setdefault("status", MemoryStatus.DELETED)
        changes.setdefault("expired_at", when)
    new = dataclasses.replace(old, **changes, updated_at=when, version=old.version + 1)
    batch = WriteBatch(changed_memories=[(new, old.version)])
    batch.versions.append(
        (old.scope.tenant, MemoryVersion(new.id, new.version, op, old.to_dict(), new.to_dict(),
                                         "test", when))
    )
    if vec is not None:
        batch.vectors.append(vrec(new, vec))
    store.write(batch)
    return new


def ids(cands: list[Any]) -> list[str]:
    return [c.ref.id for c in cands]
