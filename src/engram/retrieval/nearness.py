"""Which statements among the hits read are each other's nearest, in words or in meaning.

The newer-first rule (:mod:`.updates`) takes two statements that are each other's
nearest, and stand apart from every other hit read, as one subject told twice (a *later
telling*: "I take my coffee with cream" / "I've switched to oat milk"). Another telling
of one message (a memory and the message it came from: overlapping ``origins``) is no
other statement. The nearest in meaning is read on vectors centred as the query is
(``centre``: the user's mean message vector times the preset's ``centre_weight``), so
a line of small talk, near every short message, does not stand between a statement and
its later telling (docs/recall.md, "Session 34").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["jaccard", "nearest_in_words", "pairs_apart"]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """The share of their terms two term sets have in common (0 when either is empty)."""
    if not (a and b):
        return 0.0
    shared = len(a & b)  # the union's size without building it
    return shared / (len(a) + len(b) - shared)


def nearest_in_words(terms: Sequence[frozenset[str]],
                      origins: Sequence[frozenset[str]] = ()) -> dict[int, int]:
    """Each statement's nearest other one by the words they share (Jaccard; the
    first on a tie), where it shares any; another telling of one message (``origins``
    overlapping: a memory and the message it came from) is no other statement."""
    told = list(origins) + [frozenset()] * (len(terms) - len(origins))
    out: dict[int, int] = {}
    for a, ta in enumerate(terms):
        best, at = 0.0, -1
        for b, tb in enumerate(terms):
            if a == b or (told[a] & told[b]):
                continue
            if (j := jaccard(ta, tb)) > best:
                best, at = j, b
        if at >= 0:
            out[a] = at
    return out


def pairs_apart(vectors: Sequence[np.ndarray | None],
                 origins: Sequence[frozenset[str]] = (),
                 centre: np.ndarray | None = None,
                 ) -> tuple[dict[int, int], dict[int, float], dict[int, float]]:
    """Each statement's nearest other statement in meaning (by position, among those
    with a vector), its cosine to the nearest after that one (``apart``; -1 when there
    is none) and its cosine to the nearest (``close``): two statements each other's
    nearest, with ``apart`` well below ``close``, are the only two on their subject
    among the hits read. ``centre``, when given, is taken from each vector first (unit
    length again; a vector it would cancel stays as it is), for all three: what all of
    a user's messages share does not make two of them near."""
    have = [k for k, v in enumerate(vectors) if v is not None]
    if len(have) < 2:
        return {}, {}, {}
    m = np.stack([v for v in vectors if v is not None]).astype(np.float64)
    if centre is not None:
        moved = m - np.asarray(centre, dtype=np.float64).reshape(1, -1)
        norms = np.linalg.norm(moved, axis=1, keepdims=True)
        m = np.where(norms > 1e-9, moved / np.maximum(norms, 1e-9), m)
    sim = m @ m.T
    np.fill_diagonal(sim, -2.0)
    told = [origins[k] if k < len(origins) else frozenset() for k in have]
    for r, a in enumerate(told):  # another telling of one message is no other statement
        for c in range(r + 1, len(told)):
            if a and a & told[c]:
                sim[r, c] = sim[c, r] = -2.0
    order = np.argsort(-sim, axis=1)
    near = {k: have[int(order[r, 0])] for r, k in enumerate(have)}
    apart = {k: float(sim[r, order[r, 1]]) if len(have) > 2 else -1.0
             for r, k in enumerate(have)}
    close = {k: float(sim[r, order[r, 0]]) for r, k in enumerate(have)}
    return near, apart, close
