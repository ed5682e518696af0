"""Move a whole store between backends (``engram migrate-store --from A --to B``).

Everything is copied as stored: episodes, memories (current state, version
numbers, access stats), the full append-only history, vectors (copied, never
recomputed, with their model id and content hash), the text each item's
lexical entry was made from, and store metadata. Writes go through
:meth:`Store.write`, whose idempotent inserts make a re-run after an
interruption safe. Background jobs are not moved: drain them first.

After copying, both sides are fingerprinted per tenant (record counts and a
sha256 over every record and vector) and :class:`StoreMoveReport` says
whether they match. Only the :class:`~engram.store.base.Store` contract is
used (:meth:`~Store.tenants`, :meth:`~Store.meta_items`,
:meth:`~Store.iter_vectors`, :meth:`~Store.lexical_texts`), so any two
registered backends can be moved between.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..models import Episode, ItemRef, Memory, MemoryVersion, Scope
from . import open_store
from .base import Store, VectorRecord, WriteBatch

__all__ = ["StoreMoveReport", "TenantFingerprint", "fingerprint", "move_store"]

_BATCH = 500


@dataclass(frozen=True)
class TenantFingerprint:
    episodes: int
    memories: int
    versions: int
    vectors: int
    sha256: str


@dataclass
class StoreMoveReport:
    source: dict[str, TenantFingerprint] = field(default_factory=dict)
    target: dict[str, TenantFingerprint] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        """Every tenant has the same counts and content hash on both sides."""
        return self.source == self.target

    def to_dict(self) -> dict[str, Any]:
        tenants = sorted(set(self.source) | set(self.target))
        return {
            "verified": self.verified,
            "tenants": {
                t: {
                    side: (vars(fps[t]) if t in fps else None)
                    for side, fps in (("source", self.source), ("target", self.target))
                }
                for t in tenants
            },
        }


def _refs(items: list[Episode | Memory]) -> list[ItemRef]:
    return [ItemRef("episode" if isinstance(i, Episode) else "memory", i.id) for i in items]


def fingerprint(store: Store) -> dict[str, TenantFingerprint]:
    """Per tenant: counts and a sha256 over all records and vectors (order-free)."""
    out: dict[str, TenantFingerprint] = {}
    for tenant in store.tenants():
        lines: list[str] = []
        counts = {"episode": 0, "memory": 0, "version": 0}
        for rec in store.iter_records(Scope(tenant=tenant)):
            counts[rec["type"]] += 1
            lines.append(json.dumps(rec, sort_keys=True, ensure_ascii=False))
        n_vec = 0
        for v in store.iter_vectors(tenant):
            n_vec += 1
            digest = hashlib.sha256(np.ascontiguousarray(v.vector, np.float32).tobytes())
            lines.append(f"v|{v.ref.type}|{v.ref.id}|{v.model_id}|{v.content_hash}|"
                         f"{digest.hexdigest()}")
        lines.sort()
        h = hashlib.sha256("\n".join(lines).encode()).hexdigest()
        out[tenant] = TenantFingerprint(counts["episode"], counts["memory"], counts["version"],
                                        n_vec, h)
    return out


def _copy_tenant(src: Store, dst: Store, tenant: str) -> None:
    vectors: dict[ItemRef, VectorRecord] = {v.ref: v for v in src.iter_vectors(tenant)}
    items: list[Episode | Memory] = []
    versions: list[tuple[str, MemoryVersion]] = []

    def flush() -> None:
        if not items and not versions:
            return
        texts = src.lexical_texts(tenant, _refs(items))
        batch = WriteBatch(versions=list(versions))
        for item in items:
            ref = ItemRef("episode" if isinstance(item, Episode) else "memory", item.id)
            if isinstance(item, Episode):
                batch.episodes.append(item)
            else:
                batch.new_memories.append(item)
            if ref in vectors:
                batch.vectors.append(vectors[ref])
            if ref in texts and texts[ref] != item.text:
                batch.index_texts[ref] = texts[ref]
        dst.write(batch)
        items.clear()
        versions.clear()

    for rec in src.iter_records(Scope(tenant=tenant)):
        kind = rec.pop("type")
        if kind == "episode":
            items.append(Episode.from_dict(rec))
        elif kind == "memory":
            items.append(Memory.from_dict(rec))
        else:
            versions.append((rec.pop("tenant"), MemoryVersion.from_dict(rec)))
        if len(items) + len(versions) >= _BATCH:
            flush()
    flush()


def move_store(source_url: str, target_url: str) -> StoreMoveReport:
    """Copy everything from ``source_url`` into ``target_url`` (migrated first) and verify.

    The target should be empty or hold an earlier partial copy of the same
    source; items already there are kept as they are."""
    src = open_store(source_url)
    try:
        dst = open_store(target_url)
        try:
            for key, value in src.meta_items().items():
                dst.set_meta(key, value)
            for tenant in src.tenants():
                _copy_tenant(src, dst, tenant)
            dst.finish_bulk_load()
            return StoreMoveReport(source=fingerprint(src), target=fingerprint(dst))
        finally:
            dst.close()
    finally:
        src.close()
