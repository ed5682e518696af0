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
Every value is read in the third person ("my" -> "their"); it runs to a stop, and a dot
inside a word or after a title is none ("Socket.IO", "St. Louis"); a marker of symbols
after it ("->-> 2"), a manner ("on my own") or a word left hanging ("like", "and") is
cut, and a quote the cut left open is closed.
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
from functools import cache
from typing import TYPE_CHECKING

from ..models import Episode, MemoryKind, Scope, SearchFilters
from ..text import query_terms
from .instructions import Instruction, read_instructions
from .openvalue import as_theirs, liked, planned

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
_VALUE = r"(?P<value>(?:[^.,;!?\n]|\.(?=[\w/])|(?!" + _STOP + r")\.){2,60}?)"
_END = r"(?=\s*(?:" + _STOP + r"|$|\s(?:and|but|because|since|with|for|so)\s))"
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
_I = r"(?:^|[.!?:;]\s+|,\s*|\b(?:and|so|but|now|actually|well)\s+)" + LEAD
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



#: a remark in brackets at a value's end
_BRACKETED = re.compile(r"\s*\([^)]*\)?\s*$")
#: lower-case words inside a place's name ("Newcastle upon Tyne", "Isle of Man")
_NAME_JOINS = frozenset({"upon", "on", "of", "de", "la", "le", "del", "am", "sur", "the"})


#: where a lower-case value is not a place: a determiner first, or a word of work
_NOT_A_PLACE = frozenset({"a", "an", "the", "my", "our", "some", "another", "this", "that",
                          "team", "job", "shift", "shifts", "role", "department", "office",
                          "position", "work", "part-time", "full-time", "nights", "days",
                          "weekends", "management", "sales", "marketing", "support"})


def _lower_place(value: str) -> bool:
    """A place written in lower case ("denver", "new york", "san diego"): up to three
    words, none a determiner or a word of work ("a new team", "the night shift")."""
    names = value.split()
    return 0 < len(names) <= 3 and not any(w in _NOT_A_PLACE for w in names)


def _a_home(value: str, *, known: bool = False) -> bool:
    """Where one moved: a place of the shipped table (:func:`_a_place`), a proper name
    (:func:`_a_proper_place`) or, all in lower case, up to three words that are no
    determiner and no word of work (:func:`_lower_place`: "i moved to new york"); not "a
    GP surgery", "the night shift" or "part-time" ("I moved to a GP surgery" is a job). A
    remark in brackets after it is not read ("Lisbon (for work)"). With ``known`` (for "we
    live in X") a lower-case value must be a place of the table ("we live in denver"; not
    "we live in interesting times")."""
    value = _BRACKETED.sub("", value)
    if _a_place(value):
        return True
    if value.islower() and (_a_place(value.title()) if known else _lower_place(value)):
        return True
    return _a_proper_place(value)


def _a_known_home(value: str) -> bool:
    """:func:`_a_home` with ``known``."""
    return _a_home(value, known=True)


def _a_proper_place(value: str) -> bool:
    """A proper name of up to four words ("Harrogate", "the Netherlands", "Newcastle
    upon Tyne")."""
    names = re.sub(r"^the\s+", "", value, flags=re.IGNORECASE).split()
    return (0 < len(names) <= 4 and names[0][:1].isupper() and names[-1][:1].isupper()
            and names[0] not in _NOT_NAMES
            and all(w[:1].isupper() or w in _NAME_JOINS for w in names))


#: words of the table's sport, game and instrument lists that name no activity one plays
_NOT_PLAYED = frozenset({"game", "games", "sport", "sports", "numbers", "stops", "monte",
                         "bolivia", "trump", "bones", "vibes", "scissors", "rum", "jacks",
                         "singles", "doubles", "hardball", "spar", "kip", "upstart"})


@cache
def _table_words(*categories: str) -> frozenset[str]:
    """The instances of these categories in the shipped WordNet table (read once)."""
    from ..retrieval.expand import table

    known = table()
    return frozenset(w for c in categories for w in known.get(c, ()))


@cache
def _activities() -> frozenset[str]:
    """What one plays or does: the table's sports, games and instruments, and pastimes."""
    return (_table_words("sport", "game", "instrument") - _NOT_PLAYED) | _PASTIMES


@cache
def _adoptee_words() -> frozenset[str]:
    """Who is adopted: the table's pets, animals, dogs and cats, and this module's."""
    return _table_words("pet", "animal", "dog", "cat") | _PETS | _ADOPTEES


@cache
def _pet_words() -> frozenset[str]:
    """A kind of pet one names: the table's pets and animals, and this module's."""
    return ((_table_words("pet", "animal") | _PETS)
            - {"tom", "humans", "mankind", "male", "female", "adult", "giant", "queen"})


@cache
def _language_words() -> frozenset[str]:
    """A language one learns: the table's and the widely learnt ones it leaves out."""
    return _table_words("language") | _LANGUAGES


#: pets kept at home that the table's frequency cut leaves out
_PETS = frozenset({"tortoise", "gerbil", "chinchilla", "axolotl", "cockatiel", "canary",
                   "budgie", "parakeet", "hedgehog", "degu", "gecko", "iguana", "guinea"})


#: who is adopted beyond the table's animals: a child, a rescue, breeds it leaves out
_ADOPTEES = frozenset({"baby", "boy", "girl", "son", "daughter", "child", "kid", "rescue",
                       "labrador", "lab", "husky", "cockapoo", "cavapoo", "dog", "cat", "pet",
                       "kitty", "moggy", "mutt", "stray", "foal", "lamb"})


def _an_adoptee(value: str) -> bool:
    """An animal or a child among a value's first four words ("a corgi called Biscuit",
    "two rescue kittens", "a baby girl"); not "the APA 7th edition", "a new approach"."""
    kinds = _adoptee_words()
    return any(w in kinds or w.removesuffix("s") in kinds
               for w in (x.lower() for x in value.split()[:4]))


def _a_pet(value: str) -> str | None:
    """A named animal of the shipped table's pets and animals ("a tortoise called Shelly"),
    or ``None`` ("a friend called Sam", "a car called Betsy")."""
    ws = value.split()
    kinds = _pet_words()
    return value if len(ws) >= 2 and ws[1].lower() in kinds else None


#: gerunds one does or goes to as a pastime, beyond the table's ("climbing", "yoga")
_PASTIMES = frozenset({"climbing", "bouldering", "yoga", "pilates", "hiking", "running",
                       "swimming", "cycling", "surfing", "skiing", "rowing", "boxing",
                       "dancing", "painting", "pottery", "knitting", "gardening", "kayaking",
                       "sailing", "fishing", "photography", "baking", "skating", "jogging",
                       "crossfit", "karate", "judo", "taekwondo", "weightlifting", "birdwatching"})


def _activity(value: str) -> str | None:
    """The activity a value names at its start ("tennis every Sunday" -> "tennis",
    "the violin in a band" -> "the violin"), or ``None`` ("it safe", "with my kids",
    "video games")."""
    ws = value.split()
    the = bool(ws) and ws[0].lower() == "the"
    ws = ws[1:] if the else ws
    if not ws:
        return None
    known = _activities()
    # the activity, or one word before it ("five-a-side football", "table tennis")
    for word in (w.lower() for w in ws[:2]):
        if word in known or word.removesuffix("s") in known:  # "the drums"
            return ("the " if the else "") + word
    return None


def _pastime(value: str) -> str | None:
    """:func:`_activity`, for what one does or has taken up ("climbing", "yoga")."""
    found = _activity(value)
    return found.removeprefix("the ") if found else None


#: widely learnt languages the shipped table's "language" list leaves out (WordNet's
#: most frequent hyponyms: it has "french" and "welsh", not "italian" or "japanese")
_LANGUAGES = frozenset({
    "english", "chinese", "mandarin", "cantonese", "japanese", "korean", "russian", "italian",
    "dutch", "swedish", "danish", "greek", "turkish", "polish", "hungarian", "swahili", "urdu",
    "bengali", "punjabi", "tagalog", "icelandic", "irish", "gaelic", "croatian", "serbian",
    "slovak", "slovenian", "lithuanian", "latvian", "estonian", "farsi", "amharic", "yoruba",
    "zulu", "afrikaans", "esperanto", "sign", "bsl", "asl"})


def _learnt(value: str) -> str | None:
    """What one is learning, at a value's start: a language ("Spanish on Duolingo" ->
    "Spanish") or an instrument ("the cello" -> "the cello"); else ``None`` ("a lot",
    "to cook")."""
    ws = value.split()
    if ws and ws[0][:1].isupper() and ws[0].lower() in _language_words():
        return ws[0]
    found = _activity(value)
    word = found.removeprefix("the ") if found else ""
    instruments = _table_words("instrument")
    return found if word in instruments or word.removesuffix("s") in instruments else None


#: how often: a place one goes to this often is a habit ("three times a week", "every
#: Monday", "on Sundays"), not a plan ("I go to Paris next week")
_OFTEN = re.compile(
    r"\s+(?:(?:once|twice|\w+ times) a (?:week|month|day)|every (?:day|week|morning|evening|"
    r"night|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday|other day)|"
    r"on (?:mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays|weekends)|"
    r"most (?:days|mornings|evenings|weekends))\b.*$", re.IGNORECASE)


def _habit(value: str) -> str | None:
    """The place of a habit, told with how often ("CrossFit three times a week" ->
    "CrossFit", "the gym every morning" -> "the gym"); ``None`` without it."""
    place = _OFTEN.sub("", value)
    return place.strip() if place != value and len(place.split()) <= 4 else None


#: the last word of an occupation ("a nurse", "a software engineer", "an ICU nurse"); a
#: closed class of everyday job titles, not the table's (its "job" list holds "man",
#: "sport" and "batman")
_JOBS = frozenset("""
nurse teacher doctor gp engineer developer programmer designer accountant bookkeeper lawyer
solicitor barrister paralegal paramedic firefighter officer detective chef cook baker waiter
waitress barista bartender cashier manager analyst consultant architect electrician plumber
carpenter joiner mechanic pharmacist dentist hygienist vet veterinarian surgeon physician
physio physiotherapist therapist counsellor counselor psychologist psychiatrist scientist
researcher professor lecturer tutor librarian journalist reporter editor copywriter
photographer illustrator animator musician pilot midwife receptionist secretary clerk
technician nanny cleaner carer caregiver hairdresser barber stylist realtor recruiter
entrepreneur freelancer contractor farmer builder soldier translator interpreter dietitian
nutritionist optician optometrist radiographer banker broker economist statistician
actuary auditor coach trainer instructor firefighter postman postwoman courier surveyor
underwriter pharmacologist biologist chemist physicist geologist zookeeper gardener
landscaper welder machinist pharmacist sonographer chiropractor osteopath podcaster
""".split())
#: where an occupation's place starts ("a nurse at St Mary's")
_WHERE = re.compile(r" (?:at|for|with|in) ")
#: words before a job title that judge rather than name it ("a good cook", "a big fan")
_JUDGED = frozenset({"good", "bad", "great", "terrible", "awful", "decent", "better", "worse",
                     "best", "worst", "big", "huge", "lousy", "amazing", "natural",
                     "born", "proper", "real", "wannabe", "aspiring", "future", "former", "ex"})


def _job(value: str) -> str | None:
    """An occupation as written, with where ("a software engineer at a bank", "an ICU
    nurse"), or ``None`` ("a good cook", "a big fan", "a mess", "an aspiring chef")."""
    ws = _WHERE.split(value, maxsplit=1)[0].split()
    if not 2 <= len(ws) <= 4 or ws[0].lower() not in ("a", "an"):
        return None
    if ws[-1].lower() not in _JOBS or any(w.lower() in _JUDGED for w in ws):
        return None
    return value


#: what makes a way to work a rule, not a one-off ("I now cycle", "I have to drive", "I've
#: started taking the bus"; not "I cycled to work today")
_AS_A_RULE = (r"(?: now| usually| normally| mostly| still| have to| need to|'ve started"
              r"| have started| started|'ve been| have been)")
#: how one gets to work, by the word that says it
_COMMUTE = {"train": "by train", "trains": "by train", "bus": "by bus", "buses": "by bus",
            "tube": "by tube", "subway": "by subway", "metro": "by metro", "tram": "by tram",
            "ferry": "by ferry", "car": "by car", "bike": "by bike", "bicycle": "by bike",
            "scooter": "by scooter", "motorbike": "by motorbike", "motorcycle": "by motorbike",
            "cycle": "by bike", "cycling": "by bike", "biking": "by bike",
            "drive": "by car", "driving": "by car", "walk": "on foot", "walking": "on foot",
            "foot": "on foot", "run": "on foot", "running": "on foot", "carpool": "by car"}


def _commute(value: str) -> str | None:
    """How a statement says one gets to work ("the train" -> "by train", "cycling" ->
    "by bike"), or ``None``."""
    ws = re.sub(r"^(?:the|a|my|by|on)\s+", "", value.strip(), flags=re.IGNORECASE).split()
    return _COMMUTE.get(ws[0].lower()) if ws else None


#: where a clause in the first person opens ("I ...", "my ...", "we ..."): every match of
#: a rule whose clause opens so starts at one of these
_CLAUSE = re.compile(r"(?=" + _I + r"(?:i|my|we)\b)", re.IGNORECASE)

_RULES: list[_Rule] = [
    _rule(_I + r"i(?:'ve| have)? (?:just )?(?:moved|relocated) to " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8, _a_home),
    # "we moved to X" names a place only sometimes ("we moved to Slack for chat")
    _rule(_I + r"we(?:'ve| have)? (?:just |recently |finally |eventually )?(?:moved|relocated) "
          r"to " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8, _a_place),
    _rule(_I + r"i(?:'m| am) (?:now )?(?:living|based) in " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8),
    _rule(_I + r"i (?:now )?live in " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8),
    # "we live in X" for a place or a proper name only ("We live in Hackney"; not "we
    # live in a world where ...", "we live in interesting times")
    _rule(_I + r"we (?:now |still |currently )?live in " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} lives in {value}", "lives_in", 0.8, _a_known_home),
    _rule(_I + r"i(?:'m| am)? (?:now )?(?:work|working) (?:(?:night |day |early |late |weekend )?"
          r"shifts |part[- ]time |full[- ]time |nights |weekends )?(?:at|for) " + _VALUE
          + _END_NAMED,
          MemoryKind.FACT, "{subject} works at {value}", "works_at", 0.8),
    _rule(_I + r"i (?:just )?(?:started|got) a (?:new )?job (?:at|with) " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} works at {value}", "works_at", 0.8),
    _rule(_I + r"i (?:just |recently |finally )?started a new job as " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} works as {value}", None, 0.8),
    # an occupation said as what one is: "I'm a nurse", "I am an ICU nurse at St Mary's",
    # "I retrained as a plumber"
    _rule(_I + r"i(?:'m|’m| am) (?:now |currently |still )?(?P<value>an? [\w-]+(?: [\w-]+){0,2}?"
          r"(?: (?:at|for|with|in) [^.,;!?\n]{2,60}?)?)" + _END_NAMED,
          MemoryKind.FACT, "{subject} works as {value}", None, 0.7, reads=_job),
    _rule(_I + r"i(?:'ve| have)? (?:just |finally )?(?:retrained|qualified|trained) as "
          r"(?P<value>an? [\w-]+(?: [\w-]+){0,2}?)" + _END_NAMED,
          MemoryKind.FACT, "{subject} works as {value}", None, 0.7, reads=_job),
    _rule(_I + r"i(?:'m| am)? (?:now )?(?:work|working) as " + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} works as {value}", None, 0.7),
    # an animal or a child adopted, not a standard or a tool ("we've adopted the APA 7th
    # edition", "adopted version control")
    _rule(_I + r"(?:i|we)(?:'ve|’ve| have)? (?:just |recently |finally |also )?adopted " + _VALUE
          + _END_NAMED,
          MemoryKind.FACT, "{subject} has {value}", None, 0.7, _an_adoptee),
    _rule(_I + r"i(?:'ve| have)? (?:just |recently |finally )?switched to " + _VALUE + _END_NAMED,
          MemoryKind.PREFERENCE, "{subject} uses {value}", None, 0.6),
    _rule(_I + r"i (?:now )?drive (?!(?:in )?to\b|home\b|in\b|back\b|around\b)" + _VALUE
          + _END_NAMED,
          MemoryKind.FACT, "{subject} drives {value}", None, 0.6),
    _rule(_I + r"i (?:now |also |still )?own (?!up\b)" + _VALUE + _END_NAMED,
          MemoryKind.FACT, "{subject} owns {value}", None, 0.6),
    # an activity one keeps up: "I play tennis every Sunday", "I play the violin in a band"
    _rule(_I + r"i (?:still |now |also |regularly |usually |often |mostly )?play " + _VALUE
          + _END_NAMED, MemoryKind.FACT, "{subject} plays {value}", None, 0.6, reads=_activity),
    # a language or an instrument one is learning: "I'm learning Spanish on Duolingo"
    _rule(_I + r"i(?:'m| am|'ve been| have been) (?:now |still |also )?learning " + _VALUE
          + _END_NAMED,
          MemoryKind.FACT, "{subject} is learning {value}", None, 0.6, reads=_learnt),
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
          MemoryKind.FACT, "{subject} goes to {value}", None, 0.6, reads=_habit),
    _rule(_I + r"i(?:'ve| have)? (?:just |recently |finally )?(?:taken|took) up " + _VALUE
          + _END_NAMED, MemoryKind.FACT, "{subject} does {value}", None, 0.6, reads=_pastime),
    # how one gets to work (one way at a time): "I commute by train", "I cycle to work",
    # "I take the bus to work", "I've started driving to work", "I have to drive to work"
    _rule(_I + r"i (?:now |usually |normally |mostly |still )?commute (?:in )?(?:by |on )?"
          + _VALUE + _END_NAMED, MemoryKind.FACT, "{subject} commutes {value}", "commute", 0.6,
          reads=_commute),
    _rule(_I + r"i" + _AS_A_RULE + r"? (?P<value>cycle|bike|walk|drive|run|"
          r"cycling|biking|walking|driving|running) (?:in )?to work\b",
          MemoryKind.FACT, "{subject} commutes {value}", "commute", 0.6, reads=_commute),
    _rule(_I + r"i" + _AS_A_RULE + r"? (?:take|get|catch|ride|taking|getting|catching|riding) "
          r"(?P<value>(?:the |a |my )?[a-z]+) (?:in )?to work\b",
          MemoryKind.FACT, "{subject} commutes {value}", "commute", 0.6, reads=_commute),
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
          0.7, needs=r"\bmy (?:new )?favou?rite\b"),
    _rule(_I + r"i(?:'m| am) allergic to " + _VALUE + _END,
          MemoryKind.FACT, "{subject} is allergic to {value}", None, 0.9),
    _rule(_I + r"i(?:'m| am) (?:now )?(?:fully |completely |strictly )?(?:a |an )?" + _DIET,
          MemoryKind.PREFERENCE, "{subject} is {value}", "diet", 0.8),
    _rule(_I + r"i(?:'ve| have)? (?:gone|become|became|went|turned) "
          r"(?:fully |completely |strictly )?(?:a |an )?" + _DIET,
          MemoryKind.PREFERENCE, "{subject} is {value}", "diet", 0.8),
    _rule(_I + r"i (?:really )?(?:love|like|enjoy|adore) " + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} likes {value}", None, 0.5, reads=liked),
    _rule(_I + r"i prefer " + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} prefers {value}", None, 0.6, reads=liked),
    _rule(_I + r"i (?:really )?(?:hate|dislike|can't stand|don't like) " + _VALUE + _END,
          MemoryKind.PREFERENCE, "{subject} dislikes {value}", None, 0.6, reads=liked),
    _rule(_I + r"i(?:'m| am) (?:planning|going|hoping) to " + _VALUE + _END,
          MemoryKind.PLAN, "{subject} plans to {value}", None, 0.5, reads=planned),
    _rule(_I + r"i (?:plan|intend|want) to " + _VALUE + _END,
          MemoryKind.PLAN, "{subject} plans to {value}", None, 0.5, reads=planned),
    # a pet of the table's list, named: "I have a tortoise called Shelly"
    _rule(_I + r"(?:i|we) (?:have|own) (?P<value>(?:a|an) [a-z]+ (?:called|named) "
          r"[A-Z][\w'-]*)", MemoryKind.FACT, "{subject} has {value}", None, 0.6, reads=_a_pet),
    _rule(_I + r"i have (?P<value>(?:a|an|two|three) (?:dog|cat|pet|kid|child|son|daughter|"
          r"brother|sister)s?[^.,;!?\n]{0,40}?)" + _END_NAMED,
          MemoryKind.FACT, "{subject} has {value}", None, 0.6),
]

_PRONOUN_VALUES = {"it", "that", "this", "them", "him", "her", "you", "to", "there", "so"}


_TRAILING_TIME = re.compile(
    r"\s+(?:(?:last|this|next|the other)\s+(?:year|month|week|weekend|night|summer|winter|"
    r"spring|fall|autumn|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|yesterday|"
    r"today|tonight|tomorrow|recently|now|lately|again|too|as well|a while ago|these days|"
    r"(?:a few|two|three|\d+)\s+(?:days|weeks|months|years)\s+ago|"
    r"(?:in|in early|in late|in mid|since|until|this|last)\s+(?:january|february|march|april|"
    r"may|june|july|august|september|october|november|december|\d{4})|"
    r"(?:in|over|during) the (?:spring|summer|autumn|fall|winter|holidays|new year|end)|"
    r"at the (?:weekend|end of \w+)|for good|at last|in the end)$",
    re.IGNORECASE,
)


#: how one does it, or a word left hanging where the value was cut ("a dorm on my own",
#: "fantasy series like", "brownies and"; not a preposition a clause ends on: "the one
#: to jam to", "the people I work with")
_TRAILING_REST = re.compile(
    r"\s+(?:on (?:my|our|his|her|their) own|by (?:myself|ourselves)|alone|"
    r"like|such as|the|a|an|and|or|my|your|our|their)$",
    re.IGNORECASE,
)
#: a marker of symbols, or an aside after a spaced dash, and what follows it ("real
#: progress ->-> 1", "tea -- green mostly", "a Financial Analyst last week - it's been")
_MARKER = re.compile(r"\s*[-=<>|~^*#]{2,}.*$|\s+[-–—]\s.*$")
#: each quote mark that opens, with the one that closes it
_QUOTES = (('"', '"'), ("“", "”"), ("`", "`"))


def _balanced(value: str) -> str:
    """``value`` with a quote it opens closed where the value was cut (a message
    like "Sorry, ...": 'a message like "Sorry')."""
    for left, right in _QUOTES:
        opened = value.count(left) if left != right else value.count(left) % 2
        if left != right:
            opened -= value.count(right)
        if opened > 0:
            value += right * opened
    return value


_QUOTE_MARKS = "\"'“”‘’"


def _unquoted(value: str) -> str:
    """``value`` without the quotes around it, or a lone quote at an end (one that
    opens or closes a quote inside it stays: '"The Office" is my show')."""
    value = value.strip()
    while len(value) > 1 and value[0] in _QUOTE_MARKS and value[-1] in _QUOTE_MARKS:
        value = value[1:-1].strip()
    if value[:1] in _QUOTE_MARKS and not any(c in _QUOTE_MARKS for c in value[1:]):
        value = value[1:]
    if value[-1:] in _QUOTE_MARKS and not any(c in _QUOTE_MARKS for c in value[:-1]):
        value = value[:-1]
    return value.strip()


def _clean(value: str) -> str:
    value = _unquoted(value)
    value = _MARKER.sub("", re.sub(r"\s+", " ", value))
    while True:
        trimmed = _TRAILING_REST.sub("", _TRAILING_TIME.sub("", value))
        if trimmed == value:
            return _balanced(value)
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
            for ins in read_instructions(ep.text):
                if subject is None:
                    subject = self._subject(ep, episodes, display)
                out.append(_instruction(ins, subject, ep))
            text_read, commas = _fronted(ep.text)
            clauses = [m.start() for m in _CLAUSE.finditer(text_read)]
            for rule in _RULES:
                for m in _matches(rule, text_read, clauses):
                    groups = m.groupdict()
                    value = _clean(groups.get("value") or "")
                    if rule.reads is not None:
                        value = rule.reads(value) or ""
                    if "value" in groups and (
                        not value or value.lower() in _PRONOUN_VALUES or len(value) < 2
                        or (rule.accepts is not None and not rule.accepts(value))
                    ):
                        continue
                    value, what = as_theirs(value), as_theirs(_clean(groups.get("what") or ""))
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


def _instruction(ins: Instruction, subject: str, ep: Episode) -> Candidate:
    """A standing instruction (:mod:`.instructions`) as a ``procedure`` memory, its
    topic first: "When Ana asks about formatting references: always use APA ..."."""
    head = (f"When {subject} asks about {ins.topic}" if ins.topic
            else f"{subject[:1].upper()}{subject[1:]}'s standing instruction")
    text = f"{head}: {ins.rule}"
    return Candidate(kind=MemoryKind.PROCEDURE, text=text, source_episode_ids=[ep.id],
                     subject=subject, entities=[subject_key(subject)],
                     keywords=query_terms(text)[:12], valid_from=ep.occurred_at,
                     importance=0.8, said=ep.text[ins.start:ins.end].strip())
