"""Approximate nearest neighbour graphs behind one small interface.

:class:`~engram.index.partition.PartitionIndex` asks an :class:`AnnGraph` for
candidate row numbers of a large partition and re-scores, filters and widens
on its own, so a graph only has to insert, hide and query integer labels.
:func:`new_graph` builds one with the first installed backend of
:data:`BACKENDS`; ``None`` means none is installed, and the partition searches
exactly (always correct, slower on very large partitions).

The backends, in order of preference (both HNSW, M=16, ef_construction=64,
inner product; both ship wheels, so installing Engram needs no compiler):

* ``faiss`` (faiss-cpu, :mod:`engram.index.ann_faiss`): a query in 0.40-0.65
  of voyager's CPU time at the same recall, on random and on MiniLM vectors
  (``scripts/bench_ann_query.py``, docs/bench.md). Wheels for Linux x86-64
  and arm64, macOS arm64, Windows.
* ``voyager`` (Spotify, :mod:`engram.index.ann_voyager`): the fallback where
  faiss-cpu has no wheel (macOS x86-64), and the reader of graph files written
  before faiss.

Not hnswlib (no wheels, it compiles with ``-march=native``), not usearch
(2.26.6 crashes when onnxruntime is imported after it).

:func:`load_graph` reads a file by what it holds, not by the preferred
backend: a voyager file written by an older Engram is read by voyager (no
rebuild at the first start after an upgrade), a faiss file by faiss. A file
whose backend is not installed, or that does not check out, is ``None``: the
partition rebuilds its graph with the preferred backend.

Every backend overwrites a removed label's stored vector with zeros, so a
graph never keeps the vector of a removed row: not in memory, not in
:meth:`AnnGraph.dump`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ann_faiss, ann_voyager
from .ann_base import AnnGraph, GraphParams
from .files import is_packed

__all__ = [
    "BACKENDS", "AnnGraph", "Backend", "GraphParams", "load_graph", "new_graph",
    "preferred_backend",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backend:
    """One graph library: its import name, the pip package that installs it, how to
    build an empty graph and load a dumped one, and whether its files are
    :mod:`engram.index.files` files (``packed``) or the library's own format."""

    name: str
    module: str
    package: str
    new: Callable[[Any, int, GraphParams, int], AnnGraph]
    load: Callable[[Any, Path, int, int], AnnGraph | None]
    packed: bool


#: the graph backends, preferred first
BACKENDS: tuple[Backend, ...] = (
    Backend("faiss", "faiss", "faiss-cpu", ann_faiss.new, ann_faiss.load, packed=True),
    # voyager's own format, the graph files written before faiss
    Backend("voyager", "voyager", "voyager", ann_voyager.new, ann_voyager.load, packed=False),
)


def _module(backend: Backend) -> Any | None:
    try:
        return importlib.import_module(backend.module)
    except ImportError:
        return None


_missing_logged = False


def preferred_backend() -> str | None:
    """The name of the backend :func:`new_graph` uses (the first installed one)."""
    return next((b.name for b in BACKENDS if _module(b) is not None), None)


def new_graph(dim: int, capacity: int = 1024, params: GraphParams | None = None,
              backend: str | None = None) -> AnnGraph | None:
    """An empty graph for ``dim``-dimensional vectors from the first installed backend
    (or the one named ``backend``); ``None`` when none is installed.

    ``capacity`` is a hint (the graph grows past it)."""
    global _missing_logged
    for b in BACKENDS:
        if backend is not None and b.name != backend:
            continue
        mod = _module(b)
        if mod is not None:
            return b.new(mod, dim, params or GraphParams(), capacity)
    if backend is not None:
        raise ValueError(f"unknown or missing ANN backend {backend!r}")
    if not _missing_logged:
        _missing_logged = True
        log.info("no ANN backend is installed: large partitions are searched exactly"
                 " (pip install %s for the approximate index)",
                 " or ".join(b.package for b in BACKENDS))
    return None


def load_graph(path: str | Path, dim: int, live: int) -> AnnGraph | None:
    """The graph :meth:`AnnGraph.dump` wrote to ``path``, with ``live`` live labels, read
    by the backend that wrote it; ``None`` when that backend is not installed or the
    file is missing, unreadable or not a ``dim``-dimensional inner-product graph."""
    path = Path(path)
    try:
        packed = is_packed(path)
    except OSError as exc:
        log.warning("ANN graph %s unreadable (%s): it will be rebuilt", path, exc)
        return None
    for b in BACKENDS:
        if b.packed == packed:
            mod = _module(b)
            return None if mod is None else b.load(mod, path, dim, live)
    return None
