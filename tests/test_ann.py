"""The approximate graphs behind :mod:`engram.index.ann`, one contract for every backend.

* The graph contract (faiss and voyager alike): labels added, hidden, queried;
  never more than asked or than are live, never a hidden label; a re-added
  label replaced; a removed vector gone from memory and from the dump; a dump
  read back the same, a damaged or foreign one refused.
* Selection: faiss first, voyager where faiss is missing; a graph file is read
  by the backend that wrote it (an older Engram's voyager file included).
* Each backend and onnxruntime (the default embedder) work together whichever
  is imported first (usearch 2.26 crashed when onnxruntime came second), in
  real child processes.
* Without a backend installed, a large partition is searched exactly.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engram.index import ann as ann_mod
from engram.index.ann import BACKENDS, load_graph, new_graph
from engram.index.partition import PartitionIndex
from engram.index.rows import INF, TYPE_EPISODE, RowAttrs, RowFilter
from engram.models import ItemRef

NAMES = [b.name for b in BACKENDS]


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(params=NAMES)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    module = next(b.module for b in BACKENDS if b.name == name)
    if importlib.util.find_spec(module) is None:  # only where the package has no wheel
        pytest.skip(f"{module} has no wheel for this platform")
    return name


def test_both_backends_are_installed_and_faiss_is_preferred() -> None:
    if importlib.util.find_spec("faiss") is None:
        pytest.skip("faiss-cpu has no wheel for this platform")
    assert type(new_graph(8)).__name__ == "FaissGraph"
    assert type(new_graph(8, backend="voyager")).__name__ == "VoyagerGraph"
    with pytest.raises(ValueError, match="nosuch"):
        new_graph(8, backend="nosuch")


def test_graph_adds_hides_and_queries_live_labels(backend: str) -> None:
    g = new_graph(16, capacity=4, backend=backend)
    assert g is not None
    x = _unit_rows(300, 16, 0)
    g.add(x[:200], np.arange(200))
    g.add(x[200:], np.arange(200, 300))  # grows past its capacity hint
    assert len(g) == 300
    top = g.query(x[7], 5, ef=64)
    assert top.dtype == np.int64 and top[0] == 7 and len(top) == 5
    for label in range(300):
        if label not in (3, 7, 11):
            g.remove(label)
    g.remove(12)  # hidden already: ignored
    g.remove(10_000)  # unknown: ignored
    assert len(g) == 3
    got = g.query(x[3], 10, ef=64)  # more than are live: at most the live ones
    assert set(got.tolist()) <= {3, 7, 11} and got[0] == 3
    g.add(x[:1], np.array([300]))
    assert 300 in g.query(x[0], 4, ef=64).tolist()
    empty = new_graph(16, backend=backend)
    assert empty is not None and len(empty.query(x[0], 3, ef=64)) == 0


def test_graph_returns_the_exact_neighbours_of_clustered_vectors(backend: str) -> None:
    """Nearest first, and the same top 10 as exact search on well separated data."""
    rng = np.random.default_rng(3)
    centres = _unit_rows(40, 32, 4)
    x = centres[rng.integers(0, 40, 2000)] + 0.05 * rng.standard_normal((2000, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    g = new_graph(32, backend=backend)
    assert g is not None
    g.add(x, np.arange(2000) * 3 + 5)  # labels need not be positions
    hits = 0
    for q in _unit_rows(50, 32, 5):
        got = g.query(q, 10, ef=100)
        scores = x[(got - 5) // 3] @ q
        assert np.all(np.diff(scores) <= 1e-6)  # nearest first
        exact = np.argsort(-(x @ q))[:10] * 3 + 5
        hits += len(set(got.tolist()) & set(exact.tolist()))
    assert hits / 500 >= 0.95


def test_re_adding_a_live_label_replaces_its_vector(backend: str) -> None:
    g = new_graph(16, backend=backend)
    assert g is not None
    x = _unit_rows(50, 16, 6)
    g.add(x[:40], np.arange(40))
    g.add(x[40:41], np.array([9]))  # label 9 now stands for x[40]
    assert len(g) == 40
    assert g.query(x[40], 1, ef=64).tolist() == [9]
    assert 9 not in g.query(x[9], 3, ef=64).tolist()
    assert x[9].tobytes() not in g.dump()  # the old vector is scrubbed


def test_a_removed_vector_leaves_memory_and_the_dump(backend: str, tmp_path: Path) -> None:
    g = new_graph(16, backend=backend)
    assert g is not None
    x = _unit_rows(100, 16, 7)
    g.add(x, np.arange(100))
    g.remove(42)
    blob = g.dump()
    assert b"".join(g.chunks()) == blob  # what a store writes, piece by piece
    assert x[42].tobytes() not in blob and x[41].tobytes() in blob
    assert 42 not in g.query(x[42], 99, ef=200).tolist()
    path = tmp_path / "g.ann"
    path.write_bytes(blob)
    back = load_graph(path, 16, 99)
    assert back is not None and type(back) is type(g) and len(back) == 99
    assert 42 not in back.query(x[42], 99, ef=200).tolist()
    for i in (0, 17, 99):
        assert back.query(x[i], 5, ef=64).tolist() == g.query(x[i], 5, ef=64).tolist()
    back.add(x[42:43], np.array([100]))  # a loaded graph keeps growing
    assert back.query(x[42], 1, ef=64).tolist() == [100] and len(back) == 100


def test_a_damaged_or_foreign_graph_file_is_refused(backend: str, tmp_path: Path) -> None:
    g = new_graph(16, backend=backend)
    assert g is not None
    g.add(_unit_rows(60, 16, 8), np.arange(60))
    blob = g.dump()
    path = tmp_path / "g.ann"
    path.write_bytes(blob)
    assert load_graph(path, 16, 60) is not None
    assert load_graph(path, 32, 60) is None  # another dimension
    assert load_graph(tmp_path / "missing.ann", 16, 60) is None
    damaged = bytearray(blob)
    damaged[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged[: len(blob) * 3 // 4]))  # cut short and flipped
    assert load_graph(path, 16, 60) is None


def test_faiss_checks_the_live_count_and_digest(tmp_path: Path) -> None:
    if importlib.util.find_spec("faiss") is None:
        pytest.skip("faiss-cpu has no wheel for this platform")
    g = new_graph(16, backend="faiss")
    assert g is not None
    g.add(_unit_rows(60, 16, 9), np.arange(60))
    blob = bytearray(g.dump())
    path = tmp_path / "g.ann"
    path.write_bytes(bytes(blob))
    assert load_graph(path, 16, 59) is None  # not the file the index describes
    blob[-100] ^= 0x01  # one bit inside faiss's own bytes
    path.write_bytes(bytes(blob))
    assert load_graph(path, 16, 60) is None


def test_an_older_voyager_file_is_read_by_voyager(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A graph file written before faiss (voyager's format) is read as it is: no
    rebuild after an upgrade; a faiss file without faiss installed is rebuilt."""
    x = _unit_rows(80, 16, 10)
    old = new_graph(16, backend="voyager")
    assert old is not None
    old.add(x, np.arange(80))
    old.remove(5)
    (tmp_path / "old.ann").write_bytes(old.dump())
    back = load_graph(tmp_path / "old.ann", 16, 79)
    assert back is not None and type(back).__name__ == "VoyagerGraph"
    assert back.query(x[3], 1, ef=64).tolist() == [3] and 5 not in back.query(x[5], 79, 200)
    if importlib.util.find_spec("faiss") is None:
        return
    new = new_graph(16, backend="faiss")
    assert new is not None
    new.add(x, np.arange(80))
    (tmp_path / "new.ann").write_bytes(new.dump())
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss -> ImportError
    assert load_graph(tmp_path / "new.ann", 16, 80) is None


ORDER = r"""
import sys
import numpy as np
first, backend = sys.argv[1], sys.argv[2]
if first == "ann":
    import importlib
    importlib.import_module(backend)
    import onnxruntime
else:
    import onnxruntime
    import importlib
    importlib.import_module(backend)
from engram.index.ann import new_graph
from engram.embed.registry import get_embedder
emb = get_embedder("default")
vecs = emb.embed(["the cat sat on the mat", "a dog in the park", "stock prices fell"])
g = new_graph(vecs.shape[1], backend=backend)
g.add(vecs, np.arange(3))
assert g.query(emb.embed_one("a cat on a mat"), 1, ef=16).tolist() == [0]
print("ok", onnxruntime.__version__)
"""


@pytest.mark.parametrize("first", ["ann", "onnxruntime"])
def test_ann_backend_and_onnxruntime_in_either_import_order(first: str, backend: str) -> None:
    module = next(b.module for b in BACKENDS if b.name == backend)
    out = subprocess.run([sys.executable, "-c", ORDER, first, module], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert out.stdout.startswith("ok")


def test_without_a_backend_large_partitions_are_searched_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for b in BACKENDS:
        monkeypatch.setitem(sys.modules, b.module, None)  # import -> ImportError
    monkeypatch.setattr(ann_mod, "_missing_logged", False)
    assert new_graph(8) is None
    idx = PartitionIndex(8)
    idx.ann_threshold, idx.exact_limit = 50, 10
    x = _unit_rows(200, 8, 1)
    a = RowAttrs(TYPE_EPISODE, "episode", 0, None, None, 0.0, 0.0, INF)
    for i, v in enumerate(x):
        idx.upsert(ItemRef("episode", f"r{i}"), v, a)
    q = _unit_rows(1, 8, 2)[0]
    got = [r.id for r, _ in idx.search(q, 10, RowFilter())]
    assert got == [f"r{i}" for i in np.argsort(-(x @ q))[:10]]
    assert idx._ann is None
