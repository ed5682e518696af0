"""The one place write batches are built and written.

Every write of the engine goes through this module: episodes from ``add``,
memories derived by rules or an LLM, summaries, direct notes (``remember``),
caller changes (``update``, ``delete``), imports and re-embedding. It owns

* **provenance**: the reserved metadata namespace (:mod:`engram.trust.provenance`)
  is stamped here and only here: on messages (trust of the role), direct notes
  (``agent``), caller changes (the old trust level kept, the text re-scanned),
  imports (an exported level kept, else ``imported``), derived memories (the
  weakest level of their source episodes) and summaries (``agent``);
* **versions**: every memory change gets its :class:`~engram.models.MemoryVersion`
  from :func:`version`;
* **rows from decisions**: :func:`plan_writes` turns consolidation decisions into
  new and changed memories with their history;
* **vectors and index texts**: :class:`Committer` adds them for the items a
  batch stores (:class:`~engram.ingest.index.Indexer`);
* **imports**: :meth:`Committer.records` writes parsed JSONL records in batches;
* **fences**: derived rows carry a :class:`~engram.store.base.Fence` on their
  source episodes (and job), so a forget or a racing derivation wins;
* **the write**: :meth:`Committer.write` is the only caller of ``Store.write`` (but
  for the benchmarks that measure the store itself; ``tests/test_write_side.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from ..embed.base import Embedder
from ..ids import new_id
from ..models import Episode, Memory, MemoryOp, MemoryStatus, MemoryVersion, Operation, Scope
from ..store.base import Fence, Job, Store, WriteBatch, WriteOutcome
from ..transfer import ImportReport, Record
from ..trust.provenance import (
    RESERVED_KEY,
    TRUST_LEVELS,
    derived_from,
    is_flagged,
    provenance,
    restamped,
    strip_reserved,
    trust_of,
    trust_of_role,
)
from .consolidate import Decision
from .derive import Candidate
from .index import Indexer

__all__ = [
    "Committer",
    "Stamp",
    "derived_batch",
    "derived_fence",
    "message_batch",
    "new_memory",
    "plan_writes",
    "stamp_changed",
    "stamp_direct",
    "stamp_imported",
    "stamp_messages",
    "stamp_summary",
    "version",
]

#: metadata of a new memory made from a candidate (its provenance)
Stamp = Callable[[Candidate], dict[str, Any]]


# -- provenance ------------------------------------------------------------------------
def stamp_messages(episodes: Iterable[Episode]) -> None:
    """Messages from callers: the reserved namespace is never taken from them; the
    trust level follows the role."""
    for e in episodes:
        e.metadata = strip_reserved(e.metadata)
        e.metadata[RESERVED_KEY] = provenance(e.text, trust_of_role(e.role), "message")


def stamp_direct(text: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata of a memory written directly (``remember``): an agent's note."""
    return {**strip_reserved(metadata), RESERVED_KEY: provenance(text, "agent", "direct")}


def stamp_changed(old: Memory, text: str | None,
                  metadata: dict[str, Any] | None) -> dict[str, Any]:
    """Metadata after a caller's change: the new (or old) caller metadata, the old
    trust level and origin kept; flags re-computed from a new text, and the old ones kept
    while the text stays (a rule memory's were made on the words the rule read, not on
    its template: :func:`~engram.trust.provenance.derived_from`)."""
    ns = old.metadata.get(RESERVED_KEY)
    level = trust_of(old.metadata) if isinstance(ns, dict) else "agent"
    origin = str(ns.get("origin", "direct")) if isinstance(ns, dict) else "direct"
    kept = strip_reserved(old.metadata if metadata is None else metadata)
    fresh = (restamped(ns if isinstance(ns, dict) else {}, level, origin)
             if text is None or text == old.text else provenance(text, level, origin))
    return {**kept, RESERVED_KEY: _carried(ns, fresh)}


def _carried(ns: Any, fresh: dict[str, Any]) -> dict[str, Any]:
    """A fresh provenance namespace keeping the old one's note (its keywords, context
    and links, :mod:`engram.agents.links`): not provenance, never re-computed here."""
    if isinstance(ns, dict) and isinstance(ns.get("note"), dict):
        fresh["note"] = ns["note"]
    return fresh


def stamp_imported(items: Iterable[Episode | Memory],
                   rederive: Callable[[Sequence[Episode]], Sequence[Candidate]] | None = None,
                   ) -> None:
    """Imported items: flags are always re-computed, as the item's own write computed
    them. An episode's from its text. A memory the rules made (origin ``"rules"``) that
    ``rederive`` (the rule deriver) makes again, with the same text, from its source
    episodes in the same import, none of them flagged: from the words the rule read, as
    derivation scans it (:func:`~engram.trust.provenance.derived_from`: a rule fills a
    template, "When the user asks about ...: always ...", whose own words look like an
    order to the scanner). Any other memory's from its text. A trust level exported by
    Engram is kept, anything else becomes ``imported``."""
    every = list(items)
    episodes = [e for e in every if isinstance(e, Episode)]
    for episode in episodes:
        _stamp_imported(episode, episode.text)
    by_id = {e.id: e for e in episodes}
    made: dict[tuple[str, ...], Sequence[Candidate]] = {}
    for memory in every:
        if isinstance(memory, Memory):
            _stamp_imported(memory, _rule_words(memory, by_id, rederive, made) or memory.text)


def _stamp_imported(item: Episode | Memory, scanned: str) -> None:
    ns = item.metadata.get(RESERVED_KEY)
    ns = ns if isinstance(ns, dict) else {}
    level = ns.get("trust") if ns.get("trust") in TRUST_LEVELS else "imported"
    item.metadata = {**strip_reserved(item.metadata), RESERVED_KEY: _carried(ns, provenance(
        scanned, str(level), str(ns.get("origin") or "import")))}


def _rule_words(memory: Memory, episodes: dict[str, Episode],
                rederive: Callable[[Sequence[Episode]], Sequence[Candidate]] | None,
                made: dict[tuple[str, ...], Sequence[Candidate]]) -> str | None:
    """The words a rule read to make ``memory``, where ``rederive`` makes it again from its
    source episodes (all in ``episodes``, none flagged); ``None`` otherwise. ``made``
    keeps each source set's candidates."""
    ns = memory.metadata.get(RESERVED_KEY)
    if rederive is None or not isinstance(ns, dict) or ns.get("origin") != "rules":
        return None
    ids = tuple(memory.source_episode_ids)
    sources = [episodes.get(i) for i in ids]
    if not ids or any(e is None or is_flagged(e.metadata) for e in sources):
        return None
    if ids not in made:
        made[ids] = rederive([e for e in sources if e is not None])
    return next((c.said or c.text for c in made[ids] if c.text == memory.text), None)


def stamp_summary(candidate: Candidate) -> dict[str, Any]:
    """A model's own words about many messages: agent-inferred, quoted in context."""
    return {RESERVED_KEY: provenance(candidate.text, "agent", "llm-summary")}


def stamp_derived(sources: Iterable[Episode], origin: str) -> Stamp:
    """Memories derived from ``sources`` by ``origin`` ("rules", "llm"): the weakest
    trust level of the episodes each cites."""
    return derived_from(sources, origin)


def derived_fence(tenant: str, sources: Iterable[Episode] = (),
                  job_id: str | None = None) -> Fence:
    """The fence of rows derived from ``sources`` (and written by job ``job_id``)."""
    return Fence(tenant, tuple(e.id for e in sources), job_id)


def message_batch(episodes: Sequence[Episode], jobs: Sequence[Job] = ()) -> WriteBatch:
    """The batch of new messages: their episodes, and the jobs that will derive
    memories from them (durable in the same transaction)."""
    return WriteBatch(episodes=list(episodes), jobs=list(jobs))


def derived_batch(tenant: str, sources: Iterable[Episode] = (),
                  job_id: str | None = None) -> WriteBatch:
    """An empty batch for rows derived from ``sources`` (by job ``job_id``), fenced
    on them: see :func:`derived_fence`."""
    return WriteBatch(fence=derived_fence(tenant, sources, job_id))


# -- versions and rows -------------------------------------------------------------------
def version(m: Memory, op: Operation, before: Memory | None, reason: str,
            at: datetime) -> MemoryVersion:
    """The history entry of ``m``'s current version."""
    return MemoryVersion(
        memory_id=m.id,
        version=m.version,
        operation=op,
        before=None if before is None else before.to_dict(),
        after=m.to_dict(),
        reason=reason,
        recorded_at=at,
    )


def new_memory(
    cand: Candidate, scope: Scope, at: datetime, metadata: dict[str, Any] | None = None
) -> Memory:
    return Memory(
        id=new_id("mem"),
        scope=scope,
        kind=cand.kind,
        text=cand.text,
        created_at=at,
        updated_at=at,
        entities=list(cand.entities),
        keywords=list(cand.keywords),
        valid_from=cand.valid_from,
        valid_to=cand.valid_to,
        importance=cand.importance,
        source_episode_ids=list(cand.source_episode_ids),
        attribute=cand.attribute_key,
        metadata=dict(metadata or {}),
    )


def plan_writes(
    decisions: Sequence[Decision], scope: Scope, at: datetime, batch: WriteBatch,
    metadata_for: Stamp | None = None,
) -> tuple[list[MemoryOp], list[Memory]]:
    """Append the rows for ``decisions`` to ``batch``.

    ``metadata_for`` gives the metadata of each new memory (its provenance).

    Returns the operations to report and the memories whose text must be
    (re-)embedded and indexed.
    """
    ops: list[MemoryOp] = []
    to_index: list[Memory] = []
    changed: dict[str, tuple[Memory, int]] = {}
    for d in decisions:
        cand = d.candidate
        if d.op in (Operation.SUPERSEDE, Operation.DELETE, Operation.UPDATE):
            for old in d.targets:
                prev, expected = changed.get(old.id, (old, old.version))
                if d.op == Operation.UPDATE:
                    new = dataclasses.replace(
                        prev,
                        text=d.new_text or prev.text,
                        updated_at=at,
                        version=prev.version + 1,
                        source_episode_ids=list(dict.fromkeys(
                            prev.source_episode_ids + (cand.source_episode_ids if cand else [])
                        )),
                        **_changes(prev, d.changes),
                    )
                    to_index.append(new)
                else:
                    status = (MemoryStatus.SUPERSEDED if d.op == Operation.SUPERSEDE
                              else MemoryStatus.DELETED)
                    valid_to = prev.valid_to
                    if d.op == Operation.SUPERSEDE and cand is not None:
                        valid_to = cand.valid_from or at
                    elif d.op == Operation.SUPERSEDE:  # ended by a later message
                        valid_to = d.ended_at or at
                    new = dataclasses.replace(
                        prev, status=status, valid_to=valid_to, expired_at=at, updated_at=at,
                        version=prev.version + 1,
                    )
                changed[old.id] = (new, expected)
                batch.versions.append((scope.tenant, version(new, d.op, prev, d.reason, at)))
                ops.append(MemoryOp(d.op, old.id, new.text, d.reason))
        if cand is not None and d.op in (Operation.ADD, Operation.SUPERSEDE):
            mem = new_memory(cand, scope, at, metadata_for(cand) if metadata_for else None)
            if d.changes:
                mem = dataclasses.replace(mem, **_changes(mem, d.changes))
            batch.versions.append((scope.tenant, version(mem, Operation.ADD, None, d.reason, at)))
            previous = d.targets[0].id if d.op == Operation.SUPERSEDE and d.targets else None
            ops.append(MemoryOp(Operation.ADD, mem.id, mem.text, d.reason, previous_id=previous))
            if d.superseded_at is not None:  # a later statement replaced it already
                born = mem
                mem = dataclasses.replace(
                    born, status=MemoryStatus.SUPERSEDED,
                    valid_to=max(d.superseded_at, born.valid_from or d.superseded_at),
                    expired_at=at, updated_at=at, version=born.version + 1)
                batch.versions.append((scope.tenant, version(
                    mem, Operation.SUPERSEDE, born, d.superseded_reason, at)))
                ops.append(MemoryOp(Operation.SUPERSEDE, mem.id, mem.text,
                                    d.superseded_reason))
            batch.new_memories.append(mem)
            to_index.append(mem)
        elif d.op == Operation.NOOP:
            target = d.targets[0].id if d.targets else None
            ops.append(MemoryOp(Operation.NOOP, target, cand.text if cand else "", d.reason))
    batch.changed_memories.extend(changed.values())
    return ops, to_index


def _changes(prev: Memory, changes: dict[str, Any]) -> dict[str, Any]:
    """A decision's field changes, its ``metadata`` merged over ``prev``'s."""
    if "metadata" not in changes:
        return changes
    return {**changes, "metadata": {**prev.metadata, **changes["metadata"]}}


# -- the write ---------------------------------------------------------------------------
#: a hook on batches that add memories, called once their vectors are in and before
#: the write; it may change the new memories and returns what to run once the batch
#: is written (given a write for its own batch), or ``None`` (``engram.agents.links``)
NewMemoriesHook = Callable[[WriteBatch], Callable[[Callable[[WriteBatch], Any]], None] | None]


class Committer:
    """Writes batches of one store, adding the vectors and index texts of the items
    they store. ``embedder`` returns the engine's embedder (loaded on first use).

    ``on_new_memories`` (see :data:`NewMemoriesHook`) sees every batch that adds
    memories, but imports'; ``on_write`` is called with the tenant of every
    batch written (the engine's semantic cache drops its entries)."""

    def __init__(self, store: Store, embedder: Callable[[], Embedder]) -> None:
        self.store = store
        self._embedder = embedder
        self.on_new_memories: NewMemoriesHook | None = None
        self.on_write: list[Callable[[WriteBatch], Any]] = []

    def indexer(self, embedder: Embedder | None = None) -> Indexer:
        """An indexer for one write (it remembers the vectors it made, so a retried
        write embeds nothing twice)."""
        return Indexer(self.store, embedder or self._embedder())

    def write(self, batch: WriteBatch, index: Sequence[Episode | Memory] = (), *,
              indexer: Indexer | None = None, link: bool = True) -> WriteOutcome:
        """Add vectors and index texts for ``index`` to ``batch`` and write it
        atomically (see :meth:`engram.store.base.Store.write`); ``link=False``
        skips :attr:`on_new_memories`."""
        if index:
            (indexer or self.indexer()).add_to(batch, list(index))
        hook = self.on_new_memories if link and batch.new_memories else None
        after = hook(batch) if hook is not None else None
        try:
            outcome = self.store.write(batch)
        finally:
            for listener in self.on_write:
                listener(batch)
        if after is not None and not outcome.fenced:
            after(lambda b: self.write(b, link=False))
        return outcome

    def memory(self, mem: Memory, reason: str, at: datetime) -> Memory:
        """Write a new memory (version 1) with its vectors."""
        batch = WriteBatch(new_memories=[mem])
        batch.versions.append((mem.scope.tenant, version(mem, Operation.ADD, None, reason, at)))
        self.write(batch, [mem])
        return mem

    def change(self, old: Memory, new: Memory, op: Operation, reason: str,
               at: datetime) -> None:
        """Write ``new`` as the next version of ``old`` (re-embedded for an UPDATE);
        :class:`~engram.errors.Conflict` when ``old`` is no longer the latest."""
        batch = WriteBatch(changed_memories=[(new, old.version)])
        batch.versions.append((old.scope.tenant, version(new, op, old, reason, at)))
        self.write(batch, [new] if op == Operation.UPDATE else [])

    def records(self, records: Sequence[Record], batch_size: int,
                progress: Callable[[int], None] | None = None) -> ImportReport:
        """Write parsed import records in atomic batches of ``batch_size`` (episodes,
        memories, then versions), idempotent by id; ``progress(n)`` after each."""
        report = ImportReport(lines=len(records))
        order = {"episode": 0, "memory": 1, "version": 2}
        ordered = sorted(records, key=lambda r: order[r[0]])
        for i in range(0, len(ordered), batch_size):
            chunk = ordered[i : i + batch_size]
            batch = WriteBatch()
            items: list[Episode | Memory] = []
            for _, obj, tenant in chunk:
                if isinstance(obj, Episode):
                    batch.episodes.append(obj)
                    items.append(obj)
                elif isinstance(obj, Memory):
                    batch.new_memories.append(obj)
                    items.append(obj)
                else:
                    batch.versions.append((tenant, obj))
            out = self.write(batch, items, link=False)
            report.episodes_created += len(out.created_episode_ids)
            report.episodes_existing += len(out.existing_episode_ids)
            report.memories_created += len(out.created_memory_ids)
            report.memories_existing += len(out.existing_memory_ids)
            report.versions += len(batch.versions)
            if progress is not None:
                progress(len(chunk))
        return report

    def reindex(self, items: Sequence[Episode | Memory], indexer: Indexer) -> None:
        """Write new vectors and index texts for stored items (re-embedding)."""
        self.write(WriteBatch(), items, indexer=indexer)

    def enqueue(self, jobs: Sequence[Job]) -> None:
        """Make background jobs durable."""
        self.write(WriteBatch(jobs=list(jobs)))
