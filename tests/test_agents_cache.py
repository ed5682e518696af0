"""The category-aware semantic cache (issue #20, item 5): repeated and near-identical
searches answered from it, per-category thresholds and TTLs, never a stale or forgotten
answer (writes by this process or another one, forget, delete), off by default."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from server_fixtures import RunningServer
from stores import make_store
from support.embedcalls import record_embed_calls

from engram import Engram
from engram.agents.cache import QueryCategory, SemanticCache, anchors, categorize, normalise
from engram.retrieval.unnamed import unnamed
from engram.store.memory import MemoryStore

U = {"user_id": "u"}


@pytest.fixture
def eg(tmp_path: Path, embedder: Any) -> Iterator[Engram]:
    with Engram(tmp_path / "cache.db", embedder=embedder, semantic_cache=True) as e:
        e.remember("Anna works as a nurse in Lisbon.", **U)
        e.remember("Bob is a carpenter in Porto.", **U)
        yield e


@pytest.mark.parametrize(("query", "category"), [
    ("When did Anna move to Lisbon?", QueryCategory.TEMPORAL),
    ("What did I do last weekend?", QueryCategory.TEMPORAL),
    ("How long have I been learning Spanish?", QueryCategory.TEMPORAL),
    ("Which concerts did we see in 2022?", QueryCategory.TEMPORAL),
    ("How do I reset the router?", QueryCategory.PROCEDURAL),
    ("What are the steps to deploy the billing service?", QueryCategory.PROCEDURAL),
    ("Best way to fix the flaky upload test", QueryCategory.PROCEDURAL),
    ("What kind of music does Anna like?", QueryCategory.PREFERENCE),
    ("Which do I prefer, tea or coffee?", QueryCategory.PREFERENCE),
    ("What's my favourite restaurant?", QueryCategory.PREFERENCE),
    ("Where does Anna work?", QueryCategory.FACTUAL),
    ("What is the name of Bob's dog?", QueryCategory.FACTUAL),
    ("Who is my dentist?", QueryCategory.FACTUAL),
])
def test_queries_fall_into_categories(query: str, category: QueryCategory) -> None:
    assert categorize(query) == category


@pytest.mark.parametrize(("a", "b", "same"), [
    ("Where does Anna work?", "where does anna work", True),
    ("Where does Anna work?", "Where does Bob work?", False),
    ("What did I buy in 2021?", "What did I buy in 2022?", False),
    ("What happened last week?", "What happened next week?", False),
    ("Do I like jazz?", "Don't I like jazz?", False),
    ("Who came first?", "Who came last?", False),
    ("What is Anna's job?", "What job does Anna have?", True),
])
def test_anchors_tell_answers_apart(a: str, b: str, same: bool) -> None:
    assert anchors(a).matches(anchors(b)) is same
    assert anchors(b).matches(anchors(a)) is same


def test_a_repeat_and_a_paraphrase_are_answered_from_the_cache(eg: Engram) -> None:
    assert eg.cache is not None
    first = eg.search("Where does Anna work?", **U, limit=3)
    again = eg.search("where does Anna work", **U, limit=3)
    para = eg.search("Where does Anna work at?", **U, limit=3)
    assert [h.ref for h in again] == [h.ref for h in para] == [h.ref for h in first]
    stats = eg.cache.stats()
    assert (stats.hits, stats.misses, stats.size) == (2, 1, 1)
    other = eg.search("Where does Bob work?", **U, limit=3)  # a near miss: another name
    assert "Porto" in other[0].text and eg.cache.stats().hits == 2
    eg.search("Where does Anna work?", **U, limit=5)  # another limit: another entry
    eg.search("Where does Anna work?", user_id="someone-else", limit=3)  # another scope
    assert eg.cache.stats().hits == 2


def test_a_named_question_is_embedded_with_its_unnamed_reading_in_one_call(
        eg: Engram, tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache needs the question's vector before it searches; the search reads the
    question without its names too, and both are embedded in one call (two passes at
    once), not one after the other. The hits are those of a search without the cache."""
    q = "Where does Anna work these days?"
    rest = unnamed(q)
    assert rest is not None
    calls = record_embed_calls(monkeypatch, eg.embedder())
    hits = eg.search(q, **U)
    assert [c for c in calls if q in c or rest in c] == [[q, rest]]
    with Engram(tmp_path / "cache.db", embedder=embedder) as plain:
        assert [h.ref for h in plain.search(q, **U)] == [h.ref for h in hits]


def test_cached_hits_are_copies(eg: Engram) -> None:
    hits = eg.search("Where does Anna work?", **U, limit=3)
    hits[0].item.text = "changed by the caller"
    assert eg.search("Where does Anna work?", **U, limit=3)[0].text != "changed by the caller"


def test_a_write_ends_every_cached_answer(eg: Engram) -> None:
    eg.search("Who lives in Lisbon?", **U, limit=5)
    new = eg.remember("Carla moved to Lisbon in May.", **U)
    hits = eg.search("Who lives in Lisbon?", **U, limit=5)
    assert new.id in {h.ref.id for h in hits}
    assert eg.cache is not None and eg.cache.stats().hits == 0


def test_a_write_by_another_process_ends_every_cached_answer(eg: Engram, tmp_path: Path) -> None:
    eg.search("Who lives in Lisbon?", **U, limit=5)
    code = ("import sys; from engram import Engram\n"
            "with Engram(sys.argv[1]) as e: e.remember('Dora lives in Lisbon too.', user_id='u')")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "cache.db")], check=True,
                   timeout=120)
    hits = eg.search("Who lives in Lisbon?", **U, limit=5)
    assert any("Dora" in h.text for h in hits)
    assert eg.cache is not None and eg.cache.stats().hits == 0


def test_forgotten_and_deleted_text_never_comes_from_the_cache(eg: Engram) -> None:
    secret = eg.remember("My locker code at the gym is 4417.", **U)
    assert "4417" in eg.search("What is my locker code?", **U, limit=3)[0].text
    eg.delete(secret.id, **U)
    assert all("4417" not in h.text for h in eg.search("What is my locker code?", **U, limit=3))
    eg.search("Where does Anna work?", **U, limit=3)
    assert eg.cache is not None and eg.cache.stats().size == 2
    assert eg.forget(**U, markers=["Anna works as a nurse"]).verified
    assert eg.cache.stats().size == 0
    assert eg.search("Where does Anna work?", **U, limit=3) == []


def test_off_by_default_and_never_on_a_store_without_a_change_marker(
        tmp_path: Path, embedder: Any) -> None:
    with Engram(tmp_path / "plain.db", embedder=embedder) as plain:
        assert plain.cache is None
    class NoMarker(MemoryStore):
        def change_marker(self) -> str | None:
            return None

    store = NoMarker()
    store.migrate()
    with Engram(store=store, embedder=embedder, semantic_cache=True) as blind:
        blind.remember("Anna works as a nurse in Lisbon.", **U)
        for _ in range(2):
            assert "Lisbon" in blind.search("Where does Anna work?", **U, limit=3)[0].text
        assert blind.cache is not None and blind.cache.stats().hits == 0


def test_each_category_has_its_ttl_and_threshold() -> None:
    clock = [0.0]
    cache = SemanticCache(lambda: "m1", clock=lambda: clock[0])
    v = np.ones(4, dtype=np.float32) / 2.0
    side = np.array([0.5, -0.5, 0.5, -0.5], dtype=np.float32)  # orthogonal to v
    near = 0.965 * v + np.sqrt(1 - 0.965**2) * side  # cosine 0.965 with v
    for query in ("When did Anna move?", "Where does Anna work?", "How do I reset it?"):
        cache.put("k", query, v, [], "m1")
    assert cache.lookup("k", "when did anna move", None) == []  # exact text
    assert 0.96 < float(np.dot(v, near)) < 0.97
    assert cache.lookup("k", "Where does Anna work now?", near) is None  # anchors differ
    assert cache.lookup("k", "Where is Anna working?", near) == []  # factual: 0.96
    assert cache.lookup("k", "When has Anna moved?", near) is None  # temporal: 0.97
    clock[0] = 301.0  # temporal entries live 5 minutes, factual an hour, procedural a day
    assert cache.lookup("k", "when did anna move", None) is None
    assert cache.lookup("k", "where does anna work", None) == []
    clock[0] = 3601.0
    assert cache.lookup("k", "where does anna work", None) is None
    assert cache.lookup("k", "how do i reset it", None) == []
    assert cache.stats().expired == 2
    assert normalise("  How do I   reset it?! ") == "how do i reset it"


def test_rest_links_and_cache_stats(server: RunningServer) -> None:
    with server.client(server.key_a) as c:
        ids = []
        for text in ("My sister Anna lives in Lisbon.",
                     "Anna works as a nurse at a hospital in Lisbon."):
            r = c.post("/v1/memories", json={"user_id": "linker", "text": text})
            assert r.status_code == 201, r.text
            assert "note" in r.json()["metadata"]["engram"]
            ids.append(r.json()["id"])
        links = c.get(f"/v1/memories/{ids[1]}/links", params={"user_id": "linker"}).json()
        assert [(x["memory_id"], x["direction"]) for x in links["links"]] == [(ids[0], "out")]
        assert links["links"][0]["memory"]["text"].startswith("My sister Anna")
        missing = c.get("/v1/memories/mem_nope/links", params={"user_id": "linker"})
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        assert c.get(f"/v1/memories/{ids[1]}/links").status_code == 400  # no scope
        assert c.get("/v1/cache").json() == {
            "enabled": False, "hits": 0, "misses": 0, "invalidations": 0, "expired": 0,
            "size": 0, "hits_by_category": {}}
    assert httpx.get(f"{server.url}/v1/cache").status_code == 401


def test_mcp_memory_links(server: RunningServer) -> None:
    import anyio
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    with server.client(server.key_a) as c:
        ids = [c.post("/v1/memories", json={"user_id": "mcp-linker", "text": t}).json()["id"]
               for t in ("My brother Tom is a pilot in Oslo.",
                         "Tom flies cargo planes out of Oslo airport.")]

    async def main() -> None:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {server.key_a}"},
                                 timeout=120)
        async with Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as mc:
            got = await mc.call_tool("memory_links", {"memory_id": ids[1],
                                                      "user_id": "mcp-linker"})
            assert not got.is_error, got
            data = got.structured_content
            assert [x["memory_id"] for x in data["links"]] == [ids[0]]
            missing = await mc.call_tool("memory_links", {"memory_id": "mem_nope",
                                                          "user_id": "mcp-linker"})
            assert missing.is_error and missing.structured_content["code"] == "not_found"

    anyio.run(main)


@pytest.mark.parametrize("kind", ["sqlite", "memory", "postgres"])
def test_the_change_marker_moves_with_every_write(tmp_path: Path, embedder: Any,
                                                 kind: str) -> None:
    with Engram(store=make_store(kind, tmp_path), embedder=embedder) as eg:
        marks = [eg.store.change_marker()]
        m = eg.remember("Anna works as a nurse in Lisbon.", **U)
        marks.append(eg.store.change_marker())
        eg.update(m.id, metadata={"k": "v"}, **U)  # a metadata-only change
        marks.append(eg.store.change_marker())
        eg.forget(**U)
        marks.append(eg.store.change_marker())
        assert None not in marks and len(set(marks)) == 4
        assert eg.store.change_marker() == marks[-1]  # reads change nothing


def test_postgres_answers_from_the_cache_until_another_connection_writes(
        tmp_path: Path, embedder: Any) -> None:
    from engram.store import open_store

    store = make_store("postgres", tmp_path)
    with Engram(store=store, embedder=embedder, semantic_cache=True) as eg:
        eg.remember("Anna works as a nurse in Lisbon.", **U)
        first = eg.search("Where does Anna work?", **U, limit=3)
        assert eg.search("Where does Anna work?", **U, limit=3) == first
        assert eg.cache is not None and eg.cache.stats().hits == 1
        other = open_store(store.url)  # another connection (another process alike)
        try:
            with Engram(store=other, embedder=embedder) as writer:
                writer.remember("Anna now works as a teacher in Porto.", **U)
        finally:
            other.close()
        after = eg.search("Where does Anna work?", **U, limit=3)
        assert eg.cache.stats().hits == 1  # the marker moved: searched again
        assert any("Porto" in h.text for h in after)
