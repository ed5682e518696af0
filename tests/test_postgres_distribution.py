"""The PostgreSQL store is ready for Citus (``docs/postgres.md``), checked on plain PostgreSQL.

Citus cannot run here, so the test proves the properties distribution needs:

* every statement the store sends during a representative workload (captured by
  wrapping psycopg's cursor) that reads or writes a tenant table filters or keys
  on ``tenant`` (so Citus routes it to one shard), except the few listed in
  :data:`EXCEPTIONS`, each with its reason;
* the approximate (HNSW) vector query filters on ``tenant`` inside its index scan
  and sets ``hnsw.ef_search`` with ``SET LOCAL`` inside the same transaction;
* every primary and unique key of a tenant table starts with ``tenant``;
* no write on the hot path (add, update, delete, jobs) touches a table that is
  a reference table on Citus (replicated to every node).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from pg_fixtures import fresh_pg_url

from engram import Engram
from engram.models import Scope
from engram.retrieval.config import PRESETS
from engram.store.browse import TimelineFilters
from engram.store.postgres import PostgresStore

#: distributed by ``tenant`` (co-located)
TENANT_TABLES = ("episodes", "memories", "memory_versions", "vectors", "jobs", "job_counters",
                 "item_changes")
#: reference tables (a copy on every node) and the coordinator-only bookkeeping
REFERENCE_TABLES = ("meta", "vector_spaces", "schema_migrations")
#: steps that are not on the hot path (store-wide administration)
ADMIN_STEPS = {"setup", "admin"}

#: statements allowed without a tenant key: (steps, pattern, reason)
EXCEPTIONS: list[tuple[tuple[str, ...], str, str]] = [
    (("jobs",), r"^SELECT tenant, id FROM jobs WHERE kind = ANY",
     "the job queue is shared by every tenant: the worker reads candidate keys from"
     " every shard without locks, then claims one with a single-shard"
     " SELECT ... WHERE tenant AND id ... FOR UPDATE SKIP LOCKED"),
    (("jobs",), r"^SELECT tenant, id FROM jobs WHERE status = 'done' AND kind = ANY",
     "clearing finished jobs (Store.purge_jobs) is store-wide maintenance like the"
     " claim: candidate keys read from every shard without locks, then one"
     " DELETE ... WHERE tenant = %s AND id = ANY(...) per tenant (single shard)"),
    (("forget",), r"WHERE strpos\(",
     "forget's verification: whether a live row of any tenant still holds a forgotten"
     " string (then its bytes on disk are legitimate); a read-only multi-shard check"),
    (("add",), r"^SELECT \(SELECT index_name IS NOT NULL FROM vector_spaces",
     "whether a model has outgrown exact search and needs its HNSW index: a read-only"
     " count across tenants, looked up once per exact_limit vectors a process writes"
     " and never again once the index exists"),
    (("browse",), r"^SELECT key, sum\(value\) AS n FROM job_counters GROUP BY key$",
     "the job runner's totals in a status (PipelineStatus.totals) are store-wide: a"
     " read-only aggregate over every shard, never on a write"),
    (("admin",), r".", "store-wide statistics and maintenance read every shard"),
    (("setup",), r"^CREATE TABLE item_changes",
     "migration 0008_change_feed (DDL, once per store): its trigger functions write the"
     " change row of the changed row's own tenant, on that row's shard"),
    (("setup",), r"^CREATE INDEX item_changes_gone ON item_changes",
     "migration 0009_gone_marker (DDL, once per store): its trigger function writes a"
     " deletion marker of each deleted row's own tenant, on that row's shard"),
    (("setup",), r"^CREATE FUNCTION engram_row_changed\(\)",
     "migration 0010_row_feed (DDL, once per store): its trigger function writes the"
     " row-only change row of the updated row's own tenant, on that row's shard"),
]

_TABLE_REF = re.compile(
    r"\b(?:FROM|JOIN|INTO|UPDATE|USING)\s+(" + "|".join(TENANT_TABLES) + r")\b", re.I)
_KEYED = re.compile(r"\btenant\s*(?:=\s*(?:%s|ANY\()|IN\s*\()", re.I)
_WRITE = re.compile(r"^\s*(?:WITH\b.*?\)\s*)?(INSERT|UPDATE|DELETE)\b", re.I | re.S)


class Capture:
    """Every statement sent through a psycopg cursor, tagged with the workload step."""

    def __init__(self) -> None:
        self.step = "setup"
        self.statements: list[tuple[str, str]] = []

    def record(self, cur: Any, query: Any) -> None:
        text = query if isinstance(query, str) else (
            query.decode() if isinstance(query, bytes) else query.as_string(cur))
        self.statements.append((self.step, " ".join(text.split())))


@pytest.fixture
def capture(monkeypatch: pytest.MonkeyPatch) -> Iterator[Capture]:
    cap = Capture()
    execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

    def wrapped_execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        cap.record(self, query)
        return execute(self, query, *args, **kwargs)

    def wrapped_executemany(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        cap.record(self, query)
        return executemany(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", wrapped_execute)
    monkeypatch.setattr(psycopg.Cursor, "executemany", wrapped_executemany)
    yield cap


def _workload(cap: Capture, url: str, embedder: Any) -> None:
    # exact_limit=0: every vector search takes the HNSW path too
    store = PostgresStore(url, exact_limit=0)
    store.migrate()
    eg = Engram(store=store, embedder=embedder)
    user, other = Scope(user_id="maya", session_id="s1"), Scope(user_id="li", tenant="acme")
    cap.step = "add"
    eg.add(["I moved to Lisbon in 2021", "My dog is called Biscuit"], scope=user)
    eg.add("Actually I live in Porto now", scope=user)
    eg.add("I work as a nurse in Boston", scope=other)
    cap.step = "jobs"
    eg.add("I love climbing on weekends", scope=user, derive="background")
    eg.process_pending()
    cap.step = "search"
    for preset in sorted(PRESETS):
        eg.search("where does maya live", scope=user, preset=preset)
    eg.search("dog", scope=user, kinds=["fact"], limit=3)
    # a store whose users fit its in-process index: the change feed's statements
    indexed = Engram(store=PostgresStore(url), embedder=embedder)
    for preset in sorted(PRESETS):
        indexed.search("where does maya live", scope=user, preset=preset)
    indexed.search("dog", scope=user, kinds=["fact"], limit=3)
    cap.step = "list"
    page = eg.list(scope=user, limit=1)
    eg.list(scope=user, limit=1, cursor=page.next_cursor)
    eg.list(scope=user, type="episode", limit=2)
    memory = eg.list(scope=user, limit=5).items[0]
    cap.step = "update"
    eg.update(memory.id, "I live in Porto, Portugal", scope=user)
    cap.step = "history"
    eg.history(memory.id, scope=user)
    eg.get(memory.id, scope=user, as_of=memory.created_at)
    eg.list(scope=user, as_of=memory.created_at, limit=5)
    cap.step = "delete"
    eg.delete(memory.id, scope=user)
    episodes = eg.list(scope=user, type="episode", limit=1).items
    eg.delete_episode(episodes[0].id, scope=user)
    cap.step = "browse"
    store.users("default")
    store.sessions(Scope(user_id="maya"))
    store.timeline(Scope(user_id="maya"), TimelineFilters(), 5)
    eg.stats(scope=user)
    eg.pending(scope=user)
    cap.step = "forget"
    eg.forget(scope=other)
    cap.step = "admin"
    eg.stats()
    eg.pending()
    eg.close()
    indexed.close()


def _violations(cap: Capture) -> list[str]:
    bad = []
    for step, text in cap.statements:
        if not _TABLE_REF.search(text):
            continue
        if text.upper().startswith("INSERT"):
            cols = text.split("(", 1)[1].split(")", 1)[0] if "(" in text else ""
            keyed = "tenant" in [c.strip() for c in cols.split(",")]
        else:
            keyed = bool(_KEYED.search(text))
        allowed = any(step in steps and re.search(p, text) for steps, p, _ in EXCEPTIONS)
        if not keyed and not allowed:
            bad.append(f"[{step}] {text[:300]}")
    return bad


def test_every_statement_on_a_tenant_table_keys_on_tenant(capture: Capture, embedder) -> None:  # type: ignore[no-untyped-def]
    _workload(capture, fresh_pg_url(), embedder)
    steps = {step for step, _ in capture.statements}
    assert {"add", "jobs", "search", "list", "update", "history", "delete", "browse",
            "forget"} <= steps
    on_tenant_tables = [t for _, t in capture.statements if _TABLE_REF.search(t)]
    assert len(on_tenant_tables) > 100, len(on_tenant_tables)
    assert _violations(capture) == []
    # the in-process index was loaded from, and kept current by, the change feed
    texts = [t for s, t in capture.statements if s == "search"]
    assert any("FROM item_changes WHERE tenant = %s" in t for t in texts)
    assert any(t.startswith("SELECT s.*, NULL::bigint AS changed") for t in texts)
    # the tenant's deletion markers (0009) are read in the same statements
    assert any("FROM item_changes g WHERE g.tenant = %s AND g.item = -3" in t for t in texts)

    # the HNSW scan itself is tenant-filtered (single shard), under SET LOCAL ef_search
    ann = [t for _, t in capture.statements if "ORDER BY embedding::vector(" in t]
    assert ann, "the workload never took the HNSW path"
    for text in ann:
        inner = text.split("WITH c AS MATERIALIZED", 1)[1].split(" LIMIT ", 1)[0]
        assert re.search(r"FROM vectors WHERE tenant = %s", inner), inner
    texts = [t for _, t in capture.statements]
    for i, text in enumerate(texts):
        if "ORDER BY embedding::vector(" in text:
            assert texts[i - 1].startswith("SET LOCAL hnsw.ef_search"), texts[i - 1]

    # no hot-path write reaches a reference table (it would touch every node), except
    # the once-per-store/once-per-model registrations and the known job counter
    ref = re.compile(r"^(?:INSERT INTO|UPDATE|DELETE FROM)\s+(" + "|".join(REFERENCE_TABLES)
                     + r")\b", re.I)
    # (forget is rare: its first run in a store creates the audit salt in meta)
    hot = [(s, t) for s, t in capture.statements
           if s not in ADMIN_STEPS | {"forget"} and ref.search(t)]
    once = [t for s, t in hot if s == "add"]
    assert sorted(once) == sorted([
        "INSERT INTO meta (key, value) VALUES (%s,%s) ON CONFLICT (key) DO UPDATE SET"
        " value = excluded.value",  # the store's embedding model, on its first use
        "INSERT INTO vector_spaces (model_id, dim) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        "INSERT INTO vector_spaces (model_id, dim, index_name) VALUES (%s, %s, %s) ON CONFLICT"
        " (model_id, dim) DO UPDATE SET index_name = excluded.index_name",
    ]), once
    assert [(s, t) for s, t in hot if s != "add"] == []
    # the job runner's totals: one tenant-keyed increment per finished job
    counted = [t for s, t in capture.statements if s == "jobs" and "job_counters" in t]
    assert counted and all(t.startswith("INSERT INTO job_counters (tenant,") for t in counted)


def test_every_key_of_a_tenant_table_starts_with_tenant(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        store.migrate()
        keys = store._q(
            "SELECT c.relname AS tbl, i.relname AS idx,"
            " (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(x.indkey)"
            "  WITH ORDINALITY k(attnum, n) JOIN pg_attribute a ON a.attrelid = x.indrelid"
            "  AND a.attnum = k.attnum) AS cols"
            " FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid"
            " JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE (x.indisunique OR x.indisprimary) AND c.relname = ANY(%s)"
            " AND c.relnamespace = current_schema()::regnamespace",
            (list(TENANT_TABLES),),
        )
    finally:
        store.close()
    assert {r["tbl"] for r in keys} == set(TENANT_TABLES)  # each has its primary key
    assert [(r["tbl"], r["idx"], r["cols"]) for r in keys if r["cols"][0] != "tenant"] == []
