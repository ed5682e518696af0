"""PostgreSQL-specific behaviour (the shared contract lives in test_store_contract.py).

A real server (pgserver or ``ENGRAM_TEST_PG_URL``, see ``pg_fixtures``).
"""

from __future__ import annotations

import multiprocessing as mp
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner
from pg_fixtures import fresh_pg_url, pg_base_url

from engram.errors import Conflict, StoreError
from engram.models import Episode, ItemRef, Memory, MemoryKind, Scope, SearchFilters
from engram.store import open_store
from engram.store.base import VectorRecord, WriteBatch
from engram.store.postgres import PostgresStore
from engram.store.postgres_schema import MIGRATIONS

pytestmark = pytest.mark.postgres
T0 = datetime(2024, 1, 1, tzinfo=UTC)
MODEL = "test:model"


def _ep(i: int, scope: Scope, text: str | None = None) -> Episode:
    when = T0 + timedelta(seconds=i)
    return Episode(id=f"e{i}", scope=scope, role="user", text=text or f"episode {i}",
                   occurred_at=when, created_at=when)


def _vec(ep: Episode, v: np.ndarray) -> VectorRecord:
    return VectorRecord(ItemRef("episode", ep.id), ep.scope.tenant, MODEL,
                        v.astype(np.float32), f"h-{ep.id}")


def test_migrations_from_an_empty_database() -> None:
    base = pg_base_url()
    name = "engram_empty_" + uuid.uuid4().hex[:8]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.replace("/postgres?", f"/{name}?") if "/postgres?" in base else None
    if url is None:
        pytest.skip("cannot derive a database URL from ENGRAM_TEST_PG_URL")
    try:
        store = PostgresStore(url)
        assert store.applied_migrations() == []
        assert store.migrate() == [m.name for m in MIGRATIONS]
        assert store.migrate() == []
        assert store.applied_migrations() == [m.name for m in MIGRATIONS]
        with psycopg.connect(url) as conn:
            tables = {r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"episodes", "memories", "memory_versions", "vectors", "jobs", "meta"} <= tables
        store.close()
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_failing_statement_rolls_back_the_whole_batch(pg_store: PostgresStore) -> None:
    scope = Scope(user_id="u")
    good = _ep(1, scope)
    bad = _ep(2, scope, text="nul \x00 byte")  # PostgreSQL text cannot hold NUL
    with pytest.raises(StoreError):
        pg_store.write(WriteBatch(episodes=[good, bad], vectors=[_vec(good, np.ones(4))]))
    assert pg_store.stats(None).episodes == 0
    assert pg_store.stats(None).vectors == 0
    with pytest.raises(StoreError):  # vector for an item that does not exist
        pg_store.write(WriteBatch(episodes=[good], vectors=[_vec(_ep(9, scope), np.ones(4))]))
    assert pg_store.get_episodes(scope, ["e1"]) == []


def _writer(url: str, worker: int, n: int) -> int:
    store = open_store(url)
    scope = Scope(user_id="shared")
    conflicts = 0
    try:
        for i in range(n):
            e = _ep(worker * 1000 + i, scope)
            store.write(WriteBatch(episodes=[e], vectors=[_vec(e, np.arange(4) + i)]))
            while True:  # optimistic increment of one shared memory
                m = store.get_memories(scope, ["counter"])[0]
                m.importance = m.importance + 1
                expected, m.version = m.version, m.version + 1
                try:
                    store.write(WriteBatch(changed_memories=[(m, expected)]))
                    break
                except Conflict:
                    conflicts += 1
    finally:
        store.close()
    return conflicts


def test_concurrent_writers_from_several_processes(pg_url: str) -> None:
    store = open_store(pg_url)
    scope = Scope(user_id="shared")
    store.write(WriteBatch(new_memories=[Memory(
        id="counter", scope=scope, kind=MemoryKind.FACT, text="counter", created_at=T0,
        updated_at=T0, importance=0.0)]))
    workers, n = 4, 15
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        pool.starmap(_writer, [(pg_url, w, n) for w in range(workers)])
    assert store.stats(scope).episodes == workers * n
    assert store.stats(scope).vectors == workers * n
    counter = store.get_memories(scope, ["counter"])[0]
    assert counter.importance == workers * n  # no lost update
    assert counter.version == 1 + workers * n
    store.close()


@pytest.fixture(scope="module")
def big_store() -> PostgresStore:
    """10,000 episodes of one user; 10 of them (0.1%) in session "rare"."""
    store = PostgresStore(fresh_pg_url(), exact_limit=50, ef_search=10)
    store.migrate()
    rng = np.random.default_rng(7)
    vecs = rng.normal(size=(10_000, 8)).astype(np.float32)
    for start in range(0, 10_000, 1000):
        batch = WriteBatch()
        for i in range(start, start + 1000):
            scope = Scope(user_id="big", session_id="rare" if i % 1000 == 0 else "common")
            e = _ep(i, scope)
            batch.episodes.append(e)
            batch.vectors.append(_vec(e, vecs[i]))
        store.write(batch)
    store.vecs = vecs  # type: ignore[attr-defined]
    return store


def _brute(vecs: np.ndarray, q: np.ndarray, rows: list[int], k: int) -> list[str]:
    sub = vecs[rows] / np.linalg.norm(vecs[rows], axis=1, keepdims=True)
    sims = sub @ (q / np.linalg.norm(q))
    return [f"e{rows[j]}" for j in np.argsort(-sims)[:k]]


def test_a_selective_scope_returns_every_match(big_store: PostgresStore) -> None:
    q = np.ones(8, dtype=np.float32)
    rare = [i for i in range(10_000) if i % 1000 == 0]
    hits = big_store.vector_search(Scope(user_id="big", session_id="rare"), q, MODEL,
                                   SearchFilters(), 10)
    assert [h.ref.id for h in hits] == _brute(big_store.vecs, q, rare, 10)  # type: ignore[attr-defined]


def test_a_selective_filter_on_a_large_scope_never_loses_matches(
    big_store: PostgresStore,
) -> None:
    q = np.linspace(-1, 1, 8).astype(np.float32)
    # 100 of 10,000 rows pass: over exact_limit (50), so the HNSW path runs;
    # its candidates hold ~1% matches, so it must widen, then fall back to exact
    f = SearchFilters(start=T0 + timedelta(seconds=5000), end=T0 + timedelta(seconds=5100))
    hits = big_store.vector_search(Scope(user_id="big"), q, MODEL, f, 20)
    assert [h.ref.id for h in hits] == _brute(big_store.vecs, q, list(range(5000, 5100)), 20)  # type: ignore[attr-defined]


def test_a_scope_holding_a_tenth_of_the_index_keeps_its_nearest(
    big_store: PostgresStore,
) -> None:
    # 1,000 of 10,000 rows pass (over exact_limit 50): the first ef is sized to
    # that share (10 * OVERSAMPLE / 0.1), so the filtered candidates still hold
    # the true nearest instead of the few that fall in ef_search=10
    q = np.linspace(1, -1, 8).astype(np.float32)
    f = SearchFilters(start=T0 + timedelta(seconds=2000), end=T0 + timedelta(seconds=3000))
    hits = big_store.vector_search(Scope(user_id="big"), q, MODEL, f, 10)
    exact = _brute(big_store.vecs, q, list(range(2000, 3000)), 10)  # type: ignore[attr-defined]
    assert len({h.ref.id for h in hits} & set(exact)) >= 9


def test_unfiltered_search_uses_the_index_and_fills_the_limit(big_store: PostgresStore) -> None:
    q = np.ones(8, dtype=np.float32)
    hits = big_store.vector_search(Scope(user_id="big"), q, MODEL, SearchFilters(), 25)
    assert len(hits) == 25
    exact = _brute(big_store.vecs, q, list(range(10_000)), 25)  # type: ignore[attr-defined]
    assert len({h.ref.id for h in hits} & set(exact)) >= 20  # approximate, high recall
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))


def test_hnsw_index_waits_until_a_model_outgrows_exact_search(pg_url: str) -> None:
    store = PostgresStore(pg_url, exact_limit=30)
    store.migrate()
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(45, 8)).astype(np.float32)
    scope = Scope(user_id="u")

    def indexes() -> list[str]:
        return [r["indexname"] for r in store._q(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'vectors'"
            " AND indexname LIKE 'vectors_hnsw_%%' AND schemaname = current_schema()")]

    for start, stop in ((0, 10), (10, 30)):  # 30 vectors: every search is exact
        store.write(WriteBatch(episodes=[_ep(i, scope) for i in range(start, stop)],
                               vectors=[_vec(_ep(i, scope), vecs[i]) for i in range(start, stop)]))
        assert indexes() == []
        hits = store.vector_search(scope, vecs[0], MODEL, SearchFilters(), 5)
        assert [h.ref.id for h in hits] == _brute(vecs, vecs[0], list(range(stop)), 5)
    store.write(WriteBatch(episodes=[_ep(i, scope) for i in range(30, 45)],
                           vectors=[_vec(_ep(i, scope), vecs[i]) for i in range(30, 45)]))
    assert len(indexes()) == 1  # 45 > exact_limit: built by the write that crossed it
    hits = store.vector_search(scope, vecs[0], MODEL, SearchFilters(), 5)
    assert len(hits) == 5 and hits[0].ref.id == "e0"
    store.close()


def test_lexical_search_ignores_query_syntax(pg_store: PostgresStore) -> None:
    scope = Scope(user_id="u")
    e = _ep(1, scope, text="Caroline moved to Lisbon")
    pg_store.write(WriteBatch(episodes=[e]))
    for q in ["lisbon & | ! :* ( ' \\", "Lisbon's", "'moved' <-> !"]:
        hits = pg_store.lexical_search(scope, q, SearchFilters(), 5)
        assert [h.ref.id for h in hits] == ["e1"]


def test_migrate_store_sqlite_to_postgres_and_back(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    from engram import Engram
    from engram.cli import cli

    a = tmp_path / "a.db"
    eg = Engram(str(a), embedder=embedder)
    eg.add("I moved to Lisbon in 2021", user_id="maya")
    eg.add("Actually I live in Porto now", user_id="maya")
    eg.add("My dog is called Biscuit", user_id="maya", agent_id="bot")
    eg.close()
    pg = fresh_pg_url()
    runner = CliRunner()
    out = runner.invoke(cli, ["migrate-store", "--from", f"sqlite:///{a}", "--to", pg, "--json"])
    assert out.exit_code == 0, out.output
    assert '"verified": true' in out.output
    back = tmp_path / "b.db"
    out = runner.invoke(cli, ["migrate-store", "--from", pg, "--to", f"sqlite:///{back}"])
    assert out.exit_code == 0, out.output
    from engram.store.migrate_store import fingerprint

    s1, s2 = open_store(f"sqlite:///{a}"), open_store(f"sqlite:///{back}")
    assert fingerprint(s1) == fingerprint(s2)
    assert s1.stats(None).versions == s2.stats(None).versions > 0
    s1.close()
    s2.close()
    eg2 = Engram(url=pg, embedder=embedder)
    hits = eg2.search("where does maya live", user_id="maya")
    assert any("Porto" in h.text for h in hits)
    eg2.close()


def test_pgscale_bench_runs_on_a_tiny_load(pg_url: str) -> None:
    from engram.bench import pgscale

    result = pgscale.run(pg_url, 400, 4, 8, queries=5, batch=100, clusters=20,
                         recall_queries=3, exact_limit=50)
    assert set(result.search) == {"small user", "big user"}
    assert result.search["big user"].memories == 200  # over exact_limit: the HNSW path
    assert all(0.0 <= s.recall <= 1.0 and s.p50 <= s.p99 for s in result.search.values())
    assert result.table_bytes["vectors"] > 0
    text = result.render()
    assert "p99" in text and "B/memory" in text and "synthetic" in text


def test_pgscale_recall_reads_npy_vectors_and_real_queries(pg_url: str, tmp_path: Path) -> None:
    import sqlite3

    from engram.bench import pgscale

    rng = np.random.default_rng(3)
    docs = rng.normal(size=(300, 8)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    np.save(tmp_path / "docs.npy", docs[:250])
    cache = sqlite3.connect(tmp_path / "cache.sqlite")
    cache.execute("CREATE TABLE vec (model TEXT, hash TEXT, v BLOB)")
    cache.executemany("INSERT INTO vec VALUES ('m', ?, ?)",
                      [(f"h{i}", docs[i].tobytes()) for i in range(200, 300)])  # 50 repeated
    cache.commit()
    cache.close()
    real = pgscale.real_vectors([str(tmp_path / "cache.sqlite"), str(tmp_path / "docs.npy")], "m")
    assert real.shape == (300, 8)  # the 50 vectors in both files counted once
    lines = pgscale.recall_real(pg_url, real, 300, 5, [40], query_vectors=docs[:5] * 0.9)
    assert "300 real, 0 mixtures" in lines[0] and "5 real query embeddings" in lines[0]
    assert lines[-1].startswith("ef_search   40: recall@10 1.000")


def test_a_failed_pipelined_search_leaves_the_connections_usable(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from engram.models import Episode, ItemRef, Scope, SearchFilters
    from engram.store import postgres, postgres_vector
    from engram.store.base import VectorRecord, WriteBatch

    store = postgres.PostgresStore(pg_url, pool_size=1, exact_limit=0)  # HNSW path
    store.migrate()
    scope, when = Scope(user_id="u"), datetime(2024, 1, 1, tzinfo=UTC)
    batch = WriteBatch()
    for i in range(20):
        batch.episodes.append(Episode(id=f"e{i}", scope=scope, role="user", text=f"apple {i}",
                                      occurred_at=when, created_at=when))
        v = np.zeros(4, dtype=np.float32)
        v[i % 4] = 1.0
        batch.vectors.append(
            VectorRecord(ItemRef("episode", f"e{i}"), scope.tenant, "m", v, f"h{i}"))
    store.write(batch)
    store.create_vector_index("m", 4)
    q, f = np.array([1, 0, 0, 0], dtype=np.float32), SearchFilters()
    want = store.search_both(scope, "apple", q, "m", f, 5)
    assert len(want[0]) == 5 and len(want[1]) == 5
    good_approx = postgres_vector._approx

    def broken_approx(*args: object):  # type: ignore[no-untyped-def]
        rows = yield postgres_vector.Step("SELECT no_such_column FROM vectors WHERE tenant = %s",
                                          ("x",), ("SET LOCAL hnsw.ef_search = 40",))
        return rows

    monkeypatch.setattr(postgres_vector, "_approx", broken_approx)
    with pytest.raises(StoreError):
        store.search_both(scope, "apple", q, "m", f, 5)
    with pytest.raises(StoreError):
        store.vector_search(scope, q, "m", f, 5)
    monkeypatch.setattr(postgres_vector, "_approx", good_approx)
    assert store.search_both(scope, "apple", q, "m", f, 5) == want  # same connection, usable
    assert store._q("SELECT 1 AS one") == [{"one": 1}]
    store.close()


def _stream_corpus(rng: np.random.Generator, user: str, n: int) -> list[Episode]:
    """``n`` episodes of one user over agents and sessions (``None`` included),
    written out of time order, many sharing a timestamp."""
    out = []
    for i in range(n):
        agent = [None, "ag1", "ag2"][int(rng.integers(3))]
        session = [None, "s1", "s2", "s3"][int(rng.integers(4))]
        when = T0 + timedelta(seconds=int(rng.integers(0, n // 3 + 1)))
        out.append(Episode(id=f"{user}-{i}", scope=Scope(user_id=user, agent_id=agent,
                                                         session_id=session, tenant="tn"),
                           role="user", text=f"turn {i}", occurred_at=when, created_at=when))
    return out


def test_neighbours_from_the_process_streams_equal_the_sql_query(
    pg_store: PostgresStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The in-process streams (postgres_streams) answer exactly what the SQL query
    answers, for user, agent and session scopes, every radius, unknown ids."""
    from engram.store import postgres_streams

    rng = np.random.default_rng(7)
    eps = _stream_corpus(rng, "u1", 120)
    for i in range(0, len(eps), 25):
        pg_store.write(WriteBatch(episodes=eps[i:i + 25]))
    scopes = [Scope(user_id="u1", tenant="tn"), Scope(user_id="u1", agent_id="ag1", tenant="tn"),
              Scope(user_id="u1", session_id="s2", tenant="tn"),
              Scope(user_id="u1", agent_id="ag2", session_id="s1", tenant="tn")]
    asks = [(scope, [eps[int(j)].id for j in rng.integers(0, len(eps), 20)] + ["nope"], radius)
            for scope in scopes for radius in (1, 2, 3, 7)]
    cached = [pg_store.episode_neighbours(s, ids, r) for s, ids, r in asks]
    assert pg_store._streams.marker(scopes[0]) is not None  # answered from the streams
    monkeypatch.setattr(postgres_streams, "MAX_EPISODES", 10)  # now over: the SQL path
    fresh = PostgresStore(pg_store.url)
    try:
        by_sql = [fresh.episode_neighbours(s, ids, r) for s, ids, r in asks]
        assert fresh._streams.marker(scopes[0]) is None and fresh._streams.big(scopes[0])
    finally:
        fresh.close()
    assert cached == by_sql
    assert any(len(v) > 2 for got in cached for v in got.values())


def test_neighbours_follow_another_process_writes_and_forget(pg_url: str) -> None:
    """A store answering neighbours from its streams in memory drops them as soon
    as another store (another process, same database) writes or forgets: its next
    answer is current."""
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    a.migrate()
    try:
        user = Scope(user_id="u", session_id="s", tenant="tn")
        eps = [_ep(i, user) for i in (1, 3, 5)]
        a.write(WriteBatch(episodes=eps))
        scope = Scope(user_id="u", tenant="tn")

        def offsets() -> list[tuple[str, int]] | None:
            got = a.episode_neighbours(scope, ["e3"], 2).get("e3")
            return None if got is None else [(n.id, n.offset) for n in got]

        assert offsets() == [("e1", -1), ("e5", 1)]
        held = a._streams.marker(scope)
        assert held is not None and offsets() == [("e1", -1), ("e5", 1)]
        assert a._streams.marker(scope) == held  # unchanged marker: the same copy
        b.write(WriteBatch(episodes=[_ep(2, user), _ep(4, user)]))
        assert offsets() == [("e1", -2), ("e2", -1), ("e4", 1), ("e5", 2)]
        b.delete_episodes("tn", ["e2"])
        assert offsets() == [("e1", -1), ("e4", 1), ("e5", 2)]
        b.forget(scope)
        assert offsets() is None
        assert a.episode_neighbours(scope, ["e1", "e4"], 3) == {}
    finally:
        a.close()
        b.close()


def test_neighbours_after_search_both_need_no_round_trip_until_anything_else_runs(
    pg_store: PostgresStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """search_both brings the change marker along when the user's streams are held:
    the neighbours asked next on that thread are answered in memory; a write or
    another search in between sends them to the database again."""
    user = Scope(user_id="u", session_id="s", tenant="tn")
    eps = [_ep(i, user, f"apple {i}") for i in (1, 3, 5)]
    pg_store.write(WriteBatch(episodes=eps, vectors=[_vec(e, np.arange(4) + 1.0) for e in eps]))
    scope = Scope(user_id="u", tenant="tn")
    q = np.arange(4, dtype=np.float32) + 1
    want = {"e3": [("e1", -1), ("e5", 1)]}

    def ask() -> dict[str, list[tuple[str, int]]]:
        return {k: [(n.id, n.offset) for n in v]
                for k, v in pg_store.episode_neighbours(scope, ["e3"], 2).items()}

    assert ask() == want  # reads the streams
    sent: list[object] = []
    real_q = pg_store._q
    monkeypatch.setattr(pg_store, "_q", lambda *a, **k: sent.append(a) or real_q(*a, **k))
    pg_store.search_both(scope, "apple", q, MODEL, SearchFilters(), 10)
    sent.clear()
    assert ask() == want and sent == []  # from memory
    assert ask() == want and len(sent) == 1  # the hint is used once
    for between in (lambda: pg_store.vector_search(scope, q, MODEL, SearchFilters(), 5),
                    lambda: pg_store.write(WriteBatch(episodes=[_ep(4, user)]))):
        pg_store.search_both(scope, "apple", q, MODEL, SearchFilters(), 10)
        between()
        sent.clear()
        got = ask()
        assert len(sent) == 1
    assert got == {"e3": [("e1", -1), ("e4", 1), ("e5", 2)]}
