"""Parameter types and tool annotations shared by every MCP tool module.

:mod:`.mcp_tools` builds the server; :mod:`.mcp_procedures` and :mod:`.mcp_persona`
register more tools on it. They take the same ``user_id``/``agent_id`` parameters
and the same read/write hints from here, so every tool states them alike.
"""

# no `from __future__ import annotations`: the SDK evaluates tool signatures
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from pydantic import Field

from ..models import Scope

__all__ = ["READ", "AgentId", "RunFn", "ScopeFn", "UserId", "write"]

UserId = Annotated[str | None, Field(min_length=1, max_length=256,
                                     description="whose memory: a stable id of the end user "
                                                 "(this or agent_id is required)")]
AgentId = Annotated[str | None, Field(min_length=1, max_length=256,
                                      description="the agent's own memory (this or user_id "
                                                  "is required)")]

#: a tool that only reads
READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                       open_world_hint=False)

#: the scope of a call from its context and ids (:func:`.mcp_tools.build_mcp` makes it)
ScopeFn = Callable[[Context[Any, Any], str | None, str | None], Scope]
#: runs a blocking engine call off the event loop
RunFn = Callable[[Callable[[], Any]], Awaitable[Any]]


def write(*, destructive: bool, idempotent: bool) -> ToolAnnotations:
    """The hints of a tool that writes."""
    return ToolAnnotations(read_only_hint=False, destructive_hint=destructive,
                           idempotent_hint=idempotent, open_world_hint=False)
