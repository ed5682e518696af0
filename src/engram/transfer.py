"""JSONL export/import records.

One JSON object per line, ``{"type": "episode"|"memory"|"version", ...}``, the
fields of :meth:`Episode.to_dict` / :meth:`Memory.to_dict` /
:meth:`MemoryVersion.to_dict` (versions also carry ``tenant``). Export then
import is the identity; importing twice changes nothing (idempotent by id).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from .errors import EngramError, ImportFormatError
from .models import Episode, Memory, MemoryVersion, Scope
from .validation import check_id, check_metadata, check_scope, check_text

__all__ = ["ImportReport", "Record", "parse_jsonl", "write_jsonl"]


#: a parsed line: (type, object, tenant); written by
#: :meth:`engram.ingest.commit.Committer.records`
Record = tuple[str, Episode | Memory | MemoryVersion, str]
MAX_REPORTED_ERRORS = 50


def write_jsonl(records: Iterable[dict[str, Any]], fp: IO[str]) -> int:
    """Write export records to ``fp``, one JSON object a line (keys sorted, UTF-8
    kept); returns the number of lines."""
    n = 0
    for rec in records:
        fp.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
        n += 1
    return n


@dataclass
class ImportReport:
    lines: int = 0
    episodes_created: int = 0
    episodes_existing: int = 0
    memories_created: int = 0
    memories_existing: int = 0
    versions: int = 0

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def _retarget(d: dict[str, Any], target: Scope | None) -> dict[str, Any]:
    if target is None:
        return d
    d = dict(d)
    d["tenant"] = target.tenant
    d["user_id"] = target.user_id
    d["agent_id"] = target.agent_id
    for side in ("before", "after"):
        if isinstance(d.get(side), dict):
            d[side] = _retarget(d[side], target)
    return d


def _parse_line(d: Any, max_bytes: int, target: Scope | None) -> Record:
    if not isinstance(d, dict):
        raise ValueError("not a JSON object")
    kind = d.get("type")
    d = _retarget(d, target)
    if kind == "episode":
        e = Episode.from_dict(d)
        check_id(e.id, "id")
        check_scope(e.scope)
        check_text(e.text, max_bytes)
        check_metadata(e.metadata)
        return ("episode", e, e.scope.tenant)
    if kind == "memory":
        m = Memory.from_dict(d)
        check_id(m.id, "id")
        check_scope(m.scope)
        check_text(m.text, max_bytes)
        check_metadata(m.metadata)
        return ("memory", m, m.scope.tenant)
    if kind == "version":
        v = MemoryVersion.from_dict(d)
        check_id(v.memory_id, "memory_id")
        if v.version < 1:
            raise ValueError("version must be >= 1")
        return ("version", v, d.get("tenant") or "default")
    raise ValueError(f"unknown record type {kind!r}")


def parse_jsonl(
    source: IO[str] | Iterable[str], max_bytes: int, target: Scope | None = None
) -> list[Record]:
    """Parse and validate every line; raise ImportFormatError listing bad lines."""
    records: list[Record] = []
    errors: list[tuple[int, str]] = []
    for lineno, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
            records.append(_parse_line(data, max_bytes, target))
        except (ValueError, KeyError, TypeError, EngramError) as exc:
            reason = str(exc) if not isinstance(exc, KeyError) else f"missing field {exc}"
            errors.append((lineno, reason))
    if errors:
        shown = "; ".join(f"line {n}: {r}" for n, r in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ImportFormatError(
            f"{len(errors)} bad record(s), nothing imported: {shown}{more}",
            errors[:MAX_REPORTED_ERRORS],
        )
    return records
