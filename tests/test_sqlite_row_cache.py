"""SQLite holds the rows a search's head read (``get_items``) decoded in memory (#21):
what it returns is always what reading the tables returns now, whoever wrote.

Two store objects on one file stand for two processes. A held row is dropped when
the change log names it: a change of any column a decoded item holds, access
statistics and metadata included (migration 0006). Returned items are copies; a
forget or a delete, here or in the other process, empties what is held.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from contract_helpers import (
    add_episode,
    add_memory,
    at,
    change_memory,
    episode,
    memory,
    unit,
)

from engram.models import Episode, Memory, Operation, Scope
from engram.store.sqlite import SQLiteStore
from engram.text import clear_text_caches

U = Scope(user_id="u", tenant="t")
V = Scope(user_id="v", tenant="t")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[SQLiteStore, SQLiteStore]]:
    a = SQLiteStore(tmp_path / "rows.db", synchronous="OFF")
    a.migrate()
    b = SQLiteStore(tmp_path / "rows.db", synchronous="OFF")
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _items(store: SQLiteStore, scope: Scope = U, eps: tuple[str, ...] = ("e1",),
           mems: tuple[str, ...] = ("m1", "m2")) -> tuple[list[Episode], list[Memory]]:
    """``get_items``, checked against reading the tables (``get_episodes``/``get_memories``)."""
    got = store.get_items(scope, list(eps), list(mems))
    assert got == (store.get_episodes(scope, list(eps)), store.get_memories(scope, list(mems)))
    return got


def _seed(store: SQLiteStore) -> Memory:
    m1 = memory("m1", U, "Ana moved to Tromsø last spring", entities=["Ana", "Tromsø"],
                keywords=["moved"], source_episode_ids=["e1"], metadata={"tags": ["home"]})
    add_memory(store, m1, unit(1))
    add_memory(store, memory("m2", U, "Ana plays the cello"), unit(2))
    add_episode(store, episode("e1", U, "I moved to Tromsø", note={"k": [1, 2]}), unit(3))
    return m1


def test_held_rows_follow_every_write_of_another_process(
        pair: tuple[SQLiteStore, SQLiteStore]) -> None:
    a, b = pair
    m1 = _seed(a)
    first = _items(b)
    assert len(b._rows) == 3 and [m.id for m in first[1]] == ["m1", "m2"]
    assert _items(b) == first  # served from what b holds
    a.touch("t", ["m1"], at(5))  # access statistics: not an index column
    eps, mems = _items(b)
    assert mems[0].access_count == 1 and mems[0].last_accessed_at == at(5)
    m1 = change_memory(a, m1, at(6), text="Ana moved to Bergen", importance=0.9)
    assert _items(b)[1][0].text == "Ana moved to Bergen"
    change_memory(a, m1, at(7), Operation.DELETE)
    assert _items(b)[1][0].status == "deleted"
    e1 = eps[0]
    assert a.replace_episode_metadata(
        Episode(**{**e1.__dict__, "metadata": {"new": True}}), e1.metadata)
    assert _items(b)[0][0].metadata == {"new": True}


def test_returned_items_are_copies(pair: tuple[SQLiteStore, SQLiteStore]) -> None:
    a, _ = pair
    _seed(a)
    eps, mems = _items(a)
    mems[0].text = "changed by the caller"
    mems[0].entities.append("Oslo")
    mems[0].metadata["tags"].append("x")
    eps[0].metadata["note"]["k"].append(3)
    again = _items(a)
    assert again[1][0].text == "Ana moved to Tromsø last spring"
    assert again[1][0].entities == ["Ana", "Tromsø"]
    assert again[1][0].metadata == {"tags": ["home"]}
    assert again[0][0].metadata == {"note": {"k": [1, 2]}}


def test_scope_and_order_are_kept(pair: tuple[SQLiteStore, SQLiteStore]) -> None:
    a, _ = pair
    _seed(a)
    add_memory(a, memory("m3", V, "Ben likes tea"), unit(4))
    _items(a, U, (), ("m1", "m3", "m2"))  # holds all three
    assert [m.id for m in _items(a, U, (), ("m2", "m3", "m1", "m2"))[1]] == ["m2", "m1", "m2"]
    assert _items(a, V, ("e1",), ("m1", "m3"))[1][0].id == "m3"
    assert _items(a, Scope(user_id="u", tenant="other"), ("e1",), ("m1",)) == ([], [])
    assert _items(a, Scope(user_id="u", session_id="s9", tenant="t")) == ([], [])


@pytest.mark.parametrize("erase", ["forget", "delete", "clear"])
def test_forget_and_delete_empty_it_here_and_elsewhere(
        pair: tuple[SQLiteStore, SQLiteStore], erase: str) -> None:
    a, b = pair
    _seed(a)
    for _ in range(2):  # a first read of the log empties every memo of the process
        _items(a)
        _items(b)
    assert len(a._rows) == len(b._rows) == 3
    if erase == "clear":
        clear_text_caches()  # what the engine runs after a forget or a delete
        assert len(a._rows) == len(b._rows) == 0
        return
    if erase == "forget":
        a.forget(U)
    else:
        a.delete_episodes("t", ["e1"], ["m1"])
    assert len(a._rows) == 0 and len(b._rows) == 3
    b.get_items(U, [], [])  # b's next read catches up with the log: rows are gone
    assert len(b._rows) == 0
    left = _items(b)
    if erase == "forget":
        assert left == ([], [])
    else:
        assert left[0] == [] and [m.id for m in left[1]] == ["m2"]


def test_it_is_bounded(pair: tuple[SQLiteStore, SQLiteStore],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    a, _ = pair
    for i in range(12):
        add_memory(a, memory(f"n{i}", U, f"note {i}"), unit(10 + i))
    monkeypatch.setattr(a._rows, "limit", 5)
    names = [f"n{i}" for i in range(12)]
    assert [m.id for m in _items(a, U, (), tuple(names))[1]] == names
    assert len(a._rows) == 5 and len(a._rows._keys) == 5
    assert [m.id for m in _items(a, U, (), tuple(names))[1]] == names


def test_held_rows_leave_the_garbage_collector(pair: tuple[SQLiteStore, SQLiteStore]) -> None:
    """Held rows are tuples of plain values: after a collection the collector no
    longer walks them, so a full cache does not lengthen every full collection."""
    a, _ = pair
    _seed(a)
    for _ in range(2):
        _items(a)
    gc.collect()
    gc.collect()
    assert len(a._rows) == 3 and not any(gc.is_tracked(h) for h in a._rows.values())
