"""Multi-hop expansion over the entity graph.

A question often names something only by its relation ("my sister", "the
dentist", "our cat") while the answer is said about its name ("Anna eats at
Taberna every week"). The first hop finds the statement that introduced the
name ("My sister Anna moved to Lisbon"); the second follows the name.

The graph is bipartite: items (episodes and memories) on one side, the
entities they name on the other (people, places, titles: the ``name`` and
``title`` mentions of :func:`engram.recall.extract_entities`, plus a memory's
own ``entities``). Its edges are not a separate table: an entity's items are
the ones the lexical index returns for its name, kept only when they really
name it. So the graph needs no extra storage, stays consistent with every
write and hard delete, and works the same on every backend.

Only names a seed *introduces* are followed: in apposition to a possessive
description ("my sister Anna", "our dentist, Dr. Okafor", "my wife's
favourite band is Velvet Lanterns", "I met Anna, my sister") or after a
naming verb ("a kitten we named Pixel", "a novel called The Glass Orchard").
A name that is merely mentioned ("we fly from Porto") is usually the answer
itself, and following it fills the results with everything else said about it.

:func:`bridges` picks the names to follow from the best hits (the seeds);
:func:`linked` tells whether an item names one of them. The searcher places an
item reached this way ``hop_penalty`` below the seed it came from, unless it
already ranks higher on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from ..models import Episode, Memory
from ..recall.introductions import introduced_names
from ..store.views import kept_names

__all__ = ["bridges", "introduced_names", "linked"]


def bridges(
    query_names: Iterable[str],
    seeds: Sequence[tuple[float, Episode | Memory]],
    speakers: Iterable[str],
    limit: int = 6,
) -> dict[str, float]:
    """Introduced name key -> score of the best seed introducing it, best seed first.

    Left out: ``query_names``, the lower-cased people and names the query
    already holds (the first hop has used them; see
    :attr:`engram.retrieval.rerank.QueryInfo.names`), and the conversation's
    speakers (they are in every turn, so they link everything to everything).
    """
    skip = {*query_names, *(s.lower() for s in speakers)}
    out: dict[str, float] = {}
    for score, item in seeds:
        held = kept_names(item)
        names = introduced_names(item.text) if held is None else held
        for key in sorted(names - skip):
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
