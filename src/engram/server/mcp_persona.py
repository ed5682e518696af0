"""MCP tools for a user's profile and answering as the user (issue #20).

``user_profile``, ``fill_form``, ``draft_reply``: the same engine calls as the REST
routes of :mod:`.persona`, with the same output schemas. Registered by
:func:`engram.server.mcp_tools.build_mcp`, which passes its scope and error helpers
(so this module never imports it).
"""

# no `from __future__ import annotations`: the SDK evaluates tool signatures
from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from ..engine import Engram
from .mcp_types import READ, AgentId, RunFn, ScopeFn, UserId
from .persona import DraftOut, FormOut, ProfileOut

__all__ = ["register_persona_tools"]

FieldName = Annotated[str, Field(min_length=1, max_length=200)]



def register_persona_tools(server: MCPServer[Any], engine: Engram, scope: ScopeFn,
                           run: RunFn, guard: Callable[[Any], Any],
                           max_query_chars: int = 2000) -> None:
    """Add the tools to ``server``; ``scope(ctx, user_id, agent_id)`` builds the caller's
    scope, ``run`` runs a call in a worker thread, ``guard`` turns Engram errors into
    ``isError`` results."""
    Message = Annotated[str, Field(min_length=1, max_length=max_query_chars,
                                   description="the message to reply to")]

    @server.tool(description="What is known about the user: current preferences (likes and "
                 "dislikes, each with a confidence, and whether it is drifting) and facts "
                 "such as where they live or work.", annotations=READ)
    @guard
    async def user_profile(ctx: Context[Any, Any], user_id: UserId = None,
                           agent_id: AgentId = None) -> ProfileOut:
        sc = scope(ctx, user_id, agent_id)
        return ProfileOut.model_validate((await run(lambda: engine.profile(scope=sc))).to_dict())

    @server.tool(description="Fill in form fields on the user's behalf from what is known "
                 "about them. Each value cites the memories it came from; a field memory is "
                 "silent about is left empty: ask the user for those.", annotations=READ)
    @guard
    async def fill_form(
        fields: Annotated[list[FieldName], Field(
            min_length=1, max_length=100, description="the form's field names or questions")],
        ctx: Context[Any, Any], user_id: UserId = None, agent_id: AgentId = None,
    ) -> FormOut:
        sc = scope(ctx, user_id, agent_id)
        form = await run(lambda: engine.fill_form(fields, scope=sc))
        return FormOut.model_validate(form.to_dict())

    @server.tool(description="Draft a reply to a message as the user would write it, from "
                 "their memories (cited). Empty when memory has nothing to say.",
                 annotations=READ)
    @guard
    async def draft_reply(message: Message, ctx: Context[Any, Any], user_id: UserId = None,
                          agent_id: AgentId = None) -> DraftOut:
        sc = scope(ctx, user_id, agent_id)
        draft = await run(lambda: engine.draft_reply(message, scope=sc))
        return DraftOut.model_validate(draft.to_dict())
