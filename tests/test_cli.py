"""The ``engram`` command line: commands, --json output, the error contract, the demo,
the installed entry point, and docs/cli.md kept in sync with ``--help``.

CliRunner invocations share the session's embedder (``State(embedder=...)``), so
the model loads once; each invocation still opens its own real SQLite file.
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

REPO = Path(__file__).resolve().parents[1]
CORE_COMMANDS = {"add", "search", "context", "list", "show", "history", "delete", "forget",
                 "export", "import", "stats", "reembed", "demo"}


@pytest.fixture
def run(embedder: Embedder, tmp_path: Path) -> Any:
    """``run(*args, input=None)`` -> click Result, with ``--db`` pointing at a fresh file."""
    db = str(tmp_path / "cli.db")

    def invoke(*args: str, input: str | None = None, db_path: str | None = None) -> Result:
        argv = ["--db", db_path or db, *args]
        return CliRunner().invoke(cli, argv, obj=State(embedder=embedder), input=input)

    invoke.db = db  # type: ignore[attr-defined]
    return invoke


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def as_json(result: Result) -> Any:
    return json.loads(ok(result).stdout)


def assert_user_error(result: Result, *needles: str) -> str:
    """Exit 2, exactly one line on stderr, no traceback, nothing on stdout."""
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


# -- help and structure ------------------------------------------------------------
def test_help_lists_every_core_command() -> None:
    result = ok(CliRunner().invoke(cli, ["--help"]))
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.startswith("  ") and line.split()}
    assert CORE_COMMANDS <= listed


def test_every_data_command_takes_scope_store_and_json_options() -> None:
    for name in CORE_COMMANDS - {"demo", "import", "reembed", "export"}:
        opts = {o for p in cli.commands[name].params for o in p.opts}
        assert {"--user", "-u", "--agent", "-a", "--session", "-s", "--db", "--config",
                "--json"} <= opts, name


# -- the main round trip -------------------------------------------------------------
def test_add_search_list_show_history_delete(run: Any) -> None:
    first = as_json(run("add", "-u", "ana", "I moved to Lisbon", "--at",
                        "2024-03-01T10:00:00Z", "--json"))
    assert first["episodes"][0]["created"] is True
    assert [o["op"] for o in first["operations"]] == ["ADD"]
    lisbon = first["operations"][0]["memory_id"]

    second = ok(run("add", "-u", "ana", "I moved to Porto last week", "--at",
                    "2024-06-01T10:00:00+01:00"))
    assert "SUPERSEDE" in second.stdout and "Porto" in second.stdout

    hits = as_json(run("search", "-u", "ana", "where does ana live", "--json", "-n", "3"))
    assert hits[0]["type"] == "memory" and hits[0]["item"]["text"].endswith("Porto")
    assert {"dense_rank", "bm25_rank"} <= set(hits[0]["scores"])
    assert hits[0]["sources"][0]["occurred_at"].startswith("2024-06-01T09:00")
    table = ok(run("search", "-u", "ana", "where does ana live")).stdout
    assert "lives in Porto" in table and "dense #" in table and "2024-06-01" in table

    only_eps = as_json(run("search", "-u", "ana", "moved", "--kind", "episode", "--json"))
    assert only_eps and {h["type"] for h in only_eps} == {"episode"}

    active = as_json(run("list", "-u", "ana", "--json"))
    assert [m["text"] for m in active["items"]] == ["The user lives in Porto"]
    everything = as_json(run("list", "-u", "ana", "--all", "--json"))
    assert len(everything["items"]) == 2
    episodes = as_json(run("list", "-u", "ana", "--type", "episode", "--json", "-n", "1"))
    assert len(episodes["items"]) == 1 and episodes["next_cursor"]
    page2 = as_json(run("list", "-u", "ana", "--type", "episode", "--json",
                        "--cursor", episodes["next_cursor"]))
    assert page2["items"][0]["text"] == "I moved to Porto last week"

    shown = as_json(run("show", "-u", "ana", lisbon, "--json"))
    assert shown["type"] == "memory" and shown["status"] == "superseded"
    assert shown["sources"][0]["text"] == "I moved to Lisbon"
    assert "superseded" in ok(run("show", "-u", "ana", lisbon)).stdout

    history = as_json(run("history", "-u", "ana", lisbon, "--json"))
    assert [v["operation"] for v in history] == ["ADD", "SUPERSEDE"]
    assert "SUPERSEDE" in ok(run("history", "-u", "ana", lisbon)).stdout

    porto = active["items"][0]["id"]
    deleted = as_json(run("delete", "-u", "ana", porto, "--json"))
    assert deleted["status"] == "deleted"
    assert as_json(run("list", "-u", "ana", "--json"))["items"] == []
    assert [v["operation"] for v in as_json(run("history", "-u", "ana", porto, "--json"))] \
        == ["ADD", "DELETE"]

    block = as_json(run("context", "-u", "ana", "where", "--max-tokens", "200", "--json"))
    assert block["tokens"] <= 200 and "Lisbon" in block["text"]
    plain = ok(run("context", "-u", "ana", "where"))
    assert plain.stdout.startswith("## ") and "tokens" in plain.stderr
    assert f"[1] {block['items'][0]['id']}" in plain.stderr  # a reference's id

    stats = as_json(run("stats", "--json"))
    assert stats["episodes"] == 2 and stats["memories_by_status"]["deleted"] == 1


def test_add_from_jsonl_file_and_stdin(run: Any, tmp_path: Path) -> None:
    msgs = tmp_path / "m.jsonl"
    msgs.write_text(
        '{"text": "I work at Acme", "session_id": "s1", "occurred_at": "2024-01-02T09:00:00Z"}\n'
        "\n"
        '{"text": "Sounds great", "role": "assistant", "session_id": "s1"}\n'
        '{"text": "I work at Globex now", "session_id": "s2", "id": "m-3"}\n',
        encoding="utf-8",
    )
    res = as_json(run("add", "-u", "bo", "--file", str(msgs), "--speaker", "Bo", "--json"))
    assert len(res["episodes"]) == 3
    assert [o["text"] for o in res["operations"] if o["op"] == "ADD"] == [
        "Bo works at Acme", "Bo works at Globex now"] or any(
        "Globex" in o["text"] for o in res["operations"])
    s1 = as_json(run("list", "-u", "bo", "-s", "s1", "--type", "episode", "--json"))
    assert [e["role"] for e in s1["items"]] == ["user", "assistant"]
    assert s1["items"][0]["speaker"] == "Bo"
    again = as_json(run("add", "-u", "bo", "--file", str(msgs), "--json"))
    assert [e["created"] for e in again["episodes"]][-1] is False  # id m-3 already stored

    piped = as_json(run("add", "-u", "bo", "-", "--role", "user", "--json",
                        input="I'm allergic to peanuts\n"))
    assert any("peanuts" in o["text"] for o in piped["operations"])
    from_stdin = as_json(run("add", "-u", "bo", "--file", "-", "--json",
                             input='{"text": "hello from a pipe"}\n'))
    assert len(from_stdin["episodes"]) == 1


def test_export_import_round_trip(run: Any, tmp_path: Path) -> None:
    ok(run("add", "-u", "cy", "I moved to Oslo", "--at", "2024-01-01T00:00:00Z"))
    ok(run("add", "-u", "cy", "I moved to Bergen", "--at", "2024-05-01T00:00:00Z"))
    out = tmp_path / "cy.jsonl"
    exported = ok(run("export", "-u", "cy", "--out", str(out)))
    assert "exported 7 records" in exported.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 7 and {json.loads(x)["type"] for x in lines} == {
        "episode", "memory", "version"}
    to_stdout = ok(run("export", "-u", "cy"))
    assert sorted(to_stdout.stdout.splitlines()) == sorted(lines)

    other = str(tmp_path / "other.db")
    report = as_json(run("import", str(out), "--json", db_path=other))
    assert report == {"lines": 7, "episodes_created": 2, "episodes_existing": 0,
                      "memories_created": 2, "memories_existing": 0, "versions": 3}
    again = ok(run("import", "-", db_path=other, input=out.read_text(encoding="utf-8")))
    assert "episodes 0 new / 2 known" in again.stdout
    round_trip = ok(run("export", "-u", "cy", db_path=other)).stdout.splitlines()
    assert sorted(round_trip) == sorted(lines)
    hits = as_json(run("search", "-u", "cy", "where does cy live", "--json", db_path=other))
    assert hits[0]["item"]["text"] == "The user lives in Bergen"


def test_forget_asks_then_prints_counts(run: Any) -> None:
    ok(run("add", "-u", "dee", "I moved to Rome"))
    ok(run("add", "-u", "eve", "I moved to Nice"))
    declined = run("forget", "-u", "dee", input="n\n")
    assert declined.exit_code == 1 and "nothing was changed" in declined.stderr
    assert as_json(run("stats", "-u", "dee", "--json"))["episodes"] == 1
    confirmed = ok(run("forget", "-u", "dee", input="y\n"))
    assert "episodes" in confirmed.stdout and "nothing left" in confirmed.stdout
    assert as_json(run("stats", "-u", "dee", "--json"))["episodes"] == 0
    report = as_json(run("forget", "-u", "eve", "--yes", "--json"))
    assert report["verified"] is True and report["counts"]["episodes"] == 1
    assert as_json(run("stats", "--json"))["episodes"] == 0


def test_reembed_keeps_search_working(run: Any) -> None:
    ok(run("add", "-u", "fay", "I work at Initech"))
    res = as_json(run("reembed", "--json"))
    assert res["embedding_model"] == "onnx:all-MiniLM-L6-v2-int8"
    hits = as_json(run("search", "-u", "fay", "job", "--json"))
    assert any("Initech" in h["item"]["text"] for h in hits)


# -- the error contract ----------------------------------------------------------------
def test_missing_scope_is_one_line_exit_2(run: Any) -> None:
    for args in (["search", "q"], ["add", "hello"], ["list"], ["forget", "--yes"],
                 ["export"], ["history", "mem_x"]):
        assert_user_error(run(*args), "--user", "--agent")


def test_naive_datetime_is_refused(run: Any) -> None:
    line = assert_user_error(run("add", "-u", "g", "hi", "--at", "2024-05-01T10:00:00"),
                             "--at", "timezone")
    assert line.startswith("Error: ")
    assert_user_error(run("search", "-u", "g", "q", "--as-of", "yesterday"), "--as-of")
    assert not Path(run.db).exists()  # nothing written, not even an empty store


def test_unknown_id_and_bad_values(run: Any) -> None:
    ok(run("migrate"))  # an empty store
    assert_user_error(run("show", "-u", "h", "mem_nope"), "mem_nope")
    assert_user_error(run("history", "-u", "h", "mem_nope"), "mem_nope")
    assert_user_error(run("delete", "-u", "h", "mem_nope"), "mem_nope")
    assert_user_error(run("search", "-u", "h", "q", "--limit", "0"), "limit")
    assert_user_error(run("search", "-u", "h", "q", "--kind", "gossip"), "gossip")
    assert_user_error(run("search", "-u", "h", "q", "--preset", "nope"), "nope")
    assert_user_error(run("list", "-u", "h", "--type", "thing"), "--type")
    assert_user_error(run("frobnicate"), "frobnicate")
    assert_user_error(run("add", "-u", "h"), "TEXT")


def test_malformed_import_names_lines_and_writes_nothing(run: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    good = ('{"type": "episode", "id": "e1", "user_id": "u", "text": "hi", '
            '"occurred_at": "2024-01-01T00:00:00Z", "created_at": "2024-01-01T00:00:00Z"}')
    bad.write_text(f"{good}\nnot json\n{good.replace('e1', 'e2')}\n[1, 2]\n", encoding="utf-8")
    line = assert_user_error(run("import", str(bad)), "line 2", "line 4", "nothing imported")
    assert "line 1:" not in line  # the good line is not blamed
    assert not Path(run.db).exists()  # nothing written, not even an empty store


def test_malformed_add_file_names_lines_and_writes_nothing(run: Any, tmp_path: Path) -> None:
    bad = tmp_path / "msgs.jsonl"
    bad.write_text('{"text": "I moved to Kyiv"}\n{"text": "x", "occurred_at": '
                   '"2024-01-01T00:00:00"}\n', encoding="utf-8")
    assert_user_error(run("add", "-u", "i", "--file", str(bad)), "line 2", "timezone")
    bad.write_text('{"text": "ok"}\n{oops\n', encoding="utf-8")
    assert_user_error(run("add", "-u", "i", "--file", str(bad)), "line 2", "nothing added")
    assert not Path(run.db).exists()  # nothing written, not even an empty store


def test_json_errors_are_json(run: Any) -> None:
    ok(run("migrate"))  # an empty store
    result = run("show", "-u", "j", "mem_nope", "--json")
    assert result.exit_code == 2
    err = json.loads(result.stderr)
    assert err["error"]["code"] == "not_found" and "mem_nope" in err["error"]["message"]


# -- the demo ------------------------------------------------------------------------------
def test_demo_tells_the_story(run: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    out = ok(run("demo", db_path=db)).stdout
    for needle in ("Maya lives in Porto", "Maya lives in Lisbon", "superseded", "SUPERSEDE",
                   "Where does Maya live?", "dense #", "tokens", "Try next"):
        assert needle in out, needle
    # the context block for a dinner holds what a cook must know (a memory whose message
    # is shown in full gives its room to it: the block may hold excerpts only)
    block = out[out.index("context: Suggest a dinner"):]
    assert "## Conversation excerpts" in block or "## Memories" in block
    assert "vegetarian" in block and "coriander" in block
    # the demo data stays in --db and re-running adds nothing new
    stats = as_json(run("stats", "-u", "maya", "--json", db_path=db))
    assert stats["episodes"] == 54 and stats["memories_by_status"]["superseded"] >= 3
    again = ok(run("demo", db_path=db)).stdout
    assert "nothing new added" in again
    assert as_json(run("stats", "-u", "maya", "--json", db_path=db))["episodes"] == 54


def test_demo_conversation_is_well_formed() -> None:
    from engram.cli.demo import load_demo_sessions

    sessions = load_demo_sessions()
    turns = [m for _, ms in sessions for m in ms]
    assert len(sessions) >= 5 and 40 <= len(turns) <= 60
    assert {m["role"] for m in turns} == {"user", "assistant"}
    assert len({m["id"] for m in turns}) == len(turns)
    times = [m["occurred_at"] for m in turns]
    assert times == sorted(times) and all(t.endswith("Z") for t in times)


# -- the installed entry point ----------------------------------------------------------------
def _engram_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("engram")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "engram"]


def _subprocess(*args: str, tmp_path: Path, input: str | None = None
                ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGRAM_")}
    env["ENGRAM_CONFIG"] = str(tmp_path / "missing-ok.toml")
    (tmp_path / "missing-ok.toml").write_text("", encoding="utf-8")
    return subprocess.run([*_engram_cmd(), *args], capture_output=True, text=True,
                          input=input, env=env, timeout=120, check=False)


def test_installed_entry_point_round_trip(tmp_path: Path) -> None:
    db = str(tmp_path / "sub.db")
    added = _subprocess("add", "--db", db, "-u", "kim", "I moved to Tallinn", "--json",
                        tmp_path=tmp_path)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["operations"][0]["text"] == "The user lives in Tallinn"
    found = _subprocess("--db", db, "search", "-u", "kim", "Tallinn", "--json",
                        tmp_path=tmp_path)
    assert found.returncode == 0, found.stderr
    assert "The user lives in Tallinn" in [h["item"]["text"] for h in json.loads(found.stdout)]


def test_installed_entry_point_errors_and_help(tmp_path: Path) -> None:
    missing = _subprocess("search", "--db", str(tmp_path / "x.db"), "anything",
                          tmp_path=tmp_path)
    assert missing.returncode == 2 and missing.stdout == ""
    assert len(missing.stderr.strip().splitlines()) == 1 and "Traceback" not in missing.stderr
    usage = _subprocess("search", "--no-such-flag", tmp_path=tmp_path)
    assert usage.returncode == 2 and len(usage.stderr.strip().splitlines()) == 1
    module = subprocess.run([sys.executable, "-m", "engram", "--help"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert module.returncode == 0 and "demo" in module.stdout


def test_help_does_not_load_the_embedder_or_engine() -> None:
    code = ("import sys; from engram.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('onnxruntime', 'tokenizers',"
            " 'engram.bench.', 'fastapi', 'engram.store.sqlite'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


# -- docs/cli.md ------------------------------------------------------------------------------
def test_docs_cover_every_command() -> None:
    from engram.cli._docs import command_paths

    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [p for p in command_paths() if f"## {p}\n" not in text]
    assert not missing, f"docs/cli.md lacks {missing}; run python -m engram.cli._docs --write"


def test_docs_match_core_help() -> None:
    from engram.cli._docs import sections

    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    stale = [p for p, h in sections() if p.split(" ")[-1] in CORE_COMMANDS | {"engram"}
             and f"```\n{h.rstrip()}\n```" not in text]
    assert not stale, f"docs/cli.md is stale for {stale}; run python -m engram.cli._docs --write"
