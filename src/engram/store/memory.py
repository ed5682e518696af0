"""A store that lives in this process's memory (``memory://``): for tests, demos and
throwaway agents. Everything is gone when the object is closed or collected.

It honours the whole :class:`~engram.store.base.Store` contract (the contract
suite runs it like every other backend) in the plainest way, and doubles as
its reference implementation:

* One lock serialises every call, so a :meth:`write` and its :class:`Fence`
  check are atomic with respect to :meth:`forget` and to each other. A write
  works on a copy of the tables and swaps it in at the end: a failing batch
  leaves nothing.
* Searches scan the scope's rows: exact cosine similarity, and BM25 from
  :class:`~engram.index.lexical.LexicalIndex` over the rows that pass the
  scope and filters (inside the search, never top-k-then-filter). Fine for
  thousands of items, not millions.
* Two ``memory://`` URLs never share data; a name after ``memory://`` is a
  label only.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from ..errors import Conflict, InvalidInput, MetaMoved, ModelMismatch, StoreError
from ..index.lexical import LexicalIndex
from ..models import Episode, ItemRef, Memory, MemoryVersion, Page, Scope, SearchFilters, Stats
from ..timeutil import format_dt, now, parse_dt, to_epoch
from .base import (
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
from .memory_rows import ItemRow, JobRow, VersionRow, _frozen_json, item_row, passes, visible

__all__ = ["MemoryStore"]

_MIGRATIONS = ["0001_memory"]
_Key = tuple[str, ItemRef]  # (tenant, ref)


@dataclasses.dataclass
class _Tables:
    items: dict[_Key, ItemRow] = dataclasses.field(default_factory=dict)
    versions: dict[tuple[str, str, int], VersionRow] = dataclasses.field(default_factory=dict)
    vectors: dict[_Key, VectorRecord] = dataclasses.field(default_factory=dict)
    jobs: dict[str, JobRow] = dataclasses.field(default_factory=dict)

    def copy(self) -> _Tables:
        return _Tables(dict(self.items), dict(self.versions), dict(self.vectors), dict(self.jobs))


class MemoryStore(Store):
    """See the module docstring."""

    backend = "memory"

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._closed = False
        self._t = _Tables()
        self._meta: dict[str, str] = {}
        self._applied: list[str] = []
        self._rid = itertools.count(1)
        self._changes = 0  # writes so far: change_marker

    # -- lifecycle -------------------------------------------------------------
    def change_marker(self) -> str | None:
        """How many writes this store took (it is this process's alone)."""
        with self._lock:
            return str(self._changes)

    def _open(self) -> _Tables:
        if self._closed:
            raise StoreError("store is closed")
        return self._t

    def migrate(self) -> list[str]:
        with self._lock:
            self._open()
            todo = [m for m in _MIGRATIONS if m not in self._applied]
            self._applied += todo
            return todo

    def applied_migrations(self) -> list[str]:
        with self._lock:
            self._open()
            return list(self._applied)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._t = _Tables()

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            self._open()
            return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._open()
            self._meta[key] = value

    def set_meta_if(self, key: str, expected: str | None, value: str) -> bool:
        with self._lock:
            self._open()
            if self._meta.get(key) != expected:
                return False
            self._meta[key] = value
            return True

    def meta_items(self) -> dict[str, str]:
        with self._lock:
            self._open()
            return dict(sorted(self._meta.items()))

    # -- writes ----------------------------------------------------------------
    def write(self, batch: WriteBatch) -> WriteOutcome:
        out = WriteOutcome()
        if batch.is_empty():
            return out
        with self._lock:
            t = self._open().copy()
            self._check_meta(batch.meta_expect)
            skipped: set[ItemRef] = set()
            for e in batch.episodes:
                self._insert(t, e, batch, out.created_episode_ids, out.existing_episode_ids,
                             skipped)
            if batch.fence is not None and not self._hold_fence(t, batch):
                out.fenced = True
                batch = batch.episodes_only()
            for m in batch.new_memories:
                self._insert(t, m, batch, out.created_memory_ids, out.existing_memory_ids,
                             skipped)
            for m, expected in batch.changed_memories:
                self._change(t, m, expected, batch)
            for tenant, v in batch.versions:
                key = (tenant, v.memory_id, v.version)
                if key not in t.versions:
                    t.versions[key] = VersionRow.of(next(self._rid), tenant, v)
            for rec in batch.vectors:
                if rec.ref not in skipped:
                    row = t.items.get((rec.tenant, rec.ref))
                    if row is None:
                        raise StoreError(f"vector for unknown {rec.ref.type} {rec.ref.id}")
                    if rec.ref in batch.index_texts:
                        t.items[(rec.tenant, rec.ref)] = dataclasses.replace(
                            row, body=batch.index_texts[rec.ref])
                    vec = np.ascontiguousarray(rec.vector, dtype=np.float32).reshape(-1).copy()
                    t.vectors[(rec.tenant, rec.ref)] = dataclasses.replace(rec, vector=vec)
            for job in batch.jobs:
                if job.id not in t.jobs:
                    created = job.created_at or now()
                    t.jobs[job.id] = JobRow(
                        next(self._rid), job.id, job.kind, job.scope, dict(job.payload),
                        "pending", 0, None, format_dt(created),
                        to_epoch(job.run_after or created))
            self._t = t
            self._changes += 1
        return out

    def _insert(self, t: _Tables, item: Episode | Memory, batch: WriteBatch,
                created: list[str], existing: list[str], skipped: set[ItemRef]) -> None:
        ref = ItemRef("episode" if isinstance(item, Episode) else "memory", item.id)
        key = (item.scope.tenant, ref)
        if key in t.items:
            existing.append(item.id)
            skipped.add(ref)
            return
        t.items[key] = item_row(next(self._rid), item, batch.index_texts.get(ref, item.text))
        created.append(item.id)

    def _change(self, t: _Tables, m: Memory, expected: int, batch: WriteBatch) -> None:
        ref = ItemRef("memory", m.id)
        old = t.items.get((m.scope.tenant, ref))
        if old is None or old.data.get("version") != expected:
            raise Conflict(
                f"memory {m.id} changed concurrently (expected version {expected}); retry")
        t.items[(m.scope.tenant, ref)] = item_row(old.rid, m, batch.index_texts.get(ref, m.text))

    def _check_meta(self, expect: Mapping[str, str]) -> None:
        """``WriteBatch.meta_expect`` (the caller holds the lock)."""
        if any((self._meta.get(k) or "") != v for k, v in expect.items()):
            raise MetaMoved("a store setting this write depends on changed")

    @staticmethod
    def _hold_fence(t: _Tables, batch: WriteBatch) -> bool:
        fence = batch.fence
        assert fence is not None
        if fence.job_id is not None and fence.job_id not in t.jobs:
            return False
        keys = [(fence.tenant, ItemRef("episode", i)) for i in dict.fromkeys(fence.claim)]
        if any(k not in t.items or t.items[k].derived for k in keys):
            return False
        for k in keys:
            t.items[k] = dataclasses.replace(t.items[k], derived=True)
        return True

    def touch(self, tenant: str, memory_ids: Sequence[str], at: datetime) -> None:
        with self._lock:
            t = self._open()
            for i in memory_ids:
                key = (tenant, ItemRef("memory", i))
                row = t.items.get(key)
                if row is not None:
                    data = {**row.data, "access_count": int(row.data["access_count"]) + 1,
                            "last_accessed_at": format_dt(at)}
                    t.items[key] = dataclasses.replace(row, data=data)
            self._changes += 1

    def replace_episode_metadata(self, episode: Episode, expected: Mapping[str, Any], *,
                                 meta_expect: Mapping[str, str] | None = None) -> bool:
        with self._lock:
            t = self._open()
            self._check_meta(meta_expect or {})
            key = (episode.scope.tenant, ItemRef("episode", episode.id))
            row = t.items.get(key)
            if row is None or (row.data.get("metadata") or {}) != dict(expected):
                return False
            data = {**row.data, "metadata": _frozen_json(dict(episode.metadata)),
                    "text": episode.text}
            t.items[key] = dataclasses.replace(row, data=data)
            self._changes += 1
            return True

    # -- reads -----------------------------------------------------------------
    def _rows(self, scope: Scope | None, item_type: str | None = None) -> list[ItemRow]:
        """Rows visible in ``scope`` (every row for ``None``), in insertion order."""
        rows = [r for r in self._open().items.values()
                if (item_type is None or r.ref.type == item_type)
                and (scope is None or visible(r.scope, scope))]
        return sorted(rows, key=lambda r: r.rid)

    def existing_episode_ids(self, tenant: str, ids: Sequence[str]) -> set[str]:
        with self._lock:
            t = self._open()
            return {i for i in ids if (tenant, ItemRef("episode", i)) in t.items}

    def _get(self, scope: Scope, item_type: str, ids: Sequence[str]) -> list[Any]:
        with self._lock:
            t = self._open()
            rows = [t.items.get((scope.tenant, ItemRef(item_type, i))) for i in ids]  # type: ignore[arg-type]
            return [r.item() for r in rows if r is not None and visible(r.scope, scope)]

    def get_episodes(self, scope: Scope, ids: Sequence[str]) -> list[Episode]:
        return self._get(scope, "episode", ids)

    def get_memories(self, scope: Scope, ids: Sequence[str]) -> list[Memory]:
        return self._get(scope, "memory", ids)

    def memory_as_of(self, scope: Scope, memory_id: str, as_of: datetime) -> Memory | None:
        with self._lock:
            if not self.get_memories(scope, [memory_id]):
                return None
            t_as_of = to_epoch(as_of)
            found = [v for (tenant, mid, _), v in self._open().versions.items()
                     if tenant == scope.tenant and mid == memory_id and v.recorded_ts <= t_as_of]
            if not found:
                return None
            v = max(found, key=lambda v: int(v.data["version"])).version()
            state = v.after or v.before
            return Memory.from_dict(state) if state else None

    def list_episodes(
        self, scope: Scope, filters: SearchFilters, limit: int, cursor: str | None = None
    ) -> Page:
        with self._lock:
            rows = [r for r in self._rows(scope, "episode") if passes(r, filters)]
            rows.sort(key=lambda r: (r.event_ts, r.rid))
            if cursor:
                after = _parse_cursor(cursor)
                rows = [r for r in rows if (r.event_ts, r.rid) > after]
            return _page(rows, limit, lambda r: r.event_ts, lambda r: r.item())

    def list_memories(
        self, scope: Scope, filters: SearchFilters, limit: int, cursor: str | None = None
    ) -> Page:
        with self._lock:
            rows = [r for r in self._rows(scope, "memory") if passes(r, filters)]
            rows.sort(key=lambda r: (r.created_ts, r.rid), reverse=True)
            if cursor:
                before = _parse_cursor(cursor)
                rows = [r for r in rows if (r.created_ts, r.rid) < before]

            def item(r: ItemRow) -> Memory:
                m: Memory = r.item()  # type: ignore[assignment]
                if filters.as_of is not None:
                    return self.memory_as_of(scope, m.id, filters.as_of) or m
                return m

            return _page(rows, limit, lambda r: r.created_ts, item)

    def active_memories_with_attribute(self, scope: Scope, attribute: str) -> list[Memory]:
        with self._lock:
            rows = [r for r in self._rows(scope, "memory")
                    if r.data.get("attribute") == attribute and r.status == "active"]
            return [r.item() for r in sorted(rows, key=lambda r: (r.created_ts, r.rid))]  # type: ignore[misc]

    def history(self, scope: Scope, memory_id: str) -> list[MemoryVersion]:
        with self._lock:
            if not self.get_memories(scope, [memory_id]):
                return []
            found = [v for (tenant, mid, _), v in self._open().versions.items()
                     if tenant == scope.tenant and mid == memory_id]
            return [v.version() for v in sorted(found, key=lambda v: int(v.data["version"]))]

    def episode_neighbours(
        self, scope: Scope, ids: Sequence[str], radius: int
    ) -> dict[str, list[Neighbour]]:
        if radius <= 0 or not ids:
            return {}
        with self._lock:
            t = self._open()
            out: dict[str, list[Neighbour]] = {}
            for i in dict.fromkeys(ids):
                row = t.items.get((scope.tenant, ItemRef("episode", i)))
                if row is None or not visible(row.scope, scope):
                    continue
                stream = sorted((r for r in self._rows(scope, "episode") if r.scope == row.scope),
                                key=lambda r: (r.event_ts, r.rid))
                at = stream.index(row)
                out[i] = [Neighbour(r.ref.id, n - at)
                          for n, r in enumerate(stream)
                          if n != at and abs(n - at) <= radius]
            return out

    # -- whole-tenant reads ------------------------------------------------------
    def tenants(self) -> list[str]:
        with self._lock:
            t = self._open()
            return sorted({tenant for tenant, _ in t.items} | {k[0] for k in t.versions})

    def tenant_usage(self, tenant: str) -> Usage:
        with self._lock:
            rows = self._rows(Scope(tenant=tenant))
            return Usage(len(rows), sum(len(str(r.data["text"]).encode()) for r in rows))

    def iter_vectors(self, tenant: str) -> Iterator[VectorRecord]:
        with self._lock:
            found = [dataclasses.replace(v, vector=v.vector.copy())
                     for (t, _), v in self._open().vectors.items() if t == tenant]
        yield from found

    def lexical_texts(self, tenant: str, refs: Sequence[ItemRef]) -> dict[ItemRef, str]:
        with self._lock:
            t = self._open()
            return {r: t.items[(tenant, r)].body for r in refs if (tenant, r) in t.items}

    # -- search ----------------------------------------------------------------
    def lexical_search(
        self, scope: Scope, query: str, filters: SearchFilters, limit: int,
        max_postings: int | None = None,
    ) -> list[Candidate]:
        if limit <= 0:
            return []
        with self._lock:
            rows = [r for r in self._rows(scope) if passes(r, filters)]
        index = LexicalIndex()
        for n, r in enumerate(rows):
            index.add(n, r.body)
        scores = index.scores(query, len(rows), max_postings) if rows else None
        if scores is None:
            return []
        hits = sorted((-float(s), n) for n, s in enumerate(scores) if s > 0)[:limit]
        return [Candidate(rows[n].ref, -s) for s, n in hits]

    def vector_search(
        self,
        scope: Scope,
        vector: np.ndarray,
        model_id: str,
        filters: SearchFilters,
        limit: int,
    ) -> list[Candidate]:
        if limit <= 0:
            return []
        q = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        with self._lock:
            t = self._open()
            found = [(r, t.vectors[(r.scope.tenant, r.ref)]) for r in self._rows(scope)
                     if (r.scope.tenant, r.ref) in t.vectors]
        found = [(r, v) for r, v in found if v.model_id == model_id]
        dims = {v.vector.size for _, v in found}
        if dims and q.size not in dims:
            raise ModelMismatch(
                f"query vector has dimension {q.size} but the store holds {sorted(dims)}")
        found = [(r, v) for r, v in found if v.vector.size == q.size and passes(r, filters)]
        if not found:
            return []
        mat = np.stack([v.vector for _, v in found])
        norms = np.linalg.norm(mat, axis=1) * (np.linalg.norm(q) or 1.0)
        sims = (mat @ q) / np.where(norms == 0, 1.0, norms)
        order = sorted(range(len(found)), key=lambda n: (-float(sims[n]), found[n][0].rid))
        return [Candidate(found[n][0].ref, float(sims[n])) for n in order[:limit]]

    def vectors_by_hash(
        self, model_id: str, hashes: Sequence[str], *, tenant: str | None = None
    ) -> dict[str, np.ndarray]:
        wanted = set(hashes)
        with self._lock:
            return {v.content_hash: v.vector.copy() for v in self._open().vectors.values()
                    if v.model_id == model_id and v.content_hash in wanted
                    and tenant in (None, v.tenant)}

    def scope_centroid(self, scope: Scope, model_id: str) -> np.ndarray | None:
        """See the base class: computed from the rows at each call (no memo)."""
        whole = dataclasses.replace(
            scope, agent_id=None if scope.user_id is not None else scope.agent_id,
            session_id=None)
        with self._lock:
            t = self._open()
            vecs = [t.vectors[(r.scope.tenant, r.ref)].vector for r in self._rows(whole, "episode")
                    if (r.scope.tenant, r.ref) in t.vectors
                    and t.vectors[(r.scope.tenant, r.ref)].model_id == model_id]
        if not vecs:
            return None
        m = np.stack(vecs).astype(np.float64)
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return (m / np.where(norms > 0, norms, 1.0)).mean(0).astype(np.float32)  # type: ignore[no-any-return]

    # -- maintenance -------------------------------------------------------------
    def forget(self, scope: Scope) -> dict[str, int]:
        with self._lock:
            t = self._open()
            gone = {(r.scope.tenant, r.ref) for r in self._rows(scope)}
            versions = [k for k, v in t.versions.items() if visible(v.scope, scope)]
            jobs = [k for k, j in t.jobs.items() if visible(j.scope, scope)]
            vectors = [k for k in t.vectors if k in gone]  # counted, then dropped below
            counts = {
                "fts": len(gone),
                "vectors": len(vectors),
                "memory_versions": len(versions),
                "memories": sum(1 for _, ref in gone if ref.type == "memory"),
                "episodes": sum(1 for _, ref in gone if ref.type == "episode"),
                "jobs": len(jobs),
            }
            t.items = {k: v for k, v in t.items.items() if k not in gone}
            t.vectors = {k: v for k, v in t.vectors.items() if k not in gone}
            for vk in versions:
                del t.versions[vk]
            for jk in jobs:
                del t.jobs[jk]
            self._changes += 1
            return counts

    def delete_episodes(
        self, tenant: str, episode_ids: Sequence[str], memory_ids: Sequence[str] = ()
    ) -> dict[str, int]:
        with self._lock:
            t = self._open()
            gone = {(tenant, ItemRef("episode", i)) for i in episode_ids} | {
                (tenant, ItemRef("memory", i)) for i in memory_ids}
            gone &= t.items.keys()
            mids = set(memory_ids)
            versions = [k for k in t.versions if k[0] == tenant and k[1] in mids]
            counts = {
                "fts": len(gone),
                "vectors": sum(1 for k in t.vectors if k in gone),
                "memory_versions": len(versions),
                "memories": sum(1 for _, ref in gone if ref.type == "memory"),
                "episodes": sum(1 for _, ref in gone if ref.type == "episode"),
            }
            t.items = {k: v for k, v in t.items.items() if k not in gone}
            t.vectors = {k: v for k, v in t.vectors.items() if k not in gone}
            for vk in versions:
                del t.versions[vk]
            self._changes += 1
            return counts

    def forget_residue(self, needles: Sequence[str], scan_limit: int) -> Residue:
        """Nothing is written anywhere but this process's heap: no file to scan."""
        with self._lock:
            self._open()
        return Residue("memory", checks={"raw_file": "skipped"}, exposure=["unscanned_files"])

    def remaining(self, scope: Scope) -> dict[str, int]:
        with self._lock:
            t = self._open()
            rows = self._rows(scope)
            keys = {(r.scope.tenant, r.ref) for r in rows}
            return {
                "episodes": sum(1 for r in rows if r.ref.type == "episode"),
                "memories": sum(1 for r in rows if r.ref.type == "memory"),
                "memory_versions": sum(1 for v in t.versions.values() if visible(v.scope, scope)),
                "jobs": sum(1 for j in t.jobs.values() if visible(j.scope, scope)),
                "fts": len(rows),
                "vectors": sum(1 for k in t.vectors if k in keys),
                "orphan_vectors": sum(1 for k in t.vectors if k[0] == scope.tenant
                                      and k not in t.items),
            }

    def iter_records(self, scope: Scope) -> Iterator[dict[str, Any]]:
        with self._lock:
            t = self._open()
            eps = sorted(self._rows(scope, "episode"), key=lambda r: (r.event_ts, r.rid))
            recs = [{"type": "episode", **r.item().to_dict()} for r in eps]
            recs += [{"type": "memory", **r.item().to_dict()}
                     for r in self._rows(scope, "memory")]
            versions = sorted((v for v in t.versions.values() if visible(v.scope, scope)),
                              key=lambda v: v.rid)
            recs += [{"type": "version", "tenant": v.tenant, **v.version().to_dict()}
                     for v in versions]
        yield from recs

    def stats(self, scope: Scope | None) -> Stats:
        with self._lock:
            t = self._open()
            rows = self._rows(scope)
            mems = [r for r in rows if r.ref.type == "memory"]
            by_status: dict[str, int] = {}
            by_kind: dict[str, int] = {}
            for r in mems:
                by_status[r.status] = by_status.get(r.status, 0) + 1
                if r.status == "active":
                    by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
            keys = {(r.scope.tenant, r.ref) for r in rows}
            return Stats(
                episodes=len(rows) - len(mems),
                memories=len(mems),
                memories_by_status=by_status,
                memories_by_kind=by_kind,
                versions=sum(1 for v in t.versions.values()
                             if scope is None or visible(v.scope, scope)),
                vectors=sum(1 for k in t.vectors if k in keys),
                embedding_model=self._meta.get("embedding_model"),
                schema_version=self._applied[-1] if self._applied else None,
            )

    def iter_items_for_reembed(
        self, model_id: str, batch_size: int
    ) -> Iterator[list[Episode | Memory]]:
        for item_type in ("episode", "memory"):
            last = 0
            while True:
                with self._lock:
                    t = self._open()
                    todo = [r for r in self._rows(None, item_type) if r.rid > last and (
                        (v := t.vectors.get((r.scope.tenant, r.ref))) is None
                        or v.model_id != model_id)][:batch_size]
                    batch = [r.item() for r in todo]
                if not todo:
                    break
                last = todo[-1].rid
                yield batch

    def drop_vectors_except(self, model_id: str) -> int:
        with self._lock:
            t = self._open()
            doomed = [k for k, v in t.vectors.items() if v.model_id != model_id]
            for k in doomed:
                del t.vectors[k]
            return len(doomed)

    # -- jobs ----------------------------------------------------------------------
    def claim_job(self, kinds: Iterable[str], now: datetime, lease_seconds: float) -> Job | None:
        wanted = set(kinds)
        ts = to_epoch(now)
        with self._lock:
            t = self._open()
            ready = [j for j in t.jobs.values() if j.kind in wanted and (
                (j.status == "pending" and j.run_after_ts <= ts)
                or (j.status == "running" and (j.lease_until_ts or 0.0) < ts))]
            if not ready:
                return None
            j = min(ready, key=lambda j: (j.run_after_ts, j.rid))
            j = dataclasses.replace(j, status="running", attempts=j.attempts + 1,
                                    lease_until_ts=ts + lease_seconds)
            t.jobs[j.id] = j
            return _job(j)

    def finish_job(
        self, job_id: str, *, error: str | None = None, retry_at: datetime | None = None,
        result: dict[str, Any] | None = None, tenant: str | None = None,
    ) -> None:
        with self._lock:
            t = self._open()
            j = t.jobs.get(job_id)
            if j is None or tenant not in (None, j.scope.tenant):
                return
            changes: dict[str, Any] = {"lease_until_ts": None, "finished_at": format_dt(now())}
            if result is not None:
                changes["result"] = dict(result)
            if error is None:
                changes.update(status="done", last_error=None)
            elif retry_at is not None:
                changes.update(status="pending", last_error=error[:2000],
                               run_after_ts=to_epoch(retry_at), finished_at=None)
            else:
                changes.update(status="failed", last_error=error[:2000])
            t.jobs[job_id] = dataclasses.replace(j, **changes)

    def get_job(self, tenant: str, job_id: str) -> Job | None:
        with self._lock:
            j = self._open().jobs.get(job_id)
            return _job(j) if j is not None and j.scope.tenant == tenant else None

    def purge_jobs(self, kinds: Iterable[str], finished_before: datetime,
                   limit: int = 1000) -> int:
        wanted, before = set(kinds), format_dt(finished_before) or ""
        with self._lock:
            jobs = self._open().jobs
            doomed = [j.id for j in jobs.values() if j.kind in wanted and j.status == "done"
                      and j.finished_at is not None and j.finished_at < before]
            for job_id in doomed[:max(limit, 0)]:
                del jobs[job_id]
            return min(len(doomed), max(limit, 0))

    def job_counts(self, scope: Scope | None) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for j in self._open().jobs.values():
                if scope is None or visible(j.scope, scope):
                    counts[j.status] = counts.get(j.status, 0) + 1
            return counts


def _job(j: JobRow) -> Job:
    return Job(id=j.id, kind=j.kind, scope=j.scope, payload=dict(j.payload),
               attempts=j.attempts, status=j.status, last_error=j.last_error,
               created_at=parse_dt(j.created_at), finished_at=parse_dt(j.finished_at),
               result=None if j.result is None else dict(j.result))


def _parse_cursor(cursor: str) -> tuple[float, int]:
    try:
        ts, rid = cursor.split("|")
        return float(ts), int(rid)
    except ValueError as exc:
        raise InvalidInput(f"invalid cursor {cursor!r}") from exc


def _page(rows: list[ItemRow], limit: int, ts: Any, item: Any) -> Page:
    """The first ``limit`` rows as items, with the keyset cursor of the last one
    when more follow."""
    last = rows[limit - 1] if len(rows) > limit and limit > 0 else None
    return Page(items=[item(r) for r in rows[:max(limit, 0)]],
                next_cursor=None if last is None else f"{ts(last)}|{last.rid}")
