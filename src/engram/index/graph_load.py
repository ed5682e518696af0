"""A partition's saved approximate graph, loaded in a background thread (:mod:`.partition`).

Until it is loaded a partition searches exactly. Rows added or removed meanwhile are
applied to the graph when the partition adopts it (:meth:`GraphLoad.caught_up`). A graph
of another backend than :func:`~.ann.preferred_backend` (a voyager file from before
faiss) is rebuilt with the preferred one in the same thread, once (:attr:`upgraded`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from .ann import AnnGraph, new_graph, preferred_backend

__all__ = ["GraphLoad"]


class GraphLoad:
    """The load of one saved graph, started at construction.

    ``load`` returns the graph, or ``None`` when it is unusable (then the partition
    builds one when needed); ``vecs`` and ``alive`` are the partition's rows as saved
    (rows below that count keep their vectors: a change is a new row)."""

    def __init__(self, load: Callable[[], AnnGraph | None], dim: int, vecs: np.ndarray,
                 alive: np.ndarray) -> None:
        self.n = int(alive.size)
        self.alive = alive
        #: the graph was rebuilt with the preferred backend: adopting it is a change
        #: the store saves
        self.upgraded = False
        self._box: list[AnnGraph | None] = []

        def run() -> None:
            graph = load()
            if graph is not None and graph.backend != preferred_backend():
                rows = np.flatnonzero(alive)
                graph = new_graph(dim, capacity=int(rows.size * 1.25))
                if graph is not None:
                    graph.add(vecs[rows], rows)
                    self.upgraded = True
            self._box.append(graph)

        # not a daemon: a process exiting while the graph library is still reading
        # would abort ("terminate called without an active exception"); exit waits
        self._thread = threading.Thread(target=run, daemon=False, name="engram-graph-load")
        self._thread.start()

    def running(self) -> bool:
        """Whether the load is still going."""
        return self._thread.is_alive()

    def caught_up(self, alive: np.ndarray, vecs: np.ndarray, n: int) -> AnnGraph | None:
        """The loaded graph (waiting for it), with the rows removed since the save
        removed and those added since (``alive`` / ``vecs`` up to ``n``: the partition
        now) added; ``None`` when it was unusable."""
        self._thread.join()
        graph = self._box[0] if self._box else None
        if graph is None:
            return None
        for row in np.flatnonzero(self.alive & ~alive[: self.n]).tolist():
            graph.remove(row)
        added = np.flatnonzero(alive[self.n : n]) + self.n
        if added.size:
            graph.add(vecs[added], added)
        return graph
