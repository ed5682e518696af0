"""Finding the JSON value in what a model wrote.

Models asked for JSON still wrap it: code fences, a sentence before it, a
``<think>...</think>`` block (reasoning models served by Ollama, vLLM,
llama.cpp). :func:`extract_json` finds the first complete JSON value of the
wanted kind and ignores the rest; it never repairs broken JSON, so a
truncated or malformed answer is reported, not half-used.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

__all__ = ["JSONNotFound", "extract_json"]

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()


class JSONNotFound(ValueError):
    """No complete JSON value of the wanted kind in the text; ``str()`` says why."""


def extract_json(text: str, want: Literal["object", "array"] = "object") -> Any:
    """Return the first JSON object (or array) found in ``text``.

    Order of attempts: the whole text; the body of each fenced code block;
    then each top-level ``{`` (or ``[``) position, left to right, decoding
    one value from there. A candidate that fails to decode is skipped as a
    whole (up to its balancing bracket), so a fragment nested inside a broken
    or truncated object is never returned. ``<think>`` blocks are removed
    first. Raises :class:`JSONNotFound` with the decoder's message for the
    first failed candidate when nothing decodes.
    """
    cleaned = _THINK.sub("", text).strip()
    if not cleaned:
        raise JSONNotFound("the reply is empty")
    opener = "{" if want == "object" else "["
    kind: type = dict if want == "object" else list
    first_error: str | None = None

    candidates = [cleaned, *(m.group(1).strip() for m in _FENCE.finditer(cleaned))]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, kind):
            return value

    start = cleaned.find(opener)
    while start != -1:
        try:
            value, _end = _DECODER.raw_decode(cleaned, start)
        except json.JSONDecodeError as exc:
            if first_error is None:
                first_error = f"invalid JSON at character {start}: {exc.msg}"
            end = _balanced_end(cleaned, start)
            if end is None:  # truncated: everything after is inside the broken value
                break
            start = cleaned.find(opener, end)
            continue
        if isinstance(value, kind):
            return value
        start = cleaned.find(opener, start + 1)
    if first_error is not None:
        raise JSONNotFound(first_error)
    raise JSONNotFound(f"no JSON {want} in the reply")


def _balanced_end(text: str, start: int) -> int | None:
    """Index just past the bracket closing the one at ``start`` (string-aware), or None."""
    depth = 0
    in_string = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None
