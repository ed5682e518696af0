"""Multi-hop expansion over the entity graph.

A question often names something only by its relation ("my sister", "the
dentist", "our cat") while the answer is said about its name ("Anna eats at
Taberna every week"). The first hop finds the statement that links the two
("My sister Anna moved to Lisbon"); the second follows the name.

The graph is bipartite: items (episodes and memories) on one side, the
entities they name on the other (people, places, titles: the ``name`` and
``title`` mentions of :func:`engram.recall.extract_entities`, plus a memory's
own ``entities``). Its edges are not a separate table: an entity's items are
the ones the lexical index returns for its name, kept only when they really
name it. So the graph needs no extra storage, stays consistent with every
write and hard delete, and works the same on every backend.

:func:`bridges` picks the entities to follow from the best hits (the seeds);
:func:`linked` tells whether an item names one of them. The searcher places an
item reached this way ``hop_penalty`` below the seed it came from, unless it
already ranks higher on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from ..models import Episode, Memory
from ..recall import extract_entities, query_entities

__all__ = ["bridges", "entity_names", "linked"]


@lru_cache(maxsize=8192)
def _names_in(text: str) -> frozenset[str]:
    return frozenset(m.key for m in extract_entities(text) if m.kind in ("name", "title"))


def entity_names(item: Episode | Memory) -> frozenset[str]:
    """The entity keys ``item`` names: people, places, titles (not keywords)."""
    names = _names_in(item.text)
    if isinstance(item, Memory) and item.entities:
        names = names | {e.lower() for e in item.entities}
    return names


def bridges(
    query: str,
    seeds: Sequence[tuple[float, Episode | Memory]],
    speakers: Iterable[str],
    limit: int = 6,
) -> dict[str, float]:
    """Entity key -> score of the best seed naming it, best seed first.

    Left out: what the query already names (the first hop has used it) and
    the conversation's speakers (they are in every turn, so they link
    everything to everything).
    """
    q = query_entities(query)
    skip = {*q.people, *q.names, *(s.lower() for s in speakers)}
    out: dict[str, float] = {}
    for score, item in seeds:
        for key in sorted(entity_names(item) - skip):
            if len(out) >= limit:
                return out
            out.setdefault(key, score)
    return out


def linked(item: Episode | Memory, via: Mapping[str, float]) -> float | None:
    """The best seed score among the bridges ``item`` names; ``None`` if none.

    The seed already showed each bridge to be a name, so here a whole-word,
    case-insensitive match is enough ("Anna eats ..." names Anna even though a
    lone sentence-initial capital is not taken as a name on its own).
    """
    text = item.text.lower().replace("\u2019", "'")
    common = [k for k in via if re.search(rf"(?<![\w]){re.escape(k)}(?![\w])", text)]
    if isinstance(item, Memory):
        common += [e.lower() for e in item.entities if e.lower() in via]
    return max((via[k] for k in common), default=None)
