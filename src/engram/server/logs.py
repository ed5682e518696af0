"""Server logging: one record is one line, whatever a client sends.

Request data (a path such as ``/nope%0D%0AFORGED`` arrives URL-decoded, with a real
CR LF in it) reaches log messages, so every record is formatted here:

* ``text`` (:class:`TextFormatter`): ``<time> <LEVEL> <logger> <message>``; the message
  has every control character escaped (:func:`escape`: ``\\r``, ``\\n``, ``\\x1b``,
  ``\\u2028``...). A traceback follows on continuation lines that start with four
  spaces, escaped the same way, so no line a client can influence starts a record.
* ``json`` (:class:`JsonFormatter`): one JSON object per line with ``ts``, ``level``,
  ``logger``, ``msg``, any structured fields the call passed (e.g. the request line's
  ``request_id``, ``method``, ``path``, ``status``, ``duration_ms``, ``client``) and
  ``exc`` for a traceback. JSON escapes every control and non-ASCII character.

:func:`configure_logging` installs one of them on the root logger (uvicorn's loggers
propagate to it: run uvicorn with ``log_config=None``). The format is the
``log_format`` setting (``engram serve --log-format``).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter", "TextFormatter", "configure_logging", "escape"]

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
#: C0 and C1 controls, DEL, line/paragraph separators and bidirectional overrides
_ESCAPED = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F),
            *range(0x2066, 0x206A)]
_TABLE = {c: _NAMED.get(chr(c)) or (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}")
          for c in _ESCAPED}
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "color_message"}  # uvicorn's ANSI copy of msg


def escape(value: object) -> str:
    """``str(value)`` with control characters written as escapes; idempotent."""
    return str(value).translate(_TABLE)


def _tail(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """The traceback and stack of ``record`` ('' if none), not cached on the record."""
    parts = []
    if record.exc_info:
        parts.append(formatter.formatException(record.exc_info))
    elif record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    return "\n".join(parts)


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger> <message>``, escaped; traceback lines indented."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = escape(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        tail = _tail(self, record)
        if tail:
            line += "".join("\n    " + escape(part) for part in tail.split("\n"))
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "msg": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in _STANDARD and k not in out:
                out[k] = v
        tail = _tail(self, record)
        if tail:
            out["exc"] = tail
        return json.dumps(out, ensure_ascii=True, default=str)


def configure_logging(level: str = "info", log_format: str = "text") -> None:
    """Log records of ``level`` and above to stderr in ``log_format`` ("text" or "json"),
    replacing the root logger's handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
