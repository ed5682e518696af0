"""Answering as the user with a model: the rules' evidence, numbered, written up.

:class:`PersonaLLM` shows the model the user's memories that the rules and a
search found for each field (or for the message) under short local ids
(``M1``, ``M2``...) and a few of the user's own messages as samples of their
voice. What comes back is checked, never trusted:

* a cited id the model was not shown is dropped; a value (or a reply) left
  without any shown citation is emptied: memory was silent;
* a field the form did not ask for is ignored; a field the model leaves out
  keeps the rules' value;
* any :class:`~engram.llm.LLMError` (bad JSON after the client's re-asks, a
  refusal, an unreachable server) returns the rules' answer with
  ``llm_error`` set to the error's code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..llm.client import LLMClient
from ..llm.errors import LLMError
from ..llm.types import LLMResponse
from ..models import Episode, Hit, ItemRef, Memory, Scope, SearchFilters
from ..store.base import Store
from .persona import Draft, FieldValue, FormFill, PersonaRules, Search, episode_voice
from .profile import build_profile

__all__ = ["DRAFT_SCHEMA", "FORM_SCHEMA", "PersonaLLM", "build_persona"]

FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"fields": {"type": "array", "items": {
        "type": "object",
        "properties": {"field": {"type": "string"}, "value": {"type": "string"},
                       "citations": {"type": "array", "items": {"type": "string"}}},
        "required": ["field", "value", "citations"], "additionalProperties": False}}},
    "required": ["fields"],
    "additionalProperties": False,
}

DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"reply": {"type": "string"},
                   "citations": {"type": "array", "items": {"type": "string"}}},
    "required": ["reply", "citations"],
    "additionalProperties": False,
}

_FORM_SYSTEM = """You fill in a form on behalf of a user, from what is known about them.
Use ONLY the numbered memory items. For each field give a short value written as the user
would write it, and the ids (M1, M2, ...) of the items that support it. If the items do not
say, give an empty value and no citations. Never guess. Answer with JSON:
{"fields": [{"field": "<field name as given>", "value": "...", "citations": ["M1"]}]}"""

_DRAFT_SYSTEM = """You draft a reply to a message on behalf of a user, in the first person and
in their voice (their own messages are shown as samples). Use ONLY the numbered memory items
for anything factual, and cite the ids (M1, M2, ...) you used. If the items say nothing
relevant, reply with an empty string and no citations. Answer with JSON:
{"reply": "...", "citations": ["M1"]}"""

#: memories shown to the model per field (searched) and for a draft
PER_FIELD = 6
PER_DRAFT = 12
#: the user's first messages read for samples of their voice
VOICE_WINDOW = 200


class PersonaLLM:
    """Form filling and drafts with the ``"answer"`` stage's model over :class:`PersonaRules`."""

    def __init__(self, rules: PersonaRules, client: LLMClient, voice: Sequence[str]) -> None:
        self.rules = rules
        self.client = client
        self.voice = list(voice)

    def _items(self, refs: list[tuple[ItemRef, str]]) -> tuple[dict[str, ItemRef], list[str]]:
        local: dict[str, ItemRef] = {}
        lines: list[str] = []
        seen: set[ItemRef] = set()
        for ref, text in refs:
            if ref in seen:
                continue
            seen.add(ref)
            lid = f"M{len(local) + 1}"
            local[lid] = ref
            lines.append(f"{lid} {text}")
        return local, lines

    def _texts(self, refs: Sequence[ItemRef]) -> list[tuple[ItemRef, str]]:
        known = {p.memory_id: p.text for p in self.rules.profile.preferences}
        known.update({a.memory_id: a.text for a in self.rules.profile.attributes})
        return [(r, known[r.id]) for r in refs if r.id in known]

    def _hits(self, query: str, limit: int) -> list[tuple[ItemRef, str]]:
        hits: list[Hit] = self.rules.search(query, limit)
        return [(h.ref, h.item.text) for h in hits if isinstance(h.item, Memory)]

    def _voice(self) -> str:
        if not self.voice:
            return ""
        return "The user's own messages (style samples):\n" + "\n".join(
            f"> {' '.join(v.split())[:300]}" for v in self.voice) + "\n\n"

    def _ask(self, system: str, user: str, schema: dict[str, Any],
             name: str) -> LLMResponse | str:
        """The model's checked JSON reply, or the code of the :class:`LLMError`."""
        try:
            return self.client.chat(
                [{"role": "system", "content": system}, {"role": "user", "content": user}],
                json_schema=schema, schema_name=name, stage="answer")
        except LLMError as exc:
            return exc.code

    def fill(self, fields: Sequence[str]) -> FormFill:
        base = self.rules.fill(fields)
        evidence: list[tuple[ItemRef, str]] = []
        for f in base.fields:
            evidence += self._texts(f.citations)
            evidence += self._hits(f.name, PER_FIELD)
        local, lines = self._items(evidence)
        if not lines:
            return base  # nothing known: every field stays empty, no model call
        user = ("Memory items:\n" + "\n".join(lines) + "\n\nForm fields:\n"
                + "\n".join(f"- {f.name}" for f in base.fields))
        response = self._ask(_FORM_SYSTEM, user, FORM_SCHEMA, "form")
        if isinstance(response, str):
            base.llm_error = response
            return base
        asked = {f.name: i for i, f in enumerate(base.fields)}
        for row in response.data["fields"]:
            i = asked.get(str(row["field"]).strip())
            if i is None:
                continue  # not asked for
            cites = _cited(row["citations"], local)
            value = " ".join(str(row["value"]).split())
            base.fields[i] = FieldValue(base.fields[i].name, value if cites else "",
                                        cites if value else [], "llm" if value and cites else "")
        base.model = response.model
        return base

    def draft(self, message: str) -> Draft:
        base = self.rules.draft(message)
        local, lines = self._items(self._texts(base.citations) + self._hits(message, PER_DRAFT))
        if not lines:
            return base
        user = (self._voice() + "Memory items:\n" + "\n".join(lines)
                + f"\n\nMessage to reply to:\n{message}")
        response = self._ask(_DRAFT_SYSTEM, user, DRAFT_SCHEMA, "draft")
        if isinstance(response, str):
            base.llm_error = response
            return base
        cites = _cited(response.data["citations"], local)
        text = " ".join(str(response.data["reply"]).split())
        if not cites or not text:
            return Draft("", [], response.model)
        return Draft(text, cites, response.model)


def _cited(ids: Sequence[Any], local: dict[str, ItemRef]) -> list[ItemRef]:
    """The shown items among ``ids``, in order, once each; others dropped."""
    return [local[c] for c in dict.fromkeys(str(i).strip() for i in ids) if c in local]


def build_persona(store: Store, scope: Scope, search: Search,
                  client: LLMClient | None) -> PersonaRules | PersonaLLM:
    """The rules over ``scope``'s profile and ``search``, with ``client``'s model
    on top when given (the engine's :meth:`~engram.Engram.fill_form` and
    :meth:`~engram.Engram.draft_reply`)."""
    rules = PersonaRules(build_profile(store, scope), search)
    if client is None:
        return rules
    owner = scope.with_session(None)
    page = store.list_episodes(owner, SearchFilters(kinds=frozenset({"episode"})), VOICE_WINDOW)
    return PersonaLLM(rules, client, episode_voice([e for e in page.items
                                                    if isinstance(e, Episode)]))
