"""``engram list``, ``show``, ``history`` and ``stats``: look at what is stored.

Each prints tables for people, or JSON with ``--json``.
"""

from __future__ import annotations

from datetime import datetime

import click

from ._app import (
    DATETIME,
    data_command,
    get_state,
    need_scope,
    print_json,
    scope_kwargs,
    stdout_console,
)

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @data_command(cli, "list")
    @click.option("--type", "item_type", type=click.Choice(["memory", "episode"]),
                  default="memory", show_default=True, help="What to list.")
    @click.option("--kind", "kinds", multiple=True, metavar="KIND",
                  help="Only these memory kinds. Repeatable.")
    @click.option("--limit", "-n", default=50, show_default=True, type=int, help="Page size.")
    @click.option("--cursor", default=None, help="Continue from a previous page.")
    @click.option("--all", "include_inactive", is_flag=True,
                  help="Include superseded and deleted memories.")
    @click.option("--ids", "ids_only", is_flag=True,
                  help="Print only the ids, one per line (for scripts: "
                  "ID=$(engram list -u ana --ids -n 1)).")
    @click.pass_context
    def list_(ctx: click.Context, item_type: str, kinds: tuple[str, ...], limit: int,
              cursor: str | None, include_inactive: bool, ids_only: bool, user_id: str | None,
              agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """List memories (newest first) or episodes (oldest first), one page at a time."""
        need_scope(user_id, agent_id)
        page = get_state(ctx).engine().list(
            **scope_kwargs(user_id, agent_id, session_id), type=item_type,
            kinds=list(kinds) or None, limit=limit, cursor=cursor,
            include_inactive=include_inactive,
        )
        if ids_only:
            for item in page.items:
                click.echo(item.id)
            return
        if as_json:
            print_json({"items": [i.to_dict() for i in page.items],
                        "next_cursor": page.next_cursor})
            return
        from . import _render

        con = stdout_console()
        if not page.items:
            con.print("[bright_black]nothing here[/]")
        else:
            noun = "memories" if item_type == "memory" else "episodes"
            con.print(_render.items_table(page.items, title=f"{len(page.items)} {noun}"))
        if page.next_cursor:
            click.echo(f"more: engram list --cursor {page.next_cursor} ...", err=True)

    @data_command(cli, "show")
    @click.argument("item_id", metavar="ID")
    @click.option("--as-of", "as_of", type=DATETIME, default=None,
                  help="The memory as it was recorded at this time.")
    @click.pass_context
    def show(ctx: click.Context, item_id: str, as_of: datetime | None, user_id: str | None,
             agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """Show one memory or episode by ID, with its source episodes."""
        from ..models import Memory

        need_scope(user_id, agent_id)
        eg = get_state(ctx).engine()
        scope = scope_kwargs(user_id, agent_id, session_id)
        item = eg.get(item_id, **scope, as_of=as_of)
        sources = []
        if isinstance(item, Memory) and item.source_episode_ids:
            from ..models import Scope

            sc = Scope(user_id=user_id, agent_id=agent_id, session_id=session_id)
            sources = eg.store.get_episodes(sc, item.source_episode_ids[:5])
        if as_json:
            kind = "memory" if isinstance(item, Memory) else "episode"
            print_json({"type": kind, **item.to_dict(),
                        "sources": [s.to_dict() for s in sources]})
            return
        from . import _render

        stdout_console().print(_render.item_panel(item, sources))

    @data_command(cli, "history")
    @click.argument("memory_id", metavar="ID")
    @click.pass_context
    def history(ctx: click.Context, memory_id: str, user_id: str | None, agent_id: str | None,
                session_id: str | None, as_json: bool) -> None:
        """Every version of memory ID: what changed, when and why."""
        need_scope(user_id, agent_id)
        versions = get_state(ctx).engine().history(
            memory_id, **scope_kwargs(user_id, agent_id, session_id))
        if as_json:
            print_json([v.to_dict() for v in versions])
            return
        from . import _render

        stdout_console().print(_render.history_table(versions, title=f"history of {memory_id}"))

    @data_command(cli, "stats")
    @click.pass_context
    def stats(ctx: click.Context, user_id: str | None, agent_id: str | None,
              session_id: str | None, as_json: bool) -> None:
        """Counts of episodes, memories, versions and vectors (whole store, or a scope)."""
        scope = scope_kwargs(user_id, agent_id, session_id) if (user_id or agent_id) else {}
        st = get_state(ctx).engine().stats(**scope)
        if as_json:
            print_json(st.to_dict())
            return
        from . import _render

        stdout_console().print(_render.stats_table(st))

    _ = (list_, show, history, stats)
