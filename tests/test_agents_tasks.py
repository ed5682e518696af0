"""Task memory trees (issue #20, item 2): nodes with status, notes and results as
versioned memories; the context of a node within a token budget; on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stores import make_store

from engram import Engram
from engram.errors import InvalidInput, NotFound

A = {"agent_id": "planner"}


@pytest.fixture(params=["sqlite", "sqlite-encrypted", "memory"])
def eg(request: pytest.FixtureRequest, tmp_path: Path, embedder: Any) -> Iterator[Engram]:
    with Engram(store=make_store(request.param, tmp_path), embedder=embedder) as e:
        yield e


def _release(eg: Engram) -> dict[str, Any]:
    t = eg.tasks
    root = t.create("Ship release 2.0", **A)
    docs = t.create("Write the changelog", parent_id=root.id, **A)
    tests = t.create("Run the test suite", parent_id=root.id, **A)
    flaky = t.create("Fix the flaky upload test", parent_id=tests.id, **A)
    pkg = t.create("Build the packages", parent_id=root.id, **A)
    t.update(docs.id, status="done", result="CHANGELOG.md lists 12 changes", **A)
    t.update(pkg.id, status="failed", result="the arm64 wheel did not build", **A)
    t.update(flaky.id, status="blocked", blocker="the CI runner is offline", **A)
    t.update(tests.id, note="3 failures on the first run", **A)
    return {"root": root, "docs": docs, "tests": tests, "flaky": flaky, "pkg": pkg}


def test_a_tree_records_status_notes_results_as_versions(eg: Engram) -> None:
    n = _release(eg)
    docs = eg.tasks.get(n["docs"].id, **A)
    assert (docs.status, docs.result, docs.parent_id) == ("done", "CHANGELOG.md lists 12 changes",
                                                          n["root"].id)
    assert eg.tasks.get(n["tests"].id, **A).notes == ("3 failures on the first run",)
    hist = eg.history(n["docs"].id, **A)
    assert [v.version for v in hist] == list(range(1, len(hist) + 1))
    assert [v.reason for v in hist].count("task done") == 1  # (linked notes may add versions)
    nodes = eg.tasks.nodes(n["flaky"].id, **A)
    assert {x.id for x in nodes} == {x.id for x in n.values()}
    assert len({x.tree for x in nodes}) == 1
    other = eg.tasks.create("Plan the offsite", **A)
    assert [x.id for x in eg.tasks.nodes(other.id, **A)] == [other.id]


def test_context_has_path_blockers_and_finished_siblings(eg: Engram) -> None:
    n = _release(eg)
    ctx = eg.tasks.context(n["tests"].id, 400, **A)
    assert ctx.text.startswith("Current task: [open] Run the test suite")
    assert "3 failures on the first run" in ctx.text
    assert ctx.path == [n["root"].id]
    assert ctx.blockers == [n["flaky"].id] and "CI runner is offline" in ctx.text
    assert ctx.siblings[0] == n["pkg"].id  # most recently finished first
    assert set(ctx.siblings) == {n["docs"].id, n["pkg"].id}
    assert "12 changes" in ctx.text and "arm64" in ctx.text
    assert ctx.tokens <= 400 and ctx.omitted == 0
    leaf = eg.tasks.context(n["flaky"].id, 400, **A)
    assert leaf.path == [n["root"].id, n["tests"].id]
    assert "blocked by: the CI runner is offline" in leaf.text


def test_context_keeps_within_a_small_budget_by_priority(eg: Engram) -> None:
    n = _release(eg)
    small = eg.tasks.context(n["tests"].id, 40, **A)
    assert small.tokens <= 40 and small.omitted > 0
    assert small.text.startswith("Current task:")
    assert small.path == [n["root"].id]  # the path comes before siblings' results
    assert not small.siblings


def test_blocked_then_unblocked_clears_the_blocker(eg: Engram) -> None:
    n = _release(eg)
    eg.tasks.update(n["flaky"].id, status="open", note="runner is back", **A)
    assert eg.tasks.get(n["flaky"].id, **A).blocker is None
    assert eg.tasks.context(n["tests"].id, 400, **A).blockers == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"status": "paused"}, "status"),
    ({}, "nothing to update"),
    ({"note": "  "}, "note"),
    ({"blocker": "waiting"}, "blocked"),
    ({"result": 42}, "result"),
])
def test_bad_updates_change_nothing(eg: Engram, kwargs: dict[str, Any], message: str) -> None:
    root = eg.tasks.create("Migrate the database", **A)
    with pytest.raises(InvalidInput, match=message):
        eg.tasks.update(root.id, **kwargs, **A)
    assert len(eg.history(root.id, **A)) == 1


def test_bad_creates_and_foreign_ids(eg: Engram) -> None:
    root = eg.tasks.create("Migrate the database", **A)
    for bad in ({"title": ""}, {"title": "x", "status": "later"}, {"title": "x", "notes": [""]}):
        with pytest.raises(InvalidInput):
            eg.tasks.create(**bad, **A)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        eg.tasks.create("child", parent_id="mem_nope", **A)
    fact = eg.remember("The database is PostgreSQL 16", **A)
    with pytest.raises(NotFound):
        eg.tasks.get(fact.id, **A)  # a memory, not a task
    with pytest.raises(NotFound):
        eg.tasks.context(root.id, agent_id="intruder")
    with pytest.raises(NotFound):
        eg.tasks.update(root.id, status="done", agent_id="intruder")
    with pytest.raises(InvalidInput):
        eg.tasks.context(root.id, 5, **A)
    assert eg.stats(**A).memories == 2


def test_the_async_facade_runs_the_same_core(tmp_path: Path, embedder: Any) -> None:
    import asyncio

    from engram import AsyncEngram

    async def go() -> tuple[Any, ...]:
        async with AsyncEngram(tmp_path / "a.db", embedder=embedder) as eg:
            p = await eg.remember_procedure("Rotate the TLS certificate of web-1.internal",
                                            steps=["renew it", "reload nginx"], **A)
            p = await eg.feedback(p.id, 0.0, **A)
            ranked = await eg.procedures("rotate the TLS certificate", **A)
            root = await eg.tasks.create("Renew every certificate", **A)
            ctx = await eg.tasks.context(root.id, 64, **A)
            with pytest.raises(NotFound):
                await eg.tasks.get(root.id, agent_id="intruder")
            return p, ranked, ctx

    p, ranked, ctx = asyncio.run(go())
    assert p.utility.count == 2 and ranked[0].procedure.id == p.id
    assert ctx.text == "Current task: [open] Renew every certificate"


def test_trees_and_procedures_on_postgresql(tmp_path: Path, embedder: Any) -> None:
    with Engram(store=make_store("postgres", tmp_path), embedder=embedder) as eg:
        n = _release(eg)
        ctx = eg.tasks.context(n["tests"].id, 400, **A)
        assert ctx.path == [n["root"].id] and ctx.blockers == [n["flaky"].id]
        assert set(ctx.siblings) == {n["docs"].id, n["pkg"].id}
        p = eg.remember_procedure("Restart the cache on host4.internal",
                                  steps=["drain host4.internal", "restart"], **A)
        eg.feedback(p.id, 0.0, **A)
        ranked = eg.procedures("restart the cache on host9.internal", **A)
        assert ranked[0].procedure.id == p.id and ranked[0].procedure.utility.count == 2
        with pytest.raises(NotFound):
            eg.tasks.get(n["root"].id, agent_id="intruder")
