"""``engram import --from FORMAT FILE``: conversations and memories from other tools.

The file is read and checked by :mod:`engram.importers` before a store is opened
or created (a bad file changes nothing), then written in batches with progress
on stderr (:mod:`._progress`). ``--skip-bad`` imports the good records and lists
the bad ones by line on stderr.
"""

from __future__ import annotations

from typing import IO

import click

from ._app import get_state, print_json
from ._progress import Progress

__all__ = ["import_from"]


def import_from(ctx: click.Context, fmt: str, source: IO[str], user_id: str | None,
                agent_id: str | None, batch_size: int, skip_bad: bool, as_json: bool) -> None:
    from .. import importers

    state = get_state(ctx)
    plan = importers.prepare(fmt, source, max_text_bytes=state.config().max_text_bytes,
                             user_id=user_id, agent_id=agent_id, skip_bad=skip_bad)
    eg = state.engine(create=True)
    with Progress(f"engram import --from {fmt}", plan.total, enabled=not as_json) as advance:
        summary = importers.write(eg, plan, batch_size=batch_size, progress=advance)
    if as_json:
        print_json(summary.to_dict())
        return
    for bad in summary.bad[:importers.MAX_REPORTED]:
        click.echo(f"skipped bad record: {bad}", err=True)
    more = len(summary.bad) - importers.MAX_REPORTED
    if more > 0:
        click.echo(f"... and {more} more bad records", err=True)
    click.echo(
        f"imported {fmt}: messages {summary.messages_created} new / "
        f"{summary.messages_existing} known, memories {summary.memories_created} new / "
        f"{summary.memories_existing} known, {summary.skipped} left out"
        + (f", {len(summary.bad)} bad" if summary.bad else ""))
