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
from collections.abc import Collection
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
    "held_apart",
]

BenchmarkName = Literal[
    "locomo", "longmemeval", "realtalk", "beam", "letta_read", "letta_update"
]


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


def combined_sha256(hashes: list[str]) -> str:
    """One hash for data read from several files: a single file keeps its own
    hash, several get the SHA-256 of their hashes joined in the given order."""
    if len(hashes) == 1:
        return hashes[0]
    return hashlib.sha256("".join(hashes).encode()).hexdigest()


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
    * ``stale_turns``: for a knowledge-update question, the turns holding the
      value that ``evidence_turns`` replaced; the update is right when the first
      evidence turn ranks above every stale one and within ``update_within``.
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
    stale_turns: tuple[str, ...] = ()
    update_within: int = 10


@dataclass(frozen=True)
class Conversation:
    """A haystack: sessions in time order plus the questions about it."""

    id: str
    sessions: tuple[Session, ...]
    questions: tuple[Question, ...]
    speakers: tuple[str, ...] = ()
    #: conversations of one group fall on the same side of the held-apart split
    #: (e.g. letta questions over the same facts); ``None``: the id is the group
    group: str | None = None
    #: the split is drawn within each stratum (BEAM: ``"100K"`` / ``"500K"``), so
    #: reading one size keeps the same conversations apart as reading both
    stratum: str = ""

    @property
    def turns(self) -> list[Turn]:
        return [t for s in self.sessions for t in s.turns]

    def session_of(self) -> dict[str, str]:
        """Map every turn id to the id of its session."""
        return {t.id: s.id for s in self.sessions for t in s.turns}


#: the share of each data set's conversation groups kept apart from fitting
HELD_APART_SHARE = 0.2


def _group_hash(family: str, group: str) -> bytes:
    return hashlib.sha256(f"{family}:{group}".encode()).digest()


def held_apart(family: str, groups: Collection[str]) -> set[str]:
    """The groups (conversation ids, or a shared group id) kept apart from fitting.

    Deterministic and independent of file order: groups are ordered by
    ``sha256("<family>:<group>")`` and the first ``max(1, round(0.2 * n))`` are
    held apart (one in five, at least one; none when there is only one group).
    ``family`` is the data set's name without its ``_read`` / ``_update``
    suffix, so the letta read and update sets keep the same fact sets apart.
    Nothing is fitted or tuned on these conversations; their figures are
    reported apart as ``held``.
    """
    ordered = sorted(set(groups), key=lambda g: _group_hash(family, g))
    n = max(1, round(HELD_APART_SHARE * len(ordered))) if len(ordered) > 1 else 0
    return set(ordered[:n])


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

    def part(self, name: Literal["dev", "held"]) -> BenchDataset:
        """The development (``"dev"``) or held-apart (``"held"``) conversations
        (:func:`held_apart`), with their evidence issues."""
        want = name == "held"
        family = self.benchmark.split("_")[0]
        held: set[tuple[str, str]] = set()
        for stratum in dict.fromkeys(c.stratum for c in self.conversations):
            groups = [c.group or c.id for c in self.conversations if c.stratum == stratum]
            held.update((stratum, g) for g in held_apart(f"{family}{stratum}", groups))
        convs = [
            c for c in self.conversations if ((c.stratum, c.group or c.id) in held) == want
        ]
        kept = {c.id for c in convs}
        issues = [i for i in self.evidence_issues if i.conversation_id in kept]
        return BenchDataset(self.benchmark, self.path, self.sha256, convs, issues)

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
