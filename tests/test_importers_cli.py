"""``engram import --from FORMAT FILE``: the CLI wiring of engram.importers."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from engram.cli import cli
from engram.cli._app import State
from engram.cli.transfer import IMPORT_FORMATS
from engram.embed.base import Embedder
from engram.importers import FORMATS

FIX = Path(__file__).parent / "fixtures" / "importers"


def _run(embedder: Embedder, db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), "import", *args],
                              obj=State(embedder=embedder))


def test_every_importer_is_offered_by_the_cli() -> None:
    assert IMPORT_FORMATS == tuple(FORMATS)


def test_import_from_reports_and_is_idempotent(embedder: Embedder, tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    first = _run(embedder, db, "--from", "chatgpt", str(FIX / "chatgpt_conversations.json"),
                 "-u", "ana")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == ("imported chatgpt: messages 6 new / 0 known, "
                                    "memories 0 new / 0 known, 2 left out")
    again = _run(embedder, db, "--from", "chatgpt", str(FIX / "chatgpt_conversations.json"),
                 "-u", "ana", "--json")
    assert json.loads(again.stdout)["messages_existing"] == 6
    letta = _run(embedder, db, "--from", "letta", str(FIX / "letta_agent.af"), "-u", "ana",
                 "--batch-size", "1")
    assert "memories 2 new" in letta.stdout
    assert "engram import --from letta: " in letta.stderr  # progress lines off a terminal


def test_bad_file_is_one_line_exit_2_and_creates_no_store(embedder: Embedder,
                                                          tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,role\nhello,user\n,user\nbye,robot\n", encoding="utf-8")
    db = tmp_path / "never.db"
    result = _run(embedder, db, "--from", "csv", str(bad), "-u", "ana")
    assert result.exit_code == 2 and result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and "line 3: no text" in line and "line 4: role" in line
    assert not db.exists()
    skipped = _run(embedder, db, "--from", "csv", str(bad), "-u", "ana", "--skip-bad")
    assert skipped.exit_code == 0
    assert "skipped bad record: line 3: no text" in skipped.stderr
    assert skipped.stdout.strip().endswith("0 left out, 2 bad")
    no_owner = _run(embedder, db, "--from", "claude", str(FIX / "claude_conversations.json"))
    assert no_owner.exit_code == 2 and "user_id or an agent_id" in no_owner.stderr
