"""``engram delete`` (soft, versioned) and ``engram forget`` (hard, a whole scope).
"""

from __future__ import annotations

import click

from ._app import (
    data_command,
    get_state,
    need_scope,
    print_json,
    scope_kwargs,
    stdout_console,
)

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @data_command(cli, "delete")
    @click.argument("memory_id", metavar="ID")
    @click.option("--reason", default="deleted from the command line", show_default=True,
                  help="Recorded in the history.")
    @click.pass_context
    def delete(ctx: click.Context, memory_id: str, reason: str, user_id: str | None,
               agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """Soft-delete memory ID: it leaves search, its history stays."""
        need_scope(user_id, agent_id)
        mem = get_state(ctx).engine().delete(
            memory_id, **scope_kwargs(user_id, agent_id, session_id), reason=reason)
        if as_json:
            print_json(mem.to_dict())
            return
        click.echo(f"deleted {mem.id} (now version {mem.version}; `engram history {mem.id}` "
                   "keeps every version)")

    @data_command(cli, "forget")
    @click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
    @click.pass_context
    def forget(ctx: click.Context, yes: bool, user_id: str | None, agent_id: str | None,
               session_id: str | None, as_json: bool) -> None:
        """Hard-delete everything in the scope (episodes, memories, history, vectors).

        Asks for confirmation unless --yes. Prints what was removed, per table.
        """
        need_scope(user_id, agent_id)
        who = ", ".join(f"{k} {v}" for k, v in (("user", user_id), ("agent", agent_id),
                                                 ("session", session_id)) if v)
        if not yes:
            click.confirm(f"Permanently delete all memory of {who}?", abort=True, err=True)
        report = get_state(ctx).engine().forget(**scope_kwargs(user_id, agent_id, session_id))
        if as_json:
            print_json(report.to_dict())
            return
        from . import _render

        con = stdout_console()
        con.print(_render.counts_table(report))
        con.print("verified: nothing left" if report.verified
                  else "[red]warning: some rows remain[/]")

    _ = (delete, forget)
