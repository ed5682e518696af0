"""BEAM loader: long user-assistant chats (100K and 500K tokens) to a :class:`BenchDataset`.

Layout (one folder per chat, ``<root>/100K/1`` ... ``<root>/500K/8``)::

    chat.json: [{"batch_number": 1, "time_anchor": null,
                 "turns": [[{"role": "user", "id": 0, "content": "...",
                             "time_anchor": "March-15-2024"?}, ...], ...]}, ...]
    probing_questions/probing_questions.json:
        {"<question type>": [{"question": "...", "answer"|"ideal_answer"|...: "...",
                              "source_chat_ids": [28] | {"original_info": [86],
                                                        "updated_info": [114]}}, ...]}

What the loader does:

* the chat id is ``"<size>/<folder>"`` (``"100K/1"``); ``sizes`` picks which of
  ``100K`` / ``500K`` are read;
* each inner list of ``turns`` is one session (``"b<batch>s<n>"``); every message
  keeps its role (also its speaker) and its ``id`` as the turn id;
* times: a message's ``time_anchor`` (``March-15-2024``) starts a new day; the
  messages after it follow one minute apart until the next anchor (a chat with
  no anchor starts on 1 January 2024); questions are asked a day after the
  last message;
* all ten question types are loaded (the type is the category); evidence is
  ``source_chat_ids``; for ``knowledge_update`` the ``updated_info`` ids are the
  evidence and the ``original_info`` ids the stale turns
  (:attr:`Question.stale_turns`), but an original that is the updated message
  itself is skipped and counted (a message cannot rank above itself; with no
  other original the question is not scored as an update); other objects (``first_event`` /
  ``second_event``, ``first_statement`` / ``second_statement``) and nested
  lists give all the ids they hold; ids that name no message are skipped and
  counted; ``abstention`` questions (no evidence by design) are kept apart
  (``scored=False``);
* the answer is the first of ``answer``, ``ideal_answer``, ``ideal_response``,
  ``ideal_summary`` that is present.
"""

from __future__ import annotations

import json
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
    combined_sha256,
    file_sha256,
)

__all__ = ["QUESTION_TYPES", "load_beam", "parse_beam_anchor"]

#: BEAM's ten probing-question types
QUESTION_TYPES: tuple[str, ...] = (
    "abstention",
    "contradiction_resolution",
    "event_ordering",
    "information_extraction",
    "instruction_following",
    "knowledge_update",
    "multi_session_reasoning",
    "preference_following",
    "summarization",
    "temporal_reasoning",
)
_ANSWER_KEYS = ("answer", "ideal_answer", "ideal_response", "ideal_summary")
_STEP = timedelta(minutes=1)
_START = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
_DELAY = timedelta(days=1)


def parse_beam_anchor(text: str) -> datetime | None:
    """``"March-15-2024"`` as 09:00 UTC that day; ``None`` when it is not such a date."""
    try:
        return datetime.strptime(str(text).strip(), "%B-%d-%Y").replace(hour=9, tzinfo=UTC)
    except ValueError:
        return None


def _chat_dirs(root: Path, sizes: tuple[str, ...]) -> list[tuple[str, Path]]:
    if (root / "chat.json").is_file():
        return [(f"{root.parent.name}/{root.name}", root)]
    out: list[tuple[str, Path]] = []
    for size in sizes:
        base = root / size
        if not base.is_dir():
            continue
        folders = [d for d in base.iterdir() if (d / "chat.json").is_file()]
        for d in sorted(folders, key=lambda d: (not d.name.isdigit(), int(d.name) if
                                                d.name.isdigit() else 0, d.name)):
            out.append((f"{size}/{d.name}", d))
    return out


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read BEAM JSON: {exc}") from exc


def _sessions(chat_id: str, batches: Any) -> list[Session]:
    if not isinstance(batches, list):
        raise DatasetError(f"{chat_id}: chat.json is not a list of batches")
    sessions: list[Session] = []
    used: set[str] = set()
    clock = _START - _STEP
    for bi, batch in enumerate(batches):
        if not isinstance(batch, dict) or not isinstance(batch.get("turns"), list):
            raise DatasetError(f"{chat_id}: batch {bi} has no 'turns' list")
        num = batch.get("batch_number", bi + 1)
        anchor = parse_beam_anchor(batch["time_anchor"]) if batch.get("time_anchor") else None
        if anchor is not None and anchor > clock:
            clock = anchor - _STEP
        for si, raw in enumerate(batch["turns"]):
            if not isinstance(raw, list):
                continue
            sid = f"b{num}s{si + 1}"
            turns: list[Turn] = []
            for msg in raw:
                if not isinstance(msg, dict) or msg.get("id") is None:
                    continue
                text = str(msg.get("content") or "").strip()
                if not text:
                    continue
                when = parse_beam_anchor(msg["time_anchor"]) if msg.get("time_anchor") else None
                clock = when if when is not None and when > clock else clock + _STEP
                tid = str(msg["id"])
                if tid in used:
                    tid = f"{tid}~{sid}"
                used.add(tid)
                role = "assistant" if msg.get("role") == "assistant" else "user"
                turns.append(Turn(tid, sid, role, text, clock, role))
            if turns:
                sessions.append(Session(sid, turns[0].occurred_at, tuple(turns)))
    if not sessions:
        raise DatasetError(f"{chat_id}: no messages")
    return sessions


def _ids(raw: Any) -> list[str]:
    """Message ids from an id, a list of ids, or lists and objects nesting them."""
    if raw is None:
        return []
    if isinstance(raw, dict):
        return [i for v in raw.values() for i in _ids(v)]
    if isinstance(raw, list):
        return [i for v in raw for i in _ids(v)]
    text = str(raw).strip()
    return [text] if text else []


def _questions(
    chat_id: str, probing: Any, session_of: dict[str, str], asked_at: datetime
) -> tuple[list[Question], list[EvidenceIssue]]:
    if not isinstance(probing, dict):
        raise DatasetError(f"{chat_id}: probing_questions.json is not an object by type")
    questions: list[Question] = []
    issues: list[EvidenceIssue] = []

    def known(qid: str, ids: list[str]) -> tuple[str, ...]:
        for raw in ids:
            if raw not in session_of:
                issues.append(EvidenceIssue(chat_id, qid, raw, "skipped",
                                            reason=f"no such message: {raw}"))
        return tuple(dict.fromkeys(i for i in ids if i in session_of))

    for qtype in sorted(probing):
        for qi, item in enumerate(probing[qtype] or []):
            if not isinstance(item, dict) or not item.get("question"):
                continue
            qid = f"{chat_id}/{qtype}/{qi}"
            src = item.get("source_chat_ids")
            stale: tuple[str, ...] = ()
            if isinstance(src, dict) and "updated_info" in src:
                evidence = known(qid, _ids(src.get("updated_info")))
                stale = known(qid, _ids(src.get("original_info")))
                for raw in set(stale).intersection(evidence):
                    # One message cannot rank above itself: the update is judged on
                    # the originals that differ from it (none: not scored as one).
                    issues.append(EvidenceIssue(chat_id, qid, raw, "skipped",
                                                reason="original_info is updated_info"))
                stale = tuple(t for t in stale if t not in evidence)
            else:
                evidence = known(qid, _ids(src))
            answer = next((str(item[k]) for k in _ANSWER_KEYS if item.get(k)), "")
            abstain = qtype == "abstention"
            questions.append(
                Question(
                    id=qid,
                    conversation_id=chat_id,
                    text=str(item["question"]),
                    answer=answer,
                    category=str(qtype),
                    evidence_turns=evidence,
                    evidence_sessions=tuple(dict.fromkeys(session_of[t] for t in evidence)),
                    asked_at=asked_at,
                    scored=not abstain,
                    abstention=abstain,
                    stale_turns=stale,
                )
            )
    return questions, issues


def load_beam(path: str | Path, sizes: tuple[str, ...] = ("100K", "500K")) -> BenchDataset:
    """Load BEAM chats under ``path`` (the folder holding ``100K/`` and ``500K/``, or
    one chat folder). Raises :class:`DatasetError` when no chat is found or a file
    is not BEAM's layout; unknown evidence ids are skipped and counted."""
    root = Path(path).expanduser()
    dirs = _chat_dirs(root, sizes)
    if not dirs:
        raise DatasetError(f"BEAM data not found under {root} (sizes {', '.join(sizes)})")
    convs: list[Conversation] = []
    issues: list[EvidenceIssue] = []
    hashes: list[str] = []
    for chat_id, d in dirs:
        sessions = _sessions(chat_id, _read(d / "chat.json"))
        qfile = d / "probing_questions" / "probing_questions.json"
        session_of = {t.id: s.id for s in sessions for t in s.turns}
        asked_at = sessions[-1].turns[-1].occurred_at + _DELAY
        qs, q_issues = (
            _questions(chat_id, _read(qfile), session_of, asked_at) if qfile.is_file() else ([], [])
        )
        convs.append(Conversation(chat_id, tuple(sessions), tuple(qs), ("user", "assistant"),
                                  stratum=chat_id.split("/")[0]))
        issues.extend(q_issues)
        hashes.append(file_sha256(d / "chat.json"))
        if qfile.is_file():
            hashes.append(file_sha256(qfile))
    return BenchDataset("beam", str(root), combined_sha256(hashes), convs, issues)

