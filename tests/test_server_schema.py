"""Schemathesis against the served OpenAPI: no 5xx, and every response matches the schema.

Bounded: a few generated cases per operation, so the file stays well under a minute.
"""

from __future__ import annotations

from urllib.parse import quote

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from server_fixtures import RunningServer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_api_conforms_to_its_openapi(server: RunningServer) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    tested = []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path == "/v1/import":  # NDJSON body: covered by test_server.py
            continue
        key = server.admin_key if op.path.startswith("/v1/keys") else server.key_a
        headers = {"Authorization": f"Bearer {key}"}

        @given(case=op.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:  # called at once, inside this iteration
            case.call_and_validate(base_url=server.url, headers=headers,  # noqa: B023
                                   checks=CHECKS)

        run()
        tested.append(f"{op.method.upper()} {op.path}")
    assert len(tested) >= 15, tested


def test_hostile_strings_never_cause_a_server_error(server: RunningServer) -> None:
    texts = st.text(min_size=1, max_size=300)

    @given(user=texts, query=texts, item=texts)
    @settings(max_examples=15, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(user: str, query: str, item: str) -> None:
        with server.client(server.key_a) as c:
            for r in (
                c.post("/v1/search", json={"user_id": user, "query": query}),
                c.post("/v1/messages", json={"user_id": user, "derive": "none",
                                             "messages": [{"text": query}]}),
                c.get("/v1/memories", params={"user_id": user, "cursor": item}),
                c.get(f"/v1/items/{quote(item, safe='')}", params={"user_id": user}),
            ):
                assert r.status_code < 500, r.text

    run()
