"""Per-tenant quotas (engram.limits) in the engine's store and on the REST server,
and bounds on per-request work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from engram import Engram
from engram.config import resolve_config
from engram.embed.base import Embedder
from engram.errors import ConfigError, EngramError, InvalidInput, QuotaExceeded
from engram.limits import Quota, QuotaGuard, Usage, tenant_usage
from engram.models import Scope
from engram.server.app import create_app
from engram.server.keys import KeyStore


def test_usage_counts_items_and_utf8_bytes(tmp_path: Path, embedder: Embedder) -> None:
    with Engram(tmp_path / "u.db", embedder=embedder) as eg:
        assert tenant_usage(eg.store, "default") == Usage(0, 0)
        eg.remember("café au lait", user_id="u")  # 13 UTF-8 bytes
        eg.remember("other tenant", scope=Scope(user_id="u", tenant="t2"))
        assert tenant_usage(eg.store, "default") == Usage(1, 13)
        assert tenant_usage(eg.store, "t2") == Usage(1, 12)


def test_guard_refuses_over_quota_and_reserves_nothing(tmp_path: Path,
                                                      embedder: Embedder) -> None:
    t = [0.0]
    with Engram(tmp_path / "g.db", embedder=embedder) as eg:
        guard = QuotaGuard(eg.store, Quota(max_items=3, max_bytes=100), clock=lambda: t[0])
        guard.admit("default", 2, 10)
        with pytest.raises(QuotaExceeded) as err:
            guard.admit("default", 2, 10)
        assert err.value.limit == "items" and err.value.maximum == 3
        assert err.value.status == 403 and err.value.code == "quota_exceeded"
        assert isinstance(err.value, EngramError)
        guard.admit("default", 1, 10)  # the refused write reserved nothing
        with pytest.raises(QuotaExceeded):
            guard.admit("default", 1, 0)
        # after the refresh period the guard re-reads the store (nothing written: room again)
        t[0] = 60.0
        assert guard.usage("default") == Usage(0, 0)
        with pytest.raises(QuotaExceeded) as err:
            guard.admit("default", 1, 101)
        assert err.value.limit == "bytes"
        guard.admit("other", 3, 100)  # quotas are per tenant


def test_quota_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError):
        Quota(max_items=-1)
    Quota()  # unlimited


@pytest.fixture()
def quota_server(tmp_path: Path, embedder: Embedder):  # type: ignore[no-untyped-def]
    db = tmp_path / "q.db"
    keys_path = tmp_path / "keys.db"
    ks = KeyStore(keys_path)
    key_a, key_b = ks.create("alpha").secret, ks.create("beta").secret
    ks.close()
    config = resolve_config(store=str(db))
    eg = Engram(config=config, embedder=embedder)
    app = create_app(config, keys_path=keys_path, engine=eg, mcp=False,
                     quota=Quota(max_items=3, max_bytes=10_000))
    with TestClient(app) as client:
        yield client, key_a, key_b, db


def _post(client: TestClient, key: str, path: str, body: object) -> object:
    headers = {"Authorization": f"Bearer {key}"}
    if isinstance(body, str):
        return client.post(path, headers={**headers, "Content-Type": "application/x-ndjson"},
                           content=body)
    return client.post(path, headers=headers, json=body)


def test_server_enforces_tenant_quota(quota_server) -> None:  # type: ignore[no-untyped-def]
    client, key_a, key_b, db = quota_server
    msgs = lambda n, tag: {"user_id": "u", "derive": "none",  # noqa: E731
                           "messages": [{"text": f"{tag} note {i}"} for i in range(n)]}
    r = _post(client, key_a, "/v1/messages", msgs(2, "a"))
    assert r.status_code == 200, r.text
    r = _post(client, key_a, "/v1/messages", msgs(2, "a2"))
    assert r.status_code == 403 and r.json()["code"] == "quota_exceeded"
    # nothing of the refused request was written
    listed = client.get("/v1/memories", params={"user_id": "u", "type": "episode"},
                        headers={"Authorization": f"Bearer {key_a}"}).json()
    assert sorted(i["text"] for i in listed["items"]) == ["a note 0", "a note 1"]
    # another tenant has its own quota
    assert _post(client, key_b, "/v1/messages", msgs(3, "b")).status_code == 200
    # remember and import are guarded too
    assert _post(client, key_a, "/v1/memories", {"user_id": "u", "text": "x"}).status_code == 201
    r = _post(client, key_a, "/v1/memories", {"user_id": "u", "text": "y"})
    assert r.status_code == 403
    line = json.dumps({"type": "episode", "id": "imp-1", "tenant": "default", "user_id": "u",
                       "agent_id": None, "session_id": None, "role": "user", "speaker": None,
                       "text": "imported", "occurred_at": "2024-01-01T00:00:00Z",
                       "created_at": "2024-01-01T00:00:00Z", "metadata": {}})
    assert _post(client, key_a, "/v1/import", line).status_code == 403
    # forget frees the room
    assert _post(client, key_a, "/v1/forget", {"user_id": "u"}).status_code == 200
    assert _post(client, key_a, "/v1/import", line).status_code == 200


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"limit": 1001}, {"limit": 10**9}])
def test_engine_bounds_search_limit(tmp_path: Path, embedder: Embedder,
                                   kwargs: dict[str, int]) -> None:
    with Engram(tmp_path / "b.db", embedder=embedder) as eg:
        with pytest.raises(InvalidInput):
            eg.search("x", user_id="u", **kwargs)
        with pytest.raises(InvalidInput):
            eg.list(user_id="u", **kwargs)


@pytest.mark.parametrize("max_tokens", [0, 31, 200_001, 10**12])
def test_engine_bounds_context_budget(tmp_path: Path, embedder: Embedder,
                                      max_tokens: int) -> None:
    with Engram(tmp_path / "c.db", embedder=embedder) as eg:
        with pytest.raises(InvalidInput):
            eg.context("x", user_id="u", max_tokens=max_tokens)
