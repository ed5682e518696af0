"""Fuzzing the REST bodies (in-process app, real store) and the engine's
search filters: only typed errors (4xx problems, never 5xx), and a refused
write changes nothing in the database file."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from dbdump import dump
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engram import Engram, SearchFilters
from engram.config import resolve_config
from engram.embed.base import Embedder
from engram.errors import EngramError
from engram.server.app import create_app
from engram.server.keys import KeyStore

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

leaf = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats() | st.text(max_size=30)
        | st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-01T00:00:00", "fact", "episode",
                           "user", "", "9999-12-31T23:59:59+00:00", "yesterday"]))
value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)
FIELDS = ["user_id", "agent_id", "session_id", "messages", "text", "role", "speaker",
          "occurred_at", "metadata", "derive", "query", "limit", "kinds", "start", "end",
          "as_of", "preset", "max_tokens", "kind", "valid_from", "valid_to", "importance",
          "reason", "id"]
message = st.dictionaries(st.sampled_from(["text", "role", "speaker", "occurred_at", "id",
                                           "metadata"]), value, max_size=5)
body = st.dictionaries(st.sampled_from(FIELDS), value | st.lists(message, max_size=3),
                       max_size=7).map(lambda d: {"user_id": "u", **d})
ENDPOINTS = [("POST", "/v1/messages"), ("POST", "/v1/search"), ("POST", "/v1/context"),
             ("POST", "/v1/memories"), ("PATCH", "/v1/memories/mem_x"), ("POST", "/v1/forget"),
             ("POST", "/v1/import")]
WRITES = {"/v1/messages", "/v1/memories", "/v1/memories/mem_x", "/v1/import"}


@pytest.fixture(scope="module")
def api(embedder: Embedder) -> Iterator[tuple[TestClient, dict[str, str], Path]]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "api.db"
        ks = KeyStore(Path(tmp) / "keys.db")
        key = ks.create("alpha").secret
        ks.close()
        config = resolve_config(store=str(db), rate_limit_per_minute=10**9)
        eg = Engram(config=config, embedder=embedder)
        eg.add("Existing note about Lisbon", user_id="u")
        app = create_app(config, keys_path=Path(tmp) / "keys.db", engine=eg, mcp=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, {"Authorization": f"Bearer {key}"}, db


@SETTINGS
@given(st.sampled_from(ENDPOINTS), body | st.binary(max_size=60).map(bytes)
       | value.map(lambda v: v))
def test_rest_bodies_get_typed_answers(api: Any, endpoint: tuple[str, str], data: Any) -> None:
    client, headers, db = api
    method, path = endpoint
    if isinstance(data, dict) and data.get("derive") not in ("sync", "none"):
        data = {**data, "derive": "none"}  # no background writes racing the dump below
    before = dump(db)
    if isinstance(data, bytes):
        r = client.request(method, path, content=data,
                           headers={**headers, "Content-Type": "application/json"})
    elif path == "/v1/import":
        r = client.request(method, path, content=json.dumps(data),
                           headers={**headers, "Content-Type": "application/x-ndjson"})
    else:  # json.dumps writes NaN/Infinity tokens too: the server must refuse them cleanly
        r = client.request(method, path, content=json.dumps(data),
                           headers={**headers, "Content-Type": "application/json"})
    assert r.status_code < 500, (r.status_code, r.text)
    if r.status_code >= 400:
        problem = r.json()
        assert isinstance(problem.get("code"), str) and problem["status"] == r.status_code
        if path in WRITES:
            assert dump(db) == before, "a refused write changed the database"


aware = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=-11)), None]))


@pytest.fixture(scope="module")
def engine(embedder: Embedder) -> Iterator[Engram]:
    with tempfile.TemporaryDirectory() as tmp:
        with Engram(Path(tmp) / "f.db", embedder=embedder) as eg:
            eg.add("I moved to Lisbon in May", user_id="u", metadata={"src": "chat", "n": 1})
            eg.remember("User likes green tea", user_id="u", kind="preference")
            yield eg


@SETTINGS
@given(
    query=st.text(max_size=60),
    limit=st.integers(min_value=-5, max_value=2000) | st.sampled_from([True, 10**12]),
    kinds=st.none() | st.text(max_size=10) | st.lists(
        st.sampled_from(["fact", "preference", "event", "episode", "bogus", ""]), max_size=3),
    metadata=st.none() | st.dictionaries(st.text(max_size=6), value, max_size=3),
    start=st.none() | aware, end=st.none() | aware, as_of=st.none() | aware,
    raw_filters=st.none() | st.sampled_from([SearchFilters(), "kinds=fact", {"a": 1}]),
)
def test_search_filters_only_typed_errors(engine: Engram, query: str, limit: int, kinds: Any,
                                          metadata: Any, start: Any, end: Any, as_of: Any,
                                          raw_filters: Any) -> None:
    try:
        engine.search(query, user_id="u", limit=limit, kinds=kinds, metadata=metadata,
                      start=start, end=end, as_of=as_of, filters=raw_filters)
    except EngramError:
        pass
    try:
        engine.list(user_id="u", limit=limit if isinstance(limit, int) else 10, kinds=kinds,
                    as_of=as_of)
    except EngramError:
        pass
