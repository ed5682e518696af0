"""Move a whole store between backends (``engram migrate-store --from A --to B``).

Everything is copied as stored: episodes, memories (current state, version
numbers, access stats), the full append-only history, vectors (copied, never
recomputed, with their model id and content hash), the text each item's
lexical entry was made from, and store metadata. Writes go through
:meth:`Store.write`, whose idempotent inserts make a re-run after an
interruption safe. Background jobs are not moved: drain them first.

After copying, both sides are fingerprinted per tenant (record counts and a
sha256 over every record and vector) and :class:`StoreMoveReport` says
whether they match. Reading tenants, metadata keys and raw vectors needs a
little backend-specific SQL (the Store contract has no listing for them);
:func:`_tenants`, :func:`_meta` and :func:`_vectors` hold it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import StoreError
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


def _rows(
    store: Store, sql_sqlite: str, sql_pg: str, args: tuple[Any, ...],
    pg_args: tuple[Any, ...] | None = None,
) -> list[Any]:
    from .sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        return [dict(r) for r in store._q(sql_sqlite, args)]
    from .postgres import PostgresStore

    if isinstance(store, PostgresStore):
        return store._q(sql_pg, args if pg_args is None else pg_args)
    raise StoreError(f"cannot move a {type(store).__name__}")


def _tenants(store: Store) -> list[str]:
    sql = (
        "SELECT tenant FROM episodes UNION SELECT tenant FROM memories"
        " UNION SELECT tenant FROM memory_versions ORDER BY 1"
    )
    return [r["tenant"] for r in _rows(store, sql, sql, ())]


def _meta(store: Store) -> dict[str, str]:
    sql = "SELECT key, value FROM meta ORDER BY key"
    return {r["key"]: r["value"] for r in _rows(store, sql, sql, ())}


def _vectors(store: Store, tenant: str) -> Iterator[VectorRecord]:
    sqlite_sql = (
        "SELECT 'episode' AS item_type, x.id AS item_id, v.model_id, v.vector AS embedding,"
        " v.content_hash FROM vectors v JOIN episodes x ON v.item_type = 'episode'"
        " AND x.rid = v.item_rid WHERE x.tenant = ? UNION ALL"
        " SELECT 'memory', x.id, v.model_id, v.vector, v.content_hash FROM vectors v"
        " JOIN memories x ON v.item_type = 'memory' AND x.rid = v.item_rid WHERE x.tenant = ?"
    )
    pg_sql = (
        "SELECT item_type, item_id, model_id, embedding, content_hash FROM vectors"
        " WHERE tenant = %s"
    )
    for r in _rows(store, sqlite_sql, pg_sql, (tenant, tenant), (tenant,)):
        emb = r["embedding"]
        if isinstance(emb, bytes | memoryview):
            vec = np.frombuffer(bytes(emb), dtype=np.float32).copy()
        else:
            to_numpy = getattr(emb, "to_numpy", None)
            vec = np.asarray(to_numpy() if to_numpy else emb, dtype=np.float32)
        yield VectorRecord(ItemRef(r["item_type"], r["item_id"]), tenant, r["model_id"], vec,
                           r["content_hash"])


def _lexical_texts(store: Store, tenant: str, items: list[Episode | Memory]) -> dict[ItemRef, str]:
    refs = [ItemRef("episode" if isinstance(i, Episode) else "memory", i.id) for i in items]
    from .postgres import PostgresStore
    from .sqlite import SQLiteStore

    if isinstance(store, PostgresStore):
        return store.lexical_texts(tenant, refs)
    if isinstance(store, SQLiteStore):
        out: dict[ItemRef, str] = {}
        for ref in refs:
            table, add = ("episodes", 0) if ref.type == "episode" else ("memories", 1)
            rows = store._q(
                f"SELECT f.body FROM {table} x JOIN fts f ON f.rowid = x.rid * 2 + {add}"
                " WHERE x.tenant = ? AND x.id = ?",
                (tenant, ref.id),
            )
            if rows:
                out[ref] = rows[0][0]
        return out
    return {}


def fingerprint(store: Store) -> dict[str, TenantFingerprint]:
    """Per tenant: counts and a sha256 over all records and vectors (order-free)."""
    out: dict[str, TenantFingerprint] = {}
    for tenant in _tenants(store):
        lines: list[str] = []
        counts = {"episode": 0, "memory": 0, "version": 0}
        for rec in store.iter_records(Scope(tenant=tenant)):
            counts[rec["type"]] += 1
            lines.append(json.dumps(rec, sort_keys=True, ensure_ascii=False))
        n_vec = 0
        for v in _vectors(store, tenant):
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
    vectors: dict[ItemRef, VectorRecord] = {v.ref: v for v in _vectors(src, tenant)}
    items: list[Episode | Memory] = []
    versions: list[tuple[str, MemoryVersion]] = []

    def flush() -> None:
        if not items and not versions:
            return
        texts = _lexical_texts(src, tenant, items)
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
            for key, value in _meta(src).items():
                dst.set_meta(key, value)
            for tenant in _tenants(src):
                _copy_tenant(src, dst, tenant)
            create = getattr(dst, "create_vector_indexes", None)
            if create is not None:
                create()
            return StoreMoveReport(source=fingerprint(src), target=fingerprint(dst))
        finally:
            dst.close()
    finally:
        src.close()
