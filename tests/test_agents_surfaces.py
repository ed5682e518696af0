"""Procedures, feedback and task trees through every surface: REST on a real server
(typed 4xx problems, nothing changed, tenants apart), MCP over HTTP with the SDK client,
and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx2
from click.testing import CliRunner
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from server_fixtures import RunningServer

from engram.cli import cli

AG = {"agent_id": "ops-bot"}


def test_rest_procedures_feedback_and_history(served: RunningServer) -> None:
    with served.client(served.key_a) as c:
        r = c.post("/v1/procedures", json={
            "task": "Rotate the API key of Nimbus", "steps": ["create key 42", "revoke old"],
            "outcome": "success", **AG})
        assert r.status_code == 201, r.text
        p = r.json()
        assert p["task"] == "Rotate the API key of <name>" and p["utility"]["count"] == 1
        r = c.post(f"/v1/memories/{p['id']}/feedback", json={"reward": 0, **AG})
        assert r.status_code == 200 and r.json()["utility"]["value"] == 0.5
        found = c.post("/v1/procedures/search", json={"task": "rotate the API key of Vega",
                                                      "exploration": "none", **AG}).json()
        assert [x["procedure"]["id"] for x in found["procedures"]] == [p["id"]]
        hist = c.get(f"/v1/memories/{p['id']}/history", params=AG).json()["versions"]
        assert [v["reason"] for v in hist][-1] == "feedback reward=0"
        # bad input: typed 4xx problems and nothing changed
        for body, status, code in (
                ({"reward": 1.5, **AG}, 422, "validation_error"),
                ({"reward": "great", **AG}, 422, "validation_error"),
                ({"reward": 1}, 400, "scope_required")):
            r = c.post(f"/v1/memories/{p['id']}/feedback", json=body)
            assert r.status_code == status and r.json()["code"] == code, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
        r = c.post("/v1/procedures", json={"task": "x", **AG})
        assert r.status_code == 400 and r.json()["code"] == "invalid_input"
        assert len(c.get(f"/v1/memories/{p['id']}/history", params=AG).json()["versions"]) == \
            len(hist)
        fact = c.post("/v1/memories", json={"text": "The VPN is down", **AG}).json()
        r = c.post(f"/v1/memories/{fact['id']}/feedback", json={"reward": 1, **AG})
        assert r.status_code == 400 and "not a procedure" in r.json()["detail"]
    with served.client(served.key_b) as other:  # another tenant: not found, unchanged
        r = other.post(f"/v1/memories/{p['id']}/feedback", json={"reward": 1, **AG})
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        assert other.post("/v1/procedures/search", json={"task": "rotate the API key",
                                                         **AG}).json()["procedures"] == []


def test_rest_task_tree_and_context(served: RunningServer) -> None:
    with served.client(served.key_a) as c:
        root = c.post("/v1/tasks", json={"title": "Migrate the billing database", **AG}).json()
        a = c.post("/v1/tasks", json={"title": "Export the data", "parent_id": root["id"],
                                      **AG}).json()
        b = c.post("/v1/tasks", json={"title": "Import the data", "parent_id": root["id"],
                                      **AG}).json()
        before = c.get(f"/v1/tasks/{a['id']}", params=AG).json()["version"]
        r = c.patch(f"/v1/tasks/{a['id']}", json={"status": "done",
                                                 "result": "4.2 GB exported", **AG})
        assert r.status_code == 200 and r.json()["version"] == before + 1
        ctx = c.get(f"/v1/tasks/{b['id']}/context", params={**AG, "max_tokens": 300}).json()
        assert ctx["path"] == [root["id"]] and ctx["siblings"] == [a["id"]]
        assert "4.2 GB exported" in ctx["text"]
        tree = c.get(f"/v1/tasks/{b['id']}/tree", params=AG).json()["nodes"]
        assert [n["id"] for n in tree] == [root["id"], a["id"], b["id"]]
        version = c.get(f"/v1/tasks/{b['id']}", params=AG).json()["version"]
        r = c.patch(f"/v1/tasks/{b['id']}", json={"status": "paused", **AG})
        assert r.status_code == 422
        r = c.patch(f"/v1/tasks/{b['id']}", json={"blocker": "no disk", **AG})
        assert r.status_code == 400 and r.json()["code"] == "invalid_input"
        assert c.get(f"/v1/tasks/{b['id']}", params=AG).json()["version"] == version
        r = c.get(f"/v1/tasks/{b['id']}/context", params={**AG, "max_tokens": 5})
        assert r.status_code == 422
    with served.client(served.key_b) as other:
        assert other.get(f"/v1/tasks/{b['id']}", params=AG).status_code == 404
        r = other.post("/v1/tasks", json={"title": "sub", "parent_id": root["id"], **AG})
        assert r.status_code == 404


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result
    return dict(result.structured_content)


def test_mcp_tools_over_http(served: RunningServer) -> None:
    async def connect(key: str) -> Client:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120)
        return Client(streamable_http_client(f"{served.url}/mcp", http_client=http))

    async def main() -> None:
        async with await connect(served.key_a) as client:
            p = _data(await client.call_tool("remember_procedure", {
                "task": "Renew the TLS certificate of shop.example.com",
                "steps": ["run certbot renew", "reload nginx"], **AG}))
            assert p["task"] == "Renew the TLS certificate of <host>"
            found = _data(await client.call_tool("find_procedures", {
                "task": "renew the TLS certificate of api.example.org", **AG}))
            assert found["procedures"][0]["procedure"]["id"] == p["id"]
            fb = _data(await client.call_tool("procedure_feedback", {
                "memory_id": p["id"], "reward": 1.0, **AG}))
            assert fb["utility"]["count"] == 2
            bad = await client.call_tool("procedure_feedback", {"memory_id": "mem_x",
                                                                "reward": 1.0, **AG})
            assert bad.is_error and bad.structured_content["code"] == "not_found"
            root = _data(await client.call_tool("task_create", {"title": "Renew all", **AG}))
            kid = _data(await client.call_tool("task_create", {
                "title": "Renew shop", "parent_id": root["id"], **AG}))
            _data(await client.call_tool("task_update", {"node_id": kid["id"],
                                                         "status": "blocked",
                                                         "blocker": "DNS not ready", **AG}))
            ctx = _data(await client.call_tool("task_context", {"node_id": root["id"], **AG}))
            assert "DNS not ready" in ctx["text"] and ctx["blockers"] == [kid["id"]]
            tree = _data(await client.call_tool("task_tree", {"node_id": kid["id"], **AG}))
            assert len(tree["nodes"]) == 2
        async with await connect(served.key_b) as client:
            out = await client.call_tool("task_context", {"node_id": root["id"], **AG})
            assert out.is_error and out.structured_content["code"] == "not_found"

    anyio.run(main)


def test_cli_procedures_and_tasks(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    run = CliRunner().invoke
    r = run(cli, ["--db", db, "procedure", "remember", "Convert report_3.csv to JSON",
                  "--step", "open report_3.csv", "--step", "dump JSON", "-a", "bot", "--json"])
    assert r.exit_code == 0, r.output
    pid = json.loads(r.stdout)["id"]
    r = run(cli, ["--db", db, "procedure", "feedback", pid, "0", "-a", "bot", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["utility"]["count"] == 2
    r = run(cli, ["--db", db, "procedure", "find", "convert data.csv to JSON", "-a", "bot"])
    assert r.exit_code == 0 and pid in r.stdout
    r = run(cli, ["--db", db, "procedure", "feedback", pid, "2", "-a", "bot"])
    assert r.exit_code == 2 and "reward" in r.output and "Traceback" not in r.output
    r = run(cli, ["--db", db, "task", "create", "Ship 1.0", "-a", "bot", "--json"])
    root = json.loads(r.stdout)["id"]
    r = run(cli, ["--db", db, "task", "create", "Tag it", "--parent", root, "-a", "bot"])
    assert r.exit_code == 0
    r = run(cli, ["--db", db, "task", "update", root, "--status", "blocked", "--blocker",
                  "waiting for review", "-a", "bot"])
    assert r.exit_code == 0 and "waiting for review" in r.stdout
    r = run(cli, ["--db", db, "task", "tree", root, "-a", "bot"])
    assert r.exit_code == 0 and "  " in r.stdout and "Tag it" in r.stdout
    r = run(cli, ["--db", db, "task", "context", root, "-a", "bot"])
    assert r.stdout.startswith("Current task: [blocked] Ship 1.0")
    r = run(cli, ["--db", db, "task", "update", root, "-a", "someone"])
    assert r.exit_code == 2
