"""Engram as an MCP server (official ``mcp`` SDK): five memory tools.

The same tools serve stdio (``engram mcp``; the tenant is fixed by the
command line) and streamable HTTP (mounted at ``/mcp`` by ``engram serve``;
the tenant comes from the bearer API key of each request, exactly as for REST).

Errors: a tool that fails with an :class:`~engram.errors.EngramError` (an unknown id,
bad input, a full quota...) returns a tool result with ``isError: true`` whose
structured content (and text, as JSON) is ``{"code": ..., "message": ...}``, the same
stable ``code`` as the REST problem; the server logs one line (INFO for the caller's
mistakes, WARNING for server-side failures), no traceback. Arguments that do not
match a tool's input schema get the SDK's validation message, also without a traceback.
"""

# no `from __future__ import annotations`: the SDK evaluates tool signatures, and
# they refer to build_mcp's local limits.
import functools
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any, ParamSpec

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent
from pydantic import Field

from ..engine import Engram
from ..errors import AuthError, EngramError, ImportFormatError
from ..models import Scope
from .auth import Caller
from .problems import RateLimited

__all__ = ["CALLER_STATE", "build_mcp", "http_tenant", "remember_caller", "tool_error"]

log = logging.getLogger("engram.server")
P = ParamSpec("P")

#: key in the ASGI scope's ``state`` under which the ``/mcp`` guard leaves the :class:`Caller`
CALLER_STATE = "engram_caller"

INSTRUCTIONS = (
    "Long-term memory for this conversation partner. Call search_memory or get_context "
    "before answering questions about the user's past, preferences or plans; call add_memory "
    "with what the user says that is worth remembering. Always pass the same user_id."
)

UserId = Annotated[str, Field(min_length=1, max_length=256,
                              description="whose memory: a stable id of the end user")]
Session = Annotated[str | None, Field(default=None, max_length=256,
                                      description="optional conversation/session id")]


def tool_error(tool: str, exc: EngramError) -> CallToolResult:
    """The ``isError`` result for ``exc``: ``{"code", "message"}`` (plus ``retry_after``
    for a rate limit, ``errors`` for an import), structured and as JSON text."""
    payload: dict[str, Any] = {"code": exc.code, "message": str(exc)}
    if isinstance(exc, RateLimited):
        payload["retry_after"] = exc.retry_after
    if isinstance(exc, ImportFormatError) and exc.errors:
        payload["errors"] = [{"line": n, "msg": m} for n, m in exc.errors[:50]]
    level = logging.INFO if exc.status < 500 else logging.WARNING
    log.log(level, "mcp tool %s refused: %s: %r", tool, exc.code, str(exc))
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(payload))],
                          structured_content=payload, is_error=True)


def _typed_errors(
    fn: Callable[P, Awaitable[dict[str, Any]]],
) -> Callable[P, Awaitable[dict[str, Any] | CallToolResult]]:
    """Turn an :class:`EngramError` raised by tool ``fn`` into :func:`tool_error`'s result
    (the signature the SDK reads is ``fn``'s, through ``functools.wraps``)."""

    @functools.wraps(fn)
    async def tool(*args: P.args, **kwargs: P.kwargs) -> dict[str, Any] | CallToolResult:
        try:
            return await fn(*args, **kwargs)
        except EngramError as exc:
            return tool_error(fn.__name__, exc)

    return tool


def build_mcp(
    engine: Engram, *, tenant_of: Callable[[Context[Any, Any]], str], max_query_chars: int = 2000,
) -> MCPServer[Any]:
    """An MCP server whose tools act on ``engine`` in the tenant ``tenant_of(ctx)`` names."""
    server: MCPServer[Any] = MCPServer(name="engram", instructions=INSTRUCTIONS)

    def scope(ctx: Context[Any, Any], user_id: str, session_id: str | None) -> Scope:
        return Scope(user_id=user_id, session_id=session_id, tenant=tenant_of(ctx))

    async def run(fn: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(fn)

    @server.tool(description="Remember something the user said or a fact about them. The text "
                 "is stored verbatim and facts, preferences and plans are derived from it.")
    @_typed_errors
    async def add_memory(
        text: Annotated[str, Field(min_length=1, description="what to remember, verbatim")],
        user_id: UserId, ctx: Context[Any, Any], session_id: Session = None,
        role: Annotated[str, Field(description="who said it: user or assistant")] = "user",
    ) -> dict[str, Any]:
        sc = scope(ctx, user_id, session_id)
        result = await run(lambda: engine.add({"text": text, "role": role}, scope=sc))
        out: dict[str, Any] = result.to_dict()
        return out

    @server.tool(description="Search the user's long-term memory. Returns the most relevant "
                 "memories and past messages, best first, each with an id and a score.")
    @_typed_errors
    async def search_memory(
        query: Annotated[str, Field(min_length=1, max_length=max_query_chars,
                                    description="what to look for, in natural language")],
        user_id: UserId, ctx: Context[Any, Any], session_id: Session = None,
        limit: Annotated[int, Field(ge=1, le=100, description="how many results")] = 10,
    ) -> dict[str, Any]:
        sc = scope(ctx, user_id, session_id)
        hits = await run(lambda: engine.search(query, scope=sc, limit=limit))
        return {"results": [{"id": h.ref.id, "type": h.ref.type, "text": h.text,
                             "score": round(h.score, 4)} for h in hits]}

    @server.tool(description="A prompt-ready block of what is known about the user that is "
                 "relevant to the query, within a token budget. Paste it into your context.")
    @_typed_errors
    async def get_context(
        query: Annotated[str, Field(min_length=1, max_length=max_query_chars,
                                    description="the current question or topic")],
        user_id: UserId, ctx: Context[Any, Any], session_id: Session = None,
        max_tokens: Annotated[int, Field(ge=32, le=200_000,
                                         description="token budget of the block")] = 1024,
    ) -> dict[str, Any]:
        sc = scope(ctx, user_id, session_id)
        block = await run(lambda: engine.context(query, scope=sc, max_tokens=max_tokens))
        return {"text": block.text, "tokens": block.tokens}

    @server.tool(description="List the user's stored memories, newest first. Pass the returned "
                 "next_cursor to get the next page.")
    @_typed_errors
    async def list_memories(
        user_id: UserId, ctx: Context[Any, Any],
        limit: Annotated[int, Field(ge=1, le=200, description="page size")] = 50,
        cursor: Annotated[str | None, Field(default=None, max_length=1024,
                                            description="next_cursor of the previous page")] = None,
    ) -> dict[str, Any]:
        sc = scope(ctx, user_id, None)
        page = await run(lambda: engine.list(scope=sc, limit=limit, cursor=cursor))
        return {"memories": [{"id": m.id, "kind": str(m.kind), "text": m.text,
                              "updated_at": m.to_dict()["updated_at"]} for m in page.items],
                "next_cursor": page.next_cursor}

    @server.tool(description="Delete one memory by id (for example when the user asks you to "
                 "forget it). The memory leaves search; its history is kept.")
    @_typed_errors
    async def delete_memory(
        memory_id: Annotated[str, Field(min_length=1, max_length=256,
                                        description="id from search_memory or list_memories")],
        user_id: UserId, ctx: Context[Any, Any],
    ) -> dict[str, Any]:
        sc = scope(ctx, user_id, None)
        mem = await run(lambda: engine.delete(memory_id, scope=sc))
        return {"id": mem.id, "status": str(mem.status)}

    return server


def remember_caller(scope: MutableMapping[str, Any], who: Caller) -> None:
    """Leave the authenticated caller of an HTTP request for :func:`http_tenant`."""
    scope.setdefault("state", {})[CALLER_STATE] = who


def http_tenant() -> Callable[[Context[Any, Any]], str]:
    """The tenant of an HTTP MCP request: that of the caller the ``/mcp`` guard authenticated
    and left with :func:`remember_caller`. The key is checked (and counted against the rate
    limit) once per HTTP request, by the guard, never again by the tool."""

    def tenant_of(ctx: Context[Any, Any]) -> str:
        scope = getattr(ctx.request_context.request, "scope", None)
        who = scope.get("state", {}).get(CALLER_STATE) if isinstance(scope, dict) else None
        if not isinstance(who, Caller):
            raise AuthError("this MCP request was not authenticated")
        return who.tenant

    return tenant_of
