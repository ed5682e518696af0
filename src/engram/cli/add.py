"""``engram add``: store messages verbatim and derive memories from them.

Every user mistake raises an :class:`~engram.errors.EngramError` (one line,
exit 2, nothing written).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import IO, Any

import click

from ._app import (
    DATETIME,
    data_command,
    get_state,
    need_scope,
    print_json,
    stdout_console,
)
from ._progress import Progress

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @data_command(cli, "add")
    @click.argument("text", required=False)
    @click.option("--file", "-f", "file", type=click.File("r", encoding="utf-8"),
                  help="JSONL messages, one per line: text, role, speaker, occurred_at, id, "
                  "metadata, session_id ('-' for stdin).")
    @click.option("--speaker", default=None, help="Who said it (default: the role).")
    @click.option("--role", default=None,
                  type=click.Choice(["user", "assistant", "system", "tool", "observation"]),
                  help="Role of the message(s) [default: user].")
    @click.option("--at", "at", type=DATETIME, default=None,
                  help="When it was said, with a timezone (default: now).")
    @click.option("--batch-size", default=100, show_default=True,
                  type=click.IntRange(1, 10_000), help="--file: messages stored per transaction.")
    @click.pass_context
    def add(ctx: click.Context, text: str | None, file: IO[str] | None, speaker: str | None,
            role: str | None, at: datetime | None, batch_size: int, user_id: str | None,
            agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """Store a message (TEXT, '-' for stdin, or --file) and derive memories from it.

        Messages are kept verbatim as episodes; durable facts ("I moved to Porto",
        "I work at Acme") become memories, and a new value supersedes the old one.

        --file is resumable and idempotent: a line without an "id" gets one made
        from the file's path (stdin: a hash of the whole input), the scope, the
        line number and the line's content, and each batch is stored atomically.
        Running the same file again stores nothing new; re-running an interrupted
        run stores only the lines it had not reached. Off a terminal, progress is
        a line on stderr at each tenth of the file (or every 10 seconds).
        """
        from ..errors import InvalidInput
        from ..models import AddResult
        from ..timeutil import now
        from . import _ingest

        need_scope(user_id, agent_id)
        if (text is None) == (file is None):
            raise InvalidInput("give either TEXT (or '-' for stdin) or --file FILE")
        if file is not None:
            _, msgs = _ingest.read_messages(file)
        else:
            assert text is not None
            body = sys.stdin.read() if text == "-" else text
            msgs = [{"text": body.strip() if text == "-" else body}]
        for m in msgs:
            if role is not None:
                m.setdefault("role", role)
            if speaker is not None:
                m.setdefault("speaker", speaker)
        groups = _ingest.group_by_session(msgs, session_id)
        state = get_state(ctx)
        _ingest.validate_all(groups, user_id, agent_id, at, state.config().max_text_bytes)
        if file is not None:
            _ingest.stamp(groups, user_id, agent_id, at or now())
        eg = state.engine(create=True)
        total = AddResult()
        with Progress("engram add", len(msgs), unit="messages", enabled=not as_json) as advance:
            for sid, chunk in _ingest.batches(groups, batch_size):
                res = eg.add(chunk, user_id=user_id, agent_id=agent_id, session_id=sid,
                             occurred_at=at)
                total.episodes.extend(res.episodes)
                total.operations.extend(res.operations)
                advance(len(chunk))
        if as_json:
            print_json(total.to_dict())
            return
        _print_add(total)

    _ = add


def _print_add(res: Any) -> None:
    from rich.table import Table

    from . import _render

    con = stdout_console()
    new = sum(1 for e in res.episodes if e.created)
    known = len(res.episodes) - new
    line = f"stored {new} episode{'s' if new != 1 else ''}"
    if known:
        line += f" ({known} already known)"
    if len(res.episodes) == 1:
        line += f": {res.episodes[0].id}"
    con.print(line)
    ops = [o for o in res.operations if str(o.op) != "NOOP"]
    if not ops:
        return
    table = Table(title="memory changes", title_justify="left", title_style="bold")
    table.add_column("op")
    table.add_column("memory", style="dim", no_wrap=True)
    table.add_column("text")
    table.add_column("reason", style="bright_black")
    for o in ops:
        op = str(o.op)
        table.add_row(f"[{_render.OP_STYLE.get(op, '')}]{op}[/]", o.memory_id or "", o.text,
                      o.reason)
    con.print(table)
