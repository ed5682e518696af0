"""Which CLI commands may create a store (#13.15).

A mistyped ``--db`` must never answer from a new empty store: commands that
only read (or change what exists) refuse a SQLite file that does not exist
with one line naming the path and exit 2, and create nothing; commands that
write create it and say so once, on stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from engram.cli import cli
from engram.cli._app import State
from engram.embed.base import Embedder

#: every command that must not create a store, with the arguments it needs
NEEDS_STORE: list[list[str]] = [
    ["search", "-u", "ana", "where"],
    ["context", "-u", "ana", "where"],
    ["list", "-u", "ana"],
    ["show", "-u", "ana", "mem_x"],
    ["history", "-u", "ana", "mem_x"],
    ["delete", "-u", "ana", "mem_x"],
    ["forget", "-u", "ana", "--yes"],
    ["export", "-u", "ana"],
    ["stats"],
    ["reembed"],
]


@pytest.fixture
def invoke(embedder: Embedder) -> Any:
    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), obj=State(embedder=embedder), input=input)
    return run


@pytest.mark.parametrize("args", NEEDS_STORE, ids=lambda a: a[0])
def test_read_commands_refuse_a_missing_store(invoke: Any, tmp_path: Path,
                                              args: list[str]) -> None:
    typo = tmp_path / "sub" / "memroy.db"
    for argv in (["--db", str(typo), *args], [*args, "--db", str(typo)]):
        result = invoke(*argv)
        assert result.exit_code == 2, (result.output, result.exception)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(typo) in lines[0] and "no store" in lines[0], lines
        assert result.stdout == ""
    assert not typo.exists() and not typo.parent.exists()


def test_json_error_code(invoke: Any, tmp_path: Path) -> None:
    result = invoke("--db", str(tmp_path / "nope.db"), "stats", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"]["code"] == "store_not_found"


def test_writes_create_the_store_and_say_so_once(invoke: Any, tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    first = invoke("--db", str(db), "add", "-u", "ana", "hello")
    assert first.exit_code == 0, first.output
    assert first.stderr.strip().splitlines() == [f"created a new store at {db}"]
    second = invoke("--db", str(db), "add", "-u", "ana", "hello again")
    assert second.exit_code == 0 and "created" not in second.stderr
    stats = invoke("--db", str(db), "stats", "--json")
    assert stats.exit_code == 0 and json.loads(stats.stdout)["episodes"] == 2

    imported = tmp_path / "imported.db"
    export = invoke("--db", str(db), "export", "-u", "ana", "--out", str(tmp_path / "a.jsonl"))
    assert export.exit_code == 0, export.output
    result = invoke("--db", str(imported), "import", str(tmp_path / "a.jsonl"))
    assert result.exit_code == 0, result.output
    assert f"created a new store at {imported}" in result.stderr


def test_migrate_store_refuses_a_missing_source(invoke: Any, tmp_path: Path) -> None:
    src, dst = tmp_path / "typo.db", tmp_path / "copy.db"
    result = invoke("migrate-store", "--from", f"sqlite:///{src}", "--to", f"sqlite:///{dst}")
    assert result.exit_code == 2 and str(src) in result.stderr
    assert not src.exists() and not dst.exists()


def test_installed_cli_refuses_a_mistyped_db(tmp_path: Path) -> None:
    """The real entry point in a subprocess: `engram --db typo stats`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGRAM_")}
    env["ENGRAM_CONFIG"] = str(tmp_path / "none.toml")
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    typo = tmp_path / "engarm.db"
    out = subprocess.run([sys.executable, "-m", "engram", "--db", str(typo), "stats"],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        f"Error: no store at {typo} (check --db; commands that write, like `engram add`, "
        "create it)"
    ]
    assert not typo.exists()
