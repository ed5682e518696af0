"""Every code block of docs/integrations.md runs as written, in order, offline.

The blocks share one temporary directory (their ``memory.db``) with a fresh data and
config home; the export files the import block names are copied there first from
tests/fixtures/importers. ``python`` blocks run with this interpreter, ``bash`` blocks
with the venv's ``bin`` on ``PATH``. A block in another language fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "integrations.md"
FIX = Path(__file__).parent / "fixtures" / "importers"

pytest.importorskip("langgraph", reason="the langgraph extra is not installed")
pytest.importorskip("llama_index.core", reason="the llamaindex extra is not installed")
pytest.importorskip("agents", reason="the openai-agents extra is not installed")


def blocks() -> list[tuple[str, str, int]]:
    text = DOC.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
            for m in re.finditer(r"^```(\w*)\n(.*?)^```$", text, re.S | re.M)]


EXPECT = [  # (language, a line the block must print) in document order
    ("python", "diet I became vegetarian in May"),
    ("python", "Miso"),
    ("python", "engram_add"),
    ("python", "Berlin"),
    ("bash", "imported chatgpt: messages 6 new"),
    ("python", "'messages_existing': 6"),
]


def test_every_block_runs_and_prints_what_the_doc_says(tmp_path: Path) -> None:
    found = blocks()
    assert [lang for lang, _, _ in found] == [lang for lang, _ in EXPECT]
    shutil.copy(FIX / "chatgpt_conversations.json", tmp_path / "conversations.json")
    shutil.copy(FIX / "mem0_oss.json", tmp_path / "mem0_export.json")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env = {k: v for k, v in env.items() if not k.startswith("ENGRAM_")}
    for (lang, code, line), (_, expected) in zip(found, EXPECT, strict=True):
        cmd = [sys.executable, "-c", code] if lang == "python" else [
            "bash", "-euo", "pipefail", "-c", code]
        out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300, check=False)
        assert out.returncode == 0, f"block at line {line}:\n{out.stdout}\n{out.stderr}"
        assert expected in out.stdout, f"block at line {line} printed:\n{out.stdout}"
