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

#: (seed id, neighbour id) pairs of one speaker, filled as neighbours are fetched
_SAME: set[tuple[str, str]] = set()


def _patch(factor: float) -> None:
    def spread(base: dict[ItemRef, float], neighbours: Mapping[str, Sequence[Neighbour]],
               weight: float, decay: float, radius: int, self_weight: float,
               ) -> dict[ItemRef, float]:
        out = {ref: s * self_weight for ref, s in base.items()}
        if weight > 0 and radius > 0:
            gain = 1.0 + weight * 2.0 * sum(decay**k for k in range(1, radius + 1))
            for ref, s in base.items():
                if ref.type == "memory":
                    out[ref] = s * gain
        if weight > 0:
            for ref, s in base.items():
                if ref.type != "episode" or s <= 0:
                    continue
                for n in neighbours.get(ref.id, ()):
                    f = weight * decay ** abs(n.offset)
                    if (ref.id, n.id) in _SAME:
                        f *= factor
                    nref = ItemRef("episode", n.id)
                    out[nref] = out.get(nref, 0.0) + f * s
        return out

    shipped = search.Searcher.windowed

    def windowed(self: Any, lists: Any, scope: Any, filters: Any, config: Any,
                 neighbours_out: Any = None) -> Any:
        store = self.store
        real = store.episode_neighbours

        def neighbours(sc: Any, ids: Sequence[str], radius: int) -> Any:
            nb = real(sc, ids, radius)
            want = set(ids) | {n.id for ns in nb.values() for n in ns}
            spk = {e.id: (e.speaker or e.role) for e in store.get_episodes(sc, sorted(want))}
            _SAME.update((k, n.id) for k, ns in nb.items() for n in ns
                         if spk.get(n.id) == spk.get(k))
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
