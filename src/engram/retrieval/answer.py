"""Answer a question from retrieved memory, with citations, or say "I don't know".

:class:`Answerer` shows the model the text of a
:class:`~engram.models.ContextBlock` (dated, untrusted text quoted as data,
within its budget), whose lines carry short references ``[1]``, ``[2]``..., and
maps the ones it cites (``S1``, ``[1]`` or ``1``) back to memory and episode
ids; cited references it was not shown are dropped. The answer is
:data:`UNKNOWN` when the context is empty (no model call then), when the model
says the context does not support an answer, or when it cites no shown item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..llm.client import LLMClient
from ..llm.types import Usage
from ..models import ContextBlock, ItemRef
from ..timeutil import format_day

__all__ = ["ANSWER_SCHEMA", "UNKNOWN", "Answer", "Answerer"]

UNKNOWN = "I don't know."

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "supported": {"type": "boolean"},
        "citations": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["answer", "supported", "citations"],
    "additionalProperties": False,
}

_SYSTEM = """Answer the user's question using ONLY the numbered memory items given.
Items are dated; a conversation line without a time or speaker has the time or speaker of
the line above it. Prefer newer information when items disagree, and answer questions about
the past from the items valid at that time. Be brief. Cite the numbers of the items that
support the answer ("1" for the item [1]). If the items do not contain the answer, set
supported to false. Answer with JSON: {"answer": "...", "supported": true|false,
"citations": ["1"]}."""


@dataclass
class Answer:
    """An answer and what supports it.

    ``citations`` are the cited items (memory and episode refs), in the order
    cited; ``known`` is false when the answer is :data:`UNKNOWN`. ``usage`` and
    ``cost`` are those of the model call (zero / ``None`` when none was made).
    """

    text: str
    known: bool
    citations: list[ItemRef] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    model: str | None = None

    @property
    def memory_ids(self) -> list[str]:
        return [r.id for r in self.citations if r.type == "memory"]

    @property
    def episode_ids(self) -> list[str]:
        return [r.id for r in self.citations if r.type == "episode"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "known": self.known,
            "citations": [{"type": r.type, "id": r.id} for r in self.citations],
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "total_tokens": self.usage.total,
            },
            "cost": self.cost,
            "model": self.model,
        }


class Answerer:
    """Answers with the ``"answer"`` stage's model."""

    def __init__(self, client: LLMClient) -> None:
        self.client = client

    def answer(self, question: str, context: ContextBlock, now: datetime | None = None) -> Answer:
        """Raises :class:`~engram.llm.LLMError` when the model call fails."""
        if not context.items:
            return Answer(UNKNOWN, False)
        local = {str(item.label or i): item.ref for i, item in enumerate(context.items, 1)}
        today = f"Today is {format_day(now)}.\n" if now is not None else ""
        user = f"{today}Memory items:\n{context.text}\n\nQuestion: {question}"
        response = self.client.chat(
            [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}],
            json_schema=ANSWER_SCHEMA, schema_name="answer", stage="answer",
        )
        data = response.data
        refs = (str(c).strip().removeprefix("S").strip("[]") for c in data["citations"])
        cited = [local[r] for r in dict.fromkeys(refs) if r in local]
        text = " ".join(str(data["answer"]).split())
        if not data["supported"] or not cited or not text:
            return Answer(UNKNOWN, False, [], response.usage, response.cost, response.model)
        return Answer(text, True, cited, response.usage, response.cost, response.model)
