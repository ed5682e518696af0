"""Stage 2, derive: episodes -> candidate memories.

:class:`RuleDeriver` needs no model: it recognises first-person statements of
durable facts ("I moved to Lisbon", "I work at Acme", "my favourite food is
sushi", "I'm allergic to nuts", "I'm planning to visit Japan"; an activity kept up, "I
play the violin", "I've taken up climbing"; how one gets to work, "I cycle to work"; an
occupation, "I'm an ICU nurse"; a habit told with how often, "I go to CrossFit three
times a week") and rewrites them in the third person. A standing instruction to the
assistant ("Always use APA style when I ask about references", :mod:`.instructions`)
becomes a ``procedure`` memory with its topic first; the open rules ("I like ...", "I'm
going to ...") keep only a value that is a fact about the speaker (:mod:`.openvalue`).
Every value is read in the third person ("my" -> "their") and runs to a stop: a dot
inside a word or after a title is none ("Socket.IO", "St. Louis"). What a rule's value
must be (a name, a place, a pet, an occupation, ...) is read by :mod:`.valueread`; what
is cut from it or closed (a marker, a manner, a hanging word, an open quote) by
:mod:`.valueclean`.
Single-valued facts carry an ``attribute`` key
(``lives_in``, ``works_at``, ``commute``...) so consolidation can supersede an old value
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ..models import Episode, MemoryKind, Scope, SearchFilters
from ..text import query_terms
from .instructions import Instruction, instruction_text, read_instructions
from .openvalue import SHORT_END_WORDS, as_theirs, liked, planned, preferred
from .valueclean import clean_value
from .valueread import (
    AS_A_RULE,
    a_home,
    a_home_by_name,
    a_kind_of_home,
    a_known_home,
    a_name,
    a_pet,
    a_place,
    activity,
    an_adoptee,
    commute,
    habit,
    job,
    languages,
    learnt,
    pastime,
    subject_of_study,
)

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


#: a value runs to a stop; a dot inside a word is no stop ("Socket.IO", "index.html", "v2.1"),
#: nor the dot of a title or a place's abbreviation before a name ("St. Louis", "Dr. Patel")
_ABBREVIATED = "".join(rf"(?<!\b{a})" for a in ("St", "Mt", "Ft", "Dr", "Mr", "Mrs", "Ms",
                                                 "Jr", "Sr", "Pt"))
_STOP = r"(?:" + _ABBREVIATED + r"\.(?![\w/])|[,;!?\n])"
_VALUE = r"(?P<value>(?:[^.,;!?\n]|(?!" + _STOP + r")\.){2,60}?)"
_END = (r"(?=\s*(?:" + _STOP + r"|$|\s(?:" + SHORT_END_WORDS + r")\s|\s(?:that['’]?s|which is)"
        r" why\b))")
#: A clause may open on a list of words that each describe what follows ("I prefer simple,
#: minimal dependencies", "clear, measurable goals"): a lower-case word and a comma, and
#: after it no word that opens another clause or only weighs ("it's", "how", "thanks",
#: "especially")
_DESCRIBED = (r"(?:[a-z][a-z-]*,\s(?!(?:and|but|or|so|how|what|which|who|when|where|why|if|as|"
              r"because|since|though|although|i|i'm|i’m|it|it's|it’s|its|we|you|he|she|they|"
              r"there|this|that|these|those|please|thanks|thank|can|could|would|will|not|"
              r"rather|especially|also|too|then|even|just|really|obviously|definitely|to|for|"
              r"with|in|on|at|by|from|of|over|than|instead|no|yes|yeah|ok|sure|"
              r"[a-z]+ly)\b(?!-))(?=[a-z]))?")
#: a preference runs to the end of its clause (:func:`~engram.ingest.openvalue.preferred`
#: reads it): over "with", "for", "over" and "to", which say what it is ("step-by-step
#: explanations with concrete examples like coin tosses to grasp probability"), not over
#: a new clause ("so ...", "but ...", "and I ...")
_VALUE_CLAUSE = (r"(?P<value>" + _DESCRIBED + r"(?:[^.,;!?\n]|(?!" + _STOP
                 + r")\.){2,200}?)")
_END_CLAUSE = (r"(?=\s*(?:" + _STOP + r"|$|\s(?:but|because|since|so|though|although|whereas|"
               r"cause|'cause)\s|\s(?:and|or|then|as|where)\s+(?:i|i'm|i’m|i've|i’ve|i'd|"
               r"i’d|i'll|i’ll|we|we're|we’re|we've|we’ve|you|you're|you’re|it|it's|it’s|he|"
               r"she|they|there|my|our)\s))")
#: the words that may lean "I prefer" ("I usually prefer", "I tend to prefer")
_LEANING = (r"(?:usually|really|much|generally|definitely|still|also|actually|honestly|"
            r"personally|always|mostly|normally|typically|kind of|kinda|sort of|tend to|"
            r"do|would much|very much)")
#: "preference " and the words that may qualify it
_PREFERENCE = r"(?:strong |clear |personal |own |real |slight )?preference "
#: where a named thing ends: also before a clause it does not hold ("I switched to Apple
#: Music when the family plan went up"); a plan's or a liking's clause may hold one ("I
#: plan to check if it works", "I like it when it snows")
_END_NAMED = (r"(?=\s*(?:" + _STOP + r"|$|\s(?:and|but|because|since|with|for|so|when|whenever|"
              r"while|after|before|until|unless|if|though|although|which|who|whereas|cause|"
              r"'cause)\s))")
#: an optional discourse word or time before a clause ("These days my favourite hobby is
#: pottery", "Honestly, I prefer tea", "Last year I took up pottery")
LEAD = (r"(?:(?=[tnlhcarpoyibe])"  # their first letters: most clause starts try no word
        r"(?:these days|nowadays|lately|honestly|currently|at the moment|right now|anyway|"
        r"also|plus|oh|yeah|btw|by the way|in fact|to be honest|tbh|recently|"
        r"(?:last|this|earlier this) (?:year|month|week|spring|summer|autumn|fall|winter))"
        r"\s*,?\s+)?")
#: where a first-person clause starts
_I = (r"(?:^|[.!?:;]\s+|,\s*|\b(?:and|so|but|now|actually|well|because|cause|cuz|coz|since)\s+)"
      + LEAD)
#: a clause of time or cause put first with no comma ("Since we moved I have to drive to
#: work", "Now that we live in town I walk to work"; not "if": a condition): the rules
#: read the text with a comma put before its "I" (:func:`_fronted`), one pass a message
#: instead of one more alternative at every position of every rule
_FRONTED = re.compile(r"((?:^|[.!?;]\s+)(?:since|after|now that|ever since|because) "
                      r"(?:we|they|he|she|it|the|my|our) [^,.;!?\n]{1,40}?) (?=i\b)",
                      re.IGNORECASE)


_FRONT_WORD = re.compile(r"\b(?:since|after|now that|because)\b", re.IGNORECASE)


def _fronted(text: str) -> tuple[str, tuple[int, ...]]:
    """``text`` with a comma after each fronted clause of time or cause (:data:`_FRONTED`),
    and where each comma was put in the text returned (:func:`_as_said` maps back)."""
    if not _FRONT_WORD.search(text):
        return text, ()
    ends = [m.end(1) for m in _FRONTED.finditer(text)]
    out, last = [], 0
    for e in ends:
        out += [text[last:e], ","]
        last = e
    return "".join([*out, text[last:]]), tuple(e + k for k, e in enumerate(ends))


def _as_said(position: int, commas: tuple[int, ...]) -> int:
    """A ``position`` in :func:`_fronted`'s text, in the text as it was said."""
    return position - sum(1 for c in commas if c < position)
#: the words of a diet (single-valued: a new one supersedes the old)
_DIET = r"(?P<value>vegetarian|vegan|pescatarian)\b"
#: a job title ("a nurse", "an ICU nurse", "a software engineer"), read by :func:`job`
_TITLE = r"an? [\w-]+(?: [\w-]+){0,2}?"
#: a job title and where ("a nurse at St Mary's")
_JOB = r"(?P<value>" + _TITLE + r"(?: (?:at|for|with|in) [^.,;!?\n]{2,60}?)?)"
#: a person's name: one or two words, read by :func:`a_name`
_NAME = r"(?P<value>[^\W\d_][\w-]*(?: [^\W\d_][\w-]*)?)"
#: the words for one's partner
_PARTNER = r"(?:wife|husband|partner|girlfriend|boyfriend|fianc[ée]e?)"


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    kind: MemoryKind
    template: str  # "{subject} lives in {value}"
    attribute: str | None = None
    importance: float = 0.6
    #: a test of the value as written, where the words alone do not say enough
    accepts: Callable[[str], bool] | None = None
    #: the value the memory says, read from the value as written (``None``: none):
    #: "tennis every Sunday morning" -> "tennis"; applied before ``accepts``
    reads: Callable[[str], str | None] | None = None
    #: the rule's clause opens with "I", "my" or "we": it can match only where
    #: :data:`_CLAUSE` does (:func:`_matches`)
    first_person: bool = False
    #: a word every match holds, searched first (a rule that opens with its value)
    needs: re.Pattern[str] | None = None


def _rule(
    regex: str, kind: MemoryKind, template: str, attribute: str | None = None, imp: float = 0.6,
    accepts: Callable[[str], bool] | None = None, reads: Callable[[str], str | None] | None = None,
    needs: str | None = None,
) -> _Rule:
    body = regex[len(_I):] if regex.startswith(_I) else ""
    first = body.startswith(("i", "my ", "we", "(?:i|we)"))
    return _Rule(re.compile(regex, re.IGNORECASE), kind, template, attribute, imp, accepts,
                 reads, first, None if needs is None else re.compile(needs, re.IGNORECASE))


def _matches(rule: _Rule, text: str, clauses: Sequence[int]) -> Iterator[re.Match[str]]:
    """``rule.pattern.finditer(text)``, tried only at ``clauses`` (the places a clause
    in the first person opens, :data:`_CLAUSE`) for a rule whose clause opens so: the
    same matches, without trying the pattern at every character of a long message."""
    if not rule.first_person:
        if rule.needs is None or rule.needs.search(text):
            yield from rule.pattern.finditer(text)
        return
    end = 0
    for at in clauses:
        if at < end:
            continue
        m = rule.pattern.match(text, at)
        if m is not None:
            end = max(m.end(), at + 1)
            yield m


#: where a clause in the first person opens ("I ...", "my ...", "we ..."): every match of
#: a rule whose clause opens so starts at one of these
_CLAUSE = re.compile(r"(?=" + _I + r"(?:i|my|we)\b)", re.IGNORECASE)

_RULES: list[_Rule] = [
    _rule(_I + r"i(?:'ve| have)? (?:just )?(?:moved|relocated) to " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8, a_home),
    # "we moved to X" names a place only sometimes ("we moved to Slack for chat")
    _rule(_I + r"we(?:'ve| have)? (?:just |recently |finally |eventually )?(?:moved|relocated) "
          r"to " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8, a_place),
    # where one lives by its name ("Leeds", "new york", "a house in Leeds") holds one
    # value; the kind of home ("a dorm", "a flat above the bakery", "the suburbs") is
    # another attribute, and "I live in a dorm" leaves "lives in San Francisco" standing
    _rule(_I + r"i(?:'m| am) (?:now )?(?:living|based) in " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8, a_home_by_name),
    _rule(_I + r"i (?:now )?live in " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8, a_home_by_name),
    _rule(_I + r"i(?:'m| am) (?:now )?living in " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "home", 0.7, a_kind_of_home),
    _rule(_I + r"i (?:now )?live in " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "home", 0.7, a_kind_of_home),
    # "we live in X" for a place or a proper name only ("We live in Hackney"; not "we
    # live in a world where ...", "we live in interesting times")
    _rule(_I + r"we (?:now |still |currently )?live in " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8, a_known_home),
    _rule(_I + r"i(?:'m| am)? (?:now )?(?:work|working) (?:(?:night |day |early |late |weekend )?"
          r"shifts |part[- ]time |full[- ]time |nights |weekends )?(?:at|for) " + _VALUE
          + _END_NAMED,
          MemoryKind.FACT, "{subject} works at {value}", "works_at", 0.8),
    _rule(_I + r"i (?:just )?(?:started|got) a (?:new )?job (?:at|with) " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} works at {value}", "works_at", 0.8),
    _rule(_I + r"i (?:just |recently |finally )?started a new job as " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} works as {value}", None, 0.8),
    # an occupation said as what one is: "I'm a nurse", "I am an ICU nurse at St Mary's",
    # "I'm a colour technologist from Port Michael" (where one is from is no part of it),
    # "I retrained as a plumber"
    _rule(_I + r"i(?:'m|’m| am) (?:now |currently |still )?" + _JOB
          + r"(?: from [^.,;!?\n]{2,40}?)?" + _END_NAMED,
          MemoryKind.FACT, "{subject} works as {value}", None, 0.7, reads=job),
    # what one speaks as, opening a sentence: "As a nurse, I see this a lot", "As a
    # software engineer I sit all day" (not "As a kid, I ...", "As a vegetarian, I ...")
    _rule(r"(?:^|[.!?]\s+)as (?P<value>" + _TITLE + r"),? (?:i|i'm|i’m|i've|my)\b",
          MemoryKind.FACT, "{subject} works as {value}", None, 0.7, reads=job,
          needs=r"\bas an? "),
    # "I've been a nurse for ten years"
    _rule(_I + r"i(?:'ve|’ve| have) been " + _JOB + r" (?:for|since) ",
          MemoryKind.FACT, "{subject} works as {value}", None, 0.7, reads=job),
    # what one studies, and where: "I study at NYU", "I study law here in Orlando", "I'm
    # majoring in Psychology", "my major is in computer science", "I'm a student at UCL"
    _rule(_I + r"i(?:'m|’m| am)? (?:currently |now )?(?:study|studying) at " + _VALUE
          + _END_NAMED, MemoryKind.FACT, "{subject} studies at {value}", "school", 0.7,
          a_name),
    _rule(_I + r"i(?:'m|’m| am) (?:a |an )?(?:[\w-]+ )?student at " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} studies at {value}", "school", 0.7, a_name),
    *(_rule(_I + lead + r" (?P<value>[A-Za-z]+(?: (?:and |& )?[A-Za-z]+){0,3})" + _END_NAMED,
            MemoryKind.FACT, "{subject} majors in {value}", "major", 0.7,
            reads=subject_of_study)
      for lead in (r"i(?:'m|’m| am) majoring in", r"my major is(?: in)?")),
    _rule(_I + r"i study (?P<value>(?!at\b|for\b|hard\b|a lot\b|all\b|with\b)"
          r"[a-z]+(?: (?!here\b)[a-z]+)?) (?:here )?(?:at|in) (?-i:[A-Z])",
          MemoryKind.FACT, "{subject} studies {value}", "subject", 0.6),
    _rule(_I + r"i(?:'m|’m| am) (?:now |happily |semi-)?retired\b",
          MemoryKind.FACT, "{subject} is retired", None, 0.7),
    _rule(_I + r"i(?:'ve| have)? (?:just |finally )?(?:retrained|qualified|trained) as "
          r"(?P<value>" + _TITLE + ")" + _END_NAMED,
          MemoryKind.FACT, "{subject} works as {value}", None, 0.7, reads=job),
    _rule(_I + r"i(?:'m| am)? (?:now )?(?:work|working) as " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} works as {value}", None, 0.7),
    # an animal or a child adopted, not a standard or a tool ("we've adopted the APA 7th
    # edition", "adopted version control")
    _rule(_I + r"(?:i|we)(?:'ve|’ve| have)? (?:just |recently |finally |also )?adopted " + _VALUE
          + _END_NAMED,
          MemoryKind.FACT, "{subject} has {value}", None, 0.7, an_adoptee),
    # what one switched from is not what one uses: "I switched to the gel cream from the
    # water gel when ..."
    _rule(_I + r"i(?:'ve| have)? (?:just |recently |finally )?switched to " + _VALUE
          + r"(?:\s+from\s(?:(?!" + _STOP + r")[^.,;!?\n]){2,60}?)?" + _END_NAMED,
          MemoryKind.PREFERENCE, "{subject} uses {value}", None, 0.6),
    _rule(_I + r"i (?:now )?drive (?!(?:in )?to\b|home\b|in\b|back\b|around\b)" + _VALUE
          + _END_NAMED,
          MemoryKind.FACT, "{subject} drives {value}", None, 0.6),
    _rule(_I + r"i (?:now |also |still )?own (?!up\b)" + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} owns {value}", None, 0.6),
    # an activity one keeps up: "I play tennis every Sunday", "I play the violin in a band"
    _rule(_I + r"i (?:still |now |also |regularly |usually |often |mostly )?play " + _VALUE
          + _END_NAMED, MemoryKind.FACT, "{subject} plays {value}", None, 0.6, reads=activity),
    # a language or an instrument one is learning: "I'm learning Spanish on Duolingo"
    _rule(_I + r"i(?:'m| am|'ve been| have been) (?:now |still |also )?learning " + _VALUE
          + _END_NAMED,
          MemoryKind.FACT, "{subject} is learning {value}", None, 0.6, reads=learnt),
    # exercise kept up, told by how far or how often: "I run about twenty miles a week",
    # "I swim every morning", "I cycle three times a week"
    _rule(_I + r"i (?:usually |still |now |also |normally )?(?P<what>run|swim|jog|cycle|hike|"
          r"row) (?P<value>(?:about |around |roughly |over |at least )?(?:\d+|a|one|two|three|"
          r"four|five|six|seven|eight|nine|ten|fifteen|twenty|thirty|forty|fifty|a hundred) "
          r"(?:miles?|km|kilometres|kilometers|k|laps|lengths) (?:a|per|each|every) "
          r"(?:day|week|month)|(?:every|most) (?:day|morning|evening|night|weekend|other day)|"
          r"(?:once|twice|\w+ times) a (?:day|week|month))\b",
          MemoryKind.FACT, "{subject} {what}s {value}", None, 0.6),
    # a membership or an account: "I'm a member of PureGym", "I bank with Barclays"
    _rule(_I + r"i(?:'m|’m| am) (?:now |still |also )?a member (?:of|at) " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} is a member of {value}", None, 0.6),
    _rule(_I + r"i (?:now |still |also )?bank with " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} banks with {value}", None, 0.6),
    # somewhere one goes as a habit: "I go to CrossFit three times a week"
    _rule(_I + r"i (?:usually |regularly |still |also |now )?go to " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} goes to {value}", None, 0.6, reads=habit),
    _rule(_I + r"i(?:'ve| have)? (?:just |recently |finally )?(?:taken|took) up " + _VALUE
          + _END_NAMED, MemoryKind.FACT, "{subject} does {value}", None, 0.6, reads=pastime),
    # how one gets to work (one way at a time): "I commute by train", "I cycle to work",
    # "I take the bus to work", "I've started driving to work", "I have to drive to work"
    _rule(_I + r"i (?:now |usually |normally |mostly |still )?commute (?:in )?(?:by |on )?"
          + _VALUE + _END_NAMED, MemoryKind.FACT, "{subject} commutes {value}", "commute", 0.6,
          reads=commute),
    _rule(_I + r"i" + AS_A_RULE + r"? (?P<value>cycle|bike|walk|drive|run|"
          r"cycling|biking|walking|driving|running) (?:in )?to work\b",
          MemoryKind.FACT, "{subject} commutes {value}", "commute", 0.6, reads=commute),
    _rule(_I + r"i" + AS_A_RULE + r"? (?:take|get|catch|ride|taking|getting|catching|riding) "
          r"(?P<value>(?:the |a |my )?[a-z]+) (?:in )?to work\b",
          MemoryKind.FACT, "{subject} commutes {value}", "commute", 0.6, reads=commute),
    # where one is from: "I'm from Port Michael originally", "I grew up in Manchester",
    # "I was born in Lagos" (a place: not "I'm from the future", "born in 1985")
    _rule(_I + r"i(?:'m|’m| am) (?:originally )?from " + _VALUE + r"(?:,? originally)?"
          + _END_NAMED, MemoryKind.FACT, "{subject} is from {value}", "from", 0.7, a_home),
    _rule(_I + r"i (?:grew up|was born and raised|was raised) in " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} grew up in {value}", "grew_up", 0.7, a_home),
    _rule(_I + r"i was born in (?!(?:19|20)\d\d\b)" + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} was born in {value}", "born_in", 0.7, a_home),
    _rule(_I + r"i (?:can )?speak (?P<value>(?:fluent |some |a little |a bit of |basic )?"
          r"[A-Z][a-z]+(?:(?:,| and| or) (?:fluent |some |a little |a bit of |basic )?"
          r"[A-Z][a-z]+){0,3})" + _END_NAMED,
          MemoryKind.FACT, "{subject} speaks {value}", None, 0.7, reads=languages),
    # one the owner names by their name: "My wife's name is Priya", "My dog is called
    # Rex", "my brother's name is Jake"
    _rule(_I + r"my " + _PARTNER + r"(?:['’]s name is| is called) " + _NAME + _END,
          MemoryKind.FACT, "{subject}'s partner is {value}", "partner", 0.8, a_name),
    _rule(_I + r"my (?P<what>son|daughter|brother|sister|mum|mom|mother|dad|father|"
          r"grandma|grandmother|grandpa|grandfather|aunt|uncle|cousin|niece|nephew|"
          r"best friend|boss|dog|cat|puppy|kitten|rabbit|hamster|horse|parrot|tortoise|"
          r"baby)(?:['’]s name is| is called| is named) " + _NAME + _END,
          MemoryKind.FACT, "{subject} has a {what} called {value}", None, 0.7, a_name),
    _rule(_I + r"my name is " + _VALUE + _END,
          MemoryKind.FACT, "{subject}'s name is {value}", "name", 0.9),
    _rule(_I + r"i(?:'m| am) (?P<value>\d{1,3}) years old",
          MemoryKind.FACT, "{subject} is {value} years old", "age", 0.7),
    _rule(_I + r"my " + _PARTNER + r" (?:is|'s) "
          + _VALUE + _END, MemoryKind.FACT, "{subject}'s partner is {value}", "partner", 0.8),
    # named beside the word ("My boyfriend Tom and I go hiking"), or by the relation
    # ("I'm dating Alex now", "I'm engaged to Sam"): a capitalised name only
    # (after a comma, a name set apart by one: "My wife, Priya, loves ..."; not a list,
    # "My girlfriend, Toby and I are going camping")
    _rule(_I + r"my " + _PARTNER + r"(?: |, (?=[^\W\d_][\w-]*,(?!\s+and\b)))"
          r"(?P<value>[^\W\d_][\w-]*)(?=(?:['’]s)?\b)",
          MemoryKind.FACT, "{subject}'s partner is {value}", "partner", 0.8, a_name),
    _rule(_I + r"i(?:'m|’m| am) (?:now |currently )?(?:dating|engaged to|married to) "
          + _NAME + _END,
          MemoryKind.FACT, "{subject}'s partner is {value}", "partner", 0.8, a_name),
    _rule(_I + r"i(?:'m|’m| am|'ve been|’ve been| have been) (?:now )?(?:seeing|dating) "
          r"(?:someone|somebody|a guy|a girl|a man|a woman) (?:called|named) "
          r"(?P<value>[^\W\d_][\w-]*)(?:,? now| these days)?" + _END,
          MemoryKind.FACT, "{subject}'s partner is {value}", "partner", 0.8, a_name),
    _rule(_I + r"my favou?rite (?P<what>[a-z ]{2,30}?) is " + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject}'s favourite {what} is {value}", "favourite:{what}",
          0.7),
    # the value first: "Ramen has become my favourite food", "Sushi is my new favourite food"
    _rule(_I + r"(?!(?:it|that|this|what|which|who|he|she|they|there|my|our|your)\b)"
          r"(?P<value>[^\W\d_][\w'’-]*(?: [\w'’-]+){0,3}?) (?:has (?:now )?become|is (?:now )?)"
          r" ?my (?:new )?favou?rite (?P<what>[a-z ]{2,30}?)" + _END,
          MemoryKind.PREFERENCE, "{subject}'s favourite {what} is {value}", "favourite:{what}",
          0.7, needs=r"\bmy (?:new )?favou?rite\b"),
    _rule(_I + r"i(?:'m| am) allergic to " + _VALUE + _END,
          MemoryKind.FACT, "{subject} is allergic to {value}", None, 0.9),
    _rule(_I + r"i(?:'m| am) (?:now )?(?:fully |completely |strictly )?(?:a |an )?" + _DIET,
          MemoryKind.PREFERENCE, "{subject} is {value}", "diet", 0.8),
    _rule(_I + r"i(?:'ve| have)? (?:gone|become|became|went|turned) "
          r"(?:fully |completely |strictly )?(?:a |an )?" + _DIET,
          MemoryKind.PREFERENCE, "{subject} is {value}", "diet", 0.8),
    _rule(_I + r"i(?:'m|’m| am) (?:a |an )(?:big |huge |massive |great |real |long-time |"
          r"lifelong |die-hard )?(?:fan|lover) of (?!both\b|all\b|any\b)" + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} likes {value}", None, 0.5, reads=liked),
    _rule(_I + r"i (?:really )?(?:love|like|enjoy|adore) " + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} likes {value}", None, 0.5, reads=liked),
    _rule(_I + r"i (?:" + _LEANING + r" )?prefer " + _VALUE_CLAUSE + _END_CLAUSE,
          MemoryKind.PREFERENCE, "{subject} prefers {value}", None, 0.6, reads=preferred),
    _rule(_I + r"i(?:'ve|’ve| have) (?:always |long |usually )?preferred " + _VALUE_CLAUSE
          + _END_CLAUSE,
          MemoryKind.PREFERENCE, "{subject} prefers {value}", None, 0.6, reads=preferred),
    # "I'd rather take the train than fly"
    _rule(_I + r"i(?:'d|’d| would) (?:much |really |honestly |generally )?rather "
          + _VALUE_CLAUSE + _END_CLAUSE,
          MemoryKind.PREFERENCE, "{subject} would rather {value}", None, 0.6, reads=preferred),
    # "I'm more of a tea person"
    _rule(_I + r"i(?:'m|’m| am) (?:definitely |much |way |probably )?more (?:of )?"
          r"(?P<value>an? [\w-]+(?: [\w-]+){0,2}? (?:person|type|guy|girl))\b",
          MemoryKind.PREFERENCE, "{subject} is more of {value}", None, 0.6, reads=liked),
    # "I've set a preference for CPU-only deployment", "I have a strong preference for
    # ...", "I stated my preference for ...", "my preference is (for) ..."
    _rule(_I + r"i(?:(?:'ve|’ve| have)(?: (?:set|got|expressed|stated|developed|made))?|"
          r" (?:set|expressed|stated|made)) (?:a|my) " + _PREFERENCE + r"for "
          + _VALUE_CLAUSE + _END_CLAUSE,
          MemoryKind.PREFERENCE, "{subject} prefers {value}", None, 0.6, reads=preferred),
    _rule(_I + r"my " + _PREFERENCE + r"is (?:for |to )?" + _VALUE_CLAUSE + _END_CLAUSE,
          MemoryKind.PREFERENCE, "{subject} prefers {value}", None, 0.6, reads=preferred),
    # wherever it stands: "given my preference for ...", "as stated in my preference for"
    _rule(r"(?<![\w'’])my " + _PREFERENCE + r"for " + _VALUE_CLAUSE + _END_CLAUSE,
          MemoryKind.PREFERENCE, "{subject} prefers {value}", None, 0.6, reads=preferred,
          needs=r"\bmy (?:\w+ )?preference for\b"),
    _rule(_I + r"i (?:really |just |honestly )?(?:hate|dislike|detest|loathe|can't stand|"
          r"can’t stand|(?:don't|don’t|do not) (?:really |particularly |much )?like) "
          + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} dislikes {value}", None, 0.6, reads=liked),
    # "I'm not a fan of sushi", "I'm not really into football"
    _rule(_I + r"i(?:'m|’m| am) not (?:really |very |that |too |so |much of )?(?:(?:a |an )?"
          r"(?:big |huge |great |real )?(?:fan|lover) of|into|keen on) (?!both\b|all\b|any\b)"
          + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} dislikes {value}", None, 0.6, reads=liked),
    # "I'm really into bouldering" (a word of degree, or a doing: "I'm into the final
    # stretch" is no liking)
    _rule(_I + r"i(?:'m|’m| am) (?:(?:really|so|totally|super|very much|quite|pretty|big "
          r"time|deeply|seriously) into |into (?=\w+ing\b))" + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} likes {value}", None, 0.5, reads=liked),
    _rule(_I + r"i(?:'m| am) (?:planning|going|hoping) to " + _VALUE + _END,
          MemoryKind.PLAN, "{subject} plans to {value}", None, 0.5, reads=planned),
    _rule(_I + r"i (?:plan|intend|want) to " + _VALUE + _END,
          MemoryKind.PLAN, "{subject} plans to {value}", None, 0.5, reads=planned),
    # a pet of the table's list, named: "I have a tortoise called Shelly"
    _rule(_I + r"(?:i|we) (?:have|own) (?P<value>(?:a|an) [a-z]+ (?:called|named) "
          r"[A-Z][\w'-]*)", MemoryKind.FACT, "{subject} has {value}", None, 0.6, reads=a_pet),
    _rule(_I + r"i have (?P<value>(?:a|an|two|three) (?:dog|cat|pet|kid|child|son|daughter|"
          r"brother|sister)s?[^.,;!?\n]{0,40}?)" + _END_NAMED,
          MemoryKind.FACT, "{subject} has {value}", None, 0.6),
]

_PRONOUN_VALUES = {"it", "that", "this", "them", "him", "her", "you", "to", "there", "so"}


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
        # the speakers of the batch: one named at the end of a value is the one addressed
        names = frozenset(e.speaker.strip() for e in episodes if e.speaker and e.speaker.strip())
        for ep in episodes:
            if ep.role != "user":
                continue
            subject: str | None = None
            seen: set[str] = set()
            for ins in read_instructions(ep.text):
                if subject is None:
                    subject = self._subject(ep, episodes, display)
                out.append(_instruction(ins, subject, ep))
            others = names - {(ep.speaker or "").strip()}  # the ones it may address
            text_read, commas = _fronted(ep.text)
            clauses = [m.start() for m in _CLAUSE.finditer(text_read)]
            for rule in _RULES:
                for m in _matches(rule, text_read, clauses):
                    groups = m.groupdict()
                    value = _unaddressed(clean_value(groups.get("value") or ""), others)
                    if rule.reads is not None:
                        value = rule.reads(value) or ""
                    if "value" in groups and (
                        not value or value.lower() in _PRONOUN_VALUES or len(value) < 2
                        or (rule.accepts is not None and not rule.accepts(value))
                    ):
                        continue
                    value, what = as_theirs(value), as_theirs(clean_value(groups.get("what") or ""))
                    if subject is None:
                        subject = self._subject(ep, episodes, display)
                    if rule.attribute == "name" and value.lower() == subject.lower():
                        continue  # "My name is Kevin" said by Kevin tells nothing new
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
                            said=_sentence(ep.text, _as_said(m.start(), commas),
                                           _as_said(m.end(), commas)),
                        )
                    )
        return out


def _unaddressed(value: str, names: frozenset[str]) -> str:
    """``value`` without a speaker's name at its end, where the speaker is addressed ("I
    love the thought Nate!" said to Nate: "the thought")."""
    head, _, last = value.rpartition(" ")
    return head if head and last in names else value


def _instruction(ins: Instruction, subject: str, ep: Episode) -> Candidate:
    """A standing instruction (:mod:`.instructions`) as a ``procedure`` memory, its
    topic first: "When Ana asks about formatting references: always use APA ..."."""
    text = instruction_text(subject, ins)
    return Candidate(kind=MemoryKind.PROCEDURE, text=text, source_episode_ids=[ep.id],
                     subject=subject, entities=[subject_key(subject)],
                     keywords=query_terms(text)[:12], valid_from=ep.occurred_at,
                     importance=0.8, said=ep.text[ins.start:ins.end].strip())
