"""A short crash loop (scripts/crash_loop.py): SIGKILL during batch adds,
imports and superseding adds loses no acknowledged write and leaves no
half-written record. The script runs 100 rounds; this test runs 5."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from engram.embed.base import Embedder

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "crash_loop.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crash_loop", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["crash_loop"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_crash_loop_five_rounds(tmp_path: Path, embedder: Embedder) -> None:
    loop = _load()
    results = loop.run_loop(tmp_path / "loop.db", 5, seed=11, echo=False, embedder=embedder)
    assert {r.kind for r in results} == {"add", "import", "consolidate"}
    assert sum(r.acked for r in results) > 0
    for r in results:
        assert not r.lost, f"run {r.run} ({r.kind}) lost acknowledged writes: {r.lost[:5]}"
        assert not r.problems, f"run {r.run} ({r.kind}): {r.problems}"
    assert "acknowledged writes lost: 0" in loop.summarize(results)


def test_checker_catches_a_half_written_record(tmp_path: Path, embedder: Embedder) -> None:
    """The checks are not vacuous: an episode whose vector is missing is reported."""
    import sqlite3

    from engram import Engram

    path = tmp_path / "half.db"
    with Engram(path, embedder=embedder) as eg:
        eg.add("I moved to Lisbon", user_id="u")
    loop = _load()
    assert loop.check_store(path) == []
    con = sqlite3.connect(path)
    con.execute("DELETE FROM vectors WHERE item_type = 'episode'")
    con.commit()
    con.close()
    assert any(p.startswith("episode without vector") for p in loop.check_store(path))
