"""``engram search`` and ``engram context``: read the memory for a query.

``search`` ranks episodes and memories (tables, or JSON with ``--json``);
``context`` prints a prompt-ready block within a token budget.
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
    @data_command(cli, "search")
    @click.argument("query")
    @click.option("--limit", "-n", default=10, show_default=True, type=int, help="Hits to show.")
    @click.option("--kind", "kinds", multiple=True, metavar="KIND",
                  help="Only these kinds (fact, preference, event, plan, ..., or episode). "
                  "Repeatable.")
    @click.option("--preset", default=None, help="Retrieval preset (hybrid, bm25, dense, ...).")
    @click.option("--as-of", "as_of", type=DATETIME, default=None,
                  help="Search the memory as it was recorded at this time.")
    @click.option("--start", type=DATETIME, default=None, help="Event time from (inclusive).")
    @click.option("--end", type=DATETIME, default=None, help="Event time until (exclusive).")
    @click.option("--now", "ref_now", type=DATETIME, default=None,
                  help="Reference time for 'yesterday', 'last week'... (default: now).")
    @click.pass_context
    def search(ctx: click.Context, query: str, limit: int, kinds: tuple[str, ...],
               preset: str | None, as_of: datetime | None, start: datetime | None,
               end: datetime | None, ref_now: datetime | None, user_id: str | None,
               agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """Rank episodes and memories for QUERY, with dates, sources and a score breakdown."""
        need_scope(user_id, agent_id)
        hits = get_state(ctx).engine().search(
            query, **scope_kwargs(user_id, agent_id, session_id), limit=limit,
            kinds=list(kinds) or None, preset=preset, as_of=as_of, start=start, end=end,
            now=ref_now,
        )
        if as_json:
            print_json([h.to_dict() for h in hits])
            return
        from . import _render

        con = stdout_console()
        if not hits:
            con.print("[bright_black]no results[/]")
            return
        con.print(_render.hits_table(hits, title=f"{len(hits)} results for “{query}”"))

    @data_command(cli, "context")
    @click.argument("query")
    @click.option("--max-tokens", default=1024, show_default=True, type=int,
                  help="Token budget of the block.")
    @click.option("--preset", default=None, help="Retrieval preset.")
    @click.option("--as-of", "as_of", type=DATETIME, default=None,
                  help="Use the memory as it was recorded at this time.")
    @click.option("--now", "ref_now", type=DATETIME, default=None,
                  help="Reference time for relative expressions (default: now).")
    @click.pass_context
    def context(ctx: click.Context, query: str, max_tokens: int, preset: str | None,
                as_of: datetime | None, ref_now: datetime | None, user_id: str | None,
                agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """Print a prompt-ready block for QUERY that fits --max-tokens.

        The block goes to stdout as plain text (ready to paste into a prompt); its
        size and what each reference [n] in it stands for (an id for `engram show`)
        go to stderr.
        """
        need_scope(user_id, agent_id)
        block = get_state(ctx).engine().context(
            query, **scope_kwargs(user_id, agent_id, session_id), max_tokens=max_tokens,
            preset=preset, as_of=as_of, now=ref_now,
        )
        if as_json:
            print_json(block.to_dict())
            return
        click.echo(block.text)
        click.echo(f"({block.tokens} of {block.max_tokens} tokens, {len(block.items)} items)",
                   err=True)
        for item in block.items:
            click.echo(f"[{item.label}] {item.ref.id}", err=True)

    _ = (search, context)
