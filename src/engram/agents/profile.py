"""A user's profile: current preferences with confidence, and attributes by rules.

:func:`build_profile` reads the user's active memories (every session, kinds
``fact``, ``preference`` and ``plan``) and returns a :class:`Profile`:

* ``preferences``: one :class:`PreferenceView` per topic tracked by
  :mod:`engram.agents.preferences` (current value, short/long averages, drift,
  confidence, counts, the memory that holds it), strongest first; a preference
  memory written otherwise (an LLM, ``remember``) that reads "X likes/prefers/
  dislikes Y" is shown too, as one untracked observation;
* ``attributes``: the single-valued facts the rules derive (``name``, ``age``,
  ``lives_in``, ``works_at``, ``partner``, ``diet``, ``favourite:<what>``) and
  the many-valued ones (``allergy``, ``has``, ``plan``), each with its value
  read back from the memory's text and the memory id it comes from.

``subject`` is the name most of the user's memories are about (rules write
"Ana likes tea" for a user whose messages Ana speaks); items about other people
in the same scope keep their own ``subject``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..models import Memory, MemoryKind, Scope, SearchFilters
from ..store.base import Store
from ..timeutil import format_dt
from .preferences import (
    METADATA_KEY,
    PreferenceState,
    is_tracked,
    observe,
    topic_key,
    wording_strength,
)

__all__ = ["Profile", "ProfileAttribute", "PreferenceView", "build_profile", "strength_word"]

#: at most this many memories are read for a profile (newest first)
MAX_MEMORIES = 5000

_KINDS = frozenset({str(MemoryKind.FACT), str(MemoryKind.PREFERENCE), str(MemoryKind.PLAN)})

#: attribute -> the rule's text with the value in a group (engram.ingest.derive)
_SINGLE: dict[str, re.Pattern[str]] = {
    "lives_in": re.compile(r" lives in (?P<v>.+)$"),
    "works_at": re.compile(r" works at (?P<v>.+)$"),
    "name": re.compile(r"'s name is (?P<v>.+)$"),
    "age": re.compile(r" is (?P<v>\d{1,3}) years old$"),
    "from": re.compile(r" is from (?P<v>.+)$"),
    "partner": re.compile(r"'s partner is (?P<v>.+)$"),
    "diet": re.compile(r" is (?P<v>vegetarian|vegan|pescatarian)$", re.IGNORECASE),
    "favourite": re.compile(r"'s favou?rite .+? is (?P<v>.+)$"),
}
#: many-valued facts: name -> the rule's text
_MANY: dict[str, re.Pattern[str]] = {
    "allergy": re.compile(r" is allergic to (?P<v>.+)$"),
    "languages": re.compile(r" speaks (?P<v>.+)$"),
    "has": re.compile(r" has (?P<v>(?:a|an|two|three) .+)$"),
    "plan": re.compile(r" plans to (?P<v>.+)$"),
}
_UNTRACKED = re.compile(r"^(?P<s>.+?) (?P<verb>likes|loves|prefers|dislikes|hates) (?P<v>.+)$")


def strength_word(value: float) -> str:
    """How strongly: loves (>= .8), likes (>= .15), mixed, dislikes (<= -.15),
    hates (<= -.8)."""
    if value >= 0.8:
        return "loves"
    if value >= 0.15:
        return "likes"
    if value <= -0.8:
        return "hates"
    if value <= -0.15:
        return "dislikes"
    return "mixed"


@dataclass
class PreferenceView:
    """One topic's current preference. ``current``/``short``/``long`` in [-1, 1]
    (likes > 0); ``tracked`` is false for a memory the tracker did not write
    (one observation, read from its text)."""

    topic: str
    value: str
    subject: str
    stance: str
    current: float
    short: float
    long: float
    drift: float
    drifting: bool
    confidence: float
    observations: int
    positive: int
    negative: int
    memory_id: str
    text: str
    tracked: bool = True
    since: str | None = None
    last_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ProfileAttribute:
    """A fact about the subject: ``name`` (``lives_in``, ``favourite:food``,
    ``allergy``...), its ``value`` and the memory it is read from."""

    name: str
    value: str
    subject: str
    memory_id: str
    text: str
    since: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Profile:
    user_id: str | None
    subject: str | None
    preferences: list[PreferenceView] = field(default_factory=list)
    attributes: list[ProfileAttribute] = field(default_factory=list)

    def attribute(self, name: str) -> list[ProfileAttribute]:
        """The values of attribute ``name`` about the main subject."""
        return [a for a in self.attributes if a.name == name and a.subject == self.subject]

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "subject": self.subject,
                "preferences": [p.to_dict() for p in self.preferences],
                "attributes": [a.to_dict() for a in self.attributes]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Profile:
        """The profile :meth:`to_dict` wrote (the HTTP client reads it back)."""
        return cls(user_id=d.get("user_id"), subject=d.get("subject"),
                   preferences=[PreferenceView(**p) for p in d.get("preferences") or []],
                   attributes=[ProfileAttribute(**a) for a in d.get("attributes") or []])


def iter_memories(store: Store, scope: Scope, limit: int = MAX_MEMORIES) -> Iterator[Memory]:
    """The active fact, preference and plan memories of ``scope``, newest first."""
    cursor: str | None = None
    seen = 0
    filters = SearchFilters(kinds=_KINDS)
    while seen < limit:
        page = store.list_memories(scope, filters, min(500, limit - seen), cursor)
        for m in page.items:
            if isinstance(m, Memory):
                seen += 1
                yield m
        cursor = page.next_cursor
        if cursor is None or not page.items:
            return


def _subject(m: Memory, fallback: str) -> str:
    hit = _UNTRACKED.match(m.text) or re.match(r"^(?P<s>.+?)(?:'s | )", m.text)
    return hit.group("s") if hit else fallback


def _since(m: Memory) -> str | None:
    return format_dt(m.valid_from or m.created_at)


def _preference(m: Memory) -> PreferenceView | None:
    raw = m.metadata.get(METADATA_KEY)
    state = PreferenceState.from_dict(raw) if isinstance(raw, dict) else None
    hit = _UNTRACKED.match(m.text)
    tracked = state is not None
    if state is None:
        if hit is None:
            return None
        verb = "dislikes" if hit.group("verb") in ("dislikes", "hates") else "likes"
        x = wording_strength(f"i {hit.group('verb')} {hit.group('v')}", hit.group("v"), verb)
        state, _ = observe(None, x, m.valid_from or m.created_at, topic_key(hit.group("v")))
    value = hit.group("v") if hit else state.topic
    return PreferenceView(
        topic=state.topic, value=value, subject=hit.group("s") if hit else "",
        stance=strength_word(state.current), current=round(state.current, 3),
        short=round(state.short, 3), long=round(state.long, 3), drift=round(state.drift, 3),
        drifting=state.drifting(), confidence=state.confidence(), observations=state.n,
        positive=state.positive, negative=state.negative, memory_id=m.id, text=m.text,
        tracked=tracked, since=state.changed_at, last_at=state.last_at)


def _attributes(m: Memory, subject: str) -> Iterator[ProfileAttribute]:
    if m.attribute is not None and not is_tracked(m):
        name = m.attribute.split(":", 1)[1] if ":" in m.attribute else m.attribute
        pattern = _SINGLE.get(name.split(":", 1)[0])
        hit = pattern.search(m.text) if pattern is not None else None
        yield ProfileAttribute(name, hit.group("v") if hit else m.text, subject, m.id, m.text,
                               _since(m))
        return
    for name, pattern in _MANY.items():
        hit = pattern.search(m.text)
        if hit is not None:
            yield ProfileAttribute(name, hit.group("v"), subject, m.id, m.text, _since(m))
            return


def build_profile(store: Store, scope: Scope, *, now: datetime | None = None) -> Profile:
    """The profile of ``scope``'s user (or agent) across its sessions (module
    docstring). ``now`` is accepted for symmetry with reads; nothing decays."""
    owner = scope.with_session(None)
    prefs: list[PreferenceView] = []
    attrs: list[ProfileAttribute] = []
    subjects: Counter[str] = Counter()
    for m in iter_memories(store, owner):
        subject = _subject(m, "")
        if m.kind == MemoryKind.PREFERENCE and (
                m.attribute is None or is_tracked(m)):
            view = _preference(m)
            if view is not None:
                prefs.append(view)
                subjects[view.subject] += 1
                continue
        for attr in _attributes(m, subject):
            attrs.append(attr)
            subjects[subject] += 1
    prefs.sort(key=lambda p: (-abs(p.current) * p.confidence, p.topic))
    main = subjects.most_common(1)[0][0] if subjects else None
    return Profile(user_id=scope.user_id, subject=main, preferences=prefs, attributes=attrs)
