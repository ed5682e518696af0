"""The memory browser's HTTP rules, without a browser (tests/test_ui_browser.py drives one).

Security headers on every page; under --no-auth only loopback Host names get pages (a
DNS-rebinding page gets 403); CSRF and Origin checks; the login never redirects off
the UI; an edit of a version that changed meanwhile is a 409 page and changes nothing;
bad filters are a 400 page, never a 500; `engram ui --no-auth` refuses a public bind.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from engram import Engram
from engram.config import resolve_config
from engram.models import Message
from engram.server.app import create_app
from engram.server.keys import KeyStore

LOCAL = "http://127.0.0.1:8420"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ui") / "ui.db"
    with Engram(path) as eg:
        eg.add([Message(text="I moved to Berlin in 2020.")], user_id="alice", derive=True)
    return path


@pytest.fixture(scope="module")
def open_app(db: Path) -> Iterator[TestClient]:
    app = create_app(resolve_config(store=str(db)), auth=False, mcp=False)
    with TestClient(app, base_url=LOCAL) as c:
        yield c


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, html
    return m.group(1)


def test_pages_send_security_headers(open_app: TestClient) -> None:
    r = open_app.get("/ui/users")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_no_auth_answers_only_loopback_host_names(open_app: TestClient) -> None:
    r = open_app.get("/ui/users", headers={"Host": "attacker.example"})
    assert r.status_code == 403
    assert open_app.get("/ui/users", headers={"Host": "localhost:8420"}).status_code == 200


def test_forms_need_the_token_and_our_origin(open_app: TestClient) -> None:
    page = open_app.get("/ui/timeline?user=alice")
    token = _csrf(page.text)
    body = {"csrf": token, "user": "alice", "confirm": "nobody"}
    r = open_app.post("/ui/forget", data=body, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = open_app.post("/ui/forget", data={**body, "csrf": "x" * 64})
    assert r.status_code == 403
    r = open_app.post("/ui/forget", data=body)  # right token, wrong confirmation
    assert r.status_code == 400 and "type the user id" in r.text
    assert "alice" in open_app.get("/ui/users").text


def test_a_stale_edit_is_a_conflict_and_changes_nothing(open_app: TestClient, db: Path) -> None:
    with Engram(db) as eg:
        mem = eg.list(user_id="alice").items[0]
    page = open_app.get(f"/ui/memory?user=alice&id={mem.id}")
    token = _csrf(page.text)
    r = open_app.post("/ui/memory/edit", data={
        "csrf": token, "user": "alice", "id": mem.id, "version": str(mem.version + 5),
        "text": "changed", "reason": "test"})
    assert r.status_code == 409
    r = open_app.post("/ui/memory/edit", data={
        "csrf": token, "user": "alice", "id": mem.id, "version": str(mem.version),
        "text": "changed", "reason": ""})
    assert r.status_code == 400 and "reason" in r.text
    with Engram(db) as eg:
        assert eg.get(mem.id, user_id="alice").text == mem.text


@pytest.mark.parametrize("query", [
    "/ui/timeline", "/ui/timeline?user=alice&status=gone", "/ui/timeline?user=alice&kind=x",
    "/ui/timeline?user=alice&limit=7", "/ui/timeline?user=alice&cursor=garbage",
    "/ui/memory?user=alice&id=nope", "/ui/ask?user=alice&q=x&as_of=yesterday",
    "/ui/ask?user=alice&q=x&budget=lots", "/ui/export",
])
def test_bad_input_is_a_4xx_page(open_app: TestClient, query: str) -> None:
    r = open_app.get(query)
    assert 400 <= r.status_code < 500, (query, r.status_code)
    assert "text/html" in r.headers["content-type"]


def test_login_with_keys_stays_on_the_ui(db: Path, tmp_path: Path) -> None:
    keys = tmp_path / "keys.db"
    ks = KeyStore(keys)
    secret = ks.create("acme").secret
    ks.close()
    app = create_app(resolve_config(store=str(db)), keys_path=keys, mcp=False)
    with TestClient(app, base_url=LOCAL) as c:
        assert c.get("/ui/users", follow_redirects=False).headers["location"].startswith(
            "/ui/login?next=")
        r = c.post("/ui/login", data={"key": secret, "next": "https://evil.example/"},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/ui/users"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
        assert c.get("/ui/users").status_code == 200  # the cookie authenticates
        r = c.post("/ui/login", data={"key": secret}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403


def test_engram_ui_refuses_no_auth_on_a_public_address(tmp_path: Path) -> None:
    from engram.cli import cli

    r = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "ui", "--no-auth",
                                 "--host", "0.0.0.0"])
    assert r.exit_code == 2
    assert "--no-auth is only allowed on a loopback address" in r.output


def test_engram_ui_serves_the_pages_without_mcp(tmp_path: Path) -> None:
    from server_fixtures import ENGRAM, free_port, server_env

    port = free_port()
    log = (tmp_path / "ui.log").open("wb")
    proc = subprocess.Popen([*ENGRAM, "--db", str(tmp_path / "ui.db"), "ui", "--no-auth",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            env=server_env(tmp_path))
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "ui.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "ui.log").read_text()
            time.sleep(0.2)
        assert httpx.get(f"{url}/ui/users").status_code == 200
        assert httpx.post(f"{url}/mcp", json={}).status_code == 404
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    assert f"Memory browser: http://127.0.0.1:{port}/ui" in (tmp_path / "ui.log").read_text()
