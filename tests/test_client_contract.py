"""One contract for ``Engram`` (embedded) and ``engram.Client`` (a real ``engram serve``).

Every scenario runs against both, so the client and the engine never drift: the same
calls return the same types with the same content, and the same mistakes raise the same
:mod:`engram.errors` classes. The retry tests use a scripted loopback HTTP server that
answers 503/429 first (the only stand-in: a real server cannot be made to fail on cue).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from server_fixtures import RunningServer, free_port, start_server, stop_server

from engram import (
    AddResult,
    AsyncClient,
    Client,
    ContextBlock,
    Engram,
    Episode,
    ForgetReport,
    Hit,
    InvalidInput,
    Memory,
    MemoryVersion,
    NotFound,
    Page,
    ScopeRequired,
    Stats,
)
from engram.client import RetryPolicy
from engram.errors import RateLimited, ServerUnavailable, StoreError


def _user(request: pytest.FixtureRequest) -> str:
    return "u-" + request.node.name.replace("[", "-").replace("]", "")


def test_add_list_get_search_context(api: Any, request: pytest.FixtureRequest) -> None:
    user = _user(request)
    res = api.add(["I moved to Lisbon in March.", "I am allergic to nuts."], user_id=user,
                  session_id="s1", metadata={"src": "chat"})
    assert isinstance(res, AddResult) and len(res.episodes) == 2
    assert all(e.created for e in res.episodes) and res.operations
    page = api.list(user_id=user)
    assert isinstance(page, Page) and all(isinstance(m, Memory) for m in page.items)
    assert {m.text for m in page.items} >= {"The user lives in Lisbon",
                                            "The user is allergic to nuts"}
    eps = api.list(user_id=user, type="episode", limit=1)
    assert isinstance(eps.items[0], Episode) and eps.next_cursor
    assert api.list(user_id=user, type="episode", cursor=eps.next_cursor).items
    mem = page.items[0]
    got = api.get(mem.id, user_id=user)
    assert isinstance(got, Memory) and got.id == mem.id and got.text == mem.text
    assert isinstance(api.get(res.episodes[0].id, user_id=user), Episode)
    hits = api.search("where does the user live?", user_id=user, limit=5)
    assert hits and all(isinstance(h, Hit) for h in hits)
    assert "Lisbon" in hits[0].item.text and hits[0].scores
    only = api.search("nuts", user_id=user, kinds=["episode"])
    assert only and all(isinstance(h.item, Episode) for h in only)
    block = api.context("what should I cook?", user_id=user, max_tokens=200)
    assert isinstance(block, ContextBlock) and 0 < block.tokens <= 200 and block.items
    st = api.stats(user_id=user)
    assert isinstance(st, Stats) and st.episodes == 2 and st.memories >= 2


def test_remember_update_delete_history(api: Any, request: pytest.FixtureRequest) -> None:
    user = _user(request)
    m = api.remember("Prefers morning meetings", user_id=user, kind="preference",
                     importance=0.8, metadata={"team": "a"},
                     valid_from=datetime(2024, 1, 1, tzinfo=UTC))
    assert isinstance(m, Memory) and m.kind == "preference" and m.metadata["team"] == "a"
    assert m.valid_from == datetime(2024, 1, 1, tzinfo=UTC)
    up = api.update(m.id, "Prefers afternoon meetings", user_id=user)
    assert isinstance(up, Memory) and up.version == 2 and up.text.startswith("Prefers after")
    gone = api.delete(m.id, user_id=user)
    assert gone.status == "deleted"
    assert api.delete(m.id, user_id=user).version == gone.version  # idempotent
    hist = api.history(m.id, user_id=user)
    assert all(isinstance(v, MemoryVersion) for v in hist)
    assert [str(v.operation) for v in hist] == ["ADD", "UPDATE", "DELETE"]
    assert api.list(user_id=user).items == []
    assert len(api.list(user_id=user, include_inactive=True).items) == 1


def test_export_import_forget(api: Any, request: pytest.FixtureRequest) -> None:
    user = _user(request)
    api.add("I prefer window seats.", user_id=user)
    records = list(api.export_records(user_id=user))
    assert {r["type"] for r in records} >= {"episode", "memory"}
    again = api.import_([json.dumps(r) for r in records])
    assert again.episodes_existing == 1 and again.episodes_created == 0
    report = api.forget(user_id=user)
    assert isinstance(report, ForgetReport) and report.verified and report.counts
    assert api.list(user_id=user).items == []
    assert api.stats(user_id=user).episodes == 0


def test_same_errors(api: Any, request: pytest.FixtureRequest) -> None:
    user = _user(request)
    with pytest.raises(NotFound):
        api.get("mem_missing", user_id=user)
    with pytest.raises(NotFound):
        api.update("mem_missing", "x", user_id=user)
    with pytest.raises(NotFound):
        api.history("mem_missing", user_id=user)
    with pytest.raises(ScopeRequired):
        api.search("anything")
    with pytest.raises(ScopeRequired):
        api.remember("a note")
    with pytest.raises(InvalidInput):
        api.search("x", user_id=user, limit=0)
    with pytest.raises(InvalidInput):
        api.update("mem_missing", user_id=user)  # nothing to update
    with pytest.raises(InvalidInput):
        api.remember("x", user_id=user, importance=2.0)


def test_versions_as_of_and_import_target(api: Any, request: pytest.FixtureRequest) -> None:
    from engram import Conflict

    user = _user(request)
    m = api.remember("Prefers tea", user_id=user)
    before_update = datetime.now(UTC)
    time.sleep(0.01)
    with pytest.raises(Conflict):
        api.update(m.id, "Prefers coffee", user_id=user, expected_version=5)
    up = api.update(m.id, "Prefers coffee", user_id=user, expected_version=1)
    assert api.get(m.id, user_id=user, as_of=before_update).text == "Prefers tea"
    assert [x.text for x in api.list(user_id=user, as_of=before_update).items] == [
        "Prefers tea"]
    with pytest.raises(Conflict):
        api.delete(m.id, user_id=user, expected_version=1)
    gone = api.delete(m.id, user_id=user, expected_version=up.version, reason="user asked")
    assert gone.status == "deleted"
    assert api.history(m.id, user_id=user)[-1].reason == "user asked"
    records = list(api.export_records(user_id=user))
    again = api.import_([json.dumps(r) for r in records], user_id=user + "-other")
    # the same ids in the same tenant: nothing new (served: the import stays in the key's tenant)
    assert again.lines == len(records) and again.memories_existing == 1


def test_client_signatures_match_the_engine() -> None:
    """Every Engram argument is a Client argument, but for the few that only make sense
    in-process (listed, with why)."""
    import inspect

    in_process_only = {
        "search": {"filters", "now", "track_access"},  # a SearchFilters object, test clocks
        "context": {"filters", "now", "candidates"},
        "list": {"filters"},
        "forget": {"markers", "llm_cache"},  # the server's audit settings decide these
        "import_": {"batch_size", "progress"},  # the server batches; no callback over HTTP
        "answer": {"now"},
    }
    for name in ("add", "search", "context", "get", "list", "remember", "update", "delete",
                 "delete_episode", "history", "forget", "export_records", "import_", "stats",
                 "answer"):
        engine = set(inspect.signature(getattr(Engram, name)).parameters) - {"self"}
        client = set(inspect.signature(getattr(Client, name)).parameters) - {"self"}
        assert engine - client == in_process_only.get(name, set()), name
        assert client - engine == set(), name
        assert callable(getattr(AsyncClient, name))


def test_async_client_matches_async_engram(served: RunningServer, tmp_path: Path,
                                           embedder: Any) -> None:
    from engram import AsyncEngram

    async def scenario(mem: Any) -> list[str]:
        await mem.add("I moved to Lisbon in March.", user_id="async-u")
        hits = await mem.search("where does the user live?", user_id="async-u")
        with pytest.raises(NotFound):
            await mem.get("mem_missing", user_id="async-u")
        out = [type(h.item).__name__ + ":" + h.item.text for h in hits if
               isinstance(h.item, Memory)]
        await mem.forget(user_id="async-u")
        return out

    async def both() -> tuple[list[str], list[str]]:
        async with AsyncClient(served.url, api_key=served.key_b) as ac:
            remote = await scenario(ac)
        local_engine = AsyncEngram(tmp_path / "a.db", embedder=embedder)
        try:
            local = await scenario(local_engine)
        finally:
            await local_engine.close()
        return remote, local

    remote, local = asyncio.run(both())
    assert remote == local and remote


# -- retries, timeouts, unreachable servers --------------------------------------------
class _Scripted(http.server.BaseHTTPRequestHandler):
    script: list[tuple[int, dict[str, str], Any]] = []
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.seen.append(self.headers.get("Authorization", ""))
        status, headers, body = self.script.pop(0) if self.script else (200, {}, {})
        if body == "sleep":
            time.sleep(2)
            status, body = 200, {}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/problem+json" if status >= 400
                         else "application/json")
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[_Scripted]]]:
    handler = type("H", (_Scripted,), {"script": [], "seen": []})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", handler
    srv.shutdown()
    srv.server_close()


STATS = {"episodes": 1, "memories": 2, "memories_by_status": {}, "memories_by_kind": {},
         "versions": 2, "vectors": 3, "embedding_model": "m", "schema_version": "1"}


def _problem(status: int, code: str) -> dict[str, Any]:
    return {"status": status, "code": code, "detail": f"scripted {code}", "title": "x"}


def test_retries_503_and_429_honouring_retry_after(scripted: Any) -> None:
    url, handler = scripted
    handler.script += [(503, {"Retry-After": "0"}, _problem(503, "store_error")),
                       (429, {"Retry-After": "0"}, _problem(429, "rate_limited")),
                       (200, {}, STATS)]
    with Client(url, api_key="k1", retry=RetryPolicy(max_retries=3)) as c:
        assert c.stats(user_id="u") == Stats(**STATS)
    assert handler.seen == ["Bearer k1"] * 3
    handler.script += [(429, {"Retry-After": "7"}, _problem(429, "rate_limited"))]
    with Client(url, api_key="k1", retry=RetryPolicy(max_retries=0)) as c:
        with pytest.raises(RateLimited) as info:
            c.stats(user_id="u")
    assert info.value.retry_after == 7
    handler.script += [(503, {}, _problem(503, "read_only"))] * 2
    with Client(url, retry=RetryPolicy(max_retries=1, backoff=0.01)) as c:
        with pytest.raises(StoreError) as err:
            c.stats(user_id="u")
    assert err.value.code == "read_only"


def test_timeout_and_unreachable_are_server_unavailable(scripted: Any) -> None:
    url, handler = scripted
    handler.script += [(200, {}, "sleep")]
    with Client(url, timeout=0.3, retry=RetryPolicy(max_retries=0)) as c:
        with pytest.raises(ServerUnavailable):
            c.stats(user_id="u")
    with Client(f"http://127.0.0.1:{free_port()}",
                retry=RetryPolicy(max_retries=2, backoff=0.01)) as c:
        with pytest.raises(ServerUnavailable):
            c.stats(user_id="u")


def test_answer_is_the_same_embedded_and_served(tmp_path: Path, embedder: Any,
                                                scripted_llm: Any) -> None:
    """``answer`` over REST (``POST /v1/answer``) returns what ``Engram.answer`` does."""
    from support.scripted_llm import ok

    def answering(request: Any) -> bool:
        first = request.messages[0] if request.messages else {}
        return str(first.get("content", "")).startswith("Answer the user's")

    scripted_llm.on(answering, ok({"answer": "Lisbon.", "supported": True,
                                   "citations": ["S1"]}))
    llm = {"llm_base_url": scripted_llm.base_url, "llm_model": scripted_llm.model}

    def scenario(mem: Any) -> tuple[str, bool, bool]:
        m = mem.remember("The user lives in Lisbon", user_id="ans", kind="fact")
        got = mem.answer("Where does the user live?", user_id="ans")
        return got.text, got.known, got.memory_ids == [m.id]

    (tmp_path / "srv").mkdir()
    srv = start_server(tmp_path / "srv", env_extra={
        "ENGRAM_" + k.upper(): v for k, v in llm.items()} | {
        "ENGRAM_LLM_API_KEY": scripted_llm.api_key or "k"})
    try:
        with Client(srv.url, api_key=srv.key_a) as c:
            remote = scenario(c)
    finally:
        stop_server(srv)
    with Engram(tmp_path / "e.db", embedder=embedder, **llm) as eg:
        local = scenario(eg)
    assert remote == local == ("Lisbon.", True, True)
