"""EngramMemoryBlock inside LlamaIndex's real ``Memory`` (llama-index-core).

Token counting is given a whitespace tokenizer so nothing loads tiktoken data;
the memory's short-term store is LlamaIndex's own in-memory SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("llama_index.core.memory", reason="the llamaindex extra is not installed")

from llama_index.core.base.llms.types import ChatMessage  # noqa: E402
from llama_index.core.memory import Memory  # noqa: E402

from engram import Engram  # noqa: E402
from engram.embed.base import Embedder  # noqa: E402
from engram.integrations.llamaindex import EngramMemoryBlock  # noqa: E402


@pytest.fixture
def eg(tmp_path: Path, embedder: Embedder) -> Iterator[Engram]:
    with Engram(tmp_path / "li.db", embedder=embedder) as engine:
        yield engine


def _memory(session: str, block: EngramMemoryBlock) -> Memory:
    return Memory.from_defaults(session_id=session, token_limit=60, token_flush_size=20,
                                chat_history_token_ratio=0.5, memory_blocks=[block],
                                tokenizer_fn=lambda text: text.split())


def test_flushed_messages_come_back_in_the_next_session(eg: Engram) -> None:
    block = EngramMemoryBlock(engram=eg, user_id="ana", max_tokens=200)
    monday = _memory("monday", block)
    turns = [("user", "Hi, I just adopted a cat named Miso"), ("assistant", "Congratulations!"),
             ("user", "I work as a nurse at Santa Maria hospital"), ("assistant", "Nice."),
             ("user", "What should I cook tonight with some leftover rice and eggs"),
             ("assistant", "Fried rice is quick and uses both of them well.")]
    for role, text in turns:
        monday.put(ChatMessage(role=role, content=text))
    stored = eg.list(user_id="ana", session_id="monday", type="episode").items
    assert stored and stored[0].text == "Hi, I just adopted a cat named Miso"  # flushed
    assert stored[0].role == "user" and stored[1].role == "assistant"

    tuesday = _memory("tuesday", block)
    messages = tuesday.get(input="What is my cat called?")
    system = messages[0]
    assert system.role.value == "system" and "Miso" in (system.content or "")
    assert "<engram>" in (system.content or "")  # LlamaIndex's memory-block template


def test_block_get_and_put_directly(eg: Engram) -> None:
    block = EngramMemoryBlock(engram=eg, agent_id="helper")

    async def run() -> tuple[str, str]:
        await block.aput([ChatMessage(role="user", content="My favourite colour is teal"),
                          ChatMessage(role="assistant", content="")], session_id="s1")
        found = await block.aget([ChatMessage(role="user", content="favourite colour?")])
        none = await block.aget([ChatMessage(role="assistant", content="hello")])
        return found, none

    found, none = asyncio.run(run())
    assert "teal" in found and none == ""
    eps = eg.list(agent_id="helper", type="episode").items
    assert [(e.text, e.session_id) for e in eps] == [("My favourite colour is teal", "s1")]
    assert EngramMemoryBlock(engram=eg, user_id="bo")._scope().user_id == "bo"
