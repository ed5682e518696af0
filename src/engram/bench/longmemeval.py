"""LongMemEval loader: the published S / M / oracle JSON layout to a :class:`BenchDataset`.

Each entry of the top-level JSON list is one question with its own haystack::

    {"question_id": "e47becba", "question_type": "single-session-user",
     "question": "...", "answer": "...", "question_date": "2023/05/30 (Tue) 23:40",
     "haystack_session_ids": [...], "haystack_dates": ["2023/05/20 (Sat) 02:21", ...],
     "haystack_sessions": [[{"role": "user", "content": "...", "has_answer": true}, ...], ...],
     "answer_session_ids": [...]}

Every entry becomes one :class:`Conversation` (its own scope). Sessions are
ordered by date (the oracle file is not sorted); turn *i* of a session occurs
*i* seconds after the session's date; turn ids are ``"<session id>#<i>"``.
Gold turns are those with ``has_answer: true``; gold sessions are
``answer_session_ids`` that exist in the haystack (others are reported as
evidence issues). Questions whose id ends in ``_abs`` are abstention
questions (``scored=False``). The file is read incrementally, so ``limit``
keeps memory small even for the multi-gigabyte M file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .dataset import (
    BenchDataset,
    Conversation,
    DatasetError,
    EvidenceIssue,
    Question,
    Session,
    Turn,
    file_sha256,
)

__all__ = ["iter_json_array", "load_longmemeval", "parse_longmemeval_datetime"]

_DATE_RE = re.compile(
    r"^\s*(\d{4})[/-](\d{1,2})[/-](\d{1,2})\s*(?:\([A-Za-z]+\))?\s*(?:(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$"
)
TURN_STEP = timedelta(seconds=1)
QUESTION_DELAY = timedelta(days=1)


def parse_longmemeval_datetime(text: str) -> datetime:
    """Parse ``"2023/05/20 (Sat) 02:21"`` (weekday and time optional) as UTC.

    ISO 8601 text is accepted too. Raises :class:`DatasetError` otherwise.
    """
    m = _DATE_RE.match(str(text))
    try:
        if m:
            y, mo, d, h, mi, s = m.groups()
            return datetime(
                int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tzinfo=UTC
            )
        dt = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise DatasetError(f"unrecognised LongMemEval date {text!r}: {exc}") from exc
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iter_json_array(path: Path, chunk_size: int = 1 << 20) -> Iterator[Any]:
    """Yield the elements of a top-level JSON array one by one, reading incrementally.

    Raises :class:`DatasetError` when the file is not a JSON array.
    """
    decoder = json.JSONDecoder()
    with path.open("r", encoding="utf-8") as fp:
        buf = fp.read(chunk_size)
        pos = 0
        eof = not buf

        def skip_ws(p: int) -> int:
            while p < len(buf) and buf[p] in " \t\r\n":
                p += 1
            return p

        pos = skip_ws(pos)
        if pos >= len(buf) or buf[pos] != "[":
            raise DatasetError(f"{path}: expected a JSON list")
        pos += 1
        first = True
        while True:
            pos = skip_ws(pos)
            while pos >= len(buf) and not eof:
                more = fp.read(chunk_size)
                eof = not more
                buf, pos = buf[pos:] + more, 0
                pos = skip_ws(pos)
            if pos >= len(buf):
                raise DatasetError(f"{path}: truncated JSON list")
            if buf[pos] == "]":
                return
            if not first:
                if buf[pos] != ",":
                    raise DatasetError(f"{path}: malformed JSON list near offset {pos}")
                pos = skip_ws(pos + 1)
            first = False
            while True:
                try:
                    obj, end = decoder.raw_decode(buf, pos)
                    break
                except json.JSONDecodeError as exc:
                    if eof:
                        raise DatasetError(f"{path}: invalid JSON: {exc}") from exc
                    more = fp.read(max(chunk_size, len(buf) - pos))
                    eof = not more
                    buf, pos = buf[pos:] + more, 0
            yield obj
            pos = end
            if pos > chunk_size:
                buf, pos = buf[pos:], 0


def _entry_to_conversation(
    e: dict[str, Any], index: int
) -> tuple[Conversation, list[EvidenceIssue]]:
    qid = str(e.get("question_id") or f"q{index}")
    sessions_raw = e.get("haystack_sessions") or []
    dates_raw = e.get("haystack_dates") or []
    if not isinstance(sessions_raw, list) or len(dates_raw) != len(sessions_raw):
        raise DatasetError(
            f"{qid}: haystack_dates ({len(dates_raw)}) and haystack_sessions "
            f"({len(sessions_raw) if isinstance(sessions_raw, list) else '?'}) differ in length"
        )
    ids_raw = list(e.get("haystack_session_ids") or [])
    if len(ids_raw) != len(sessions_raw):
        ids_raw = [f"session_{i}" for i in range(len(sessions_raw))]
    # unique ids (the same session may appear twice in a haystack)
    ids: list[str] = []
    for sid in map(str, ids_raw):
        new, n = sid, 1
        while new in ids:
            n += 1
            new = f"{sid}~{n}"
        ids.append(new)
    order = sorted(
        range(len(sessions_raw)), key=lambda i: (parse_longmemeval_datetime(dates_raw[i]), i)
    )
    sessions: list[Session] = []
    gold_turns: list[str] = []
    for i in order:
        start = parse_longmemeval_datetime(dates_raw[i])
        turns: list[Turn] = []
        for ti, raw in enumerate(sessions_raw[i] or []):
            if not isinstance(raw, dict):
                continue
            content = raw.get("content")
            text = "" if content is None else str(content).strip()
            if not text:
                continue
            tid = f"{ids[i]}#{ti}"
            turns.append(
                Turn(
                    id=tid,
                    session_id=ids[i],
                    role=str(raw.get("role") or "user"),
                    text=text,
                    occurred_at=start + ti * TURN_STEP,
                )
            )
            if raw.get("has_answer") is True:
                gold_turns.append(tid)
        if turns:
            sessions.append(Session(id=ids[i], started_at=start, turns=tuple(turns)))
    present = {s.id for s in sessions}
    issues: list[EvidenceIssue] = []
    answer_ids = e.get("answer_session_ids")
    gold_sessions: list[str] = []
    if answer_ids is None:
        session_of = {t.id: s.id for s in sessions for t in s.turns}
        gold_sessions = list(dict.fromkeys(session_of[t] for t in gold_turns))
    else:
        for sid in map(str, answer_ids):
            if sid in present:
                if sid not in gold_sessions:
                    gold_sessions.append(sid)
            else:
                issues.append(
                    EvidenceIssue(qid, qid, sid, "skipped", (), "answer session not in haystack")
                )
    if e.get("question_date"):
        asked_at = parse_longmemeval_datetime(e["question_date"])
    elif sessions:
        asked_at = sessions[-1].turns[-1].occurred_at + QUESTION_DELAY
    else:
        raise DatasetError(f"{qid}: no question_date and an empty haystack")
    abstention = qid.endswith("_abs")
    answer = e.get("answer")
    question = Question(
        id=qid,
        conversation_id=qid,
        text=str(e.get("question") or ""),
        answer="" if answer is None else str(answer),
        category=str(e.get("question_type") or "unknown"),
        evidence_turns=tuple(gold_turns),
        evidence_sessions=tuple(gold_sessions),
        asked_at=asked_at,
        scored=not abstention,
        abstention=abstention,
    )
    return Conversation(id=qid, sessions=tuple(sessions), questions=(question,)), issues


def load_longmemeval(path: str | Path, *, limit: int | None = None) -> BenchDataset:
    """Load ``longmemeval_s.json`` / ``_m`` / ``_oracle`` (or a file in that layout).

    ``limit`` keeps only the first *n* questions and stops reading there.
    Raises :class:`DatasetError` for a file that is not that layout.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise DatasetError(f"LongMemEval data not found: {p}")
    convs: list[Conversation] = []
    issues: list[EvidenceIssue] = []
    seen: set[str] = set()
    try:
        for i, entry in enumerate(iter_json_array(p)):
            if limit is not None and len(convs) >= limit:
                break
            if not isinstance(entry, dict) or "question" not in entry:
                raise DatasetError(f"{p}: entry {i} is not a LongMemEval question object")
            try:
                conv, conv_issues = _entry_to_conversation(entry, i)
            except (TypeError, ValueError, AttributeError, KeyError) as exc:
                if isinstance(exc, DatasetError):
                    raise
                raise DatasetError(f"{p}: entry {i} has a malformed field: {exc}") from exc
            if conv.id in seen:
                raise DatasetError(f"{p}: duplicate question_id {conv.id!r}")
            seen.add(conv.id)
            convs.append(conv)
            issues.extend(conv_issues)
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{p}: cannot read: {exc}") from exc
    return BenchDataset("longmemeval", str(p), file_sha256(p), convs, issues)
