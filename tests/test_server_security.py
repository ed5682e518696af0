"""Security of the real server (issue #13, items 9-11): admin keys stay inside their tenant,
logged request data cannot forge log lines, failed authentication is rate-limited per
client address."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_fixtures import ENGRAM, RunningServer, server_env, start_server, stop_server

from engram.config import resolve_config
from engram.errors import ConfigError


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = r.json()
    assert body["code"] == code, body
    return body


def _cli_key(srv: RunningServer, tmp: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run([*ENGRAM, "--db", str(srv.db), "keys", "create", *args, "--json"],
                         capture_output=True, text=True, env=server_env(tmp), timeout=120)
    assert out.returncode == 0, out.stderr
    made = json.loads(out.stdout)
    return {"secret": made["secret"], "id": made["key"]["id"], **made["key"]}


# -- item 9: key management stays inside the key's tenant ----------------------------------


def test_admin_key_never_reaches_another_tenant(tmp_path: Path) -> None:
    srv = start_server(tmp_path)
    try:
        with srv.client(srv.key_a) as a:
            assert a.post("/v1/memories", json={"user_id": "ana", "text": "alpha secret"}
                          ).status_code == 201
            _problem(a.get("/v1/keys"), 403, "forbidden")  # a plain key manages nothing
        with srv.client(srv.admin_key) as ops:
            listed = ops.get("/v1/keys").json()["keys"]
            assert listed and {k["tenant"] for k in listed} == {"ops"}
            _problem(ops.get("/v1/keys", params={"tenant": "alpha"}), 403, "forbidden")
            # cannot mint a key for another tenant, nor an operator key
            _problem(ops.post("/v1/keys", json={"tenant": "alpha"}), 403, "forbidden")
            _problem(ops.post("/v1/keys", json={"operator": True}), 422, "validation_error")
            # store-wide stats are not a tenant admin's business
            assert ops.get("/v1/stats").status_code == 400
            # another tenant's key is not found, and keeps working
            others = srv.client(srv.key_a)
            with others:
                alpha_id = next(k["id"] for k in _all_keys(srv) if k["tenant"] == "alpha")
                _problem(ops.delete(f"/v1/keys/{alpha_id}"), 404, "not_found")
                assert others.get("/v1/memories", params={"user_id": "ana"}
                                  ).json()["items"][0]["text"] == "alpha secret"
            # its own tenant: a new key (tenant defaults to the caller's) reads only ops data
            made = ops.post("/v1/keys", json={"name": "worker"})
            assert made.status_code == 201 and made.json()["key"]["tenant"] == "ops"
            with srv.client(made.json()["secret"]) as worker:
                assert worker.get("/v1/memories", params={"user_id": "ana"}
                                  ).json()["items"] == []
            # the last admin key of a tenant cannot be revoked (not even by itself)
            own_id = next(k["id"] for k in listed if k["admin"])
            body = _problem(ops.delete(f"/v1/keys/{own_id}"), 409, "last_admin_key")
            assert "admin" in str(body["detail"])
            assert ops.get("/v1/keys").status_code == 200
            second = ops.post("/v1/keys", json={"admin": True}).json()
            assert ops.delete(f"/v1/keys/{own_id}").json()["revoked_at"]
            _problem(ops.get("/v1/keys"), 401, "unauthorized")
        with srv.client(second["secret"]) as ops2:
            _problem(ops2.delete(f"/v1/keys/{second['key']['id']}"), 409, "last_admin_key")

        # store-wide work is an operator's: minted only on the CLI (file access)
        op = _cli_key(srv, tmp_path, "--tenant", "root", "--operator")
        assert op["operator"] is True and op["admin"] is True
        with srv.client(op["secret"]) as root:
            assert root.get("/v1/stats").json()["memories"] >= 1
            assert {k["tenant"] for k in root.get("/v1/keys").json()["keys"]} >= {
                "ops", "alpha", "beta", "root"}
            assert root.get("/v1/keys", params={"tenant": "alpha"}).status_code == 200
            minted = root.post("/v1/keys", json={"tenant": "gamma"})
            assert minted.status_code == 201 and minted.json()["key"]["operator"] is False
            _problem(root.post("/v1/keys", json={"tenant": "gamma", "operator": True}), 422,
                     "validation_error")
    finally:
        stop_server(srv)


def _all_keys(srv: RunningServer) -> list[dict[str, object]]:
    from engram.server.keys import KeyStore, keys_path_for

    ks = KeyStore(keys_path_for(f"sqlite:///{srv.db}"))
    try:
        return [k.to_dict() for k in ks.list()]
    finally:
        ks.close()


def test_keystore_refuses_to_revoke_a_tenants_last_admin(tmp_path: Path) -> None:
    from engram.errors import Conflict, NotFound
    from engram.server.keys import KeyStore, LastAdminKey

    ks = KeyStore(tmp_path / "k.db")
    try:
        first = ks.create("t", admin=True).key
        plain = ks.create("t").key
        with pytest.raises(LastAdminKey) as err:
            ks.revoke(first.id, tenant="t")
        assert isinstance(err.value, Conflict) and err.value.code == "last_admin_key"
        assert ks.list(tenant="t", include_revoked=False) == [first, plain]
        assert ks.revoke(plain.id, tenant="t").revoked_at is not None
        with pytest.raises(NotFound):
            ks.revoke(first.id, tenant="other")
        # with file access (the CLI) the operator may still do it
        assert ks.revoke(first.id, keep_last_admin=False).revoked_at is not None
    finally:
        ks.close()


def test_keys_file_from_before_operator_keys_still_works(tmp_path: Path) -> None:
    import sqlite3

    from engram.server.keys import KeyStore, hash_key

    path = tmp_path / "old.keys.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE api_keys (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT"
               " NOT NULL DEFAULT '', admin INTEGER NOT NULL DEFAULT 0, key_hash TEXT NOT NULL"
               " UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT)")
    db.execute("INSERT INTO api_keys VALUES ('k1', 't', '', 1, ?, '2024-01-01T00:00:00Z', NULL)",
               (hash_key("egk_k1_secret"),))
    db.commit()
    db.close()
    ks = KeyStore(path)
    try:
        key = ks.verify("egk_k1_secret")
        assert key is not None and key.admin and not key.operator
        assert ks.create("t", operator=True).key.operator
    finally:
        ks.close()


# -- item 10: logged values are escaped; JSON logs ----------------------------------------


def _forge(srv: RunningServer) -> None:
    assert httpx.get(srv.url + "/nope%0D%0AFORGED%1b[31m").status_code == 404
    with srv.client(srv.key_a) as c:
        assert c.get("/v1/memories%0AFORGED", params={"user_id": "u"}).status_code == 404


def test_forged_path_stays_on_one_escaped_log_line(tmp_path: Path) -> None:
    srv = start_server(tmp_path)
    try:
        _forge(srv)
    finally:
        stop_server(srv)
    lines = (tmp_path / "server.log").read_text(encoding="utf-8").splitlines()
    forged = [ln for ln in lines if "FORGED" in ln]
    assert len(forged) == 2, forged
    assert not any(ln.startswith("FORGED") for ln in lines)
    assert "GET /nope\\r\\nFORGED\\x1b[31m 404" in forged[0]
    assert "\x1b" not in "".join(lines)


def test_json_logs_one_object_per_line(tmp_path: Path) -> None:
    srv = start_server(tmp_path, "--log-format", "json")
    try:
        _forge(srv)
    finally:
        stop_server(srv)
    lines = (tmp_path / "server.log").read_text(encoding="utf-8").splitlines()
    records = [json.loads(ln) for ln in lines if ln.startswith("{")]
    assert len(records) >= 4  # startup, requests, shutdown
    assert not any("color_message" in r for r in records)  # uvicorn's ANSI duplicate
    forged = [r for r in records if "FORGED" in json.dumps(r)]
    assert [r["path"] for r in forged] == ["/nope\r\nFORGED\x1b[31m", "/v1/memories\nFORGED"]
    first = forged[0]
    assert first["level"] == "INFO" and first["logger"] == "engram.server"
    assert first["status"] == 404 and first["method"] == "GET" and first["request_id"]
    assert not any(ln.startswith("FORGED") for ln in lines)


def test_log_format_is_a_setting(tmp_path: Path) -> None:
    assert resolve_config(env={}).log_format == "text"
    assert resolve_config(env={"ENGRAM_LOG_FORMAT": "json"}).log_format == "json"
    assert resolve_config(env={}, log_format="JSON").log_format == "json"
    cfg = tmp_path / "e.toml"
    cfg.write_text('log_format = "json"\n', encoding="utf-8")
    assert resolve_config(config_file=cfg, env={}).log_format == "json"
    with pytest.raises(ConfigError, match="log_format"):
        resolve_config(env={}, log_format="xml")


def test_formatters_escape_messages_and_indent_tracebacks() -> None:
    from engram.server.logs import JsonFormatter, TextFormatter

    try:
        raise ValueError("bad\nFORGED line")
    except ValueError:
        import sys

        exc_info = sys.exc_info()
    rec = logging.LogRecord("engram.server", logging.ERROR, __file__, 1,
                            "request %s: %s", ("r1", "a\r\nFORGED\x00\u2028x"), exc_info)
    text = TextFormatter().format(rec)
    first, *rest = text.split("\n")
    assert first.endswith("request r1: a\\r\\nFORGED\\x00\\u2028x")
    assert rest and all(ln.startswith("    ") for ln in rest)
    obj = json.loads(JsonFormatter().format(rec))
    assert "\n" not in JsonFormatter().format(rec)
    assert obj["msg"] == "request r1: a\r\nFORGED\x00\u2028x" and "ValueError" in obj["exc"]


# -- item 11: failed authentication is limited per client address -------------------------


def test_failed_auth_is_rate_limited_per_address(tmp_path: Path) -> None:
    # 2 per minute: a failure comes back only after 30 s, far longer than this test runs
    srv = start_server(tmp_path, env_extra={"ENGRAM_AUTH_FAILURES_PER_MINUTE": "2"})
    here, there = {"X-Forwarded-For": "198.51.100.7"}, {"X-Forwarded-For": "203.0.113.9"}
    try:
        with srv.client(srv.key_a) as good:
            # successes never count
            assert {good.get("/v1/memories", params={"user_id": "u"}, headers=here
                             ).status_code for _ in range(20)} == {200}
        with srv.client("egk_wrong_key") as bad:
            codes = [bad.get("/v1/memories", params={"user_id": "u"}, headers=here
                             ).status_code for _ in range(5)]
            assert codes == [401] * 2 + [429] * 3
            body = _problem(bad.get("/v1/memories", params={"user_id": "u"}, headers=here),
                            429, "rate_limited")
            assert "authentication" in str(body["detail"])
            r = bad.get("/v1/memories", params={"user_id": "u"}, headers=here)
            assert int(r.headers["retry-after"]) >= 1
            # MCP shares the limit
            assert bad.post("/mcp", json={}, headers=here).status_code == 429
            # another address is not affected
            _problem(bad.get("/v1/memories", params={"user_id": "u"}, headers=there), 401,
                     "unauthorized")
        with srv.client(srv.key_a) as good:
            # the blocked address is refused without even checking the key
            _problem(good.get("/v1/memories", params={"user_id": "u"}, headers=here), 429,
                     "rate_limited")
            assert good.get("/v1/memories", params={"user_id": "u"}, headers=there
                            ).status_code == 200
    finally:
        stop_server(srv)
