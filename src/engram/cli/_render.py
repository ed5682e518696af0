"""Rich renderings of Engram results for people (tables and panels).

Only imported when a command prints for people; ``--json`` output never goes
through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..models import ContextBlock, Episode, ForgetReport, Hit, Memory, MemoryVersion, Stats
from ..retrieval.signals import SIGNALS
from ..timeutil import format_day, format_minute

__all__ = [
    "breakdown",
    "context_panel",
    "counts_table",
    "history_table",
    "hits_table",
    "item_panel",
    "items_table",
    "stats_table",
]

KIND_STYLE = {
    "fact": "cyan", "preference": "magenta", "event": "yellow", "plan": "green",
    "procedure": "blue", "summary": "white", "note": "white", "episode": "bright_black",
}
STATUS_STYLE = {"active": "green", "superseded": "yellow", "deleted": "red"}
OP_STYLE = {"ADD": "green", "UPDATE": "cyan", "SUPERSEDE": "yellow", "DELETE": "red",
            "NOOP": "bright_black"}


def day(dt: datetime | None) -> str:
    return "" if dt is None else format_day(dt)


def minute(dt: datetime | None) -> str:
    return "" if dt is None else format_minute(dt)


def item_date(item: Episode | Memory) -> str:
    """Event time: when it was said, or since when a memory holds (and until when)."""
    if isinstance(item, Episode):
        return minute(item.occurred_at)
    start = day(item.valid_from or item.created_at)
    return f"{start} → {day(item.valid_to)}" if item.valid_to else start


def breakdown(scores: dict[str, float]) -> Text:
    """Why a hit ranked: the reranker's score (when one ran), its rank in each
    signal's list (with that list's share of a fused score otherwise), bonuses,
    and a multi-hop placement."""
    parts: list[str] = []
    learned = scores.get("rerank")
    if learned is not None:
        parts.append(f"reranker {learned:.2f}")
    for signal in SIGNALS:
        rank = scores.get(f"{signal}_rank")
        if rank is None:
            continue
        share = "" if learned is not None else f" +{scores.get(f'{signal}_part', 0.0):.4f}"
        parts.append(f"{signal} #{int(rank)}{share}")
    for key, value in sorted(scores.items()):
        base = key.removesuffix("_part").removesuffix("_rank")
        if base in SIGNALS:
            continue
        if key == "memory_boost":
            parts.append(f"memory ×{value:g}")
        elif key == "hop":
            parts.append(f"via a name a better hit introduced {value:+.2f}")
        elif key.endswith("_part"):
            parts.append(f"{base} +{value:.4f}")
    return Text("\n".join(parts), style="bright_black")


def _clip(s: str, n: int) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _badge(item: Episode | Memory) -> Text:
    if isinstance(item, Episode):
        return Text(item.speaker or item.role, style="bold " + KIND_STYLE["episode"])
    label = str(item.kind)
    badge = Text(label, style="bold " + KIND_STYLE.get(label, ""))
    if str(item.status) != "active":
        badge.append(f" ({item.status})", style=STATUS_STYLE.get(str(item.status), ""))
    return badge


def hit_body(hit: Hit, *, show_ids: bool = True) -> Text:
    """Several lines: kind, date and text; its source episodes; id and score breakdown."""
    item = hit.item
    body = Text.assemble(_badge(item), "  ", (item_date(item), "bright_black"), "\n",
                         Text(item.text))
    for src in hit.sources[:2]:
        body.append(f"\n↳ said {minute(src.occurred_at)} by {src.speaker or src.role}: ",
                    style="bright_black")
        body.append(_clip(src.text, 100), style="italic bright_black")
    tail = breakdown(hit.scores).plain.replace("\n", " · ")
    body.append("\n" + (f"{item.id} · " if show_ids else "") + tail, style="dim")
    return body


def hits_table(hits: Sequence[Hit], *, title: str | None = None, show_ids: bool = True) -> Table:
    """Ranked hits, one multi-line row each (readable at 80 columns)."""
    table = Table(title=title, title_justify="left", title_style="bold", box=None,
                  show_header=False, padding=(0, 1, 1, 0), pad_edge=False)
    table.add_column("#", justify="right", style="bold", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True, style="cyan")
    table.add_column("hit", ratio=1)
    for i, h in enumerate(hits, 1):
        table.add_row(f"{i}.", f"{h.score:.4f}", hit_body(h, show_ids=show_ids))
    return table


def items_table(items: Sequence[Episode | Memory], *, title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", show_lines=False)
    table.add_column("kind", no_wrap=True)
    table.add_column("date", no_wrap=True, style="bright_black")
    table.add_column("text / id", ratio=1)
    for item in items:
        text = Text(item.text)
        text.append(f"\n{item.id}", style="dim")
        table.add_row(_badge(item), item_date(item), text)
    return table


def _kv(rows: Iterable[tuple[str, Any]], title: str | None = None) -> Table:
    table = Table(show_header=False, box=None, title=title, title_justify="left",
                  title_style="bold", pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in rows:
        if v is None or v == "" or v == [] or v == {}:
            continue
        table.add_row(k, v if isinstance(v, Text) else str(v))
    return table


def item_panel(item: Episode | Memory, sources: Sequence[Episode] = ()) -> Panel:
    if isinstance(item, Episode):
        rows: list[tuple[str, Any]] = [
            ("text", item.text), ("role", item.role), ("speaker", item.speaker),
            ("occurred", minute(item.occurred_at)), ("stored", minute(item.created_at)),
            ("session", item.scope.session_id), ("metadata", item.metadata or None),
        ]
        return Panel(_kv(rows), title=f"episode {item.id}", title_align="left")
    status = Text(str(item.status), style=STATUS_STYLE.get(str(item.status), ""))
    rows = [
        ("text", item.text), ("kind", str(item.kind)), ("status", status),
        ("version", item.version), ("attribute", item.attribute),
        ("valid", f"{day(item.valid_from)} → {day(item.valid_to) or 'now'}"),
        ("recorded", minute(item.created_at)), ("updated", minute(item.updated_at)),
        ("retired", minute(item.expired_at)), ("importance", f"{item.importance:.2f}"),
        ("accessed", f"{item.access_count}×"), ("entities", ", ".join(item.entities)),
        ("metadata", item.metadata or None),
    ]
    for i, src in enumerate(sources):
        rows.append(("source" if i == 0 else "", f"{src.id} ({minute(src.occurred_at)}) "
                     f"{src.speaker or src.role}: {_clip(src.text, 120)}"))
    return Panel(_kv(rows), title=f"memory {item.id}", title_align="left")


def _valid(d: dict[str, Any]) -> str:
    start, until = d.get("valid_from"), d.get("valid_to")
    if not start and not until:
        return ""
    return f"{(start or '')[:10]} → {(until or 'now')[:10]}"


def history_table(versions: Sequence[MemoryVersion], *, title: str | None = None) -> Table:
    """One row per version: operation, event-time validity, text, then when and why (dim)."""
    table = Table(title=title, title_justify="left", title_style="bold", box=None,
                  padding=(0, 1, 1, 0), pad_edge=False, header_style="bold")
    table.add_column("v", justify="right", no_wrap=True)
    table.add_column("change", no_wrap=True)
    table.add_column("valid", no_wrap=True, style="bright_black")
    table.add_column("memory after the change", ratio=1)
    for v in versions:
        after = v.after or {}
        text = Text(str(after.get("text", "")))
        status = str(after.get("status", ""))
        if status and status != "active":
            text.append(f"  {status}", style=STATUS_STYLE.get(status, ""))
        before = (v.before or {}).get("text")
        if before and before != after.get("text"):
            text.append(f"\nwas: {before}", style="bright_black")
        text.append(f"\nrecorded {minute(v.recorded_at)} · {v.reason}", style="dim")
        op = str(v.operation)
        table.add_row(str(v.version), Text(op, style=OP_STYLE.get(op, "")), _valid(after), text)
    return table


def counts_table(report: ForgetReport) -> Table:
    table = Table(title="Forgotten (hard delete)", title_justify="left", title_style="bold")
    table.add_column("what")
    table.add_column("rows", justify="right")
    for k, v in sorted(report.counts.items()):
        table.add_row(k, str(v))
    return table


def stats_table(stats: Stats) -> Table:
    size = f"{stats.db_bytes / 1_048_576:.2f} MiB" if stats.db_bytes else None
    rows: list[tuple[str, Any]] = [
        ("episodes", stats.episodes), ("memories", stats.memories),
        ("by status", ", ".join(f"{k} {v}" for k, v in sorted(stats.memories_by_status.items()))),
        ("by kind", ", ".join(f"{k} {v}" for k, v in sorted(stats.memories_by_kind.items()))),
        ("versions", stats.versions), ("vectors", stats.vectors),
        ("embedding model", stats.embedding_model), ("schema", stats.schema_version),
        ("size", size),
    ]
    return _kv(rows)


def context_panel(block: ContextBlock, title: str = "context") -> RenderableType:
    caption = Text(f"{block.tokens} of {block.max_tokens} tokens, {len(block.items)} items",
                   style="bright_black")
    return Group(Panel(Text(block.text), title=title, title_align="left"), caption)
