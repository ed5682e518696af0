"""Benchmark data in one shape, whatever file it came from.

Both loaders (:mod:`.locomo`, :mod:`.longmemeval`) turn their published JSON
layout into a :class:`BenchDataset`: a list of :class:`Conversation` objects,
each ingested into its own Engram scope and carrying the questions that may
only search that scope.

Unit ids are strings chosen by the loader: LoCoMo turns keep their ``dia_id``
(``"D3:7"``) and sessions are ``"session_3"``; LongMemEval turns are
``"<session id>#<turn index>"`` and sessions keep their haystack id.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from ..errors import InvalidInput

__all__ = [
    "BenchDataset",
    "Conversation",
    "DatasetError",
    "EvidenceIssue",
    "Question",
    "Session",
    "Turn",
]

BenchmarkName = Literal["locomo", "longmemeval"]


class DatasetError(InvalidInput):
    """A benchmark file that cannot be read as its published layout."""

    code = "dataset_error"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (identifies the exact data a report used)."""
    h = hashlib.sha256()
    with path.open("rb") as fp:
        for chunk in iter(lambda: fp.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Turn:
    """One message, ready for ``Engram.add``.

    ``text`` already carries what the benchmark shows the reader (e.g. an
    image caption appended as ``[image: ...]``).
    """

    id: str
    session_id: str
    role: str
    text: str
    occurred_at: datetime
    speaker: str | None = None


@dataclass(frozen=True)
class Session:
    id: str
    started_at: datetime
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class Question:
    """One benchmark question, asked against its conversation's scope only.

    * ``category``: LoCoMo category as text (``"1"``..``"5"``) or the
      LongMemEval ``question_type``.
    * ``answer``: gold answer as text (``""`` when the benchmark has none, as
      for LoCoMo adversarial questions).
    * ``evidence_turns`` / ``evidence_sessions``: gold unit ids after repair.
    * ``scored``: counted in the headline retrieval/coverage figures
      (``False`` for LoCoMo category 5 and LongMemEval abstention questions).
    * ``abstention``: the right answer is "not in the conversation".
    * ``asked_at``: the reference time passed as ``now=`` to search/context.
    """

    id: str
    conversation_id: str
    text: str
    answer: str
    category: str
    evidence_turns: tuple[str, ...]
    evidence_sessions: tuple[str, ...]
    asked_at: datetime
    scored: bool = True
    abstention: bool = False
    adversarial_answer: str | None = None


@dataclass(frozen=True)
class Conversation:
    """A haystack: sessions in time order plus the questions about it."""

    id: str
    sessions: tuple[Session, ...]
    questions: tuple[Question, ...]
    speakers: tuple[str, ...] = ()

    @property
    def turns(self) -> list[Turn]:
        return [t for s in self.sessions for t in s.turns]

    def session_of(self) -> dict[str, str]:
        """Map every turn id to the id of its session."""
        return {t.id: s.id for s in self.sessions for t in s.turns}


@dataclass(frozen=True)
class EvidenceIssue:
    """A gold evidence entry that was not a plain, existing unit id.

    ``action`` is ``"repaired"`` (``result`` holds the ids used instead) or
    ``"skipped"`` (nothing could be recovered unambiguously).
    """

    conversation_id: str
    question_id: str
    raw: str
    action: Literal["repaired", "skipped"]
    result: tuple[str, ...] = ()
    reason: str = ""


@dataclass
class BenchDataset:
    """A loaded benchmark file. ``sha256`` is the hash of the file's bytes."""

    benchmark: BenchmarkName
    path: str
    sha256: str
    conversations: list[Conversation]
    evidence_issues: list[EvidenceIssue] = field(default_factory=list)

    @property
    def questions(self) -> list[Question]:
        return [q for c in self.conversations for q in c.questions]

    @property
    def repaired(self) -> int:
        return sum(1 for i in self.evidence_issues if i.action == "repaired")

    @property
    def skipped(self) -> int:
        return sum(1 for i in self.evidence_issues if i.action == "skipped")

    def subset(
        self, *, conversations: int | None = None, questions: int | None = None
    ) -> BenchDataset:
        """The first ``conversations`` conversations, each keeping its first ``questions``.

        ``None`` keeps everything. Evidence issues of dropped questions are dropped too.
        """
        convs = self.conversations if conversations is None else self.conversations[:conversations]
        if questions is not None:
            convs = [dataclasses.replace(c, questions=c.questions[:questions]) for c in convs]
        kept = {q.id for c in convs for q in c.questions}
        issues = [i for i in self.evidence_issues if i.question_id in kept]
        return BenchDataset(self.benchmark, self.path, self.sha256, list(convs), issues)
