"""``from engram.compat.mem0 import Memory``: mem0's open-source ``Memory`` examples, run as
documented (docs.mem0.ai, "Python SDK quickstart"), over a real SQLite Engram store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engram import Engram, InvalidInput, NotFound, ScopeRequired
from engram.compat.mem0 import Memory

MESSAGES = [
    {"role": "user", "content": "I'm planning to watch a movie tonight. Any recommendations?"},
    {"role": "assistant", "content": "How about thriller movies? They can be quite engaging."},
    {"role": "user", "content": "I'm not a big fan of thriller movies but I love sci-fi movies."},
    {"role": "assistant", "content": "Got it! I'll avoid thriller recommendations and suggest "
                                     "sci-fi movies in the future."},
]


@pytest.fixture
def m(tmp_path: Path, embedder: Any) -> Iterator[Memory]:
    mem = Memory(Engram(tmp_path / "shim.db", embedder=embedder))
    yield mem
    mem.close()


def test_quickstart(m: Memory) -> None:
    result = m.add(MESSAGES, user_id="alice", metadata={"category": "movies"})
    assert set(result) == {"results"} and result["results"]
    assert {r["event"] for r in result["results"]} <= {"ADD", "UPDATE", "DELETE"}
    all_memories = m.get_all(filters={"user_id": "alice"})
    assert all_memories["results"]
    first = all_memories["results"][0]
    assert {"id", "memory", "hash", "metadata", "created_at", "updated_at",
            "user_id"} <= set(first)
    assert first["user_id"] == "alice" and first["metadata"]["category"] == "movies"
    assert m.get(first["id"]) == first
    related = m.search("What do you know about me?", filters={"user_id": "alice"})
    assert related["results"] and all("score" in r for r in related["results"])
    assert any("sci-fi" in r["memory"] for r in related["results"])
    scoped = m.search("movies", filters={"user_id": "alice", "category": "movies"}, top_k=2)
    assert 0 < len(scoped["results"]) <= 2


def test_update_history_delete(m: Memory) -> None:
    added = m.add("I love India, it is my favourite country.", user_id="bob")
    memory_id = added["results"][0]["id"]
    assert m.update(memory_id=memory_id, text="Likes to play cricket on weekends") == {
        "message": "Memory updated successfully!"}
    assert m.get(memory_id)["memory"] == "Likes to play cricket on weekends"
    m.update(memory_id, data="Plays cricket every Sunday")  # mem0's deprecated name
    history = m.history(memory_id=memory_id)
    assert [h["event"] for h in history] == ["ADD", "UPDATE", "UPDATE"]
    assert history[-1]["new_memory"] == "Plays cricket every Sunday"
    assert m.delete(memory_id=memory_id) == {"message": "Memory deleted successfully!"}
    assert m.get(memory_id) is None
    assert m.history(memory_id)[-1]["is_deleted"] is True


def test_delete_all_and_reset(m: Memory) -> None:
    m.add("I prefer window seats.", user_id="carol", run_id="trip-1")
    m.add("I am allergic to nuts.", user_id="dave")
    m.add("Remember to answer in French.", agent_id="helper")
    assert m.delete_all(run_id="trip-1") == {"message": "Memories deleted successfully!"}
    assert m.get_all(filters={"user_id": "carol"})["results"] == []
    assert m.delete_all(user_id="dave")["message"]
    assert m.get_all(filters={"user_id": "dave"})["results"] == []
    m.add("I am allergic to nuts.", user_id="erin")
    m.reset()
    assert m.engram.stats().episodes == 0 and m.engram.stats().memories == 0


def test_infer_false_and_mistakes(m: Memory) -> None:
    raw = m.add(MESSAGES[:1], user_id="fay", infer=False)
    assert raw["results"][0]["memory"] == MESSAGES[0]["content"]
    assert m.get_all(filters={"user_id": "fay"})["results"] == []
    assert m.search("movie tonight", filters={"user_id": "fay"})["results"]
    with pytest.raises(InvalidInput):
        m.get_all(user_id="fay")  # entities go in filters (mem0 2.x)
    with pytest.raises(ScopeRequired):
        m.search("x", filters={"run_id": "r"})
    with pytest.raises(InvalidInput):
        m.delete_all()
    with pytest.raises(NotFound):
        m.update("mem_missing", text="x")
    with pytest.raises(InvalidInput):
        Memory.from_config({"llm": {"provider": "openai"}})
