"""Every command and code block of README.md runs as written (#13.18).

Each fenced block is run in order in one temporary directory that stands for a
fresh checkout, with a fresh default store (``XDG_DATA_HOME``/``XDG_CONFIG_HOME``
and ``HOME`` point into it) and the venv's ``bin`` on ``PATH``, as the README
asks. What is not run literally, and why:

* the Quickstart line creates a virtualenv and installs the project: re-running it
  here would reinstall into the test's own environment, so its syntax is checked
  (``bash -n``), its extra is checked against pyproject.toml, and the rest of the
  chain (``.venv/bin/engram demo``, ``.venv/bin/engram serve --no-auth``) runs from
  the temporary directory with ``.venv`` pointing at the current virtualenv; the
  server runs in the background for the blocks that talk to it and is stopped at
  the end;
* port 8420 is replaced by a free port everywhere (other test runs may hold 8420);
* ``bash .ci/run`` would run this very suite again: its syntax is checked;
* benchmark commands run with small options appended (click takes the last value of
  an option) on tiny datasets in the layout the README names; the data files they
  name are written into the temporary directory first;
* the TOML block is resolved as a config file (no LLM is contacted);
* inline commands in the prose (`engram keys create ...`) are parsed by the real CLI
  (they must name existing commands and options), not run.

A README block in a language this test does not know fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
VENV_BIN = Path(sys.executable).parent
PORT_IN_README = "8420"


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.lang}"


def readme_blocks() -> list[Block]:
    blocks: list[Block] = []
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if m:
            start, body = i + 1, []
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append(Block(m.group(1), "\n".join(body) + "\n", start))
        i += 1
    return blocks


BLOCKS = readme_blocks()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Checkout:
    """The temporary directory standing for a fresh checkout, and its environment."""

    root: Path
    env: dict[str, str]
    port: str
    server: subprocess.Popen[bytes] | None = None

    def localize(self, code: str) -> str:
        return code.replace(PORT_IN_README, self.port)

    def bash(self, code: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(["bash", "-euo", "pipefail", "-c", self.localize(code)],
                             cwd=self.root, env=self.env, capture_output=True, text=True,
                             timeout=timeout, check=False)
        assert out.returncode == 0, f"exit {out.returncode}\n{out.stdout}\n{out.stderr}"
        return out

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([sys.executable, "-c", self.localize(code)], cwd=self.root,
                             env=self.env, capture_output=True, text=True, timeout=300,
                             check=False)
        assert out.returncode == 0, f"exit {out.returncode}\n{out.stdout}\n{out.stderr}"
        return out

    def start_server(self, command: str) -> None:
        """Run ``command`` (``.venv/bin/engram serve ...``) in the background until ready."""
        if self.server is not None:
            return
        log = open(self.root / "serve.log", "wb")  # noqa: SIM115 - closed with the process
        self.server = subprocess.Popen(
            ["bash", "-c", "exec " + self.localize(command)], cwd=self.root, env=self.env,
            stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{self.port}/readyz"
        for _ in range(600):
            if self.server.poll() is not None:
                raise AssertionError((self.root / "serve.log").read_text())
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            import time

            time.sleep(0.2)
        raise AssertionError("server not ready: " + (self.root / "serve.log").read_text())

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(10)
            self.server = None


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checkout]:
    root = tmp_path_factory.mktemp("readme")
    (root / ".venv").symlink_to(VENV_BIN.parent)
    (root / ".ci").mkdir()
    (root / ".ci" / "run").symlink_to(REPO / ".ci" / "run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGRAM_")}
    env.update({
        "HOME": str(root / "home"),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",  # the venv's bin, as advised
        "ENGRAM_SQLITE_SYNCHRONOUS": "NORMAL",
    })
    co = Checkout(root, env, str(_free_port()))
    env["ENGRAM_PORT"] = co.port  # `engram serve` without --port listens there
    try:
        yield co
    finally:
        co.stop_server()


# -- handlers, one per kind of block -----------------------------------------------------
def _quickstart(co: Checkout, block: Block) -> None:
    line = block.code.strip()
    check = subprocess.run(["bash", "-n", "-c", line], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stderr
    steps = [s.strip() for s in line.split("&&")]
    assert steps[0] == "python3 -m venv .venv"
    extra = re.fullmatch(r"\.venv/bin/pip install -e '\.\[(\w+)\]'", steps[1])
    assert extra, steps[1]
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert extra.group(1) in extras
    *rest, serve = steps[2:]
    assert serve.startswith(".venv/bin/engram serve"), serve
    for step in rest:
        assert "Traceback" not in co.bash(step).stderr
    co.start_server(serve)


def _ci_run(co: Checkout, block: Block) -> None:
    assert block.code.strip() == "bash .ci/run"
    check = subprocess.run(["bash", "-n", str(REPO / ".ci" / "run")], capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stderr


def _locomo_file(path: Path) -> None:
    turns = [("Caroline", "I started pottery classes last week"),
             ("Melanie", "Nice! I moved to Denver in May"),
             ("Caroline", "My sister Anna visits me in June")]
    conv = {"speaker_a": "Caroline", "speaker_b": "Melanie",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [{"speaker": s, "dia_id": f"D1:{i + 1}", "text": t}
                          for i, (s, t) in enumerate(turns)]}
    qa = [{"question": "What did Caroline start?", "answer": "pottery", "evidence": ["D1:1"],
           "category": 1},
          {"question": "Where did Melanie move?", "answer": "Denver", "evidence": ["D1:2"],
           "category": 1}]
    path.write_text(json.dumps([{"sample_id": "conv-1", "conversation": conv, "qa": qa}]),
                    encoding="utf-8")


def _bench(co: Checkout, block: Block) -> None:
    small = {
        "scale": f"--n 300 --queries 5 --out {co.root / 'scale.json'}",
        "locomo": f"--conversations 1 --questions 2 --budgets 256 --no-chart --quiet "
                  f"--out {co.root / 'bench'}",
        "longmemeval": f"--limit 2 --budgets 256 --no-chart --quiet --out {co.root / 'bench'}",
    }
    _locomo_file(co.root / "locomo10.json")
    (co.root / "longmemeval_s.json").write_bytes(
        (REPO / "tests" / "fixtures" / "longmemeval_small.json").read_bytes())
    commands = [ln.split("#")[0].strip() for ln in block.code.splitlines() if ln.strip()]
    assert commands and all(c.startswith("engram bench ") for c in commands)
    for cmd in commands:
        name = cmd.split()[2]
        assert name in small, f"no small options for `{cmd}`"
        co.bash(f"{cmd} {small[name]}")


def _toml(co: Checkout, block: Block) -> None:
    from engram.config import resolve_config

    path = co.root / "engram.toml"
    path.write_text(block.code, encoding="utf-8")
    cfg = resolve_config(config_file=path, env={})
    assert cfg.llm_model and cfg.llm_base_url


def _server_python(co: Checkout, block: Block) -> None:
    co.start_server(f".venv/bin/engram serve --no-auth --port {PORT_IN_README}")
    out = co.python(block.code).stdout
    memories = out.split("## Conversation excerpts")[0]
    # derive "sync": the memory of the message just sent is in the context at once,
    # named after the user (the curl block told us she is Ana)
    assert "Ana likes green tea" in memories, out


def _server_bash(co: Checkout, block: Block) -> None:
    co.start_server(f".venv/bin/engram serve --no-auth --port {PORT_IN_README}")
    out = co.bash(block.code).stdout
    answers, pos, dec = [], 0, json.JSONDecoder()
    while pos < len(out.strip()):  # curl prints the JSON answers back to back
        obj, pos = dec.raw_decode(out, pos)
        answers.append(obj)
        pos += len(out[pos:]) - len(out[pos:].lstrip())
    assert answers and not any("title" in a and "status" in a for a in answers), out
    assert any("Lisbon" in json.dumps(a) for a in answers[1:])


def _python(co: Checkout, block: Block) -> None:
    out = co.python(block.code).stdout
    assert "SUPERSEDE Ana lives in Berlin" in out and "ADD Ana lives in Lisbon" in out
    lines = out.strip().splitlines()
    # record time (as_of before the move) and event time (June 2023) both see Berlin
    assert "Ana lives in Berlin" in lines[-2] and "Lisbon" not in lines[-2], lines[-2]
    assert "Ana lives in Berlin" in lines[-1] and "Lisbon" not in lines[-1], lines[-1]


def _bash(co: Checkout, block: Block) -> None:
    out = co.bash(block.code)
    assert "Traceback" not in out.stderr


def handler(block: Block) -> tuple[str, object]:
    code = block.code
    if block.lang == "bash" and "pip install" in code:
        return "quickstart", _quickstart
    if block.lang == "bash" and ".ci/run" in code:
        return "ci", _ci_run
    if block.lang == "bash" and "engram bench" in code:
        return "bench", _bench
    if block.lang == "bash" and PORT_IN_README in code:
        return "server-bash", _server_bash
    if block.lang == "python" and PORT_IN_README in code:
        return "server-python", _server_python
    if block.lang == "bash":
        return "bash", _bash
    if block.lang == "python":
        return "python", _python
    if block.lang == "toml":
        return "toml", _toml
    raise AssertionError(f"README.md line {block.line}: no way to run a {block.lang!r} block")


def test_every_block_has_a_handler() -> None:
    kinds = [handler(b)[0] for b in BLOCKS]
    assert kinds.count("quickstart") == 1 and "python" in kinds and "bash" in kinds


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block_runs(checkout: Checkout, block: Block) -> None:
    _, run = handler(block)
    run(checkout, block)  # type: ignore[operator]


def _inline_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return [c for c in re.findall(r"`(engram [^`]+)`", prose)]


def test_inline_commands_name_real_commands_and_options(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from engram.cli import cli

    monkeypatch.chdir(tmp_path)  # file arguments the prose names exist, empty, here
    commands = _inline_commands()
    assert any(c.startswith("engram keys create") for c in commands)
    for command in commands:
        args = shlex.split(command)[1:]
        for a in args:
            if re.fullmatch(r"[\w.-]+\.(jsonl|json|toml)", a):
                (tmp_path / a).touch()
        cmd: click.Command = cli
        ctx = cli.make_context("engram", [], resilient_parsing=True)
        while isinstance(cmd, click.Group) and args:  # walk down by command names
            name, *args = args
            sub = cmd.get_command(ctx, name)
            assert sub is not None, f"`{command}`: no command {name!r}"
            cmd = sub
            ctx = cmd.make_context(name, [], parent=ctx, resilient_parsing=True)
        # the leaf parses its options and arguments strictly (unknown option: UsageError)
        cmd.make_context(ctx.info_name, list(args), parent=ctx.parent)
