"""Engram as an MCP server (official ``mcp`` SDK): the memory API as tools.

Tools: ``add_memory``, ``search_memory``, ``get_context``, ``get_memory``,
``list_memories``, ``update_memory``, ``delete_memory``, ``delete_episode`` (destructive:
the hard delete of one message), ``memory_history``, ``memory_links``, ``forget``
(destructive: a verified hard delete of a scope), ``list_users``, ``list_sessions``, and
those of :mod:`.mcp_procedures` and :mod:`.mcp_persona` (``user_profile``, ``fill_form``,
``draft_reply``). Each
has an input schema (enums where Engram has them: roles, kinds, item types, presets), an
output schema, and annotations (``readOnlyHint``, ``destructiveHint``, ``idempotentHint``;
``openWorldHint`` false: nothing leaves the store). Server info carries Engram's version.
Every tool that reads or writes names a ``user_id`` or an ``agent_id`` (else the error
``scope_required``).

Procedures with learned utility and task trees: :mod:`.mcp_procedures`.

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
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent
from pydantic import AwareDatetime, BaseModel, Field

from .. import __version__
from ..engine import Engram
from ..errors import AuthError, EngramError, ImportFormatError, RateLimited, ScopeRequired
from ..models import Memory, Scope
from ..retrieval.config import PRESETS
from .auth import Caller
from .mcp_persona import register_persona_tools
from .mcp_procedures import register_procedure_tools
from .mcp_types import READ, AgentId, UserId, write
from .notes import LinksOut
from .resources import EpisodeDeletionOut, SubjectsOut, sessions_of, users_of
from .schemas import AddResponse, ForgetOut, HistoryOut, ItemOut, Kind, MemoryOut, Role

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

Session = Annotated[str | None, Field(min_length=1, max_length=256,
                                      description="optional conversation/session id")]
MemoryId = Annotated[str, Field(min_length=1, max_length=256,
                                description="id from search_memory or list_memories")]
AsOf = Annotated[AwareDatetime | None, Field(
    description="answer as the memory stood at this time (ISO 8601 with a timezone)")]
Metadata = Annotated[dict[str, Any] | None, Field(
    description="metadata filter: every key must equal the item's metadata value")]


class Result(BaseModel):
    id: str
    type: str
    text: str
    score: float


class SearchOut(BaseModel):
    results: list[Result]


class ContextOut(BaseModel):
    text: str
    tokens: int
    refs: dict[str, str] = Field(
        description="each reference [n] in text -> the id of its memory (mem_...) or message "
        "(ep_...), for get_memory")


class Listed(BaseModel):
    id: str
    type: str
    kind: str | None = None
    text: str
    session_id: str | None = None
    at: str | None = Field(description="updated_at of a memory, occurred_at of an episode")


class ListOut(BaseModel):
    items: list[Listed]
    next_cursor: str | None



def _preset_enum(schema: dict[str, Any]) -> None:
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            branch["enum"] = sorted(PRESETS)


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


R = TypeVar("R")


def _typed_errors(
    fn: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R | CallToolResult]]:
    """Turn an :class:`EngramError` raised by tool ``fn`` into :func:`tool_error`'s result
    (the signature the SDK reads is ``fn``'s, through ``functools.wraps``)."""

    @functools.wraps(fn)
    async def tool(*args: P.args, **kwargs: P.kwargs) -> R | CallToolResult:
        try:
            return await fn(*args, **kwargs)
        except EngramError as exc:
            return tool_error(fn.__name__, exc)

    return tool


def build_mcp(
    engine: Engram, *, tenant_of: Callable[[Context[Any, Any]], str], max_query_chars: int = 2000,
) -> MCPServer[Any]:
    """An MCP server whose tools act on ``engine`` in the tenant ``tenant_of(ctx)`` names."""
    server: MCPServer[Any] = MCPServer(name="engram", version=__version__,
                                       instructions=INSTRUCTIONS)
    Query = Annotated[str, Field(min_length=1, max_length=max_query_chars,
                                 description="what to look for, in natural language")]
    Preset = Annotated[str | None, Field(max_length=64, json_schema_extra=_preset_enum,
                                         description="a named retrieval configuration")]

    def scope(ctx: Context[Any, Any], user_id: str | None, agent_id: str | None,
              session_id: str | None = None) -> Scope:
        if user_id is None and agent_id is None:
            raise ScopeRequired("name a user_id or an agent_id")
        return Scope(user_id=user_id, agent_id=agent_id, session_id=session_id,
                     tenant=tenant_of(ctx))

    async def run(fn: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(fn)

    @server.tool(description="Remember something the user (or you) said. The text is stored "
                 "verbatim and facts, preferences and plans are derived from it.",
                 annotations=write(destructive=False, idempotent=False))
    @_typed_errors
    async def add_memory(
        text: Annotated[str, Field(min_length=1, description="what to remember, verbatim")],
        ctx: Context[Any, Any], user_id: UserId = None, agent_id: AgentId = None,
        session_id: Session = None,
        role: Annotated[Role, Field(description="who said it")] = "user",
        speaker: Annotated[str | None, Field(max_length=256,
                                             description="the speaker's name")] = None,
        occurred_at: Annotated[AwareDatetime | None, Field(
            description="when it was said (ISO 8601 with a timezone); default: now")] = None,
        metadata: Annotated[dict[str, Any] | None, Field(
            description="your own key/values, kept with the message")] = None,
    ) -> AddResponse:
        sc = scope(ctx, user_id, agent_id, session_id)
        msg = {"text": text, "role": role, "speaker": speaker, "occurred_at": occurred_at}
        result = await run(lambda: engine.add(msg, scope=sc, metadata=metadata))
        return AddResponse.model_validate(result.to_dict())

    @server.tool(description="Search long-term memory. Returns the most relevant memories and "
                 "past messages, best first, each with an id and a score.", annotations=READ)
    @_typed_errors
    async def search_memory(
        query: Query, ctx: Context[Any, Any], user_id: UserId = None,
        agent_id: AgentId = None, session_id: Session = None,
        limit: Annotated[int, Field(ge=1, le=100, description="how many results")] = 10,
        kinds: Annotated[list[Kind | Literal["episode"]] | None, Field(
            description="only these kinds (episode: verbatim messages)")] = None,
        start: Annotated[AwareDatetime | None, Field(description="from this time")] = None,
        end: Annotated[AwareDatetime | None, Field(description="until this time")] = None,
        metadata: Metadata = None, as_of: AsOf = None, preset: Preset = None,
    ) -> SearchOut:
        sc = scope(ctx, user_id, agent_id, session_id)
        hits = await run(lambda: engine.search(query, scope=sc, limit=limit, kinds=kinds,
                                               start=start, end=end, metadata=metadata,
                                               as_of=as_of, preset=preset))
        return SearchOut(results=[Result(id=h.ref.id, type=h.ref.type, text=h.text,
                                         score=round(h.score, 4)) for h in hits])

    @server.tool(description="A prompt-ready block of what is known that is relevant to the "
                 "query, within a token budget. Paste it into your context.", annotations=READ)
    @_typed_errors
    async def get_context(
        query: Query, ctx: Context[Any, Any], user_id: UserId = None,
        agent_id: AgentId = None, session_id: Session = None,
        max_tokens: Annotated[int, Field(ge=32, le=200_000,
                                         description="token budget of the block")] = 1024,
        as_of: AsOf = None, preset: Preset = None,
    ) -> ContextOut:
        sc = scope(ctx, user_id, agent_id, session_id)
        block = await run(lambda: engine.context(query, scope=sc, max_tokens=max_tokens,
                                                 as_of=as_of, preset=preset))
        return ContextOut(text=block.text, tokens=block.tokens,
                          refs={str(i.label): i.ref.id for i in block.items})

    @server.tool(description="One memory or message by id, with all its fields.",
                 annotations=READ)
    @_typed_errors
    async def get_memory(item_id: MemoryId, ctx: Context[Any, Any], user_id: UserId = None,
                         agent_id: AgentId = None, as_of: AsOf = None) -> ItemOut:
        sc = scope(ctx, user_id, agent_id)
        item = await run(lambda: engine.get(item_id, scope=sc, as_of=as_of))
        kind = "memory" if isinstance(item, Memory) else "episode"
        return ItemOut.model_validate({"type": kind, "item": item.to_dict()})

    @server.tool(description="List stored memories (newest first) or messages (oldest "
                 "first). Pass the returned next_cursor to get the next page.",
                 annotations=READ)
    @_typed_errors
    async def list_memories(
        ctx: Context[Any, Any], user_id: UserId = None, agent_id: AgentId = None,
        session_id: Session = None,
        type: Annotated[Literal["memory", "episode"], Field(
            description="memory: derived memories; episode: the messages")] = "memory",
        kinds: Annotated[list[Kind] | None, Field(description="only these kinds")] = None,
        limit: Annotated[int, Field(ge=1, le=200, description="page size")] = 50,
        cursor: Annotated[str | None, Field(max_length=1024,
                                            description="next_cursor of the previous page")
                          ] = None,
    ) -> ListOut:
        sc = scope(ctx, user_id, agent_id, session_id)
        page = await run(lambda: engine.list(scope=sc, type=type, kinds=kinds, limit=limit,
                                             cursor=cursor))
        items = []
        for x in page.items:
            d = x.to_dict()
            items.append(Listed(id=d["id"], type=type, kind=d.get("kind"), text=d["text"],
                                session_id=d["session_id"],
                                at=d.get("updated_at") or d.get("occurred_at")))
        return ListOut(items=items, next_cursor=page.next_cursor)

    @server.tool(description="Correct a memory: a new version with the new text (and/or "
                 "metadata); the old version stays in its history.",
                 annotations=write(destructive=False, idempotent=False))
    @_typed_errors
    async def update_memory(
        memory_id: MemoryId, ctx: Context[Any, Any], user_id: UserId = None,
        agent_id: AgentId = None,
        text: Annotated[str | None, Field(min_length=1, description="the new text")] = None,
        metadata: Annotated[dict[str, Any] | None, Field(
            description="replaces the memory's metadata")] = None,
        importance: Annotated[float | None, Field(ge=0.0, le=1.0)] = None,
    ) -> MemoryOut:
        sc = scope(ctx, user_id, agent_id)
        mem = await run(lambda: engine.update(memory_id, text, scope=sc, metadata=metadata,
                                              importance=importance))
        return MemoryOut.model_validate(mem.to_dict())

    @server.tool(description="Delete one memory by id (for example when the user asks you to "
                 "forget it). It leaves search and context; its history is kept.",
                 annotations=write(destructive=True, idempotent=True))
    @_typed_errors
    async def delete_memory(memory_id: MemoryId, ctx: Context[Any, Any],
                            user_id: UserId = None, agent_id: AgentId = None) -> MemoryOut:
        sc = scope(ctx, user_id, agent_id)
        mem = await run(lambda: engine.delete(memory_id, scope=sc))
        return MemoryOut.model_validate(mem.to_dict())

    @server.tool(description="PERMANENTLY erase one stored message (episode) by id, e.g. "
                 "when the user asks you to forget something they said. Memories derived "
                 "only from it are erased too; others just stop citing it. Cannot be undone.",
                 annotations=write(destructive=True, idempotent=True))
    @_typed_errors
    async def delete_episode(
        episode_id: Annotated[str, Field(min_length=1, max_length=256, description=(
            "id of the message, from add_memory, search_memory or list_memories"))],
        ctx: Context[Any, Any], user_id: UserId = None, agent_id: AgentId = None,
        session_id: Session = None,
    ) -> EpisodeDeletionOut:
        sc = scope(ctx, user_id, agent_id, session_id)
        out = await run(lambda: engine.delete_episode(episode_id, scope=sc))
        return EpisodeDeletionOut.model_validate(out.to_dict())

    @server.tool(description="Every version of a memory, oldest first: what changed, when "
                 "and why.", annotations=READ)
    @_typed_errors
    async def memory_history(memory_id: MemoryId, ctx: Context[Any, Any],
                             user_id: UserId = None, agent_id: AgentId = None) -> HistoryOut:
        sc = scope(ctx, user_id, agent_id)
        versions = await run(lambda: engine.history(memory_id, scope=sc))
        return HistoryOut.model_validate({"versions": [v.to_dict() for v in versions]})

    @server.tool(description="A memory's links to related memories (similar, or sharing a "
                 "name), best first: follow them to gather what belongs together.",
                 annotations=READ)
    @_typed_errors
    async def memory_links(memory_id: MemoryId, ctx: Context[Any, Any],
                           user_id: UserId = None, agent_id: AgentId = None) -> LinksOut:
        sc = scope(ctx, user_id, agent_id)
        found = await run(lambda: engine.links(memory_id, scope=sc))
        return LinksOut.model_validate(
            {"memory_id": memory_id, "links": [link.to_dict() for link in found]})

    @server.tool(description="PERMANENTLY erase everything stored for a user, an agent or one "
                 "session (messages, memories, history), e.g. when the user asks to be "
                 "forgotten. Cannot be undone; the erasure is verified.",
                 annotations=write(destructive=True, idempotent=True))
    @_typed_errors
    async def forget(ctx: Context[Any, Any], user_id: UserId = None, agent_id: AgentId = None,
                     session_id: Session = None) -> ForgetOut:
        sc = scope(ctx, user_id, agent_id, session_id)
        report = await run(lambda: engine.forget(scope=sc))
        return ForgetOut.model_validate(report.to_dict())

    @server.tool(description="The users who have memories here, with counts and last "
                 "activity, most recent first.", annotations=READ)
    @_typed_errors
    async def list_users(ctx: Context[Any, Any]) -> SubjectsOut:
        tenant = tenant_of(ctx)
        found = await run(lambda: users_of(engine.store, tenant))
        return SubjectsOut.model_validate({"subjects": found})

    @server.tool(description="The conversations (sessions) stored, with counts and last "
                 "activity, most recent first; only a user's or agent's when named.",
                 annotations=READ)
    @_typed_errors
    async def list_sessions(ctx: Context[Any, Any], user_id: UserId = None,
                            agent_id: AgentId = None) -> SubjectsOut:
        sc = Scope(user_id=user_id, agent_id=agent_id, tenant=tenant_of(ctx))
        found = await run(lambda: sessions_of(engine.store, sc))
        return SubjectsOut.model_validate({"subjects": found})

    register_procedure_tools(server, engine, scope, run, _typed_errors)
    register_persona_tools(server, engine, scope, run, _typed_errors, max_query_chars)
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
