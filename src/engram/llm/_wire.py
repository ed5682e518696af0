"""The OpenAI chat completions wire format: pure functions, no I/O.

Checking and copying caller messages, the schema instructions added to
prompts, reading error bodies and ``Retry-After``, and reading a completion.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from ..errors import InvalidInput
from .errors import LLMError
from .types import Usage

__all__ = [
    "Completion",
    "check_messages",
    "error_message",
    "feedback",
    "instruction",
    "parse_completion",
    "refusal_text",
    "retry_after",
    "with_instruction",
]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


@dataclass(frozen=True)
class Completion:
    """The parts of a chat completion the client uses (first choice only)."""

    text: str
    finish_reason: str | None
    refusal: str | None
    usage: Usage
    model: str | None


def check_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence) or not messages:
        raise InvalidInput("messages must be a non-empty list of {'role', 'content'} dicts")
    checked = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise InvalidInput(f"messages[{i}] must be a dict")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise InvalidInput(f"messages[{i}].role must be one of {sorted(ROLES)}")
        if not isinstance(content, str | list):
            raise InvalidInput(f"messages[{i}].content must be a string or a list of parts")
        copy = list(content) if isinstance(content, list) else content
        checked.append({**message, "content": copy})
    return checked


def instruction(schema: Mapping[str, Any]) -> str:
    return (
        "Answer with only JSON (no prose, no code fences) that conforms to this JSON Schema:\n"
        + json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    )


def feedback(problems: str, schema: Mapping[str, Any]) -> str:
    return f"Your previous reply could not be used: {problems}.\n{instruction(schema)}"


def with_instruction(
    messages: list[dict[str, Any]], schema: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Append the schema instruction to the last user message (or add one).

    The last user turn is the place every chat template accepts; an extra
    system message is refused by some (e.g. templates requiring alternation).
    """
    note = instruction(schema)
    for i in range(len(messages) - 1, -1, -1):
        if messages[i]["role"] == "user":
            content = messages[i]["content"]
            if isinstance(content, list):
                new: str | list[Any] = [*content, {"type": "text", "text": note}]
            else:
                new = f"{content}\n\n{note}"
            return [*messages[:i], {**messages[i], "content": new}, *messages[i + 1 :]]
    return [*messages, {"role": "user", "content": note}]


def error_message(text: str) -> str:
    """The ``error.message`` of an OpenAI error body, else the body's start."""
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:300] or "(empty body)"
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping):
            for key in ("message", "detail", "error"):
                if isinstance(error.get(key), str):
                    return str(error[key])[:500]
        elif isinstance(error, str):
            return error[:500]
        if isinstance(body.get("detail"), str | list):
            return str(body["detail"])[:500]
    return text.strip()[:300]


def refusal_text(status: int, message: str, url: str, model: str) -> str:
    """The message of :class:`LLMRequestError` for a refused request."""
    if status in (401, 403):
        return f"LLM server refused the credentials (HTTP {status}): {message}; check api_key"
    if status == 404:
        return (
            f"LLM endpoint or model not found (HTTP 404) at {url} for model "
            f"{model!r}: {message}; check base_url (usually ending in /v1) and model"
        )
    return f"LLM server refused the request (HTTP {status}): {message}"


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds asked by ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def parse_completion(text: str, *, status: int, attempts: int) -> Completion:
    """Read an OpenAI chat completion body; anything else raises :class:`LLMError`."""

    def fail(reason: str) -> LLMError:
        return LLMError(
            f"LLM server sent {reason}; is base_url the OpenAI-compatible root "
            "(usually ending in /v1)?",
            status=status,
            attempts=attempts,
        )

    try:
        body = json.loads(text)
    except ValueError:
        excerpt = text.strip()[:120]
        raise fail(f"a non-JSON body ({excerpt!r})") from None
    if not isinstance(body, Mapping):
        raise fail("a JSON body that is not an object")
    if "error" in body and "choices" not in body:
        raise LLMError(
            f"LLM server returned an error: {error_message(text)}",
            status=status,
            attempts=attempts,
        )
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise fail("a body without choices")
    message = choices[0].get("message")
    if not isinstance(message, Mapping):
        raise fail("a choice without a message")
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    refusal = message.get("refusal")
    finish = choices[0].get("finish_reason")
    model = body.get("model")
    return Completion(
        text=content if isinstance(content, str) else "",
        finish_reason=finish if isinstance(finish, str) else None,
        refusal=refusal if isinstance(refusal, str) and refusal else None,
        usage=Usage.from_openai(body.get("usage")),
        model=model if isinstance(model, str) and model else None,
    )
