"""Workbench (session 15): neighbour windows with a smaller share for same-speaker neighbours.

    python -m tools.eval_same_speaker FACTOR --sets locomo,realtalk --part dev --work W

Runs :mod:`tools.eval_sets` (every option after ``FACTOR`` is its own) with
:func:`engram.retrieval.windows` giving a neighbour that has its seed's speaker
(``speaker``, else ``role``) ``FACTOR`` times its usual share: 1 is the shipped
search, 0 keeps only neighbours across a change of speaker (replies). Measured and
not adopted: ``docs/recall.md``, "Session 15: same-speaker neighbours".
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from engram.models import ItemRef
from engram.retrieval import search, windows
from engram.store.base import Neighbour

#: (seed id, neighbour id) pairs of one speaker among the neighbours of the search
#: under way (emptied as each search fetches its neighbours)
_SAME: set[tuple[str, str]] = set()


def same_speaker_pairs(store: Any, scope: Any, neighbours: Mapping[str, Sequence[Neighbour]]
                       ) -> set[tuple[str, str]]:
    """The (seed id, neighbour id) pairs of ``neighbours`` whose two episodes have one
    speaker (``speaker``, else ``role``): the one test of "same speaker" that this
    workbench and ``tools.fit_rerank_heads`` (``same_borrow``) share."""
    want = set(neighbours) | {n.id for ns in neighbours.values() for n in ns}
    spk = {e.id: (e.speaker or e.role) for e in store.get_episodes(scope, sorted(want))}
    return {(k, n.id) for k, ns in neighbours.items() for n in ns
            if spk.get(n.id) == spk.get(k)}


def _patch(factor: float) -> None:
    shipped_spread = windows._spread  # noqa: SLF001 - a workbench

    def spread(base: dict[ItemRef, float], neighbours: Mapping[str, Sequence[Neighbour]],
               weight: float, decay: float, radius: int, self_weight: float,
               ) -> dict[ItemRef, float]:
        """The shipped spread over the cross-speaker neighbours, plus what the
        same-speaker ones lend at ``factor`` times the weight (that spread less its
        own items' part)."""
        cross = {k: [n for n in ns if (k, n.id) not in _SAME] for k, ns in neighbours.items()}
        same = {k: [n for n in ns if (k, n.id) in _SAME] for k, ns in neighbours.items()}
        out = shipped_spread(base, cross, weight, decay, radius, self_weight)
        lent = shipped_spread(base, same, weight * factor, decay, radius, self_weight)
        own = shipped_spread(base, {}, weight * factor, decay, radius, self_weight)
        for ref, s in lent.items():
            if (d := s - own.get(ref, 0.0)) != 0.0:
                out[ref] = out.get(ref, 0.0) + d
        return out

    shipped = search.Searcher.windowed

    def windowed(self: Any, lists: Any, scope: Any, filters: Any, config: Any,
                 neighbours_out: Any = None) -> Any:
        store = self.store
        real = store.episode_neighbours

        def neighbours(sc: Any, ids: Sequence[str], radius: int) -> Any:
            nb = real(sc, ids, radius)
            _SAME.clear()  # this search's pairs only: the set does not grow over a run
            _SAME.update(same_speaker_pairs(store, sc, nb))
            return nb

        store.episode_neighbours = neighbours
        try:
            return shipped(self, lists, scope, filters, config, neighbours_out)
        finally:
            del store.episode_neighbours

    windows._spread = spread  # type: ignore[assignment]  # noqa: SLF001 - a workbench
    search.Searcher.windowed = windowed  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    _patch(float(args[0]))
    from tools import eval_sets

    eval_sets.main(args[1:])


if __name__ == "__main__":
    main()
