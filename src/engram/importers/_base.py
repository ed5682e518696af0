"""What every importer returns, and the parsing helpers they share (no I/O, no writes)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import EngramError, ImportFormatError
from ..timeutil import parse_dt

__all__ = [
    "BadRecord",
    "ImportedMemory",
    "ImportedMessage",
    "Parsed",
    "fallback_id",
    "json_document",
    "json_elements",
    "line_of",
    "parse_conversations",
    "text_of",
    "timestamp",
]


@dataclass(frozen=True)
class BadRecord:
    """A record that could not be imported: ``line`` in the file (1-based) and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportedMessage:
    """One message to store as an episode, with what the source said about it."""

    id: str
    text: str
    role: str
    occurred_at: datetime | None
    line: int
    speaker: str | None = None
    #: the source's conversation (Engram ``session_id``), ``None`` for none
    session_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: the source's own user/agent, used when the caller names no target scope
    user_id: str | None = None
    agent_id: str | None = None


@dataclass
class ImportedMemory:
    """One piece of knowledge to store as a memory (mem0 memories, Letta blocks)."""

    id: str
    text: str
    kind: str
    created_at: datetime | None
    line: int
    updated_at: datetime | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    user_id: str | None = None
    agent_id: str | None = None


@dataclass
class Parsed:
    """An importer's result: messages in conversation order, memories, the records
    it could not use (``bad``) and how many it left out on purpose (``skipped``:
    empty or hidden messages, system prompts, tool noise)."""

    format: str
    messages: list[ImportedMessage] = field(default_factory=list)
    memories: list[ImportedMemory] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    skipped: int = 0


def parse_conversations(
    text: str, fmt: str, read: Callable[[Any, int, Parsed], list[ImportedMessage]],
    title_key: str,
) -> Parsed:
    """Read each conversation of a top-level JSON array with ``read(conversation,
    line, parsed)``, which returns its messages. A conversation it cannot read
    (``ValueError``, ``TypeError``, ``KeyError``) is one bad record at its line,
    named by its title, and none of its messages are kept."""
    out = Parsed(fmt)
    for line, conv in json_elements(text, fmt):
        try:
            out.messages.extend(read(conv, line, out))
        except (ValueError, TypeError, KeyError) as exc:
            title = conv.get(title_key) if isinstance(conv, dict) else None
            where = f"conversation {title!r}: " if isinstance(title, str) and title else ""
            out.bad.append(BadRecord(line, f"{where}{exc}"))
    return out


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def json_document(text: str, fmt: str) -> Any:
    """The whole file as JSON, or :class:`ImportFormatError` with the failing line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{fmt}: not a JSON file (line {exc.lineno}: {exc.msg})",
                                [(exc.lineno, exc.msg)]) from None


def json_elements(text: str, fmt: str, start: int = 0,
                  what: str = "conversations") -> Iterator[tuple[int, Any]]:
    """``(line, element)`` for each element of the JSON array at ``start`` (default:
    the top level), the line being where the element starts."""
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, start)
    if pos >= len(text) or text[pos] != "[":
        raise ImportFormatError(f"{fmt}: expected a JSON array of {what}",
                                [(line_of(text, pos), "not a JSON array")])
    pos = _skip_ws(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        return
    while True:
        try:
            element, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(f"{fmt}: not valid JSON (line {exc.lineno}: {exc.msg})",
                                    [(exc.lineno, exc.msg)]) from None
        yield line_of(text, pos), element
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            return
        raise ImportFormatError(f"{fmt}: not valid JSON (line {line_of(text, pos)})",
                                [(line_of(text, pos), "expected ',' or ']'")])


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n\ufeff":
        pos += 1
    return pos


def timestamp(value: Any) -> datetime | None:
    """A source timestamp as aware UTC: epoch seconds (ChatGPT), ISO 8601 text with
    an offset, or ISO text without one, read as UTC (these exports write UTC).
    ``None``/``""`` give ``None``; anything else raises ``ValueError``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            naive = datetime.fromisoformat(text.removesuffix("Z").removesuffix("z"))
        except ValueError:
            naive = None
        if naive is not None and naive.tzinfo is None:
            return naive.replace(tzinfo=UTC)
        try:
            return parse_dt(text)
        except EngramError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError(f"not a timestamp: {value!r}")


def text_of(content: Any) -> str:
    """Text of a content field: a string, or the text parts of a list of parts
    (strings or ``{"type": "text", "text": ...}`` objects); other parts are left out."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, str):
                parts.append(p)
            elif isinstance(p, dict) and isinstance(p.get("text"), str):
                parts.append(p["text"])
        return "\n".join(x for x in parts if x.strip())
    return ""


def fallback_id(fmt: str, *key: Any) -> str:
    """A stable id for a record the source gave none: ``imp_`` + 26 base32 characters
    of a hash of the format and ``key`` (what identifies the record in its file), so
    importing the same file again finds it."""
    raw = json.dumps([fmt, *key], ensure_ascii=False, sort_keys=True, default=str)
    digest = hashlib.blake2b(raw.encode("utf-8"), digest_size=20).digest()
    return "imp_" + base64.b32encode(digest).decode("ascii").lower()[:26]
