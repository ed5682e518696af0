"""Encryption at rest: :class:`EncryptedStore` wraps any :class:`~engram.store.base.Store`.

What is encrypted (AES-256-GCM, one data key per ``(tenant, user_id)``, see
:mod:`engram.trust.keyring`): episode and memory **text**, **metadata**, memory
**entities** and **keywords**, and the same fields inside history ``before`` /
``after`` snapshots. The item's identity (tenant, user, id) is the associated data,
so ciphertext moved to another row does not open.

What is *not* encrypted, and so leaks to someone holding the database file:

* ids, scope columns (tenant, user, agent, session), kinds, timestamps, status,
  version numbers, importance, access counts, attribute keys (``user:lives_in``);
* metadata **keys**, and a keyed hash of each metadata value (equal values are
  visible as equal within a tenant);
* **vectors** (embeddings can be partly inverted to text) and the content hash of
  each embedded text (equal texts are visible as equal);
* the **lexical index** holds the plain words of every item, unless the store is
  opened with ``lexical=False`` (setting ``encryption_lexical = false``): then
  nothing is indexed lexically and keyword search returns nothing (vector search
  still works; the ``hybrid`` preset degrades to vector-only).

Forgetting a user (scope naming the user and no agent/session) or a whole tenant
destroys the data key(s), then deletes the rows (crypto-shredding): ciphertext
left anywhere (backups, free pages, WAL) cannot be opened again. Rows written before
encryption was switched on stay readable plain text (they are not re-encrypted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import numpy as np

from ..errors import MetaMoved
from ..models import (
    Episode,
    ItemRef,
    Memory,
    MemoryVersion,
    Page,
    Scope,
    SearchFilters,
    Stats,
)
from ..store.base import (
    Candidate,
    Job,
    Neighbour,
    Residue,
    Store,
    Usage,
    VectorRecord,
    WriteBatch,
    WriteOutcome,
)
from ..store.browse import ScopeSummary, TimelineFilters
from .keyring import ENVELOPE_PREFIX, Keyring

__all__ = ["EncryptedStore"]

_Item = TypeVar("_Item", Episode, Memory)
#: seal-and-write rounds of one batch when its data keys keep moving (MetaMoved)
_SEAL_ATTEMPTS = 3
#: marks a store whose rows are encrypted (an unencrypted open must refuse it)
ENCRYPTION_META = "encryption"


class EncryptedStore(Store):
    """A :class:`Store` that encrypts on write and decrypts on read (module docstring)."""

    def __init__(self, inner: Store, master_key: str, *, lexical: bool = True) -> None:
        self.inner = inner
        self.url = inner.url
        self.backend = inner.backend  # type: ignore[misc]
        self.lexical = lexical
        self.keyring = Keyring(master_key, inner)
        if inner.get_meta(ENCRYPTION_META) is None:
            inner.set_meta(ENCRYPTION_META, "aes-256-gcm-v1")

    def __getattr__(self, name: str) -> Any:  # backend extras (paths, admin helpers)
        return getattr(self.inner, name)

    # -- sealing ---------------------------------------------------------------
    def _seal(self, item: _Item, expect: dict[str, str] | None = None) -> _Item:
        sc = item.scope
        payload: dict[str, Any] = {"t": item.text, "m": item.metadata}
        if isinstance(item, Memory):
            payload["e"], payload["k"] = item.entities, item.keywords
        env = self.keyring.seal(sc.tenant, sc.user_id, item.id, payload, expect)
        blinded = {k: self.keyring.blind(sc.tenant, v) for k, v in item.metadata.items()}
        if isinstance(item, Memory):
            return dataclasses.replace(item, text=env, metadata=blinded, entities=[],
                                       keywords=[])
        return dataclasses.replace(item, text=env, metadata=blinded)

    def _open(self, item: _Item) -> _Item:
        if not item.text.startswith(ENVELOPE_PREFIX):
            return item  # written before encryption was switched on
        sc = item.scope
        p = self.keyring.open(sc.tenant, sc.user_id, item.id, item.text)
        if "f" in p:  # rebuilt from a history snapshot (memory_as_of, list as_of)
            f = p["f"]
            p = {"t": f.get("text", ""), "m": f.get("metadata") or {},
                 "e": f.get("entities") or [], "k": f.get("keywords") or []}
        if isinstance(item, Memory):
            return dataclasses.replace(item, text=p["t"], metadata=p["m"], entities=p["e"],
                                       keywords=p["k"])
        return dataclasses.replace(item, text=p["t"], metadata=p["m"])

    _CONTENT = ("text", "metadata", "entities", "keywords")

    def _seal_dict(self, d: dict[str, Any] | None, tenant: str, item_id: str,
                   expect: dict[str, str] | None = None) -> dict[str, Any] | None:
        """Seal the content fields of a snapshot dict (history before/after) into
        ``text``; metadata keys stay, with blinded values."""
        if d is None:
            return None
        tenant = d.get("tenant") or tenant
        present = {k: d[k] for k in self._CONTENT if k in d}
        env = self.keyring.seal(tenant, d.get("user_id"), item_id, {"f": present}, expect)
        out = {k: v for k, v in d.items() if k not in self._CONTENT}
        out["text"] = env
        if "metadata" in d and isinstance(d["metadata"], dict):
            out["metadata"] = {k: self.keyring.blind(tenant, v) for k, v in d["metadata"].items()}
        return out

    def _open_dict(self, d: dict[str, Any] | None, tenant: str,
                   item_id: str) -> dict[str, Any] | None:
        if d is None or not str(d.get("text", "")).startswith(ENVELOPE_PREFIX):
            return d
        tenant = d.get("tenant") or tenant
        p = self.keyring.open(tenant, d.get("user_id"), item_id, d["text"])
        out = {k: v for k, v in d.items() if k not in self._CONTENT}
        if "f" in p:
            out.update(p["f"])
        else:  # an item row's envelope (iter_records of episodes and memories)
            out.update({"text": p["t"], "metadata": p["m"]})
            if "e" in p:
                out.update({"entities": p["e"], "keywords": p["k"]})
        return out

    def _open_version(self, v: MemoryVersion, tenant: str) -> MemoryVersion:
        return dataclasses.replace(v, before=self._open_dict(v.before, tenant, v.memory_id),
                                   after=self._open_dict(v.after, tenant, v.memory_id))

    def _filters(self, scope: Scope, f: SearchFilters) -> SearchFilters:
        if not f.metadata:
            return f
        blinded = tuple((k, self.keyring.blind(scope.tenant, v)) for k, v in f.metadata)
        return dataclasses.replace(f, metadata=blinded)

    def _open_any(self, item: Any) -> Any:
        if isinstance(item, Episode):
            return self._open(item)
        return self._open(item) if isinstance(item, Memory) else item

    # -- lifecycle / meta ----------------------------------------------------------
    def migrate(self) -> list[str]:
        return self.inner.migrate()

    def applied_migrations(self) -> list[str]:
        return self.inner.applied_migrations()

    def close(self) -> None:
        self.inner.close()

    def get_meta(self, key: str) -> str | None:
        return self.inner.get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        self.inner.set_meta(key, value)

    def set_meta_if(self, key: str, expected: str | None, value: str) -> bool:
        return self.inner.set_meta_if(key, expected, value)

    # -- writes ------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> WriteOutcome:
        """Encrypt the batch's items; lexical text goes through only when ``lexical``."""
        items: dict[ItemRef, Episode | Memory] = {}
        for e in batch.episodes:
            items[ItemRef("episode", e.id)] = e
        for m in [*batch.new_memories, *(m for m, _ in batch.changed_memories)]:
            items[ItemRef("memory", m.id)] = m
        index_texts: dict[ItemRef, str] = {}
        refs = set(items) | {v.ref for v in batch.vectors}
        for ref in refs:
            if not self.lexical:
                index_texts[ref] = ""
            elif ref in batch.index_texts:
                index_texts[ref] = batch.index_texts[ref]
            elif ref in items:
                index_texts[ref] = items[ref].text
            else:  # a vector for a stored item (re-embedding): index its plain text
                tenant = next(v.tenant for v in batch.vectors if v.ref == ref)
                found = (self.get_episodes if ref.type == "episode" else self.get_memories)(
                    Scope(tenant=tenant), [ref.id])
                if found:
                    index_texts[ref] = found[0].text
        # each seal names the wrapped key text it used; the store checks them in
        # the write's transaction, so a key another process destroyed (forget)
        # or replaced since this one read it fails the write with nothing
        # written: verify drops the stale key and the batch is sealed again
        for attempt in range(_SEAL_ATTEMPTS):
            expect: dict[str, str] = dict(batch.meta_expect)
            sealed = WriteBatch(
                episodes=[self._seal(e, expect) for e in batch.episodes],
                new_memories=[self._seal(m, expect) for m in batch.new_memories],
                changed_memories=[(self._seal(m, expect), v) for m, v in batch.changed_memories],
                versions=[(t, dataclasses.replace(
                    v, before=self._seal_dict(v.before, t, v.memory_id, expect),
                    after=self._seal_dict(v.after, t, v.memory_id, expect)))
                    for t, v in batch.versions],
                vectors=list(batch.vectors),
                jobs=list(batch.jobs),
                index_texts=index_texts,
                fence=batch.fence,
                meta_expect=expect,
            )
            try:
                return self.inner.write(sealed)
            except MetaMoved:
                if attempt == _SEAL_ATTEMPTS - 1:
                    raise
                self.keyring.verify(
                    [(i.scope.tenant, i.scope.user_id) for i in items.values()]
                    + [(d.get("tenant") or t, d.get("user_id"))
                       for t, v in batch.versions for d in (v.before, v.after) if d])
        raise AssertionError("unreachable")  # pragma: no cover

    def touch(self, tenant: str, memory_ids: Sequence[str], at: datetime) -> None:
        self.inner.touch(tenant, memory_ids, at)

    def replace_episode_metadata(self, episode: Episode, expected: Mapping[str, Any], *,
                                 meta_expect: Mapping[str, str] | None = None) -> bool:
        """Re-seal text and all (metadata lives in the envelope), checked like
        :meth:`write` against a key moved before the store's transaction."""
        blinded = {k: self.keyring.blind(episode.scope.tenant, v) for k, v in expected.items()}
        for attempt in range(_SEAL_ATTEMPTS):
            expect = dict(meta_expect or {})
            sealed = self._seal(episode, expect)
            try:
                return self.inner.replace_episode_metadata(sealed, blinded, meta_expect=expect)
            except MetaMoved:
                if attempt == _SEAL_ATTEMPTS - 1:
                    raise
                self.keyring.verify([(episode.scope.tenant, episode.scope.user_id)])
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reads ---------------------------------------------------------------------------
    def existing_episode_ids(self, tenant: str, ids: Sequence[str]) -> set[str]:
        return self.inner.existing_episode_ids(tenant, ids)

    def get_episodes(self, scope: Scope, ids: Sequence[str]) -> list[Episode]:
        return [self._open(e) for e in self.inner.get_episodes(scope, ids)]

    def get_memories(self, scope: Scope, ids: Sequence[str]) -> list[Memory]:
        return [self._open(m) for m in self.inner.get_memories(scope, ids)]

    def memory_as_of(self, scope: Scope, memory_id: str, as_of: datetime) -> Memory | None:
        m = self.inner.memory_as_of(scope, memory_id, as_of)
        return None if m is None else self._open(m)

    def list_episodes(self, scope: Scope, filters: SearchFilters, limit: int,
                      cursor: str | None = None) -> Page:
        page = self.inner.list_episodes(scope, self._filters(scope, filters), limit, cursor)
        return dataclasses.replace(page, items=[self._open_any(i) for i in page.items])

    def list_memories(self, scope: Scope, filters: SearchFilters, limit: int,
                      cursor: str | None = None) -> Page:
        page = self.inner.list_memories(scope, self._filters(scope, filters), limit, cursor)
        return dataclasses.replace(page, items=[self._open_any(i) for i in page.items])

    def active_memories_with_attribute(self, scope: Scope, attribute: str) -> list[Memory]:
        return [self._open(m) for m in self.inner.active_memories_with_attribute(scope, attribute)]

    def history(self, scope: Scope, memory_id: str) -> list[MemoryVersion]:
        return [self._open_version(v, scope.tenant)
                for v in self.inner.history(scope, memory_id)]

    def episode_neighbours(self, scope: Scope, ids: Sequence[str],
                           radius: int) -> dict[str, list[Neighbour]]:
        return self.inner.episode_neighbours(scope, ids, radius)

    # -- search ----------------------------------------------------------------------------
    def lexical_search(self, scope: Scope, query: str, filters: SearchFilters,
                       limit: int, max_postings: int | None = None) -> list[Candidate]:
        if not self.lexical:
            return []
        return self.inner.lexical_search(scope, query, self._filters(scope, filters), limit,
                                         max_postings)

    def vector_search(self, scope: Scope, vector: np.ndarray, model_id: str,
                      filters: SearchFilters, limit: int) -> list[Candidate]:
        return self.inner.vector_search(scope, vector, model_id, self._filters(scope, filters),
                                        limit)

    def vectors_by_hash(
        self, model_id: str, hashes: Sequence[str], *, tenant: str | None = None
    ) -> dict[str, np.ndarray]:
        return self.inner.vectors_by_hash(model_id, hashes, tenant=tenant)

    def scope_centroid(self, scope: Scope, model_id: str) -> np.ndarray | None:
        return self.inner.scope_centroid(scope, model_id)  # vectors are not sealed

    def change_marker(self) -> str | None:
        return self.inner.change_marker()  # every write goes through inner

    # -- maintenance -------------------------------------------------------------------------
    def forget(self, scope: Scope) -> dict[str, int]:
        """Crypto-shred, then delete the rows: the user's data key when the scope is
        a whole user, every data key of the tenant when it names no user/agent/session.

        The keys go first: a write committing after the delete is kept (as on an
        unencrypted store), and one sealed with a key this destroyed fails its
        ``meta_expect`` check and is sealed again with a new key; a write
        committing before the delete is deleted with the rest."""
        shred = scope.agent_id is None and scope.session_id is None
        destroyed = 0
        if shred and scope.user_id is not None:
            destroyed = self.keyring.destroy(scope.tenant, scope.user_id)
        elif shred:
            destroyed = self.keyring.destroy_tenant(scope.tenant)
        counts = self.inner.forget(scope)
        if shred:
            counts["data_keys"] = destroyed
        return counts

    def delete_episodes(self, tenant: str, episode_ids: Sequence[str],
                        memory_ids: Sequence[str] = ()) -> dict[str, int]:
        return self.inner.delete_episodes(tenant, episode_ids, memory_ids)

    def memories_citing(self, scope: Scope, episode_ids: Sequence[str]) -> list[Memory]:
        return [self._open(m) for m in self.inner.memories_citing(scope, episode_ids)]

    def remaining(self, scope: Scope) -> dict[str, int]:
        return self.inner.remaining(scope)

    def iter_records(self, scope: Scope) -> Iterator[dict[str, Any]]:
        for rec in self.inner.iter_records(scope):
            tenant = str(rec.get("tenant") or scope.tenant)
            if rec.get("type") == "version":
                mid = str(rec.get("memory_id"))
                yield {**rec, "before": self._open_dict(rec.get("before"), tenant, mid),
                       "after": self._open_dict(rec.get("after"), tenant, mid)}
            else:
                yield self._open_dict(rec, tenant, str(rec.get("id"))) or rec

    def stats(self, scope: Scope | None) -> Stats:
        return self.inner.stats(scope)

    def iter_items_for_reembed(self, model_id: str,
                               batch_size: int) -> Iterator[list[Episode | Memory]]:
        for batch in self.inner.iter_items_for_reembed(model_id, batch_size):
            yield [self._open_any(i) for i in batch]

    def drop_vectors_except(self, model_id: str) -> int:
        return self.inner.drop_vectors_except(model_id)

    # -- whole-store reads: as stored (sealed), for moves, quotas and audits -------------------
    def meta_items(self) -> dict[str, str]:
        return self.inner.meta_items()

    def tenants(self) -> list[str]:
        return self.inner.tenants()

    def tenant_usage(self, tenant: str) -> Usage:
        return self.inner.tenant_usage(tenant)

    def iter_vectors(self, tenant: str) -> Iterator[VectorRecord]:
        return self.inner.iter_vectors(tenant)

    def lexical_texts(self, tenant: str, refs: Sequence[ItemRef]) -> dict[ItemRef, str]:
        return self.inner.lexical_texts(tenant, refs)

    def forget_residue(self, needles: Sequence[str], scan_limit: int) -> Residue:
        return self.inner.forget_residue(needles, scan_limit)

    def finish_bulk_load(self) -> None:
        self.inner.finish_bulk_load()

    # -- jobs ----------------------------------------------------------------------------------
    def claim_job(self, kinds: Iterable[str], now: datetime, lease_seconds: float) -> Job | None:
        return self.inner.claim_job(kinds, now, lease_seconds)

    def finish_job(self, job_id: str, *, error: str | None = None,
                   retry_at: datetime | None = None,
                   result: dict[str, Any] | None = None, tenant: str | None = None) -> None:
        self.inner.finish_job(job_id, error=error, retry_at=retry_at, result=result,
                              tenant=tenant)

    def get_job(self, tenant: str, job_id: str) -> Job | None:
        return self.inner.get_job(tenant, job_id)

    def job_counts(self, scope: Scope | None) -> dict[str, int]:
        return self.inner.job_counts(scope)

    def purge_jobs(self, kinds: Iterable[str], finished_before: datetime,
                   limit: int = 1000) -> int:
        return self.inner.purge_jobs(kinds, finished_before, limit)

    # -- browsing: ids, counts, kinds, speakers and times are stored in the clear ----
    def users(self, tenant: str, limit: int = 1000) -> list[ScopeSummary]:
        return self.inner.users(tenant, limit)

    def sessions(self, scope: Scope, limit: int = 1000) -> list[ScopeSummary]:
        return self.inner.sessions(scope, limit)

    def timeline(self, scope: Scope, filters: TimelineFilters, limit: int,
                 cursor: str | None = None) -> Page:
        if filters.status == "flagged":  # flags are inside the sealed metadata
            return super().timeline(scope, filters, limit, cursor)
        page = self.inner.timeline(scope, filters, limit, cursor)
        return dataclasses.replace(page, items=[self._open_any(i) for i in page.items])

    def failed_jobs(self, scope: Scope | None, limit: int = 50) -> list[Job]:
        return self.inner.failed_jobs(scope, limit)
