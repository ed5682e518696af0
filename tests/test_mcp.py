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

import engram

TOOLS = {"add_memory", "search_memory", "get_context", "get_memory", "list_memories",
         "update_memory", "delete_memory", "delete_episode", "memory_history", "forget",
         "list_users", "list_sessions", "memory_links"}
READ_ONLY = {"search_memory", "get_context", "get_memory", "list_memories", "memory_history",
             "list_users", "list_sessions", "memory_links"}
DESTRUCTIVE = {"delete_memory", "delete_episode", "forget"}
# procedures and task trees (server/mcp_procedures.py)
TOOLS |= {"remember_procedure", "find_procedures", "procedure_feedback", "task_create",
          "task_update", "task_tree", "task_context"}
READ_ONLY |= {"find_procedures", "task_tree", "task_context"}
# a user's profile, answering as the user (server/mcp_persona.py)
TOOLS |= {"user_profile", "fill_form", "draft_reply"}
READ_ONLY |= {"user_profile", "fill_form", "draft_reply"}


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


def _check_tools(tools: list[Any]) -> None:
    """Every tool: a description, input and output schemas, and honest annotations."""
    assert {t.name for t in tools} == TOOLS
    by_name = {t.name: t for t in tools}
    for t in tools:
        assert t.description and t.input_schema["type"] == "object"
        assert t.output_schema and t.output_schema["type"] == "object", t.name
        a = t.annotations
        assert a.read_only_hint is (t.name in READ_ONLY), t.name
        assert a.destructive_hint is (t.name in DESTRUCTIVE), t.name
        assert a.open_world_hint is False
        if t.name not in ("list_users",):
            assert "user_id" in t.input_schema["properties"], t.name
    assert by_name["forget"].annotations.idempotent_hint is True
    assert by_name["delete_episode"].annotations.idempotent_hint is True
    assert by_name["add_memory"].annotations.idempotent_hint is False
    props = by_name["add_memory"].input_schema["properties"]
    assert {"agent_id", "session_id", "speaker", "occurred_at", "metadata"} <= set(props)
    assert "assistant" in json.dumps(props["role"])
    search = by_name["search_memory"].input_schema["properties"]
    assert {"as_of", "metadata", "kinds", "preset", "start", "end"} <= set(search)
    assert "preference" in json.dumps(search["kinds"]) and "default" in json.dumps(
        search["preset"])
    assert "episode" in json.dumps(by_name["list_memories"].input_schema["properties"]["type"])


async def _round_trip(client: Client, user: str) -> None:
    info = client.server_info
    assert info is not None and info.name == "engram" and info.version == engram.__version__
    _check_tools((await client.list_tools()).tools)
    added = _data(await client.call_tool("add_memory", {
        "text": "I moved to Lisbon in March", "user_id": user, "session_id": "s1",
        "speaker": "Ana", "occurred_at": "2024-03-02T10:00:00Z", "metadata": {"src": "chat"}}))
    assert added["episodes"][0]["created"] is True and added["operations"]
    found = _data(await client.call_tool("search_memory", {"query": "where does she live",
                                                           "user_id": user}))
    assert any("Lisbon" in r["text"] for r in found["results"])
    only = _data(await client.call_tool("search_memory", {
        "query": "Lisbon", "user_id": user, "kinds": ["episode"],
        "metadata": {"src": "chat"}, "as_of": "2100-01-01T00:00:00Z"}))
    assert only["results"] and all(r["type"] == "episode" for r in only["results"])
    ctx = _data(await client.call_tool("get_context", {"query": "home city", "user_id": user,
                                                       "as_of": "2100-01-01T00:00:00Z"}))
    assert "Lisbon" in ctx["text"]
    assert ctx["refs"] and all(f"[{n}] " in ctx["text"] and ref.startswith(("mem_", "ep_"))
                               for n, ref in ctx["refs"].items())  # [n] -> an id
    profile = _data(await client.call_tool("user_profile", {"user_id": user}))
    assert {"name": "lives_in", "value": "Lisbon"}.items() <= profile["attributes"][0].items()
    form = _data(await client.call_tool("fill_form", {"fields": ["Home city", "Blood type"],
                                                      "user_id": user}))
    assert [(f["value"], len(f["citations"])) for f in form["fields"]] == [("Lisbon", 1), ("", 0)]
    reply = _data(await client.call_tool("draft_reply", {"message": "Where do you live now?",
                                                         "user_id": user}))
    assert reply["text"] == "I live in Lisbon." and reply["citations"]
    _typed_error(await client.call_tool("fill_form", {"fields": ["a", "a"], "user_id": user}),
                 "invalid_input")
    listed = _data(await client.call_tool("list_memories", {"user_id": user}))
    assert listed["items"] and listed["items"][0]["type"] == "memory"
    eps = _data(await client.call_tool("list_memories", {"user_id": user, "type": "episode"}))
    assert eps["items"][0]["session_id"] == "s1"
    mid = listed["items"][0]["id"]
    got = _data(await client.call_tool("get_memory", {"item_id": mid, "user_id": user}))
    assert got["type"] == "memory" and got["item"]["id"] == mid
    up = _data(await client.call_tool("update_memory", {"memory_id": mid, "user_id": user,
                                                        "text": "The user lives in Porto"}))
    assert up["version"] == 2 and up["text"] == "The user lives in Porto"
    gone = _data(await client.call_tool("delete_memory", {"memory_id": mid, "user_id": user}))
    assert gone["id"] == mid and gone["status"] == "deleted"
    hist = _data(await client.call_tool("memory_history", {"memory_id": mid, "user_id": user}))
    assert [v["operation"] for v in hist["versions"]] == ["ADD", "UPDATE", "DELETE"]
    users = _data(await client.call_tool("list_users", {}))
    assert user in {s["id"] for s in users["subjects"]}
    sessions = _data(await client.call_tool("list_sessions", {"user_id": user}))
    assert [s["id"] for s in sessions["subjects"]] == ["s1"]
    await client.call_tool("add_memory", {"text": "Note to self: be brief", "agent_id": "bot"})
    erased = _data(await client.call_tool("forget", {"agent_id": "bot"}))
    assert erased["verified"] is True
    assert _data(await client.call_tool("list_memories", {"agent_id": "bot"}))["items"] == []
    said = _data(await client.call_tool("add_memory", {"text": "I am allergic to nuts.",
                                                       "user_id": user, "session_id": "s1"}))
    ep = said["episodes"][0]["id"]
    dropped = _data(await client.call_tool("delete_episode", {"episode_id": ep, "user_id": user}))
    assert dropped["episode_id"] == ep and len(dropped["deleted_memory_ids"]) == 1
    left = _data(await client.call_tool("search_memory", {"query": "allergic to nuts",
                                                          "user_id": user}))
    assert not any("nuts" in r["text"] for r in left["results"])
    _typed_error(await client.call_tool("delete_episode", {"episode_id": ep, "user_id": user}),
                 "not_found")
    bad = await client.call_tool("delete_memory", {"memory_id": "mem_nope", "user_id": user})
    _typed_error(bad, "not_found")
    _typed_error(await client.call_tool("add_memory", {"text": "hi", "user_id": "ctl\x01"}),
                 "invalid_input")
    _typed_error(await client.call_tool("search_memory", {"query": "x"}), "scope_required")
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
        # the /mcp endpoint's own refusals carry their headers (the bucket refills a
        # request every 60 / LIMIT s: on a loaded machine one may have come back since
        # the last REST refusal, and the ping it lets through is refused as no session)
        for _ in range(limit):
            r = httpx2.post(f"{srv.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                            headers={"Authorization": f"Bearer {srv.key_a}"})
            if r.status_code == 429:
                break
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "rate_limited"
        r = httpx2.post(f"{srv.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["code"] == "unauthorized"
    finally:
        stop_server(srv)


def test_client_config_snippets_in_the_docs_parse() -> None:
    """docs/server.md's MCP client configs are valid JSON naming this server's two transports."""
    doc = (Path(__file__).parent.parent / "docs" / "server.md").read_text()
    blocks = [json.loads(b.split("```")[0]) for b in doc.split("```json\n")[1:]]
    servers = [b["mcpServers"]["engram"] for b in blocks if "mcpServers" in b]
    stdio = next(s for s in servers if "command" in s)
    assert stdio["command"] == "engram" and stdio["args"][-3:] == ["mcp", "--tenant", "me"]
    http = next(s for s in servers if "url" in s)
    assert http["url"].endswith("/mcp") and http["headers"]["Authorization"].startswith("Bearer ")
