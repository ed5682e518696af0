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
  gather values, only a polarity flip or an explicit correction; a standing
  instruction never replaces one for other requests,
  :func:`~engram.ingest.instructions.for_other_requests`), found among the
  ``supersede_candidates`` best lexical and dense matches, and said no later
  than the candidate; the version's reason names the rule;
* anything else is an ADD.

Candidates are decided in event-time order, so "I live in Boston" (January) and "I
moved to Denver" (February) sent in one call leave Denver active and Boston superseded
at February, in whichever order the call lists them; a later candidate of the batch
replaces an earlier one by the same tests as a stored memory. An older statement stored
after a newer one (a backfilled chat) never supersedes it: when a stored active memory
said later replaces it (the same attribute, or :func:`~engram.ingest.supersede.replaces`
read with the later memory's own messages), its memory is written already superseded,
valid until the later statement (:attr:`Decision.superseded_at`: an ADD version, then a
SUPERSEDE version). A later message that ends a memory with no new value is read by
:mod:`engram.ingest.endings`.

:func:`engram.ingest.commit.plan_writes` turns decisions into the rows of a
:class:`~engram.store.base.WriteBatch`, each change with its history entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from .instructions import for_other_requests
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
    #: for ADD and SUPERSEDE with a candidate: the new memory is written already
    #: superseded, valid until this event time (a later statement replaced it: one
    #: of the same batch, or one stored before this older one came), with this reason
    superseded_at: datetime | None = None
    superseded_reason: str = ""

    def supersede_at(self, when: datetime | None, reason: str) -> None:
        """Mark the candidate's memory replaced at ``when`` (the earliest such
        time wins; ``None``: nothing known, nothing marked)."""
        if when is None or (self.superseded_at is not None and self.superseded_at <= when):
            return
        self.superseded_at = when
        self.superseded_reason = reason


#: a stand-in for a missing event time in the sort key (those sort last by its first element)
_EPOCH = datetime.min.replace(tzinfo=UTC)
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
        """One decision per candidate, in candidate order. Candidates are decided in
        the order of their event time (then their order), so that of two statements in
        one batch the later one replaces the earlier one, whatever order they came in;
        a statement older than an active memory that replaces it is written already
        superseded (:attr:`Decision.superseded_at`), never over the newer one."""
        owner = scope.with_session(None)
        decided: dict[int, Decision] = {}
        # candidates earlier in this batch count as existing for later ones
        batch_texts: set[str] = set()
        batch_attrs: dict[str, int] = {}  # attribute key -> the batch's latest value so far
        batch_plain: list[int] = []  # candidates with no attribute, decided to be written
        order = sorted(range(len(candidates)),
                       key=lambda i: (candidates[i].valid_from is None,
                                      candidates[i].valid_from or _EPOCH, i))
        for i in order:
            cand, vec = candidates[i], vectors[i]
            key = normalize(cand.text).lower()
            if key in batch_texts:
                decided[i] = Decision(Operation.NOOP, cand, reason="repeated in this batch")
                continue
            akey = cand.attribute_key
            if akey is not None:
                decided[i] = self._attribute(owner, cand, key, decided, candidates,
                                             batch_attrs.get(akey))
                if decided[i].op != Operation.NOOP:
                    batch_attrs[akey] = i
                    batch_texts.add(key)
                continue
            dup = self._duplicate(owner, cand, vec)
            if dup is not None:
                decided[i] = Decision(Operation.NOOP, cand, targets=[dup], reason="already known")
                continue
            batch_texts.add(key)
            old, why, later = self._replaced(owner, cand, vec)
            if old:
                decision = Decision(Operation.SUPERSEDE, cand, targets=old,
                                    reason=f"replaces an older statement: {why}")
            else:
                decision = Decision(Operation.ADD, cand, reason="new information")
            if later is not None:
                decision.supersede_at(later, "replaced by a later statement already stored")
            # an earlier statement of this batch it replaces ends where it begins
            for j in batch_plain:
                prev = candidates[j]
                if (subject_key(prev.subject) == subject_key(cand.subject)
                        and set(prev.source_episode_ids).isdisjoint(cand.source_episode_ids)
                        and not for_other_requests(prev.text, cand.text)
                        and replaces(prev.text, cand.text, cand.said, cand.subject,
                                     accumulates=cand.kind in _ACCUMULATING) is not None):
                    decided[j].supersede_at(cand.valid_from,
                                            "replaced by a later statement of this batch")
            batch_plain.append(i)
            decided[i] = decision
        return [decided[i] for i in range(len(candidates))]

    def _attribute(self, owner: Scope, cand: Candidate, key: str,
                   decided: dict[int, Decision], candidates: Sequence[Candidate],
                   prev: int | None) -> Decision:
        """The decision on a candidate for a single-valued attribute; ``prev``: the
        batch's candidate of the same attribute decided before it (an earlier
        statement), which this one ends."""
        akey = cand.attribute_key or ""
        if prev is not None:
            if (normalize(candidates[prev].value or "").lower()
                    == normalize(cand.value or "").lower()):
                return Decision(Operation.NOOP, cand, reason="repeated in this batch")
        current = self.store.active_memories_with_attribute(owner, akey)
        # an active value said after this one (an older message stored late) stays
        later = [m for m in current if cand.valid_from is not None
                 and (m.valid_from or m.created_at) > cand.valid_from]
        same = [m for m in current if normalize(m.text).lower() == key]
        if prev is None and not later and same:
            return Decision(Operation.NOOP, cand, targets=same, reason=f"{akey} unchanged")
        if prev is not None:
            decided[prev].supersede_at(cand.valid_from,
                                       f"new value for single-valued {cand.attribute} "
                                       "later in this batch")
            decision = Decision(Operation.ADD, cand,
                                reason=f"new value for single-valued {cand.attribute}")
        elif current and not later:
            decision = Decision(Operation.SUPERSEDE, cand, targets=current,
                                reason=f"new value for single-valued {cand.attribute}")
        else:
            decision = Decision(Operation.ADD, cand, reason="new attribute value")
        if later:
            decision.supersede_at(min(m.valid_from or m.created_at for m in later),
                                  f"a later value of single-valued {cand.attribute} is stored")
        return decision

    def _replaced(
        self, scope: Scope, cand: Candidate, vec: np.ndarray | None
    ) -> tuple[list[Memory], str, datetime | None]:
        """The active memories of ``cand``'s subject it replaces, and why; and when
        the first active memory said after it that replaces it was said (``None``
        when none does)."""
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
        later: datetime | None = None
        gathers = cand.kind in _ACCUMULATING
        for m in self.store.get_memories(scope, list(dict.fromkeys(ids))):
            if (m.status != MemoryStatus.ACTIVE or subject not in m.entities
                    or for_other_requests(m.text, cand.text)):
                continue
            said_at = m.valid_from or m.created_at
            if cand.valid_from is not None and said_at > cand.valid_from:
                # a memory of a later statement is not replaced by an earlier one; it
                # may replace the earlier one, as its messages said it ("now", "moved")
                if ((later is None or said_at < later)
                        and replaces(cand.text, m.text, self._said(scope, m), cand.subject,
                                     accumulates=gathers) is not None):
                    later = said_at
                continue
            why = replaces(m.text, cand.text, cand.said, cand.subject, accumulates=gathers)
            if why is not None:
                out.append(m)
                reasons.append(why)
        return out, ", ".join(dict.fromkeys(reasons)), later

    def _said(self, scope: Scope, m: Memory) -> str:
        """The words of the messages ``m`` was derived from (its text when they are
        gone), where markers of change live."""
        found = self.store.get_episodes(scope, m.source_episode_ids)
        return " ".join(e.text for e in found) or m.text

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
                    if (found and found[0].status == MemoryStatus.ACTIVE
                            and not for_other_requests(found[0].text, cand.text)):
                        return found[0]
        return None
