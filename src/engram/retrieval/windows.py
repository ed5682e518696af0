"""Neighbour windows: a message borrows relevance from the turns around it.

In a conversation the evidence for a question is often a reply ("Yes, last
Tuesday!") that shares no word with the question, next to a turn that does.
On LoCoMo dev 60% of BM25's misses had a top-10 hit within two turns of the
evidence, and 221 of 351 misses shared no content word with it.

:func:`spread` takes one signal's candidate list (best first) and the session
neighbours of its best candidates, and rescores::

    window(x) = s(x) + weight * sum over neighbours n of decay ** |offset| * s(n)

with ``s`` the candidate's score scaled within the list (:func:`normalised`;
0 for an item the signal did not return). Neighbours of the seeds that the signal
did not return join the list, so a turn can be found through its neighbours
alone. Pure function: the caller fetches the neighbours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..models import ItemRef
from ..store.base import Candidate, Neighbour

__all__ = ["normalised", "spread", "windowed"]


def normalised(cands: Sequence[Candidate], *, from_zero: bool = False) -> dict[ItemRef, float]:
    """Scores scaled to ``[0, 1]``: min-max, or ``score / max`` with ``from_zero``
    (for BM25, whose 0 means "no match": the weakest match still counts).
    All ``1.0`` when the scores are equal."""
    return _scaled([c.ref for c in cands], [c.score for c in cands], from_zero)


def _scaled(refs: Sequence[ItemRef], scores: Sequence[float],
            from_zero: bool) -> dict[ItemRef, float]:
    """:func:`normalised` of the candidates ``zip(refs, scores)``."""
    if not refs:
        return {}
    hi = max(scores)
    lo = 0.0 if from_zero else min(scores)
    span = hi - lo
    if not span > 0:
        return {ref: 1.0 for ref in refs}
    # ``d if d > 0.0 else 0.0`` is ``max(0.0, d)`` (-0.0 and NaN give 0.0) without a call
    return {ref: (d if (d := s - lo) > 0.0 else 0.0) / span
            for ref, s in zip(refs, scores, strict=True)}


def spread(
    cands: Sequence[Candidate],
    neighbours: Mapping[str, Sequence[Neighbour]],
    *,
    weight: float,
    decay: float,
    from_zero: bool = False,
    radius: int = 0,
    self_weight: float = 1.0,
) -> list[Candidate]:
    """``cands`` rescored with their neighbours' scores, plus neighbours as new candidates.

    ``neighbours`` maps an episode id to its session neighbours (only episodes
    have them; memories keep their own score). The result is best first; ties
    break by ref, so it is deterministic. ``weight <= 0`` returns the list
    normalised, in its own order.

    A memory has no neighbours but summarises its own context: it is scaled
    by the gain of a full window of equally relevant turns,
    ``1 + weight * 2 * sum(decay ** k for k in 1..radius)``, so windows do not
    push derived knowledge below the raw turns it came from.
    """
    out = _spread(_scaled([c.ref for c in cands], [c.score for c in cands], from_zero),
                  neighbours, weight, decay, radius, self_weight)
    return [Candidate(ref, score) for ref, score in sorted(out.items(), key=_best_first)]


def _spread(base: dict[ItemRef, float], neighbours: Mapping[str, Sequence[Neighbour]],
            weight: float, decay: float, radius: int, self_weight: float,
            ) -> dict[ItemRef, float]:
    """:func:`spread`'s scores, unordered, from the scaled scores ``base``."""
    # ``self_weight`` > 1 keeps a direct match above a turn that only borrows from it
    out = {ref: s * self_weight for ref, s in base.items()}
    if weight > 0 and radius > 0:
        gain = 1.0 + weight * 2.0 * sum(decay**k for k in range(1, radius + 1))
        for ref, s in base.items():
            if ref.type == "memory":
                out[ref] = s * gain
    if weight > 0:
        # ``weight * decay ** |offset|`` once per offset (the same product, fewer made)
        at: dict[int, float] = {}
        get = out.get
        for ref, s in base.items():
            if ref.type != "episode" or s <= 0:
                continue
            for n in neighbours.get(ref.id, ()):
                f = at.get(n.offset)
                if f is None:
                    f = at[n.offset] = weight * decay ** abs(n.offset)
                nref = _episode(n.id)
                out[nref] = get(nref, 0.0) + f * s
    return out


def _episode(episode_id: str) -> ItemRef:
    """``ItemRef("episode", episode_id)``, made without the named tuple's keyword layer."""
    return _new(ItemRef, ("episode", episode_id))


#: makes a named tuple (``ItemRef``, ``Candidate``) from a tuple of its fields,
#: without the keyword layer of its constructor (about half the time)
_new = tuple.__new__


def _best_first(kv: tuple[ItemRef, float]) -> tuple[float, ItemRef]:
    """Best score first, ties by ref (its type, then its id)."""
    return -kv[1], kv[0]


def windowed(
    cands: Sequence[Candidate],
    neighbours: Mapping[str, Sequence[Neighbour]],
    *,
    seeds: int,
    weight: float,
    decay: float,
    from_zero: bool = False,
    radius: int = 0,
    self_weight: float = 1.0,
) -> list[Candidate]:
    """One signal's list (best first) with neighbour windows: scaled
    (:func:`normalised`), its ``seeds`` best spread to their neighbours
    (:func:`spread`, scaled again from zero), the rest after them with their
    scaled score (one not already spread), all best first, ties by ref.

    The same list as those steps one by one, with no intermediate candidates made.
    """
    refs = [ref for ref, _ in cands]  # a candidate is the tuple (ref, score)
    norm = _scaled(refs, [score for _, score in cands], from_zero)
    top = refs[:seeds]
    out = _spread(_scaled(top, [norm[r] for r in top], True), neighbours,
                  weight, decay, radius, self_weight)
    # only the seeds spread; the tail keeps its own score after them
    ranked = [*out.items(), *((r, norm[r]) for r in refs[seeds:] if r not in out)]
    ranked.sort(key=_best_first)
    return [_new(Candidate, t) for t in ranked]
