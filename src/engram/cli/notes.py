"""``engram links``: a memory's links to related memories (:mod:`engram.agents.links`).

One line per link: score, direction (``out``: this memory made it; ``in``: a later
one did), why (``similar``, ``name:<shared name>``), the other memory's id and text.
``--json`` prints ``{"memory_id": ..., "links": [...]}``.
"""

from __future__ import annotations

import click

from ._app import data_command, get_state, need_scope, print_json, stdout_console

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @data_command(cli, "links")
    @click.argument("memory_id")
    @click.pass_context
    def links(ctx: click.Context, memory_id: str, user_id: str | None, agent_id: str | None,
              session_id: str | None, as_json: bool) -> None:
        """Show MEMORY_ID's links to related memories, best first."""
        need_scope(user_id, agent_id)
        found = get_state(ctx).engine().links(memory_id, user_id=user_id, agent_id=agent_id,
                                              session_id=session_id)
        if as_json:
            print_json({"memory_id": memory_id, "links": [x.to_dict() for x in found]})
            return
        con = stdout_console()
        for x in found:
            con.print(f"{x.score:.2f} {x.direction:<3} {','.join(x.via):<24} "
                      f"[bright_black]{x.memory_id}[/] {x.memory.text}", highlight=False)
        if not found:
            con.print("[bright_black]no links[/]")
