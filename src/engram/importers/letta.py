"""Letta (MemGPT) agent files (``.af``): conversation and core memory blocks.

Two layouts are read:

* current: ``{"agents": [{"name", "id", "messages": [...], "block_ids": [...]}],
  "blocks": [{"id", "label", "value", "description"}], ...}``;
* earlier: one agent at the top level, ``{"name", "messages": [...],
  "core_memory": [{"label", "value", ...}]}``.

A message is ``{"id", "role", "content": [{"type": "text", "text"}] (or "text"),
"tool_calls", "created_at"}``. Imported as episodes, one session per agent
(``session_id`` = the agent's name): user messages (Letta's JSON wrapper
``{"type": "user_message", "message": ...}`` unwrapped) and what the agent said
(the ``send_message`` tool call's ``message``, else its text); system prompts,
tool returns, heartbeats, login events and inner thoughts behind a tool call
are skipped. Core memory blocks become memories (``human``: kind ``fact``; other
labels: ``note``), not tied to a session, with metadata ``{"source": "letta", "letta_label": ...}``.

Agent files number their ids per file (``message-0``, ``block-0``), so Engram
ids are made from the agent's name, the original id and the content
(:func:`~engram.importers._base.fallback_id`); the original id is kept in
metadata as ``source_id``. A record's line is where its id first appears.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import ImportFormatError
from ._base import (
    BadRecord,
    ImportedMemory,
    ImportedMessage,
    Parsed,
    fallback_id,
    json_document,
    line_of,
    text_of,
    timestamp,
)

__all__ = ["parse"]

FORMAT = "letta"
_SKIP_USER_EVENTS = {"heartbeat", "login", "system_alert", "system_message"}


def parse(text: str) -> Parsed:
    doc = json_document(text, FORMAT)
    if not isinstance(doc, dict):
        raise ImportFormatError(f"{FORMAT}: an agent file is a JSON object",
                                [(1, "not a JSON object")])
    listed = doc.get("agents")
    agents: list[Any] = listed if isinstance(listed, list) else [doc]
    if not all(isinstance(a, dict) and isinstance(a.get("messages", []), list)
               for a in agents) or not any("messages" in a for a in agents):
        raise ImportFormatError(f"{FORMAT}: no agent with 'messages' in the file",
                                [(1, "not a Letta agent file")])
    blocks = {b.get("id"): b for b in doc.get("blocks") or [] if isinstance(b, dict)}
    out = Parsed(FORMAT)
    for agent in agents:
        name = str(agent.get("name") or agent.get("id") or "letta-agent")
        for msg in agent.get("messages") or []:
            _message(text, name, msg, out)
        own = [blocks[i] for i in agent.get("block_ids") or [] if i in blocks]
        own += [b for b in agent.get("core_memory") or [] if isinstance(b, dict)]
        for block in own:
            _block(text, name, block, out)
    return out


def _where(text: str, rid: Any) -> int:
    pos = text.find(json.dumps(rid)) if rid is not None else -1
    return line_of(text, pos) if pos >= 0 else 1


def _said(msg: dict[str, Any]) -> str:
    """What the agent said: ``send_message``'s argument, else its text."""
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict) and fn.get("name") == "send_message":
            args = fn.get("arguments")
            args = json.loads(args) if isinstance(args, str) else args
            if isinstance(args, dict) and isinstance(args.get("message"), str):
                return str(args["message"])
    if msg.get("tool_calls"):
        return ""  # inner thoughts before a tool call: not said to anyone
    return text_of(msg.get("content")) or str(msg.get("text") or "")


def _heard(msg: dict[str, Any]) -> str:
    """What the user said, with Letta's JSON event wrapper removed."""
    body = text_of(msg.get("content")) or str(msg.get("text") or "")
    try:
        event = json.loads(body)
    except ValueError:
        return body
    if isinstance(event, dict) and "type" in event:
        if event.get("type") in _SKIP_USER_EVENTS:
            return ""
        return str(event.get("message") or "")
    return body


def _message(text: str, agent: str, msg: Any, out: Parsed) -> None:
    rid = msg.get("id") if isinstance(msg, dict) else None
    line = _where(text, rid)
    try:
        if not isinstance(msg, dict):
            raise ValueError("message is not an object")
        role = msg.get("role")
        if role not in ("user", "assistant", "system", "tool"):
            raise ValueError(f"message {rid}: unknown role {role!r}")
        body = _heard(msg) if role == "user" else _said(msg) if role == "assistant" else ""
        when = timestamp(msg.get("created_at"))
        if not body.strip():
            out.skipped += 1
            return
        out.messages.append(ImportedMessage(
            id=fallback_id(FORMAT, agent, rid, msg.get("created_at"), body), text=body,
            role=str(role), occurred_at=when, line=line,
            speaker=msg.get("name") or (agent if role == "assistant" else None),
            session_id=agent, metadata={"source": FORMAT, "source_id": rid}))
    except (ValueError, TypeError) as exc:
        out.bad.append(BadRecord(line, str(exc)))


def _block(text: str, agent: str, block: dict[str, Any], out: Parsed) -> None:
    value, label = block.get("value"), str(block.get("label") or "block")
    line = _where(text, block.get("id")) if block.get("id") else _where(text, value)
    if not isinstance(value, str):
        out.bad.append(BadRecord(line, f"block {label!r}: no text value"))
        return
    if not value.strip():
        out.skipped += 1
        return
    try:
        when = timestamp(block.get("updated_at") or block.get("created_at"))
    except ValueError as exc:
        out.bad.append(BadRecord(line, f"block {label!r}: {exc}"))
        return
    out.memories.append(ImportedMemory(
        id=fallback_id(FORMAT, agent, "block", label, value), text=value.strip(),
        kind="fact" if label == "human" else "note", created_at=when, line=line,
        metadata={"source": FORMAT, "letta_label": label, "source_id": block.get("id")}))
