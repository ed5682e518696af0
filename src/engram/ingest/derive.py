"""Stage 2, derive: episodes -> candidate memories.

:class:`RuleDeriver` needs no model: it recognises first-person statements of
durable facts ("I moved to Lisbon", "I work at Acme", "my favourite food is
sushi", "I'm allergic to nuts", "I'm planning to visit Japan") and rewrites
them in the third person. Single-valued facts carry an ``attribute`` key
(``lives_in``, ``works_at``...) so consolidation can supersede an old value
deterministically. The LLM pipeline provides another :class:`Deriver` with the
same output.

The subject of a memory is named the same way for every message of a user
(:meth:`RuleDeriver.subject_names`): the message's ``speaker``; else the user's
display name, which is the one speaker name the user's own (``user``-role)
messages carry, in this batch or among the user's first
:data:`DISPLAY_NAME_WINDOW` stored episodes; else "the user". So "I moved to
Lisbon" said by Ana and a later "I love green tea" sent without a speaker
become "Ana lives in Lisbon" and "Ana likes green tea", never "User likes ...".
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ..models import Episode, MemoryKind, Scope, SearchFilters
from ..text import query_terms

if TYPE_CHECKING:
    from ..store.base import Store

__all__ = ["ANONYMOUS_SUBJECT", "DISPLAY_NAME_WINDOW", "LEAD", "Candidate", "Deriver",
           "RuleDeriver", "sentence_bounds", "subject_key"]

#: the subject of a user's statement when neither a speaker nor a display name is known
ANONYMOUS_SUBJECT = "the user"
#: how many of a user's first stored episodes are read for a display name
DISPLAY_NAME_WINDOW = 50


def subject_key(subject: str) -> str:
    """The subject part of an attribute key; "the user" keeps the key ``user`` it had
    when the anonymous subject was written "User", so old facts are still superseded."""
    key = subject.lower()
    return "user" if key == ANONYMOUS_SUBJECT else key


@dataclass
class Candidate:
    """A proposed memory, before consolidation."""

    kind: MemoryKind
    text: str
    source_episode_ids: list[str]
    subject: str
    attribute: str | None = None
    value: str | None = None
    entities: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    importance: float = 0.5
    #: the sentence the candidate was read from, where markers of change and
    #: correction live ("I finally switched to oat milk"); empty when unknown
    said: str = ""

    @property
    def attribute_key(self) -> str | None:
        if self.attribute is None:
            return None
        return f"{subject_key(self.subject)}:{self.attribute}"


class Deriver(ABC):
    """Proposes memories from a batch of new episodes (all in one scope)."""

    name: str

    @abstractmethod
    def derive(self, episodes: Sequence[Episode]) -> list[Candidate]:
        """Candidates citing the ids of the episodes that support them."""


_VALUE = r"(?P<value>[^.,;!?\n]{2,60}?)"
_END = r"(?=\s*(?:[.,;!?\n]|$|\s(?:and|but|because|since|with|for|so)\s))"
#: an optional discourse word before a clause ("These days my favourite hobby is
#: pottery", "Honestly, I prefer tea")
LEAD = (r"(?:(?=[tnlhcarpoyib])"  # their first letters: most clause starts try no word
        r"(?:these days|nowadays|lately|honestly|currently|at the moment|right now|anyway|"
        r"also|plus|oh|yeah|btw|by the way|in fact|to be honest|tbh)\s*,?\s+)?")
#: where a first-person clause starts
_I = r"(?:^|[.!?:;]\s+|,\s*|\b(?:and|so|but|now|actually|well)\s+)" + LEAD
#: the words of a diet (single-valued: a new one supersedes the old)
_DIET = r"(?P<value>vegetarian|vegan|pescatarian)\b"


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    kind: MemoryKind
    template: str  # "{subject} lives in {value}"
    attribute: str | None = None
    importance: float = 0.6
    #: a test of the value as written, where the words alone do not say enough
    accepts: Callable[[str], bool] | None = None


def _rule(
    regex: str, kind: MemoryKind, template: str, attribute: str | None = None, imp: float = 0.6,
    accepts: Callable[[str], bool] | None = None,
) -> _Rule:
    return _Rule(re.compile(regex, re.IGNORECASE), kind, template, attribute, imp, accepts)


#: capitalised words that are not names
_NOT_NAMES = frozenset({"I", "The", "A", "An", "And", "But", "My", "Our", "He", "She", "They",
                        "We", "You", "It", "This", "That", "Is", "Was", "Who", "Whom"})


def _a_name(value: str) -> bool:
    """A person's name as written: one or two capitalised words, none a function word
    ("Tom", "Alex Moreno"; not "someone", "my job", "And")."""
    names = value.split()
    return (0 < len(names) <= 2 and all(w[:1].isupper() for w in names)
            and not any(w in _NOT_NAMES for w in names))


def _a_place(value: str) -> bool:
    """A name of a place: capitalised words, the last one a city, country or place
    of the shipped category table ("Denver", "New York", "Porto"; not "Slack",
    "a bigger office"): "we moved to X" also names tools and teams."""
    from ..retrieval.expand import table  # the shipped WordNet table, read once

    names = value.split()
    if not names or len(names) > 3 or not all(w[:1].isupper() for w in names):
        return False
    known = table()
    last = names[-1].lower()
    return any(last in known.get(c, ()) for c in ("city", "country", "place"))


_RULES: list[_Rule] = [
    _rule(_I + r"i(?:'ve| have)? (?:just )?(?:moved|relocated) to " + _VALUE + _END,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8),
    # "we moved to X" names a place only sometimes ("we moved to Slack for chat")
    _rule(_I + r"we(?:'ve| have)? (?:just |recently |finally |eventually )?(?:moved|relocated) "
          r"to " + _VALUE + _END,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8, _a_place),
    _rule(_I + r"i(?:'m| am) (?:now )?(?:living|based) in " + _VALUE + _END,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8),
    _rule(_I + r"i (?:now )?live in " + _VALUE + _END,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8),
    _rule(_I + r"i(?:'m| am)? (?:now )?(?:work|working) (?:at|for) " + _VALUE + _END,
          MemoryKind.FACT, "{subject} works at {value}", "works_at", 0.8),
    _rule(_I + r"i (?:just )?(?:started|got) a (?:new )?job (?:at|with) " + _VALUE + _END,
          MemoryKind.FACT, "{subject} works at {value}", "works_at", 0.8),
    _rule(_I + r"i (?:just |recently |finally )?started a new job as " + _VALUE + _END,
          MemoryKind.FACT, "{subject} works as {value}", None, 0.8),
    _rule(_I + r"i(?:'m| am)? (?:now )?(?:work|working) as " + _VALUE + _END,
          MemoryKind.FACT, "{subject} works as {value}", None, 0.7),
    _rule(_I + r"(?:i|we) (?:just |recently |finally )?adopted " + _VALUE + _END,
          MemoryKind.FACT, "{subject} has {value}", None, 0.7),
    _rule(_I + r"i(?:'ve| have)? (?:just |recently |finally )?switched to " + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} uses {value}", None, 0.6),
    _rule(_I + r"i (?:now )?drive " + _VALUE + _END,
          MemoryKind.FACT, "{subject} drives {value}", None, 0.6),
    _rule(_I + r"my name is " + _VALUE + _END,
          MemoryKind.FACT, "{subject}'s name is {value}", "name", 0.9),
    _rule(_I + r"i(?:'m| am) (?P<value>\d{1,3}) years old",
          MemoryKind.FACT, "{subject} is {value} years old", "age", 0.7),
    _rule(_I + r"my (?:wife|husband|partner|girlfriend|boyfriend|fianc[ée]e?) (?:is|'s) "
          + _VALUE + _END, MemoryKind.FACT, "{subject}'s partner is {value}", "partner", 0.8),
    # named beside the word ("My boyfriend Tom and I go hiking"), or by the relation
    # ("I'm dating Alex now", "I'm engaged to Sam"): a capitalised name only
    _rule(_I + r"my (?:wife|husband|partner|girlfriend|boyfriend|fianc[ée]e?),? "
          r"(?P<value>[^\W\d_][\w-]*)(?=(?:['’]s)?\b)",
          MemoryKind.FACT, "{subject}'s partner is {value}", "partner", 0.8, _a_name),
    _rule(_I + r"i(?:'m|’m| am) (?:now |currently )?(?:dating|engaged to|married to) "
          r"(?P<value>[^\W\d_][\w-]*(?: [^\W\d_][\w-]*)?)" + _END,
          MemoryKind.FACT, "{subject}'s partner is {value}", "partner", 0.8, _a_name),
    _rule(_I + r"i(?:'m|’m| am|'ve been|’ve been| have been) (?:now )?(?:seeing|dating) "
          r"(?:someone|somebody|a guy|a girl|a man|a woman) (?:called|named) "
          r"(?P<value>[^\W\d_][\w-]*)(?:,? now| these days)?" + _END,
          MemoryKind.FACT, "{subject}'s partner is {value}", "partner", 0.8, _a_name),
    _rule(_I + r"my favou?rite (?P<what>[a-z ]{2,30}?) is " + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject}'s favourite {what} is {value}", "favourite:{what}",
          0.7),
    # the value first: "Ramen has become my favourite food", "Sushi is my new favourite food"
    _rule(_I + r"(?!(?:it|that|this|what|which|who|he|she|they|there|my|our|your)\b)"
          r"(?P<value>[^\W\d_][\w'’-]*(?: [\w'’-]+){0,3}?) (?:has (?:now )?become|is (?:now )?)"
          r" ?my (?:new )?favou?rite (?P<what>[a-z ]{2,30}?)" + _END,
          MemoryKind.PREFERENCE, "{subject}'s favourite {what} is {value}", "favourite:{what}",
          0.7),
    _rule(_I + r"i(?:'m| am) allergic to " + _VALUE + _END,
          MemoryKind.FACT, "{subject} is allergic to {value}", None, 0.9),
    _rule(_I + r"i(?:'m| am) (?:now )?(?:fully |completely |strictly )?(?:a |an )?" + _DIET,
          MemoryKind.PREFERENCE, "{subject} is {value}", "diet", 0.8),
    _rule(_I + r"i(?:'ve| have)? (?:gone|become|became|went|turned) "
          r"(?:fully |completely |strictly )?(?:a |an )?" + _DIET,
          MemoryKind.PREFERENCE, "{subject} is {value}", "diet", 0.8),
    _rule(_I + r"i (?:really )?(?:love|like|enjoy|adore) " + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} likes {value}", None, 0.5),
    _rule(_I + r"i prefer " + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} prefers {value}", None, 0.6),
    _rule(_I + r"i (?:really )?(?:hate|dislike|can't stand|don't like) " + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} dislikes {value}", None, 0.6),
    _rule(_I + r"i(?:'m| am) (?:planning|going|hoping) to " + _VALUE + _END,
          MemoryKind.PLAN, "{subject} plans to {value}", None, 0.5),
    _rule(_I + r"i (?:plan|intend|want) to " + _VALUE + _END,
          MemoryKind.PLAN, "{subject} plans to {value}", None, 0.5),
    _rule(_I + r"i have (?P<value>(?:a|an|two|three) (?:dog|cat|pet|kid|child|son|daughter|"
          r"brother|sister)s?[^.,;!?\n]{0,40}?)" + _END,
          MemoryKind.FACT, "{subject} has {value}", None, 0.6),
]

_PRONOUN_VALUES = {"it", "that", "this", "them", "him", "her", "you", "to", "there", "so"}


_TRAILING_TIME = re.compile(
    r"\s+(?:(?:last|this|next|the other)\s+(?:year|month|week|weekend|night|summer|winter|"
    r"spring|fall|autumn|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|yesterday|"
    r"today|tonight|tomorrow|recently|now|lately|again|too|as well|a while ago|these days|"
    r"(?:a few|two|three|\d+)\s+(?:days|weeks|months|years)\s+ago|"
    r"in\s+(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|\d{4}))$",
    re.IGNORECASE,
)


def _clean(value: str) -> str:
    value = value.strip().strip("\"'“”‘’").strip()
    value = re.sub(r"\s+", " ", value)
    while True:
        trimmed = _TRAILING_TIME.sub("", value)
        if trimmed == value:
            return value
        value = trimmed


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the sentence of ``text`` around ``text[start:end]`` starts, and where its
    end mark (".", "!", "?" or a line break) stands (``len(text)`` when it has none)."""
    left = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    ends = [i for i in (text.find(c, end) for c in ".!?\n") if i >= 0]
    return left, min(ends) if ends else len(text)


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` around ``text[start:end]``, without its end mark."""
    left, stop = sentence_bounds(text, start, end)
    return text[left:stop].strip()


class RuleDeriver(Deriver):
    """First-person durable statements, by rules. Only ``user`` turns are read.

    ``store`` (optional) is read for the user's display name (see the module
    docstring); without it only the batch itself names the user.
    """

    name = "rules"

    def __init__(self, store: Store | None = None) -> None:
        self.store = store

    def subject_names(self, episodes: Sequence[Episode]) -> dict[str, str]:
        """The subject for each ``user``-role episode id: its speaker, else the
        display name of its user, else :data:`ANONYMOUS_SUBJECT`."""
        display: dict[tuple[str, str | None], str | None] = {}
        return {ep.id: self._subject(ep, episodes, display) for ep in episodes
                if ep.role == "user"}

    def _subject(self, ep: Episode, batch: Sequence[Episode],
                 display: dict[tuple[str, str | None], str | None]) -> str:
        if ep.speaker and ep.speaker.strip():
            return ep.speaker.strip()
        owner = (ep.scope.tenant, ep.scope.user_id)
        if owner not in display:  # read once per user and batch, and only when needed
            display[owner] = self._display_name(ep.scope, batch)
        return display[owner] or ANONYMOUS_SUBJECT

    def _display_name(self, scope: Scope, batch: Sequence[Episode]) -> str | None:
        if scope.user_id is None:
            return None  # an agent's own memory: no user to name
        owner = Scope(user_id=scope.user_id, tenant=scope.tenant)
        seen = [e for e in batch if e.scope.tenant == owner.tenant
                and e.scope.user_id == owner.user_id]
        if self.store is not None:
            page = self.store.list_episodes(
                owner, SearchFilters(), DISPLAY_NAME_WINDOW)
            seen.extend(e for e in page.items if isinstance(e, Episode))
        names = {e.speaker.strip() for e in seen
                 if e.role == "user" and e.speaker and e.speaker.strip()}
        if len({n.lower() for n in names}) != 1:
            return None  # unknown, or several people speak as this user: do not guess
        return min(names)

    def derive(self, episodes: Sequence[Episode]) -> list[Candidate]:
        out: list[Candidate] = []
        display: dict[tuple[str, str | None], str | None] = {}
        for ep in episodes:
            if ep.role != "user":
                continue
            subject: str | None = None
            seen: set[str] = set()
            for rule in _RULES:
                for m in rule.pattern.finditer(ep.text):
                    groups = m.groupdict()
                    value = _clean(groups.get("value") or "")
                    if "value" in groups and (
                        not value or value.lower() in _PRONOUN_VALUES or len(value) < 2
                        or (rule.accepts is not None and not rule.accepts(value))
                    ):
                        continue
                    what = _clean(groups.get("what") or "")
                    if subject is None:
                        subject = self._subject(ep, episodes, display)
                    text = rule.template.format(subject=subject, value=value, what=what)
                    text = text[0].upper() + text[1:]
                    if text.lower() in seen:
                        continue
                    seen.add(text.lower())
                    attribute = rule.attribute.format(what=what.lower()) if rule.attribute else None
                    out.append(
                        Candidate(
                            kind=rule.kind,
                            text=text,
                            source_episode_ids=[ep.id],
                            subject=subject,
                            attribute=attribute,
                            value=value or None,
                            entities=[subject_key(subject)],
                            keywords=query_terms(text)[:12],
                            valid_from=ep.occurred_at,
                            importance=rule.importance,
                            said=_sentence(ep.text, m.start(), m.end()),
                        )
                    )
        return out
