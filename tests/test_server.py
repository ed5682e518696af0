"""The REST API of a real ``engram serve`` subprocess, driven over loopback with httpx."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from server_fixtures import RunningServer

PROBLEM = "application/problem+json"


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["code"] == code and body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]
    return body


def _wait_job(c: httpx.Client, job_id: str) -> dict[str, Any]:
    for _ in range(300):
        job = c.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError("job never finished")


def test_health_ready_metrics_and_request_ids(server: RunningServer) -> None:
    r = httpx.get(f"{server.url}/healthz")
    assert r.json() == {"status": "ok"} and len(r.headers["x-request-id"]) >= 8
    r = httpx.get(f"{server.url}/readyz", headers={"X-Request-ID": "trace-42"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-42"
    r = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "bad id\twith tab"})
    assert r.headers["x-request-id"] != "bad id\twith tab"
    text = httpx.get(f"{server.url}/metrics").text
    assert "engram_http_requests_total" in text and 'route="/healthz"' in text
    assert "request_id" not in text


def test_add_then_search_context_get_list_update_history_delete(server: RunningServer) -> None:
    with server.client(server.key_a) as c:
        r = c.post("/v1/messages", json={"user_id": "ana", "messages": [
            {"text": "I moved to Lisbon in March", "id": "m-1"},
            {"text": "I prefer green tea over coffee", "role": "user"}]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [e["created"] for e in body["episodes"]] == [True, True]
        job = _wait_job(c, body["job_id"])
        assert job["status"] == "done" and job["episode_ids"] == [e["id"] for e in body["episodes"]]
        assert job["operations"], job
        again = c.post("/v1/messages", json={"user_id": "ana",
                                             "messages": [{"text": "I moved to Lisbon in March",
                                                           "id": "m-1"}]}).json()
        assert again["episodes"][0]["created"] is False and again["job_id"] is None

        hits = c.post("/v1/search", json={"user_id": "ana", "query": "Where does she live?"}
                      ).json()["hits"]
        assert any("Lisbon" in h["item"]["text"] for h in hits)
        assert all(h["item"]["tenant"] == "alpha" for h in hits)
        ctx = c.post("/v1/context", json={"user_id": "ana", "query": "drinks",
                                          "max_tokens": 128}).json()
        assert "tea" in ctx["text"] and ctx["tokens"] <= 128
        assert [i["label"] for i in ctx["items"]] == list(range(1, len(ctx["items"]) + 1))

        page = c.get("/v1/memories", params={"user_id": "ana"}).json()
        assert page["type"] == "memory" and page["items"]
        mem = page["items"][0]
        got = c.get(f"/v1/items/{mem['id']}", params={"user_id": "ana"}).json()
        assert got == {"type": "memory", "item": got["item"]} and got["item"]["id"] == mem["id"]
        eps = c.get("/v1/memories", params={"user_id": "ana", "type": "episode"}).json()
        assert len(eps["items"]) == 2

        upd = c.patch(f"/v1/memories/{mem['id']}", json={"user_id": "ana", "text": "Ana: tea",
                                                          "importance": 0.9})
        assert upd.status_code == 200 and upd.json()["version"] == mem["version"] + 1
        hist = c.get(f"/v1/memories/{mem['id']}/history", params={"user_id": "ana"}).json()
        assert [v["version"] for v in hist["versions"]][-1] == mem["version"] + 1
        gone = c.delete(f"/v1/memories/{mem['id']}", params={"user_id": "ana"}).json()
        assert gone["status"] == "deleted"
        assert c.delete(f"/v1/memories/{mem['id']}", params={"user_id": "ana"}).status_code == 200

        note = c.post("/v1/memories", json={"user_id": "ana", "text": "Birthday is 3 May",
                                            "kind": "fact"})
        assert note.status_code == 201 and note.json()["kind"] == "fact"
        stats = c.get("/v1/stats", params={"user_id": "ana"}).json()
        assert stats["episodes"] == 2 and stats["memories"] >= 2


def test_sync_and_no_derive_modes(server: RunningServer) -> None:
    with server.client(server.key_a) as c:
        r = c.post("/v1/messages", json={"user_id": "sync-u", "derive": "sync",
                                         "messages": [{"text": "I work at Acme Corp"}]}).json()
        assert r["job_id"] is None and r["operations"]
        r = c.post("/v1/messages", json={"user_id": "raw-u", "derive": "none",
                                         "messages": [{"text": "I work at Initech"}]}).json()
        assert r["job_id"] is None and r["operations"] == []
        assert c.get("/v1/memories", params={"user_id": "raw-u"}).json()["items"] == []


def test_export_import_forget_round_trip(server: RunningServer) -> None:
    with server.client(server.key_a) as c:
        r = c.post("/v1/messages", json={"user_id": "exp", "derive": "sync",
                                         "messages": [{"text": "My dog is called Rex"}]})
        assert r.status_code == 200
        dump = c.get("/v1/export", params={"user_id": "exp"})
        assert dump.headers["content-type"].startswith("application/x-ndjson")
        lines = dump.text.splitlines()
        assert lines and all(json.loads(x)["tenant"] == "alpha" for x in lines)
        report = c.post("/v1/forget", json={"user_id": "exp"}).json()
        assert report["verified"] is True
        assert c.get("/v1/export", params={"user_id": "exp"}).text == ""
        imp = c.post("/v1/import", content=dump.text,
                     headers={"content-type": "application/x-ndjson"})
        assert imp.status_code == 200, imp.text
        assert imp.json()["episodes_created"] == 1
        assert c.get("/v1/export", params={"user_id": "exp"}).text == dump.text
        bad = c.post("/v1/import", content=dump.text + "{not json\n",
                     headers={"content-type": "application/x-ndjson"})
        _problem(bad, 400, "import_format")


def test_errors_are_problem_details(server: RunningServer) -> None:
    with server.client(None) as anon:
        _problem(anon.post("/v1/search", json={"user_id": "u", "query": "q"}), 401,
                 "unauthorized")
    with server.client("egk_nope_nope") as wrong:
        _problem(wrong.get("/v1/memories", params={"user_id": "u"}), 401, "unauthorized")
    with server.client(server.key_a) as c:
        _problem(c.post("/v1/search", json={"query": "q"}), 400, "scope_required")
        _problem(c.post("/v1/search", json={"user_id": "u", "query": "q", "limit": 0}), 422,
                 "validation_error")
        _problem(c.post("/v1/search", content=b"{not json",
                        headers={"content-type": "application/json"}), 400, "invalid_json")
        _problem(c.post("/v1/search", json={"user_id": "u", "query": "q" * 5000}), 400,
                 "invalid_input")
        _problem(c.get("/v1/items/mem_missing", params={"user_id": "u"}), 404, "not_found")
        _problem(c.get("/v1/jobs/job_missing"), 404, "not_found")
        _problem(c.get("/v1/nowhere"), 404, "not_found")
        _problem(c.post("/v1/messages", json={"user_id": "u", "messages": [
            {"text": "x" * 40_000}]}), 413, "text_too_long")
        _problem(c.post("/v1/messages", json={"user_id": "u", "messages": [
            {"text": f"m{i}"} for i in range(501)]}), 400, "invalid_input")
        _problem(c.post("/v1/messages", content=b"{" + b" " * 2_000_000 + b"}",
                        headers={"content-type": "application/json"}), 413, "body_too_large")
        _problem(c.get("/v1/keys"), 403, "forbidden")
        # a bad message in a batch writes nothing
        _problem(c.post("/v1/messages", json={"user_id": "atomic", "messages": [
            {"text": "fine"}, {"text": "   "}]}), 400, "invalid_input")
        assert c.get("/v1/memories", params={"user_id": "atomic", "type": "episode"}
                     ).json()["items"] == []


def test_admin_manages_keys_and_revocation_is_immediate(server: RunningServer) -> None:
    with server.client(server.admin_key) as admin:
        made = admin.post("/v1/keys", json={"name": "ci"})  # a key of the admin's tenant
        assert made.status_code == 201 and made.json()["key"]["tenant"] == "ops"
        secret, key_id = made.json()["secret"], made.json()["key"]["id"]
        listed = [k for k in admin.get("/v1/keys").json()["keys"] if k["name"] == "ci"]
        assert [k["id"] for k in listed] == [key_id] and "secret" not in listed[0]
        with server.client(secret) as g:
            assert g.post("/v1/messages", json={"user_id": "u", "messages": ["hi there"]}
                          ).status_code == 422  # a message is an object, not a string
            assert g.post("/v1/messages", json={"user_id": "u", "messages": [
                {"text": "hi there"}]}).status_code == 200
            assert admin.delete(f"/v1/keys/{key_id}").json()["revoked_at"]
            _problem(g.get("/v1/memories", params={"user_id": "u"}), 401, "unauthorized")
        _problem(admin.delete("/v1/keys/unknown"), 404, "not_found")


def test_concurrent_writers_never_fail_and_every_add_is_searchable(server: RunningServer) -> None:
    def one(i: int) -> tuple[int, str]:
        with server.client(server.key_b) as c:
            r = c.post("/v1/messages", json={"user_id": "load", "derive": "background",
                                             "messages": [{"text": f"note number {i} zebra{i}"}]})
            return r.status_code, r.json()["episodes"][0]["id"]

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(one, range(48)))
    assert {s for s, _ in results} == {200}
    with server.client(server.key_b) as c:
        for i in (0, 17, 47):
            hits = c.post("/v1/search", json={"user_id": "load", "query": f"zebra{i}",
                                              "kinds": ["episode"], "limit": 3}).json()["hits"]
            assert hits and hits[0]["id"] == results[i][1]
