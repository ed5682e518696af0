"""Property tests on random operation sequences (real SQLite, real embeddings).

* export then import into a fresh store is the identity;
* history is append-only: every version ever seen stays exactly as it was;
* forget leaves nothing: ``remaining`` all zero and raw SQL finds no row of the
  scope in any table, the FTS index or the vectors.
"""

from __future__ import annotations

import io
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engram import Engram, MemoryStatus, Scope
from engram.embed.base import Embedder, InputType

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

SENTENCES = [
    "I live in Berlin", "I moved to Lisbon", "I live in Porto", "I work at Acme",
    "I work at Globex", "My favourite food is ramen", "I like hiking in the Alps",
    "My sister Ana plays the cello", "I have a cat called Miso", "We visited Kyoto in May",
    "I am allergic to peanuts", "My birthday is on 3 March", "I prefer tea over coffee",
    "The meeting moved to Friday", "I started learning Portuguese",
]
USERS = ["u1", "u2"]
SESSIONS = [None, "s1", "s2"]


class Memo(Embedder):
    """The real embedder with a cache: same model id, identical vectors, faster reruns."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.cache: dict[tuple[str, str], np.ndarray] = {}

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if (t, input_type) not in self.cache]
        if missing:
            for t, v in zip(missing, self.inner.embed(missing, input_type), strict=True):
                self.cache[(t, input_type)] = v
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.cache[(t, input_type)] for t in texts])

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


@pytest.fixture(scope="module")
def memo(embedder: Embedder) -> Memo:
    return Memo(embedder)


op_add = st.tuples(st.just("add"), st.sampled_from(SENTENCES), st.sampled_from(USERS),
                   st.sampled_from(SESSIONS))
op_remember = st.tuples(st.just("remember"), st.sampled_from(SENTENCES), st.sampled_from(USERS),
                        st.sampled_from(["note", "plan", "preference"]))
op_update = st.tuples(st.just("update"), st.sampled_from(SENTENCES), st.integers(0, 50),
                      st.floats(0, 1))
op_delete = st.tuples(st.just("delete"), st.integers(0, 50))
OPS = st.lists(st.one_of(op_add, op_remember, op_update, op_delete), min_size=1, max_size=10)


def _apply(eg: Engram, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "add":
        eg.add(op[1], user_id=op[2], session_id=op[3], metadata={"n": len(op[1])})
    elif kind == "remember":
        eg.remember(op[1], user_id=op[2], kind=op[3], metadata={"k": op[3]})
    else:
        active = [
            m for u in USERS for m in eg.list(user_id=u, limit=1000).items
            if m.status == MemoryStatus.ACTIVE
        ]
        if not active:
            return
        m = active[op[-2 if kind == "update" else 1] % len(active)]
        if kind == "update":
            eg.update(m.id, op[1] + " indeed", importance=op[3], user_id=m.scope.user_id)
        else:
            eg.delete(m.id, user_id=m.scope.user_id)


def _export(eg: Engram, user: str) -> str:
    buf = io.StringIO()
    eg.export(buf, user_id=user)
    return buf.getvalue()


@SETTINGS
@given(ops=OPS)
def test_export_then_import_is_the_identity(memo: Memo, ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        with Engram(Path(d) / "src.db", embedder=memo) as src:
            for op in ops:
                _apply(src, op)
            dumps = {u: _export(src, u) for u in USERS}
            records = {u: list(src.export_records(user_id=u)) for u in USERS}
        with Engram(Path(d) / "dst.db", embedder=memo) as dst:
            for u in USERS:
                dst.import_(io.StringIO(dumps[u]))
            for u in USERS:
                assert list(dst.export_records(user_id=u)) == records[u]
                assert _export(dst, u) == dumps[u]
            again = dst.import_(io.StringIO(dumps["u1"]))  # idempotent
            assert again.episodes_created == again.memories_created == 0
            assert _export(dst, "u1") == dumps["u1"]


@SETTINGS
@given(ops=OPS)
def test_history_is_append_only(memo: Memo, ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as d, Engram(Path(d) / "h.db", embedder=memo) as eg:
        seen: dict[str, list[Any]] = {}
        for op in ops:
            _apply(eg, op)
            for u in USERS:
                for m in eg.list(user_id=u, include_inactive=True, limit=1000).items:
                    hist = eg.history(m.id, user_id=u)
                    old = seen.get(m.id, [])
                    assert hist[: len(old)] == old, "an existing version changed"
                    assert [v.version for v in hist] == list(range(1, len(hist) + 1))
                    assert hist[-1].version == m.version
                    assert hist[-1].after is not None
                    assert hist[-1].after["text"] == m.text
                    assert hist[-1].after["status"] == str(m.status)
                    seen[m.id] = hist


def _raw_counts(path: Path, scope: Scope) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        where = ["tenant = ?"]
        args: list[Any] = [scope.tenant]
        for col in ("user_id", "agent_id", "session_id"):
            if getattr(scope, col) is not None:
                where.append(f"{col} = ?")
                args.append(getattr(scope, col))
        w = " AND ".join(where)
        out = {
            t: con.execute(f"SELECT count(*) FROM {t} WHERE {w}", args).fetchone()[0]
            for t in ("episodes", "memories", "memory_versions", "jobs")
        }
        items = con.execute("SELECT (SELECT count(*) FROM episodes) +"
                            " (SELECT count(*) FROM memories)").fetchone()[0]
        out["fts_extra_rows"] = con.execute("SELECT count(*) FROM fts").fetchone()[0] - items
        out["fts_docsize_extra"] = (
            con.execute("SELECT count(*) FROM fts_docsize").fetchone()[0] - items
        )
        out["orphan_fts"] = con.execute(
            "SELECT count(*) FROM fts WHERE rowid NOT IN (SELECT rid * 2 FROM episodes"
            " UNION ALL SELECT rid * 2 + 1 FROM memories)"
        ).fetchone()[0]
        out["orphan_vectors"] = con.execute(
            "SELECT count(*) FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM episodes e"
            " WHERE v.item_type = 'episode' AND e.rid = v.item_rid) AND NOT EXISTS"
            " (SELECT 1 FROM memories m WHERE v.item_type = 'memory' AND m.rid = v.item_rid)"
        ).fetchone()[0]
        return out
    finally:
        con.close()


@SETTINGS
@given(
    ops=OPS,
    target=st.sampled_from([Scope(user_id="u1"), Scope(user_id="u1", session_id="s1"),
                            Scope(user_id="u2", session_id="s2")]),
)
def test_forget_leaves_nothing(memo: Memo, ops: list[tuple[Any, ...]], target: Scope) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.db"
        with Engram(path, embedder=memo) as eg:
            eg.add("zqxmarker secret words", user_id=target.user_id,
                   session_id=target.session_id)
            for op in ops:
                _apply(eg, op)
            others = {u: _export(eg, u) for u in USERS if u != target.user_id}
            rep = eg.forget(scope=target)
            assert rep.verified
            assert all(v == 0 for v in eg.store.remaining(target).values())
            assert eg.search("zqxmarker secret", scope=target) == []
            for u, text in others.items():
                assert _export(eg, u) == text  # other users untouched
        assert all(v == 0 for v in _raw_counts(path, target).values()), _raw_counts(path, target)
        con = sqlite3.connect(path)
        try:
            assert con.execute("SELECT count(*) FROM fts WHERE fts MATCH 'zqxmarker'"
                               ).fetchone()[0] == 0
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            con.close()
