"""A real ``engram serve`` on loopback in a subprocess, with keys for two tenants and an admin."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ENGRAM = [sys.executable, "-c", "from engram.cli import main; main()"]


@dataclass
class RunningServer:
    url: str
    db: Path
    admin_key: str
    key_a: str
    key_b: str
    proc: subprocess.Popen[bytes]

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_engram(*args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run([*ENGRAM, *args], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def server_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGRAM_")}
    env["ENGRAM_CONFIG"] = str(tmp / "none.toml")
    (tmp / "none.toml").write_text("", encoding="utf-8")
    env["ENGRAM_SQLITE_SYNCHRONOUS"] = "NORMAL"
    env["ENGRAM_RATE_LIMIT_PER_MINUTE"] = "1000000"
    env["ENGRAM_AUTH_FAILURES_PER_MINUTE"] = "1000000"  # tests of the limit set their own
    return env


def start_server(tmp: Path, *extra: str, env_extra: dict[str, str] | None = None
                 ) -> RunningServer:
    db = tmp / "srv.db"
    env = server_env(tmp)
    env.update(env_extra or {})
    from engram.server.keys import KeyStore, keys_path_for

    ks = KeyStore(keys_path_for(f"sqlite:///{db}"))
    admin = ks.create("ops", admin=True).secret
    key_a = ks.create("alpha").secret
    key_b = ks.create("beta").secret
    ks.close()
    port = free_port()
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([*ENGRAM, "--db", str(db), "serve", "--port", str(port), *extra],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise RuntimeError((tmp / "server.log").read_text())
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("server did not become ready: "
                               + (tmp / "server.log").read_text())
        time.sleep(0.2)
    return RunningServer(url, db, admin, key_a, key_b, proc)


def stop_server(srv: RunningServer) -> None:
    srv.proc.terminate()
    try:
        srv.proc.wait(30)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        srv.proc.wait(10)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    srv = start_server(tmp_path_factory.mktemp("server"))
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One real ``engram serve`` per test module (its own store)."""
    srv = start_server(tmp_path_factory.mktemp("served"))
    yield srv
    stop_server(srv)


@pytest.fixture(params=["embedded", "served"])
def api(request: pytest.FixtureRequest, tmp_path: Path, embedder: Any) -> Iterator[Any]:
    """Engram's API two ways: an embedded ``Engram`` on a fresh file, and an
    ``engram.Client`` of the module's :func:`served` server (key A)."""
    from engram import Client, Engram

    if request.param == "embedded":
        with Engram(tmp_path / "e.db", embedder=embedder) as eg:
            yield eg
    else:
        srv: RunningServer = request.getfixturevalue("served")
        with Client(srv.url, api_key=srv.key_a) as c:
            yield c
