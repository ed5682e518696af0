"""ChatGPT data export: ``conversations.json`` (Settings > Data controls > Export).

The file is a JSON array of conversations, each with ``title``, ``create_time``
(epoch seconds), ``conversation_id`` (or ``id``), ``current_node`` and a
``mapping`` of node id -> ``{"message", "parent", "children"}``. A message has
``id``, ``author.role`` (user, assistant, system, tool) and ``author.name``,
``create_time`` and ``content`` (``content_type`` ``text`` or
``multimodal_text`` with ``parts``).

Imported: the conversation as last shown, i.e. the branch from ``current_node``
up to the root (edited or regenerated branches are left out), one episode per
message with its id, its time (else the conversation's), its role, its author
name as speaker (else the role) and the conversation id as ``session_id``;
metadata ``{"source": "chatgpt", "conversation_title": ...}``. Skipped: nodes
without a message, hidden system messages and messages with no text (images,
empty tool calls). A conversation that is not an object with a ``mapping``, a
branch that loops, or a bad time is a bad record at the conversation's line.
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

FORMAT = "chatgpt"
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "tool": "tool"}


def parse(text: str) -> Parsed:
    return parse_conversations(text, FORMAT, _conversation, "title")


def _branch(mapping: dict[str, Any], current: Any) -> list[dict[str, Any]]:
    """The nodes from the root down to ``current`` (else the last leaf in the mapping)."""
    if current not in mapping:
        leaves = [k for k, n in mapping.items() if isinstance(n, dict) and not n.get("children")]
        current = leaves[-1] if leaves else None
    path: list[dict[str, Any]] = []
    seen: set[str] = set()
    while current is not None:
        if current in seen:
            raise ValueError(f"the mapping loops at node {current!r}")
        seen.add(current)
        node = mapping.get(current)
        if not isinstance(node, dict):
            raise ValueError(f"node {current!r} is missing")
        path.append(node)
        current = node.get("parent")
    return path[::-1]


def _conversation(conv: Any, line: int, out: Parsed) -> list[ImportedMessage]:
    if not isinstance(conv, dict) or not isinstance(conv.get("mapping"), dict):
        raise ValueError("not a conversation (an object with a 'mapping')")
    cid = conv.get("conversation_id") or conv.get("id")
    cid = str(cid) if cid else fallback_id(FORMAT, line, conv.get("title"))
    title = conv.get("title") if isinstance(conv.get("title"), str) else None
    started = timestamp(conv.get("create_time"))
    found: list[ImportedMessage] = []
    for node in _branch(conv["mapping"], conv.get("current_node")):
        msg = node.get("message")
        if not isinstance(msg, dict):
            continue
        author = msg.get("author") or {}
        role = _ROLES.get(str(author.get("role")))
        content = msg.get("content") or {}
        body = text_of(content.get("parts")) if isinstance(content, dict) else ""
        meta = msg.get("metadata") or {}
        hidden = isinstance(meta, dict) and meta.get("is_visually_hidden_from_conversation")
        if role is None or hidden or not body.strip():
            out.skipped += 1
            continue
        name = author.get("name")
        found.append(ImportedMessage(
            id=str(msg.get("id") or node.get("id") or fallback_id(FORMAT, cid, len(found))),
            text=body, role=role, occurred_at=timestamp(msg.get("create_time")) or started,
            line=line, speaker=name if isinstance(name, str) and name else role,
            session_id=cid,
            metadata={"source": FORMAT, **({"conversation_title": title} if title else {})},
        ))
    return found
