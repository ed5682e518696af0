"""Importers: memories and conversations from elsewhere, into Engram.

``engram import --from FORMAT FILE --user ID`` on the command line, or::

    from engram.importers import import_file
    summary = import_file(eg, "chatgpt", "conversations.json", user_id="ana")

Formats (one module each, found through :data:`FORMATS`, the one registry):

=============  ===========================================  =====================
format         file                                         becomes
=============  ===========================================  =====================
``chatgpt``    ChatGPT export ``conversations.json``        episodes
``claude``     Claude export ``conversations.json``         episodes
``mem0``       mem0 ``get_all`` JSON (open source/platform)  memories
``letta``      Letta/MemGPT agent file ``.af``              episodes + memories
``jsonl``      JSON Lines of messages                       episodes
``csv``        CSV of messages, with a header row           episodes
=============  ===========================================  =====================

Every importer keeps the source's ids (Letta's per-file ids are kept in metadata,
see :mod:`.letta`), times and speakers; a conversation becomes a ``session_id``.
Messages are stored with :meth:`Engram.add` (so memories are derived from them,
unless ``derive=False``), memories with :meth:`Engram.import_`, both idempotent by
id: importing a file again stores nothing new, and an interrupted import can be
run again. Ids are unique per tenant, so a file is imported into one scope.

Bad records (a message with no text, a bad time, a text over the size limit...)
are reported by line. By default any bad record stops the import before anything
is written (:class:`~engram.errors.ImportFormatError` listing them); with
``skip_bad=True`` the others are imported and the bad ones are listed in the
summary. A file that is not in the format at all is always an error. Records
left out on purpose (empty or hidden messages, system prompts) are counted as
``skipped``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..engine import Engram
from ..errors import EngramError, ImportFormatError, InvalidInput, ScopeRequired
from ..models import Message, Scope
from ..timeutil import format_dt, now
from ..validation import check_id, check_text, make_scope
from . import chatgpt, claude, letta, mem0, messages
from ._base import BadRecord, ImportedMemory, ImportedMessage, Parsed

__all__ = [
    "FORMATS",
    "BadRecord",
    "ImportSummary",
    "Parsed",
    "Plan",
    "import_file",
    "parse",
    "prepare",
    "write",
]

#: format name -> parser of the file's text (the registry)
FORMATS: dict[str, Callable[[str], Parsed]] = {
    "chatgpt": chatgpt.parse,
    "claude": claude.parse,
    "mem0": mem0.parse,
    "letta": letta.parse,
    "jsonl": messages.parse_jsonl,
    "csv": messages.parse_csv,
}
MAX_REPORTED = 20


@dataclass
class ImportSummary:
    """What an import did: counts per kind, records left out, bad records by line."""

    format: str
    messages_created: int = 0
    messages_existing: int = 0
    memories_created: int = 0
    memories_existing: int = 0
    skipped: int = 0
    bad: list[BadRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "messages_created": self.messages_created,
                "messages_existing": self.messages_existing,
                "memories_created": self.memories_created,
                "memories_existing": self.memories_existing, "skipped": self.skipped,
                "bad": [{"line": b.line, "reason": b.reason} for b in self.bad]}


def parse(fmt: str, source: str | Path | IO[str]) -> Parsed:
    """Read ``source`` (a path or an open text file) in format ``fmt``; writes nothing.

    Unknown format: :class:`~engram.errors.InvalidInput` naming the known ones; a file
    that is not in the format: :class:`~engram.errors.ImportFormatError`."""
    parser = FORMATS.get(fmt)
    if parser is None:
        raise InvalidInput(f"unknown import format {fmt!r}; formats: {', '.join(FORMATS)}")
    if isinstance(source, (str, Path)):
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {source}: {exc}") from None
    else:
        text = source.read()
    return parser(text)


def _scope(rec: ImportedMessage | ImportedMemory, user_id: str | None,
           agent_id: str | None) -> Scope:
    if user_id or agent_id:
        return make_scope(None, user_id, agent_id, rec.session_id)
    return make_scope(None, rec.user_id, rec.agent_id, rec.session_id)


def _check(parsed: Parsed, max_bytes: int, user_id: str | None, agent_id: str | None
           ) -> tuple[list[tuple[Scope, ImportedMessage]], list[tuple[Scope, ImportedMemory]]]:
    """Every record with its scope, after the checks ``add``/``import_`` would make
    (bad ones join ``parsed.bad``), so no write fails half-way on a bad record."""
    def ok(rec: ImportedMessage | ImportedMemory) -> Scope | None:
        if not (user_id or agent_id or rec.user_id or rec.agent_id):
            raise ScopeRequired(f"{parsed.format} records name no owner: give a user_id "
                                "or an agent_id to import them into")
        try:
            check_id(rec.id, "id")
            check_text(rec.text, max_bytes)
            return _scope(rec, user_id, agent_id)
        except EngramError as exc:
            parsed.bad.append(BadRecord(rec.line, f"{rec.id}: {exc}"))
            return None

    msgs = [(sc, m) for m in parsed.messages if (sc := ok(m)) is not None]
    mems = [(sc, m) for m in parsed.memories if (sc := ok(m)) is not None]
    parsed.bad.sort(key=lambda b: b.line)
    return msgs, mems


def _runs(msgs: list[tuple[Scope, ImportedMessage]], size: int
          ) -> Iterator[tuple[Scope, list[ImportedMessage]]]:
    """Consecutive messages of one scope (conversation), at most ``size`` at a time."""
    run: list[ImportedMessage] = []
    current: Scope | None = None
    for sc, m in msgs:
        if run and (sc != current or len(run) >= size):
            assert current is not None
            yield current, run
            run = []
        current = sc
        run.append(m)
    if run and current is not None:
        yield current, run


def _memory_records(fmt: str, mems: list[tuple[Scope, ImportedMemory]]) -> Iterator[str]:
    """Engram export records (see :mod:`engram.transfer`) for the memories, each with
    its first history entry."""
    at = now()
    for sc, m in mems:
        created = m.created_at or at
        record = {"type": "memory", "id": m.id, **sc.to_dict(), "kind": m.kind,
                  "text": m.text, "created_at": format_dt(created),
                  "updated_at": format_dt(max(m.updated_at or created, created)),
                  "metadata": m.metadata, "status": "active", "version": 1}
        yield json.dumps(record)
        yield json.dumps({"type": "version", "tenant": sc.tenant, "memory_id": m.id,
                          "version": 1, "operation": "ADD", "before": None,
                          "after": record, "reason": f"imported from {fmt}",
                          "recorded_at": format_dt(created)})


@dataclass
class Plan:
    """A parsed and checked file, ready to write: the records with their scopes."""

    format: str
    messages: list[tuple[Scope, ImportedMessage]]
    memories: list[tuple[Scope, ImportedMemory]]
    skipped: int
    bad: list[BadRecord]

    @property
    def total(self) -> int:
        return len(self.messages) + len(self.memories)


def prepare(fmt: str, source: str | Path | IO[str], *, max_text_bytes: int,
            user_id: str | None = None, agent_id: str | None = None,
            skip_bad: bool = False) -> Plan:
    """Parse and check ``source`` without writing (see :func:`import_file`): raises
    :class:`~engram.errors.ImportFormatError` listing bad records unless ``skip_bad``."""
    parsed = parse(fmt, source)
    msgs, mems = _check(parsed, max_text_bytes, user_id, agent_id)
    if parsed.bad and not skip_bad:
        shown = "; ".join(str(b) for b in parsed.bad[:5])
        more = f" (and {len(parsed.bad) - 5} more)" if len(parsed.bad) > 5 else ""
        raise ImportFormatError(
            f"{fmt}: {len(parsed.bad)} bad record(s), nothing imported: {shown}{more}",
            [(b.line, b.reason) for b in parsed.bad[:MAX_REPORTED]])
    return Plan(fmt, msgs, mems, parsed.skipped, parsed.bad)


def write(eg: Engram, plan: Plan, *, batch_size: int = 200, derive: bool = True,
          progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Store a :class:`Plan`: messages with :meth:`Engram.add` in runs of one
    conversation (at most ``batch_size`` each), then memories with
    :meth:`Engram.import_`; ``progress(n)`` after each stored batch."""
    if not isinstance(batch_size, int) or not 1 <= batch_size <= 10_000:
        raise InvalidInput("batch_size must be an integer between 1 and 10000")
    summary = ImportSummary(plan.format, skipped=plan.skipped, bad=plan.bad)
    for sc, run in _runs(plan.messages, batch_size):
        res = eg.add([Message(text=m.text, role=m.role, speaker=m.speaker,
                              occurred_at=m.occurred_at, id=m.id, metadata=m.metadata)
                      for m in run], scope=sc, derive=derive)
        created = sum(e.created for e in res.episodes)
        summary.messages_created += created
        summary.messages_existing += len(run) - created
        if progress is not None:
            progress(len(run))
    if plan.memories:
        report = eg.import_(list(_memory_records(plan.format, plan.memories)),
                            batch_size=batch_size * 2)
        summary.memories_created = report.memories_created
        summary.memories_existing = report.memories_existing
        if progress is not None:
            progress(len(plan.memories))
    return summary


def import_file(eg: Engram, fmt: str, source: str | Path | IO[str], *,
                user_id: str | None = None, agent_id: str | None = None,
                batch_size: int = 200, skip_bad: bool = False, derive: bool = True,
                progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Import ``source`` in format ``fmt`` into ``eg`` (see the module docstring):
    :func:`prepare`, then :func:`write`.

    ``user_id``/``agent_id`` name the target scope (required unless every record
    names its own, as mem0's do). ``progress(n)`` is called after each stored batch
    with the number of records it held. Returns an :class:`ImportSummary`."""
    plan = prepare(fmt, source, max_text_bytes=eg.config.max_text_bytes, user_id=user_id,
                   agent_id=agent_id, skip_bad=skip_bad)
    return write(eg, plan, batch_size=batch_size, derive=derive, progress=progress)
