"""LLM extraction: a batch of episodes -> candidate memories, in one call.

:class:`LLMDeriver` is one more :class:`~engram.ingest.derive.Deriver`: it
shows the model the batch's episodes under short local ids (``E1``, ``E2``...,
with speaker, role and time), asks for durable memories as JSON valid against
:data:`EXTRACT_SCHEMA`, and maps the cited local ids back to episode ids. A
cited id the prompt never showed maps to ``"?E9"`` (never a real episode id),
so the grounding gate rejects it instead of it touching another row.

The model writes each memory in the language of the conversation, with
relative dates resolved against the message time ("last week" said on
2024-05-10 becomes "around 2024-05-03"). Single-valued facts carry an
``attribute`` from :data:`ATTRIBUTES` so consolidation supersedes old values
deterministically; any other attribute the model invents is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..llm.client import LLMClient
from ..llm.types import LLMResponse
from ..models import Episode, MemoryKind
from ..text import query_terms
from ..timeutil import format_minute
from .derive import Candidate, Deriver

__all__ = [
    "ATTRIBUTES",
    "EXTRACT_SCHEMA",
    "MAX_EPISODES_PER_CALL",
    "Extraction",
    "LLMDeriver",
    "parse_date",
]

#: a larger batch is split into calls of at most this many episodes
MAX_EPISODES_PER_CALL = 40

#: single-valued attributes: a new value supersedes the old one
ATTRIBUTES = (
    "lives_in",
    "works_at",
    "job_title",
    "name",
    "age",
    "partner",
    "relationship_status",
    "diet",
    "nationality",
    "school",
)

_KINDS = ["fact", "preference", "event", "plan", "procedure"]
_NULLABLE_STR: dict[str, Any] = {"type": ["string", "null"]}

EXTRACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "memories": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": _KINDS},
                    "text": {"type": "string", "minLength": 1},
                    "subject": {"type": "string"},
                    "attribute": _NULLABLE_STR,
                    "value": _NULLABLE_STR,
                    "entities": {"type": "array", "items": {"type": "string"}},
                    "valid_from": _NULLABLE_STR,
                    "valid_to": _NULLABLE_STR,
                    "importance": {"type": "number", "minimum": 0, "maximum": 1},
                    "episodes": {"type": "array", "items": {"type": "string"}},
                },
                "required": [
                    "kind", "text", "subject", "attribute", "value", "entities",
                    "valid_from", "valid_to", "importance", "episodes",
                ],
                "additionalProperties": False,
            },
        }
    },
    "required": ["memories"],
    "additionalProperties": False,
}

_SYSTEM = f"""You extract long-term memories from a conversation for an assistant's memory.
Return only durable, useful information: facts about people, preferences, events, plans,
procedures. Skip greetings, small talk and anything the assistant said unless the user
confirmed it.
For each memory:
- kind: one of {", ".join(_KINDS)}.
- text: one self-contained sentence in the SAME LANGUAGE as the conversation, naming the
  person (never "I" or "you"). Replace relative dates ("yesterday", "last week", "next
  month") by absolute dates computed from the time of the message that said them.
- subject: the person or thing the memory is about (a speaker's name when it is them).
- attribute: for a single-valued fact, one of {", ".join(ATTRIBUTES)}; otherwise null.
- value: the attribute's value (e.g. the city for lives_in), else null.
- entities: names of people, places, organisations and things mentioned.
- valid_from / valid_to: ISO dates (YYYY-MM-DD) when the information became / stops
  being true, if known; else null.
- importance: 0 (trivia) to 1 (critical, e.g. allergies).
- episodes: the ids (E1, E2, ...) of the messages that state it. Cite only ids shown.
Answer with JSON: {{"memories": [...]}}; an empty list when nothing is worth keeping."""


@dataclass
class Extraction:
    """One extraction: the candidates (ungated) and the model's responses (one per
    :data:`MAX_EPISODES_PER_CALL` episodes)."""

    candidates: list[Candidate] = field(default_factory=list)
    responses: list[LLMResponse] = field(default_factory=list)
    #: proposals dropped while parsing (e.g. an unusable kind), not by grounding
    dropped: int = 0


def parse_date(value: Any) -> datetime | None:
    """``YYYY-MM-DD`` or ISO 8601 text -> aware UTC datetime; anything else -> ``None``."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _render(episodes: Sequence[Episode], prefix: str = "E") -> str:
    lines = []
    for i, ep in enumerate(episodes, 1):
        who = ep.speaker or ep.role
        when = f"{format_minute(ep.occurred_at)} {ep.occurred_at:%A}"
        lines.append(f"{prefix}{i} [{when} UTC] {who} ({ep.role}): {ep.text}")
    return "\n".join(lines)


class LLMDeriver(Deriver):
    """Derives candidates with one chat call per batch (see the module docstring)."""

    name = "llm"

    def __init__(self, client: LLMClient, *, max_tokens: int | None = 2048) -> None:
        self.client = client
        self.max_tokens = max_tokens

    def derive(self, episodes: Sequence[Episode]) -> list[Candidate]:
        return self.extract(episodes).candidates

    def extract(
        self, episodes: Sequence[Episode], context: Sequence[Episode] = ()
    ) -> Extraction:
        """One call per batch (split beyond :data:`MAX_EPISODES_PER_CALL`); raises
        :class:`~engram.llm.LLMError` when a call fails (nothing is returned then).

        ``context``: earlier messages shown (to the first call) to resolve
        references like "yes, that one"; they are not citable."""
        out = Extraction()
        for start in range(0, len(episodes), MAX_EPISODES_PER_CALL):
            chunk = episodes[start : start + MAX_EPISODES_PER_CALL]
            self._extract(chunk, context if start == 0 else episodes[start - 5 : start], out)
        return out

    def _extract(
        self, episodes: Sequence[Episode], context: Sequence[Episode], out: Extraction
    ) -> None:
        local = {f"E{i}": ep for i, ep in enumerate(episodes, 1)}
        before = ""
        if context:
            before = (
                "Earlier messages (context only; do not cite them):\n"
                + _render(context, "P")
                + "\n\n"
            )
        messages = [
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": before + "Conversation:\n" + _render(episodes)},
        ]
        response = self.client.chat(
            messages, json_schema=EXTRACT_SCHEMA, schema_name="memories",
            max_tokens=self.max_tokens, stage="extract",
        )
        out.responses.append(response)
        for item in response.data["memories"]:
            cand = self._candidate(item, local)
            if cand is None:
                out.dropped += 1
            else:
                out.candidates.append(cand)

    def _candidate(self, item: dict[str, Any], local: dict[str, Episode]) -> Candidate | None:
        text = " ".join(str(item["text"]).split())
        if not text:
            return None
        try:
            kind = MemoryKind(item["kind"])
        except ValueError:
            return None
        cited = [
            local[c].id if c in local else f"?{c}"
            for c in dict.fromkeys(str(c).strip() for c in item["episodes"])
        ]
        known = [local[c] for c in item["episodes"] if c in local]
        first_speaker = next((e.speaker for e in known if e.speaker), None)
        subject = str(item["subject"]).strip() or first_speaker or "User"
        attribute = item["attribute"] if item["attribute"] in ATTRIBUTES else None
        value = item["value"].strip() if isinstance(item["value"], str) else None
        valid_from = parse_date(item["valid_from"])
        if valid_from is None and known:
            valid_from = max(e.occurred_at for e in known)
        entities = [str(e).strip().lower() for e in item["entities"] if str(e).strip()]
        return Candidate(
            kind=kind,
            text=text,
            source_episode_ids=cited,
            subject=subject,
            attribute=attribute,
            value=value if attribute else value or None,
            entities=list(dict.fromkeys([subject.lower(), *entities])),
            keywords=query_terms(text)[:12],
            valid_from=valid_from,
            valid_to=parse_date(item["valid_to"]),
            importance=float(item["importance"]),
        )

