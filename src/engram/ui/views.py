"""What the pages show, computed from engine objects (no HTML here: templates escape).

* :func:`version_rows`: a memory's history as one row per version, each with the
  fields that changed and a word diff of the text.
* :func:`word_diff`: ``[(op, text)]`` with op ``=``, ``-`` or ``+``.
* :func:`trust_info`: the trust level and poisoning flags of an item.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..models import Episode, Memory, MemoryVersion
from ..trust.provenance import flags_of, trust_of

__all__ = ["VersionRow", "trust_info", "version_rows", "when", "word_diff"]

#: fields that change with every version and say nothing on their own
_NOISE = {"updated_at", "version", "metadata", "access_count", "last_accessed_at"}
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def when(dt: datetime | str | None) -> str:
    """``2026-03-01 14:05 UTC`` (minutes, UTC); ``—`` for None."""
    if dt is None:
        return "—"
    if isinstance(dt, str):
        from ..timeutil import parse_dt

        dt = parse_dt(dt)
    from datetime import UTC

    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level diff of ``old`` -> ``new``: runs of unchanged (``=``), removed (``-``)
    and added (``+``) text, in order; their ``=``/``-`` parts rebuild ``old``."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("=", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", "".join(b[j1:j2])))
    return out


@dataclass
class VersionRow:
    """One version of a memory as the memory page shows it."""

    version: int
    operation: str
    reason: str
    recorded_at: datetime
    #: field -> (before, after), text excluded
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: the text diff against the previous version ([] when unchanged)
    diff: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""


def version_rows(versions: list[MemoryVersion]) -> list[VersionRow]:
    """Newest first, each compared with the state before it."""
    rows = []
    for v in versions:
        before, after = v.before or {}, v.after or {}
        row = VersionRow(v.version, str(v.operation), v.reason, v.recorded_at,
                         text=str(after.get("text", before.get("text", ""))))
        for key in sorted(set(before) | set(after)):
            if key in _NOISE or key == "text" or not before:
                continue
            if before.get(key) != after.get(key):
                row.changes[key] = (before.get(key), after.get(key))
        if before and before.get("text") != after.get("text") and after.get("text") is not None:
            row.diff = word_diff(str(before.get("text", "")), str(after.get("text", "")))
        rows.append(row)
    rows.reverse()
    return rows


def trust_info(item: Episode | Memory) -> tuple[str, list[str]]:
    """``(trust level, poisoning flags)`` recorded on the item."""
    return trust_of(item.metadata), [str(f) for f in flags_of(item.metadata)]
