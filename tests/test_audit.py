"""Verified forgetting: forget leaves nothing of the subject in any table,
index, cache or raw file byte, and its audit record holds no personal text."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

from engram import Engram, Message
from engram.audit import purge_llm_cache, scope_digest
from engram.embed.base import Embedder
from engram.llm.cache import ResponseCache
from engram.llm.config import LLMSettings
from engram.models import Scope
from engram.store.rawfile import database_files, raw_file_scan
from engram.store.residue import EXPOSURE

MARKER = "Quetzalfrobnix"  # a word only the forgotten user ever wrote


def _llm(tmp_path: Path) -> LLMSettings:
    return LLMSettings(base_url="http://127.0.0.1:9/v1", model="scripted",
                       cache_dir=tmp_path / "llmcache")


def _fill(eg: Engram) -> None:
    for i, city in enumerate(["Lisbon", "Porto", "Madrid"]):
        eg.add([Message(f"I moved to {city}. My cat {MARKER} came along ({i}).", id=f"a-{i}")],
               user_id="alice", session_id="s1", metadata={"pet": MARKER})
    eg.remember(f"Alice's secret nickname is {MARKER}", user_id="alice")
    eg.add("I moved to Berlin and I play the cello", user_id="bob")


def test_forget_is_complete_and_audited(tmp_path: Path, embedder: Embedder,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "f.db"
    with Engram(path, embedder=embedder, llm=_llm(tmp_path)) as eg:
        _fill(eg)
        cache = ResponseCache(tmp_path / "llmcache")
        cache.put("k-alice", {"memories": [{"text": f"User's cat is {MARKER}"}],
                              "cites": ["a-0"]})
        cache.put("k-bob", {"memories": [{"text": "User plays the cello"}]})
        cache.close()
        # never read a live store's file in-process (it drops our locks): the helper's child does
        assert raw_file_scan(database_files(path), [MARKER]) == {MARKER}

        report = eg.forget(user_id="alice", markers=[MARKER])

        assert report.verified
        audit = report.audit
        assert audit is not None and audit.verified and audit.raw_scan is True
        assert audit.counts["episodes"] == 3 and audit.counts["memories"] >= 1
        assert audit.counts["jobs"] >= 1  # queued LLM jobs of the subject go too
        assert audit.counts["vectors"] > 0 and audit.counts["fts"] > 0
        assert all(v == 0 for k, v in audit.remaining.items() if k != "orphan_vectors")
        assert audit.caches == {"llm_responses": 1}
        assert audit.search_hits == 0
        assert audit.backend == "sqlite"
        assert audit.checks == {"llm_cache": "passed", "rows": "passed", "search": "passed",
                                "wal_checkpoint": "passed", "raw_file": "passed"}
        assert audit.exposure == ["backups", "storage_blocks"]
        assert set(EXPOSURE) >= set(audit.exposure)
        record = json.dumps(audit.to_dict())
        assert "alice" not in record and MARKER not in record
        assert audit.scope_hash == scope_digest(eg.store, Scope(user_id="alice"))
        # nothing left through the public API either
        assert eg.list(user_id="alice", type="episode").items == []
        assert eg.search(f"cat {MARKER}", user_id="alice") == []
        # bob is untouched
        assert eg.search("cello", user_id="bob")
    # raw bytes: the marker is gone from the database, its WAL and the LLM cache
    assert MARKER.encode() not in path.read_bytes() + _wal(path)
    llm_file = tmp_path / "llmcache" / "llm-cache.sqlite3"
    assert MARKER.encode() not in llm_file.read_bytes() + _wal(llm_file)
    con = sqlite3.connect(llm_file)
    assert [r[0] for r in con.execute("SELECT key FROM llm_responses")] == ["k-bob"]
    con.close()
    # log lines never carry the forgotten text
    assert not any(MARKER in r.getMessage() for r in caplog.records)


def test_scope_hash_is_salted_per_store(tmp_path: Path, embedder: Embedder) -> None:
    with Engram(tmp_path / "a.db", embedder=embedder) as a, \
         Engram(tmp_path / "b.db", embedder=embedder) as b:
        sc = Scope(user_id="alice")
        assert scope_digest(a.store, sc) == scope_digest(a.store, sc)
        assert scope_digest(a.store, sc) != scope_digest(b.store, sc)
        assert "alice" not in scope_digest(a.store, sc)


def test_forget_session_keeps_other_sessions(tmp_path: Path, embedder: Embedder) -> None:
    with Engram(tmp_path / "s.db", embedder=embedder) as eg:
        eg.add(f"Session one mentions {MARKER}", user_id="u", session_id="one")
        eg.add("Session two mentions tulips", user_id="u", session_id="two")
        report = eg.forget(user_id="u", session_id="one", markers=[MARKER])
        assert report.verified and report.counts["episodes"] == 1
        assert len(eg.list(user_id="u", type="episode").items) == 1


def test_purge_llm_cache_modes(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    cache.put("k1", {"t": "about Zorblat"})
    cache.put("k2", {"t": "about something else"})
    cache.close()
    assert purge_llm_cache(tmp_path, ["Zorblat"], "keep") == 0
    assert purge_llm_cache(tmp_path, ["Zorblat"], "scoped") == 1
    assert purge_llm_cache(tmp_path, [], "all") == 1
    assert purge_llm_cache(tmp_path / "missing", ["x"], "all") == 0


def test_bad_cache_mode_is_invalid_input(tmp_path: Path, embedder: Embedder) -> None:
    from engram.errors import InvalidInput

    with Engram(tmp_path / "m.db", embedder=embedder) as eg:
        eg.add("hello there", user_id="u")
        with pytest.raises(InvalidInput):
            eg.forget(user_id="u", llm_cache="sometimes")
        assert eg.stats(user_id="u").episodes == 1  # nothing deleted


def _wal(p: Path) -> bytes:
    w = p.with_name(p.name + "-wal")
    return w.read_bytes() if w.exists() else b""
