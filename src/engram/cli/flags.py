"""``engram flag show|clear|restore``: review poisoning flags on episodes.

A flagged episode is kept but never derived from and left out of context (see
:mod:`engram.trust.review`); an operator who judges a flag false clears it, with a
reason kept in the episode's decision history, and the episode is derived from then.
"""

from __future__ import annotations

from typing import Any

import click

from ._app import data_command, get_state, need_scope, print_json, scope_kwargs

__all__ = ["register"]


def _show(review: Any, as_json: bool) -> None:
    if as_json:
        print_json(review.to_dict())
        return
    click.echo(f"{review.episode_id}: {review.state} (decision version {review.version})")
    for flag in review.flags:
        click.echo(f"  {flag}: {review.why.get(flag, '')}")
    for d in review.history:
        who = f" by {d.by}" if d.by else ""
        click.echo(f"  v{d.version} {d.at} {d.state}{who}: {d.reason}")


def register(cli: click.Group) -> None:
    @cli.group("flag")
    def flag() -> None:
        """Why an episode was flagged as possible memory poisoning; clear a false flag."""

    @data_command(flag, "show")
    @click.argument("episode_id", metavar="EPISODE_ID")
    @click.pass_context
    def show(ctx: click.Context, episode_id: str, user_id: str | None, agent_id: str | None,
             session_id: str | None, as_json: bool) -> None:
        """The flags of EPISODE_ID, the evidence for each, and every decision on them."""
        need_scope(user_id, agent_id)
        _show(get_state(ctx).engine().flag_review(
            episode_id, **scope_kwargs(user_id, agent_id, session_id)), as_json)

    def _decide(action: str, summary: str) -> None:
        @data_command(flag, action, help=summary)
        @click.argument("episode_id", metavar="EPISODE_ID")
        @click.option("--reason", required=True, help="Why (kept in the decision history).")
        @click.option("--by", default=None, help="Who decides (kept in the history).")
        @click.option("--expected-version", type=int, default=None,
                      help="Fail unless the decision history is at this version.")
        @click.pass_context
        def cmd(ctx: click.Context, episode_id: str, reason: str, by: str | None,
                expected_version: int | None, user_id: str | None, agent_id: str | None,
                session_id: str | None, as_json: bool) -> None:
            need_scope(user_id, agent_id)
            engine = get_state(ctx).engine()
            method = engine.clear_flag if action == "clear" else engine.restore_flag
            _show(method(episode_id, reason=reason, by=by, expected_version=expected_version,
                         **scope_kwargs(user_id, agent_id, session_id)), as_json)

    _decide("clear", "Clear a false flag on EPISODE_ID; memories are then derived from it.")
    _decide("restore", "Put a cleared flag on EPISODE_ID back (a new decision version).")
    _ = show
