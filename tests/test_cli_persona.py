"""``engram profile``, ``engram fill-form``, ``engram draft-reply`` (cli/persona.py)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from engram.cli import cli
from engram.cli._app import State
from engram.embed.base import Embedder


def test_profile_form_and_reply_from_the_command_line(embedder: Embedder,
                                                      tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db, *args], obj=State(embedder=embedder))

    for text in ["I moved to Oslo.", "I love skiing.", "I really love skiing!"]:
        assert run("add", text, "-u", "kai", "--speaker", "Kai").exit_code == 0
    shown = run("profile", "-u", "kai")
    assert shown.exit_code == 0 and "lives_in: Oslo" in shown.stdout
    assert "loves skiing" in shown.stdout and "2 said" in shown.stdout
    data = json.loads(run("profile", "-u", "kai", "--json").stdout)
    assert data["subject"] == "Kai" and data["preferences"][0]["topic"] == "skiing"

    form = run("fill-form", "Home city", "Blood type", "-u", "kai")
    lines = form.stdout.splitlines()
    assert form.exit_code == 0 and lines[0].startswith("Home city: Oslo  [mem")
    assert lines[1] == "Blood type: "
    fields = json.loads(run("fill-form", "Hobbies", "-u", "kai", "--json").stdout)["fields"]
    assert fields[0]["value"] == "skiing" and fields[0]["citations"]

    reply = run("draft-reply", "Skiing this weekend?", "-u", "kai")
    assert reply.exit_code == 0 and reply.stdout.strip() == "I love skiing."
    assert "cites: mem" in reply.stderr

    for args in (("profile",), ("fill-form", "Age"), ("fill-form", "a", "a", "-u", "kai"),
                 ("fill-form", "Age", "-u", "kai", "--llm")):
        bad = run(*args)
        assert bad.exit_code == 2 and "Traceback" not in bad.output, (args, bad.output)
        assert len(bad.stderr.strip().splitlines()) == 1
