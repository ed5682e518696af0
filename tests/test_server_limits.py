"""Per-key rate limits on a real server; CLI guards (`--no-auth` only on loopback, keys)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from server_fixtures import ENGRAM, server_env, start_server, stop_server


def test_rate_limit_is_per_key(tmp_path: Path) -> None:
    srv = start_server(tmp_path, env_extra={"ENGRAM_RATE_LIMIT_PER_MINUTE": "3"})
    try:
        with srv.client(srv.key_a) as a, srv.client(srv.key_b) as b:
            codes = [a.get("/v1/memories", params={"user_id": "u"}).status_code
                     for _ in range(5)]
            assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
            r = a.get("/v1/memories", params={"user_id": "u"})
            assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
            assert b.get("/v1/memories", params={"user_id": "u"}).status_code == 200
    finally:
        stop_server(srv)


def test_no_auth_refused_off_loopback_and_keys_cli(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    db = str(tmp_path / "k.db")
    out = subprocess.run([*ENGRAM, "--db", db, "serve", "--no-auth", "--host", "0.0.0.0"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2 and "loopback" in out.stderr
    made = subprocess.run([*ENGRAM, "--db", db, "keys", "create", "--tenant", "t", "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    key = json.loads(made.stdout)
    assert key["secret"].startswith("egk_") and key["key"]["tenant"] == "t"
    listed = subprocess.run([*ENGRAM, "--db", db, "keys", "list", "--json"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert key["secret"] not in listed.stdout
    assert [k["id"] for k in json.loads(listed.stdout)] == [key["key"]["id"]]
    rev = subprocess.run([*ENGRAM, "--db", db, "keys", "revoke", key["key"]["id"]],
                         capture_output=True, text=True, env=env, timeout=120)
    assert rev.returncode == 0
    bad = subprocess.run([*ENGRAM, "--db", db, "keys", "revoke", "nope"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
