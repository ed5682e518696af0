"""``Store.get_item_views``: the items a search ranks, decoded only as far as ranking reads (#21).

Contract, every backend: the same items as ``get_items`` in the same order
(repeats, unknown and out-of-scope ids as there), every field reading the same.
SQLite hands out views (:mod:`engram.store.views`): a field beyond the ranked
ones loads the whole row on first read, a view of a row deleted since reads the
field's default, and a search returns whole items, never views. Views of rows a
search found come from the partition's cards (:mod:`engram.index.cards`), with
no table read, also after a restart from the index file; a card follows every
change of its row (an update the index does not follow drops it), and a deleted
row's card leaves memory, the partition's state and the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from contract_helpers import (
    MODEL,
    add_episode,
    add_memory,
    at,
    change_memory,
    episode,
    memory,
    unit,
)

from engram import Engram
from engram.index.files import pack, unpack, write_atomically
from engram.models import Episode, ItemRef, Memory, Scope, SearchFilters
from engram.store import open_store
from engram.store.base import Store
from engram.store.sqlite import SQLiteStore
from engram.store.sqlite_index_files import IndexFiles
from engram.store.sqlite_search import SQLiteSearch
from engram.store.sqlite_views import CARD_LAYOUT
from engram.store.views import EPISODE_FIELDS, MEMORY_FIELDS, is_view

U = Scope(user_id="u", tenant="t")
OTHER = Scope(user_id="v", tenant="t")


def _fill(store: Store) -> None:
    add_episode(store, episode("e1", U.with_session("s1"), "we adopted a corgi", at(1),
                               source="chat", n=1), unit(1))
    add_episode(store, episode("e2", U, "my sister moved to Lisbon", at(2)), unit(2))
    add_episode(store, episode("x1", OTHER, "not yours", at(3)), unit(3))
    add_memory(store, memory("m1", U, "User has a corgi named Biscuit", when=at(4),
                             entities=["Biscuit"], keywords=["corgi"], importance=0.9,
                             valid_from=at(1), source_episode_ids=["e1"], attribute="pet",
                             metadata={"k": [1, 2]}), unit(4))
    add_memory(store, memory("m2", U, "Sister lives in Lisbon", when=at(5)), unit(5))


EP_IDS = ["e2", "e1", "nope", "x1", "e2"]
MEM_IDS = ["m2", "m1", "gone", "m1"]


def test_views_read_as_get_items(store: Store) -> None:
    _fill(store)
    want_e, want_m = store.get_items(U, EP_IDS, MEM_IDS)
    for _ in range(2):  # rows read, then (where a backend holds them) held rows
        got_e, got_m = store.get_item_views(U, EP_IDS, MEM_IDS)
        assert [e.id for e in got_e] == ["e2", "e1", "e2"]
        assert [m.id for m in got_m] == ["m2", "m1", "m1"]
        assert all(isinstance(e, Episode) for e in got_e)
        assert all(isinstance(m, Memory) for m in got_m)
        # every field, the ranked ones first (read before anything loads the row)
        for got, want in zip([*got_e, *got_m], [*want_e, *want_m], strict=True):
            held = EPISODE_FIELDS if isinstance(want, Episode) else MEMORY_FIELDS
            assert [getattr(got, f) for f in held] == [getattr(want, f) for f in held]
            assert got.to_dict() == want.to_dict()
        store.get_items(U, EP_IDS, MEM_IDS)
    assert store.get_item_views(U.with_session("s1"), EP_IDS, [])[0][0].id == "e1"
    assert store.get_item_views(U, [], []) == ([], [])


def _sqlite(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'v.db'}")


def test_sqlite_views_load_the_rest_on_first_read(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    _fill(store)
    (e2, e1), (m1,) = store.get_item_views(U, ["e2", "e1"], ["m1"])
    assert is_view(e1) and is_view(m1)
    assert "metadata" not in vars(e1) and "keywords" not in vars(m1)
    assert m1.text == "User has a corgi named Biscuit" and m1.valid_from == at(1)
    assert "importance" not in vars(m1)  # the ranked fields load nothing
    assert m1.metadata == {"k": [1, 2]} and m1.importance == 0.9  # loaded once, whole
    assert vars(m1)["keywords"] == ["corgi"] and m1.attribute == "pet"
    assert e1.metadata == {"source": "chat", "n": 1}
    assert e2.metadata == {}
    # a view of a row deleted before its first load reads the defaults
    (e2b,), _ = store.get_item_views(U, ["e2"], [])
    store.delete_episodes("t", ["e2"])
    assert e2b.metadata == {} and e2b.text == "my sister moved to Lisbon"
    store.close()


def test_a_search_returns_whole_items(tmp_path: Path) -> None:
    eg = Engram(str(tmp_path / "s.db"))
    eg.add("we adopted a corgi puppy named Biscuit", user_id="u", metadata={"src": "chat"})
    eg.add("my sister moved to Lisbon last spring", user_id="u")
    hits = eg.search("corgi puppy", user_id="u", limit=5)
    assert hits and not any(is_view(h.item) for h in hits)
    episodes, memories = eg.store.get_items(
        Scope(user_id="u"), [h.ref.id for h in hits if h.ref.type == "episode"],
        [h.ref.id for h in hits if h.ref.type == "memory"])
    want = {i.id: i for i in [*episodes, *memories]}
    assert [h.item for h in hits] == [want[h.ref.id] for h in hits]
    eg.close()


@pytest.mark.parametrize("field", ["metadata", "keywords", "importance", "version"])
def test_deferred_fields_are_not_held_from_the_start(tmp_path: Path, field: str) -> None:
    store = _sqlite(tmp_path)
    _fill(store)
    _, (m1,) = store.get_item_views(U, [], ["m1"])
    assert field not in vars(m1)
    assert getattr(m1, field) == getattr(store.get_items(U, [], ["m1"])[1][0], field)
    store.close()


def _no_table_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("a view was read from the table")

    monkeypatch.setattr(SQLiteStore, "_get_many", refuse)


def _no_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("the partition was rebuilt from the tables, not loaded")

    monkeypatch.setattr(SQLiteSearch, "_load_tables", refuse)


def _found(store: Store) -> None:
    """A search of both lists (the partition then knows the rows' places)."""
    store.vector_search(U, unit(1), MODEL, SearchFilters(), 50)


def test_sqlite_views_of_found_rows_come_from_cards_also_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IndexFiles, "min_rows", 3)
    store = _sqlite(tmp_path)
    _fill(store)
    want = [i.to_dict() for i in [*store.get_items(U, ["e2", "e1"], ["m1", "m2"])[0],
                                  *store.get_items(U, [], ["m1", "m2"])[1]]]
    for again in (False, True):
        if again:
            store.close()
            store = _sqlite(tmp_path)
            with monkeypatch.context() as m:
                _no_rebuild(m)
                _found(store)
        _found(store)
        with monkeypatch.context() as m:
            _no_table_reads(m)
            store._rows.clear()  # type: ignore[attr-defined]
            episodes, memories = store.get_item_views(U, ["e2", "e1"], ["m1", "m2"])
            got = [(i.id, i.text, i.scope, getattr(i, "speaker", None)) for i in
                   [*episodes, *memories]]
        assert [i.to_dict() for i in [*episodes, *memories]] == want
        assert got[1] == ("e1", "we adopted a corgi", U.with_session("s1"), None)
    store.close()


def test_a_card_follows_its_row(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    _fill(store)
    m1 = store.get_items(U, [], ["m1"])[1][0]
    _found(store)
    change_memory(store, m1, at(9), text="User has two corgis", valid_from=at(8))
    _found(store)
    (view,) = store.get_item_views(U, [], ["m1"])[1]
    assert (view.text, view.valid_from) == ("User has two corgis", at(8))
    # an update of a column the index does not follow: the card is dropped, the
    # view read from the table
    with store._conn:  # type: ignore[attr-defined]
        store._conn.execute(  # type: ignore[attr-defined]
            "UPDATE episodes SET speaker = 'Ana', role = 'assistant' WHERE id = 'e1'")
        store._conn.execute(  # type: ignore[attr-defined]
            "UPDATE memories SET source_episode_ids = '[\"e2\"]' WHERE id = 'm1'")
    _found(store)
    (e1,), (m1v,) = store.get_item_views(U, ["e1"], ["m1"])
    assert (e1.speaker, e1.role, m1v.source_episode_ids) == ("Ana", "assistant", ["e2"])
    store.close()


def test_a_deleted_rows_card_leaves_memory_state_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IndexFiles, "min_rows", 3)
    store = _sqlite(tmp_path)
    _fill(store)
    add_episode(store, episode("e3", U, "zanzibarquokka visited", at(6)), unit(6))
    store.close()
    store = _sqlite(tmp_path)
    _found(store)
    part = next(iter(store._partitions.values()))  # type: ignore[attr-defined]
    assert b"zanzibarquokka" in part.state()["card_bytes"].tobytes()
    store.delete_episodes("t", ["e3"])
    _found(store)
    assert store.get_item_views(U, ["e3"], []) == ([], [])
    part = next(iter(store._partitions.values()))  # type: ignore[attr-defined]
    assert b"zanzibarquokka" not in part.state()["card_bytes"].tobytes()
    assert part._cards._base is None or (  # nor in the loaded buffer
        b"zanzibarquokka" not in part._cards._base[0].tobytes())
    store.close()
    for path in Path(f"{tmp_path / 'v.db'}.index").glob("*.idx"):
        assert b"zanzibarquokka" not in path.read_bytes()


def test_a_file_saved_without_cards_gets_them_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IndexFiles, "min_rows", 3)
    store = _sqlite(tmp_path)
    _fill(store)
    _found(store)
    store.warm(U, MODEL)
    store.close()
    (path,) = Path(f"{tmp_path / 'v.db'}.index").glob("*.idx")
    header, arrays = unpack(path)  # the file as saved before cards were kept
    write_atomically(path, pack(header, {k: np.array(v) for k, v in arrays.items()
                                         if not k.startswith("card_")}))
    store = _sqlite(tmp_path)
    with monkeypatch.context() as m:
        _no_rebuild(m)
        _found(store)
    part = next(iter(store._partitions.values()))  # type: ignore[attr-defined]
    assert part.card_layout == CARD_LAYOUT and part.card(ItemRef("episode", "e1"))
    with monkeypatch.context() as m:
        _no_table_reads(m)
        (e1,), _ = store.get_item_views(U, ["e1"], [])
    assert e1.text == "we adopted a corgi"
    store.close()


def test_a_neighbour_turn_no_search_returned_is_viewed_from_its_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window's neighbour turn (found by the session order, never returned by a
    search) gets its view from its card in a partition loaded from its file, not
    from the table; its own look-ups (kept terms) find its row too."""
    monkeypatch.setattr(IndexFiles, "min_rows", 3)
    store = _sqlite(tmp_path)
    _fill(store)
    add_episode(store, episode("e3", U.with_session("s1"), "the puppy sleeps all day", at(6)),
                unit(6))
    want = store.get_items(U, ["e1"], [])[0][0].to_dict()
    store.warm(U, MODEL)
    store.close()
    store = _sqlite(tmp_path)
    with monkeypatch.context() as m:
        _no_rebuild(m)
        assert [c.ref.id for c in store.vector_search(U, unit(6), MODEL, SearchFilters(), 1)
                ] == ["e3"]
    part = next(iter(store._partitions.values()))  # type: ignore[attr-defined]
    assert part._lazy is not None and ItemRef("episode", "e1") not in part.result_rows
    store._rows.clear()  # type: ignore[attr-defined]
    with monkeypatch.context() as m, pytest.raises(AssertionError, match="from the table"):
        _no_table_reads(m)
        store.get_item_views(U, ["e1"], [])  # no key known yet: read from the table
    near = store.episode_neighbours(U, ["e3"], 1)  # the session order is loaded now
    assert [n.id for n in near["e3"]] == ["e1"]
    with monkeypatch.context() as m:
        _no_table_reads(m)
        (e1,), _ = store.get_item_views(U, ["e1"], [])
    assert is_view(e1) and e1.to_dict() == want
    assert store.kept_terms(U, MODEL, ItemRef("episode", "e1"), e1.text) == {"adopt", "corgi"}
    store.delete_episodes("t", ["e1"])  # gone: no view, from a card or otherwise
    assert store.get_item_views(U, ["e1"], []) == ([], [])
    store.close()
