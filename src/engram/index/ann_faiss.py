"""The faiss-cpu backend of :mod:`engram.index.ann`: ``IndexHNSWFlat`` by inner product.

faiss answers a query in 0.40-0.65 of voyager's CPU time at the same recall
(M=16, ef_construction=64; ``scripts/bench_ann_query.py``, docs/bench.md), and
builds a 100k graph in about half the time. It cannot delete from an HNSW
graph, so this wrapper keeps, beside the faiss index:

* ``labels``: the caller's label of each faiss position (faiss numbers its
  vectors 0, 1, 2, ... in insertion order), and ``where``: each label's
  position (``-1``: none);
* ``bits``: one bit per position, set while it is live. A query hides the
  others with an ``IDSelectorBitmap`` (they still route the search, as
  voyager's hidden labels do).

Removing a label clears its bit and overwrites its stored vector with zeros,
so no removed vector stays in memory or in :meth:`FaissGraph.dump`. Adding a
label that is live already replaces it (the old position is removed first).

:meth:`FaissGraph.dump` writes an :mod:`engram.index.files` file (magic
``ENGRAMIX``): header ``{"graph": "faiss-hnsw", "version", "dim", "live",
"blake2b"}`` and the arrays ``graph_labels``, ``graph_bits`` and
``graph_faiss`` (faiss's own serialisation). :func:`load` checks the version,
dimension, live count and digest before faiss reads a byte, so a damaged or
foreign file is refused (``None``: the caller rebuilds), never half read.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .ann_base import AnnGraph, GraphParams
from .files import pack, unpack

__all__ = ["GRAPH_KIND", "VERSION", "FaissGraph", "load", "new"]

log = logging.getLogger(__name__)

#: the ``graph`` field of a dumped file's header
GRAPH_KIND = "faiss-hnsw"
#: layout version of a dumped file; another version is refused (rebuilt)
VERSION = 1


def _digest(labels: np.ndarray, bits: np.ndarray, blob: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    for arr in (labels, bits, blob):
        h.update(np.ascontiguousarray(arr).data)
    return h.hexdigest()


def _chunks(blob: np.ndarray) -> Callable[[int], bytes]:
    """A reader of ``blob`` for faiss, a chunk at a time: the index gets its own copy
    (not a view of the file's memory map) without a second whole copy in between."""
    view = memoryview(np.ascontiguousarray(blob).data)
    at = 0

    def read(n: int) -> bytes:
        nonlocal at
        out = view[at : at + n].tobytes()
        at += len(out)
        return out

    return read


class FaissGraph(AnnGraph):
    """An :class:`AnnGraph` over a faiss ``IndexHNSWFlat`` (see the module docstring)."""

    backend = "faiss"

    def __init__(self, faiss: Any, dim: int, params: GraphParams, index: Any = None,
                 labels: np.ndarray | None = None, bits: np.ndarray | None = None) -> None:
        self._faiss = faiss
        self._dim = dim
        if index is None:
            index = faiss.IndexHNSWFlat(dim, params.m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = params.ef_construction
        self._index = index
        n = int(index.ntotal)
        self._labels = np.zeros(max(n, 64), dtype=np.int64)
        self._bits = np.zeros(max(n, 64) // 8 + 1, dtype=np.uint8)
        if labels is not None and bits is not None:
            self._labels[:n] = labels
            self._bits[: bits.size] = bits
        live_pos = self._live_positions(n)
        top = int(self._labels[live_pos].max()) + 1 if live_pos.size else 0
        self._where = np.full(max(top, 64), -1, dtype=np.int64)
        self._where[self._labels[live_pos]] = live_pos
        self._live = int(live_pos.size)
        self._hidden = n - self._live  # positions a query must skip
        self._selector: Any = None  # the bitmap selector over ``_bits`` (rebuilt on growth)

    def _live_positions(self, n: int) -> np.ndarray:
        bools = np.unpackbits(self._bits, bitorder="little")[:n]
        return np.flatnonzero(bools).astype(np.int64)

    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if not labels.size:
            return
        for label in labels.tolist():  # re-added: the old vector goes first
            if label < self._where.size and self._where[label] >= 0:
                self.remove(label)
        start = int(self._index.ntotal)
        end = start + labels.size
        if end > self._labels.size:
            grow = max(end, self._labels.size * 2)
            self._labels = np.concatenate([self._labels, np.zeros(grow - self._labels.size,
                                                                  dtype=np.int64)])
            self._bits = np.concatenate([self._bits, np.zeros(grow // 8 + 1 - self._bits.size,
                                                              dtype=np.uint8)])
            self._selector = None  # it points at the old bitmap
        top = int(labels.max()) + 1
        if top > self._where.size:
            self._where = np.concatenate([self._where, np.full(
                max(top, self._where.size * 2) - self._where.size, -1, dtype=np.int64)])
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self._dim))
        pos = np.arange(start, end, dtype=np.int64)
        self._labels[start:end] = labels
        self._where[labels] = pos
        np.bitwise_or.at(self._bits, pos >> 3, (1 << (pos & 7)).astype(np.uint8))
        self._live += labels.size

    def remove(self, label: int) -> None:
        label = int(label)
        if label < 0 or label >= self._where.size or self._where[label] < 0:
            return  # unknown, or hidden already
        pos = int(self._where[label])
        self._where[label] = -1
        self._bits[pos >> 3] &= np.uint8(0xFF ^ (1 << (pos & 7)))
        storage = self._faiss.downcast_index(self._index.storage)
        xb = self._faiss.rev_swig_ptr(storage.get_xb(), int(self._index.ntotal) * self._dim)
        xb[pos * self._dim : (pos + 1) * self._dim] = 0.0  # scrub the stored vector
        self._live -= 1
        self._hidden += 1

    def query(self, vector: np.ndarray, k: int, ef: int) -> np.ndarray:
        k = min(k, self._live)
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        faiss = self._faiss
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(ef, k)
        if self._hidden:
            if self._selector is None:
                self._selector = faiss.IDSelectorBitmap(self._bits.size,
                                                        faiss.swig_ptr(self._bits))
            params.sel = self._selector
        q = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, self._dim)
        _, found = self._index.search(q, k, params=params)
        pos = np.asarray(found[0], dtype=np.int64)
        return self._labels[pos[pos >= 0]]

    def __len__(self) -> int:
        return self._live

    def dump(self) -> bytes:
        return b"".join(self.chunks())

    def chunks(self) -> list[bytes | memoryview]:
        n = int(self._index.ntotal)
        labels, bits = self._labels[:n].copy(), self._bits[: n // 8 + 1].copy()
        blob = self._faiss.serialize_index(self._index)
        header = {"graph": GRAPH_KIND, "version": VERSION, "dim": self._dim,
                  "live": self._live, "blake2b": _digest(labels, bits, blob)}
        arrays = {"graph_labels": labels, "graph_bits": bits, "graph_faiss": blob}
        return pack(header, arrays)


def new(faiss: Any, dim: int, params: GraphParams, capacity: int) -> FaissGraph:
    """An empty graph (``capacity`` is not needed: faiss grows as it goes)."""
    return FaissGraph(faiss, dim, params)


def load(faiss: Any, path: Path, dim: int, live: int) -> FaissGraph | None:
    """The graph :meth:`FaissGraph.dump` wrote to ``path``, or ``None`` when the file is
    not one (version, dimension, live count or digest differ) or faiss refuses it."""
    try:
        header, arrays = unpack(path)
        labels, bits, blob = (arrays[k] for k in ("graph_labels", "graph_bits", "graph_faiss"))
        if (header.get("graph") != GRAPH_KIND or header.get("version") != VERSION
                or header.get("dim") != dim or header.get("live") != live
                or header.get("blake2b") != _digest(labels, bits, blob)
                or labels.ndim != 1 or bits.size != labels.size // 8 + 1):
            log.warning("ANN graph %s is not this index's (version, size or digest): it"
                        " will be rebuilt", path)
            return None
        index = faiss.read_index(faiss.PyCallbackIOReader(_chunks(blob)))
        if (index.d != dim or index.ntotal != labels.size
                or index.metric_type != faiss.METRIC_INNER_PRODUCT):
            return None
        graph = FaissGraph(faiss, dim, GraphParams(), index=index, labels=labels, bits=bits)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        log.warning("ANN graph %s unreadable (%s): it will be rebuilt", path, exc)
        return None
    return graph if len(graph) == live else None
