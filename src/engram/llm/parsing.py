"""Finding the JSON value in what a model wrote.

Models asked for JSON still wrap it: code fences, a sentence before it, a
leading ``<think>...</think>`` block (reasoning models served by Ollama,
vLLM, llama.cpp). :func:`iter_json` yields the complete JSON values of the wanted kind, in
order (the client keeps the first that fits the schema), and
:func:`extract_json` returns the first. Neither repairs broken JSON, so a
truncated or malformed answer is reported, not half-used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Literal

__all__ = ["JSONNotFound", "extract_json", "iter_json"]

_THINK = re.compile(r"\A\s*<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()


class JSONNotFound(ValueError):
    """No complete JSON value of the wanted kind in the text; ``str()`` says why."""


def extract_json(text: str, want: Literal["object", "array"] = "object") -> Any:
    """Return the first JSON object (or array) found in ``text``.

    The first value :func:`iter_json` yields; raises :class:`JSONNotFound`
    (with the decoder's message for the first broken candidate) when none.
    """
    for value in iter_json(text, want):
        return value
    raise AssertionError("unreachable: iter_json raises when it finds nothing")


def iter_json(text: str, want: Literal["object", "array"] = "object") -> Iterator[Any]:
    """Yield each complete JSON object (or array) candidate in ``text``, in order.

    A leading ``<think>`` block is removed first (only a leading one: the
    strings inside the JSON may contain the tag). Candidates: the whole
    text; the body of each fenced code block; then each *top-level* ``{``
    (or ``[``), left to right. Scanning resumes after each value decoded,
    and a candidate that fails to decode is skipped up to its balancing
    bracket, so a fragment nested inside another value (broken or not) is
    never yielded; a truncated value ends the scan. Raises
    :class:`JSONNotFound` when it yields nothing.
    """
    cleaned = _THINK.sub("", text).strip()
    if not cleaned:
        raise JSONNotFound("the reply is empty")
    opener = "{" if want == "object" else "["
    kind: type = dict if want == "object" else list
    first_error: str | None = None
    found = 0

    for candidate in [cleaned, *(m.group(1).strip() for m in _FENCE.finditer(cleaned))]:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, kind):
            found += 1
            yield value

    start = cleaned.find(opener)
    while start != -1:
        try:
            value, end = _DECODER.raw_decode(cleaned, start)
        except json.JSONDecodeError as exc:
            if first_error is None:
                first_error = f"invalid JSON at character {start}: {exc.msg}"
            skip_to = _balanced_end(cleaned, start)
            if skip_to is None:  # truncated: everything after is inside the broken value
                break
            start = cleaned.find(opener, skip_to)
            continue
        if isinstance(value, kind):
            found += 1
            yield value
        start = cleaned.find(opener, end)
    if not found:
        raise JSONNotFound(first_error or f"no JSON {want} in the reply")


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
