"""Fusing ranked candidate lists from several signals into one ranking."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from ..models import ItemRef
from ..store.base import Candidate

__all__ = ["Fused", "fuse", "fused_head"]


@dataclass
class Fused:
    ref: ItemRef
    score: float
    #: per signal: raw score, 1-based rank and contribution to ``score``
    scores: dict[str, float] = field(default_factory=dict)


def fuse(
    lists: Mapping[str, Sequence[Candidate]],
    weights: Mapping[str, float],
    *,
    method: str = "rrf",
    rrf_k: int = 60,
) -> list[Fused]:
    """Combine per-signal candidate lists (each best first).

    ``rrf``: ``sum_s w_s / (rrf_k + rank_s)``. ``score``: ``sum_s w_s * norm_s``
    with min-max normalisation within each list. Ties break by ref for
    determinism. The breakdown records ``<signal>`` (raw score),
    ``<signal>_rank`` and ``<signal>_part`` (its contribution).
    """
    out: dict[ItemRef, Fused] = {}
    for signal, cands in lists.items():
        w = weights.get(signal, 0.0)
        if w <= 0 or not cands:
            continue
        if method == "score":
            hi = max(c.score for c in cands)
            lo = min(c.score for c in cands)
            span = hi - lo
        rank_key, part_key = f"{signal}_rank", f"{signal}_part"
        for rank, c in enumerate(cands, start=1):
            f = out.get(c.ref)
            if f is None:
                f = out[c.ref] = Fused(c.ref, 0.0)
            if method == "rrf":
                part = w / (rrf_k + rank)
            else:
                part = w * ((c.score - lo) / span if span > 0 else 1.0)
            f.score += part
            scores = f.scores
            scores[signal] = c.score
            scores[rank_key] = float(rank)
            scores[part_key] = part
    return sorted(out.values(), key=lambda f: (-f.score, f.ref.type, f.ref.id))


def fused_head(
    lists: Mapping[str, Sequence[Candidate]],
    weights: Mapping[str, float],
    n: int,
    keep: Collection[ItemRef] = frozenset(),
    *,
    method: str = "rrf",
    rrf_k: int = 60,
) -> list[Fused]:
    """``fuse(lists, weights, ...)[:n]`` and, after them in fused order, the later
    entries whose ref is in ``keep``: the same scores and breakdowns, with only these
    entries made (a search reads a head of ~70 of some 200 fused candidates).

    Scores add up in :func:`fuse`'s order; a breakdown holds what :func:`fuse`'s
    last write of each key holds (a ref listed twice by a signal: its last place).
    """
    total: dict[ItemRef, float] = {}
    get = total.get
    # per signal: its list, each ref's last place in it, what its parts are made of
    plan: list[tuple[str, str, str, Sequence[Candidate], dict[ItemRef, int], float, float,
                     float]] = []
    for signal, cands in lists.items():
        w = weights.get(signal, 0.0)
        if w <= 0 or not cands:
            continue
        lo = span = 0.0
        if method == "rrf":  # a candidate is the tuple (ref, score): unpacked, not read
            for rank, (ref, _) in enumerate(cands, start=1):
                total[ref] = get(ref, 0.0) + w / (rrf_k + rank)
        else:
            hi = max(c.score for c in cands)
            lo = min(c.score for c in cands)
            span = hi - lo
            for c in cands:
                total[c.ref] = get(c.ref, 0.0) + w * ((c.score - lo) / span if span > 0 else 1.0)
        plan.append((signal, f"{signal}_rank", f"{signal}_part", cands,
                     {ref: i for i, (ref, _) in enumerate(cands)}, w, lo, span))
    chosen = _first(total, n, keep)
    out: list[Fused] = []
    for ref in chosen:
        scores: dict[str, float] = {}
        for signal, rank_key, part_key, cands, place, w, lo, span in plan:
            i = place.get(ref)
            if i is None:
                continue
            score = cands[i][1]
            if method == "rrf":
                part = w / (rrf_k + i + 1)
            else:
                part = w * ((score - lo) / span if span > 0 else 1.0)
            scores[signal] = score
            scores[rank_key] = float(i + 1)
            scores[part_key] = part
        out.append(Fused(ref, total[ref], scores))
    return out


def _first(total: dict[ItemRef, float], n: int, keep: Collection[ItemRef]) -> list[ItemRef]:
    """The refs of ``total`` best first (by score, then ref): the first ``n``, then
    the later ones in ``keep``. Only the refs scoring at least the ``n``-th best
    score are ordered with the ref tie-break (a C sort of the bare scores finds
    it): the same list as ordering all of them."""
    def key(r: ItemRef) -> tuple[float, str, str]:
        return -total[r], r.type, r.id

    scores = sorted(total.values(), reverse=True)
    if not 0 < n < len(scores) or (whole := sum(scores)) != whole:  # a NaN: no order
        order = sorted(total, key=key)
        return order[:n] + [r for r in order[n:] if r in keep] if keep else order[:n]
    cut = scores[n - 1]
    head = sorted([r for r, s in total.items() if s >= cut], key=key)[:n]
    if not keep:
        return head
    taken = set(head)
    return head + sorted({r for r in keep if r in total and r not in taken}, key=key)
