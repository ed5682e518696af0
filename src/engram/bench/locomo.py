"""LoCoMo loader: the public ``locomo10.json`` layout to a :class:`BenchDataset`.

Layout (a JSON list, one object per conversation)::

    {"sample_id": "conv-26",
     "conversation": {"speaker_a": "...", "speaker_b": "...",
                      "session_1_date_time": "1:56 pm on 8 May, 2023",
                      "session_1": [{"speaker": "...", "dia_id": "D1:1", "text": "...",
                                     "blip_caption": "..."?}, ...], ...},
     "qa": [{"question": "...", "answer": "...", "evidence": ["D1:3"], "category": 2}, ...]}

What the loader does:

* sessions are ordered by their number; a session's turns get the session's
  date plus *i* seconds for the *i*-th turn (so order is explicit and the
  minute stays the published one); timestamps are read as UTC;
* an image caption is kept as text: ``"<text> [image: <blip_caption>]"``;
* every question is asked one day after the conversation's last turn;
* category 5 (adversarial) questions are loaded with ``scored=False`` and
  ``abstention=True``;
* gold evidence is checked against the conversation's real ``dia_id`` values
  and repaired by :func:`repair_evidence` where the intent is unambiguous;
  everything else is recorded as an :class:`EvidenceIssue` and skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
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

__all__ = [
    "EvidenceRepair",
    "load_locomo",
    "parse_locomo_datetime",
    "repair_evidence",
    "resolve_locomo_path",
]

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}

_DATE_RE = re.compile(
    r"""^\s*
    (?:(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>[ap])\.?\s*m\.?\s*(?:on\s+)?)?
    (?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month>[A-Za-z]+)\.?,?\s+(?P<year>\d{4})
    \s*$""",
    re.VERBOSE | re.IGNORECASE,
)

#: Seconds between consecutive turns of one session (order without inventing minutes).
TURN_STEP = timedelta(seconds=1)
#: How long after the last turn the questions are asked.
QUESTION_DELAY = timedelta(days=1)


def parse_locomo_datetime(text: str) -> datetime:
    """Parse a LoCoMo session time such as ``"1:56 pm on 8 May, 2023"`` as UTC.

    Accepts full or abbreviated month names, an optional comma, and a missing
    time of day (midnight). Raises :class:`DatasetError` for anything else.
    """
    m = _DATE_RE.match(text or "")
    month = _MONTHS.get(m.group("month").lower()) if m else None
    if m is None or month is None:
        raise DatasetError(f"unrecognised LoCoMo date {text!r} (expected '1:56 pm on 8 May, 2023')")
    hour = int(m.group("hour") or 0)
    minute = int(m.group("minute") or 0)
    if m.group("ampm"):
        if not 1 <= hour <= 12:
            raise DatasetError(f"unrecognised LoCoMo date {text!r}: hour {hour}")
        hour = hour % 12 + (12 if m.group("ampm").lower() == "p" else 0)
    try:
        return datetime(int(m.group("year")), month, int(m.group("day")), hour, minute, tzinfo=UTC)
    except ValueError as exc:
        raise DatasetError(f"unrecognised LoCoMo date {text!r}: {exc}") from exc


# --------------------------------------------------------------------------- evidence

_SPLIT_RE = re.compile(r"[;,\s]+")
_ID_RE = re.compile(r"^D\s*:?\s*0*(\d+)\s*[:.\-_]\s*0*(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class EvidenceRepair:
    """Outcome of repairing one raw evidence entry.

    ``ids``: the valid dia_ids recovered (may be empty); ``issue``: ``None``
    when the entry was already a valid id, else a short reason.
    """

    ids: tuple[str, ...]
    issue: str | None


def _canonical(token: str) -> str | None:
    m = _ID_RE.match(token.strip())
    return f"D{int(m.group(1))}:{int(m.group(2))}" if m else None


def repair_evidence(raw: object, valid: Collection[str]) -> EvidenceRepair:
    """Map one raw evidence entry onto existing dia_ids.

    Unambiguous repairs: surrounding whitespace, several ids in one string
    (``"D8:6; D9:17"``, ``"D1:3,D1:4"``), stray or missing separators and zero
    padding (``"D:11:26"`` -> ``"D11:26"``, ``"D1:03"`` -> ``"D1:3"``). Ids that
    are well formed but do not exist, and fragments such as ``"D"``, are not
    guessed: they are dropped and reported. Never raises.
    """
    text = str(raw).strip() if raw is not None else ""
    if text in valid:
        return EvidenceRepair((text,), None)
    parts = [p for p in _SPLIT_RE.split(text) if p]
    # "D 1:3" splits badly; try the whole string as one id first.
    whole = _canonical(text)
    if whole is not None:
        parts = [text]
    if not parts:
        return EvidenceRepair((), "empty evidence entry")
    found: list[str] = []
    dropped: list[str] = []
    for part in parts:
        cid = part if part in valid else _canonical(part)
        if cid is not None and cid in valid:
            if cid not in found:
                found.append(cid)
        else:
            dropped.append(part)
    reasons = []
    if len(parts) > 1:
        reasons.append(f"split into {len(parts)} ids")
    if found and (len(parts) == 1):
        reasons.append(f"normalised to {found[0]}")
    if dropped:
        unknown = [p for p in dropped if _canonical(p) is not None]
        malformed = [p for p in dropped if _canonical(p) is None]
        if unknown:
            reasons.append("no such turn: " + ", ".join(unknown))
        if malformed:
            reasons.append("not a turn id: " + ", ".join(repr(p) for p in malformed))
    return EvidenceRepair(tuple(found), "; ".join(reasons))


def _repair_all(
    raw_list: object, valid: Collection[str], conv_id: str, qid: str
) -> tuple[tuple[str, ...], list[EvidenceIssue]]:
    if raw_list is None:
        entries: list[object] = []
    elif isinstance(raw_list, str | int):
        entries = [raw_list]
    elif isinstance(raw_list, list):
        entries = list(raw_list)
    else:
        entries = [raw_list]
    ids: list[str] = []
    issues: list[EvidenceIssue] = []
    for raw in entries:
        rep = repair_evidence(raw, valid)
        if rep.issue is not None:
            issues.append(
                EvidenceIssue(
                    conversation_id=conv_id,
                    question_id=qid,
                    raw=str(raw),
                    action="repaired" if rep.ids else "skipped",
                    result=rep.ids,
                    reason=rep.issue,
                )
            )
        ids.extend(i for i in rep.ids if i not in ids)
    return tuple(ids), issues


# --------------------------------------------------------------------------- loading


def resolve_locomo_path(path: str | Path) -> Path:
    """A LoCoMo file, or a directory holding one (``locomo10.json``, else a single ``*.json``)."""
    p = Path(path).expanduser()
    if p.is_dir():
        for name in ("locomo10.json", "locomo_dev.json"):
            if (p / name).is_file():
                return p / name
        found = sorted(p.glob("*.json"))
        if len(found) == 1:
            return found[0]
        raise DatasetError(
            f"{p}: expected one LoCoMo JSON file in the directory, found {len(found)}"
        )
    if not p.is_file():
        raise DatasetError(f"LoCoMo data not found: {p}")
    return p


def _session_numbers(conv: dict[str, Any]) -> list[int]:
    nums = []
    for key in conv:
        m = re.fullmatch(r"session_(\d+)", key)
        if m:
            nums.append(int(m.group(1)))
    return sorted(nums)


def _turn_text(raw: dict[str, Any]) -> str:
    text = str(raw.get("text") or "").strip()
    caption = raw.get("blip_caption")
    if caption:
        text = f"{text} [image: {str(caption).strip()}]".strip()
    return text


def _load_conversation(
    obj: dict[str, Any], index: int, seen_ids: set[str]
) -> tuple[Conversation, list[EvidenceIssue]]:
    if not isinstance(obj, dict) or not isinstance(obj.get("conversation"), dict):
        raise DatasetError(f"entry {index}: not a LoCoMo conversation object")
    conv_id = str(obj.get("sample_id") or f"conv-{index}")
    base, n = conv_id, 1
    while conv_id in seen_ids:
        n += 1
        conv_id = f"{base}~{n}"
    seen_ids.add(conv_id)
    conv = obj["conversation"]
    speakers = tuple(str(conv[k]) for k in ("speaker_a", "speaker_b") if conv.get(k))
    sessions: list[Session] = []
    used_turn_ids: set[str] = set()
    for num in _session_numbers(conv):
        raw_turns = conv.get(f"session_{num}") or []
        if not isinstance(raw_turns, list) or not raw_turns:
            continue
        date_text = conv.get(f"session_{num}_date_time")
        if not date_text:
            raise DatasetError(f"{conv_id}: session_{num} has turns but no session_{num}_date_time")
        start = parse_locomo_datetime(str(date_text))
        sid = f"session_{num}"
        turns: list[Turn] = []
        for i, rt in enumerate(raw_turns):
            if not isinstance(rt, dict):
                continue
            text = _turn_text(rt)
            if not text:
                continue
            tid = str(rt.get("dia_id") or f"D{num}:{i + 1}")
            if tid in used_turn_ids:
                tid = f"{tid}~{i + 1}"
            used_turn_ids.add(tid)
            turns.append(
                Turn(
                    id=tid,
                    session_id=sid,
                    role="user",
                    text=text,
                    occurred_at=start + i * TURN_STEP,
                    speaker=str(rt["speaker"]) if rt.get("speaker") else None,
                )
            )
        if turns:
            sessions.append(Session(id=sid, started_at=start, turns=tuple(turns)))
    if not sessions:
        raise DatasetError(f"{conv_id}: no sessions with turns")
    asked_at = sessions[-1].turns[-1].occurred_at + QUESTION_DELAY
    session_of = {t.id: s.id for s in sessions for t in s.turns}
    questions: list[Question] = []
    issues: list[EvidenceIssue] = []
    for qi, qa in enumerate(obj.get("qa") or []):
        if not isinstance(qa, dict) or not qa.get("question"):
            continue
        qid = f"{conv_id}/q{qi}"
        evidence, q_issues = _repair_all(qa.get("evidence"), session_of.keys(), conv_id, qid)
        issues.extend(q_issues)
        category = str(qa.get("category", ""))
        adversarial = category == "5"
        answer = qa.get("answer")
        adv = qa.get("adversarial_answer")
        questions.append(
            Question(
                id=qid,
                conversation_id=conv_id,
                text=str(qa["question"]),
                answer="" if answer is None else str(answer),
                category=category,
                evidence_turns=evidence,
                evidence_sessions=tuple(dict.fromkeys(session_of[t] for t in evidence)),
                asked_at=asked_at,
                scored=not adversarial,
                abstention=adversarial,
                adversarial_answer=None if adv is None else str(adv),
            )
        )
    return (
        Conversation(
            id=conv_id, sessions=tuple(sessions), questions=tuple(questions), speakers=speakers
        ),
        issues,
    )


def load_locomo(path: str | Path) -> BenchDataset:
    """Load a file in the ``locomo10.json`` layout (or a directory holding one).

    Raises :class:`DatasetError` when the file is not that layout; malformed
    evidence never raises (see :func:`repair_evidence`).
    """
    p = resolve_locomo_path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{p}: cannot read LoCoMo JSON: {exc}") from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise DatasetError(f"{p}: expected a JSON list of conversations")
    convs: list[Conversation] = []
    issues: list[EvidenceIssue] = []
    seen: set[str] = set()
    for i, obj in enumerate(data):
        conv, conv_issues = _load_conversation(obj, i, seen)
        convs.append(conv)
        issues.extend(conv_issues)
    return BenchDataset("locomo", str(p), file_sha256(p), convs, issues)
