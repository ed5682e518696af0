"""``Store.stored_vectors``: the vectors a search's newer-first rule reads (#21).

Contract, every backend: it answers exactly what ``vectors_by_hash`` answers
for the same hashes, whether or not a hash is the one the item's own vector was
stored under, and nothing of a deleted item. SQLite: a loaded partition answers
for the rows it holds with the same hash without a query (also after a restart
from its index file); rows it cannot vouch for go to the vectors table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from contract_helpers import MODEL, add_episode, at, episode, unit

from engram.index.partition import PartitionIndex
from engram.index.rows import INF, TYPE_EPISODE, RowAttrs, RowFilter
from engram.models import ItemRef, Scope, SearchFilters
from engram.store import open_store
from engram.store.base import Store
from engram.store.sqlite_index_files import IndexFiles
from engram.store.sqlite_search import SQLiteSearch
from engram.text import content_hash

U = Scope(user_id="u", tenant="t")
ANY = SearchFilters()
TEXTS = ["we adopted a corgi puppy", "my sister moved to Lisbon", "the piano lessons start Monday",
         "I switched to decaf", "our team shipped the release", "she runs the marathon in May"]


def _fill(store: Store, n: int = len(TEXTS)) -> list[np.ndarray]:
    vecs = []
    for i in range(n):
        vecs.append(unit(100 + i))
        add_episode(store, episode(f"e{i}", U, TEXTS[i % len(TEXTS)] + f" ({i})", at(i)),
                    vecs[-1])
    return vecs


def _refs(n: int) -> list[ItemRef]:
    return [ItemRef("episode", f"e{i}") for i in range(n)]


def _hash(ref: ItemRef) -> str:
    """The content hash ``_fill`` stored the vector of ``ref`` under."""
    i = int(ref.id[1:])
    return content_hash(TEXTS[i % len(TEXTS)] + f" ({i})")


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[h], b[h]) for h in a)


def test_stored_vectors_equal_vectors_by_hash(store: Store) -> None:
    n = len(TEXTS)
    vecs = _fill(store)
    store.vector_search(U, unit(100), MODEL, ANY, 10)  # the partition is loaded where kept
    refs = _refs(n)
    hashes = [_hash(r) for r in refs]
    # own hashes; another item's hash; a hash nothing has; an unknown item
    asked = [*zip(refs, hashes, strict=True), (refs[0], hashes[1]),
             (refs[2], content_hash("never said")), (ItemRef("episode", "nope"), hashes[3])]
    r, h = [a for a, _ in asked], [b for _, b in asked]
    got = store.stored_vectors(U, MODEL, r, h, tenant="t")
    assert _same(got, store.vectors_by_hash(MODEL, h, tenant="t"))
    assert len(got) == n
    for hsh, vec in zip(hashes, vecs, strict=True):
        np.testing.assert_allclose(got[hsh], vec, rtol=0, atol=1e-6)
    store.delete_episodes("t", ["e1"])
    store.vector_search(U, unit(100), MODEL, ANY, 10)
    got = store.stored_vectors(U, MODEL, r, h, tenant="t")
    assert hashes[1] not in got
    assert _same(got, store.vectors_by_hash(MODEL, h, tenant="t"))


@pytest.fixture
def sqlite_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many hashes each ``vectors_by_hash`` query of a SQLite store asked for."""
    calls: list[int] = []
    real = SQLiteSearch.vectors_by_hash

    def spy(self: SQLiteSearch, model_id: str, hashes: list[str], *,
            tenant: str | None = None) -> dict[str, np.ndarray]:
        calls.append(len(hashes))
        return real(self, model_id, hashes, tenant=tenant)

    monkeypatch.setattr(SQLiteSearch, "vectors_by_hash", spy)
    return calls


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "engram.db"


def test_sqlite_partition_answers_without_a_query(
    db: Path, sqlite_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IndexFiles, "min_rows", 5)  # saved at close, loaded at the next start
    n = 12
    store = open_store(f"sqlite:///{db}")
    _fill(store, n)
    hits = store.vector_search(U, unit(100), MODEL, ANY, n)
    refs = [c.ref for c in hits]
    hashes = [_hash(r) for r in refs]
    assert len(store.stored_vectors(U, MODEL, refs, hashes, tenant="t")) == n
    assert sqlite_calls == []
    # a hash the row was not stored under is asked of the table (another item may hold it)
    store.stored_vectors(U, MODEL, refs[:2], [hashes[1], hashes[0]], tenant="t")
    assert sqlite_calls == [2]
    store.close()
    sqlite_calls.clear()
    again = open_store(f"sqlite:///{db}")

    def no_rebuild(*_: object) -> None:
        raise AssertionError("the partition was rebuilt from the tables, not loaded")

    monkeypatch.setattr(SQLiteSearch, "_load_tables", no_rebuild)
    try:
        assert again.lexical_search(U, "corgi", ANY, n)  # the partition, from its file
        hits = again.vector_search(U, unit(100), MODEL, ANY, n)
        refs = [c.ref for c in hits]
        got = again.stored_vectors(U, MODEL, refs, [_hash(r) for r in refs])
        assert len(got) == n
        assert sqlite_calls == []
    finally:
        again.close()


def test_partition_vouches_only_for_live_rows_with_their_hash() -> None:
    part = PartitionIndex(8)
    attrs = RowAttrs(TYPE_EPISODE, "episode", 0, None, None, 0.0, 0.0, INF)
    a, b, c = ItemRef("episode", "a"), ItemRef("episode", "b"), ItemRef("episode", "c")
    ha, hb = content_hash("a"), content_hash("b")
    part.upsert(a, unit(1), attrs, "alpha", key=2, vector_hash=ha)
    part.upsert(b, unit(2), attrs, "beta", key=4, vector_hash=hb)
    part.upsert(c, unit(3), attrs, "gamma", key=6)  # hash not known
    np.testing.assert_array_equal(part.stored_vector(a, ha), unit(1))
    assert part.stored_vector(a, hb) is None
    assert part.stored_vector(c, content_hash("c")) is None
    assert part.stored_vector(ItemRef("memory", "a"), ha) is None
    part.remove(b)
    assert part.stored_vector(b, hb) is None
    state = part.state()
    assert state["vhash"].tolist()[1] == 0  # nothing of a removed row is kept
    loaded = PartitionIndex.from_state(state)
    assert loaded.stored_vector(a, ha) is None  # refs not built: not returned by a search yet
    loaded.search(unit(1), 3, RowFilter())
    np.testing.assert_array_equal(loaded.stored_vector(a, ha), unit(1))
    # a state saved before the hashes were kept: nothing vouched for
    old = PartitionIndex.from_state({k: v for k, v in state.items() if k != "vhash"})
    old.search(unit(1), 3, RowFilter())
    assert old.stored_vector(a, ha) is None


def test_a_content_hash_that_is_not_hex_gets_a_stable_fingerprint() -> None:
    """The store contract allows any string as a content hash (tests and other
    embedders use ``"h-…:model"``): the partition's 64-bit key must not raise."""
    from engram.index.rows import hash64

    assert hash64(None) == 0 and hash64("") == 0
    assert hash64("ff" * 8 + "rest") == int("ff" * 8, 16)
    odd = hash64("h-e0-test:model")
    assert odd != 0 and odd == hash64("h-e0-test:model")
    assert odd != hash64("h-e1-test:model")
