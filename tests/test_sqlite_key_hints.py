"""SQLite reads the items a search just returned by rid (#21): the same items as
reading them by id, whatever the hints say. A hint naming a row of another
tenant, another id, another user or no row at all reads nothing of it; the id is
then read by its key. A delete empties the hints."""

from __future__ import annotations

from pathlib import Path

from contract_helpers import MODEL, add_episode, add_memory, episode, memory, unit

from engram.models import ItemRef, Scope, SearchFilters
from engram.store.sqlite import SQLiteStore


def _rid(store: SQLiteStore, table: str, tenant: str, item_id: str) -> int:
    rows = store._q(f"SELECT rid FROM {table} WHERE tenant = ? AND id = ?", (tenant, item_id))
    return int(rows[0][0])


def test_items_read_by_hint_are_the_items_read_by_id(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.db", synchronous="OFF")
    store.migrate()
    a, b = Scope(user_id="u", tenant="a"), Scope(user_id="u", tenant="b")
    other_user = Scope(user_id="v", tenant="a")
    for n, scope in enumerate((a, b)):  # the same ids in two tenants
        add_memory(store, memory("m1", scope, f"tenant {scope.tenant} likes tea"), unit(n))
        add_memory(store, memory("m2", scope, f"tenant {scope.tenant} likes coffee"),
                   unit(n + 10))
        add_episode(store, episode("e1", scope, f"tenant {scope.tenant} said hello"),
                    unit(n + 20))
    add_memory(store, memory("m3", other_user, "someone else likes cocoa"), unit(30))

    def by_id(scope: Scope, mem: list[str], eps: list[str]) -> tuple[list[object], ...]:
        saved, store._key_hints = store._key_hints, {}
        try:
            return store.get_memories(scope, mem), store.get_episodes(scope, eps)
        finally:
            store._key_hints = saved

    asked = (["m1", "m2", "m3", "nope"], ["e1", "nope"])
    # a real search leaves its hints: the reads by rid equal the reads by id
    hits = store.vector_search(a, unit(0), MODEL, SearchFilters(), 10)
    assert ItemRef("memory", "m1") in {c.ref for c in hits}
    assert store._key_hints
    for scope in (a, b, other_user):
        assert (store.get_memories(scope, asked[0]),
                store.get_episodes(scope, asked[1])) == by_id(scope, *asked)

    # hints naming the wrong rows: another tenant's m1, another id, a memory for an
    # episode, another user's memory, a row that does not exist, no key
    store._key_hints = {
        ItemRef("memory", "m1"): _rid(store, "memories", "b", "m1") * 2 + 1,
        ItemRef("memory", "m2"): _rid(store, "memories", "a", "m1") * 2 + 1,
        ItemRef("episode", "e1"): _rid(store, "memories", "a", "m2") * 2 + 1,
        ItemRef("memory", "m3"): 10_000 * 2 + 1,
        ItemRef("memory", "nope"): -1,
    }
    for scope in (a, b, other_user):
        got = store.get_memories(scope, asked[0]), store.get_episodes(scope, asked[1])
        assert got == by_id(scope, *asked)
    got_a = store.get_memories(a, ["m1", "m2"])
    assert [(m.scope.tenant, m.id, m.text) for m in got_a] == [
        ("a", "m1", "tenant a likes tea"), ("a", "m2", "tenant a likes coffee")]
    assert store.get_memories(a, ["m3"]) == []  # another user's, hinted or not

    store.vector_search(a, unit(0), MODEL, SearchFilters(), 10)
    assert store._key_hints
    store.forget(a)  # a delete empties the hints (ids of what was forgotten)
    assert store._key_hints == {}
    assert store.get_memories(a, ["m1", "m2"]) == []
    assert [m.text for m in store.get_memories(b, ["m1"])] == ["tenant b likes tea"]
    store.close()


def test_neighbours_of_an_agent_scope_read_by_hint(tmp_path: Path) -> None:
    """An agent-only scope's neighbours come from SQL through the same hinted
    read (whose columns name no tenant): after a search they equal the reads
    without hints (a KeyError once made this a 500 on ``POST /v1/search``)."""
    store = SQLiteStore(tmp_path / "n.db", synchronous="OFF")
    store.migrate()
    scope = Scope(agent_id="bot", tenant="a")
    for n in range(4):
        add_episode(store, episode(f"e{n}", scope, f"turn {n}"), unit(n))
    hits = store.vector_search(scope, unit(1), MODEL, SearchFilters(), 10)
    assert hits and store._key_hints
    ids = [h.ref.id for h in hits]
    got = store.episode_neighbours(scope, ids, 1)
    saved, store._key_hints = store._key_hints, {}
    try:
        assert got == store.episode_neighbours(scope, ids, 1)
    finally:
        store._key_hints = saved
    assert got
