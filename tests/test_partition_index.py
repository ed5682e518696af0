"""PartitionIndex: the HNSW path keeps recall against exact search, and filters stay exact."""

from __future__ import annotations

import numpy as np
import pytest

from engram.index.partition import PartitionIndex
from engram.index.rows import INF, TYPE_EPISODE, TYPE_MEMORY, RowAttrs, RowFilter
from engram.models import ItemRef

N = 2_500
DIM = 64


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _attrs(i: int) -> RowAttrs:
    if i % 50 == 0:
        return RowAttrs(TYPE_MEMORY, "plan", 0, "a1", None, float(i), float(i), INF)
    if i % 7 == 0:
        return RowAttrs(TYPE_MEMORY, "fact", 1, "a2", "s1", float(i), float(i), float(i + 10))
    return RowAttrs(TYPE_EPISODE, "episode", 0, "a1", f"s{i % 3}", float(i), float(i), INF)


@pytest.fixture(scope="module")
def big() -> tuple[PartitionIndex, np.ndarray]:
    vecs = _unit_rows(N, DIM, 0)
    idx = PartitionIndex(DIM)
    idx.ann_threshold = 2_000  # instance override: take the HNSW path at this size
    idx.exact_limit = 100
    for i, v in enumerate(vecs):
        idx.upsert(ItemRef("episode", f"r{i}"), v, _attrs(i))
    return idx, vecs


def _exact(idx: PartitionIndex, q: np.ndarray, k: int, f: RowFilter) -> list[ItemRef]:
    rows = np.flatnonzero(idx._mask(f))
    return [ref for ref, _ in idx._exact(q, k, rows)]


def test_hnsw_recall_at_10_against_exact(big: tuple[PartitionIndex, np.ndarray]) -> None:
    idx, vecs = big
    assert len(idx) >= idx.ann_threshold
    queries = _unit_rows(50, DIM, 1)
    f = RowFilter(include_inactive=True)
    found = total = 0
    for q in queries:
        truth = set(_exact(idx, q, 10, f))
        got = idx.search(q, 10, f)
        assert len(got) == 10
        scores = [s for _, s in got]
        assert scores == sorted(scores, reverse=True)
        found += len(truth & {r for r, _ in got})
        total += 10
    assert idx._ann is not None, "the HNSW path was taken"
    assert found / total >= 0.95


def test_hnsw_recall_at_100_with_the_default_beam(big: tuple[PartitionIndex, np.ndarray]) -> None:
    """A search asks 100 dense candidates; unfiltered, the graph's beam is
    ``ann_beam * k`` wide and still finds nearly all of the exact 100."""
    idx, _ = big
    queries = _unit_rows(30, DIM, 2)
    f = RowFilter(include_inactive=True)
    found = 0
    for q in queries:
        got = idx.search(q, 100, f)
        assert len(got) == 100
        found += len(set(_exact(idx, q, 100, f)) & {r for r, _ in got})
    assert idx._ann is not None, "the HNSW path was taken"
    assert found / (100 * len(queries)) >= 0.9


@pytest.mark.parametrize(
    "f",
    [
        RowFilter(kinds=frozenset({"plan"})),
        RowFilter(kinds=frozenset({"fact"}), include_inactive=True),
        RowFilter(session_id="s1"),
        RowFilter(agent_id="a2", include_inactive=True),
        RowFilter(start_ts=100.0, end_ts=400.0),
        RowFilter(as_of_ts=1000.0),
        RowFilter(kinds=frozenset({"episode"})),
        RowFilter(allowed=frozenset(ItemRef("episode", f"r{i}") for i in range(0, N, 97))),
    ],
    ids=["plan", "fact-inactive", "session", "agent", "time", "as_of", "episodes", "allowed"],
)
def test_filtered_search_returns_only_passing_rows_and_enough_of_them(
    big: tuple[PartitionIndex, np.ndarray], f: RowFilter
) -> None:
    idx, _ = big
    passing = set(int(r) for r in np.flatnonzero(idx._mask(f)))
    assert passing
    for q in _unit_rows(5, DIM, 2):
        got = idx.search(q, 10, f)
        assert len(got) == min(10, len(passing))
        for ref, _ in got:
            assert idx._pos[ref] in passing
        if len(passing) <= idx.exact_limit:
            assert [r for r, _ in got] == _exact(idx, q, 10, f)


def test_upsert_replaces_and_remove_hides(big: tuple[PartitionIndex, np.ndarray]) -> None:
    idx = PartitionIndex(8)
    v = _unit_rows(3, 8, 5)
    a = RowAttrs(TYPE_EPISODE, "episode", 0, None, None, 0.0, 0.0, INF)
    idx.upsert(ItemRef("episode", "x"), v[0], a)
    idx.upsert(ItemRef("episode", "y"), v[1], a)
    idx.upsert(ItemRef("episode", "x"), v[2], a)
    assert len(idx) == 2
    (top,) = idx.search(v[2], 1, RowFilter())
    assert top[0] == ItemRef("episode", "x") and top[1] == pytest.approx(1.0, abs=1e-5)
    idx.remove(ItemRef("episode", "x"))
    assert [r for r, _ in idx.search(v[2], 5, RowFilter())] == [ItemRef("episode", "y")]


def test_hnsw_stays_current_after_writes(big: tuple[PartitionIndex, np.ndarray]) -> None:
    idx, _ = big
    idx.search(_unit_rows(1, DIM, 9)[0], 10, RowFilter())  # graph built
    fresh = _unit_rows(1, DIM, 77)[0]
    ref = ItemRef("memory", "late")
    idx.upsert(ref, fresh, RowAttrs(TYPE_MEMORY, "note", 0, "a1", None, 1.0, 1.0, INF))
    assert idx.search(fresh, 1, RowFilter())[0][0] == ref
    idx.remove(ref)
    assert all(r != ref for r, _ in idx.search(fresh, 10, RowFilter()))


def test_store_keys_name_rows_until_rebound() -> None:
    idx = PartitionIndex(DIM)
    vecs = _unit_rows(3, DIM, 7)
    a, b = ItemRef("memory", "a"), ItemRef("memory", "b")
    idx.upsert(a, vecs[0], _attrs(1), "alpha", key=11)
    idx.upsert(b, vecs[1], _attrs(2), "beta", key=12)
    assert idx.ref_of(11) == a
    # a key now naming another ref (a reused rowid) replaces the old row
    c = ItemRef("memory", "c")
    idx.upsert(c, vecs[2], _attrs(3), "gamma", key=11)
    assert a not in idx and idx.ref_of(11) == c
    # a ref upserted under a new key drops its old key
    idx.upsert(b, vecs[1], _attrs(2), "beta", key=13)
    idx.remove_key(12)
    assert b in idx
    idx.remove_key(13)
    idx.remove_key(99)  # unknown: nothing happens
    assert b not in idx and len(idx) == 1
    f = RowFilter(include_inactive=True)
    assert [r for r, _ in idx.search(vecs[2], 5, f)] == [c]
    assert [r for r, _ in idx.lexical_search("beta alpha gamma", 5, f)] == [c]


def test_a_loaded_partition_keeps_its_ids_out_of_full_collections() -> None:
    import gc

    idx = PartitionIndex(DIM)
    vecs = _unit_rows(50, DIM, 3)
    for i, v in enumerate(vecs):
        idx.upsert(ItemRef("memory", f"m{i}"), v, _attrs(i), f"text {i}", key=2 * i + 1)
    loaded = PartitionIndex.from_state({k: np.array(v) for k, v in idx.state().items()})
    gc.collect()
    assert loaded._lazy is not None and not gc.is_tracked(loaded._lazy[0])
    f = RowFilter(include_inactive=True)
    assert loaded.search(vecs[7], 1, f)[0][0] == ItemRef("memory", "m7")
    loaded.upsert(ItemRef("memory", "new"), vecs[0], _attrs(1), "new text", key=999)
    assert ItemRef("memory", "m7") in loaded and loaded.ref_of(15) == ItemRef("memory", "m7")
