"""A graph file written by voyager (before faiss) moves to faiss once, safely (#21).

Several :class:`~engram.store.sqlite.SQLiteStore` objects on one file stand for
processes. The first writes its graph with voyager (as an older Engram did);
the next loads that file, rebuilds the graph with faiss in its background
thread (searches stay exact meanwhile), applies the rows added and forgotten
meanwhile, and saves the faiss graph when it closes; the one after loads the
faiss file as it is. A missing graph file is rebuilt and saved too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import test_index_files as _files
from contract_helpers import MODEL, add_memory, at, ids, memory, unit

from engram.index import ann
from engram.index.partition import PartitionIndex
from engram.index.rows import INF, TYPE_EPISODE, RowAttrs
from engram.models import ItemRef, Scope, SearchFilters
from engram.store.base import Store

pytestmark = pytest.mark.skipif(importlib.util.find_spec("faiss") is None,
                                reason="faiss-cpu has no wheel for this platform")

U = Scope(user_id="u", tenant="t")
KEY = ("t", "u", "u", MODEL)
# the same processes as tests/test_index_files.py: small thresholds, stores closed at the end
small_thresholds, opened, _store = _files.small_thresholds, _files.opened, _files.store
N = 40


def _graph_file(db: Path) -> bytes:
    files = sorted(db.with_name(db.name + ".index").glob("*.ann"))
    assert len(files) == 1
    return files[0].read_bytes()


def _top(s: Store, seed: int) -> list[str]:
    return ids(s.vector_search(U, unit(seed), MODEL, SearchFilters(), 10))


def test_a_voyager_graph_file_is_rebuilt_with_faiss_once(
    tmp_path: Path, opened: list[Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "engram.db"
    with monkeypatch.context() as m:  # an older Engram: voyager only
        m.setattr(ann, "BACKENDS", tuple(b for b in ann.BACKENDS if b.name == "voyager"))
        old = _store(db, opened)
        for i in range(N):
            add_memory(old, memory(f"m{i}", U, f"note {i}", when=at(i)), unit(i))
        old.warm(U, MODEL)  # type: ignore[attr-defined]
        old.close()
    assert not _graph_file(db).startswith(b"ENGRAMIX")  # voyager's own format

    new = _store(db, opened)
    assert _top(new, 3)[0] == "m3"  # exact, or the rebuilt graph: the same answer
    add_memory(new, memory("late", U, "late note", when=at(N)), unit(500))
    assert "late" in _top(new, 500)  # the search catches up with the write
    part = new._partitions[KEY]  # type: ignore[attr-defined]
    part.settle()
    assert part.graph is not None and part.graph.backend == "faiss"
    assert len(part.graph) == N + 1  # the row added meanwhile
    assert N in part.graph.query(unit(500), N + 1, 200)
    new.close()
    assert _graph_file(db).startswith(b"ENGRAMIX")  # saved as faiss

    again = _store(db, opened)
    assert "late" in _top(again, 500)
    part = again._partitions[KEY]  # type: ignore[attr-defined]
    part.settle()
    assert part.graph is not None and part.graph.backend == "faiss"
    version = part.version
    again.close()
    assert part.version == version  # loaded as it was: nothing rebuilt, nothing to save


def test_a_missing_graph_file_is_rebuilt_and_saved(tmp_path: Path, opened: list[Store]) -> None:
    db = tmp_path / "engram.db"
    a = _store(db, opened)
    for i in range(N):
        add_memory(a, memory(f"m{i}", U, f"note {i}", when=at(i)), unit(i))
    a.warm(U, MODEL)  # type: ignore[attr-defined]
    a.close()
    for p in db.with_name(db.name + ".index").glob("*.ann"):
        p.unlink()
    b = _store(db, opened)
    assert _top(b, 4)[0] == "m4"
    b.warm(U, MODEL)  # type: ignore[attr-defined]
    b.close()
    assert _graph_file(db).startswith(b"ENGRAMIX")


def test_rows_removed_while_rebuilding_leave_the_faiss_graph() -> None:
    x = np.stack([unit(i) for i in range(N)])
    voyager = ann.new_graph(x.shape[1], backend="voyager")
    assert voyager is not None
    voyager.add(x, np.arange(N))
    part = PartitionIndex(x.shape[1])
    a = RowAttrs(TYPE_EPISODE, "episode", 0, None, None, 0.0, 0.0, INF)
    for i in range(N):
        part.upsert(ItemRef("episode", f"r{i}"), x[i], a)
    version = part.version
    part.attach_graph(lambda: voyager)
    part.remove(ItemRef("episode", "r7"))  # forgotten while the graph is rebuilt
    part.settle()
    graph = part.graph
    assert graph is not None and graph.backend == "faiss" and len(graph) == N - 1
    assert 7 not in graph.query(x[7], N, ef=200).tolist()
    assert x[7].tobytes() not in graph.dump()
    assert part.version > version + 1  # the removal, and the new graph: saved next time
