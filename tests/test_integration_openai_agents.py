"""EngramSession and memory_tools with the OpenAI Agents SDK's real classes.

The agent runs for real: ``Runner.run`` with the SDK's chat completions model, over
HTTP to the scripted OpenAI-compatible server on loopback (the one stand-in), which
answers with tool calls and text. Tracing is disabled (it would export to OpenAI).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("agents", reason="the openai-agents extra is not installed")

from agents import (  # noqa: E402
    Agent,
    OpenAIChatCompletionsModel,
    Runner,
    SQLiteSession,
    set_tracing_disabled,
)
from agents.memory import Session, SessionSettings  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402
from support.scripted_llm import ScriptedLLMServer, ok, raw  # noqa: E402

from engram import Engram  # noqa: E402
from engram.embed.base import Embedder  # noqa: E402
from engram.integrations.openai_agents import EngramSession, memory_tools  # noqa: E402


@pytest.fixture
def eg(tmp_path: Path, embedder: Embedder) -> Iterator[Engram]:
    with Engram(tmp_path / "agents.db", embedder=embedder) as engine:
        yield engine


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


ITEMS: list[Any] = [
    {"role": "user", "content": "I live in Lisbon and I'm vegetarian"},
    {"role": "assistant", "type": "message", "status": "completed", "id": "msg_1",
     "content": [{"type": "output_text", "text": "Noted!", "annotations": []}]},
    {"type": "function_call", "call_id": "call_1", "name": "weather",
     "arguments": '{"city": "Lisbon"}', "id": "fc_1"},
    {"type": "function_call_output", "call_id": "call_1", "output": "22C and sunny"},
    {"role": "user", "content": [{"type": "input_text", "text": "Thanks"}]},
]


# -- the Session protocol, checked side by side with the SDK's own SQLiteSession ------
def test_session_protocol_matches_sqlite_session(eg: Engram) -> None:
    async def run(session: Any) -> list[Any]:
        seen: list[Any] = []
        assert isinstance(session, Session)
        seen.append(await session.get_items())
        await session.add_items(ITEMS[:3])
        await session.add_items(ITEMS[3:])
        await session.add_items([])
        seen.append(await session.get_items())
        seen.append(await session.get_items(limit=2))
        seen.append(await session.get_items(limit=0))
        seen.append(await session.pop_item())
        seen.append(await session.get_items())
        await session.clear_session()
        seen.append(await session.get_items())
        seen.append(await session.pop_item())
        return seen

    ours = _run(run(EngramSession("s1", eg, user_id="ana")))
    theirs = _run(run(SQLiteSession("s1")))
    assert ours == theirs
    assert ours[1] == ITEMS and ours[2] == ITEMS[3:] and ours[4] == ITEMS[-1]


def test_session_settings_limit_and_sessions_apart(eg: Engram) -> None:
    a = EngramSession("a", eg, user_id="ana", session_settings=SessionSettings(limit=2))
    b = EngramSession("b", eg, user_id="ana")
    _run(a.add_items(ITEMS))
    _run(b.add_items(ITEMS[:1]))
    assert _run(a.get_items()) == ITEMS[-2:]
    assert _run(a.get_items(limit=10)) == ITEMS
    assert _run(b.get_items()) == ITEMS[:1]
    _run(b.clear_session())
    assert _run(a.get_items(limit=10)) == ITEMS  # clearing b leaves a alone


def test_items_are_episodes_and_memories_cross_sessions(eg: Engram) -> None:
    s = EngramSession("monday", eg, user_id="ana")
    _run(s.add_items(ITEMS))
    episodes = eg.list(user_id="ana", session_id="monday", type="episode").items
    assert [e.text for e in episodes] == [
        "I live in Lisbon and I'm vegetarian", "Noted!", 'weather({"city": "Lisbon"})',
        "22C and sunny", "Thanks"]
    assert [e.role for e in episodes] == ["user", "assistant", "assistant", "tool", "user"]
    # another session of the same user finds it through Engram
    assert "Lisbon" in eg.context("where does Ana live?", user_id="ana").text


def test_pop_and_clear_forget_for_good(eg: Engram) -> None:
    s = EngramSession("s", eg, user_id="ana")
    _run(s.add_items([{"role": "user", "content": "My locker code is 4417"},
                      {"role": "user", "content": "I work at Acme"}]))
    first = eg.list(user_id="ana", session_id="s", type="episode").items[0]
    assert _run(s.pop_item()) == {"role": "user", "content": "I work at Acme"}
    kept = eg.list(user_id="ana", session_id="s", type="episode").items
    assert [(e.id, e.occurred_at) for e in kept] == [(first.id, first.occurred_at)]
    assert "Acme" not in json.dumps(list(eg.export_records(user_id="ana")))
    _run(s.add_items([{"role": "user", "content": "I work at Acme"}]))  # re-added after pop
    assert len(_run(s.get_items())) == 2
    _run(s.clear_session())
    assert _run(s.get_items()) == []
    assert "4417" not in json.dumps(list(eg.export_records(user_id="ana")))


# -- a real agent run --------------------------------------------------------------------
def _tool_call(name: str, args: dict[str, Any]) -> Any:
    body = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
        "created": int(time.time()), "model": "scripted-model",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": f"call_{uuid.uuid4().hex[:8]}", "type": "function",
                            "function": {"name": name, "arguments": json.dumps(args)}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
    return raw(200, json.dumps(body), "application/json")


def test_agent_remembers_across_sessions_with_session_and_tools(
        eg: Engram, scripted_llm: ScriptedLLMServer) -> None:
    set_tracing_disabled(True)
    client = AsyncOpenAI(base_url=scripted_llm.base_url, api_key="test", max_retries=0)
    model = OpenAIChatCompletionsModel(model="scripted-model", openai_client=client)
    agent = Agent(name="assistant", instructions="Use memory.", model=model,
                  tools=memory_tools(eg, user_id="ana"))
    scripted_llm.script(
        _tool_call("engram_add", {"text": "My sister Marta lives in Porto"}), ok("Saved."),
        _tool_call("engram_search", {"query": "where does Marta live", "limit": 3}),
        ok("Marta lives in Porto."),
    )
    monday = EngramSession("monday", eg, user_id="ana")
    tuesday = EngramSession("tuesday", eg, user_id="ana")

    async def two_days() -> tuple[Any, Any]:  # one event loop: the client keeps its connection
        first = await Runner.run(agent, "Remember: my sister Marta lives in Porto",
                                 session=monday)
        return first, await Runner.run(agent, "Where does Marta live?", session=tuesday)

    first, second = _run(two_days())
    assert first.final_output == "Saved."
    assert second.final_output == "Marta lives in Porto."
    last = scripted_llm.chat_requests[-1].messages
    tool_msg = next(m for m in last if m["role"] == "tool")
    assert "Porto" in tool_msg["content"]  # the tool found Monday's memory
    # a new session's history: only Tuesday's user turn is sent
    assert [m["content"] for m in last if m["role"] == "user"] == ["Where does Marta live?"]
    assert [i.get("role") for i in _run(monday.get_items())][0] == "user"
    assert len(_run(tuesday.get_items())) == 4  # user, tool call, tool output, answer


def test_memory_tools_are_function_tools(eg: Engram) -> None:
    tools = memory_tools(eg, agent_id="bot")
    assert [t.name for t in tools] == ["engram_add", "engram_search", "engram_context"]
    assert tools[1].params_json_schema["required"] == ["query"]


def test_items_that_are_not_json_objects_are_refused(eg: Engram) -> None:
    from engram import InvalidInput

    s = EngramSession("s", eg, user_id="ana")
    with pytest.raises(InvalidInput):
        _run(s.add_items(["just text"]))
    with pytest.raises(InvalidInput):
        _run(s.add_items([{"role": "user", "content": object()}]))
    assert _run(s.get_items()) == []
