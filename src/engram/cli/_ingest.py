"""``engram add --file``: JSONL messages -> validated batches with stable episode ids.

Resumable and idempotent: a message line without its own ``id`` gets one
derived from the file's identity, the target scope (user, agent, session), its
line number and a hash of the line's content (:func:`line_episode_id`). Running
the same file again therefore stores nothing new, and re-running an
interrupted run stores exactly the lines the first run did not reach: each
batch of ``batch_size`` messages is one atomic ``add``.

The file's identity is its resolved absolute path, so lines appended to a file
later are new messages while the earlier ones stay known; standard input has
no path, so its identity is the SHA-256 of the whole input (the same input
piped again is known, a different one is new). A line whose text changes gets
a new id, and the old episode stays.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

__all__ = [
    "Message",
    "batches",
    "group_by_session",
    "line_episode_id",
    "read_messages",
    "stamp",
    "validate_all",
]

#: bump when the inputs of :func:`line_episode_id` change (old ids stay valid as ids)
_ID_SCHEME = "engram-add-file-v1"

Message = dict[str, Any]


@dataclass(frozen=True)
class _Source:
    name: str
    identity: str


def _source(fp: IO[str], text: str) -> _Source:
    if fp.name in ("<stdin>", "-") or not Path(fp.name).is_file():
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return _Source("stdin", f"stdin:sha256:{digest}")
    path = Path(fp.name).resolve()
    return _Source(fp.name, f"file:{path}")


def line_episode_id(identity: str, scope: tuple[str | None, str | None, str | None],
                    line: int, raw: str) -> str:
    """``ep_`` + 26 base32 characters of a hash of (file identity, scope, line number,
    SHA-256 of the line): the same line of the same file into the same scope always
    gets the same id, so adding it again stores nothing new."""
    content = hashlib.sha256(raw.strip().encode("utf-8")).hexdigest()
    key = json.dumps([_ID_SCHEME, identity, *scope, line, content], ensure_ascii=False)
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=20).digest()
    return "ep_" + base64.b32encode(digest).decode("ascii").lower()[:26]


def read_messages(fp: IO[str]) -> tuple[str, list[Message]]:
    """The source name and its JSONL messages (``_line``/``_raw`` added to each).

    Blank lines are skipped; every bad line is named and nothing is returned
    (:class:`~engram.errors.InvalidInput`)."""
    from ..errors import InvalidInput

    text = fp.read()
    src = _source(fp, text)
    out: list[Message] = []
    bad: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(f"line {n}: not JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            bad.append(f"line {n}: not a JSON object")
            continue
        obj["_line"], obj["_raw"], obj["_source"] = n, line, src.identity
        out.append(obj)
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise InvalidInput(f"{src.name}: {len(bad)} bad line(s), nothing added: "
                           f"{'; '.join(bad[:5])}{more}")
    if not out:
        raise InvalidInput(f"{src.name}: no messages")
    return src.name, out


def group_by_session(msgs: list[Message], default: str | None
                     ) -> list[tuple[str | None, list[Message]]]:
    """Consecutive runs of messages with the same ``session_id`` key (else ``default``)."""
    groups: list[tuple[str | None, list[Message]]] = []
    for m in msgs:
        sid = m.pop("session_id", None) or default
        if groups and groups[-1][0] == sid:
            groups[-1][1].append(m)
        else:
            groups.append((sid, [m]))
    return groups


_BOOKKEEPING = frozenset({"_line", "_raw", "_source"})


def body(m: Message) -> Message:
    """The message as ``Engram.add`` takes it (without the bookkeeping keys)."""
    return {k: v for k, v in m.items() if k not in _BOOKKEEPING}


def validate_all(groups: list[tuple[str | None, list[Message]]], user_id: str | None,
                 agent_id: str | None, at: datetime | None, max_bytes: int) -> None:
    """Validate every message before the first write, naming the file line of a bad
    one; a client ``id`` used twice in the file is refused too."""
    from ..errors import InvalidInput
    from ..ingest.segment import to_episodes, to_messages
    from ..models import Scope
    from ..timeutil import now
    from ..validation import make_scope

    first_line: dict[Any, int] = {}
    for sid, msgs in groups:
        sc: Scope = make_scope(None, user_id, agent_id, sid)
        for m in msgs:
            line = m.get("_line")
            where = f"line {line}: " if line else ""
            try:
                to_episodes(to_messages([body(m)]), sc, occurred_at=at, metadata=None,
                            created_at=now(), max_text_bytes=max_bytes)
            except InvalidInput as exc:
                raise type(exc)(f"{where}{str(exc).removeprefix('message 0: ')}") from None
            cid = m.get("id")
            if cid is not None:
                if cid in first_line:
                    raise InvalidInput(f"{where}id {cid!r} already used on line "
                                       f"{first_line[cid]}")
                first_line[cid] = line or 0


def stamp(groups: list[tuple[str | None, list[Message]]], user_id: str | None,
          agent_id: str | None, base: datetime) -> None:
    """Give every file message its stable id (unless it has one) and its event time
    (unless it has one): ``base`` plus a microsecond per position in the file, so
    the order holds across batches."""
    pos = 0
    for sid, msgs in groups:
        for m in msgs:
            if m.get("id") is None:
                m["id"] = line_episode_id(m["_source"], (user_id, agent_id, sid), m["_line"],
                                          m["_raw"])
            if m.get("occurred_at") is None:
                m["occurred_at"] = base + timedelta(microseconds=pos)
            pos += 1


def batches(groups: list[tuple[str | None, list[Message]]], size: int
            ) -> Iterator[tuple[str | None, list[Message]]]:
    """Each session's messages in runs of at most ``size``, in file order."""
    for sid, msgs in groups:
        for i in range(0, len(msgs), size):
            yield sid, [body(m) for m in msgs[i : i + size]]
