"""REST resources users expect: a tenant's users, agents and sessions, a session's last
messages, metadata filters with comparisons and AND/OR, readable operationIds."""

from __future__ import annotations

import json

import httpx
from server_fixtures import RunningServer


def _add(c: httpx.Client, **body: object) -> None:
    r = c.post("/v1/messages", json={"derive": "sync", **body})
    assert r.status_code == 200, r.text


def test_users_agents_sessions_and_last_messages(server: RunningServer) -> None:
    with server.client(server.key_b) as c:
        for i in range(5):
            _add(c, user_id="res-u1", session_id="res-s1", messages=[
                {"text": f"message {i}", "occurred_at": f"2024-05-0{i + 1}T10:00:00Z"}])
        _add(c, user_id="res-u2", session_id="res-s2", messages=[{"text": "I like tea."}])
        _add(c, agent_id="res-bot", messages=[{"text": "Be brief.", "role": "system"}])
        users = {s["id"]: s for s in c.get("/v1/users").json()["subjects"]}
        assert users["res-u1"]["episodes"] == 5 and users["res-u2"]["memories"] >= 1
        assert users["res-u1"]["last_activity_at"] and users["res-u2"]["episodes"] == 1
        order = [s["id"] for s in c.get("/v1/users").json()["subjects"]]
        assert order.index("res-u2") < order.index("res-u1")  # most recently active first
        assert "res-bot" in {s["id"] for s in c.get("/v1/agents").json()["subjects"]}
        mine = c.get("/v1/sessions", params={"user_id": "res-u1"}).json()["subjects"]
        assert [s["id"] for s in mine] == ["res-s1"]
        assert {"res-s1", "res-s2"} <= {s["id"] for s in c.get("/v1/sessions").json()["subjects"]}
        last = c.get("/v1/sessions/res-s1/messages",
                     params={"user_id": "res-u1", "order": "desc", "limit": 2}).json()
        assert [m["text"] for m in last["messages"]] == ["message 4", "message 3"]
        first = c.get("/v1/sessions/res-s1/messages", params={"user_id": "res-u1"}).json()
        assert [m["text"] for m in first["messages"]][:2] == ["message 0", "message 1"]
        r = c.get("/v1/sessions/res-s1/messages")
        assert r.status_code == 400 and r.json()["code"] == "scope_required"
    with server.client(server.key_a) as other:  # another tenant sees none of it
        assert "res-u1" not in {s["id"] for s in other.get("/v1/users").json()["subjects"]}


def test_metadata_filters_with_comparisons(server: RunningServer) -> None:
    with server.client(server.key_b) as c:
        for year, tag in ((2019, "a"), (2021, "b"), (2023, "c")):
            _add(c, user_id="res-meta", messages=[
                {"text": f"Trip report {year}: hiking", "metadata": {"year": year, "tag": tag}}])
        where = {"AND": [{"year": {"gte": 2020}}, {"OR": [{"tag": "b"}, {"tag": {"in": ["c"]}}]}]}
        hits = c.post("/v1/search", json={"query": "hiking trip", "user_id": "res-meta",
                                          "kinds": ["episode"], "where": where}).json()["hits"]
        assert sorted(h["item"]["metadata"]["year"] for h in hits) == [2021, 2023]
        ne = c.post("/v1/search", json={"query": "hiking", "user_id": "res-meta",
                                        "kinds": ["episode"],
                                        "where": {"tag": {"ne": "a"}}}).json()["hits"]
        assert {h["item"]["metadata"]["tag"] for h in ne} == {"b", "c"}
        page = c.get("/v1/memories", params={"user_id": "res-meta", "type": "episode",
                                             "where": json.dumps({"year": {"lt": 2020}})})
        assert [e["metadata"]["year"] for e in page.json()["items"]] == [2019]
        bad = c.post("/v1/search", json={"query": "x", "user_id": "res-meta",
                                         "where": {"year": {"in": 2020}}})
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"
        bad = c.get("/v1/memories", params={"user_id": "res-meta", "where": "{not json"})
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"


def test_answer_without_an_llm_is_a_clear_400(server: RunningServer) -> None:
    with server.client(server.key_b) as c:
        r = c.post("/v1/answer", json={"question": "where?", "user_id": "res-u1"})
        assert r.status_code == 400 and "LLM" in r.json()["detail"]


def test_operation_ids_read_well(server: RunningServer) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"add_messages", "search", "context", "get_item", "list_items", "remember",
            "update", "delete", "history", "forget", "export", "import", "stats",
            "list_users", "list_sessions", "list_session_messages", "answer",
            "mem0_add", "mem0_search"} <= ids
    assert not [i for i in ids if "_v1_" in i]
