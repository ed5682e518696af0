"""``engram demo``: a guided tour on a bundled sample conversation.

Maya talks to an assistant in seven sessions from January to November 2024
(``engram/data/demo_conversation.jsonl``, written for this project). The demo
ingests it into a temporary store (or ``--db PATH``, kept afterwards), then
shows what Engram derived, a few searches with dates, sources and the score
breakdown, one prompt-ready context block and the history of a superseded
memory. Fully offline; a few seconds.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._app import get_state, store_options

if TYPE_CHECKING:
    from rich.console import Console

    from ..engine import Engram
    from ..models import Memory

__all__ = ["DEMO_FILE", "DEMO_NOW", "DEMO_USER", "load_demo_sessions", "register"]

DEMO_FILE = "demo_conversation.jsonl"
DEMO_USER = "maya"
#: the demo's "today": a week after the last conversation
DEMO_NOW = datetime(2024, 11, 12, 9, 0, tzinfo=UTC)
SEARCHES = ("Where does Maya live?", "What should I cook for Maya?", "When is the Japan trip?")
CONTEXT_QUERY = "Suggest a dinner Maya would enjoy"
INTRO = (
    "Maya chats with an assistant in seven conversations, January to November 2024. "
    "Along the way she adopts a beagle, changes jobs, turns vegetarian, moves from "
    "Lisbon to Porto and plans a trip to Japan."
)


def load_demo_sessions() -> list[tuple[str, list[dict[str, Any]]]]:
    """The bundled conversation as ``(session_id, messages)`` in order."""
    text = resources.files("engram").joinpath("data", DEMO_FILE).read_text(encoding="utf-8")
    sessions: list[tuple[str, list[dict[str, Any]]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        msg = json.loads(line)
        sid = msg.pop("session_id")
        if not sessions or sessions[-1][0] != sid:
            sessions.append((sid, []))
        sessions[-1][1].append(msg)
    return sessions


def _heading(con: Console, step: int, title: str, note: str = "") -> None:
    from rich.rule import Rule

    con.print()
    con.print(Rule(f"[bold]{step}. {title}[/]", align="left", style="bright_black"))
    if note:
        con.print(f"[bright_black]{note}[/]")


def _timeline(memories: list[Memory]) -> Any:
    from rich.table import Table
    from rich.text import Text

    from . import _render

    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("since", no_wrap=True, style="bright_black")
    table.add_column("until", no_wrap=True, style="bright_black")
    table.add_column("kind", no_wrap=True)
    table.add_column("memory", ratio=1)
    for m in memories:
        text = Text(m.text)
        if str(m.status) != "active":
            text.stylize("strike bright_black")
            text.append(f"  {m.status}", style=_render.STATUS_STYLE.get(str(m.status), ""))
        table.add_row(_render.day(m.valid_from or m.created_at), _render.day(m.valid_to) or "",
                      Text(str(m.kind), style=_render.KIND_STYLE.get(str(m.kind), "")), text)
    return table


def _ingest(eg: Engram, con: Console) -> tuple[int, int, int, float]:
    """Add every session; returns (messages, sessions, newly stored, seconds)."""
    sessions = load_demo_sessions()
    started = time.perf_counter()
    n = created = 0
    with con.status("reading the conversation…", spinner="dots"):
        for sid, msgs in sessions:
            res = eg.add(msgs, user_id=DEMO_USER, session_id=sid)
            n += len(msgs)
            created += sum(1 for e in res.episodes if e.created)
    return n, len(sessions), created, time.perf_counter() - started


def run_demo(eg: Engram, con: Console, location: str) -> None:
    """Print the tour (the store behind ``eg`` receives the demo conversation)."""
    from rich.panel import Panel

    from . import _render

    con.print(Panel(f"{INTRO}\n\n[bright_black]store: {location}[/]",
                    title="[bold]Engram demo[/]", title_align="left", border_style="cyan"))

    n, n_sessions, created, secs = _ingest(eg, con)
    page = eg.list(user_id=DEMO_USER, include_inactive=True, limit=200)
    memories = sorted(page.items, key=lambda m: (m.valid_from or m.created_at, m.text))
    retired = [m for m in memories if str(m.status) != "active"]
    _heading(con, 1, "Remember",
             f"{n} messages in {n_sessions} sessions stored verbatim as episodes; "
             f"{len(memories)} memories derived, {len(retired)} of them superseded by newer "
             + (f"facts ({secs:.1f} s, offline)." if created else
                "facts (already in this store: nothing new added)."))
    con.print(_timeline(memories))

    _heading(con, 2, "Search",
             f"The default 'recall' preset (BM25 and dense fused, then a learned reranker "
             f"over local features) as of {DEMO_NOW:%Y-%m-%d}. Each hit shows when it was "
             "said or became true, the message it came from, and why it ranked.")
    for query in SEARCHES:
        hits = eg.search(query, user_id=DEMO_USER, limit=3, now=DEMO_NOW)
        con.print()
        con.print(_render.hits_table(hits, title=f"❯ {query}", show_ids=False))

    _heading(con, 3, "Context for a prompt",
             "The best memories and excerpts that fit a token budget, dated and with their ids.")
    block = eg.context(CONTEXT_QUERY, user_id=DEMO_USER, max_tokens=220, now=DEMO_NOW)
    con.print(_render.context_panel(block, title=f"context: {CONTEXT_QUERY}"))

    moved = next((m for m in retired if m.attribute and m.attribute.endswith("lives_in")), None)
    target = moved or (retired[0] if retired else None)
    if target is not None:
        _heading(con, 4, "History",
                 "Nothing is overwritten: a superseded memory keeps every version, and its "
                 "validity ends when the new fact begins.")
        versions = eg.history(target.id, user_id=DEMO_USER)
        con.print(_render.history_table(versions, title=f"engram history {target.id}"))


def register(cli: click.Group) -> None:
    @cli.command("demo")
    @store_options
    @click.pass_context
    def demo(ctx: click.Context) -> None:
        """Tour Engram on a bundled sample conversation (offline, a few seconds).

        Uses a temporary store unless --db is given; with --db the data stays
        there so you can try the other commands on it (user 'maya').
        """
        from ._app import stdout_console

        state = get_state(ctx)
        con = stdout_console()
        tmp: str | None = None
        if state.db is None:
            tmp = tempfile.mkdtemp(prefix="engram-demo-")
            state.db = str(Path(tmp) / "demo.db")
            location = "temporary (deleted at the end; use --db PATH to keep it)"
        else:
            location = state.db
        try:
            run_demo(state.engine(create=True, announce=tmp is None), con, location)
        finally:
            state.close()
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        con.print()
        if tmp is None:
            db = state.db
            con.print("[bold]Try next[/]")
            for cmd in (f"engram --db {db} search 'what does Maya do for work?' -u maya",
                        f"engram --db {db} list -u maya --all",
                        f"engram --db {db} export -u maya --out maya.jsonl"):
                con.print(f"  [cyan]{cmd}[/]")
        else:
            con.print("[bright_black]Keep the data: engram demo --db demo.db[/]")
