"""The contract every approximate nearest neighbour graph keeps (see :mod:`engram.index.ann`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

__all__ = ["AnnGraph", "GraphParams"]


@dataclass(frozen=True)
class GraphParams:
    """HNSW build parameters: links per node and the candidate list while inserting."""

    m: int = 16
    ef_construction: int = 64


class AnnGraph(ABC):
    """A graph over unit float32 vectors, each under an integer label, by inner product."""

    #: the backend's name in :data:`engram.index.ann.BACKENDS`
    backend: ClassVar[str]

    @abstractmethod
    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        """Insert ``vectors`` (n x dim) under ``labels`` (n distinct, non-negative);
        a label that is live already is replaced (its old vector scrubbed)."""

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

    def chunks(self) -> list[bytes | memoryview]:
        """:meth:`dump` as pieces to write one after another (the same bytes, without
        joining them: a backend whose file has several parts spares a whole copy)."""
        return [self.dump()]
