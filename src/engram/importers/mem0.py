"""mem0 memories: the JSON ``get_all`` returns, in either flavour.

* open source ``Memory.get_all(...)``: ``{"results": [...]}`` (``"relations"``
  beside it, from the graph store, is left out), or a bare list (older versions);
* platform ``MemoryClient.get_all(...)``: a list, or a page
  ``{"count", "next", "previous", "results": [...]}``.

Each memory: ``{"id", "memory", "user_id", "agent_id", "run_id", "app_id",
"metadata", "categories", "created_at", "updated_at", "hash"}``.

Imported as Engram memories (kind ``fact``; mem0 keeps no source messages),
keeping mem0's ``id``, ``created_at``/``updated_at`` and owner (``user_id``,
``agent_id``; ``run_id`` becomes ``session_id``) unless the import names a
target user or agent; metadata ``{"source": "mem0", "mem0": {metadata,
categories, hash, app_id}}``. A memory without an ``id`` or text, or with a bad
time, is a bad record at its line.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ImportFormatError
from ._base import BadRecord, ImportedMemory, Parsed, json_document, json_elements, timestamp

__all__ = ["parse"]

FORMAT = "mem0"
_RESULTS = re.compile(r'"results"\s*:\s*(?=\[)')


def parse(text: str) -> Parsed:
    doc = json_document(text, FORMAT)
    if isinstance(doc, dict) and isinstance(doc.get("results"), list):
        found = _RESULTS.search(text)
        start = found.end() if found else 0
    elif isinstance(doc, list):
        start = 0
    else:
        raise ImportFormatError(f"{FORMAT}: expected get_all output: a list of memories "
                                'or {"results": [...]}', [(1, "not a mem0 export")])
    out = Parsed(FORMAT)
    for line, rec in json_elements(text, FORMAT, start, "memories"):
        try:
            out.memories.append(_memory(rec, line))
        except (ValueError, TypeError) as exc:
            out.bad.append(BadRecord(line, str(exc)))
    return out


def _opt(rec: dict[str, Any], key: str) -> str | None:
    value = rec.get(key)
    return str(value) if value not in (None, "") else None


def _memory(rec: Any, line: int) -> ImportedMemory:
    if not isinstance(rec, dict):
        raise ValueError("not a memory object")
    mid, text = rec.get("id"), rec.get("memory")
    if not isinstance(mid, str) or not mid.strip():
        raise ValueError("memory without an 'id'")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"memory {mid}: no 'memory' text")
    extra = {k: rec[k] for k in ("metadata", "categories", "hash", "app_id")
             if rec.get(k) not in (None, "", [], {})}
    return ImportedMemory(
        id=mid, text=text, kind="fact", created_at=timestamp(rec.get("created_at")),
        updated_at=timestamp(rec.get("updated_at")), line=line,
        session_id=_opt(rec, "run_id"), user_id=_opt(rec, "user_id"),
        agent_id=_opt(rec, "agent_id"),
        metadata={"source": FORMAT, **({"mem0": extra} if extra else {})},
    )
