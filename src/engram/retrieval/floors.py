"""Signal floors: a strong single signal keeps a place in the ranked head.

The reranker was fitted where questions share words with their evidence; a message that
the dense signal ranks in its top ``n`` but that shares no word with the query ("we
adopted a corgi" for "what pet ...") must not fall out of sight. Each signal's best
``n`` raw candidates are lifted to rank ``floor_rank`` at worst (in the signal's order);
everything they pass moves down by one. Moved from :mod:`.updates`, behaviour unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ..models import ItemRef

__all__ = ["apply_floors"]

T = TypeVar("T")


def apply_floors(
    ranked: list[T], key: Callable[[T], ItemRef], tops: Sequence[ItemRef], floor_rank: int
) -> list[T]:
    """``ranked`` with every ref of ``tops`` at rank ``floor_rank`` (1-based) or better.

    ``tops`` is a signal's best raw candidates, best first; a lifted ref keeps
    that order among the lifted ones and takes the last free places of the top
    ``floor_rank``. Refs not in ``ranked`` are ignored; the result is a
    permutation of ``ranked``.
    """
    if floor_rank <= 0 or len(ranked) <= floor_rank:
        return ranked
    pos = {key(x): i for i, x in enumerate(ranked)}
    lift = [r for r in dict.fromkeys(tops) if r in pos and pos[r] >= floor_rank]
    if not lift:
        return ranked
    lifted = {r: ranked[pos[r]] for r in lift}
    rest = [x for x in ranked if key(x) not in lifted]
    cut = max(0, floor_rank - len(lift))
    return rest[:cut] + [lifted[r] for r in lift] + rest[cut:]
