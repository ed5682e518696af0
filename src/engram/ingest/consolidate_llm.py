"""LLM consolidation: accepted candidates -> ADD / UPDATE / SUPERSEDE / DELETE / NOOP.

:class:`LLMConsolidator` produces the same
:class:`~engram.ingest.consolidate.Decision` objects as the rule
consolidator, so :func:`~engram.ingest.consolidate.plan_writes` records every
decision in history with its reason. Order of precedence per candidate:

1. a single-valued ``attribute`` (``lives_in``...) is decided by the rule
   consolidator, deterministically (a new value supersedes the old one);
2. text repeated earlier in the batch, or equal (normalised) to an active
   memory of the same scope, is a NOOP, without a model call;
3. a candidate with no similar active memory (lexical and vector search with
   a kinds filter, in the owner's scope) is an ADD, without a model call;
4. the rest go to the model in one call: existing memories appear under short
   local ids (``M1``, ``M2``...) and candidates as ``C1``, ``C2``...; a decision
   naming an id the prompt did not show never reaches the store: an
   UPDATE/SUPERSEDE on an unknown id becomes an ADD, a DELETE a NOOP; a
   SUPERSEDE or DELETE by a candidate said *before* the memory it names (a
   backfilled chat) is read the other way round: the candidate is written
   already superseded at the memory's time, and a DELETE is a NOOP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..llm.client import LLMClient
from ..models import Memory, MemoryStatus, Operation, Scope, SearchFilters
from ..store.base import Store
from ..text import normalize
from ..timeutil import format_day
from .consolidate import Decision, RuleConsolidator
from .derive import Candidate

__all__ = ["CONSOLIDATE_SCHEMA", "NEIGHBOURS", "LLMConsolidator"]

#: similar active memories fetched per candidate, per signal
NEIGHBOURS = 5

CONSOLIDATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "decisions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "candidate": {"type": "string"},
                    "op": {"type": "string", "enum": [o.value for o in Operation]},
                    "target": {"type": ["string", "null"]},
                    "text": {"type": ["string", "null"]},
                    "reason": {"type": "string"},
                },
                "required": ["candidate", "op", "target", "text", "reason"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["decisions"],
    "additionalProperties": False,
}

_SYSTEM = """You maintain an assistant's long-term memory. For each NEW memory (C1, C2, ...)
decide how it changes the EXISTING memories (M1, M2, ...):
- ADD: new information; target null.
- UPDATE: it refines or adds detail to one existing memory that stays true; target that
  memory, text = the merged memory in one sentence.
- SUPERSEDE: it replaces an existing memory that is no longer true (moved, changed job,
  changed mind); target the old memory. The new memory is stored, the old one kept as history.
- DELETE: it says an existing memory is wrong or no longer true and holds nothing new to
  keep; target that memory.
- NOOP: it is already known; target the memory that already says it.
Use only the ids shown. Give a short reason for every decision.
Answer with JSON: {"decisions": [{"candidate": "C1", "op": "...", "target": "M1" or null,
"text": null or the merged text, "reason": "..."}]}, one decision per new memory."""


class LLMConsolidator:
    """Decides with rules where they are certain and with the model elsewhere."""

    def __init__(
        self, store: Store, client: LLMClient, model_id: str | None, *, neighbours: int = NEIGHBOURS
    ) -> None:
        self.store = store
        self.client = client
        self.model_id = model_id
        self.neighbours = neighbours

    def decide(
        self, scope: Scope, candidates: Sequence[Candidate], vectors: Sequence[np.ndarray | None]
    ) -> list[Decision]:
        """One decision per candidate, in order. Raises :class:`~engram.llm.LLMError`
        when the model call fails (nothing is decided then)."""
        owner = scope.with_session(None)
        decided: dict[int, Decision] = {}
        attr = [i for i, c in enumerate(candidates) if c.attribute_key is not None]
        if attr:
            rules = RuleConsolidator(self.store, self.model_id)
            for i, d in zip(
                attr,
                rules.decide(scope, [candidates[i] for i in attr], [vectors[i] for i in attr]),
                strict=True,
            ):
                decided[i] = d
        seen: set[str] = set()
        ask: list[tuple[int, list[Memory]]] = []
        for i, (cand, vec) in enumerate(zip(candidates, vectors, strict=True)):
            if i in decided:
                continue
            key = normalize(cand.text).lower()
            if key in seen:
                decided[i] = Decision(Operation.NOOP, cand, reason="repeated in this batch")
                continue
            seen.add(key)
            similar = self._similar(owner, cand, vec)
            same = [m for m in similar if normalize(m.text).lower() == key]
            if same:
                decided[i] = Decision(
                    Operation.NOOP, cand, targets=same[:1], reason="already known"
                )
            elif not similar:
                decided[i] = Decision(Operation.ADD, cand, reason="new information")
            else:
                ask.append((i, similar))
        if ask:
            decided.update(self._ask(candidates, ask))
        return [decided[i] for i in range(len(candidates))]

    def _similar(self, scope: Scope, cand: Candidate, vec: np.ndarray | None) -> list[Memory]:
        filters = SearchFilters(kinds=frozenset({str(cand.kind)}))
        hits = self.store.lexical_search(scope, cand.text, filters, self.neighbours)
        ids = [h.ref.id for h in hits]
        if vec is not None and self.model_id is not None:
            dense = self.store.vector_search(scope, vec, self.model_id, filters, self.neighbours)
            ids += [h.ref.id for h in dense]
        found = self.store.get_memories(scope, list(dict.fromkeys(ids)))
        return [m for m in found if m.status == MemoryStatus.ACTIVE]

    def _ask(
        self, candidates: Sequence[Candidate], ask: list[tuple[int, list[Memory]]]
    ) -> dict[int, Decision]:
        local: dict[str, Memory] = {}
        by_id: dict[str, str] = {}
        for _, similar in ask:
            for m in similar:
                if m.id not in by_id:
                    by_id[m.id] = f"M{len(by_id) + 1}"
                    local[by_id[m.id]] = m
        cands = {f"C{n}": i for n, (i, _) in enumerate(ask, 1)}
        lines = ["EXISTING memories:"]
        for lid, m in local.items():
            since = f" (since {format_day(m.valid_from)})" if m.valid_from else ""
            lines.append(f"{lid}: {m.text}{since}")
        lines.append("")
        lines.append("NEW memories:")
        for (cid, i), (_, similar) in zip(cands.items(), ask, strict=True):
            cand = candidates[i]
            since = f" (since {format_day(cand.valid_from)})" if cand.valid_from else ""
            near = ", ".join(by_id[m.id] for m in similar)
            lines.append(f"{cid}: {cand.text}{since} [similar: {near}]")
        response = self.client.chat(
            [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": "\n".join(lines)}],
            json_schema=CONSOLIDATE_SCHEMA, schema_name="decisions", stage="consolidate",
        )
        out: dict[int, Decision] = {}
        for item in response.data["decisions"]:
            index = cands.get(str(item["candidate"]).strip())
            if index is None or index in out:
                continue  # a candidate the prompt never showed, or a second decision
            out[index] = _decision(candidates[index], item, local)
        for i in cands.values():
            if i not in out:
                out[i] = Decision(Operation.ADD, candidates[i], reason="model gave no decision")
        return out


def _decision(cand: Candidate, item: dict[str, Any], local: dict[str, Memory]) -> Decision:
    op = Operation(item["op"])
    reason = " ".join(str(item["reason"]).split())[:500] or op.value.lower()
    target_id = item["target"].strip() if isinstance(item["target"], str) else None
    target = local.get(target_id) if target_id else None
    if op == Operation.ADD:
        return Decision(Operation.ADD, cand, reason=reason)
    if op == Operation.NOOP:
        return Decision(Operation.NOOP, cand, targets=[target] if target else [], reason=reason)
    if target is None:
        note = f"model named unknown memory {target_id!r}"
        if op == Operation.DELETE:
            return Decision(Operation.NOOP, cand, reason=f"{note}; delete ignored")
        return Decision(Operation.ADD, cand, reason=f"{note}; added instead ({reason})")
    if op == Operation.UPDATE:
        text = " ".join(str(item["text"] or "").split()) or cand.text
        return Decision(Operation.UPDATE, cand, targets=[target], reason=reason, new_text=text)
    said = target.valid_from or target.created_at
    if cand.valid_from is not None and said > cand.valid_from:
        # an older statement (a backfilled chat) never ends a later memory: read the
        # other way round, the later memory replaces it
        note = f"model's {op.value} of a later memory {target_id} reversed ({reason})"
        if op == Operation.DELETE:
            return Decision(Operation.NOOP, cand, reason=note)
        decision = Decision(Operation.ADD, cand, reason=note)
        decision.supersede_at(said, f"replaced by a later statement already stored ({reason})")
        return decision
    return Decision(op, cand, targets=[target], reason=reason)
