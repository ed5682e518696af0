"""Generic message files: JSON Lines (``jsonl``) and CSV with a header row (``csv``).

One message per line (JSONL) or row (CSV) with these fields, only ``text`` required:

==============  ============================================================
``text``        what was said (also ``content``, ``message``)
``role``        user (default), assistant, system, tool or observation
``speaker``     who said it (also ``name``, ``author``, ``sender``)
``timestamp``   when: ISO 8601 (no offset: UTC) or epoch seconds (also
                ``occurred_at``, ``created_at``, ``time``, ``date``)
``id``          the message's id, kept as the episode id
``session_id``  its conversation (also ``conversation_id``, ``thread_id``)
==============  ============================================================

Other fields go into the episode's metadata (JSONL: as they are; CSV: as text,
empty cells left out), with ``"source": "jsonl"``/``"csv"``. A message without
an ``id`` gets one made from the format, its line number, session, time, role
and text (:func:`~engram.importers._base.fallback_id`), so importing the file
again stores nothing new. A line that is not a JSON object, has no text, or has
an unknown role or a bad time is a bad record at its line number.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from ._base import BadRecord, ImportedMessage, Parsed, fallback_id, timestamp

__all__ = ["parse_csv", "parse_jsonl"]

_ROLES = {"user", "assistant", "system", "tool", "observation"}
_ALIASES = {
    "text": ("text", "content", "message"),
    "speaker": ("speaker", "name", "author", "sender"),
    "when": ("timestamp", "occurred_at", "created_at", "time", "date"),
    "session": ("session_id", "conversation_id", "thread_id"),
}
_KNOWN = {"id", "role", *(k for names in _ALIASES.values() for k in names)}


def parse_jsonl(text: str) -> Parsed:
    return _parse("jsonl", _jsonl_rows(text))


def parse_csv(text: str) -> Parsed:
    return _parse("csv", _csv_rows(text))


def _jsonl_rows(text: str) -> Iterator[tuple[int, Any]]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, ValueError(f"not JSON ({exc.msg})")


def _csv_rows(text: str) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        if None in row:
            yield reader.line_num, ValueError("more cells than header columns")
            continue
        yield reader.line_num, {k: v for k, v in row.items() if v not in (None, "")}


def _first(row: dict[str, Any], field: str) -> Any:
    for name in _ALIASES[field]:
        if row.get(name) not in (None, ""):
            return row[name]
    return None


def _parse(fmt: str, rows: Iterator[tuple[int, Any]]) -> Parsed:
    out = Parsed(fmt)
    for line, row in rows:
        try:
            if isinstance(row, Exception):
                raise row
            out.messages.append(_message(fmt, line, row))
        except (ValueError, TypeError) as exc:
            out.bad.append(BadRecord(line, str(exc)))
    return out


def _message(fmt: str, line: int, row: Any) -> ImportedMessage:
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    body = _first(row, "text")
    if not isinstance(body, str) or not body.strip():
        raise ValueError("no text (give 'text', 'content' or 'message')")
    role = str(row.get("role") or "user").lower()
    if role not in _ROLES:
        raise ValueError(f"role must be one of {sorted(_ROLES)}, not {role!r}")
    when = _first(row, "when")
    if fmt == "csv" and isinstance(when, str):
        when = float(when) if _is_number(when) else when
    occurred = timestamp(when)
    session = _first(row, "session")
    speaker = _first(row, "speaker")
    rid = row.get("id")
    mid = str(rid) if rid not in (None, "") else fallback_id(
        fmt, line, session, when, role, body)
    extra = {k: v for k, v in row.items() if k not in _KNOWN}
    return ImportedMessage(
        id=mid, text=body, role=role, occurred_at=occurred, line=line,
        speaker=str(speaker) if speaker is not None else None,
        session_id=str(session) if session is not None else None,
        metadata={**extra, "source": fmt})


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
