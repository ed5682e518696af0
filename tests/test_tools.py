"""The developer tools in ``tools/`` (outside the wheel) run from the repository root
and use the package's public API; the retrieval tuner's memoising store wrapper
changes no result."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.models import Scope, SearchFilters
from engram.retrieval.config import get_preset
from engram.retrieval.search import Searcher
from tools.tune_retrieval import MemoSource, grid

ROOT = Path(__file__).resolve().parents[1]
TOOLS = sorted(p.stem for p in (ROOT / "tools").glob("*.py") if not p.stem.startswith("_"))
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("tool", ["tune_retrieval", "fit_rerank", "evaluate_time",
                                  "evaluate_trust", "bench_embed"])
def test_tool_runs_as_a_file_from_the_repository_root(tool: str) -> None:
    assert tool in TOOLS
    done = subprocess.run([sys.executable, f"tools/{tool}.py", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


def test_tools_are_not_in_the_package() -> None:
    for tool in TOOLS:
        assert not list((ROOT / "src" / "engram").rglob(f"{tool}.py")), tool


@pytest.fixture
def eg(tmp_path: Path, embedder: Embedder) -> Iterator[Engram]:
    engine = Engram(str(tmp_path / "t.db"), embedder=embedder)
    talk = [
        ("Ana", "I started learning the cello in March."),
        ("Ben", "How are the lessons going?"),
        ("Ana", "Slowly, my teacher says my bowing is too stiff."),
        ("Ben", "My sister moved to Lisbon last year."),
        ("Ana", "Lisbon is lovely, I visited it for a conference."),
        ("Ben", "She works at a bakery near the river."),
    ]
    engine.add([{"text": t, "speaker": s, "role": "user", "id": f"t{i}",
                 "occurred_at": T0 + timedelta(minutes=i)} for i, (s, t) in enumerate(talk)],
               user_id="u", session_id="s1")
    yield engine
    engine.close()


@pytest.mark.parametrize("query", ["cello lessons", "where does Ben's sister live",
                                   "what did the teacher say about the bowing?"])
def test_memoised_source_returns_what_the_store_returns(eg: Engram, query: str) -> None:
    plain = Searcher(eg.store, eg.embedder)
    memo = Searcher(MemoSource(eg.store), eg.embedder)
    scope = Scope(user_id="u")
    configs = [get_preset("recall"), get_preset("recall-centred"),
               *grid(get_preset("recall"), "fine")[:6]]
    for _ in range(2):  # the second round is served from the memo
        for cfg in configs:
            want = plain.search(query, scope, SearchFilters(), cfg, 5, T0 + timedelta(days=1))
            got = memo.search(query, scope, SearchFilters(), cfg, 5, T0 + timedelta(days=1))
            assert [(h.item.id, round(h.score, 9)) for h in got] == \
                   [(h.item.id, round(h.score, 9)) for h in want], cfg.name


def test_grid_points_are_distinct_and_valid() -> None:
    base = get_preset("recall")
    for stage, size in (("coarse", 192), ("fine", 72)):
        points = grid(base, stage)
        assert len(points) == size
        assert len({p.name for p in points}) == size
