"""The standing instructions a context block carries (:func:`standing_for`, :func:`pinned`).

A user's standing instructions (:mod:`engram.ingest.instructions`: "Always give
step-by-step explanations with concrete examples when I ask about probability
concepts") govern requests that may share no word with them ("How do I work out the
chance of drawing a red card?"), and a ranking made for what a request is *about*
buries them under the turns about red cards. :meth:`engram.engine.Engram.context`
therefore puts ahead of its ranked items:

* every current instruction for all requests ("Ana's standing instruction: never use
  emojis"), newest first, at most :data:`ALWAYS_MAX`;
* the ``standing`` instructions whose *topic* is nearest the query in meaning (the
  cosine of the query and the topic alone, "probability concepts", not the whole
  memory text), when at least ``standing_cos`` close.

Search results are not changed: only what a context block holds. Measured on BEAM's
instruction-following questions (the instruction in the 1,024-token block; figures
and the thresholds tried in docs/recall.md, "Session 42").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..embed.base import Embedder
from ..ingest.instructions import read_instruction_text
from ..models import Hit, ItemRef, Memory, MemoryKind, MemoryStatus, Scope, SearchFilters
from ..store.base import Store
from ..text import TextMemo
from .topics import unit

__all__ = ["ALWAYS_MAX", "Instructions", "Standing", "instructions_in", "instructions_of",
           "pinned", "standing_for"]

#: instructions for every request a block carries at most (the newest)
ALWAYS_MAX = 5
#: (model id, topic) -> the topic's unit vector: a user's few topics are embedded once
#: a process, not at every request (emptied with the text memos after a forget)
_TOPICS: TextMemo[tuple[str, str], np.ndarray] = TextMemo()
_TOPICS_MAX = 20_000


@dataclass(frozen=True)
class Instructions:
    """A scope's current standing instructions: those for every request (newest
    first) and the topical ones with their topics."""

    always: tuple[Memory, ...]
    topical: tuple[tuple[Memory, str], ...]


@dataclass(frozen=True)
class Standing:
    """A standing instruction chosen for a query: the memory and its topic's cosine
    to the query (``None``: an instruction for every request)."""

    memory: Memory
    cosine: float | None


def instructions_of(memories: Sequence[Memory]) -> Instructions:
    """The standing instructions among ``memories``: current ``procedure`` memories
    whose text :func:`~engram.ingest.instructions.instruction_text` wrote (an agent's
    procedure, or any other memory, is none)."""
    always: list[Memory] = []
    topical: list[tuple[Memory, str]] = []
    for m in memories:
        if m.kind != MemoryKind.PROCEDURE or m.status != MemoryStatus.ACTIVE:
            continue
        read = read_instruction_text(m.text)
        if read is None:
            continue
        if read.topic is None:
            always.append(m)
        else:
            topical.append((m, read.topic))
    always.sort(key=lambda m: m.created_at, reverse=True)
    return Instructions(tuple(always), tuple(topical))


def instructions_in(store: Store, scope: Scope, filters: SearchFilters, standing: int,
                    most: int) -> Instructions:
    """The standing instructions of ``scope`` within ``filters`` (its ``kinds``, times,
    ``as_of``; the ``most`` newest memories read) that a preset with this ``standing``
    may carry; none at ``-1`` or when ``filters`` leave out ``procedure`` memories."""
    if standing < 0 or (filters.kinds is not None and "procedure" not in filters.kinds):
        return Instructions((), ())
    mine = dataclasses.replace(filters, kinds=frozenset({"procedure"}))
    return instructions_of(store.list_memories(scope, mine, most).items)


def _topic_vectors(topics: Sequence[str], embedder: Embedder) -> np.ndarray:
    model = embedder.model_id
    new = sorted({t for t in topics if (model, t) not in _TOPICS})
    if new:
        if len(_TOPICS) + len(new) > _TOPICS_MAX:
            _TOPICS.clear()
        vecs = np.asarray(embedder.embed(new, "query"), dtype=np.float64)
        for t, v in zip(new, unit(vecs), strict=True):
            _TOPICS[(model, t)] = v
    return np.stack([_TOPICS[(model, t)] for t in topics])


def standing_for(query_vector: Any, held: Instructions, embedder: Embedder, nearest: int,
                 min_cos: float) -> list[Standing]:
    """The standing instructions of ``held`` a block carries for the query whose
    embedding is ``query_vector`` (``embed_one(query, "query")``): those for every
    request (newest first, at most :data:`ALWAYS_MAX`), then up to ``nearest``
    topical ones by their topic's cosine to the query, each at least ``min_cos``
    (none without a ``query_vector``). ``nearest < 0`` chooses none at all."""
    if nearest < 0:
        return []
    out = [Standing(m, None) for m in held.always[:ALWAYS_MAX]]
    if nearest and held.topical and query_vector is not None:
        q = unit(np.asarray(query_vector, dtype=np.float64))
        cos = _topic_vectors([t for _, t in held.topical], embedder) @ q
        order = sorted(range(len(cos)), key=lambda i: -cos[i])
        out += [Standing(held.topical[i][0], float(cos[i])) for i in order[:nearest]
                if cos[i] >= min_cos]
    return out


def pinned(hits: Sequence[Hit], chosen: Sequence[Standing]) -> list[Hit]:
    """``hits`` with the ``chosen`` instructions first (in their order; one already
    among the hits moves up), each scored like the best hit, its ``scores`` holding
    ``standing`` (the topic's cosine; 1 for an instruction for every request)."""
    if not chosen:
        return list(hits)
    ids = {s.memory.id for s in chosen}
    top = hits[0].score if hits else 0.0
    head = [Hit(ItemRef("memory", s.memory.id), s.memory, top,
                {"standing": 1.0 if s.cosine is None else round(s.cosine, 4)})
            for s in chosen]
    return head + [h for h in hits if not (h.ref.type == "memory" and h.ref.id in ids)]
