"""The PostgreSQL store's in-process user index and its change feed (``store.postgres_index``).

Two stores on one database stand for two processes. What is pinned: a write,
delete, forget or re-embedding in one store is in the other's next answer;
a transaction that commits after a later one is not skipped; the rankings
equal the SQLite store's on the same rows; the feed is pruned.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest

from engram.models import Episode, ItemRef, Memory, MemoryKind, Scope, SearchFilters
from engram.store.base import Candidate, VectorRecord, WriteBatch
from engram.store.postgres import PostgresStore
from engram.store.sqlite import SQLiteStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MODEL = "test:model"
USER = Scope(user_id="u", tenant="tn")
WORDS = ("apple banana cherry dog eagle fig grape hill island jazz kite lemon moon"
         " nest ocean piano quilt river stone tiger").split()


def _unit(rng: np.random.Generator, dim: int = 16) -> np.ndarray:
    v = rng.normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def _ep(i: int, scope: Scope, text: str) -> Episode:
    when = T0 + timedelta(minutes=i)
    return Episode(id=f"e{i}", scope=scope, role="user", text=text, occurred_at=when,
                   created_at=when)


def _vec(ref: ItemRef, scope: Scope, v: np.ndarray, model: str = MODEL) -> VectorRecord:
    return VectorRecord(ref, scope.tenant, model, v, f"h-{ref.id}-{model}")


def _batch(rng: np.random.Generator, ids: range, scope: Scope = USER) -> WriteBatch:
    eps = [_ep(i, Scope(user_id=scope.user_id, tenant=scope.tenant,
                        session_id=f"s{i % 3}", agent_id="ag" if i % 4 == 0 else None),
               " ".join(rng.choice(WORDS, size=int(rng.integers(3, 12)))))
           for i in ids]
    return WriteBatch(episodes=eps,
                      vectors=[_vec(ItemRef("episode", e.id), scope, _unit(rng)) for e in eps])


def _ids(hits: list[Candidate]) -> list[str]:
    return [h.ref.id for h in hits]


@pytest.fixture
def two(pg_url: str):  # type: ignore[no-untyped-def]
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    a.migrate()
    yield a, b
    a.close()
    b.close()


def _both(store: PostgresStore, query: str, q: np.ndarray, limit: int = 50,
          filters: SearchFilters | None = None) -> tuple[list[str], list[str]]:
    lex, vec = store.search_both(USER, query, q, MODEL, filters or SearchFilters(), limit)
    return _ids(lex), _ids(vec)


def test_another_stores_writes_deletes_forget_and_reembedding_are_in_the_next_answer(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    rng = np.random.default_rng(1)
    a.write(_batch(rng, range(0, 20)))
    q = _unit(rng)
    lex, vec = _both(a, "apple river", q)
    assert a._index._entries, "the user's index is held in the process"
    assert len(vec) == 20

    b.write(WriteBatch(episodes=[_ep(50, USER, "zebra apple")],
                       vectors=[_vec(ItemRef("episode", "e50"), USER, q)]))
    lex, vec = _both(a, "zebra", q)
    assert lex == ["e50"] and vec[0] == "e50"

    b.delete_episodes("tn", ["e50"])
    lex, vec = _both(a, "zebra", q)
    assert lex == [] and "e50" not in vec

    # re-embedding (a vector replaced) in b moves the item in a's ranking
    b.write(WriteBatch(vectors=[_vec(ItemRef("episode", "e7"), USER, q)]))
    assert _both(a, "apple", q)[1][0] == "e7"

    # a memory, then its update to another user's scope: it leaves this user's index
    mem = Memory(id="m1", scope=USER, kind=MemoryKind.FACT, text="the quilt is blue",
                 created_at=T0, updated_at=T0)
    b.write(WriteBatch(new_memories=[mem],
                       vectors=[_vec(ItemRef("memory", "m1"), USER, q)]))
    # (e7 holds the same vector: of one score, the first id ranks first, as in SQL)
    assert _both(a, "quilt blue", q)[1][:2] == ["e7", "m1"]
    moved = Memory(id="m1", scope=Scope(user_id="other", tenant="tn"), kind=MemoryKind.FACT,
                   text="the quilt is blue", created_at=T0, updated_at=T0, version=2)
    b.write(WriteBatch(changed_memories=[(moved, 1)]))
    assert "m1" not in _both(a, "quilt blue", q)[1]

    b.forget(USER)
    assert _both(a, "apple river quilt", q) == ([], [])
    assert a.lexical_search(USER, "apple", SearchFilters(), 10) == []
    assert a.vector_search(USER, q, MODEL, SearchFilters(), 10) == []


def test_a_transaction_that_commits_after_a_later_one_is_not_skipped(
    two: tuple[PostgresStore, PostgresStore], pg_url: str,
) -> None:
    """T1 writes its change row first and commits last; a search in between
    reads up to T2; T1's item is still in the search after T1 commits."""
    a, b = two
    rng = np.random.default_rng(2)
    a.write(_batch(rng, range(0, 5)))
    q = _unit(rng)
    assert len(_both(a, "apple", q)[1]) == 5
    schema = a._q("SELECT current_schema() AS s")[0]["s"]
    with psycopg.connect(pg_url) as t1:  # not autocommit: one open transaction
        t1.execute(f'SET search_path = "{schema}", public')
        t1.execute(
            "INSERT INTO episodes (tenant, id, user_id, role, text, occurred_at, created_at,"
            " tsv) VALUES ('tn', 'late', 'u', 'user', 'violin late', %s, %s,"
            " to_tsvector('english', 'violin late'))", (T0, T0))
        t1.execute(
            "INSERT INTO vectors (tenant, item_type, item_id, model_id, dim, embedding,"
            " content_hash) VALUES ('tn', 'episode', 'late', %s, 16, %s::vector, 'h')",
            (MODEL, str(q.tolist())))
        b.write(WriteBatch(episodes=[_ep(9, USER, "violin early")],
                           vectors=[_vec(ItemRef("episode", "e9"), USER, q)]))
        assert _both(a, "violin", q)[0] == ["e9"]  # T2 committed, T1 still running
        t1.commit()
    lex, vec = _both(a, "violin", q)
    assert sorted(lex) == ["e9", "late"] and set(vec[:2]) == {"e9", "late"}


def test_rankings_equal_the_sqlite_stores_on_the_same_rows(
    pg_url: str, tmp_path: Path,
) -> None:
    rng = np.random.default_rng(3)
    batch = _batch(rng, range(0, 60))
    mems = [Memory(id=f"m{i}", scope=USER, kind=MemoryKind.FACT if i % 2 else MemoryKind.EVENT,
                   text=" ".join(rng.choice(WORDS, size=5)), created_at=T0,
                   updated_at=T0 + timedelta(days=i), valid_from=T0 + timedelta(days=i))
            for i in range(12)]
    batch = WriteBatch(episodes=batch.episodes, new_memories=mems, vectors=[
        *batch.vectors, *(_vec(ItemRef("memory", m.id), USER, _unit(rng)) for m in mems)])
    pg, lite = PostgresStore(pg_url), SQLiteStore(str(tmp_path / "s.db"))
    try:
        for store in (pg, lite):
            store.migrate()
            store.set_meta("embedding_model", MODEL)  # as the engine does
            store.write(batch)
        cases = [
            (USER, SearchFilters()),
            (Scope(user_id="u", tenant="tn", session_id="s1"), SearchFilters()),
            (Scope(user_id="u", tenant="tn", agent_id="ag"), SearchFilters()),
            (USER, SearchFilters(kinds=frozenset({"fact"}))),
            (USER, SearchFilters(start=T0 + timedelta(minutes=10),
                                 end=T0 + timedelta(days=5))),
        ]
        for scope, filters in cases:
            for words in ("apple", "river stone tiger", "moon moon kite", "nothing"):
                q = _unit(rng)
                got = pg.search_both(scope, words, q, MODEL, filters, 15)
                want = lite.search_both(scope, words, q, MODEL, filters, 15)
                assert got == want, (scope, filters, words)
        assert pg._index._entries  # answered in the process, not by SQL
    finally:
        pg.close()
        lite.close()


def test_users_over_exact_limit_and_agent_scopes_keep_the_sql_path(pg_url: str) -> None:
    store = PostgresStore(pg_url, exact_limit=3)
    store.migrate()
    try:
        rng = np.random.default_rng(4)
        store.write(_batch(rng, range(0, 6)))
        q = _unit(rng)
        hits = store.vector_search(USER, q, MODEL, SearchFilters(), 10)
        assert len(hits) == 6 and not store._index._entries
        agent = Scope(agent_id="ag", tenant="tn")  # e0 and e4 (i % 4 == 0)
        assert {h.ref.id for h in store.vector_search(agent, q, MODEL, SearchFilters(), 10)
                } == {"e0", "e4"}
        assert not store._index._entries
    finally:
        store.close()


def test_the_feed_is_pruned_and_a_reader_pruned_past_reloads(
    two: tuple[PostgresStore, PostgresStore], monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = two
    rng = np.random.default_rng(5)
    b.write(_batch(rng, range(0, 4)))  # b's first write to "tn": a marker of xmin, no delete
    q = _unit(rng)
    assert len(_both(a, "apple", q)[1]) == 4
    held = a._index._entries[("tn", "u", MODEL)].part

    def rows() -> int:
        return int(b._q("SELECT count(*) AS n FROM item_changes WHERE tenant = 'tn'"
                        " AND item >= 0")[0]["n"])

    before = rows()
    assert before > 0
    b.write(_batch(rng, range(4, 6)))  # not due yet in b: nothing pruned
    assert rows() > before
    assert len(_both(a, "apple", q)[1]) == 6  # caught up, not reloaded
    assert a._index._entries[("tn", "u", MODEL)].part is held
    # later: the marker of b's first write is old enough, its horizon prunes
    monkeypatch.setattr("engram.store.postgres_index.KEEP_SECONDS", 0.0)
    monkeypatch.setattr("engram.store.postgres_index.PRUNE_EVERY", 0.0)
    b.write(_batch(rng, range(6, 8)))
    b.write(_batch(rng, range(8, 9)))  # prunes below the marker the last write left
    assert rows() < before + 5
    # a's position is older than the recorded horizon: a reloads and misses nothing
    b.delete_episodes("tn", ["e1"])
    lex, vec = _both(a, "apple", q)
    assert len(vec) == 8 and "e1" not in vec
    assert a._index._entries[("tn", "u", MODEL)].part is not held


def test_concurrent_writers_lose_no_change(
    two: tuple[PostgresStore, PostgresStore], pg_url: str,
) -> None:
    """Three writers (two of them sharing a store) commit in whatever order while
    another store searches the user over and over: its next search has every item."""
    import threading

    a, b = two
    c = PostgresStore(pg_url)
    rng = np.random.default_rng(6)
    batches = [_batch(rng, range(100 + 10 * w + 2 * k, 100 + 10 * w + 2 * k + 2))
               for w in range(3) for k in range(5)]
    q = _unit(rng)
    done = threading.Event()
    seen: list[int] = []

    def write(store: PostgresStore, w: int) -> None:
        for batch in batches[5 * w: 5 * w + 5]:
            store.write(batch)

    def search() -> None:
        while not done.is_set():
            seen.append(len(_both(a, "apple", q, limit=100)[1]))

    threads = [threading.Thread(target=write, args=(s, w)) for w, s in enumerate((b, c, b))]
    reader = threading.Thread(target=search)
    try:
        reader.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        reader.join()
        assert seen and all(n <= 30 for n in seen)
        assert len(_both(a, "apple", q, limit=100)[1]) == 30
        assert sorted(_both(a, "apple", q, limit=100)[1]) == sorted(
            e.id for batch in batches for e in batch.episodes)
    finally:
        c.close()


def test_a_model_stored_at_two_dimensions_takes_the_sql_path(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    store.migrate()
    try:
        rng = np.random.default_rng(7)
        store.write(_batch(rng, range(0, 4)))
        q = _unit(rng)
        assert len(store.vector_search(USER, q, MODEL, SearchFilters(), 10)) == 4
        assert store._index._entries
        store.write(WriteBatch(episodes=[_ep(9, USER, "short vector")], vectors=[
            _vec(ItemRef("episode", "e9"), USER, _unit(rng, 8))]))
        hits = store.vector_search(USER, q, MODEL, SearchFilters(), 10)
        assert len(hits) == 4 and "e9" not in _ids(hits) and not store._index._entries
        short = store.vector_search(USER, _unit(rng, 8), MODEL, SearchFilters(), 10)
        assert _ids(short) == ["e9"]
    finally:
        store.close()


def _holds(part: object, word: str, item_id: str) -> bool:
    """Whether a partition index still holds ``word`` (a term of its BM25
    postings, live or not) or ``item_id`` (a row's id)."""
    lex = part._lex  # type: ignore[attr-defined]
    part._materialize()  # type: ignore[attr-defined]
    refs = part._refs  # type: ignore[attr-defined]
    return (word in lex._post_rows or word in lex._base
            or any(r is not None and r.id == item_id for r in refs))


def test_a_forget_elsewhere_empties_this_process_at_its_next_search_of_anyone(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    """The tenant's deletion markers (migration 0009): store ``b`` holds user Y's
    index, episode streams and stemmed words; ``a`` forgets Y; ``b``'s next search,
    of user X only, drops all of it without ever searching Y again. ``a`` itself
    drops its copies of Y at the forget, before any search."""
    from engram.index import lexical
    from engram.text import clear_text_caches

    a, b = two
    rng = np.random.default_rng(7)
    x, y = USER, Scope(user_id="yara", tenant="tn")
    a.write(_batch(rng, range(0, 6), x))
    a.write(WriteBatch(episodes=[_ep(40, y, "my locker code is 4471 near Tromsø fjord")],
                       vectors=[_vec(ItemRef("episode", "e40"), y, _unit(rng))]))
    q = _unit(rng)
    for store in (a, b):
        store.search_both(y, "locker", q, MODEL, SearchFilters(), 10)
        store.episode_neighbours(y, ["e40"], 2)
        _both(store, "apple", q)
    y_key = ("tn", "yara", MODEL)
    assert y_key in a._index._entries and y_key in b._index._entries
    assert b._streams.marker(y) is not None and "tromsø" in lexical._STEMS

    a.forget(y)  # the store alone: no engine empties the memos
    assert y_key not in a._index._entries and a._streams.marker(y) is None
    assert y_key in b._index._entries and "tromsø" in lexical._STEMS  # b has not looked

    assert _both(b, "apple", q)[1]  # X only
    assert y_key not in b._index._entries
    assert b._streams.marker(y) is None and ("tn", "yara") not in b._index.models
    assert "tromsø" not in lexical._STEMS
    clear_text_caches()


def test_a_delete_elsewhere_leaves_no_term_or_id_of_it_in_the_users_index(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    """A removed row's terms and id would stay in an index that only marks it
    removed; a catch-up that finds rows gone reloads the user instead."""
    a, b = two
    rng = np.random.default_rng(8)
    a.write(_batch(rng, range(0, 6)))
    a.write(WriteBatch(episodes=[_ep(41, USER, "the zeppelin hangar in Tromsø")],
                       vectors=[_vec(ItemRef("episode", "e41"), USER, _unit(rng))]))
    q = _unit(rng)
    assert _both(b, "zeppelin", q)[0] == ["e41"]
    assert _holds(b._index._entries[("tn", "u", MODEL)].part, "zeppelin", "e41")
    a.delete_episodes("tn", ["e41"])
    assert _both(b, "zeppelin", q)[0] == []
    part = b._index._entries[("tn", "u", MODEL)].part
    assert len(part) == 6 and not _holds(part, "zeppelin", "e41")


def test_a_search_on_the_sql_path_reads_the_deletion_markers_too(pg_url: str) -> None:
    """A process whose searches take the SQL path (here user X is over
    ``exact_limit``) still drops a forgotten user Y's index and empties the memos."""
    from engram.index import lexical
    from engram.text import clear_text_caches

    a, b = PostgresStore(pg_url), PostgresStore(pg_url, exact_limit=3)
    a.migrate()
    try:
        rng = np.random.default_rng(9)
        x, y = USER, Scope(user_id="yara", tenant="tn")
        a.write(_batch(rng, range(0, 6), x))
        a.write(WriteBatch(episodes=[_ep(40, y, "my locker code is 4471 near Tromsø fjord")],
                           vectors=[_vec(ItemRef("episode", "e40"), y, _unit(rng))]))
        q = _unit(rng)
        b.search_both(y, "locker", q, MODEL, SearchFilters(), 10)
        assert len(_both(b, "apple", q)[1]) == 6  # X is found too big: the SQL path
        assert ("tn", "yara", MODEL) in b._index._entries and "tromsø" in lexical._STEMS
        a.forget(y)
        assert len(_both(b, "apple", q)[1]) == 6  # the SQL path again, without a load
        assert ("tn", "u", MODEL) not in b._index._entries
        assert ("tn", "yara", MODEL) not in b._index._entries
        assert "tromsø" not in lexical._STEMS
    finally:
        clear_text_caches()
        a.close()
        b.close()


def _mem(i: int, scope: Scope, text: str, **kw: object) -> Memory:
    return Memory(id=f"m{i}", scope=scope, kind=MemoryKind.FACT, text=text,
                  created_at=T0 + timedelta(minutes=i), updated_at=T0 + timedelta(minutes=i),
                  **kw)  # type: ignore[arg-type]


def _head(store: PostgresStore, q: np.ndarray, eps: list[str],
          mems: list[str]) -> tuple[list[Episode], list[Memory]]:
    """A search's head read: the user ranked in process, then its items."""
    store.search_both(USER, "apple", q, MODEL, SearchFilters(), 10)
    return store.get_items(USER, eps, mems)


def test_held_rows_of_a_searchs_head_follow_every_change_made_elsewhere(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    """The row cache (``store.postgres_rows``): what ``get_items`` hands out after
    a search equals the tables, though another store touched, re-tagged,
    updated or deleted the held rows (the changes of columns the index does not
    hold come through the row-only feed of migration 0010)."""
    a, b = two
    rng = np.random.default_rng(7)
    batch = _batch(rng, range(0, 6))
    mems = [_mem(i, USER, f"fact {WORDS[i]} apple", importance=0.5,
                 metadata={"n": i}) for i in range(3)]
    batch.new_memories.extend(mems)
    batch.vectors.extend(_vec(ItemRef("memory", m.id), USER, _unit(rng)) for m in mems)
    a.write(batch)
    q = _unit(rng)
    eps, mids = ["e1", "e2", "e1", "e9", "e5"], ["m0", "m1", "m2"]

    def tables() -> tuple[list[Episode], list[Memory]]:
        return a.get_episodes(USER, eps), a.get_memories(USER, mids)

    first = _head(a, q, eps, mids)
    assert first == tables() and len(a._rows.cache) == 6  # e1 held once, e9 is no row
    assert _head(a, q, eps, mids) == first  # served held (copies, not the held tuples)
    first[0][0].metadata["x"] = 1  # a caller changing what it got changes nothing held
    assert _head(a, q, eps, mids) == tables()
    b.touch("tn", ["m0", "m1"], T0 + timedelta(days=3))  # one change at a time: a
    got = _head(a, q, eps, mids)  # delete reloads the user (and drops all it held)
    assert got == tables() and got[1][0].access_count == 1 and len(a._rows.cache) == 6
    e2 = a.get_episodes(USER, ["e2"])[0]
    assert b.replace_episode_metadata(
        Episode(**{**e2.__dict__, "metadata": {"tag": "new"}}), e2.metadata)
    got = _head(a, q, eps, mids)
    assert got == tables() and got[0][1].metadata == {"tag": "new"}
    m2 = _mem(2, USER, "fact cherry apple, now changed", importance=0.9, version=2)
    b.write(WriteBatch(changed_memories=[(m2, 1)]))
    got = _head(a, q, eps, mids)
    assert got == tables() and got[1][2].text == "fact cherry apple, now changed"
    b.delete_episodes("tn", ["e5"])
    got = _head(a, q, eps, mids)
    assert got == tables() and "e5" not in [e.id for e in got[0]]
    # no search first, or another user's search: the tables answer, nothing is held
    a._rows.clear()
    assert a.get_items(USER, eps, mids) == tables() and len(a._rows.cache) == 0
    a.search_both(Scope(user_id="v", tenant="tn"), "apple", q, MODEL, SearchFilters(), 10)
    assert a.get_items(USER, eps, mids) == tables() and len(a._rows.cache) == 0


def test_a_forget_here_or_elsewhere_empties_the_held_rows(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    rng = np.random.default_rng(8)
    a.write(_batch(rng, range(0, 4)))
    b.write(_batch(rng, range(10, 12), Scope(user_id="w", tenant="tn")))
    q = _unit(rng)
    assert _head(a, q, ["e1", "e2"], [])[0]
    assert len(a._rows.cache) == 2
    b.forget(USER)
    # a's next search of anyone in the tenant reads the deletion markers
    a.search_both(Scope(user_id="w", tenant="tn"), "apple", q, MODEL, SearchFilters(), 10)
    assert len(a._rows.cache) == 0
    a.write(_batch(rng, range(20, 22)))
    assert _head(a, q, ["e20"], [])[0] and len(a._rows.cache) == 1
    a.forget(USER)
    assert len(a._rows.cache) == 0


def test_a_row_read_while_rows_were_dropped_is_handed_out_but_not_held() -> None:
    """Another thread's catch-up (or a forget) during the read: the row read may
    predate the change it dropped, so it is not held."""
    from engram.store.postgres_rows import PgRows

    rows, ep = PgRows(), _ep(1, USER, "apple")

    def read(eps: list[str], mems: list[str]) -> tuple[dict, dict]:  # type: ignore[type-arg]
        rows.changed("tn", "u", [99])
        return {"e1": (2, ep, "{}")}, {}

    assert rows.get_items(USER, ["e1"], [], read) == ([ep], []) and len(rows.cache) == 0
    assert rows.get_items(USER, ["e1", "e1"], [], lambda e, m: ({"e1": (2, ep, "{}")}, {})) == (
        [ep, ep], [])
    assert len(rows.cache) == 1
    rows.changed("tn", "u", None)  # the user reloaded: all of its rows go
    assert len(rows.cache) == 0
