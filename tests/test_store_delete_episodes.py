"""The store contract of :meth:`Store.delete_episodes` and :meth:`Store.memories_citing`,
run against every backend (the ``store`` fixture of ``tests/stores.py``)."""

from __future__ import annotations

from contract_helpers import MODEL, add_episode, add_memory, at, change_memory, episode, ids, unit
from contract_helpers import memory as make_memory

from engram.models import ItemRef, Scope, SearchFilters
from engram.store.base import Fence, Job, Store, WriteBatch

ALL = SearchFilters(include_inactive=True)
HOME = Scope(user_id="u1", agent_id="a1", session_id="s1", tenant="t1")
USER = Scope(user_id="u1", tenant="t1")
OTHER_TENANT = Scope(user_id="u1", agent_id="a1", session_id="s1", tenant="t2")


def _fill(store: Store) -> None:
    add_episode(store, episode("e1", HOME, "okapi sighting near the river", at(1)), unit(1))
    add_episode(store, episode("e2", HOME, "walrus on the beach", at(2)), unit(2))
    add_memory(store, make_memory("m1", HOME, "u1 saw an okapi", when=at(3),
                                  source_episode_ids=["e1"]), unit(3))
    add_memory(store, make_memory("m2", HOME, "u1 likes animals", when=at(4),
                                  source_episode_ids=["e1", "e2"]), unit(4))
    # the same ids in another tenant are another tenant's items
    add_episode(store, episode("e1", OTHER_TENANT, "okapi elsewhere", at(1)), unit(1))


def test_delete_episodes_removes_rows_vectors_and_lexical_entries(store: Store) -> None:
    _fill(store)
    m1 = store.get_memories(HOME, ["m1"])[0]
    change_memory(store, m1, at(5), text="u1 saw an okapi twice", vec=unit(5))
    counts = store.delete_episodes("t1", ["e1"], ["m1"])
    assert counts["episodes"] == 1 and counts["memories"] == 1
    assert counts["memory_versions"] == 2 and counts["vectors"] == 2 and counts["fts"] == 2
    assert store.get_episodes(HOME, ["e1"]) == [] and store.get_memories(HOME, ["m1"]) == []
    assert store.history(HOME, "m1") == []
    assert store.lexical_texts("t1", [ItemRef("episode", "e1"), ItemRef("memory", "m1")]) == {}
    assert ids(store.lexical_search(USER, "okapi", ALL, 10)) == []
    assert "e1" not in ids(store.vector_search(USER, unit(1), MODEL, ALL, 10))
    assert {v.ref.id for v in store.iter_vectors("t1")} == {"e2", "m2"}
    assert store.remaining(USER)["orphan_vectors"] == 0
    # the rest of the tenant, and the other tenant's e1, stay
    assert ids(store.lexical_search(USER, "walrus", ALL, 10)) == ["e2"]
    assert [e.id for e in store.get_episodes(OTHER_TENANT, ["e1"])] == ["e1"]
    assert [m.id for m in store.get_memories(HOME, ["m2"])] == ["m2"]


def test_delete_episodes_ignores_unknown_ids_and_repeats(store: Store) -> None:
    _fill(store)
    assert store.delete_episodes("t1", ["e1"])["episodes"] == 1
    again = store.delete_episodes("t1", ["e1", "nope"], ["nope"])
    assert again["episodes"] == 0 and again["memories"] == 0 and again["vectors"] == 0
    assert store.delete_episodes("t1", [])["episodes"] == 0
    assert store.stats(USER).episodes == 1


def test_delete_episodes_keeps_jobs(store: Store) -> None:
    _fill(store)
    store.write(WriteBatch(jobs=[Job("j1", "extract", HOME, {"episode_ids": ["e1", "e2"]})]))
    store.delete_episodes("t1", ["e1"])
    assert store.get_job("t1", "j1") is not None


def test_a_fence_claiming_a_deleted_episode_writes_no_derived_rows(store: Store) -> None:
    _fill(store)
    store.delete_episodes("t1", ["e2"])
    late = WriteBatch(new_memories=[make_memory("m9", HOME, "u1 saw a walrus",
                                                source_episode_ids=["e2"])],
                      fence=Fence("t1", ("e2",)))
    assert store.write(late).fenced
    assert store.get_memories(HOME, ["m9"]) == []


def test_memories_citing_finds_every_status_in_scope(store: Store) -> None:
    _fill(store)
    m2 = store.get_memories(HOME, ["m2"])[0]
    change_memory(store, m2, at(6), text="u1 likes animals a lot")
    assert sorted(m.id for m in store.memories_citing(USER, ["e1"])) == ["m1", "m2"]
    assert [m.id for m in store.memories_citing(USER, ["e2"])] == ["m2"]
    assert store.memories_citing(USER, ["zzz"]) == []
    assert store.memories_citing(Scope(user_id="u2", tenant="t1"), ["e1"]) == []
    assert store.memories_citing(OTHER_TENANT, ["e1"]) == []
