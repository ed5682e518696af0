"""MCP round trips with the official SDK client: ``engram mcp`` over stdio, and /mcp over HTTP."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from server_fixtures import RunningServer, server_env, start_server, stop_server

TOOLS = {"add_memory", "search_memory", "get_context", "list_memories", "delete_memory"}


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result
    if result.structured_content is not None:
        return dict(result.structured_content)
    return dict(json.loads(result.content[0].text))


def _typed_error(result: Any, code: str) -> None:
    """A tool error carries Engram's code and message, structured and as JSON text."""
    assert result.is_error, result
    assert result.structured_content["code"] == code, result
    assert result.structured_content["message"], result
    assert json.loads(result.content[0].text) == result.structured_content


async def _round_trip(client: Client, user: str) -> None:
    tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for t in tools:
        assert t.description and "user_id" in t.input_schema["properties"]
    added = _data(await client.call_tool("add_memory", {"text": "I moved to Lisbon in March",
                                                         "user_id": user}))
    assert added["episodes"][0]["created"] is True
    found = _data(await client.call_tool("search_memory", {"query": "where does she live",
                                                           "user_id": user}))
    assert any("Lisbon" in r["text"] for r in found["results"])
    ctx = _data(await client.call_tool("get_context", {"query": "home city", "user_id": user}))
    assert "Lisbon" in ctx["text"]
    listed = _data(await client.call_tool("list_memories", {"user_id": user}))
    assert listed["memories"]
    mid = listed["memories"][0]["id"]
    gone = _data(await client.call_tool("delete_memory", {"memory_id": mid, "user_id": user}))
    assert gone == {"id": mid, "status": "deleted"}
    bad = await client.call_tool("delete_memory", {"memory_id": "mem_nope", "user_id": user})
    _typed_error(bad, "not_found")
    _typed_error(await client.call_tool("add_memory", {"text": "hi", "user_id": "ctl\x01"}),
                 "invalid_input")
    bad = await client.call_tool("search_memory", {"query": "", "user_id": user})
    assert bad.is_error


def test_stdio_round_trip(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", "from engram.cli import main; main()", "--db", str(tmp_path / "m.db"),
              "mcp", "--tenant", "t1"],
        env=env,
    )

    async def main() -> None:
        async with Client(params, read_timeout_seconds=120) as client:
            await _round_trip(client, "ana")

    anyio.run(main)


def test_http_round_trip_is_tenant_scoped(server: RunningServer) -> None:
    async def connect(key: str | None) -> Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        http = httpx2.AsyncClient(headers=headers, timeout=120)
        return Client(streamable_http_client(f"{server.url}/mcp", http_client=http))

    async def main() -> None:
        async with await connect(server.key_a) as client:
            await _round_trip(client, "mcp-user")
        async with await connect(server.key_b) as client:
            found = _data(await client.call_tool("search_memory", {"query": "Lisbon",
                                                                   "user_id": "mcp-user"}))
            assert found["results"] == []

    anyio.run(main)
    with server.client(server.key_a) as c:
        eps = c.get("/v1/memories", params={"user_id": "mcp-user", "type": "episode"}).json()
        assert [e["tenant"] for e in eps["items"]] == ["alpha"]
    r = httpx2.post(f"{server.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status_code == 401


def test_http_tool_errors_are_logged_without_traceback(server: RunningServer) -> None:
    log_path = server.db.parent / "server.log"
    start = log_path.stat().st_size

    async def main() -> None:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {server.key_a}"},
                                  timeout=120)
        async with Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as c:
            _typed_error(await c.call_tool("delete_memory", {"memory_id": "mem_gone_42",
                                                             "user_id": "u"}), "not_found")

    anyio.run(main)
    with log_path.open("rb") as f:
        f.seek(start)
        log = f.read().decode("utf-8", "replace")
    assert "delete_memory refused: not_found" in log
    assert "mem_gone_42" in log and "Traceback" not in log and " ERROR " not in log


def test_http_tool_call_takes_one_rate_limit_unit(tmp_path: Path) -> None:
    """The bucket of a key holds LIMIT requests: the MCP session's HTTP requests (counted
    on the client) plus the REST requests that still pass must be LIMIT, not fewer, so a
    tool call is not counted twice. Refill during the test only adds REST passes."""
    limit, calls = 20, 5
    srv = start_server(tmp_path, env_extra={"ENGRAM_RATE_LIMIT_PER_MINUTE": str(limit)})
    sent = []

    async def count(request: httpx2.Request) -> None:
        sent.append(request.method)

    async def main() -> None:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {srv.key_a}"},
                                  timeout=120, event_hooks={"request": [count]})
        async with Client(streamable_http_client(f"{srv.url}/mcp", http_client=http)) as c:
            for i in range(calls):
                r = await c.call_tool("search_memory", {"query": f"tea {i}", "user_id": "u"})
                assert not r.is_error, r

    try:
        anyio.run(main)
        with srv.client(srv.key_a) as rest:
            passed = 0
            while (r := rest.get("/v1/memories", params={"user_id": "u"})).status_code == 200:
                passed += 1
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert len(sent) + passed >= limit, (sent, passed)
        assert len(sent) >= calls
        # the /mcp endpoint's own refusals carry their headers
        r = httpx2.post(f"{srv.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                        headers={"Authorization": f"Bearer {srv.key_a}"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "rate_limited"
        r = httpx2.post(f"{srv.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["code"] == "unauthorized"
    finally:
        stop_server(srv)
