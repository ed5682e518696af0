"""Stage 3, consolidate: candidates -> ADD / UPDATE / SUPERSEDE / DELETE / NOOP.

The rule consolidator decides without a model:

* a candidate whose normalised text equals an active memory, or whose vector
  is nearly identical (cosine >= ``duplicate_threshold``) to one of the same
  kind, is a NOOP (the existing memory gains the new source episode, as an
  UPDATE of its provenance only when the source is new);
* a candidate for a single-valued attribute (``lives_in``...) of the same
  subject supersedes every active memory of that attribute with another
  value: the old one gets ``valid_to`` and status ``superseded`` and stays in
  history;
* anything else is an ADD.

:func:`plan_writes` turns decisions into the rows of a
:class:`~engram.store.base.WriteBatch`, each change with its history entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from ..ids import new_id
from ..models import (
    Memory,
    MemoryOp,
    MemoryStatus,
    MemoryVersion,
    Operation,
    Scope,
    SearchFilters,
)
from ..store.base import Store, WriteBatch
from ..text import normalize
from .derive import Candidate

__all__ = ["Decision", "RuleConsolidator", "plan_writes"]


@dataclass
class Decision:
    op: Operation
    candidate: Candidate | None
    #: memories the decision changes (superseded, updated or deleted)
    targets: list[Memory] = field(default_factory=list)
    reason: str = ""
    #: for UPDATE: the new text of the single target
    new_text: str | None = None


class RuleConsolidator:
    duplicate_threshold = 0.95

    def __init__(self, store: Store, model_id: str | None) -> None:
        self.store = store
        self.model_id = model_id

    def decide(
        self, scope: Scope, candidates: Sequence[Candidate], vectors: Sequence[np.ndarray | None]
    ) -> list[Decision]:
        owner = scope.with_session(None)
        decisions: list[Decision] = []
        # candidates earlier in this batch count as existing for later ones
        batch_texts: dict[str, Candidate] = {}
        batch_attrs: dict[str, Candidate] = {}
        for cand, vec in zip(candidates, vectors, strict=True):
            key = normalize(cand.text).lower()
            if key in batch_texts:
                decisions.append(Decision(Operation.NOOP, cand, reason="repeated in this batch"))
                continue
            akey = cand.attribute_key
            if akey is not None:
                repeated = akey in batch_attrs and (
                    normalize(batch_attrs[akey].value or "").lower()
                    == normalize(cand.value or "").lower()
                )
                if repeated:
                    decisions.append(
                        Decision(Operation.NOOP, cand, reason="repeated in this batch")
                    )
                    continue
                current = self.store.active_memories_with_attribute(owner, akey)
                same = [m for m in current if normalize(m.text).lower() == key]
                if same:
                    decisions.append(
                        Decision(Operation.NOOP, cand, targets=same, reason=f"{akey} unchanged")
                    )
                    continue
                batch_attrs[akey] = cand
                batch_texts[key] = cand
                if current:
                    decisions.append(
                        Decision(
                            Operation.SUPERSEDE,
                            cand,
                            targets=current,
                            reason=f"new value for single-valued {cand.attribute}",
                        )
                    )
                else:
                    decisions.append(Decision(Operation.ADD, cand, reason="new attribute value"))
                continue
            dup = self._duplicate(owner, cand, vec)
            if dup is not None:
                decisions.append(
                    Decision(Operation.NOOP, cand, targets=[dup], reason="already known")
                )
                continue
            batch_texts[key] = cand
            decisions.append(Decision(Operation.ADD, cand, reason="new information"))
        return decisions

    def _duplicate(self, scope: Scope, cand: Candidate, vec: np.ndarray | None) -> Memory | None:
        filters = SearchFilters(kinds=frozenset({str(cand.kind)}))
        hits = self.store.lexical_search(scope, cand.text, filters, 5)
        ids = [h.ref.id for h in hits if h.ref.type == "memory"]
        if vec is not None and self.model_id is not None:
            dense = self.store.vector_search(scope, vec, self.model_id, filters, 3)
            ids += [h.ref.id for h in dense if h.score >= self.duplicate_threshold]
        key = normalize(cand.text).lower()
        for m in self.store.get_memories(scope, list(dict.fromkeys(ids))):
            if m.status != MemoryStatus.ACTIVE:
                continue
            if normalize(m.text).lower() == key:
                return m
        if vec is not None and self.model_id is not None:
            for h in dense:
                if h.score >= self.duplicate_threshold:
                    found = self.store.get_memories(scope, [h.ref.id])
                    if found and found[0].status == MemoryStatus.ACTIVE:
                        return found[0]
        return None


def _version(
    m: Memory, op: Operation, before: Memory | None, reason: str, at: datetime
) -> MemoryVersion:
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
    metadata_for: Callable[[Candidate], dict[str, Any]] | None = None,
) -> tuple[list[MemoryOp], list[Memory]]:
    """Append the rows for ``decisions`` to ``batch``.

    ``metadata_for`` gives the metadata of each new memory (e.g. its provenance).

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
                        source_episode_ids=list(
                            dict.fromkeys(
                                prev.source_episode_ids
                                + (cand.source_episode_ids if cand else [])
                            )
                        ),
                    )
                    to_index.append(new)
                else:
                    status = (
                        MemoryStatus.SUPERSEDED
                        if d.op == Operation.SUPERSEDE
                        else MemoryStatus.DELETED
                    )
                    valid_to = prev.valid_to
                    if d.op == Operation.SUPERSEDE and cand is not None:
                        valid_to = cand.valid_from or at
                    new = dataclasses.replace(
                        prev,
                        status=status,
                        valid_to=valid_to,
                        expired_at=at,
                        updated_at=at,
                        version=prev.version + 1,
                    )
                changed[old.id] = (new, expected)
                batch.versions.append((scope.tenant, _version(new, d.op, prev, d.reason, at)))
                ops.append(
                    MemoryOp(d.op, old.id, new.text, d.reason)
                )
        if cand is not None and d.op in (Operation.ADD, Operation.SUPERSEDE):
            mem = new_memory(cand, scope, at, metadata_for(cand) if metadata_for else None)
            batch.new_memories.append(mem)
            batch.versions.append((scope.tenant, _version(mem, Operation.ADD, None, d.reason, at)))
            to_index.append(mem)
            previous = d.targets[0].id if d.op == Operation.SUPERSEDE and d.targets else None
            ops.append(MemoryOp(Operation.ADD, mem.id, mem.text, d.reason, previous_id=previous))
        elif d.op == Operation.NOOP:
            target = d.targets[0].id if d.targets else None
            ops.append(MemoryOp(Operation.NOOP, target, cand.text if cand else "", d.reason))
    batch.changed_memories.extend(changed.values())
    return ops, to_index
