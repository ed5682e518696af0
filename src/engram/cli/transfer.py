"""``engram export`` and ``engram import``: JSONL out and back in.

An export to a file is written to a temporary file and renamed (never half
written); an import checks every line before it writes anything.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

import click

from ._app import (
    data_command,
    get_state,
    missing_store,
    need_scope,
    print_json,
    scope_kwargs,
)
from ._progress import Progress

#: the formats of ``import --from`` (engram.importers.FORMATS, listed here so that
#: ``--help`` does not import the importers)
IMPORT_FORMATS = ("chatgpt", "claude", "mem0", "letta", "jsonl", "csv")

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @data_command(cli, "export", json_out=False)
    @click.option("--out", "-o", "out", default="-", show_default=True, metavar="FILE|-",
                  help="Where to write the JSONL.")
    @click.pass_context
    def export(ctx: click.Context, out: str, user_id: str | None, agent_id: str | None,
               session_id: str | None) -> None:
        """Write the scope's episodes, memories and history as JSONL (see `engram import`)."""
        need_scope(user_id, agent_id)
        eg = get_state(ctx).engine()
        scope = scope_kwargs(user_id, agent_id, session_id)
        if out == "-":
            n = eg.export(sys.stdout, **scope)
            sys.stdout.flush()
        else:
            n = _export_to_file(eg, Path(out), scope)
        click.echo(f"exported {n} records" + ("" if out == "-" else f" to {out}"), err=True)

    @data_command(cli, "import", scope=False)
    @click.argument("source", metavar="FILE|-", type=click.File("r", encoding="utf-8"))
    @click.option("--user", "-u", "user_id", default=None, metavar="ID",
                  help="Import into this user instead of the records' own.")
    @click.option("--agent", "-a", "agent_id", default=None, metavar="ID",
                  help="Import into this agent instead of the records' own.")
    @click.option("--batch-size", default=500, show_default=True,
                  type=click.IntRange(1, 100_000), help="Records stored per transaction.")
    @click.option("--from", "fmt", default="engram", show_default=True,
                  type=click.Choice(["engram", *IMPORT_FORMATS]),
                  help="The file's format: engram (export JSONL), or another tool's export "
                  "(see docs/integrations.md).")
    @click.option("--skip-bad", is_flag=True,
                  help="With --from: import the good records, list the bad ones by line.")
    @click.pass_context
    def import_(ctx: click.Context, source: IO[str], user_id: str | None, agent_id: str | None,
                batch_size: int, fmt: str, skip_bad: bool, as_json: bool) -> None:
        """Import JSONL written by `engram export`, or another tool's export (--from).

        --from takes chatgpt or claude (conversations.json), mem0 (get_all JSON),
        letta (.af agent file), jsonl or csv (messages); ids, times and speakers are
        kept, and importing a file again stores nothing new (docs/integrations.md).

        Every line is checked first: one bad line stops the import with its line
        number, and nothing is written. Records are then stored in atomic batches;
        an interrupted import can simply be run again (what it stored is known by
        id). Off a terminal, progress is a line on stderr at each tenth (or every
        10 seconds).
        """
        if fmt != "engram":
            from ._import_from import import_from

            import_from(ctx, fmt, source, user_id, agent_id, batch_size, skip_bad, as_json)
            return
        lines = source.readlines()
        total = sum(1 for ln in lines if ln.strip())
        state = get_state(ctx)
        if missing_store(state.config().store_url(), create=True) is not None:
            # check every line before creating a store, so a bad file creates nothing
            from ..transfer import parse_jsonl
            from ..validation import make_scope

            target = make_scope(None, user_id, agent_id, None) if user_id or agent_id else None
            parse_jsonl(lines, state.config().max_text_bytes, target)
        eg = state.engine(create=True)
        with Progress("engram import", total, enabled=not as_json) as advance:
            report = eg.import_(lines, user_id=user_id, agent_id=agent_id,
                                batch_size=batch_size, progress=advance)
        if as_json:
            print_json(report.to_dict())
            return
        click.echo(
            f"imported {report.lines} records: episodes {report.episodes_created} new / "
            f"{report.episodes_existing} known, memories {report.memories_created} new / "
            f"{report.memories_existing} known, {report.versions} history entries"
        )

    _ = (export, import_)


def _export_to_file(eg: Any, path: Path, scope: dict[str, Any]) -> int:
    """Write to a temporary file beside ``path``, then rename: never a half-written export."""
    from ..errors import InvalidInput

    directory = path.expanduser().resolve().parent
    if not directory.is_dir():
        raise InvalidInput(f"cannot write {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".engram-export-", suffix=".jsonl", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fp:
            n: int = eg.export(fp, **scope)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n
