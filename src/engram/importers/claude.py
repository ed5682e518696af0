"""Claude data export: ``conversations.json`` (Settings > Privacy > Export data).

A JSON array of conversations, each with ``uuid``, ``name``, ``created_at`` and
``chat_messages``: ``[{"uuid", "sender": "human" | "assistant", "text",
"content": [{"type": "text", "text"}...], "created_at"}]``.

Imported: one episode per message with its ``uuid`` as id, ``created_at`` as
event time, ``human`` as role ``user`` and ``assistant`` as ``assistant``, the
sender as speaker and the conversation ``uuid`` as ``session_id``; metadata
``{"source": "claude", "conversation_title": ...}``. The text is ``text``, else
the text parts of ``content`` (tool use and attachments are left out); messages
with no text are skipped. A conversation that is not an object with a
``chat_messages`` list, or a message with an unknown sender or a bad time, is a
bad record at the conversation's line (the rest of the file is still read).
"""

from __future__ import annotations

from typing import Any

from ._base import (
    ImportedMessage,
    Parsed,
    fallback_id,
    parse_conversations,
    text_of,
    timestamp,
)

__all__ = ["parse"]

FORMAT = "claude"
_ROLES = {"human": "user", "user": "user", "assistant": "assistant"}


def parse(text: str) -> Parsed:
    return parse_conversations(text, FORMAT, _conversation, "name")


def _conversation(conv: Any, line: int, out: Parsed) -> list[ImportedMessage]:
    if not isinstance(conv, dict) or not isinstance(conv.get("chat_messages"), list):
        raise ValueError("not a conversation (an object with 'chat_messages')")
    cid = str(conv.get("uuid") or fallback_id(FORMAT, line, conv.get("name")))
    title = conv.get("name") if isinstance(conv.get("name"), str) else None
    found: list[ImportedMessage] = []
    for i, msg in enumerate(conv["chat_messages"]):
        if not isinstance(msg, dict):
            raise ValueError(f"message {i} is not an object")
        sender = str(msg.get("sender"))
        if sender not in _ROLES:
            raise ValueError(f"message {i}: unknown sender {sender!r}")
        raw = msg.get("text")
        body = raw if isinstance(raw, str) else ""
        if not body.strip():
            body = text_of(msg.get("content"))
        if not body.strip():
            out.skipped += 1
            continue
        found.append(ImportedMessage(
            id=str(msg.get("uuid") or fallback_id(FORMAT, cid, i)), text=body,
            role=_ROLES[sender], occurred_at=timestamp(msg.get("created_at")), line=line,
            speaker=sender, session_id=cid,
            metadata={"source": FORMAT, **({"conversation_title": title} if title else {})},
        ))
    return found
