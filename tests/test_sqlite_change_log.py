"""The SQLite change log keeps every store object's in-memory partitions current.

Two :class:`~engram.store.sqlite.SQLiteStore` objects on one file stand for
two processes (each has its own connection and partitions; the log does not
care whether the other writer is a process or a connection). Store-level and
SQLite-only: PostgreSQL searches its tables directly and has no in-memory
index to keep current (its cross-process behaviour is pinned in
``test_cross_process_search.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract_helpers import (
    MODEL,
    add_episode,
    add_memory,
    at,
    change_memory,
    episode,
    ids,
    memory,
    unit,
    vrec,
)

from engram.models import Operation, Scope, SearchFilters
from engram.store import open_store
from engram.store.base import Store, WriteBatch
from engram.store.sqlite_changes import prune_trigger_sql

U = Scope(user_id="u", tenant="t")
V = Scope(user_id="v", tenant="t")
ANY = SearchFilters()
ALL = SearchFilters(include_inactive=True)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "shared.db"


@pytest.fixture
def pair(db: Path) -> Iterator[tuple[Store, Store]]:
    a = open_store(f"sqlite:///{db}")
    b = open_store(f"sqlite:///{db}")
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def found(store: Store, scope: Scope = U, filters: SearchFilters = ANY) -> set[str]:
    """Every id the vector search returns for ``scope`` (limit well above the item count)."""
    return set(ids(store.vector_search(scope, unit(0), MODEL, filters, 100)))


def words(store: Store, query: str, scope: Scope = U) -> set[str]:
    return set(ids(store.lexical_search(scope, query, ANY, 100)))


def test_every_kind_of_change_elsewhere_reaches_a_loaded_partition(
    pair: tuple[Store, Store],
) -> None:
    a, b = pair
    m1 = memory("m1", U, "zebra one", when=at(1))
    add_memory(a, m1, unit(1))
    m3 = memory("m3", U, "zebra three", when=at(1))
    add_memory(a, m3, unit(3))
    assert found(b) == {"m1", "m3"}  # b holds u's partition now
    add_memory(a, memory("m2", U, "zebra two", when=at(2)), unit(2))  # insert
    change_memory(a, m1, at(3), vec=unit(11), text="okapi one")  # text and vector
    change_memory(a, m3, at(3), Operation.SUPERSEDE)  # status
    add_episode(b, episode("e1", U, "zebra own", at(4)), unit(4))  # b's own write between
    assert found(b) == {"m1", "m2", "e1"}
    assert found(b, filters=ALL) == {"m1", "m2", "m3", "e1"}
    assert words(b, "okapi") == {"m1"}
    assert words(b, "zebra") == {"m2", "e1"}


def test_forget_elsewhere_and_reused_rowids(pair: tuple[Store, Store], db: Path) -> None:
    a, b = pair
    add_memory(a, memory("k1", V, "zebra kept"), unit(3))
    add_memory(a, memory("m1", U, "zebra one"), unit(1))
    add_memory(a, memory("m2", U, "zebra two"), unit(2))
    assert found(b) == {"m1", "m2"} and found(b, V) == {"k1"}
    a.forget(U)
    # u's rows were the last ones: SQLite hands their rowids out again (max + 1)
    add_memory(b, memory("k2", V, "zebra kept too"), unit(4))
    assert found(b) == set()
    add_memory(a, memory("n1", U, "zebra new"), unit(5))
    with sqlite3.connect(db) as con:
        rids = dict(con.execute("SELECT id, rid FROM memories").fetchall())
    assert rids == {"k1": 1, "k2": 2, "n1": 3}
    assert found(b) == {"n1"}
    assert found(b, V) == {"k1", "k2"}
    assert words(b, "zebra") == {"n1"}


def test_moved_and_reembedded_items(pair: tuple[Store, Store]) -> None:
    a, b = pair
    m1 = memory("m1", U, "zebra one")
    add_memory(a, m1, unit(1))
    add_memory(a, memory("k1", V, "zebra kept"), unit(2))
    assert found(b) == {"m1"} and found(b, V) == {"k1"}
    change_memory(a, m1, at(1), scope=V)  # the memory moves to user v
    assert found(b) == set()
    assert found(b, V) == {"m1", "k1"}
    # a new model: vectors of the old one dropped, the new ones written
    a.drop_vectors_except("other:model")
    assert found(b, V) == set()
    batch = WriteBatch(vectors=[vrec(memory("k1", V, "zebra kept"), unit(2))])
    a.write(batch)
    assert found(b, V) == {"k1"}


def test_log_pruned_past_a_reader_reloads(pair: tuple[Store, Store], db: Path) -> None:
    a, b = pair
    with sqlite3.connect(db) as con:  # a tiny log: keep 8 rows, prune every 4
        con.execute("DROP TRIGGER changes_prune")
        con.execute(prune_trigger_sql(keep=8, every=4))
    add_memory(a, memory("m0", U, "zebra 0"), unit(100))
    assert found(b) == {"m0"}
    for i in range(1, 20):
        add_memory(a, memory(f"m{i}", U, f"zebra {i}"), unit(100 + i))
    a.forget(V)  # nothing to forget: the log still says nothing of u
    with sqlite3.connect(db) as con:
        first, n = con.execute("SELECT min(seq), count(*) FROM changes").fetchone()
    assert first > 2 and n <= 12  # b's position was pruned away
    assert found(b) == {f"m{i}" for i in range(20)}


def test_the_log_holds_no_identifier_and_ignores_access_counts(
    pair: tuple[Store, Store], db: Path
) -> None:
    a, b = pair
    add_memory(a, memory("secret-id", U, "zebra private"), unit(1))
    a.touch("t", ["secret-id"], at(1))
    with sqlite3.connect(db) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(changes)")]
        kinds = [r[0] for r in con.execute("SELECT row_only FROM changes ORDER BY seq")]
    assert cols == ["seq", "item", "row_only"]
    # the memory and its vector; the access count is no change for the index, only for
    # decoded rows held in memory (row_only)
    assert kinds == [0, 0, 1]
    a.forget(U)
    assert found(b) == set()


def _reads(store: Store) -> tuple[set[str], set[str], dict[str, str], dict[str, str]]:
    """What every path that catches up with the log returns for u: vector and lexical
    search (the partition), ``get_items`` (held rows) and ``get_item_views`` (cards)."""
    refs = sorted(found(store, filters=ALL) | {"m1", "m2", "m3", "e1"})
    eps, mems = store.get_items(U, refs, refs)
    veps, vmems = store.get_item_views(U, refs, refs)
    return (found(store), words(store, "zebra"),
            {x.id: f"{x.text}|{getattr(x, 'status', '')}" for x in [*eps, *mems]},
            {x.id: f"{x.text}|{getattr(x, 'status', '')}" for x in [*veps, *vmems]})


@pytest.mark.parametrize("writer", ["store", "raw"])
def test_a_reader_that_caught_up_sees_each_later_commit_at_its_next_read(
    pair: tuple[Store, Store], db: Path, writer: str,
) -> None:
    """b reads (and so caught up) between every two commits of a, another store
    object or a plain connection (an older Engram's raw SQL): each commit is in
    b's next read, by every path, although b itself never wrote."""
    a, b = pair
    m1 = memory("m1", U, "zebra one")
    add_memory(a, m1, unit(1))
    add_episode(a, episode("e1", U, "zebra said", at(1)), unit(4))
    before = _reads(b)
    assert before[0] == {"m1", "e1"} and before[2]["m1"] == "zebra one|active"
    assert _reads(b) == before  # nothing committed: the same
    add_memory(a, memory("m2", U, "zebra two"), unit(2))  # insert
    assert _reads(b)[0] == {"m1", "m2", "e1"}
    if writer == "store":  # update of text and status
        change_memory(a, m1, at(2), Operation.SUPERSEDE, text="okapi one")
    else:
        with sqlite3.connect(db) as con:
            con.execute("UPDATE memories SET text = 'okapi one', status = 'superseded'"
                        " WHERE id = 'm1'")
    got = _reads(b)
    assert got[0] == {"m2", "e1"} and got[1] == {"m2", "e1"}
    assert got[2]["m1"] == got[3]["m1"] == "okapi one|superseded"
    if writer == "store":  # delete
        a.delete_episodes("t", ["e1"])
    else:
        with sqlite3.connect(db) as con:
            con.execute("PRAGMA foreign_keys=ON")
            con.execute("DELETE FROM episodes WHERE id = 'e1'")
    got = _reads(b)
    assert got[0] == {"m2"} and "e1" not in got[2] and "e1" not in got[3]
    a.forget(U)  # forget
    assert _reads(b) == (set(), set(), {}, {})


def test_own_writes_and_a_reopened_store_are_seen(pair: tuple[Store, Store], db: Path) -> None:
    a, _ = pair
    m1 = memory("m1", U, "zebra one")
    add_memory(a, m1, unit(1))
    assert _reads(a)[0] == {"m1"}
    add_memory(a, memory("m2", U, "zebra two"), unit(2))  # a's own commits
    change_memory(a, m1, at(2), text="okapi one")
    got = _reads(a)
    assert got[0] == {"m1", "m2"} and got[1] == {"m2"} and got[3]["m1"] == "okapi one|active"
    a.delete_episodes("t", [], ["m2"])
    assert _reads(a)[0] == {"m1"}
    a.close()
    c = open_store(f"sqlite:///{db}")
    try:
        assert _reads(c)[0] == {"m1"}
        with sqlite3.connect(db) as con:
            con.execute("UPDATE memories SET text = 'zebra again' WHERE id = 'm1'")
        got = _reads(c)
        assert got[2]["m1"] == got[3]["m1"] == "zebra again|active"
    finally:
        c.close()


def test_a_read_inside_a_transaction_that_rolls_back_is_not_kept(pair: tuple[Store, Store]) -> None:
    """Inside a transaction the log is read every time, uncommitted rows included,
    and no marker is kept: after the rollback the next read brings the partition
    back to what was committed (here: the deleted row returns)."""
    a, _ = pair
    add_memory(a, memory("m1", U, "zebra one"), unit(1))
    add_memory(a, memory("m2", U, "zebra two"), unit(2))
    assert found(a) == {"m1", "m2"}
    with pytest.raises(RuntimeError), a._tx() as conn:  # type: ignore[attr-defined]
        conn.execute("DELETE FROM memories WHERE id = 'm1'")
        assert found(a) == {"m2"}  # its own uncommitted delete, read inside
        raise RuntimeError("roll back")
    assert found(a) == {"m1", "m2"}
    assert words(a, "zebra") == {"m1", "m2"}


def test_the_log_is_read_again_only_after_a_commit(
    pair: tuple[Store, Store], db: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reader that caught up reads the log again only once something was
    committed since (by anyone): each read path otherwise costs one pragma."""
    import engram.store.sqlite_search as search_module

    a, b = pair
    add_memory(a, memory("m1", U, "zebra one"), unit(1))
    _reads(b)
    calls: list[int | None] = []
    real = search_module.read_changes

    def counted(conn: sqlite3.Connection, after: int | None) -> Any:
        calls.append(after)
        return real(conn, after)

    monkeypatch.setattr(search_module, "read_changes", counted)
    _reads(b)
    _reads(b)
    assert calls == []
    add_memory(a, memory("m2", U, "zebra two"), unit(2))
    assert _reads(b)[0] == {"m1", "m2"}
    assert len(calls) == 1
    a.touch("t", ["m2"], at(5))  # a column only decoded rows hold
    assert _reads(b)[2]["m2"] == "zebra two|active" and len(calls) == 2
    with sqlite3.connect(db) as con:
        con.execute("SELECT count(*) FROM memories").fetchone()  # a read commits nothing
    _reads(b)
    assert len(calls) == 2


def _pragmas(store: Store) -> list[str]:
    """Where ``store``'s connection records the ``PRAGMA data_version`` it runs."""
    seen: list[str] = []
    store._conn.set_trace_callback(  # type: ignore[attr-defined]
        lambda sql: seen.append(sql) if sql == "PRAGMA data_version" else None)
    return seen


def test_a_reading_block_looks_for_commits_elsewhere_once(
    pair: tuple[Store, Store], db: Path,
) -> None:
    """Inside ``reading()`` (one search) the reader asks SQLite whether anything was
    committed elsewhere once, not at every read; what was committed before the
    block and the reader's own writes in it are seen, and a commit made elsewhere
    while it ran is seen by the first read after it."""
    a, b = pair
    add_memory(a, memory("m1", U, "zebra one"), unit(1))
    _reads(b)
    pragmas = _pragmas(b)
    _reads(b)
    outside = len(pragmas)
    assert outside >= 4  # one per read path
    add_memory(a, memory("m2", U, "zebra two"), unit(2))  # committed before the block
    del pragmas[:]
    with b.reading():
        assert _reads(b)[0] == {"m1", "m2"}
        with b.reading():  # nested: the outer block holds
            _reads(b)
        add_memory(b, memory("m3", U, "zebra three"), unit(3))  # its own write
        got = _reads(b)
        assert got[0] == {"m1", "m2", "m3"} and got[3]["m3"] == "zebra three|active"
        with sqlite3.connect(db) as con:  # a commit elsewhere while the block runs
            con.execute("UPDATE memories SET text = 'okapi one' WHERE id = 'm1'")
    assert len(pragmas) == 1
    got = _reads(b)
    assert got[2]["m1"] == got[3]["m1"] == "okapi one|active"
    assert len(pragmas) > 1


def test_a_reading_block_holds_in_its_own_thread_only(pair: tuple[Store, Store]) -> None:
    """Another thread reading the same store object while a block is open asks
    SQLite afresh: a commit made elsewhere is in its next read."""
    import threading

    a, b = pair
    add_memory(a, memory("m1", U, "zebra one"), unit(1))
    got: list[set[str]] = []
    with b.reading():
        assert found(b) == {"m1"}
        add_memory(a, memory("m2", U, "zebra two"), unit(2))
        reader = threading.Thread(target=lambda: got.append(found(b)))
        reader.start()
        reader.join()
    assert got == [{"m1", "m2"}]
    assert found(b) == {"m1", "m2"}


def test_a_search_looks_for_commits_elsewhere_once(db: Path, embedder: Any) -> None:
    """``Engram.search`` is one reading block: a commit made elsewhere before it is
    found, and its reads ask SQLite about commits elsewhere once."""
    from engram.engine import Engram

    with Engram(db, embedder=embedder) as writer, Engram(db, embedder=embedder) as reader:
        writer.add("I adopted a corgi named Biscuit", user_id="u")
        assert reader.search("corgi", user_id="u", track_access=False)
        writer.add("The corgi learned to sit on command", user_id="u")
        pragmas = _pragmas(reader.store)
        hits = reader.search("corgi sit", user_id="u", track_access=False)
        assert any("sit on command" in h.item.text for h in hits)
        assert len(pragmas) == 1
