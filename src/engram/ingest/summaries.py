"""Session summaries and the user profile (core memory), refreshed incrementally.

Both are ``kind="summary"`` memories carrying a single-valued attribute, so a
refresh supersedes the previous version (kept in history):

* a session summary lives in the session's scope, attribute
  ``session:<id>:session_summary``; a refresh shows the model the previous
  summary plus only the episodes after the ones it covered
  (``metadata["covered_until"]``);
* the profile lives in the owner's scope (no session), attribute
  ``<user>:profile``; a refresh shows the previous profile plus the owner's
  active facts, preferences and plans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..llm.client import LLMClient
from ..models import Episode, Memory, MemoryKind
from ..timeutil import format_day, format_minute
from .derive import Candidate

__all__ = ["PROFILE_ATTRIBUTE", "SESSION_ATTRIBUTE", "Summarizer", "SummaryText"]

SESSION_ATTRIBUTE = "session_summary"
PROFILE_ATTRIBUTE = "profile"
#: most episodes shown in one summary refresh (the newest ones)
MAX_EPISODES = 200
#: most memories shown in one profile refresh
MAX_MEMORIES = 150

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string"}},
    "required": ["summary"],
    "additionalProperties": False,
}

_SESSION = """Summarise this conversation session for an assistant's long-term memory in at
most 120 words, in the language of the conversation, with absolute dates. Keep what the
people said, decided and planned. If a previous summary is given, return an updated summary
that includes it. Answer with JSON: {"summary": "..."}."""

_PROFILE = """Write the profile of this user for an assistant's core memory, in at most 150
words: who they are, where they live and work, family, preferences, ongoing plans. Use only
the memories given; newer information wins. If a previous profile is given, return an
updated one. Answer with JSON: {"summary": "..."}."""


@dataclass(frozen=True)
class SummaryText:
    """A summary from the model, as a candidate ready for consolidation."""

    candidate: Candidate
    covered_until: str | None = None


class Summarizer:
    """Writes session summaries and profiles with the ``"summarize"`` stage's model."""

    def __init__(self, client: LLMClient) -> None:
        self.client = client

    def session(
        self, session_id: str, episodes: Sequence[Episode], previous: Memory | None
    ) -> SummaryText | None:
        """An updated summary of ``episodes`` (oldest first), or ``None`` when there is
        nothing new since ``previous``."""
        covered = previous.metadata.get("covered_until") if previous is not None else None
        fresh = [e for e in episodes if covered is None or e.occurred_at.isoformat() > covered]
        fresh = fresh[-MAX_EPISODES:]
        if not fresh:
            return None
        lines = []
        if previous is not None:
            lines += ["Previous summary:", previous.text, ""]
        lines.append("New messages:")
        for ep in fresh:
            lines.append(f"[{format_minute(ep.occurred_at)}] {ep.speaker or ep.role}: {ep.text}")
        text = self._ask(_SESSION, "\n".join(lines))
        sources = (previous.source_episode_ids if previous is not None else []) + [
            e.id for e in fresh
        ]
        cand = Candidate(
            kind=MemoryKind.SUMMARY,
            text=text,
            source_episode_ids=list(dict.fromkeys(sources))[-MAX_EPISODES:],
            subject=f"session:{session_id}",
            attribute=SESSION_ATTRIBUTE,
            valid_from=fresh[0].occurred_at if previous is None else previous.valid_from,
            importance=0.6,
        )
        return SummaryText(cand, fresh[-1].occurred_at.isoformat())

    def profile(
        self, user: str, memories: Sequence[Memory], previous: Memory | None
    ) -> SummaryText | None:
        """An updated profile from the owner's active memories; ``None`` without any."""
        facts = [m for m in memories if m.kind != MemoryKind.SUMMARY][:MAX_MEMORIES]
        if not facts:
            return None
        lines = []
        if previous is not None:
            lines += ["Previous profile:", previous.text, ""]
        lines.append("Memories:")
        for m in facts:
            when = m.valid_from or m.created_at
            lines.append(f"[{format_day(when)}] ({m.kind}) {m.text}")
        text = self._ask(_PROFILE, "\n".join(lines))
        cand = Candidate(
            kind=MemoryKind.SUMMARY,
            text=text,
            source_episode_ids=[],
            subject=user,
            attribute=PROFILE_ATTRIBUTE,
            importance=0.9,
        )
        return SummaryText(cand)

    def _ask(self, system: str, user: str) -> str:
        response = self.client.chat(
            [{"role": "system", "content": system}, {"role": "user", "content": user}],
            json_schema=_SCHEMA, schema_name="summary", stage="summarize",
        )
        return " ".join(str(response.data["summary"]).split())
