"""Stage 1, segment: caller input -> validated :class:`Episode` objects.

Accepts a string, a :class:`Message`, a dict (``text``/``content``, ``role``,
``speaker``/``name``, ``occurred_at``, ``id``, ``metadata``) or a list of those.
Everything is validated before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..errors import InvalidInput
from ..ids import new_id
from ..models import Episode, Message, Scope
from ..timeutil import ensure_aware, parse_dt, shift
from ..validation import check_id, check_metadata, check_text

__all__ = ["MAX_MESSAGES", "to_episodes", "to_messages"]

MAX_MESSAGES = 10_000
ROLES = {"user", "assistant", "system", "tool", "observation"}


def _message_from_dict(d: dict[str, Any], index: int) -> Message:
    text = d.get("text", d.get("content"))
    if text is None:
        raise InvalidInput(f"message {index}: missing 'text' (or 'content')")
    occurred = d.get("occurred_at")
    if occurred is not None and not isinstance(occurred, datetime):
        occurred = parse_dt(occurred, f"message {index} occurred_at")
    unknown = set(d) - {
        "text", "content", "role", "speaker", "name", "occurred_at", "id", "metadata",
    }
    if unknown:
        raise InvalidInput(f"message {index}: unknown fields {sorted(unknown)}")
    return Message(
        text=text,
        role=d.get("role") or "user",
        speaker=d.get("speaker", d.get("name")),
        occurred_at=occurred,
        id=d.get("id"),
        metadata=d.get("metadata") or {},
    )


def to_messages(
    messages: Any, *, speaker: str | None = None, role: str | None = None
) -> list[Message]:
    """Normalise input to Messages; ``speaker``/``role`` fill messages that lack them."""
    if isinstance(messages, (str, Message, dict)):
        messages = [messages]
    if not isinstance(messages, Sequence) or isinstance(messages, (bytes, bytearray)):
        raise InvalidInput("messages must be a string, a Message, a dict or a list of them")
    if not messages:
        raise InvalidInput("no messages given")
    if len(messages) > MAX_MESSAGES:
        raise InvalidInput(f"at most {MAX_MESSAGES} messages per call")
    out: list[Message] = []
    for i, m in enumerate(messages):
        if isinstance(m, str):
            out.append(Message(text=m))
        elif isinstance(m, Message):
            out.append(m)
        elif isinstance(m, dict):
            out.append(_message_from_dict(m, i))
        else:
            raise InvalidInput(f"message {i}: unsupported type {type(m).__name__}")
    if speaker is not None or role is not None:
        import dataclasses

        explicit_role = [isinstance(m, dict) and "role" in m for m in messages]
        out = [
            dataclasses.replace(
                m,
                speaker=m.speaker if m.speaker is not None else speaker,
                role=role if role is not None and not explicit else m.role,
            )
            for m, explicit in zip(out, explicit_role, strict=True)
        ]
    return out


def to_episodes(
    messages: list[Message],
    scope: Scope,
    *,
    occurred_at: datetime | None,
    metadata: dict[str, Any] | None,
    created_at: datetime,
    max_text_bytes: int,
) -> list[Episode]:
    """Validate messages and turn them into episodes (ids assigned, times aware UTC).

    Messages without their own time get ``occurred_at`` (or ``created_at``),
    plus a microsecond per position so a batch keeps its order.
    """
    base_time = ensure_aware(occurred_at, "occurred_at") if occurred_at is not None else created_at
    shared_meta = check_metadata(metadata)
    episodes: list[Episode] = []
    seen: set[str] = set()
    from datetime import timedelta

    for i, m in enumerate(messages):
        text = check_text(m.text, max_text_bytes, f"message {i} text")
        role = m.role if isinstance(m.role, str) else ""
        if role not in ROLES:
            raise InvalidInput(f"message {i}: role must be one of {sorted(ROLES)}")
        if m.speaker is not None and not isinstance(m.speaker, str):
            raise InvalidInput(f"message {i}: speaker must be a string")
        when = (
            ensure_aware(m.occurred_at, f"message {i} occurred_at")
            if m.occurred_at is not None
            else shift(base_time, timedelta(microseconds=i))  # clamped at 9999-12-31
        )
        meta = {**shared_meta, **check_metadata(m.metadata, f"message {i} metadata")}
        if m.id is not None:
            eid = check_id(m.id, f"message {i} id")
            if eid in seen:
                raise InvalidInput(f"message {i}: id {eid!r} repeated in the same call")
            seen.add(eid)
        else:
            eid = new_id("ep")
        episodes.append(
            Episode(
                id=eid,
                scope=scope,
                role=role,
                speaker=m.speaker,
                text=text,
                occurred_at=when,
                created_at=created_at,
                metadata=meta,
            )
        )
    return episodes
