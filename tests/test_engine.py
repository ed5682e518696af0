"""Engram behaviours through the public API, on real SQLite files with the real embedder."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from engram import (
    AsyncEngram,
    Engram,
    Episode,
    InvalidInput,
    Memory,
    MemoryStatus,
    Message,
    ModelMismatch,
    NotFound,
    Operation,
)
from engram.embed.base import Embedder, InputType


class Renamed(Embedder):
    """The real embedder under another model id (a stand-in for a model switch)."""

    def __init__(self, inner: Embedder, model_id: str = "test:renamed-minilm") -> None:
        self.inner = inner
        self.model_id = model_id
        self.dim = inner.dim

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        return self.inner.embed(texts, input_type)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


@pytest.fixture
def eg(tmp_path: Path, embedder: Embedder) -> Iterator[Engram]:
    with Engram(tmp_path / "engine.db", embedder=embedder) as engine:
        yield engine


def _texts(hits: Sequence[object]) -> list[str]:
    return [h.text for h in hits]  # type: ignore[attr-defined]


def test_add_stores_episodes_and_derives_memories(eg: Engram) -> None:
    res = eg.add("I live in Berlin", user_id="u")
    assert [e.created for e in res.episodes] == [True]
    assert [o.op for o in res.operations] == [Operation.ADD]
    ep = eg.get(res.episodes[0].id, user_id="u")
    assert isinstance(ep, Episode) and ep.text == "I live in Berlin"
    mem = eg.get(res.operations[0].memory_id, user_id="u")  # type: ignore[arg-type]
    assert isinstance(mem, Memory) and "Berlin" in mem.text
    assert mem.source_episode_ids == [ep.id]
    st = eg.stats(user_id="u")
    assert (st.episodes, st.memories) == (1, 1)
    assert st.embedding_model == eg.embedder().model_id


def test_search_ranks_the_relevant_item_first(eg: Engram) -> None:
    eg.add(["I adopted a golden retriever puppy named Max",
            "The quarterly budget meeting was moved to Friday",
            "My sister is learning to play the cello"], user_id="u", derive=False)
    hits = eg.search("what pet do I have", user_id="u", limit=3)
    assert "retriever" in hits[0].text
    assert hits[0].scores and hits[0].score >= hits[-1].score
    assert eg.search("dog", user_id="someone-else") == []


def test_search_filters_and_limit(eg: Engram) -> None:
    eg.add("I moved to Lisbon", user_id="u")
    eg.remember("Buy flowers for mum", user_id="u", kind="plan")
    hits = eg.search("Lisbon flowers", user_id="u", kinds=["plan"])
    assert [h.item.kind for h in hits] == ["plan"]  # type: ignore[union-attr]
    assert all(h.ref.type == "episode" for h in eg.search("Lisbon", user_id="u", kinds="episode"))
    assert len(eg.search("Lisbon", user_id="u", limit=1)) == 1


def test_duplicate_fact_is_a_noop(eg: Engram) -> None:
    first = eg.add("I live in Berlin", user_id="u")
    again = eg.add("I live in Berlin", user_id="u")
    assert [o.op for o in again.operations] == [Operation.NOOP]
    assert again.operations[0].memory_id == first.operations[0].memory_id
    assert eg.stats(user_id="u").memories == 1


def test_idempotent_resend(eg: Engram) -> None:
    msgs = [Message("I started a pottery class", id="m-1"), Message("It is on Tuesdays", id="m-2")]
    first = eg.add(msgs, user_id="u")
    before = (list(eg.export_records(user_id="u")), eg.stats(user_id="u"))
    again = eg.add(msgs, user_id="u")
    assert [e.created for e in first.episodes] == [True, True]
    assert [e.created for e in again.episodes] == [False, False]
    assert again.operations == []
    assert (list(eg.export_records(user_id="u")), eg.stats(user_id="u")) == before


def test_berlin_to_lisbon_supersedes_and_as_of_remembers(eg: Engram) -> None:
    berlin = eg.add("I live in Berlin", user_id="u").operations[0].memory_id
    time.sleep(0.01)
    before_move = datetime.now(UTC)
    time.sleep(0.01)
    ops = eg.add("I moved to Lisbon", user_id="u").operations
    assert {o.op for o in ops} == {Operation.SUPERSEDE, Operation.ADD}
    old = eg.get(berlin, user_id="u")  # type: ignore[arg-type]
    assert isinstance(old, Memory) and old.status == MemoryStatus.SUPERSEDED
    mems_now = [h.text for h in eg.search("where does the user live", user_id="u",
                                          kinds=["fact"])]
    assert any("Lisbon" in t for t in mems_now) and not any("Berlin" in t for t in mems_now)
    then = [h.text for h in eg.search("where does the user live", user_id="u",
                                      kinds=["fact"], as_of=before_move)]
    assert any("Berlin" in t for t in then) and not any("Lisbon" in t for t in then)
    ctx = eg.context("where does the user live", user_id="u", as_of=before_move)
    assert "Berlin" in ctx.text and "Lisbon" not in ctx.text
    was = eg.get(berlin, user_id="u", as_of=before_move)  # type: ignore[arg-type]
    assert isinstance(was, Memory) and was.status == MemoryStatus.ACTIVE
    assert [v.operation for v in eg.history(berlin, user_id="u")] == [  # type: ignore[arg-type]
        Operation.ADD, Operation.SUPERSEDE]


def test_a_diet_told_as_a_change_supersedes_the_old_one(eg: Engram) -> None:
    """Session 21: "gone / become / went / turned (fully) vegan" and "I'm fully vegan" tell
    a diet as "I'm vegan" does, so the older diet is superseded; someone else's diet, a
    question or a diet given up is no diet of the user's."""
    old = eg.add("I'm pescatarian, I eat fish but no meat.", user_id="d").operations[0]
    for i, told in enumerate(("I've gone fully vegan since the summer.",
                              "I went vegetarian last year.", "I'm strictly vegan now.",
                              "I became a vegan in 2020.")):
        ops = eg.add(told, user_id=f"d{i}").operations
        assert [o.text for o in ops if o.op == Operation.ADD] == [
            "The user is " + ("vegetarian" if "vegetarian" in told else "vegan")], told
    ops = eg.add("I've gone fully vegan since the summer.", user_id="d").operations
    assert {o.op for o in ops} == {Operation.SUPERSEDE, Operation.ADD}
    was = eg.get(old.memory_id, user_id="d")  # type: ignore[arg-type]
    assert isinstance(was, Memory) and was.status == MemoryStatus.SUPERSEDED
    for said in ("My sister went vegan.", "Have you gone vegan?", "I'm no longer vegetarian.",
                 "I'm not vegan."):
        assert eg.add(said, user_id="x").operations == [], said


def test_context_respects_the_token_budget(eg: Engram) -> None:
    eg.add([f"On day {i} I went hiking near mountain lake number {i} with my friend Ana"
            for i in range(30)], user_id="u")
    eg.remember("Ana is my hiking partner", user_id="u")
    for budget in (40, 120, 400):
        ctx = eg.context("hiking with Ana", user_id="u", max_tokens=budget)
        assert ctx.tokens <= budget and ctx.max_tokens == budget
        assert ctx.tokens == eg.count_tokens(ctx.text)
        assert ctx.items or budget < 100
        assert len(ctx.items) <= len(ctx.text.splitlines())
        day = None  # a turn is dated by the day header it is listed under
        for line in ctx.text.splitlines():
            if line.startswith("#") or re.fullmatch(r"\d{4}-\d{2}-\d{2}", line):
                day = re.fullmatch(r"\d{4}-\d{2}-\d{2}", line) or day
                continue
            ref = re.match(r"\[(\d+)\] ", line)  # items[n - 1] holds the id
            assert ref, line
            item = ctx.items[int(ref[1]) - 1]
            assert item.label == int(ref[1]) and item.ref.id not in ctx.text
            assert re.match(r"\[\d+\] \d{4}-\d{2}-\d{2} ", line) if item.ref.type == "memory" \
                else day, line
    big = eg.context("hiking with Ana", user_id="u", max_tokens=400)
    small = eg.context("hiking with Ana", user_id="u", max_tokens=120)
    assert len(big.items) > len(small.items) > 0
    with pytest.raises(InvalidInput):
        eg.context("x", user_id="u", max_tokens=5)


def test_list_pages_through_everything(eg: Engram) -> None:
    eg.add([f"note number {i}" for i in range(12)], user_id="u", derive=False)
    seen: list[str] = []
    cursor = None
    while True:
        page = eg.list(user_id="u", type="episode", limit=5, cursor=cursor)
        seen.extend(e.id for e in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 12


def test_update_delete_and_history(eg: Engram) -> None:
    m = eg.remember("I drink coffee every morning", user_id="u", kind="preference")
    new = eg.update(m.id, "I drink green tea every morning", user_id="u")
    assert new.version == 2
    assert "green tea" in eg.search("morning drink", user_id="u", kinds=["preference"])[0].text
    gone = eg.delete(m.id, user_id="u")
    assert gone.status == MemoryStatus.DELETED
    assert eg.delete(m.id, user_id="u").version == gone.version  # idempotent
    assert eg.search("morning drink", user_id="u", kinds=["preference"]) == []
    hist = eg.history(m.id, user_id="u")
    assert [v.operation for v in hist] == [Operation.ADD, Operation.UPDATE, Operation.DELETE]
    assert hist[1].before["text"] == "I drink coffee every morning"  # type: ignore[index]
    assert [x.id for x in eg.list(user_id="u", include_inactive=True).items] == [m.id]
    assert eg.list(user_id="u").items == []
    with pytest.raises(InvalidInput):
        eg.update(m.id, "again", user_id="u")
    with pytest.raises(NotFound):
        eg.update(m.id, "x", user_id="other")
    with pytest.raises(NotFound):
        eg.history(m.id, user_id="other")


def test_forget_leaves_nothing_in_scope(eg: Engram) -> None:
    eg.add("I live in Berlin", user_id="u")
    eg.add("I live in Paris", user_id="v")
    rep = eg.forget(user_id="u")
    assert rep.verified and rep.counts["episodes"] == 1
    st = eg.stats(user_id="u")
    assert (st.episodes, st.memories, st.versions, st.vectors) == (0, 0, 0, 0)
    assert eg.search("Berlin", user_id="u") == []
    assert eg.stats(user_id="v").episodes == 1


def test_export_then_import_is_the_identity(eg: Engram, tmp_path: Path,
                                            embedder: Embedder) -> None:
    eg.add("I live in Berlin", user_id="u", session_id="s1", metadata={"src": "chat"})
    eg.add("I moved to Lisbon", user_id="u", session_id="s2")
    m = eg.remember("Loves jazz", user_id="u", kind="preference")
    eg.update(m.id, "Loves jazz and blues", user_id="u")
    buf = io.StringIO()
    n = eg.export(buf, user_id="u")
    assert n == len(buf.getvalue().splitlines())
    with Engram(tmp_path / "copy.db", embedder=embedder) as other:
        rep = other.import_(io.StringIO(buf.getvalue()))
        assert rep.episodes_created == 2 and rep.memories_created == 3
        again = other.import_(io.StringIO(buf.getvalue()))
        assert again.episodes_created == 0 and again.memories_created == 0
        out = io.StringIO()
        other.export(out, user_id="u")
        assert out.getvalue() == buf.getvalue()
        assert _texts(other.search("Lisbon", user_id="u")) == _texts(eg.search("Lisbon",
                                                                                user_id="u"))


def test_reopen_with_another_model_raises_then_reembed_works(
    tmp_path: Path, embedder: Embedder
) -> None:
    path = tmp_path / "model.db"
    with Engram(path, embedder=embedder) as eg:
        eg.add(["I play the violin", "My car is a red Volvo"], user_id="u", derive=False)
    other = Renamed(embedder)
    with Engram(path, embedder=other) as eg2:
        with pytest.raises(ModelMismatch):
            eg2.search("music", user_id="u")
        with pytest.raises(ModelMismatch):
            eg2.add("x", user_id="u")
        assert eg2.reembed(other) == 2
        assert eg2.stats().embedding_model == other.model_id
        assert "violin" in eg2.search("music instrument", user_id="u")[0].text
        assert eg2.reembed(other) == 0  # nothing left to do
    with Engram(path, embedder=embedder) as eg3, pytest.raises(ModelMismatch):
        eg3.search("music", user_id="u")


def test_engine_does_not_close_a_shared_embedder(tmp_path: Path, embedder: Embedder) -> None:
    Engram(tmp_path / "a.db", embedder=embedder).close()
    assert embedder.embed(["still works"]).shape == (1, embedder.dim)


def test_async_engram_is_equivalent(tmp_path: Path, embedder: Embedder) -> None:
    msgs = ["I live in Berlin", "I moved to Lisbon", "I have a cat called Miso"]
    when = datetime(2024, 5, 1, tzinfo=UTC)
    sync = Engram(tmp_path / "s.db", embedder=embedder)
    for i, t in enumerate(msgs):
        sync.add(t, user_id="u", occurred_at=when + timedelta(days=i))
    s_hits = _texts(sync.search("where do I live", user_id="u"))
    s_stats = sync.stats(user_id="u")

    async def run() -> tuple[list[str], object, type[Exception]]:
        a = AsyncEngram(tmp_path / "a.db", embedder=embedder)
        for i, t in enumerate(msgs):
            await a.add(t, user_id="u", occurred_at=when + timedelta(days=i))
        hits = _texts(await a.search("where do I live", user_id="u"))
        st = await a.stats(user_id="u")
        recs = await a.export_records(user_id="u")
        assert len(recs) == len(list(sync.export_records(user_id="u")))
        try:
            await a.search("", user_id="u")
        except InvalidInput as exc:
            err = type(exc)
        await a.close()
        return hits, st, err

    a_hits, a_stats, a_err = asyncio.run(run())
    assert a_hits == s_hits
    assert (a_stats.episodes, a_stats.memories, a_stats.versions) == (  # type: ignore[attr-defined]
        s_stats.episodes, s_stats.memories, s_stats.versions)
    with pytest.raises(a_err):
        sync.search("", user_id="u")
    sync.close()
