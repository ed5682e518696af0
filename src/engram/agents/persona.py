"""Answering as the user: fill a form or draft a reply from the user's memories.

Every value cites the memories (and episodes) it came from; a field memory is
silent about is left empty (``""``, no citations), never guessed.

Rules, no model (:class:`PersonaRules`):

* a form field is matched to a slot of the :class:`~engram.agents.profile.Profile`
  by its wording (:data:`SLOTS`: "Full name", "What should we call you?" ->
  ``name``; "City of residence", "Where are you based?" -> ``lives_in``;
  "Employer", "Company you work for" -> ``works_at``; "Favourite film" ->
  ``favourite:film``; "Hobbies", "Things you enjoy" -> the positive
  preferences; "Pet peeves" -> the negative ones; "Allergies", "Diet", "Pets",
  "Kids", "Partner", "Age", "Plans"); a field matching no slot is searched for,
  and the best memory whose text holds every content word of the field
  (:data:`_WEAK` words aside: "name", "number", "type"...) fills it (its text
  in the first person);
* a reply draft answers a message with the user's memories that share a
  content word with it (verbs of liking aside), each turned into a first-person sentence ("Ana
  dislikes sushi" -> "I don't like sushi"; a tracked preference always says its
  *current* value), at most :data:`MAX_DRAFT_SENTENCES` of them.

With an LLM (:mod:`engram.agents.persona_llm`) the same evidence, numbered, is
given to the model, which writes the values or the reply in the user's voice;
ids it cites that it was not shown are dropped, and a value left without a
citation is emptied. A reply that cannot be used (bad JSON, a refusal, an
unreachable server) falls back to the rules, and says so (``llm_error``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from ..models import Episode, Hit, ItemRef, Memory
from ..text import STOPWORDS, query_terms
from .profile import PreferenceView, Profile, ProfileAttribute

__all__ = [
    "MAX_DRAFT_SENTENCES",
    "MAX_FIELDS",
    "SLOTS",
    "Draft",
    "FieldValue",
    "FormFill",
    "PersonaRules",
    "Search",
    "first_person",
    "slot_of",
]

#: at most this many fields per form
MAX_FIELDS = 100
#: at most this many sentences in a rules-only draft
MAX_DRAFT_SENTENCES = 3

#: ``search(query, limit) -> hits`` in the user's scope (the engine's search)
Search = Callable[[str, int], list[Hit]]


@dataclass
class FieldValue:
    """One field: its ``value`` (``""`` when memory is silent) and the items it
    came from; ``source`` is ``profile``, ``search``, ``llm`` or ``""``."""

    name: str
    value: str = ""
    citations: list[ItemRef] = field(default_factory=list)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.name, "value": self.value, "source": self.source,
                "citations": [{"type": r.type, "id": r.id} for r in self.citations]}


@dataclass
class FormFill:
    """A filled form, fields in the order asked; ``model`` is the LLM used
    (``None``: rules); ``llm_error`` the code of an LLM failure the rules
    answered for instead."""

    fields: list[FieldValue]
    model: str | None = None
    llm_error: str | None = None

    def value(self, name: str) -> str:
        return next((f.value for f in self.fields if f.name == name), "")

    def to_dict(self) -> dict[str, Any]:
        return {"fields": [f.to_dict() for f in self.fields], "model": self.model,
                "llm_error": self.llm_error}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FormFill:
        """The form :meth:`to_dict` wrote (the HTTP client reads it back)."""
        return cls([FieldValue(f["field"], f["value"], _refs(f["citations"]), f["source"])
                    for f in d["fields"]], d.get("model"), d.get("llm_error"))


@dataclass
class Draft:
    """A reply in the user's voice (``""`` when memory has nothing to say) and
    the items it came from."""

    text: str
    citations: list[ItemRef] = field(default_factory=list)
    model: str | None = None
    llm_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "model": self.model, "llm_error": self.llm_error,
                "citations": [{"type": r.type, "id": r.id} for r in self.citations]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Draft:
        """The draft :meth:`to_dict` wrote (the HTTP client reads it back)."""
        return cls(d["text"], _refs(d["citations"]), d.get("model"), d.get("llm_error"))


def _refs(rows: list[dict[str, Any]]) -> list[ItemRef]:
    return [ItemRef(r["type"], r["id"]) for r in rows]


# -- slots -------------------------------------------------------------------------------
def _cue(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")", re.IGNORECASE)


_OTHER_PERSON = _cue("pet", "dog", "cat", "partner", "spouse", "wife", "husband", "child",
                     "kid", "son", "daughter", "mother", "father", "parent", "company",
                     "employer", "emergency", "doctor", "school", "boss", "manager", "brother",
                     "sister", "friend")
_FAVOURITE = re.compile(r"\b(?:favou?rite|preferred|best[- ]loved)\s+(?P<what>[a-z][a-z ]*)",
                        re.IGNORECASE)

#: slot -> the cues of a field's wording, tried in this order (first match wins)
SLOTS: list[tuple[str, re.Pattern[str]]] = [
    ("allergy", _cue(r"allerg", r"intoleran", r"react(?:ion)?s? to")),
    ("diet", _cue(r"diet", r"vegetarian", r"vegan", r"eating (?:habits|restrictions)",
                  r"food restrictions", r"meal preference", r"do you eat meat")),
    ("dislikes", _cue(r"dislike", r"hate", r"pet peeve", r"avoid", r"(?:don't|do not) like",
                      r"can't stand", r"not a fan")),
    ("pets", _cue(r"pets?\b", r"dogs?\b", r"cats?\b", r"animals?\b")),
    ("children", _cue(r"child", r"kids?\b", r"sons?\b", r"daughters?\b")),
    ("partner", _cue(r"partner", r"spouse", r"wife", r"husband", r"married", r"significant other",
                     r"girlfriend", r"boyfriend", r"fianc")),
    ("works_at", _cue(r"employer", r"company", r"workplace", r"where (?:do|does) (?:you|she|he|"
                      r"they) work", r"work(?:s|ing)? (?:at|for)", r"organi[sz]ation",
                      r"employed", r"place of work", r"firm\b")),
    ("lives_in", _cue(r"city", r"live\b", r"lives\b", r"living", r"residen", r"located",
                      r"location", r"based", r"town\b", r"where (?:are|is) (?:you|she|he) from"
                      r" now", r"current(?:ly)? (?:home|address)")),
    ("age", _cue(r"\bage\b", r"how old", r"years old")),
    ("plan", _cue(r"plans?\b", r"planning", r"upcoming", r"intend", r"intention", r"goals?\b",
                  r"next (?:trip|steps?)")),
    ("likes", _cue(r"likes\b", r"hobb", r"interest", r"enjoy", r"passion", r"loves?\b",
                   r"things? (?:you|they) like", r"what do you like", r"pastime",
                   r"free time", r"spare time", r"fun\b")),
    ("name", _cue(r"name", r"what should we call", r"called")),
]
_HAS: dict[str, re.Pattern[str]] = {
    "pets": re.compile(r"\b(?:dog|cat|pet|puppy|kitten)s?\b", re.IGNORECASE),
    "children": re.compile(r"\b(?:kid|child|children|son|daughter)s?\b", re.IGNORECASE),
}
_FORM_WORDS = frozenset({"your", "you", "current", "please", "enter", "list", "describe", "type",
                         "field", "details", "detail", "information", "info", "select",
                         "provide", "give", "tell", "us", "about", "yourself", "any", "my"})


#: words that say what shape a value has, not what it is about
_WEAK = frozenset({"name", "number", "type", "kind", "date", "time", "first", "last", "full",
                   "main", "other", "favourite", "favorite", "preferred", "best", "current"})


def slot_of(name: str) -> str | None:
    """The profile slot a field's wording asks for (``None``: no slot; searched)."""
    fav = _FAVOURITE.search(name)
    if fav is not None and not fav.group("what").lower().startswith("name"):
        return "favourite:" + " ".join(fav.group("what").lower().split()[:3])
    for slot, cue in SLOTS:
        if not cue.search(name):
            continue
        if slot == "name" and _OTHER_PERSON.search(name):
            return None  # "Dog's name", "Name of your employer": not the user's name
        return slot
    return None


def _content(text: str) -> list[str]:
    return [t for t in query_terms(text) if t not in STOPWORDS and t not in _FORM_WORDS
            and len(t) > 2]


#: words a form says in several ways
_SYNONYMS = {"movie": "film", "films": "film", "movies": "film", "novel": "book",
             "color": "colour", "cuisine": "food", "dish": "food", "meal": "food",
             "beverage": "drink", "song": "music", "band": "music", "singer": "music",
             "artist": "music", "tv": "show", "series": "show", "holiday": "vacation",
             "trip": "travel", "city": "place", "town": "place"}
_SUFFIX = re.compile(r"(?<=[a-z]{3})(?:ing|ed|(?<!s)s)$")


def _stem(term: str) -> str:
    """A crude stem: synonyms unified, "-ies" -> "-y", "-ing"/"-ed"/"-s" and a final
    "e" dropped ("hiking", "hikes", "hike" -> "hik")."""
    term = _SYNONYMS.get(term, term)
    term = term[:-3] + "y" if term.endswith("ies") and len(term) > 4 else _SUFFIX.sub("", term)
    term = _SYNONYMS.get(term, term)
    return term[:-1] if term.endswith("e") and len(term) > 3 else term


#: verbs of liking: "what is it like" is no question about a liking
_LIKING = frozenset(_stem(w) for w in ("like", "love", "enjoy", "hate", "prefer", "dislike",
                                          "want", "feel"))


def _share(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether two term lists share a word: the same after a crude stemming and the
    synonyms of :data:`_SYNONYMS`, or the same first five letters ("allergies",
    "allergic")."""
    def keys(terms: Sequence[str]) -> set[str]:
        return {_stem(t) for t in terms} | {"~" + t[:5] for t in terms if len(t) >= 5}
    return bool(keys(a) & keys(b))


# -- the first person ------------------------------------------------------------------
_FIRST_PERSON: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^.+?'s name is (.+)$"), r"My name is \1"),
    (re.compile(r"^.+?'s partner is (.+)$"), r"My partner is \1"),
    (re.compile(r"^.+?'s favou?rite (.+?) is (.+)$"), r"My favourite \1 is \2"),
    (re.compile(r"^.+? is (\d+) years old$"), r"I am \1 years old"),
    (re.compile(r"^.+? is allergic to (.+)$"), r"I am allergic to \1"),
    (re.compile(r"^.+? is (vegetarian|vegan|pescatarian)$", re.I), r"I am \1"),
    (re.compile(r"^.+? lives in (.+)$"), r"I live in \1"),
    (re.compile(r"^.+? works at (.+)$"), r"I work at \1"),
    (re.compile(r"^.+? plans to (.+)$"), r"I plan to \1"),
    (re.compile(r"^.+? has mixed feelings about (.+)$"), r"I have mixed feelings about \1"),
    (re.compile(r"^.+? dislikes (.+)$"), r"I don't like \1"),
    (re.compile(r"^.+? likes (.+)$"), r"I like \1"),
    (re.compile(r"^.+? loves (.+)$"), r"I love \1"),
    (re.compile(r"^.+? prefers (.+)$"), r"I prefer \1"),
    (re.compile(r"^.+? has (.+)$"), r"I have \1"),
]


def first_person(text: str) -> str:
    """A rule-derived memory in the user's first person ("Ana lives in Lisbon" ->
    "I live in Lisbon"); other text is returned as it is."""
    for pattern, repl in _FIRST_PERSON:
        if pattern.match(text):
            return pattern.sub(repl, text)
    return text


def _sentence(memory: Memory) -> str:
    out = first_person(memory.text.rstrip(". "))
    return out + "."


# -- the rules -----------------------------------------------------------------------------
def _check_fields(fields: Sequence[str]) -> list[str]:
    if isinstance(fields, str) or not isinstance(fields, Sequence):
        raise InvalidInput("fields must be a list of field names")
    names = [f.strip() if isinstance(f, str) else f for f in fields]
    if not names or len(names) > MAX_FIELDS:
        raise InvalidInput(f"give between 1 and {MAX_FIELDS} field names")
    if any(not isinstance(n, str) or not n or len(n) > 200 for n in names):
        raise InvalidInput("each field name must be a non-empty string of at most 200 characters")
    if len(set(names)) != len(names):
        raise InvalidInput("field names must be unique")
    return names


class PersonaRules:
    """Form filling and reply drafts from a profile and a search (no model)."""

    def __init__(self, profile: Profile, search: Search) -> None:
        self.profile = profile
        self.search = search

    def fill(self, fields: Sequence[str]) -> FormFill:
        """See the module docstring; raises :class:`InvalidInput` for bad field names."""
        return FormFill([self.field(name) for name in _check_fields(fields)])

    def field(self, name: str) -> FieldValue:
        slot = slot_of(name)
        if slot is not None:
            return self._slot(name, slot)
        return self._searched(name)

    def _slot(self, name: str, slot: str) -> FieldValue:
        p = self.profile
        if slot in ("likes", "dislikes"):
            sign = 1 if slot == "likes" else -1
            chosen = [v for v in p.preferences if v.subject == p.subject
                      and v.current * sign >= 0.15]
            return _joined(name, [(v.value, v.memory_id) for v in chosen])
        if slot in _HAS:
            has = [a for a in p.attribute("has") if _HAS[slot].search(a.value)]
            return _joined(name, [(a.value, a.memory_id) for a in has])
        if slot.startswith("favourite:"):
            what = slot.split(":", 1)[1]
            found = [a for a in p.attributes if a.subject == p.subject
                     and a.name.startswith("favourite:") and _share([what], [a.name[10:]])]
            return _joined(name, [(a.value, a.memory_id) for a in found[:1]])
        attrs: list[ProfileAttribute] = p.attribute(slot)
        if slot in ("allergy", "plan"):
            return _joined(name, [(a.value, a.memory_id) for a in attrs])
        return _joined(name, [(a.value, a.memory_id) for a in attrs[:1]])

    def _searched(self, name: str) -> FieldValue:
        terms = [t for t in _content(name) if t not in _WEAK]
        if not terms:
            return FieldValue(name)
        for hit in self.search(name, 10):
            item = hit.item
            if isinstance(item, Memory) and all(_share([t], _content(item.text)) for t in terms):
                return FieldValue(name, _sentence(item).rstrip("."), [hit.ref], "search")
        return FieldValue(name)

    def draft(self, message: str) -> Draft:
        """A first-person reply from the memories sharing a content word with
        ``message`` (module docstring); ``""`` when there are none."""
        terms = [t for t in _content(message) if _stem(t) not in _LIKING]
        if not terms:
            return Draft("")
        current = {v.memory_id: v for v in self.profile.preferences}
        sentences: list[str] = []
        cites: list[ItemRef] = []
        for hit in self.search(message, 20):
            item = hit.item
            if not isinstance(item, Memory) or not _share(
                    terms, [t for t in _content(item.text) if _stem(t) not in _LIKING]):
                continue
            view: PreferenceView | None = current.get(item.id)
            if view is not None and view.subject != self.profile.subject:
                continue
            sentence = _sentence(item) if view is None else _stance(view)
            if sentence not in sentences:
                sentences.append(sentence)
                cites.append(hit.ref)
            if len(sentences) == MAX_DRAFT_SENTENCES:
                break
        return Draft(" ".join(sentences), cites)


_STANCE = {"loves": "I love", "likes": "I like", "mixed": "I have mixed feelings about",
           "dislikes": "I don't like", "hates": "I hate"}


def _stance(view: PreferenceView) -> str:
    """A tracked preference at its current value, in the first person."""
    return f"{_STANCE[view.stance]} {view.value}."


def _joined(name: str, values: list[tuple[str, str]]) -> FieldValue:
    if not values:
        return FieldValue(name)
    return FieldValue(name, ", ".join(dict.fromkeys(v for v, _ in values)),
                      [ItemRef("memory", mid) for _, mid in dict.fromkeys(values)], "profile")


def episode_voice(episodes: Sequence[Episode], limit: int = 5) -> list[str]:
    """Up to ``limit`` of the user's own messages (``user`` role), newest first:
    samples of their voice for a model."""
    own = [e for e in episodes if e.role == "user"]
    return [e.text for e in sorted(own, key=lambda e: e.occurred_at, reverse=True)[:limit]]
