"""The approximate graph behind :mod:`engram.index.ann`, and life without it.

* The graph contract: labels added, hidden, queried; never more than asked
  or than are live, never a hidden label.
* The backend and onnxruntime (the default embedder) work together whichever
  is imported first (usearch 2.26 crashed when onnxruntime came second), in
  real child processes.
* Without a backend installed, a large partition is searched exactly.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from engram.index import ann as ann_mod
from engram.index.ann import new_graph
from engram.index.partition import INF, TYPE_EPISODE, PartitionIndex, RowAttrs, RowFilter
from engram.models import ItemRef


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_graph_adds_hides_and_queries_live_labels() -> None:
    g = new_graph(16, capacity=4)
    assert g is not None, "the ANN backend is a dependency"
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
    assert len(new_graph(16).query(x[0], 3, ef=64)) == 0  # type: ignore[union-attr]


ORDER = r"""
import sys
import numpy as np
first = sys.argv[1]
if first == "ann":
    from engram.index.ann import new_graph
    import onnxruntime
else:
    import onnxruntime
    from engram.index.ann import new_graph
from engram.embed.registry import get_embedder
emb = get_embedder("default")
vecs = emb.embed(["the cat sat on the mat", "a dog in the park", "stock prices fell"])
g = new_graph(vecs.shape[1])
g.add(vecs, np.arange(3))
assert g.query(emb.embed_one("a cat on a mat"), 1, ef=16).tolist() == [0]
print("ok", onnxruntime.__version__)
"""


@pytest.mark.parametrize("first", ["ann", "onnxruntime"])
def test_ann_backend_and_onnxruntime_in_either_import_order(first: str) -> None:
    out = subprocess.run([sys.executable, "-c", ORDER, first], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert out.stdout.startswith("ok")


def test_without_a_backend_large_partitions_are_searched_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "voyager", None)  # import voyager -> ImportError
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
