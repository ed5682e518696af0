"""PartitionIndex.search_started: the graph query runs on a worker thread while the
caller works, and the answer is exactly :meth:`PartitionIndex.search`'s, also when a
write comes before the caller takes it; a store's search_both overlaps the two."""

from __future__ import annotations

import os
import threading
from concurrent.futures import wait

import numpy as np
import pytest

from engram.index import partition as partition_mod
from engram.index.partition import INF, TYPE_EPISODE, PartitionIndex, RowAttrs, RowFilter
from engram.models import ItemRef

DIM = 32
N = 1_200


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _attrs(i: int) -> RowAttrs:
    return RowAttrs(TYPE_EPISODE, "episode", 0, "a1", f"s{i % 3}", float(i), float(i), INF)


def _partition(n: int = N, threshold: int = 500) -> PartitionIndex:
    idx = PartitionIndex(DIM)
    idx.ann_threshold, idx.exact_limit = threshold, 50
    for i, v in enumerate(_unit_rows(n, DIM, 0)):
        idx.upsert(ItemRef("episode", f"r{i}"), v, _attrs(i), text=f"word{i % 17} common")
    return idx


@pytest.fixture(autouse=True)
def _a_free_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests take the worker path (off by default) whatever the machine's load."""
    monkeypatch.setattr(partition_mod, "_core_free", lambda: True)
    monkeypatch.setattr(PartitionIndex, "overlap", True)


FILTERS = [RowFilter(), RowFilter(session_id="s1"), RowFilter(start_ts=1000.0),
           RowFilter(start_ts=float(N - 30))]


@pytest.mark.parametrize("f", FILTERS)
def test_started_search_is_the_search(f: RowFilter) -> None:
    idx = _partition()
    assert idx.graph is not None or idx._ensure_ann() is not None
    for q in _unit_rows(20, DIM, 1):
        finish = idx.search_started(q, 10, f)
        idx.lexical_search("word3 common", 10, f)  # the caller's work meanwhile
        assert finish() == idx.search(q, 10, f)


def test_the_graph_query_runs_on_the_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    idx = _partition()
    ann = idx._ensure_ann()
    assert ann is not None
    seen: list[str] = []
    real = type(ann).prepared

    def prepared(self: object, *a: object) -> object:
        run, answer = real(self, *a)  # type: ignore[arg-type]

        def spied() -> object:
            seen.append(threading.current_thread().name)
            return run()

        return spied, answer

    monkeypatch.setattr(type(ann), "prepared", prepared)
    q = _unit_rows(1, DIM, 2)[0]
    finish = idx.search_started(q, 10, RowFilter())
    assert idx._pending is not None
    wait([idx._pending])  # begun and done on the worker
    assert finish() == idx.search(q, 10, RowFilter())
    assert seen[0].startswith("engram-graph-query")
    assert seen[1] == threading.current_thread().name  # the plain search, for comparison


def test_a_query_the_worker_has_not_begun_is_asked_in_the_caller() -> None:
    """Both workers busy: the caller takes the graph query back and asks it itself."""
    idx = _partition()
    idx._ensure_ann()
    gate = threading.Event()
    pool = partition_mod._worker()
    blockers = [pool.submit(gate.wait) for _ in range(2)]
    try:
        for q in _unit_rows(5, DIM, 6):
            finish = idx.search_started(q, 10, RowFilter())
            pending = idx._pending
            assert pending is not None and not pending.running()
            assert finish() == idx.search(q, 10, RowFilter())
            assert pending.cancelled()
    finally:
        gate.set()
        wait(blockers)


def test_small_partitions_start_nothing() -> None:
    """Searched exactly: no thread, no graph; the function searches when called."""
    idx = _partition(n=300, threshold=8_000)
    q = _unit_rows(1, DIM, 3)[0]
    finish = idx.search_started(q, 10, RowFilter())
    assert idx._pending is None and idx._ann is None
    assert finish() == idx.search(q, 10, RowFilter())


@pytest.mark.parametrize("write", ["upsert", "remove", "forget_removed"])
def test_a_write_before_the_answer_waits_and_the_answer_is_afresh(write: str) -> None:
    idx = _partition()
    idx._ensure_ann()
    vecs = _unit_rows(N, DIM, 0)
    q = vecs[5]  # row r5 is its own nearest
    finish = idx.search_started(q, 10, RowFilter())
    if write == "upsert":
        idx.upsert(ItemRef("episode", "new"), q, _attrs(5))
    else:
        idx.remove(ItemRef("episode", "r5"))
        if write == "forget_removed":
            idx.forget_removed()
    assert idx._pending is None  # the write waited for the graph query
    got = finish()
    assert got == idx.search(q, 10, RowFilter())
    ids = [r.id for r, _ in got]
    assert ("new" in ids) if write == "upsert" else ("r5" not in ids)


def test_concurrent_partitions_share_the_worker() -> None:
    """Searches of several partitions from several threads, all exact answers."""
    parts = [_partition(n=700) for _ in range(3)]
    queries = _unit_rows(30, DIM, 4)
    want = [[p.search(q, 10, RowFilter()) for q in queries] for p in parts]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            for q, w in zip(queries, want[i], strict=True):
                assert parts[i].search_started(q, 10, RowFilter())() == w
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert partition_mod._worker_pool is not None


def test_sqlite_search_both_overlaps_and_equals_the_two_searches(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engram.models import Scope, SearchFilters

    monkeypatch.setattr(PartitionIndex, "ann_threshold", 200)
    monkeypatch.setattr(PartitionIndex, "exact_limit", 20)
    from contract_helpers import MODEL, episode, vrec
    from stores import make_store

    from engram.store.base import WriteBatch

    store = make_store("sqlite", tmp_path)  # type: ignore[arg-type]
    scope = Scope(user_id="u")
    vecs = _unit_rows(400, 8, 5)
    eps = [episode(f"e{i}", scope, f"turn {i % 9} about apples") for i in range(len(vecs))]
    store.write(WriteBatch(episodes=eps,
                           vectors=[vrec(e, v, MODEL) for e, v in zip(eps, vecs, strict=True)]))
    started: list[int] = []
    real = PartitionIndex.search_started

    def spy(self: PartitionIndex, *a: object) -> object:
        started.append(1)
        return real(self, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(PartitionIndex, "search_started", spy)
    for q in vecs[:10]:
        both = store.search_both(scope, "apples 3", q, MODEL, SearchFilters(), 10)
        assert both == (store.lexical_search(scope, "apples 3", SearchFilters(), 10),
                        store.vector_search(scope, q, MODEL, SearchFilters(), 10))
    assert started
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_makes_its_own_worker() -> None:
    idx = _partition()
    idx._ensure_ann()
    q = _unit_rows(1, DIM, 7)[0]
    want = idx.search(q, 10, RowFilter())
    assert idx.search_started(q, 10, RowFilter())() == want  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child: report by exit code only
        ok = partition_mod._worker_pool is None
        finish = idx.search_started(q, 10, RowFilter())
        pending = idx._pending
        ok = ok and pending is not None
        if pending is not None:
            wait([pending], timeout=30)
            ok = ok and pending.done() and not pending.cancelled()
        ok = ok and finish() == want
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_no_free_core_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partition_mod, "_core_free", lambda: False)
    idx = _partition()
    idx._ensure_ann()
    q = _unit_rows(1, DIM, 8)[0]
    finish = idx.search_started(q, 10, RowFilter())
    assert idx._pending is None
    assert finish() == idx.search(q, 10, RowFilter())


def test_core_free_reads_the_load_at_most_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real function
    monkeypatch.setattr(partition_mod, "_free_seen", (-float("inf"), False))
    reads: list[int] = []
    monkeypatch.setattr(os, "getloadavg", lambda: reads.append(1) or (0.0, 0.0, 0.0))
    assert partition_mod._core_free() is (len(os.sched_getaffinity(0)) > 0.5)
    assert partition_mod._core_free() == partition_mod._core_free()
    assert len(reads) == 1
    monkeypatch.setattr(partition_mod, "_free_seen", (-float("inf"), False))
    monkeypatch.setattr(os, "getloadavg", lambda: (64.0, 0.0, 0.0))
    assert partition_mod._core_free() is False


def test_overlap_off_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PartitionIndex, "overlap", False)
    idx = _partition()
    idx._ensure_ann()
    q = _unit_rows(1, DIM, 9)[0]
    finish = idx.search_started(q, 10, RowFilter())
    assert idx._pending is None
    assert finish() == idx.search(q, 10, RowFilter())

