"""The store contract (src/engram/store/base.py), run against every backend.

Each rule of the contract docstrings has at least one test here. Tests talk to
the :class:`~engram.store.base.Store` API directly; vectors are fixed unit
vectors where the test is about the store only, real embeddings otherwise.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
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
    near,
    unit,
    vrec,
)

from engram.errors import Conflict, StoreError
from engram.models import (
    MemoryKind,
    MemoryStatus,
    MemoryVersion,
    Operation,
    Scope,
    SearchFilters,
)
from engram.store.base import Job, Store, WriteBatch
from engram.text import content_hash
from engram.timeutil import now

ALL = SearchFilters(include_inactive=True)
HOME = Scope(user_id="u1", agent_id="a1", session_id="s1", tenant="t1")
#: scopes that must never see HOME's items, even with the exact id
OTHERS = {
    "other tenant": Scope(user_id="u1", agent_id="a1", session_id="s1", tenant="t2"),
    "other user": Scope(user_id="u2", tenant="t1"),
    "other agent": Scope(user_id="u1", agent_id="a2", tenant="t1"),
    "other session": Scope(user_id="u1", session_id="s2", tenant="t1"),
    "agent only, other agent": Scope(agent_id="a2", tenant="t1"),
}
#: scopes that see HOME's items
VIEWERS = [
    HOME,
    Scope(user_id="u1", tenant="t1"),
    Scope(agent_id="a1", tenant="t1"),
    Scope(user_id="u1", agent_id="a1", tenant="t1"),
]


def _populate_home(store: Store) -> None:
    add_episode(store, episode("e1", HOME, "zebra crossing in Lisbon", at(1)), unit(1))
    add_memory(store, memory("m1", HOME, "zebra lives in Lisbon", when=at(2)), unit(2))


# -- scope -------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(OTHERS))
def test_other_scopes_never_see_items_even_by_exact_id(store: Store, name: str) -> None:
    _populate_home(store)
    sc = OTHERS[name]
    assert store.get_episodes(sc, ["e1"]) == []
    assert store.get_memories(sc, ["m1"]) == []
    assert store.memory_as_of(sc, "m1", at(10)) is None
    assert store.history(sc, "m1") == []
    assert store.list_episodes(sc, ALL, 10).items == []
    assert store.list_memories(sc, ALL, 10).items == []
    assert store.lexical_search(sc, "zebra Lisbon", ALL, 10) == []
    for seed in (1, 2):
        assert store.vector_search(sc, unit(seed), MODEL, ALL, 10) == []
    assert list(store.iter_records(sc)) == []
    st = store.stats(sc)
    assert (st.episodes, st.memories, st.versions, st.vectors) == (0, 0, 0, 0)
    assert all(v == 0 for v in store.remaining(sc).values())


@pytest.mark.parametrize("sc", VIEWERS, ids=lambda s: f"{s.user_id}-{s.agent_id}-{s.session_id}")
def test_matching_scopes_see_items(store: Store, sc: Scope) -> None:
    _populate_home(store)
    assert [e.id for e in store.get_episodes(sc, ["e1"])] == ["e1"]
    assert [m.id for m in store.get_memories(sc, ["m1"])] == ["m1"]
    assert set(ids(store.lexical_search(sc, "zebra", ALL, 10))) == {"e1", "m1"}
    assert ids(store.vector_search(sc, unit(1), MODEL, ALL, 1)) == ["e1"]
    assert len(store.history(sc, "m1")) == 1


def test_existing_episode_ids_is_tenant_wide(store: Store) -> None:
    _populate_home(store)
    assert store.existing_episode_ids("t1", ["e1", "nope"]) == {"e1"}
    assert store.existing_episode_ids("t2", ["e1"]) == set()


def test_reads_keep_the_order_of_ids_and_omit_unknown(store: Store) -> None:
    for i in range(3):
        add_episode(store, episode(f"e{i}", HOME, f"text {i}", at(i)))
    got = store.get_episodes(HOME, ["e2", "missing", "e0", "e1"])
    assert [e.id for e in got] == ["e2", "e0", "e1"]


# -- atomic writes -------------------------------------------------------------
def test_batch_with_a_conflict_in_the_middle_leaves_nothing(store: Store) -> None:
    m = memory("m1", HOME, "the sky is blue")
    add_memory(store, m, unit(1))
    store.vector_search(HOME, unit(1), MODEL, ALL, 5)  # load the in-memory index
    before = list(store.iter_records(HOME)), store.stats(HOME)
    stale = memory("m1", HOME, "the sky is green", version=5)
    e = episode("e-new", HOME, "penguins everywhere", at(3))
    batch = WriteBatch(
        episodes=[e],
        new_memories=[memory("m-new", HOME, "penguins are birds")],
        changed_memories=[(stale, 3)],  # stored version is 1: conflict
        vectors=[vrec(e, unit(7))],
        jobs=[Job("job-x", "extract", HOME, {})],
    )
    with pytest.raises(Conflict):
        store.write(batch)
    assert (list(store.iter_records(HOME)), store.stats(HOME)) == before
    assert store.get_episodes(HOME, ["e-new"]) == []
    assert store.lexical_search(HOME, "penguins", ALL, 10) == []
    assert ids(store.vector_search(HOME, unit(7), MODEL, ALL, 5)) == ["m1"]
    assert store.job_counts(HOME) == {}


def test_vector_for_an_unknown_item_fails_the_whole_batch(store: Store) -> None:
    e = episode("e1", HOME, "hello there")
    ghost = episode("ghost", HOME, "never written")
    with pytest.raises(StoreError):
        store.write(WriteBatch(episodes=[e], vectors=[vrec(e, unit(1)), vrec(ghost, unit(2))]))
    assert store.get_episodes(HOME, ["e1"]) == []
    assert store.stats(None).episodes == 0


def test_empty_batch_is_a_no_op(store: Store) -> None:
    out = store.write(WriteBatch())
    assert out.created_episode_ids == [] and out.created_memory_ids == []


# -- idempotency -----------------------------------------------------------------
def test_episode_ids_are_idempotent(store: Store) -> None:
    first = episode("e1", HOME, "original text", at(1))
    out = add_episode(store, first, unit(1))
    assert out.created_episode_ids == ["e1"]
    again = episode("e1", HOME, "different text", at(2))
    out = add_episode(store, again, unit(2))
    assert out.existing_episode_ids == ["e1"] and out.created_episode_ids == []
    (stored,) = store.get_episodes(HOME, ["e1"])
    assert stored.text == "original text" and stored.occurred_at == at(1)
    # the re-sent episode's vector was dropped: the original one is still there
    (hit,) = store.vector_search(HOME, unit(1), MODEL, ALL, 1)
    assert hit.ref.id == "e1" and hit.score == pytest.approx(1.0, abs=1e-5)
    assert store.lexical_search(HOME, "different", ALL, 5) == []


def test_new_memories_and_versions_are_idempotent(store: Store) -> None:
    m = memory("m1", HOME, "cats purr")
    add_memory(store, m)
    out = add_memory(store, memory("m1", HOME, "dogs bark"))
    assert out.existing_memory_ids == ["m1"]
    assert store.get_memories(HOME, ["m1"])[0].text == "cats purr"
    assert len(store.history(HOME, "m1")) == 1
    assert store.history(HOME, "m1")[0].after["text"] == "cats purr"  # type: ignore[index]


# -- versions and history ----------------------------------------------------------
def test_optimistic_version_conflict(store: Store) -> None:
    m = memory("m1", HOME, "version one")
    add_memory(store, m)
    m2 = change_memory(store, m, at(1), text="version two")
    assert store.get_memories(HOME, ["m1"])[0].version == 2
    with pytest.raises(Conflict):
        change_memory(store, m, at(2), text="lost update")  # still expects version 1
    cur = store.get_memories(HOME, ["m1"])[0]
    assert (cur.version, cur.text) == (2, "version two")
    change_memory(store, m2, at(3), text="version three")
    assert store.get_memories(HOME, ["m1"])[0].version == 3


def test_history_is_append_only(store: Store) -> None:
    m = memory("m1", HOME, "v1")
    add_memory(store, m)
    m2 = change_memory(store, m, at(1), text="v2")
    snapshot = store.history(HOME, "m1")
    change_memory(store, m2, at(2), op=Operation.DELETE)
    # a duplicate (memory_id, version) never overwrites an entry
    store.write(WriteBatch(versions=[("t1", MemoryVersion("m1", 2, Operation.UPDATE, None,
                                                          {"text": "forged"}, "x", at(9)))]))
    hist = store.history(HOME, "m1")
    assert [v.version for v in hist] == [1, 2, 3]
    assert [v.operation for v in hist] == [Operation.ADD, Operation.UPDATE, Operation.DELETE]
    assert hist[:2] == snapshot
    assert hist[1].before["text"] == "v1" and hist[1].after["text"] == "v2"  # type: ignore[index]


def test_as_of(store: Store) -> None:
    m = memory("m1", HOME, "lives in Berlin", when=at(1))
    add_memory(store, m, unit(1))
    change_memory(store, m, at(5), op=Operation.SUPERSEDE, vec=unit(1))
    assert store.memory_as_of(HOME, "m1", at(0)) is None
    then = store.memory_as_of(HOME, "m1", at(3))
    assert then is not None and then.status == MemoryStatus.ACTIVE and then.version == 1
    later = store.memory_as_of(HOME, "m1", at(6))
    assert later is not None and later.status == MemoryStatus.SUPERSEDED
    assert [x.id for x in store.list_memories(HOME, SearchFilters(as_of=at(3)), 10).items] == ["m1"]
    assert store.list_memories(HOME, SearchFilters(as_of=at(6)), 10).items == []
    assert store.list_memories(HOME, SearchFilters(as_of=at(0)), 10).items == []
    listed = store.list_memories(HOME, SearchFilters(as_of=at(3)), 10).items[0]
    assert listed.status == MemoryStatus.ACTIVE  # as it was then
    assert ids(store.vector_search(HOME, unit(1), MODEL, SearchFilters(as_of=at(3)), 5)) == ["m1"]
    assert store.vector_search(HOME, unit(1), MODEL, SearchFilters(as_of=at(6)), 5) == []
    assert ids(store.lexical_search(HOME, "Berlin", SearchFilters(as_of=at(3)), 5)) == ["m1"]
    assert store.lexical_search(HOME, "Berlin", SearchFilters(), 5) == []


def test_touch_counts_access_without_a_version(store: Store) -> None:
    add_memory(store, memory("m1", HOME, "x marks"))
    store.touch("t1", ["m1", "unknown"], at(3))
    store.touch("t1", ["m1"], at(4))
    m = store.get_memories(HOME, ["m1"])[0]
    assert m.access_count == 2 and m.last_accessed_at == at(4)
    assert len(store.history(HOME, "m1")) == 1


def test_active_memories_with_attribute(store: Store) -> None:
    a = memory("m1", HOME, "lives in Berlin", attribute="lives_in")
    add_memory(store, a)
    add_memory(store, memory("m2", HOME, "likes tea"))
    assert [m.id for m in store.active_memories_with_attribute(HOME, "lives_in")] == ["m1"]
    change_memory(store, a, at(1), op=Operation.SUPERSEDE)
    assert store.active_memories_with_attribute(HOME, "lives_in") == []


# -- filters inside search ------------------------------------------------------------
def _filter_corpus(store: Store) -> None:
    add_episode(store, episode("e-old", HOME, "apple pie recipe", at(1), topic="food"), unit(1))
    add_episode(store, episode("e-new", HOME, "apple orchard visit", at(10), topic="trip"),
                near(unit(1), 2))
    add_memory(store, memory("m-plan", HOME, "apple picking plan", MemoryKind.PLAN, at(5),
                             metadata={"topic": "trip"}), near(unit(1), 3))
    old = memory("m-old", HOME, "apple allergy", MemoryKind.FACT, at(2))
    add_memory(store, old, near(unit(1), 4))
    change_memory(store, old, at(4), op=Operation.DELETE)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(), {"e-old", "e-new", "m-plan"}),
        (SearchFilters(kinds=frozenset({"episode"})), {"e-old", "e-new"}),
        (SearchFilters(kinds=frozenset({"plan"})), {"m-plan"}),
        (SearchFilters(kinds=frozenset({"fact"})), set()),
        (SearchFilters(kinds=frozenset({"fact"}), include_inactive=True), {"m-old"}),
        (SearchFilters(start=at(3), end=at(10)), {"m-plan"}),
        (SearchFilters(start=at(10)), {"e-new"}),
        (SearchFilters(end=at(1)), set()),
        (SearchFilters(metadata=(("topic", "trip"),)), {"e-new", "m-plan"}),
        (SearchFilters(metadata=(("topic", "none"),)), set()),
        (SearchFilters(as_of=at(3)), {"e-old", "m-old"}),  # e-new recorded at day 10
        (SearchFilters(include_inactive=True), {"e-old", "e-new", "m-plan", "m-old"}),
    ],
)
def test_filters_apply_to_both_searches(
    store: Store, filters: SearchFilters, expected: set[str]
) -> None:
    _filter_corpus(store)
    assert set(ids(store.lexical_search(HOME, "apple", filters, 10))) == expected
    assert set(ids(store.vector_search(HOME, unit(1), MODEL, filters, 10))) == expected


def test_selective_filter_is_not_lost_by_top_k(store: Store) -> None:
    base = unit(100)
    batch = WriteBatch()
    for i in range(300):
        e = episode(f"e{i:03d}", HOME, f"banana smoothie number {i}", at(1, i))
        batch.episodes.append(e)
        batch.vectors.append(vrec(e, near(base, i, 0.01)))
    store.write(batch)
    rare = memory("m-rare", HOME, "banana plan", MemoryKind.PLAN, at(2),
                  metadata={"rare": True})
    add_memory(store, rare, unit(999))  # far from the query
    f = SearchFilters(kinds=frozenset({"plan"}))
    assert ids(store.vector_search(HOME, base, MODEL, f, 5)) == ["m-rare"]
    assert ids(store.lexical_search(HOME, "banana", f, 5)) == ["m-rare"]
    fm = SearchFilters(metadata=(("rare", True),))
    assert ids(store.vector_search(HOME, base, MODEL, fm, 5)) == ["m-rare"]
    assert ids(store.lexical_search(HOME, "banana", fm, 5)) == ["m-rare"]
    ft = SearchFilters(start=at(1, 290), end=at(1, 295))
    assert len(store.vector_search(HOME, base, MODEL, ft, 10)) == 5
    assert len(store.lexical_search(HOME, "banana", ft, 10)) == 5


# -- search behaviour ----------------------------------------------------------------------
NASTY = [
    '"', '""', '"unbalanced', "(", ")", "(foo", "foo)", "AND", "OR", "NOT", "a AND b",
    "x OR y", "NEAR(a b)", "NEAR", "*", "foo*", "^start", "^", ":", "col:value", "body:zebra",
    "tags:x", "-", "-minus", "a - b", "+", "{a b}", "[x]", "a'b", "it's", "'", "\\", "%_",
    "zebra\"); DROP TABLE episodes; --", "naïve café", "日本語", "🙂", "zebra ^ * : - \" ( )",
]


@pytest.mark.parametrize("query", NASTY)
def test_lexical_search_never_fails_on_fts_syntax(store: Store, query: str) -> None:
    add_episode(store, episode("e1", HOME, f"zebra {query} plain words"))
    hits = store.lexical_search(HOME, query, SearchFilters(), 5)
    assert isinstance(hits, list)
    assert store.lexical_search(HOME, f"zebra {query}", SearchFilters(), 5)[0].ref.id == "e1"


def test_scores_higher_is_better(store: Store) -> None:
    add_episode(store, episode("e1", HOME, "quantum chromodynamics quantum gluon"), unit(1))
    add_episode(store, episode("e2", HOME, "quantum of solace"), unit(2))
    add_episode(store, episode("e3", HOME, "chromodynamics"), unit(3))
    lex = store.lexical_search(HOME, "quantum chromodynamics gluon", SearchFilters(), 10)
    assert lex[0].ref.id == "e1"
    assert [c.score for c in lex] == sorted((c.score for c in lex), reverse=True)
    vec = store.vector_search(HOME, unit(2), MODEL, SearchFilters(), 10)
    assert vec[0].ref.id == "e2" and vec[0].score == pytest.approx(1.0, abs=1e-5)
    assert [c.score for c in vec] == sorted((c.score for c in vec), reverse=True)


def test_real_embeddings_rank_the_paraphrase_first(store: Store, embedder: object) -> None:
    texts = {"e1": "I adopted a golden retriever puppy", "e2": "The stock market fell today",
             "e3": "My favourite food is sushi"}
    vecs = embedder.embed(list(texts.values()), "document")  # type: ignore[attr-defined]
    model = embedder.model_id  # type: ignore[attr-defined]
    for (i, t), v in zip(texts.items(), vecs, strict=True):
        add_episode(store, episode(i, HOME, t), v, model)
    q = embedder.embed_one("I got a new dog", "query")  # type: ignore[attr-defined]
    assert store.vector_search(HOME, q, model, SearchFilters(), 3)[0].ref.id == "e1"


def test_vectors_of_another_model_are_never_compared(store: Store) -> None:
    e1 = episode("e1", HOME, "first")
    e2 = episode("e2", HOME, "second")
    add_episode(store, e1, unit(1), "model-a")
    add_episode(store, e2, unit(2, 16), "model-b")
    assert ids(store.vector_search(HOME, unit(2), "model-a", SearchFilters(), 10)) == ["e1"]
    assert ids(store.vector_search(HOME, unit(1, 16), "model-b", SearchFilters(), 10)) == ["e2"]
    assert store.vector_search(HOME, unit(1), "model-c", SearchFilters(), 10) == []
    h1 = content_hash("first")
    assert set(store.vectors_by_hash("model-a", [h1])) == {h1}
    assert store.vectors_by_hash("model-b", [h1]) == {}


def test_vectors_by_hash_is_the_embedding_cache(store: Store) -> None:
    v = unit(5)
    add_episode(store, episode("e1", HOME, "cache me"), v)
    found = store.vectors_by_hash(MODEL, [content_hash("cache me"), "nope"])
    assert list(found) == [content_hash("cache me")]
    np.testing.assert_allclose(found[content_hash("cache me")], v, rtol=1e-6)
    # narrowed to one tenant (a search's lookup: one shard on Citus)
    assert list(store.vectors_by_hash(MODEL, [content_hash("cache me")], tenant=HOME.tenant))
    assert store.vectors_by_hash(MODEL, [content_hash("cache me")], tenant="elsewhere") == {}


def test_reembed_iteration_and_drop(store: Store) -> None:
    add_episode(store, episode("e1", HOME, "one"), unit(1), "old")
    add_episode(store, episode("e2", HOME, "two"))  # no vector
    add_memory(store, memory("m1", HOME, "three"), unit(3), "new")
    seen = [it.id for b in store.iter_items_for_reembed("new", 1) for it in b]
    assert sorted(seen) == ["e1", "e2"]
    assert store.drop_vectors_except("new") == 1
    assert store.vector_search(HOME, unit(1), "old", SearchFilters(), 5) == []
    assert ids(store.vector_search(HOME, unit(3), "new", SearchFilters(), 5)) == ["m1"]


# -- forget ------------------------------------------------------------------------------
def test_forget_removes_everything_and_only_the_scope(store: Store) -> None:
    _populate_home(store)
    other = Scope(user_id="u2", tenant="t1")
    add_episode(store, episode("o1", other, "zebra too"), unit(1))
    add_memory(store, memory("om1", other, "zebra memory"), unit(2))
    store.write(WriteBatch(jobs=[Job("j1", "extract", HOME, {}), Job("j2", "extract", other, {})]))
    m = store.get_memories(HOME, ["m1"])[0]
    change_memory(store, m, at(5), text="zebra moved", vec=unit(4))
    other_before = store.remaining(other)
    counts = store.forget(Scope(user_id="u1", tenant="t1"))
    assert counts["episodes"] == 1 and counts["memories"] == 1
    assert counts["memory_versions"] == 2 and counts["jobs"] == 1
    assert counts["vectors"] == 2 and counts["fts"] == 2
    assert all(v == 0 for v in store.remaining(HOME).values())
    assert store.remaining(other) == other_before
    assert store.lexical_search(Scope(user_id="u1", tenant="t1"), "zebra", ALL, 10) == []
    assert ids(store.vector_search(other, unit(1), MODEL, ALL, 1)) == ["o1"]
    assert store.stats(None).episodes == 1


def test_forget_a_session_keeps_the_rest_of_the_user(store: Store) -> None:
    _populate_home(store)
    s2 = Scope(user_id="u1", agent_id="a1", session_id="s2", tenant="t1")
    add_episode(store, episode("e2", s2, "zebra again"), unit(5))
    store.forget(HOME)
    assert all(v == 0 for v in store.remaining(HOME).values())
    assert ids(store.lexical_search(Scope(user_id="u1", tenant="t1"), "zebra", ALL, 10)) == ["e2"]


# -- export order ------------------------------------------------------------------------
def test_iter_records_order(store: Store) -> None:
    add_memory(store, memory("m1", HOME, "memory first written"))
    add_episode(store, episode("e2", HOME, "later", at(2)))
    add_episode(store, episode("e1", HOME, "earlier", at(1)))
    m = store.get_memories(HOME, ["m1"])[0]
    change_memory(store, m, at(3), text="changed")
    recs = list(store.iter_records(HOME))
    assert [r["type"] for r in recs] == ["episode", "episode", "memory", "version", "version"]
    assert [r["id"] for r in recs[:2]] == ["e1", "e2"]
    assert [(r["memory_id"], r["version"]) for r in recs[3:]] == [("m1", 1), ("m1", 2)]
    assert all(r["tenant"] == "t1" for r in recs)


# -- lifecycle, meta, errors ---------------------------------------------------------------
def test_migrate_is_idempotent(store: Store) -> None:
    applied = store.applied_migrations()
    assert applied, "a fresh store is migrated"
    assert store.migrate() == []
    assert store.applied_migrations() == applied
    assert store.stats(None).schema_version == applied[-1]


def test_meta_roundtrip(store: Store) -> None:
    assert store.get_meta("embedding_model") is None
    store.set_meta("embedding_model", "a")
    store.set_meta("embedding_model", "b")
    assert store.get_meta("embedding_model") == "b"


def test_set_meta_if_writes_only_over_the_expected_value(store: Store) -> None:
    """Compare-and-set: ``None`` expects the setting missing; a value that moved
    (or a setting that exists when ``None`` was expected) leaves it unchanged."""
    assert store.set_meta_if("k", "x", "a") is False  # missing, not "x"
    assert store.get_meta("k") is None
    assert store.set_meta_if("k", None, "a") is True
    assert store.set_meta_if("k", None, "b") is False  # it exists now
    assert store.set_meta_if("k", "b", "c") is False  # it holds "a"
    assert store.get_meta("k") == "a"
    assert store.set_meta_if("k", "a", "c") is True
    assert store.set_meta_if("k", "c", "c") is True  # same value: still a match
    assert store.get_meta("k") == "c"
    assert store.meta_items()["k"] == "c"


def test_counters_add_up_over_calls_and_tenants(store: Store) -> None:
    assert store.counters() == {}
    store.add_counters("t1", {"jobs_done": 1, "accepted": 2})
    store.add_counters("t2", {"jobs_done": 1})
    store.add_counters("t1", {"jobs_done": 1, "op_add": 3})
    store.add_counters("t1", {})
    assert store.counters() == {"jobs_done": 3, "accepted": 2, "op_add": 3}


def test_closed_store_raises_store_error(store: Store) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError):
        store.get_episodes(HOME, ["e1"])
    with pytest.raises(StoreError):
        add_episode(store, episode("e1", HOME, "x"))


# -- jobs ----------------------------------------------------------------------------------
def test_jobs_claim_finish_and_lease_expiry(store: Store) -> None:
    store.write(WriteBatch(jobs=[
        Job("j1", "extract", HOME, {"n": 1}, created_at=at(0)),
        Job("j2", "extract", HOME, {"n": 2}, created_at=at(1)),
        Job("j3", "other", HOME, {}, created_at=at(0)),
        Job("j4", "extract", HOME, {}, created_at=at(0), run_after=at(100)),
    ]))
    assert store.claim_job([], at(2), 60) is None
    j = store.claim_job(["extract"], at(2), 60)
    assert j is not None
    assert (j.id, j.status, j.attempts, j.payload) == ("j1", "running", 1, {"n": 1})
    j2 = store.claim_job(["extract"], at(2), 60)
    assert j2 is not None and j2.id == "j2"
    assert store.claim_job(["extract"], at(2, 30), 60) is None  # leases held, j4 not due
    expired = store.claim_job(["extract"], at(2, 61), 60)
    assert expired is not None and expired.id == "j1" and expired.attempts == 2
    store.finish_job("j1")
    store.finish_job("j2", error="boom", retry_at=at(3))
    assert store.claim_job(["extract"], at(2, 200), 60) is None
    again = store.claim_job(["extract"], at(3), 60)
    assert again is not None and again.id == "j2" and again.last_error == "boom"
    store.finish_job("j2", error="fatal")
    assert store.job_counts(HOME) == {"done": 1, "failed": 1, "pending": 2}
    assert store.job_counts(Scope(user_id="nobody")) == {}
    due = store.claim_job(["extract"], at(100), 60)
    assert due is not None and due.id == "j4"
    assert store.job_counts(None)["running"] == 1


def test_get_job_reads_status_result_and_finish_time_of_its_tenant_only(
        store: Store) -> None:
    store.write(WriteBatch(jobs=[Job("j1", "extract", HOME, {"episode_ids": ["e1"]},
                                     created_at=at(0))]))
    got = store.get_job(HOME.tenant, "j1")
    assert got is not None and (got.status, got.attempts, got.payload) == (
        "pending", 0, {"episode_ids": ["e1"]})
    assert got.finished_at is None and got.result is None and got.created_at == at(0)
    assert store.get_job("someone-else", "j1") is None and store.get_job(HOME.tenant, "j9") is None
    assert store.claim_job(["extract"], at(1), 60) is not None
    store.finish_job("j1", error="later", retry_at=at(2), result={"n": 1})
    got = store.get_job(HOME.tenant, "j1")
    assert got is not None and (got.status, got.last_error, got.result) == (
        "pending", "later", {"n": 1})
    assert got.finished_at is None
    assert store.claim_job(["extract"], at(3), 60) is not None
    store.finish_job("j1", result={"n": 3}, tenant="someone-else")  # not that tenant's job
    assert store.get_job(HOME.tenant, "j1").status == "running"  # type: ignore[union-attr]
    store.finish_job("j1", result={"operations": [{"op": "ADD", "memory_id": "m1"}]},
                     tenant=HOME.tenant)
    got = store.get_job(HOME.tenant, "j1")
    assert got is not None and got.status == "done" and got.attempts == 2
    assert got.result == {"operations": [{"op": "ADD", "memory_id": "m1"}]}
    assert got.finished_at is not None
    store.forget(HOME)
    assert store.get_job(HOME.tenant, "j1") is None
    store.finish_job("j1", result={"n": 2})  # a forgotten job: nothing comes back


def test_purge_jobs_removes_only_done_jobs_of_the_kinds_finished_before(
        store: Store) -> None:
    other = Scope(user_id="u9", tenant="t2")
    store.write(WriteBatch(jobs=[
        Job("done1", "embed", HOME, {}, created_at=at(0)),
        Job("done2", "embed", other, {}, created_at=at(0)),
        Job("done3", "embed", HOME, {}, created_at=at(0)),
        Job("failed", "embed", HOME, {}, created_at=at(0)),
        Job("retry", "embed", HOME, {}, created_at=at(0)),
        Job("running", "embed", HOME, {}, created_at=at(0)),
        Job("pending", "embed", HOME, {}, created_at=at(0), run_after=at(100)),
        Job("derive", "derive", HOME, {}, created_at=at(0)),
    ]))
    for _ in range(6):  # all but the one not due yet
        assert store.claim_job(["embed", "derive"], at(1), 60) is not None
    for job_id in ("done1", "done2", "done3", "derive"):
        store.finish_job(job_id, result={"operations": []})
    store.finish_job("failed", error="fatal")
    store.finish_job("retry", error="later", retry_at=at(2))
    before_any = now() - timedelta(hours=1)
    assert store.purge_jobs(["embed"], before_any) == 0  # none finished that long ago
    later = now() + timedelta(seconds=1)
    assert store.purge_jobs([], later) == 0 and store.purge_jobs(["embed"], later, 0) == 0
    assert store.purge_jobs(["embed"], later, limit=2) == 2  # a batch, then the rest
    assert store.purge_jobs(["embed"], later, limit=2) == 1
    assert store.purge_jobs(["embed"], later) == 0
    for job_id in ("done1", "done3"):
        assert store.get_job(HOME.tenant, job_id) is None
    assert store.get_job(other.tenant, "done2") is None
    assert store.job_counts(HOME) == {"done": 1, "failed": 1, "pending": 2, "running": 1}
    assert store.get_job(HOME.tenant, "derive") is not None  # another kind
    assert [j.id for j in store.failed_jobs(HOME)] in ([], ["failed"])
    assert store.purge_jobs(["derive"], later) == 1 and store.job_counts(HOME).get("done") is None


def test_job_ids_are_idempotent(store: Store) -> None:
    store.write(WriteBatch(jobs=[Job("j1", "extract", HOME, {"n": 1})]))
    store.write(WriteBatch(jobs=[Job("j1", "extract", HOME, {"n": 2})]))
    assert store.job_counts(HOME) == {"pending": 1}


# -- pagination ----------------------------------------------------------------------------
def _collect(store: Store, kind: str, limit: int) -> list[str]:
    out: list[str] = []
    cursor = None
    for _ in range(100):
        lister = store.list_episodes if kind == "episode" else store.list_memories
        page = lister(HOME, SearchFilters(), limit, cursor)
        assert len(page.items) <= limit
        out.extend(x.id for x in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return out
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("limit", [1, 4, 7, 23, 50])
def test_pagination_has_no_duplicates_and_no_gaps(store: Store, limit: int) -> None:
    batch = WriteBatch()
    for i in range(23):
        when = at(i // 3)  # groups of equal timestamps exercise the tie-break
        batch.episodes.append(episode(f"e{i:02d}", HOME, f"ep {i}", when))
        batch.new_memories.append(memory(f"m{i:02d}", HOME, f"mem {i}", when=when))
    store.write(batch)
    eps = _collect(store, "episode", limit)
    assert len(eps) == len(set(eps)) == 23
    assert eps == sorted(eps)  # oldest first; ties in insertion order
    mems = _collect(store, "memory", limit)
    assert len(mems) == len(set(mems)) == 23
    assert mems == sorted(mems, reverse=True)  # newest first


def test_list_memories_hides_inactive_unless_asked(store: Store) -> None:
    m = memory("m1", HOME, "gone soon")
    add_memory(store, m)
    add_memory(store, memory("m2", HOME, "stays", when=at(1)))
    change_memory(store, m, at(2), op=Operation.DELETE)
    assert [x.id for x in store.list_memories(HOME, SearchFilters(), 10).items] == ["m2"]
    assert [x.id for x in store.list_memories(HOME, ALL, 10).items] == ["m2", "m1"]
    assert store.get_memories(HOME, ["m1"])[0].status == MemoryStatus.DELETED


def test_stats_counts(store: Store) -> None:
    _populate_home(store)
    st = store.stats(HOME)
    assert (st.episodes, st.memories, st.versions, st.vectors) == (1, 1, 1, 2)
    assert st.memories_by_kind == {"fact": 1} and st.memories_by_status == {"active": 1}
    assert store.stats(None).episodes == 1


def test_metadata_filter_on_nested_values(store: Store) -> None:
    add_episode(store, episode("e1", HOME, "jazz night", tags=["a", "b"], o={"y": 1, "x": 2}),
                unit(1))
    add_episode(store, episode("e2", HOME, "jazz club", tags=["b"], n=1), unit(2))
    for md, expected in [
        ((("tags", ["a", "b"]),), ["e1"]),
        ((("o", {"x": 2, "y": 1}),), ["e1"]),
        ((("tags", ["b"]),), ["e2"]),
        ((("tags", ["c"]),), []),
        ((("n", 1),), ["e2"]),
        ((("n", 1), ("tags", ["b"])), ["e2"]),
    ]:
        f = SearchFilters(metadata=md)
        assert ids(store.lexical_search(HOME, "jazz", f, 10)) == expected, md
        assert ids(store.vector_search(HOME, unit(1), MODEL, f, 10)) == expected, md


def test_episode_neighbours_stay_in_the_session_in_time_order(store: Store) -> None:
    s1 = Scope(user_id="n1", session_id="a", tenant="t1")
    s2 = Scope(user_id="n1", session_id="b", tenant="t1")
    other = Scope(user_id="n2", session_id="a", tenant="t1")
    # inserted out of time order; e3 and e3b share a timestamp (insertion breaks the tie)
    for eid, sc, secs in [("e2", s1, 2), ("e1", s1, 1), ("e3", s1, 3), ("e3b", s1, 3),
                          ("e5", s1, 5), ("f1", s2, 4), ("g1", other, 2)]:
        add_episode(store, episode(eid, sc, f"turn {eid}", at(seconds=secs)))
    user = Scope(user_id="n1", tenant="t1")
    got = store.episode_neighbours(user, ["e3", "e1", "f1", "nope", "g1"], 2)
    assert [(n.id, n.offset) for n in got["e3"]] == [("e1", -2), ("e2", -1), ("e3b", 1), ("e5", 2)]
    assert [(n.id, n.offset) for n in got["e1"]] == [("e2", 1), ("e3", 2)]
    assert got["f1"] == []
    assert "nope" not in got and "g1" not in got  # unknown / other user's
    assert store.episode_neighbours(user, ["e3"], 0) == {}


def test_episode_neighbours_follow_writes_deletes_and_scopes(store: Store) -> None:
    """Asked again after a write and a delete, neighbours reflect both (a store that
    keeps the session order in memory keeps it current); an agent's or a session's
    scope sees only its own; episodes without a session form one stream."""
    user = Scope(user_id="w1", tenant="t1")
    a = Scope(user_id="w1", agent_id="ag", session_id="s", tenant="t1")
    b = Scope(user_id="w1", agent_id="other", session_id="s", tenant="t1")
    loose = Scope(user_id="w1", tenant="t1")  # no agent, no session
    for eid, sc, secs in [("a1", a, 1), ("a3", a, 3), ("b1", b, 2), ("n1", loose, 1),
                          ("n2", loose, 5)]:
        add_episode(store, episode(eid, sc, f"turn {eid}", at(seconds=secs)))

    def offsets(scope: Scope, eid: str, radius: int = 2) -> list[tuple[str, int]] | None:
        got = store.episode_neighbours(scope, [eid], radius).get(eid)
        return None if got is None else [(n.id, n.offset) for n in got]

    assert offsets(user, "a3") == [("a1", -1)]
    assert offsets(user, "n1") == [("n2", 1)]
    add_episode(store, episode("a2", a, "turn a2", at(seconds=2)))  # between a1 and a3
    add_episode(store, episode("a4", a, "turn a4", at(seconds=9)))
    assert offsets(user, "a3") == [("a1", -2), ("a2", -1), ("a4", 1)]
    store.delete_episodes("t1", ["a2"])
    assert offsets(user, "a3") == [("a1", -1), ("a4", 1)]
    assert offsets(user, "a3", radius=1) == [("a1", -1), ("a4", 1)]
    assert offsets(Scope(user_id="w1", agent_id="ag", tenant="t1"), "a3") == [
        ("a1", -1), ("a4", 1)]
    assert offsets(Scope(user_id="w1", agent_id="other", tenant="t1"), "a3") is None
    assert offsets(Scope(user_id="w1", session_id="zz", tenant="t1"), "a3") is None
    assert offsets(Scope(user_id="w1", tenant="t2"), "a3") is None
    assert offsets(Scope(agent_id="ag", tenant="t1"), "a3") == [("a1", -1), ("a4", 1)]
    assert offsets(b, "b1") == []
    store.forget(Scope(user_id="w1", agent_id="ag", tenant="t1"))
    assert offsets(user, "a3") is None and offsets(user, "n2") == [("n1", -1)]


# -- batched reads and the change marker ---------------------------------------------------
@pytest.mark.parametrize("filters", [SearchFilters(), SearchFilters(kinds=frozenset({"plan"})),
                                     SearchFilters(metadata=(("topic", "trip"),))])
def test_search_both_is_the_two_searches(store: Store, filters: SearchFilters) -> None:
    _filter_corpus(store)
    for query, vec in (("apple", unit(1)), ("apple trip", unit(7)), ("the", unit(1)),
                       ("zzz-none", unit(3))):
        both = store.search_both(HOME, query, vec, MODEL, filters, 10)
        assert both == (store.lexical_search(HOME, query, filters, 10),
                        store.vector_search(HOME, vec, MODEL, filters, 10))
    assert store.search_both(HOME, "apple", unit(1), "model-none", filters, 10)[1] == []
    assert store.search_both(HOME, "apple", unit(1), MODEL, filters, 0) == ([], [])


def test_get_items_is_the_two_reads(store: Store) -> None:
    _filter_corpus(store)
    eps = ["e-new", "nope", "e-old", "e-new"]
    mems = ["m-old", "m-plan", "nope"]
    for scope in (HOME, *OTHERS.values()):
        got = store.get_items(scope, eps, mems)
        assert got == (store.get_episodes(scope, eps), store.get_memories(scope, mems))
    assert [e.id for e in store.get_items(HOME, eps, [])[0]] == ["e-new", "e-old", "e-new"]
    assert store.get_items(HOME, [], []) == ([], [])


def test_change_marker_moves_with_every_committed_change_only(store: Store) -> None:
    """Reads leave the marker as it is; a write, a deletion and a forget each move
    it, and so does a write through another connection to the same store."""
    marks = [store.change_marker()]
    assert marks[0] is not None
    add_episode(store, episode("e1", HOME, "apple pie"), unit(1))
    marks.append(store.change_marker())
    store.lexical_search(HOME, "apple", SearchFilters(), 5)
    store.search_both(HOME, "apple", unit(1), MODEL, SearchFilters(), 5)
    store.get_items(HOME, ["e1"], ["m1"])
    assert store.change_marker() == marks[-1]
    add_memory(store, memory("m1", HOME, "likes apple pie"), unit(2))
    marks.append(store.change_marker())
    store.delete_episodes(HOME.tenant, ["e1"])
    marks.append(store.change_marker())
    store.forget(HOME)
    marks.append(store.change_marker())
    assert len(set(marks)) == len(marks), marks
    if store.backend != "memory":  # memory:// is one object's data: no other connection
        from engram.store import open_store

        other = open_store(store.url)
        try:
            add_episode(other, episode("e2", HOME, "written elsewhere"))
        finally:
            other.close()
        assert store.change_marker() != marks[-1]
