"""``engram procedure remember|find|feedback`` and ``engram task create|update|tree|context``.

Procedures are reusable strategies with a utility learned from feedback
(:mod:`engram.agents.procedures`); tasks form trees with status, notes and results
(:mod:`engram.agents.tasks`). Writes create the store when it does not exist.
"""

from __future__ import annotations

from typing import Any

import click

from ._app import data_command, get_state, need_scope, print_json, scope_kwargs

__all__ = ["register"]

STATUSES = click.Choice(["open", "done", "failed", "blocked"])


def _reward(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value  # a named outcome, or refused by the engine (one line, exit 2)


def _show_procedure(p: Any, as_json: bool) -> None:
    if as_json:
        print_json(p.to_dict())
        return
    u = p.utility
    click.echo(f"{p.id} (v{p.version}) utility {u.value:.3f} after {u.count} "
               f"({u.successes} up, {u.failures} down)")
    click.echo(p.text)


def _show_task(n: Any, as_json: bool) -> None:
    if as_json:
        print_json(n.to_dict())
        return
    extra = f" -> {n.result}" if n.result else f" (blocked by: {n.blocker})" if n.blocker else ""
    click.echo(f"{n.id} [{n.status}] {n.title}{extra}")
    for note in n.notes:
        click.echo(f"  note: {note}")


def register(cli: click.Group) -> None:
    @cli.group("procedure")
    def procedure() -> None:
        """Reusable strategies with a utility learned from feedback."""

    @data_command(procedure, "remember")
    @click.argument("task")
    @click.option("--step", "steps", multiple=True, help="A step (repeat, in order).")
    @click.option("--insight", default=None, help="The lesson learned.")
    @click.option("--outcome", default="success", show_default=True,
                  help="success, partial, failure, unknown, or a reward in [0, 1].")
    @click.pass_context
    def remember(ctx: click.Context, task: str, steps: tuple[str, ...], insight: str | None,
                 outcome: str, user_id: str | None, agent_id: str | None,
                 session_id: str | None, as_json: bool) -> None:
        """Store how TASK was solved (steps and/or an insight), abstracted."""
        need_scope(user_id, agent_id)
        eg = get_state(ctx).engine(create=True)
        _show_procedure(eg.remember_procedure(task, steps=list(steps) or None, insight=insight,
                                              outcome=_reward(outcome),
                                              **scope_kwargs(user_id, agent_id, session_id)),
                        as_json)

    @data_command(procedure, "find")
    @click.argument("task")
    @click.option("--limit", default=5, show_default=True)
    @click.pass_context
    def find(ctx: click.Context, task: str, limit: int, user_id: str | None,
             agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """Procedures for TASK, best first (relevance, utility, exploration)."""
        need_scope(user_id, agent_id)
        ranked = get_state(ctx).engine().procedures(
            task, limit=limit, **scope_kwargs(user_id, agent_id, session_id))
        if as_json:
            print_json({"procedures": [r.to_dict() for r in ranked]})
            return
        if not ranked:
            click.echo("no procedure for this task")
        for r in ranked:
            click.echo(f"score {r.score:.3f} (relevance {r.relevance:.2f}, "
                       f"bonus {r.bonus:.2f})")
            _show_procedure(r.procedure, False)

    @data_command(procedure, "feedback")
    @click.argument("memory_id")
    @click.argument("reward")
    @click.pass_context
    def feedback(ctx: click.Context, memory_id: str, reward: str, user_id: str | None,
                 agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """Reward (0..1) a use of procedure MEMORY_ID; its utility moves (a new version)."""
        need_scope(user_id, agent_id)
        _show_procedure(get_state(ctx).engine().feedback(
            memory_id, _reward(reward), **scope_kwargs(user_id, agent_id, session_id)), as_json)

    @cli.group("task")
    def task() -> None:
        """Task trees: tasks and subtasks with status, notes and results."""

    @data_command(task, "create")
    @click.argument("title")
    @click.option("--parent", "parent_id", default=None, help="Parent task id.")
    @click.option("--note", "notes", multiple=True, help="A note (repeat).")
    @click.pass_context
    def create(ctx: click.Context, title: str, parent_id: str | None, notes: tuple[str, ...],
               user_id: str | None, agent_id: str | None, session_id: str | None,
               as_json: bool) -> None:
        """A new task TITLE (a subtask with --parent)."""
        need_scope(user_id, agent_id)
        _show_task(get_state(ctx).engine(create=True).tasks.create(
            title, parent_id=parent_id, notes=list(notes) or None,
            **scope_kwargs(user_id, agent_id, session_id)), as_json)

    @data_command(task, "update")
    @click.argument("node_id")
    @click.option("--status", type=STATUSES, default=None)
    @click.option("--note", default=None, help="A note to append.")
    @click.option("--result", default=None)
    @click.option("--blocker", default=None, help="What blocks it (with --status blocked).")
    @click.pass_context
    def update(ctx: click.Context, node_id: str, status: str | None, note: str | None,
               result: str | None, blocker: str | None, user_id: str | None,
               agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """Change task NODE_ID (a new version)."""
        need_scope(user_id, agent_id)
        _show_task(get_state(ctx).engine().tasks.update(
            node_id, status=status, note=note, result=result, blocker=blocker,
            **scope_kwargs(user_id, agent_id, session_id)), as_json)

    @data_command(task, "tree")
    @click.argument("node_id")
    @click.pass_context
    def tree(ctx: click.Context, node_id: str, user_id: str | None, agent_id: str | None,
             session_id: str | None, as_json: bool) -> None:
        """Every task of the tree NODE_ID belongs to."""
        need_scope(user_id, agent_id)
        nodes = get_state(ctx).engine().tasks.nodes(
            node_id, **scope_kwargs(user_id, agent_id, session_id))
        if as_json:
            print_json({"nodes": [n.to_dict() for n in nodes]})
            return
        depth: dict[str | None, int] = {None: -1}
        for n in nodes:
            depth[n.id] = depth.get(n.parent_id, -1) + 1
            click.echo("  " * depth[n.id], nl=False)
            _show_task(n, False)

    @data_command(task, "context")
    @click.argument("node_id")
    @click.option("--max-tokens", default=512, show_default=True)
    @click.pass_context
    def context(ctx: click.Context, node_id: str, max_tokens: int, user_id: str | None,
                agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """The context of task NODE_ID: path, open blockers, finished siblings."""
        need_scope(user_id, agent_id)
        out = get_state(ctx).engine().tasks.context(
            node_id, max_tokens, **scope_kwargs(user_id, agent_id, session_id))
        if as_json:
            print_json(out.to_dict())
        else:
            click.echo(out.text)

    _ = (remember, find, feedback, create, update, tree, context)
