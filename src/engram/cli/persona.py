"""``engram profile``, ``engram fill-form`` and ``engram draft-reply``: the user's
profile and answering as the user (:mod:`engram.agents`).

``profile`` prints current preferences (stance, current value, short/long
averages, confidence, drifting) and attributes; ``fill-form`` one line per field
(empty where memory is silent) with the memory ids it cites; ``draft-reply`` the
reply on stdout and its citations on stderr. ``--json`` prints the result as JSON.
"""

from __future__ import annotations

import click

from ._app import data_command, get_state, need_scope, print_json, stdout_console

__all__ = ["register"]

_LLM = click.option("--llm/--no-llm", "use_llm", default=None,
                    help="Use the configured LLM, or not (default: when one is configured).")


def register(cli: click.Group) -> None:
    @data_command(cli, "profile")
    @click.pass_context
    def profile(ctx: click.Context, user_id: str | None, agent_id: str | None,
                session_id: str | None, as_json: bool) -> None:
        """Show a user's current preferences with confidence, and what is known of them."""
        need_scope(user_id, agent_id)
        p = get_state(ctx).engine().profile(user_id=user_id, agent_id=agent_id)
        if as_json:
            print_json(p.to_dict())
            return
        con = stdout_console()
        con.print(f"[bold]{p.subject or '(no subject)'}[/]", highlight=False)
        for a in p.attributes:
            con.print(f"  {a.name}: {a.value}  [bright_black]{a.memory_id}[/]", highlight=False)
        for v in p.preferences:
            drift = "  [yellow]drifting[/]" if v.drifting else ""
            con.print(f"  {v.stance} {v.value}: current {v.current:+.2f} (short {v.short:+.2f},"
                      f" long {v.long:+.2f}), confidence {v.confidence:.2f},"
                      f" {v.observations} said{drift}", highlight=False)
        if not p.attributes and not p.preferences:
            con.print("[bright_black]nothing known[/]")

    @data_command(cli, "fill-form")
    @click.argument("fields", nargs=-1, required=True)
    @_LLM
    @click.pass_context
    def fill_form(ctx: click.Context, fields: tuple[str, ...], use_llm: bool | None,
                  user_id: str | None, agent_id: str | None, session_id: str | None,
                  as_json: bool) -> None:
        """Fill the form FIELDS as the user would (empty where memory is silent)."""
        need_scope(user_id, agent_id)
        form = get_state(ctx).engine().fill_form(
            list(fields), user_id=user_id, agent_id=agent_id, use_llm=use_llm)
        if as_json:
            print_json(form.to_dict())
            return
        for f in form.fields:
            cites = ",".join(r.id for r in f.citations)
            click.echo(f"{f.name}: {f.value}" + (f"  [{cites}]" if cites else ""))
        if form.llm_error:
            click.echo(f"LLM failed ({form.llm_error}); rules answered", err=True)

    @data_command(cli, "draft-reply")
    @click.argument("message")
    @_LLM
    @click.pass_context
    def draft_reply(ctx: click.Context, message: str, use_llm: bool | None,
                    user_id: str | None, agent_id: str | None, session_id: str | None,
                    as_json: bool) -> None:
        """Draft a reply to MESSAGE in the user's voice, from their memories."""
        need_scope(user_id, agent_id)
        draft = get_state(ctx).engine().draft_reply(
            message, user_id=user_id, agent_id=agent_id, use_llm=use_llm)
        if as_json:
            print_json(draft.to_dict())
            return
        click.echo(draft.text)
        click.echo("cites: " + (", ".join(r.id for r in draft.citations) or "nothing"),
                   err=True)
