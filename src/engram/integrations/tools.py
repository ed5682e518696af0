"""Engram as a tool for any agent: OpenAI function-calling schemas and a dispatcher.

No framework needed. Give :data:`TOOLS` to any model that speaks OpenAI's tools
format (``tools=TOOLS`` in a chat completions request; Anthropic, Ollama, vLLM and
most agent frameworks take the same JSON schema), then run each tool call the
model makes with :func:`dispatch`, which returns the JSON text to send back as
the tool message::

    reply = client.chat.completions.create(model=..., messages=msgs, tools=TOOLS)
    for call in reply.choices[0].message.tool_calls or []:
        out = dispatch(eg, call.function.name, call.function.arguments, user_id="ana")
        msgs.append({"role": "tool", "tool_call_id": call.id, "content": out})

The tools:

* ``engram_add``: store ``text`` and derive memories from it; returns the episode
  ids and the memory operations. The model's text is stored as role ``assistant``
  (agent trust) or ``observation`` (tool trust): a model cannot claim to be the
  user or the system, whose words Engram trusts more (:mod:`engram.trust`).
* ``engram_search``: ranked memories and episodes for ``query`` (``limit`` 1-50,
  default 5); returns ``[{"id", "type", "text", "score", "date"}]``.
* ``engram_context``: one prompt-ready block for ``query`` within ``max_tokens``
  (64-8000, default 1000); returns ``{"text", "tokens", "refs"}`` (``refs``: each
  reference ``[n]`` in the text -> the id of its memory or message).

The scope is fixed by the caller of :func:`dispatch` (never taken from the model),
so a model can only reach the memory it was given. A bad call (unknown tool,
arguments that are not a JSON object, a missing or wrong-typed argument, or an
Engram :class:`~engram.errors.InvalidInput`) returns
``{"error": {"code", "message"}}`` for the model to read, and nothing is written;
other errors (a failing store) are raised.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ..engine import Engram
from ..errors import InvalidInput
from ..models import Scope
from ..timeutil import format_dt
from ..validation import make_scope

__all__ = ["TOOLS", "TOOL_NAMES", "dispatch"]

#: what a model may store as: its own words (agent trust) or an observation (tool
#: trust); never ``user`` or ``system``, which Engram trusts more
_ROLES = ["assistant", "observation"]


def _function(name: str, description: str, properties: dict[str, Any],
              required: list[str]) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required,
                       "additionalProperties": False}}}


#: OpenAI tools JSON for add/search/context (see the module docstring)
TOOLS: list[dict[str, Any]] = [
    _function(
        "engram_add",
        "Store something worth remembering in long-term memory; durable facts in it "
        "become memories.",
        {"text": {"type": "string", "description": "What to remember, in full sentences."},
         "role": {"type": "string", "enum": _ROLES,
                  "description": "assistant (default): your own words; observation: "
                                 "something you saw, e.g. a tool's result."}},
        ["text"]),
    _function(
        "engram_search",
        "Search long-term memory; returns the best matching memories and past "
        "messages with dates.",
        {"query": {"type": "string", "description": "What to look for."},
         "limit": {"type": "integer", "minimum": 1, "maximum": 50,
                   "description": "How many results (default 5)."}},
        ["query"]),
    _function(
        "engram_context",
        "Get one prompt-ready block of what long-term memory knows about a question.",
        {"query": {"type": "string", "description": "The question to answer."},
         "max_tokens": {"type": "integer", "minimum": 64, "maximum": 8000,
                        "description": "Size limit of the block (default 1000)."}},
        ["query"]),
]
TOOL_NAMES = tuple(t["function"]["name"] for t in TOOLS)


def _arg(args: Mapping[str, Any], name: str, kind: type, default: Any = None,
         bounds: tuple[int, int] | None = None) -> Any:
    value = args.get(name, default)
    if value is None:
        raise InvalidInput(f"missing argument {name!r}")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidInput(f"argument {name!r} must be "
                           f"{'an integer' if kind is int else 'a string'}")
    if bounds is not None and not bounds[0] <= int(str(value)) <= bounds[1]:
        raise InvalidInput(f"argument {name!r} must be between {bounds[0]} and {bounds[1]}")
    return value


def _add(eg: Engram, sc: Scope, args: Mapping[str, Any]) -> Any:
    role = _arg(args, "role", str, "assistant")
    if role not in _ROLES:
        raise InvalidInput(f"argument 'role' must be one of {_ROLES}")
    res = eg.add({"text": _arg(args, "text", str), "role": role}, scope=sc)
    return {"episodes": [e.id for e in res.episodes],
            "memories": [{"op": str(o.op), "id": o.memory_id, "text": o.text}
                         for o in res.operations]}


def _search(eg: Engram, sc: Scope, args: Mapping[str, Any]) -> Any:
    hits = eg.search(_arg(args, "query", str), scope=sc,
                     limit=_arg(args, "limit", int, 5, (1, 50)))
    out = []
    for h in hits:
        when = getattr(h.item, "occurred_at", None) or getattr(h.item, "valid_from", None) \
            or getattr(h.item, "created_at", None)
        out.append({"id": h.ref.id, "type": h.ref.type, "text": h.text,
                    "score": round(h.score, 4), "date": format_dt(when)})
    return out


def _context(eg: Engram, sc: Scope, args: Mapping[str, Any]) -> Any:
    block = eg.context(_arg(args, "query", str), scope=sc,
                       max_tokens=_arg(args, "max_tokens", int, 1000, (64, 8000)))
    return {"text": block.text, "tokens": block.tokens,
            "refs": {str(i.label): i.ref.id for i in block.items}}


_HANDLERS: dict[str, Callable[[Engram, Scope, Mapping[str, Any]], Any]] = {
    "engram_add": _add, "engram_search": _search, "engram_context": _context,
}


def dispatch(eg: Engram, name: str, arguments: str | Mapping[str, Any] | None, *,
             scope: Scope | None = None, user_id: str | None = None,
             agent_id: str | None = None, session_id: str | None = None) -> str:
    """Run the tool call ``name(arguments)`` against ``eg`` in the given scope.

    ``arguments`` is the JSON text a model sends (or an already parsed object).
    Returns JSON text: the tool's result, or ``{"error": {"code", "message"}}``
    for a bad call (see the module docstring). The scope must name a user or an
    agent (:class:`~engram.errors.ScopeRequired` otherwise: that is the caller's
    mistake, not the model's)."""
    sc = make_scope(scope, user_id, agent_id, session_id)
    try:
        handler = _HANDLERS.get(name)
        if handler is None:
            raise InvalidInput(f"unknown tool {name!r}; tools: {', '.join(TOOL_NAMES)}")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"arguments are not JSON: {exc.msg}") from None
        args = {} if arguments is None else arguments
        if not isinstance(args, Mapping):
            raise InvalidInput("arguments must be a JSON object")
        unknown = set(args) - set(_schema(name)["properties"])
        if unknown:
            raise InvalidInput(f"unknown arguments {sorted(unknown)}")
        result = handler(eg, sc, args)
    except InvalidInput as exc:
        result = {"error": {"code": exc.code, "message": str(exc)}}
    return json.dumps(result, ensure_ascii=False)


def _schema(name: str) -> dict[str, Any]:
    for t in TOOLS:
        if t["function"]["name"] == name:
            return dict(t["function"]["parameters"])
    raise InvalidInput(f"unknown tool {name!r}")
