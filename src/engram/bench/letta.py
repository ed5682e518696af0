"""letta-evals core-memory loaders: memory read and memory update over short fact lists.

Layout (JSON lines, one question a line; ``core_memory_read*.jsonl`` and
``core_memory_update*.jsonl`` share their fact sets and questions)::

    {"input": "Which person collaborated with Eliza Woodley ...?",
     "ground_truth": "Joren Sullivar",
     "agent_args": {"extra": {"facts": ["...", ...], "question_index": 0,
                              "contradicting_fact": "...",        # update only
                              "supporting_fact_indices": [4]}}}   # update only

What the loaders do:

* **read** (``letta_read``): one conversation per fact set (id ``"facts-<hash>"``,
  the hash of its facts), the facts as one session, all of the set's questions
  asked a day later. The gold fact is the one the update file names for the same
  question (``supporting_fact_indices``); without it, the facts that hold the
  ground truth (case-insensitive); a question with neither is counted as
  skipped evidence.
* **update** (``letta_update``): one conversation per question (id
  ``"facts-<hash>/q<n>"``, grouped with its fact set for the held-apart split):
  the facts on day 0, then the contradicting fact on day 1 in its own session.
  The contradicting fact is the evidence and the replaced facts the stale turns;
  the update is right only when the new fact is the top hit
  (``update_within=1``).

Turn ids are ``"f<i>"`` for the *i*-th fact and ``"new"`` for the contradicting one.
"""

from __future__ import annotations

import hashlib
import json
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

__all__ = ["load_letta_read", "load_letta_update", "resolve_letta_file"]

_DAY0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
_STEP = timedelta(seconds=30)
_DAY = timedelta(days=1)


def resolve_letta_file(path: str | Path, kind: str) -> Path:
    """A ``core_memory_<kind>*.jsonl`` file, or the one such file in a directory."""
    p = Path(path).expanduser()
    if p.is_dir():
        found = sorted(p.glob(f"core_memory_{kind}*.jsonl"))
        if len(found) != 1:
            raise DatasetError(f"{p}: expected one core_memory_{kind}*.jsonl, found {len(found)}")
        return found[0]
    if not p.is_file():
        raise DatasetError(f"letta data not found: {p}")
    return p


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{n}: not JSON: {exc}") from exc
        extra = (obj.get("agent_args") or {}).get("extra") if isinstance(obj, dict) else None
        if not isinstance(extra, dict) or not isinstance(extra.get("facts"), list):
            raise DatasetError(f"{path}:{n}: no agent_args.extra.facts list")
        if not obj.get("input"):
            raise DatasetError(f"{path}:{n}: no 'input' question")
        yield n, obj


def _set_id(facts: list[Any]) -> str:
    return "facts-" + hashlib.sha256("\n".join(map(str, facts)).encode()).hexdigest()[:10]


def _facts_session(facts: list[Any]) -> Session:
    turns = tuple(
        Turn(f"f{i}", "facts", "user", str(f).strip(), _DAY0 + i * _STEP)
        for i, f in enumerate(facts)
        if str(f).strip()
    )
    return Session("facts", _DAY0, turns)


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return _set_id(obj["agent_args"]["extra"]["facts"]), str(obj["input"]).strip()


def _indices(extra: dict[str, Any], n_facts: int) -> tuple[str, ...]:
    raw = extra.get("supporting_fact_indices") or []
    ids = [int(i) for i in raw if isinstance(i, int) and 0 <= i < n_facts]
    return tuple(f"f{i}" for i in dict.fromkeys(ids))


def load_letta_update(path: str | Path) -> BenchDataset:
    """The memory-update set: each question in its own scope (see module docstring)."""
    p = resolve_letta_file(path, "update")
    convs: list[Conversation] = []
    issues: list[EvidenceIssue] = []
    for n, obj in _lines(p):
        extra = obj["agent_args"]["extra"]
        facts = extra["facts"]
        new = str(extra.get("contradicting_fact") or "").strip().strip('"').strip()
        if not new:
            raise DatasetError(f"{p}:{n}: no contradicting_fact")
        set_id = _set_id(facts)
        cid = f"{set_id}/q{extra.get('question_index', n)}"
        first = _facts_session(facts)
        later = Session("update", _DAY0 + _DAY, (Turn("new", "update", "user", new, _DAY0 + _DAY),))
        stale = _indices(extra, len(facts))
        if not stale:
            issues.append(EvidenceIssue(cid, f"{cid}", "supporting_fact_indices", "skipped",
                                        reason="no replaced fact named"))
        q = Question(
            id=cid,
            conversation_id=cid,
            text=str(obj["input"]),
            answer=str(obj.get("ground_truth") or ""),
            category="update",
            evidence_turns=("new",),
            evidence_sessions=("update",),
            asked_at=_DAY0 + 2 * _DAY,
            stale_turns=stale,
            update_within=1,
        )
        convs.append(Conversation(cid, (first, later), (q,), group=set_id))
    return BenchDataset("letta_update", str(p), file_sha256(p), convs, issues)


def load_letta_read(path: str | Path, update_path: str | Path | None = None) -> BenchDataset:
    """The memory-read set, one scope per fact set. ``update_path`` (default: the
    update file next to it, when there is one) names each question's gold fact."""
    p = resolve_letta_file(path, "read")
    gold_of: dict[tuple[str, str], tuple[str, ...]] = {}
    up = update_path if update_path is not None else (
        p.parent if list(p.parent.glob("core_memory_update*.jsonl")) else None
    )
    if up is not None:
        for _, obj in _lines(resolve_letta_file(up, "update")):
            extra = obj["agent_args"]["extra"]
            gold_of[_key(obj)] = _indices(extra, len(extra["facts"]))
    sets: dict[str, tuple[Session, list[Question]]] = {}
    issues: list[EvidenceIssue] = []
    for _, obj in _lines(p):
        facts = obj["agent_args"]["extra"]["facts"]
        set_id = _set_id(facts)
        session, qs = sets.setdefault(set_id, (_facts_session(facts), []))
        answer = str(obj.get("ground_truth") or "")
        qid = f"{set_id}/q{len(qs)}"
        gold = gold_of.get(_key(obj)) or tuple(
            t.id for t in session.turns if answer and answer.lower() in t.text.lower()
        )
        if not gold:
            issues.append(EvidenceIssue(set_id, qid, answer, "skipped",
                                        reason="no fact named or holding the answer"))
        qs.append(
            Question(
                id=qid,
                conversation_id=set_id,
                text=str(obj["input"]),
                answer=answer,
                category="read",
                evidence_turns=gold,
                evidence_sessions=("facts",) if gold else (),
                asked_at=_DAY0 + _DAY,
            )
        )
    convs = [Conversation(sid, (s,), tuple(qs)) for sid, (s, qs) in sets.items()]
    return BenchDataset("letta_read", str(p), file_sha256(p), convs, issues)
