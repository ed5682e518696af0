"""Core data commands: add, search, context, list, show, history, delete, forget,
export, import, stats, reembed.

Each prints tables for people, or JSON with ``--json``. Every user mistake
raises an :class:`~engram.errors.EngramError` (one line, exit 2, nothing written).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from ._app import (
    DATETIME,
    get_state,
    json_option,
    missing_store,
    print_json,
    scope_kwargs,
    scope_options,
    stdout_console,
    store_options,
)
from ._progress import Progress

__all__ = ["register"]


def _need_scope(user_id: str | None, agent_id: str | None) -> None:
    if not user_id and not agent_id:
        from ..errors import ScopeRequired

        raise ScopeRequired("give --user/-u or --agent/-a: whose memory is this?")


def _command(cli: click.Group, name: str, *, scope: bool = True, json_out: bool = True,
             **kwargs: Any) -> Callable[[Callable[..., None]], click.Command]:
    """``cli.command`` plus the shared store (and scope / --json) options."""
    def deco(f: Callable[..., None]) -> click.Command:
        if json_out:
            f = json_option(f)
        if scope:
            f = scope_options(f)
        f = store_options(f)
        cmd = cli.command(name, **kwargs)(f)
        # the command's own options first, the shared ones after
        own = [p for p in cmd.params if p.name not in _SHARED]
        cmd.params = own + [p for p in cmd.params if p.name in _SHARED]
        return cmd
    return deco


_SHARED = {"db", "config", "user_id", "agent_id", "session_id", "as_json"}


def register(cli: click.Group) -> None:  # noqa: C901 - one place lists every command
    @_command(cli, "add")
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

        _need_scope(user_id, agent_id)
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

    @_command(cli, "search")
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
        _need_scope(user_id, agent_id)
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

    @_command(cli, "context")
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
        size goes to stderr.
        """
        _need_scope(user_id, agent_id)
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

    @_command(cli, "list")
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
        _need_scope(user_id, agent_id)
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

    @_command(cli, "show")
    @click.argument("item_id", metavar="ID")
    @click.option("--as-of", "as_of", type=DATETIME, default=None,
                  help="The memory as it was recorded at this time.")
    @click.pass_context
    def show(ctx: click.Context, item_id: str, as_of: datetime | None, user_id: str | None,
             agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """Show one memory or episode by ID, with its source episodes."""
        from ..models import Memory

        _need_scope(user_id, agent_id)
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

    @_command(cli, "history")
    @click.argument("memory_id", metavar="ID")
    @click.pass_context
    def history(ctx: click.Context, memory_id: str, user_id: str | None, agent_id: str | None,
                session_id: str | None, as_json: bool) -> None:
        """Every version of memory ID: what changed, when and why."""
        _need_scope(user_id, agent_id)
        versions = get_state(ctx).engine().history(
            memory_id, **scope_kwargs(user_id, agent_id, session_id))
        if as_json:
            print_json([v.to_dict() for v in versions])
            return
        from . import _render

        stdout_console().print(_render.history_table(versions, title=f"history of {memory_id}"))

    @_command(cli, "delete")
    @click.argument("memory_id", metavar="ID")
    @click.option("--reason", default="deleted from the command line", show_default=True,
                  help="Recorded in the history.")
    @click.pass_context
    def delete(ctx: click.Context, memory_id: str, reason: str, user_id: str | None,
               agent_id: str | None, session_id: str | None, as_json: bool) -> None:
        """Soft-delete memory ID: it leaves search, its history stays."""
        _need_scope(user_id, agent_id)
        mem = get_state(ctx).engine().delete(
            memory_id, **scope_kwargs(user_id, agent_id, session_id), reason=reason)
        if as_json:
            print_json(mem.to_dict())
            return
        click.echo(f"deleted {mem.id} (now version {mem.version}; `engram history {mem.id}` "
                   "keeps every version)")

    @_command(cli, "forget")
    @click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
    @click.pass_context
    def forget(ctx: click.Context, yes: bool, user_id: str | None, agent_id: str | None,
               session_id: str | None, as_json: bool) -> None:
        """Hard-delete everything in the scope (episodes, memories, history, vectors).

        Asks for confirmation unless --yes. Prints what was removed, per table.
        """
        _need_scope(user_id, agent_id)
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

    @_command(cli, "export", json_out=False)
    @click.option("--out", "-o", "out", default="-", show_default=True, metavar="FILE|-",
                  help="Where to write the JSONL.")
    @click.pass_context
    def export(ctx: click.Context, out: str, user_id: str | None, agent_id: str | None,
               session_id: str | None) -> None:
        """Write the scope's episodes, memories and history as JSONL (see `engram import`)."""
        _need_scope(user_id, agent_id)
        eg = get_state(ctx).engine()
        scope = scope_kwargs(user_id, agent_id, session_id)
        if out == "-":
            n = eg.export(sys.stdout, **scope)
            sys.stdout.flush()
        else:
            n = _export_to_file(eg, Path(out), scope)
        click.echo(f"exported {n} records" + ("" if out == "-" else f" to {out}"), err=True)

    @_command(cli, "import", scope=False)
    @click.argument("source", metavar="FILE|-", type=click.File("r", encoding="utf-8"))
    @click.option("--user", "-u", "user_id", default=None, metavar="ID",
                  help="Import into this user instead of the records' own.")
    @click.option("--agent", "-a", "agent_id", default=None, metavar="ID",
                  help="Import into this agent instead of the records' own.")
    @click.option("--batch-size", default=500, show_default=True,
                  type=click.IntRange(1, 100_000), help="Records stored per transaction.")
    @click.pass_context
    def import_(ctx: click.Context, source: IO[str], user_id: str | None, agent_id: str | None,
                batch_size: int, as_json: bool) -> None:
        """Import JSONL written by `engram export` (idempotent by id).

        Every line is checked first: one bad line stops the import with its line
        number, and nothing is written. Records are then stored in atomic batches;
        an interrupted import can simply be run again (what it stored is known by
        id). Off a terminal, progress is a line on stderr at each tenth (or every
        10 seconds).
        """
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

    @_command(cli, "stats")
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

    @_command(cli, "reembed", scope=False)
    @click.option("--model", default=None, metavar="SPEC",
                  help="Embedder 'provider:model' (default: the configured one).")
    @click.pass_context
    def reembed(ctx: click.Context, model: str | None, as_json: bool) -> None:
        """Re-embed every stored item with --model and make it the store's model."""
        eg = get_state(ctx).engine()
        st = eg.stats()
        with Progress("engram reembed", st.episodes + st.memories, unit="items",
                      enabled=not as_json) as advance:
            n = eg.reembed(model, progress=advance)
        model_id = eg.store.get_meta("embedding_model")
        if as_json:
            print_json({"embedded": n, "embedding_model": model_id})
            return
        click.echo(f"embedded {n} items with {model_id}")

    _ = (add, search, context, list_, show, history, delete, forget, export, import_, stats,
         reembed)


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
