"""The link signal: memories linked to a strong hit move up (A-MEM's linked notes).

A memory's note (written by :mod:`engram.agents.links`) lives in the reserved
metadata namespace, ``metadata["engram"]["note"]``::

    {"keywords": [...], "tags": [...], "context": "...",
     "links": [{"id": "mem_...", "score": 0.71, "via": ["similar", "name:anna"]}, ...]}

This module is the read side the search uses: :func:`note_links` reads a
memory's links, and :func:`boost` adds ``link_weight * link score`` to every
memory of the ranked head that one of its ``link_seeds`` best memories links
to (the best such link counts once). Only items already in the head move: a
link never brings in an item the query's filters did not admit. A linked end
that was deleted or forgotten is simply absent from the head, so a stale link
can never lift anything. The breakdown of a lifted hit gains ``link``
(the link's score) and ``link_part`` (what it added).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ..models import Episode, ItemRef, Memory

__all__ = ["NOTE_KEY", "boost", "note_links", "note_of"]

#: the note's key inside the reserved metadata namespace (``metadata["engram"]``)
NOTE_KEY = "note"
_RESERVED = "engram"  # engram.trust.provenance.RESERVED_KEY (trust imports nothing of ours)

T = TypeVar("T")


def note_of(item: Episode | Memory) -> dict[str, Any]:
    """The note of a memory (``{}`` when it has none, and for episodes)."""
    if not isinstance(item, Memory):
        return {}
    ns = item.metadata.get(_RESERVED)
    note = ns.get(NOTE_KEY) if isinstance(ns, dict) else None
    return note if isinstance(note, dict) else {}


def note_links(item: Episode | Memory) -> list[tuple[str, float]]:
    """``(memory id, link score)`` of each link a memory's note records."""
    out: list[tuple[str, float]] = []
    for link in note_of(item).get("links") or ():
        if isinstance(link, dict) and isinstance(link.get("id"), str):
            try:
                out.append((link["id"], float(link.get("score", 0.0))))
            except (TypeError, ValueError):
                continue
    return out


def boost(
    ranked: Sequence[tuple[float, T]],
    ref_of: Any,
    scores_of: Any,
    items: Mapping[ItemRef, Episode | Memory],
    weight: float,
    seeds: int,
) -> list[tuple[float, T]]:
    """``ranked`` (best first) with the link bonus added and re-sorted.

    ``ref_of(entry)`` gives an entry's :class:`ItemRef`, ``scores_of(entry)`` its
    breakdown dict (updated in place). Returns ``ranked`` itself when nothing
    moved (``weight <= 0``, no seeds, no links into the head)."""
    if weight <= 0 or seeds <= 0 or not ranked:
        return list(ranked)
    position = {ref_of(e).id: i for i, (_, e) in enumerate(ranked)
                if ref_of(e).type == "memory"}
    best: dict[int, float] = {}
    used = 0
    for _, entry in ranked:
        if used >= seeds:
            break
        item = items.get(ref_of(entry))
        if not isinstance(item, Memory):
            continue
        used += 1
        for other, score in note_links(item):
            i = position.get(other)
            if i is not None and other != item.id and score > best.get(i, 0.0):
                best[i] = score
    if not best:
        return list(ranked)
    out: list[tuple[float, T]] = []
    for i, (score, entry) in enumerate(ranked):
        link = best.get(i)
        if link is not None:
            part = weight * link
            breakdown = scores_of(entry)
            breakdown["link"] = link
            breakdown["link_part"] = part
            score += part
        out.append((score, entry))
    out.sort(key=lambda t: (-t[0], ref_of(t[1]).type, ref_of(t[1]).id))
    return out
