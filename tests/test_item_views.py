"""``Store.get_item_views``: the items a search ranks, decoded only as far as ranking reads (#21).

Contract, every backend: the same items as ``get_items`` in the same order
(repeats, unknown and out-of-scope ids as there), every field reading the same.
SQLite hands out views (:mod:`engram.store.views`): a field beyond the ranked
ones loads the whole row on first read, a view of a row deleted since reads the
field's default, and a search returns whole items, never views.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_helpers import add_episode, add_memory, at, episode, memory, unit

from engram import Engram
from engram.models import Episode, Memory, Scope
from engram.store import open_store
from engram.store.base import Store
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
    assert "metadata" not in vars(e1) and "entities" not in vars(m1)
    assert m1.text == "User has a corgi named Biscuit" and m1.valid_from == at(1)
    assert "importance" not in vars(m1)  # the ranked fields load nothing
    assert m1.metadata == {"k": [1, 2]} and m1.importance == 0.9  # loaded once, whole
    assert vars(m1)["entities"] == ["Biscuit"] and m1.attribute == "pet"
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


@pytest.mark.parametrize("field", ["metadata", "entities", "keywords", "importance"])
def test_deferred_fields_are_not_held_from_the_start(tmp_path: Path, field: str) -> None:
    store = _sqlite(tmp_path)
    _fill(store)
    _, (m1,) = store.get_item_views(U, [], ["m1"])
    assert field not in vars(m1)
    assert getattr(m1, field) == getattr(store.get_items(U, [], ["m1"])[1][0], field)
    store.close()
