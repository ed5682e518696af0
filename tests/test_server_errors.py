"""Every refusal of the REST API is a problem+json with a documented code, and writes nothing.

A real ``engram serve`` of its own (so no background job of another test writes while a
case compares the store before and after) on loopback, driven with httpx.
"""

from __future__ import annotations

import importlib
import re
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dbdump import dump
from server_fixtures import RunningServer, start_server, stop_server

import engram.errors
from engram.server.problems import Forbidden, RateLimited

PROBLEM = "application/problem+json"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "server.md"
LONG_ID = "m" * 257
MSG = "/v1/messages"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    s = start_server(tmp_path_factory.mktemp("errors"))
    with s.client(s.key_a) as c:  # something to leave untouched (no derive job)
        r = c.post(MSG, json={"user_id": "u", "derive": "none",
                              "messages": [{"text": "I live in Lisbon"}]})
        assert r.status_code == 200, r.text
    # the server makes episode vectors in the background (embed queue): let it finish
    deadline = time.monotonic() + 60
    while _open_jobs(s.db) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _open_jobs(s.db)
    yield s
    stop_server(s)


def _open_jobs(db: Any) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT count(*) FROM jobs WHERE status != 'done'").fetchone()[0])
    finally:
        con.close()


def _json(body: Any) -> dict[str, Any]:
    return {"json": body}


def _raw(body: bytes, content_type: str = "application/json") -> dict[str, Any]:
    return {"content": body, "headers": {"content-type": content_type}}


def _msg(**fields: Any) -> dict[str, Any]:
    return _json({"user_id": "u", "derive": "none", "messages": [{"text": "hi", **fields}]})


# (id, method, path, request kwargs, status, code)
CASES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    ("json syntax", "POST", "/v1/search", _raw(b'{"user_id": "u",'), 400, "invalid_json"),
    ("json not utf-8", "POST", MSG, _raw(b'{"user_id": "\xff"}'), 400, "invalid_json"),
    ("limit true", "POST", "/v1/search", _json({"user_id": "u", "query": "q", "limit": True}),
     422, "validation_error"),
    ("limit 5.0", "POST", "/v1/search", _json({"user_id": "u", "query": "q", "limit": 5.0}),
     422, "validation_error"),
    ("limit text", "POST", "/v1/search", _json({"user_id": "u", "query": "q", "limit": "5"}),
     422, "validation_error"),
    ("max_tokens true", "POST", "/v1/context",
     _json({"user_id": "u", "query": "q", "max_tokens": True}), 422, "validation_error"),
    ("include_flagged 1", "POST", "/v1/context",
     _json({"user_id": "u", "query": "q", "include_flagged": 1}), 422, "validation_error"),
    ("importance false", "POST", "/v1/memories",
     _json({"user_id": "u", "text": "note", "importance": False}), 422, "validation_error"),
    ("importance text", "POST", "/v1/memories",
     _json({"user_id": "u", "text": "note", "importance": "0.5"}), 422, "validation_error"),
    ("occurred_at 0", "POST", MSG, _msg(occurred_at=0), 422, "validation_error"),
    ("occurred_at unix text", "POST", MSG, _msg(occurred_at="1700000000"), 422,
     "validation_error"),
    ("occurred_at naive", "POST", MSG, _msg(occurred_at="2024-01-01T00:00:00"), 422,
     "validation_error"),
    ("occurred_at before year 1 in UTC", "POST", MSG,
     _msg(occurred_at="0001-01-01T00:00:00+01:00"), 400, "date_out_of_range"),
    ("occurred_at after 9999 in UTC", "POST", MSG,
     _msg(occurred_at="9999-12-31T23:30:00-01:00"), 400, "date_out_of_range"),
    ("valid_from after 9999 in UTC", "POST", "/v1/memories",
     _json({"user_id": "u", "text": "note", "valid_from": "9999-12-31T23:30:00-01:00"}),
     400, "date_out_of_range"),
    ("batch occurred_at 0", "POST", MSG,
     _json({"user_id": "u", "occurred_at": 0, "messages": [{"text": "hi"}]}), 422,
     "validation_error"),
    ("message text number", "POST", MSG, _json({"user_id": "u", "messages": [{"text": 5}]}),
     422, "validation_error"),
    ("unknown field", "POST", MSG, _msg(colour="red"), 422, "validation_error"),
    ("unknown preset", "POST", "/v1/search",
     _json({"user_id": "u", "query": "q", "preset": "fastest"}), 422, "validation_error"),
    ("no scope", "POST", "/v1/search", _json({"query": "q"}), 400, "scope_required"),
    ("no scope forget", "POST", "/v1/forget", _json({"session_id": "s"}), 400,
     "scope_required"),
    ("body not an object", "POST", "/v1/forget", _json(["u"]), 422, "validation_error"),
    ("empty import", "POST", "/v1/import", _raw(b"", "application/x-ndjson"), 400,
     "import_format"),
    ("blank import", "POST", "/v1/import", _raw(b"\n \n", "application/x-ndjson"), 400,
     "import_format"),
    ("long item id", "GET", f"/v1/items/{LONG_ID}", {"params": {"user_id": "u"}}, 422,
     "validation_error"),
    ("long memory id patch", "PATCH", f"/v1/memories/{LONG_ID}",
     _json({"user_id": "u", "text": "x"}), 422, "validation_error"),
    ("long memory id delete", "DELETE", f"/v1/memories/{LONG_ID}", {"params": {"user_id": "u"}},
     422, "validation_error"),
    ("long memory id history", "GET", f"/v1/memories/{LONG_ID}/history",
     {"params": {"user_id": "u"}}, 422, "validation_error"),
    ("long job id", "GET", f"/v1/jobs/{LONG_ID}", {}, 422, "validation_error"),
    ("long user id", "GET", "/v1/memories", {"params": {"user_id": "u" * 257}}, 422,
     "validation_error"),
    ("unknown path", "GET", "/v1/nowhere", {}, 404, "not_found"),
    ("method on one route", "PUT", "/v1/search", {}, 405, "method_not_allowed"),
    ("method on two routes", "POST", "/v1/memories/mem_x", _json({}), 405,
     "method_not_allowed"),
    ("headers over the limit", "GET", "/v1/memories",
     {"params": {"user_id": "u"}, "headers": {"x-padding": "p" * 20_000}}, 431,
     "headers_too_large"),
]
ALLOW = {"method on one route": "POST", "method on two routes": "DELETE, PATCH"}


@pytest.mark.parametrize(("name", "method", "path", "kwargs", "status", "code"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_request_is_a_documented_problem_and_changes_nothing(
    srv: RunningServer, name: str, method: str, path: str, kwargs: dict[str, Any], status: int,
    code: str,
) -> None:
    before = dump(srv.db)
    with srv.client(srv.key_a) as c:
        r = c.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["code"] == code and body["detail"], body
    assert body["request_id"] == r.headers["x-request-id"]
    if name in ALLOW:
        assert r.headers["allow"] == ALLOW[name]
    assert code in documented_codes()
    assert dump(srv.db) == before


def test_header_block_h11_stops_reading_is_a_problem_too(srv: RunningServer) -> None:
    """Past the limit h11 refuses to buffer the headers before any app runs; the server's
    protocol answers that refusal (and a malformed request) as problems, not plain text."""
    r = httpx.get(f"{srv.url}/healthz", headers={"x-padding": "p" * 200_000})
    assert r.status_code == 431 and r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["code"] == "headers_too_large"
    host, port = srv.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
        raw = b""
        while chunk := s.recv(4096):
            raw += chunk
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/problem+json" in head
    assert b'"code": "malformed_request"' in payload
    with srv.client(srv.key_a) as c:  # and the server still answers
        assert c.get("/v1/memories", params={"user_id": "u"}).status_code == 200


def test_auth_problems_carry_their_headers(srv: RunningServer) -> None:
    with srv.client(None) as anon:
        r = anon.get("/v1/memories", params={"user_id": "u"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_openapi_states_what_is_enforced(srv: RunningServer) -> None:
    spec = httpx.get(f"{srv.url}/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("AddRequest", "SearchRequest", "ContextRequest", "RememberRequest",
                 "UpdateRequest", "ScopeIn"):
        required = [alt["required"] for alt in schemas[name]["anyOf"]]
        assert required == [["user_id"], ["agent_id"]], name
    preset = schemas["SearchRequest"]["properties"]["preset"]["anyOf"][0]
    assert preset["enum"] == ["bm25", "dense", "hybrid", "recall", "recall-adapted",
                              "recall-centred", "recall-cross", "recall-e5",
                              "recall-expand", "recall-lead", "recall-links", "recall-restate",
                              "recall-s10", "recall-s31", "recall-s52", "recall-s8",
                              "recall-topics",
                              "recall-variants"]
    limit = schemas["SearchRequest"]["properties"]["limit"]
    assert limit["type"] == "integer"
    params = {p["name"]: p for p in spec["paths"]["/v1/items/{item_id}"]["get"]["parameters"]}
    assert params["item_id"]["schema"]["maxLength"] == 256
    assert "scope_required" in params["user_id"]["description"]


def documented_codes() -> set[str]:
    """The codes in the error table of docs/server.md (rows ``| `code` | status | ...``)."""
    return set(re.findall(r"^\| `([a-z_]+)` \| \d{3}", DOCS.read_text(encoding="utf-8"), re.M))


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_every_error_code_is_documented() -> None:
    """Every code an answer of the server can carry: Engram's errors (but those of the
    benchmark and CLI tools) and the protocol's own refusals."""
    importlib.import_module("engram.llm.errors")
    importlib.import_module("engram.server.keys")
    codes = {c.code for c in _subclasses(engram.errors.EngramError)
             if c.__module__.startswith("engram.")
             and not c.__module__.startswith(("engram.bench", "engram.cli"))} | {
        Forbidden.code, RateLimited.code, "validation_error", "invalid_json", "not_found",
        "method_not_allowed", "body_too_large", "headers_too_large", "malformed_request",
        "internal"}
    missing = codes - documented_codes()
    assert not missing, f"add these codes to the error table of docs/server.md: {missing}"
