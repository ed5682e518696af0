"""OpenAI Agents SDK: a :class:`EngramSession` and Engram as function tools.

``Runner.run(agent, "hi", session=EngramSession("chat-42", eg, user_id="ana"))``
keeps the conversation in Engram (``pip install 'engramdb[openai-agents]'``):

* every item the SDK adds is an Engram episode of the scope ``user_id``/
  ``agent_id`` + ``session_id`` (the SDK's session id), stored verbatim in the
  episode's metadata and returned unchanged, in order, by ``get_items``. Its text
  (what is searched) is the item's text: the message content, a tool call as
  ``name(arguments)``, a tool's output. User and assistant messages are derived
  into memories like any ``Engram.add``, so what was said in one session is found
  by ``Engram.search``/``context`` (and :func:`memory_tools`) in every other;
* ``get_items(limit)`` returns the latest ``limit`` items (``None``: the
  ``session_settings`` limit, else all), oldest first;
* ``pop_item`` removes the latest item for good and returns it: Engram episodes are
  never edited, so the session is forgotten (:meth:`Engram.forget`, verified) and
  its other items written back with their ids and times; memories derived from the
  popped item go with it. It costs a forget; the SDK pops only to rewind a retry;
* ``clear_session`` is :meth:`Engram.forget` of the session's scope: its items and
  the memories derived from them are deleted, not hidden.

:func:`memory_tools` turns :data:`engram.integrations.tools.TOOLS` into the SDK's
``FunctionTool`` objects, bound to one scope (the model never picks the scope).
The SDK's tracing exports to OpenAI's servers unless disabled: an offline setup
calls ``agents.set_tracing_disabled(True)``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from typing import Any

from ..engine import MAX_LIMIT, Engram
from ..errors import InvalidInput
from ..models import Episode, Message, Scope, SearchFilters
from ..validation import make_scope
from . import require
from .tools import TOOLS, dispatch

require("agents", "openai-agents")

from agents import FunctionTool  # noqa: E402
from agents.memory import SessionABC  # noqa: E402
from agents.memory.session_settings import (  # noqa: E402
    SessionSettings,
    resolve_session_limit,
)

__all__ = ["EngramSession", "memory_tools"]

_KEY = "openai_agents_item"
_ROLE = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}


class EngramSession(SessionABC):
    """The SDK's session protocol over Engram episodes (see the module docstring).

    ``engram`` is an open :class:`~engram.Engram` that the caller closes. Scope:
    ``user_id`` and/or ``agent_id`` (default agent ``"openai-agents"``) plus
    ``session_id``. ``derive=False`` keeps the items without deriving memories.
    """

    def __init__(self, session_id: str, engram: Engram, *, user_id: str | None = None,
                 agent_id: str | None = None, derive: bool = True,
                 session_settings: SessionSettings | None = None) -> None:
        if user_id is None and agent_id is None:
            agent_id = "openai-agents"
        self.session_id = session_id
        self.session_settings = session_settings
        self.engram = engram
        self.derive = derive
        self.scope: Scope = make_scope(None, user_id, agent_id, session_id)
        self._lock = threading.Lock()  # pop_item's forget-and-rewrite runs alone

    # -- the protocol ------------------------------------------------------------
    async def get_items(self, limit: int | None = None) -> list[Any]:
        limit = resolve_session_limit(limit, self.session_settings)
        episodes = await asyncio.to_thread(self._episodes)
        items = [e.metadata[_KEY] for e in episodes]
        if limit is not None:
            items = items[-limit:] if limit > 0 else []
        return items

    async def add_items(self, items: list[Any]) -> None:
        if items:
            await asyncio.to_thread(self._add, [_message(i) for i in items])

    async def pop_item(self) -> Any | None:
        return await asyncio.to_thread(self._pop)

    async def clear_session(self) -> None:
        await asyncio.to_thread(self._clear)

    # -- sync core ---------------------------------------------------------------
    def _episodes(self) -> list[Episode]:
        out: list[Episode] = []
        cursor: str | None = None
        while True:
            page = self.engram.list(scope=self.scope, type="episode", limit=MAX_LIMIT,
                                    cursor=cursor, filters=SearchFilters())
            out.extend(e for e in page.items if _KEY in e.metadata)
            if page.next_cursor is None:
                return out
            cursor = page.next_cursor

    def _add(self, messages: list[Message]) -> None:
        with self._lock:
            self.engram.add(messages, scope=self.scope, derive=self.derive)

    def _pop(self) -> Any | None:
        with self._lock:
            episodes = self._episodes()
            if not episodes:
                return None
            keep = episodes[:-1]
            self.engram.forget(scope=self.scope)
            if keep:
                self.engram.add([Message(text=e.text, role=e.role, speaker=e.speaker,
                                         occurred_at=e.occurred_at, id=e.id,
                                         metadata={_KEY: e.metadata[_KEY]}) for e in keep],
                                scope=self.scope, derive=self.derive)
            return episodes[-1].metadata[_KEY]

    def _clear(self) -> None:
        with self._lock:
            self.engram.forget(scope=self.scope)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") or p.get("refusal") or "" for p in content
                 if isinstance(p, Mapping)]
        return "\n".join(p for p in parts if isinstance(p, str) and p)
    return ""


def _message(item: Any) -> Message:
    """The episode for one SDK input item: searchable text, role, the item verbatim."""
    if not isinstance(item, Mapping):
        raise InvalidInput(f"session items are JSON objects, not {type(item).__name__}")
    try:
        data = json.loads(json.dumps(item))  # a plain JSON copy of the SDK's TypedDict
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"session item is not JSON-serialisable: {exc}") from None
    kind = data.get("type", "message")
    role = _ROLE.get(str(data.get("role")), "observation")
    if kind == "message" or "role" in data:
        text = _text_of(data.get("content"))
    elif kind.endswith("_call") and "name" in data:
        text, role = f"{data['name']}({data.get('arguments', '')})", "assistant"
    elif kind.endswith("_call_output"):
        out = data.get("output")
        text, role = (out if isinstance(out, str) else json.dumps(out)), "tool"
    elif kind == "reasoning":
        text, role = _text_of(data.get("summary")), "assistant"
    else:
        text = ""
    if not text.strip():
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return Message(text=text, role=role, metadata={_KEY: data})


def memory_tools(engram: Engram, *, user_id: str | None = None, agent_id: str | None = None,
                 scope: Scope | None = None) -> list[FunctionTool]:
    """``engram_add``, ``engram_search`` and ``engram_context`` as SDK function tools,
    bound to one scope; each call runs :func:`engram.integrations.tools.dispatch`
    in a worker thread and returns its JSON text (a bad call returns an error
    object the model can read)."""
    sc = make_scope(scope, user_id, agent_id, None)

    def tool(spec: dict[str, Any]) -> FunctionTool:
        name = spec["function"]["name"]

        async def invoke(ctx: Any, arguments: str) -> str:
            return await asyncio.to_thread(dispatch, engram, name, arguments, scope=sc)

        return FunctionTool(name=name, description=spec["function"]["description"],
                            params_json_schema=spec["function"]["parameters"],
                            on_invoke_tool=invoke, strict_json_schema=False)

    return [tool(spec) for spec in TOOLS]
