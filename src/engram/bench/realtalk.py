"""REALTALK loader: real human messaging chats (``Chat_*.json``) to a :class:`BenchDataset`.

Layout (one JSON object per chat, close to LoCoMo's but without the
``conversation`` wrapper or a ``sample_id``)::

    {"name": {"speaker_1": "Emi", "speaker_2": "elise"},
     "session_1": [{"clean_text": "...", "speaker": "Emi", "date_time": "29.12.2023, 22:42:04",
                    "dia_id": "D1:1", "blip_caption": "..."?}, ...],
     "session_1_date_time": "29.12.2023, 22:42:04", "events_session_1": ...,
     "qa": [{"question": "...", "answer": "...", "evidence": ["D1:6", "D12:3-D12:5"],
             "category": 1}, ...]}

What the loader does:

* the chat id is the file name without ``.json`` (``Chat_1_Emi_Elise``); a
  directory loads every ``Chat_*.json`` in it, in name order;
* every turn keeps its own ``date_time`` (day.month.year, read as UTC); a
  turn without one gets its session's time plus *i* seconds; an image caption
  is kept as text (``"<text> [image: <caption>]"``);
* evidence ranges (``"D12:3-D12:5"``, also ``"D12:3-5"``) are expanded to
  every turn between the two ends; then each id is checked and repaired as
  for LoCoMo (:func:`.locomo.repair_evidence`); ids that do not exist are
  skipped and counted (about 8% of REALTALK's ids);
* categories are 1 multi-hop, 2 temporal, 3 commonsense; all are scored;
* questions are asked one day after the chat's last turn.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
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
    combined_sha256,
    file_sha256,
)
from .locomo import QUESTION_DELAY, TURN_STEP, _repair_all, _turn_text

__all__ = ["expand_ranges", "load_realtalk", "parse_realtalk_datetime"]

_DT_RE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_RANGE_RE = re.compile(
    r"^\s*D\s*(\d+)\s*:\s*(\d+)\s*[-\u2013]\s*(?:D\s*(\d+)\s*:\s*)?(\d+)\s*$", re.IGNORECASE
)


def parse_realtalk_datetime(text: str) -> datetime:
    """Parse ``"29.12.2023, 22:42:04"`` (day first) as UTC; :class:`DatasetError` otherwise."""
    m = _DT_RE.match(text or "")
    if m is None:
        raise DatasetError(f"unrecognised REALTALK date {text!r} (expected '29.12.2023, 22:42:04')")
    day, month, year, hour, minute, sec = (int(g or 0) for g in m.groups())
    try:
        return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)
    except ValueError as exc:
        raise DatasetError(f"unrecognised REALTALK date {text!r}: {exc}") from exc


def expand_ranges(raw: object) -> list[object]:
    """Evidence entries with every range ``"D12:3-D12:5"`` / ``"D12:3-5"`` expanded.

    A range across sessions (``"D3:9-D4:2"``) or running backwards is left as
    it is, so the repair step reports it as not a turn id.
    """
    entries = raw if isinstance(raw, list) else [] if raw is None else [raw]
    out: list[object] = []
    for entry in entries:
        m = _RANGE_RE.match(str(entry)) if isinstance(entry, str) else None
        if m is None:
            out.append(entry)
            continue
        sess, first, sess2, last = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
        if (sess2 is not None and int(sess2) != int(sess)) or last < first:
            out.append(entry)
            continue
        out.extend(f"D{int(sess)}:{i}" for i in range(first, last + 1))
    return out


def _session_numbers(chat: dict[str, Any]) -> list[int]:
    return sorted(int(m.group(1)) for k in chat if (m := re.fullmatch(r"session_(\d+)", k)))


def _load_chat(chat: Any, chat_id: str) -> tuple[Conversation, list[EvidenceIssue]]:
    if not isinstance(chat, dict) or not isinstance(chat.get("qa"), list):
        raise DatasetError(f"{chat_id}: not a REALTALK chat object (no 'qa' list)")
    names = chat.get("name")
    names = names if isinstance(names, dict) else {}
    speakers = tuple(str(v) for v in names.values() if v)
    sessions: list[Session] = []
    used: set[str] = set()
    last: datetime | None = None
    for num in _session_numbers(chat):
        raw_turns = chat.get(f"session_{num}")
        if not isinstance(raw_turns, list) or not raw_turns:
            continue
        sid = f"session_{num}"
        start_text = chat.get(f"session_{num}_date_time")
        first = next((t.get("date_time") for t in raw_turns if isinstance(t, dict)), None)
        start_raw = start_text or first
        if not start_raw:
            raise DatasetError(f"{chat_id}: {sid} has no date")
        start = parse_realtalk_datetime(str(start_raw))
        turns: list[Turn] = []
        for i, rt in enumerate(raw_turns):
            if not isinstance(rt, dict):
                continue
            text = _turn_text({"text": rt.get("clean_text", rt.get("text")),
                               "blip_caption": rt.get("blip_caption")})
            if not text:
                continue
            tid = str(rt.get("dia_id") or f"D{num}:{i + 1}")
            if tid in used:
                tid = f"{tid}~{i + 1}"
            used.add(tid)
            when = parse_realtalk_datetime(rt["date_time"]) if rt.get("date_time") else None
            at = when or start + i * TURN_STEP
            if last is not None and at <= last:  # keep the published order explicit
                at = last + TURN_STEP
            last = at
            speaker = str(rt["speaker"]) if rt.get("speaker") else None
            turns.append(Turn(tid, sid, "user", text, at, speaker))
        if turns:
            sessions.append(Session(sid, turns[0].occurred_at, tuple(turns)))
    if not sessions:
        raise DatasetError(f"{chat_id}: no sessions with turns")
    asked_at = sessions[-1].turns[-1].occurred_at + QUESTION_DELAY
    session_of = {t.id: s.id for s in sessions for t in s.turns}
    questions: list[Question] = []
    issues: list[EvidenceIssue] = []
    for qi, qa in enumerate(chat["qa"]):
        if not isinstance(qa, dict) or not qa.get("question"):
            continue
        qid = f"{chat_id}/q{qi}"
        evidence, q_issues = _repair_all(
            expand_ranges(qa.get("evidence")), session_of.keys(), chat_id, qid
        )
        issues.extend(q_issues)
        questions.append(
            Question(
                id=qid,
                conversation_id=chat_id,
                text=str(qa["question"]),
                answer=str(qa.get("answer") or ""),
                category=str(qa.get("category", "")),
                evidence_turns=evidence,
                evidence_sessions=tuple(dict.fromkeys(session_of[t] for t in evidence)),
                asked_at=asked_at,
            )
        )
    conv = Conversation(chat_id, tuple(sessions), tuple(questions), speakers)
    return conv, issues


def load_realtalk(path: str | Path) -> BenchDataset:
    """Load one REALTALK chat file, or every ``Chat_*.json`` of a directory.

    Raises :class:`DatasetError` when nothing there is a REALTALK chat; bad
    evidence never raises (it is repaired or skipped and counted).
    """
    p = Path(path).expanduser()
    files = sorted(p.glob("Chat_*.json")) if p.is_dir() else [p]
    if not files or not all(f.is_file() for f in files):
        raise DatasetError(f"REALTALK data not found: {p}")
    convs: list[Conversation] = []
    issues: list[EvidenceIssue] = []
    hashes: list[str] = []
    for f in files:
        try:
            chat = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{f}: cannot read REALTALK JSON: {exc}") from exc
        conv, conv_issues = _load_chat(chat, f.stem)
        convs.append(conv)
        issues.extend(conv_issues)
        hashes.append(file_sha256(f))
    return BenchDataset("realtalk", str(p), combined_sha256(hashes), convs, issues)
