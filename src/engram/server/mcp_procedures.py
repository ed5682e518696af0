"""MCP tools for procedures with learned utility and task trees (issue #20).

``remember_procedure``, ``find_procedures``, ``procedure_feedback``, ``task_create``,
``task_update``, ``task_tree``, ``task_context``: the same engine calls as the REST
routes of :mod:`.agents_procedures`, with the same output schemas. Registered by
:func:`engram.server.mcp_tools.build_mcp`, which passes its scope and error helpers
(so this module never imports it).
"""

# no `from __future__ import annotations`: the SDK evaluates tool signatures
from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from ..engine import Engram
from .agents_procedures import ProcedureOut, RankedListOut, TaskContextOut, TaskOut, TreeOut
from .mcp_types import READ, AgentId, RunFn, ScopeFn, UserId, write

__all__ = ["register_procedure_tools"]

NodeId = Annotated[str, Field(min_length=1, max_length=256, description="a task node id")]
Line = Annotated[str, Field(min_length=1, max_length=20_000)]
Status = Literal["open", "done", "failed", "blocked"]

_WRITE = write(destructive=False, idempotent=False)


def register_procedure_tools(server: MCPServer[Any], engine: Engram, scope: ScopeFn,
                             run: RunFn, guard: Callable[[Any], Any]) -> None:
    """Add the tools to ``server``; ``scope(ctx, user_id, agent_id)`` builds the caller's
    scope, ``run`` runs a call in a worker thread, ``guard`` turns Engram errors into
    ``isError`` results."""

    @server.tool(description="Remember HOW you solved a task: the steps and/or the insight, "
                 "stored as a reusable strategy (names, numbers and paths are abstracted). "
                 "Call it after finishing a task, with how it went.", annotations=_WRITE)
    @guard
    async def remember_procedure(
        task: Annotated[str, Field(min_length=1, description="the task you solved")],
        ctx: Context[Any, Any], user_id: UserId = None, agent_id: AgentId = None,
        steps: Annotated[list[Line] | None, Field(max_length=100,
                                                  description="the steps, in order")] = None,
        insight: Annotated[str | None, Field(min_length=1,
                                             description="the lesson learned")] = None,
        outcome: Literal["success", "partial", "failure", "unknown"] = "success",
    ) -> ProcedureOut:
        sc = scope(ctx, user_id, agent_id)
        p = await run(lambda: engine.remember_procedure(task, steps=steps, insight=insight,
                                                        outcome=outcome, scope=sc))
        return ProcedureOut.model_validate(p.to_dict())

    @server.tool(description="Strategies that worked for tasks like this one, best first "
                 "(relevance and learned usefulness). Call it before starting a task; then "
                 "report how each one you used went with procedure_feedback.",
                 annotations=READ)
    @guard
    async def find_procedures(
        task: Annotated[str, Field(min_length=1, max_length=4000)], ctx: Context[Any, Any],
        user_id: UserId = None, agent_id: AgentId = None,
        limit: Annotated[int, Field(ge=1, le=20)] = 5,
    ) -> RankedListOut:
        sc = scope(ctx, user_id, agent_id)
        ranked = await run(lambda: engine.procedures(task, limit=limit, scope=sc))
        return RankedListOut.model_validate({"procedures": [r.to_dict() for r in ranked]})

    @server.tool(description="Report how useful a procedure was when you used it: reward 1 "
                 "(it worked) to 0 (it failed). Strategies that keep failing sink.",
                 annotations=_WRITE)
    @guard
    async def procedure_feedback(
        memory_id: Annotated[str, Field(min_length=1, max_length=256,
                                        description="id from find_procedures")],
        reward: Annotated[float, Field(ge=0, le=1)], ctx: Context[Any, Any],
        user_id: UserId = None, agent_id: AgentId = None,
    ) -> ProcedureOut:
        sc = scope(ctx, user_id, agent_id)
        p = await run(lambda: engine.feedback(memory_id, reward, scope=sc))
        return ProcedureOut.model_validate(p.to_dict())

    @server.tool(description="Record a task you are working on, or a subtask of one "
                 "(parent_id), to keep track of a multi-step job.", annotations=_WRITE)
    @guard
    async def task_create(
        title: Annotated[str, Field(min_length=1)], ctx: Context[Any, Any],
        user_id: UserId = None, agent_id: AgentId = None,
        parent_id: Annotated[str | None, Field(min_length=1, max_length=256)] = None,
        notes: Annotated[list[Line] | None, Field(max_length=200)] = None,
    ) -> TaskOut:
        sc = scope(ctx, user_id, agent_id)
        node = await run(lambda: engine.tasks.create(title, parent_id=parent_id, notes=notes,
                                                     scope=sc))
        return TaskOut.model_validate(node.to_dict())

    @server.tool(description="Update a task: its status (open, done, failed, blocked), a "
                 "note, its result, or what blocks it.", annotations=_WRITE)
    @guard
    async def task_update(
        node_id: NodeId, ctx: Context[Any, Any], user_id: UserId = None,
        agent_id: AgentId = None, status: Status | None = None, note: Line | None = None,
        result: Line | None = None, blocker: Line | None = None,
    ) -> TaskOut:
        sc = scope(ctx, user_id, agent_id)
        node = await run(lambda: engine.tasks.update(node_id, status=status, note=note,
                                                     result=result, blocker=blocker, scope=sc))
        return TaskOut.model_validate(node.to_dict())

    @server.tool(description="Every task of the tree a task belongs to, with status and "
                 "results.", annotations=READ)
    @guard
    async def task_tree(node_id: NodeId, ctx: Context[Any, Any], user_id: UserId = None,
                        agent_id: AgentId = None) -> TreeOut:
        sc = scope(ctx, user_id, agent_id)
        nodes = await run(lambda: engine.tasks.nodes(node_id, scope=sc))
        return TreeOut.model_validate({"nodes": [n.to_dict() for n in nodes]})

    @server.tool(description="Where you are in a multi-step task: the task, its path from "
                 "the root, open blockers and finished sibling tasks' results, within a "
                 "token budget. Paste it into your context.", annotations=READ)
    @guard
    async def task_context(
        node_id: NodeId, ctx: Context[Any, Any], user_id: UserId = None,
        agent_id: AgentId = None,
        max_tokens: Annotated[int, Field(ge=32, le=200_000)] = 512,
    ) -> TaskContextOut:
        sc = scope(ctx, user_id, agent_id)
        out = await run(lambda: engine.tasks.context(node_id, max_tokens, scope=sc))
        return TaskContextOut.model_validate(out.to_dict())
