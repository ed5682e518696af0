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
from server_fixtures import RunningServer, server_env

TOOLS = {"add_memory", "search_memory", "get_context", "list_memories", "delete_memory"}


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result
    if result.structured_content is not None:
        return dict(result.structured_content)
    return dict(json.loads(result.content[0].text))


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
    assert bad.is_error
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
