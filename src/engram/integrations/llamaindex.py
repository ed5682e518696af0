"""LlamaIndex: :class:`EngramMemoryBlock`, long-term memory for ``llama_index.core.memory.Memory``.

``Memory.from_defaults(session_id=..., memory_blocks=[EngramMemoryBlock(engram=eg,
user_id="ana")])`` (``pip install 'engramdb[llamaindex]'``, llama-index-core only):

* **put**: messages that leave LlamaIndex's short-term queue (its token limit) are
  stored as Engram episodes of the block's scope, with the memory's session id as
  Engram's ``session_id``, and derived into memories like any ``Engram.add``.
  Roles map to Engram's (``user``, ``assistant``, ``system``/``developer`` ->
  ``system``, ``tool``/``function`` -> ``tool``); messages without text are skipped.
* **get**: the block returns ``Engram.context(query, max_tokens)`` as text, which
  ``Memory`` inserts into the system message (or the last user message). The
  query is the latest user message (the ``input`` given to ``Memory.get``
  counts as one); it searches the whole user/agent scope, so what was said in
  one session is remembered in the next. No user message, or nothing found: no
  block.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..engine import Engram
from ..models import Message, Scope
from ..validation import make_scope
from . import require

require("llama_index.core.memory", "llamaindex")

from llama_index.core.base.llms.types import ChatMessage  # noqa: E402
from llama_index.core.bridge.pydantic import Field  # noqa: E402
from llama_index.core.memory import BaseMemoryBlock  # noqa: E402

__all__ = ["EngramMemoryBlock"]

_ROLE = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system",
         "tool": "tool", "function": "tool", "chatbot": "assistant", "model": "assistant"}


class EngramMemoryBlock(BaseMemoryBlock[str]):
    """A LlamaIndex memory block backed by Engram (see the module docstring).

    ``engram`` is an open :class:`~engram.Engram` that the caller closes; the scope
    is ``user_id`` and/or ``agent_id`` (default agent ``"llamaindex"``).
    """

    name: str = Field(default="engram", description="The name of the memory block.")
    description: str | None = Field(
        default="What Engram remembers about the conversation's subject.")
    engram: Engram = Field(exclude=True, description="The Engram instance to use.")
    user_id: str | None = Field(default=None)
    agent_id: str | None = Field(default=None)
    max_tokens: int = Field(default=512, ge=32, le=200_000,
                            description="Size limit of the context block.")
    derive: bool = Field(default=True, description="Derive memories from the messages.")

    def _scope(self, session_id: str | None = None) -> Scope:
        agent = self.agent_id if (self.user_id or self.agent_id) else "llamaindex"
        return make_scope(None, self.user_id, agent, session_id)

    async def _aget(self, messages: list[ChatMessage] | None = None,
                    **block_kwargs: Any) -> str:
        query = next((m.content for m in reversed(messages or [])
                      if str(m.role.value) == "user" and (m.content or "").strip()), None)
        if query is None:
            return ""
        block = await asyncio.to_thread(self.engram.context, query, scope=self._scope(),
                                        max_tokens=self.max_tokens)
        return block.text if block.items else ""

    async def _aput(self, messages: list[ChatMessage]) -> None:
        by_session: dict[str | None, list[Message]] = {}
        for m in messages:
            text = m.content or ""
            if not text.strip():
                continue
            sid = m.additional_kwargs.get("session_id")
            by_session.setdefault(sid if isinstance(sid, str) else None, []).append(
                Message(text=text, role=_ROLE.get(str(m.role.value), "observation")))
        for sid, msgs in by_session.items():
            await asyncio.to_thread(self.engram.add, msgs, scope=self._scope(sid),
                                    derive=self.derive)
