"""The voyager backend of :mod:`engram.index.ann`: Spotify's HNSW, the fallback.

voyager ships wheels where faiss-cpu has none (macOS x86-64), and reads the
graph files Engram wrote before faiss (voyager's own format, no ``ENGRAMIX``
magic). Removing a label overwrites its stored vector with zeros before
hiding it (voyager re-adds an existing label in place), so a graph never keeps
the vector of a removed row: not in memory, not in :meth:`VoyagerGraph.dump`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from .ann_base import AnnGraph, GraphParams

__all__ = ["VoyagerGraph", "load", "new"]

log = logging.getLogger(__name__)


class VoyagerGraph(AnnGraph):
    """An :class:`AnnGraph` over a ``voyager.Index`` (inner product)."""

    backend = "voyager"

    def __init__(self, voyager: Any, dim: int, params: GraphParams, capacity: int,
                 index: Any = None, live: int = 0) -> None:
        self._voyager = voyager
        self._dim = dim
        self._index = index if index is not None else voyager.Index(
            voyager.Space.InnerProduct, num_dimensions=dim, M=params.m,
            ef_construction=params.ef_construction, max_elements=max(capacity, 1),
        )
        self._live = live  # voyager's len() counts hidden labels too
        # labels above this were never added (callers add increasing row numbers)
        self._top = max((int(x) for x in self._index.ids), default=-1) if index is not None else -1

    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        for label in labels[labels <= self._top].tolist():  # re-added: the old one goes first
            self.remove(label)
        if len(labels):
            self._top = max(self._top, int(labels.max()))
            self._index.add_items(
                np.ascontiguousarray(vectors, dtype=np.float32),
                [int(x) for x in labels],
            )
            self._live += len(labels)

    def remove(self, label: int) -> None:
        try:
            self._index.mark_deleted(int(label))
        except (RuntimeError, KeyError):  # not in the graph, or hidden already
            return
        self._live -= 1
        # re-adding a label replaces its vector in place (and un-hides it): scrub, hide again
        self._index.add_items(np.zeros((1, self._dim), dtype=np.float32), [int(label)])
        self._index.mark_deleted(int(label))

    def query(self, vector: np.ndarray, k: int, ef: int) -> np.ndarray:
        k = min(k, self._live)
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        q = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        try:
            labels, _ = self._index.query(q, k=k, query_ef=max(ef, k))
        except self._voyager.RecallError:  # fewer reachable than asked: let the caller widen
            return np.zeros(0, dtype=np.int64)
        return np.asarray(labels, dtype=np.int64).reshape(-1)

    def __len__(self) -> int:
        return self._live

    def dump(self) -> bytes:
        return bytes(self._index.as_bytes())


def new(voyager: Any, dim: int, params: GraphParams, capacity: int) -> VoyagerGraph:
    """An empty graph with room for ``capacity`` labels (it grows past them)."""
    return VoyagerGraph(voyager, dim, params, capacity)


def load(voyager: Any, path: Path, dim: int, live: int) -> VoyagerGraph | None:
    """The graph :meth:`VoyagerGraph.dump` wrote to ``path``, or ``None`` when the file
    is unreadable or not a ``dim``-dimensional inner-product graph."""
    try:
        index = voyager.Index.load(str(path))
    except Exception as exc:  # voyager raises several types for a missing or corrupt file
        log.warning("ANN graph %s unreadable (%s): it will be rebuilt", path, exc)
        return None
    if index.num_dimensions != dim or index.space != voyager.Space.InnerProduct:
        return None
    return VoyagerGraph(voyager, dim, GraphParams(), 0, index=index, live=live)
