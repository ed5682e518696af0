"""Loading one owner's partition from the tables reads that owner's rows by the
(tenant, owner) index and each row's vector by key: never every vector of the
model (the planner, left to itself, drove from ``vectors_hash`` and scanned the
whole store to load one small user). Checked on the query plans of the very
statements the load sends, with the rows they return."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from contract_helpers import MODEL, add_episode, add_memory, episode, memory, unit

from engram.models import Scope, SearchFilters
from engram.store.sqlite import SQLiteStore


def test_a_partition_loads_by_its_owner_not_by_the_model(tmp_path: Path) -> None:
    path = tmp_path / "plan.db"
    store = SQLiteStore(path, synchronous="OFF")
    store.migrate()
    for u in range(20):
        scope = Scope(user_id=f"u{u}")
        for k in range(3):
            add_episode(store, episode(f"e{u}-{k}", scope, f"user {u} turn {k}"), unit(k))
        add_memory(store, memory(f"m{u}", scope, f"user {u} likes tea"), unit(5))
    sent: list[str] = []
    store._conn.set_trace_callback(sent.append)
    store._partitions.clear()
    hits = store.vector_search(Scope(user_id="u7"), unit(1), MODEL, SearchFilters(), 10)
    store._conn.set_trace_callback(None)
    assert {h.ref.id for h in hits} == {"e7-0", "e7-1", "e7-2", "m7"}
    loads = [s for s in sent if "LEFT JOIN fts f" in s]
    assert len(loads) == 2
    store.close()
    conn = sqlite3.connect(path)
    for sql in loads:
        plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "vectors_hash" not in plan, plan
        assert ("episodes_user" in plan or "memories_user" in plan), plan
        assert plan.index("USING INDEX") < plan.index("vectors_1"), plan
    conn.close()
