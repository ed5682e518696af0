"""Approximate nearest neighbour graphs behind one small interface.

:class:`~engram.index.partition.PartitionIndex` asks an :class:`AnnGraph` for
candidate row numbers of a large partition and re-scores, filters and widens
on its own, so a graph only has to insert, hide and query integer labels.
:func:`new_graph` builds one with the installed backend; ``None`` means none
is installed, and the partition searches exactly (always correct, slower on
very large partitions).

The backend is Spotify's voyager (HNSW): wheels for Linux x86-64 and arm64,
macOS and Windows x86-64, so installing Engram needs no compiler. Measured
against hnswlib, faiss-cpu and usearch with ``scripts/bench_ann.py`` on MiniLM
vectors (M=16, ef=64): recall@10 0.996 at 20k and 0.993 at 100k (hnswlib
0.996 and 0.982, faiss 0.993 and 0.990); building the 100k graph took about
2.5 times as long as hnswlib's. hnswlib has no wheels (it compiles with
``-march=native``); usearch 2.26.6 crashes when onnxruntime is imported
after it.

Removing a label overwrites its stored vector with zeros before hiding it
(voyager re-adds an existing label in place), so a graph never keeps the
vector of a removed row: not in memory, not in :meth:`AnnGraph.dump`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["AnnGraph", "GraphParams", "load_graph", "new_graph"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GraphParams:
    """HNSW build parameters: links per node and the candidate list while inserting."""

    m: int = 16
    ef_construction: int = 64


class AnnGraph(ABC):
    """A graph over unit float32 vectors, each under an integer label, by inner product."""

    @abstractmethod
    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        """Insert ``vectors`` (n x dim) under ``labels`` (n distinct, never used before)."""

    @abstractmethod
    def remove(self, label: int) -> None:
        """Hide ``label`` from queries and overwrite its stored vector (zeros);
        an unknown or already hidden label is ignored."""

    @abstractmethod
    def query(self, vector: np.ndarray, k: int, ef: int) -> np.ndarray:
        """Up to ``k`` live labels (int64), nearest first, searching ``ef`` candidates.

        Fewer than ``k`` (possibly none) when the graph does not reach that many;
        the caller decides what to do then.
        """

    @abstractmethod
    def __len__(self) -> int:
        """How many labels are live (added and not removed)."""

    @abstractmethod
    def dump(self) -> bytes:
        """The whole graph as bytes, for :func:`load_graph` (removed vectors are zeros)."""


class _VoyagerGraph(AnnGraph):
    def __init__(self, voyager: Any, dim: int, params: GraphParams, capacity: int,
                 index: Any = None, live: int = 0) -> None:
        self._voyager = voyager
        self._dim = dim
        self._index = index if index is not None else voyager.Index(
            voyager.Space.InnerProduct, num_dimensions=dim, M=params.m,
            ef_construction=params.ef_construction, max_elements=max(capacity, 1),
        )
        self._live = live  # voyager's len() counts hidden labels too

    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        if len(labels):
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


_missing_logged = False


def new_graph(dim: int, capacity: int = 1024, params: GraphParams | None = None) -> AnnGraph | None:
    """An empty graph for ``dim``-dimensional vectors; ``None`` when no backend is installed.

    ``capacity`` is a hint (the graph grows past it).
    """
    global _missing_logged
    try:
        import voyager
    except ImportError:
        if not _missing_logged:
            _missing_logged = True
            log.info("voyager is not installed: large partitions are searched exactly"
                     " (pip install voyager for the approximate index)")
        return None
    return _VoyagerGraph(voyager, dim, params or GraphParams(), capacity)


def load_graph(path: str | Path, dim: int, live: int) -> AnnGraph | None:
    """The graph :meth:`AnnGraph.dump` wrote to ``path``, with ``live`` live labels;
    ``None`` when no backend is installed or the file is missing, unreadable or
    not a ``dim``-dimensional inner-product graph."""
    try:
        import voyager
    except ImportError:
        return None
    try:
        index = voyager.Index.load(str(path))
    except Exception as exc:  # voyager raises several types for a missing or corrupt file
        log.warning("ANN graph %s unreadable (%s): it will be rebuilt", path, exc)
        return None
    if index.num_dimensions != dim or index.space != voyager.Space.InnerProduct:
        return None
    return _VoyagerGraph(voyager, dim, GraphParams(), 0, index=index, live=live)
