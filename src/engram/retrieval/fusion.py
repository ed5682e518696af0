"""Fusing ranked candidate lists from several signals into one ranking."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..models import ItemRef
from ..store.base import Candidate

__all__ = ["Fused", "fuse"]


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
