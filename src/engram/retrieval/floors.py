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
    ``floor_rank``. A ref of ``tops`` already in those places that the lifted ones
    would push past them is lifted with them (a dense top hit at rank 10 stays in the
    top 10 when the dense hits at 66 and 41 come up). Refs not in ``ranked`` are
    ignored; the result is a permutation of ``ranked``.
    """
    if floor_rank <= 0 or len(ranked) <= floor_rank:
        return ranked
    pos = {key(x): i for i, x in enumerate(ranked)}
    order = [r for r in dict.fromkeys(tops) if r in pos]
    lifting = {r for r in order if pos[r] >= floor_rank}
    if not lifting:
        return ranked
    floored = set(order)
    while True:  # at most len(tops) rounds: each adds a ref of ``tops``
        rest = [x for x in ranked if key(x) not in lifting]
        cut = max(0, floor_rank - len(lifting))
        pushed = {key(x) for x in rest[cut:floor_rank]} & floored
        if not pushed:
            break
        lifting |= pushed
    lift = [r for r in order if r in lifting]
    return rest[:cut] + [ranked[pos[r]] for r in lift] + rest[cut:]
