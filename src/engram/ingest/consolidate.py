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
* any other candidate supersedes the active memories of the same subject it
  replaces by :func:`engram.ingest.supersede.replaces` (one frame, one slot
  changed; a correction; a stated change; for plans and preferences, which
  gather values, only a polarity flip or an explicit correction), found among the
  ``supersede_candidates`` best lexical and dense matches, and said no later
  than the candidate; the version's reason names the rule;
* anything else is an ADD.

:func:`engram.ingest.commit.plan_writes` turns decisions into the rows of a
:class:`~engram.store.base.WriteBatch`, each change with its history entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from ..models import (
    Memory,
    MemoryKind,
    MemoryStatus,
    Operation,
    Scope,
    SearchFilters,
)
from ..store.base import Store
from ..text import normalize
from .derive import Candidate, subject_key
from .supersede import replaces

__all__ = ["Decision", "RuleConsolidator"]


@dataclass
class Decision:
    op: Operation
    candidate: Candidate | None
    #: memories the decision changes (superseded, updated or deleted)
    targets: list[Memory] = field(default_factory=list)
    reason: str = ""
    #: for UPDATE: the new text of the single target
    new_text: str | None = None
    #: for ADD and UPDATE: fields set on the new memory or version (``metadata`` is
    #: merged over the existing metadata), e.g. a tracked preference's state
    changes: dict[str, Any] = field(default_factory=dict)
    #: for SUPERSEDE with no candidate (a later message ended the targets, see
    #: :mod:`engram.ingest.endings`): when they stopped holding
    ended_at: datetime | None = None


#: kinds whose memories gather values (a new plan or liking does not end an old one)
_ACCUMULATING = frozenset({MemoryKind.PLAN, MemoryKind.PREFERENCE})


class RuleConsolidator:
    duplicate_threshold = 0.95
    #: lexical and dense matches read for memories a candidate may replace
    supersede_candidates = 8

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
            old, why = self._replaced(owner, cand, vec)
            if old:
                decisions.append(Decision(Operation.SUPERSEDE, cand, targets=old,
                                          reason=f"replaces an older statement: {why}"))
            else:
                decisions.append(Decision(Operation.ADD, cand, reason="new information"))
        return decisions

    def _replaced(
        self, scope: Scope, cand: Candidate, vec: np.ndarray | None
    ) -> tuple[list[Memory], str]:
        """The active memories of ``cand``'s subject it replaces, and why."""
        n = self.supersede_candidates
        if vec is not None and self.model_id is not None:  # one round trip where it can
            lexical, dense = self.store.search_both(scope, cand.text, vec, self.model_id,
                                                    SearchFilters(), n)
        else:
            lexical, dense = self.store.lexical_search(scope, cand.text, SearchFilters(), n), []
        ids = [h.ref.id for h in (*lexical, *dense) if h.ref.type == "memory"]
        subject = subject_key(cand.subject)
        out: list[Memory] = []
        reasons: list[str] = []
        for m in self.store.get_memories(scope, list(dict.fromkeys(ids))):
            if m.status != MemoryStatus.ACTIVE or subject not in m.entities:
                continue
            if cand.valid_from is not None and (m.valid_from or m.created_at) > cand.valid_from:
                continue  # a memory of a later statement is not replaced by an earlier one
            why = replaces(m.text, cand.text, cand.said, cand.subject,
                           accumulates=cand.kind in _ACCUMULATING)
            if why is not None:
                out.append(m)
                reasons.append(why)
        return out, ", ".join(dict.fromkeys(reasons))

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
