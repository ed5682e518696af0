"""``engram delete`` (soft, versioned), ``engram delete-episode`` (hard, one message)
and ``engram forget`` (hard, a whole scope).
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

    @data_command(cli, "delete-episode")
    @click.argument("episode_id", metavar="ID")
    @click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
    @click.pass_context
    def delete_episode(ctx: click.Context, episode_id: str, yes: bool, user_id: str | None,
                       agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """Hard-delete message (episode) ID: its text, vectors and index entries.

        Memories derived only from it are hard-deleted with their history; memories with
        other sources get a new version that no longer cites it. Asks for confirmation
        unless --yes.
        """
        need_scope(user_id, agent_id)
        if not yes:
            click.confirm(f"Permanently delete message {episode_id}?", abort=True, err=True)
        out = get_state(ctx).engine().delete_episode(
            episode_id, **scope_kwargs(user_id, agent_id, session_id))
        if as_json:
            print_json(out.to_dict())
            return
        click.echo(f"deleted {out.episode_id}; memories deleted: "
                   f"{', '.join(out.deleted_memory_ids) or 'none'}; no longer citing it: "
                   f"{', '.join(out.updated_memory_ids) or 'none'}")

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

    _ = (delete, delete_episode, forget)
