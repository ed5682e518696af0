"""``engram add --file`` and ``engram import`` are resumable and idempotent and report
progress off a terminal (#13.5).

The interruption tests run the real installed CLI in a subprocess on a real
SQLite file, SIGKILL it after its first progress line (at least one batch is
committed by then), run the same command again, and count what is stored.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from engram.cli import cli
from engram.cli._app import State
from engram.cli._ingest import line_episode_id
from engram.embed.base import Embedder
from engram.store import open_store


@pytest.fixture
def run(embedder: Embedder, tmp_path: Path) -> Any:
    db = str(tmp_path / "ingest.db")

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--db", db, *args], obj=State(embedder=embedder),
                                  input=input)

    invoke.db = db  # type: ignore[attr-defined]
    return invoke


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def _counts(db: str | Path, user: str | None = None) -> tuple[int, int]:
    from engram.models import Scope

    store = open_store(f"sqlite:///{db}")
    try:
        st = store.stats(Scope(user_id=user) if user else None)
        return st.episodes, st.memories
    finally:
        store.close()


def _write_messages(path: Path, n: int, start: int = 0) -> None:
    with path.open("a", encoding="utf-8") as fp:
        for i in range(start, start + n):
            fp.write(json.dumps({"text": f"I like board game number {i}"}) + "\n")


def test_rerun_stores_nothing_new(run: Any, tmp_path: Path) -> None:
    msgs = tmp_path / "chat.jsonl"
    _write_messages(msgs, 30)
    first = json.loads(_ok(run("add", "-u", "ana", "--file", str(msgs), "--json",
                              "--batch-size", "7")).stdout)
    assert sum(e["created"] for e in first["episodes"]) == 30
    again = json.loads(_ok(run("add", "-u", "ana", "--file", str(msgs), "--json")).stdout)
    assert [e["id"] for e in again["episodes"]] == [e["id"] for e in first["episodes"]]
    assert not any(e["created"] for e in again["episodes"]) and again["operations"] == []
    assert _counts(run.db, "ana") == (30, 30)
    plain = _ok(run("add", "-u", "ana", "--file", str(msgs))).stdout
    assert "stored 0 episodes (30 already known)" in plain


def test_appended_lines_are_new_and_order_holds_across_batches(run: Any, tmp_path: Path
                                                               ) -> None:
    msgs = tmp_path / "log.jsonl"
    _write_messages(msgs, 10)
    _ok(run("add", "-u", "bo", "--file", str(msgs), "--batch-size", "3"))
    _write_messages(msgs, 5, start=10)
    out = json.loads(_ok(run("add", "-u", "bo", "--file", str(msgs), "--json",
                            "--batch-size", "4")).stdout)
    assert [e["created"] for e in out["episodes"]] == [False] * 10 + [True] * 5
    page = json.loads(_ok(run("list", "-u", "bo", "--type", "episode", "-n", "100",
                             "--json")).stdout)
    texts = [i["text"] for i in page["items"]]
    assert texts[:10] == [f"I like board game number {i}" for i in range(10)]
    assert sorted(texts[10:]) == sorted(f"I like board game number {i}" for i in range(10, 15))


def test_identity_is_file_scope_line_and_content(run: Any, tmp_path: Path) -> None:
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    _write_messages(one, 3)
    _write_messages(two, 3)  # the same lines in another file are other messages
    _ok(run("add", "-u", "cy", "--file", str(one)))
    _ok(run("add", "-u", "cy", "--file", str(two)))
    _ok(run("add", "-u", "cy", "-s", "s2", "--file", str(one)))  # another session
    _ok(run("add", "-u", "dee", "--file", str(one)))  # another user
    assert _counts(run.db, "cy")[0] == 9 and _counts(run.db, "dee")[0] == 3
    # a changed line is a new message; the unchanged ones stay known
    one.write_text("\n".join([json.dumps({"text": "I like chess"})]
                             + one.read_text(encoding="utf-8").splitlines()[1:]) + "\n",
                   encoding="utf-8")
    out = json.loads(_ok(run("add", "-u", "dee", "--file", str(one), "--json")).stdout)
    assert [e["created"] for e in out["episodes"]] == [True, False, False]
    a = line_episode_id("file:/x", ("u", None, None), 1, '{"text": "hi"}')
    assert a == line_episode_id("file:/x", ("u", None, None), 1, '{"text": "hi"}  ')
    assert len({a, line_episode_id("file:/y", ("u", None, None), 1, '{"text": "hi"}'),
                line_episode_id("file:/x", ("v", None, None), 1, '{"text": "hi"}'),
                line_episode_id("file:/x", ("u", None, None), 2, '{"text": "hi"}'),
                line_episode_id("file:/x", ("u", None, None), 1, '{"text": "ho"}')}) == 5


def test_stdin_is_identified_by_its_content(run: Any) -> None:
    data = "".join(json.dumps({"text": f"note {i}"}) + "\n" for i in range(4))
    _ok(run("add", "-u", "eve", "--file", "-", input=data))
    _ok(run("add", "-u", "eve", "--file", "-", input=data))
    assert _counts(run.db, "eve")[0] == 4
    _ok(run("add", "-u", "eve", "--file", "-", input=data + json.dumps({"text": "x"}) + "\n"))
    assert _counts(run.db, "eve")[0] == 9  # a different input is a different file


def test_client_ids_are_kept_and_a_repeated_one_is_refused(run: Any, tmp_path: Path) -> None:
    msgs = tmp_path / "ids.jsonl"
    msgs.write_text(json.dumps({"id": "m-1", "text": "hello"}) + "\n"
                    + json.dumps({"text": "world"}) + "\n"
                    + json.dumps({"id": "m-1", "text": "again"}) + "\n", encoding="utf-8")
    result = run("add", "-u", "fay", "--file", str(msgs), "--batch-size", "1")
    assert result.exit_code == 2 and "line 3" in result.stderr and "line 1" in result.stderr
    assert not Path(run.db).exists()
    msgs.write_text(json.dumps({"id": "m-1", "text": "hello"}) + "\n", encoding="utf-8")
    out = json.loads(_ok(run("add", "-u", "fay", "--file", str(msgs), "--json")).stdout)
    assert out["episodes"][0]["id"] == "m-1"


def test_progress_lines_off_a_terminal(run: Any, tmp_path: Path) -> None:
    msgs = tmp_path / "many.jsonl"
    _write_messages(msgs, 40)
    result = _ok(run("add", "-u", "gus", "--file", str(msgs), "--batch-size", "2"))
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("engram add: ")]
    assert 5 <= len(lines) <= 10, result.stderr  # a line per tenth, not per batch
    assert lines[0].startswith("engram add: 4/40 messages (10%)")
    assert all("/40 messages (" in ln for ln in lines)
    quiet = _ok(run("add", "-u", "gus", "--file", str(msgs), "--json"))
    assert quiet.stderr == ""  # --json: machine output only
    small = _ok(run("add", "-u", "hal", "--file", str(msgs)))  # one batch: no progress
    assert "engram add:" not in small.stderr


# -- interrupted runs of the real CLI ---------------------------------------------------
def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGRAM_")}
    env["ENGRAM_CONFIG"] = str(tmp_path / "none.toml")
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    return env


def _engram() -> list[str]:
    exe = Path(sys.executable).with_name("engram")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "engram"]


def _kill_after_first_progress_line(args: list[str], env: dict[str, str], label: str) -> str:
    """Run ``engram *args``; SIGKILL it as soon as it reports progress. Returns stderr so far."""
    proc = subprocess.Popen([*_engram(), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(f"{label}: "):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    return "".join(seen)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([*_engram(), *args], capture_output=True, text=True, env=env,
                         timeout=240, check=False)
    assert out.returncode == 0, out.stderr
    return out


@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_killed_add_file_rerun_stores_each_line_once(tmp_path: Path) -> None:
    env, db, msgs = _env(tmp_path), tmp_path / "kill.db", tmp_path / "chat.jsonl"
    n = 300
    _write_messages(msgs, n)
    args = ["--db", str(db), "add", "-u", "ivy", "--file", str(msgs), "--batch-size", "10"]
    _kill_after_first_progress_line(args, env, "engram add")
    partial, _ = _counts(db, "ivy")
    assert 0 < partial < n  # interrupted midway, whole batches stored
    assert partial % 10 == 0
    done = _run(args, env)
    assert f"stored {n - partial} episodes ({partial} already known)" in done.stdout
    assert _counts(db, "ivy") == (n, n)  # every line once; each derived memory once
    _run(args, env)
    assert _counts(db, "ivy") == (n, n)


@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_killed_import_rerun_imports_each_record_once(tmp_path: Path) -> None:
    env, db, dump = _env(tmp_path), tmp_path / "imp.db", tmp_path / "dump.jsonl"
    n = 600
    with dump.open("w", encoding="utf-8") as fp:
        for i in range(n):
            fp.write(json.dumps({
                "type": "episode", "id": f"e{i}", "user_id": "jo", "role": "user",
                "text": f"imported message {i}", "occurred_at": "2024-01-01T00:00:00Z",
                "created_at": "2024-01-01T00:00:00Z"}) + "\n")
    args = ["--db", str(db), "import", str(dump), "--batch-size", "20"]
    _kill_after_first_progress_line(args, env, "engram import")
    partial, _ = _counts(db, "jo")
    assert 0 < partial < n and partial % 20 == 0
    done = _run(args, env)
    assert f"episodes {n - partial} new / {partial} known" in done.stdout
    assert _counts(db, "jo")[0] == n
