"""A later message that ends what a memory says, with no new value to replace it.

"I sold the Honda", "I quit the hospital and started at a startup", "Traded the
Focus in for a Leaf", "We moved out of Leeds", "I broke up with Sam": the
message derives no memory of the same relation (or one the consolidator cannot
tie to the old one), yet "The user drives an old red Honda Civic" is no longer
true. :func:`endings` reads such statements from a ``user`` message by rules;
:func:`ended` finds the active memories of the speaker they end and returns one
``SUPERSEDE`` decision per memory, with no candidate: the memory keeps its text
and sources, gets ``valid_to`` (the message's event time) and status
``superseded``, and the version's reason names the message by id (no text, so a
forgotten message leaves no words behind in the history). Arrival order does not
matter: a memory written in the same batch as its ending, or from an older statement
whose ending is stored already (:func:`ended_since`, a backfilled chat), is written
already superseded.

A statement ends a memory only when all of these hold, so a passing mention
ends nothing ("I left the hospital at six", "my sister sold her Honda", "should
I sell the Honda?", "if I quit the firm ..."):

* it is the speaker's own, in the past or perfect ("I sold", "we've sold",
  "Sold the Honda" at a sentence start; "the Volvo was sold"), in a sentence
  that is not a question and has no condition before the verb;
* its verb is one of a closed class (:data:`_VERBS`), each naming the relation
  it ends: ownership (sold, traded in, scrapped, got rid of ...; "our dog Rex
  passed away"), work (quit,
  resigned from, handed in my notice at, was laid off from, retired from; "left"
  only in the perfect, with "my job at", or followed by what came next: "I left
  accounting and I'm now a chef"), home (moved out of, moved away from), a
  partner (broke up with, split up with, divorced), an activity (gave up, quit,
  dropped out of, "stopped playing", "stopped going to" ...; not kept up for long: "I
  haven't played football since I moved", "... touched the piano in months", not "this
  week"; a pastime by its verb alone: "I've stopped running"; a doing denied: "Not
  playing football anymore"), a switch away from what one did, used or had ("switched
  from violin to cello", "changed from Vodafone"), a thing given up for another, told by
  what took its place ("Swapped Hatha for Vinyasa flow", "I replaced the Fitbit with a
  Garmin", "Cancelled PureGym and joined the climbing wall"), a thing gone, passed on or re-homed
  ("the Volvo is gone", "my Honda went to my brother", "Jess has been re-homed"), a
  membership or an account closed ("I cancelled my PureGym membership"); someone else's
  thing ("my sister's car") ends nothing;
* the memory says that relation (:data:`_RELATIONS`: "drives", "owns", "has"
  for ownership; "works", "job" for work ...) and, after the relation word, the
  ended thing's head word ("the Honda" -> "Honda"; "accounting" -> "accountant":
  one stem of at least :data:`STEM` letters; "teaching" -> "teacher"), or the relation
  word is the ended verb's own ("stopped running" ends "runs twenty miles a week");
* the memory is the speaker's (its entities hold the subject), active, and was
  said before the message.

Grammar words and a few verbs per relation, not attributes: what a memory holds
is read from its own words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..index.lexical import stem
from ..models import Episode, MemoryKind, MemoryStatus, Operation, Scope, SearchFilters
from ..store.base import Store
from ..trust.provenance import is_flagged
from .consolidate import Decision
from .derive import LEAD, RuleDeriver, sentence_bounds, subject_key
from .supersede import words

__all__ = ["STEM", "Ending", "ended", "ended_since", "endings", "says"]

#: least shared leading letters of two forms of one word ("accounting" / "accountant")
STEM = 6
#: lexical matches read for memories one ending may end
MATCHES = 8

#: the verbs that end a relation, by the relation they end (past and perfect forms)
_VERBS: dict[str, str] = {
    "own": (r"sold|scrapped|traded(?: in)?|part[- ]exchanged|gave away|given away|"
            r"got rid of|gotten rid of|wrote off|written off|donated"),
    "work": (r"quit|resigned from|handed in (?:my |our )?notice (?:at|to)|"
             r"(?:was|got|been) (?:laid off|let go|made redundant|fired) (?:from|at|by)|"
             r"retired from|stopped working (?:at|for)|"
             r"left(?= (?:my |our )?(?:job|position|post|role|work) (?:at|with) )"),
    "home": r"moved (?:out of|away from|from)",
    "partner": r"broke up with|split up with|split from|divorced|separated from",
    # "I've switched from violin to cello", "moved over from Chrome to Firefox": what one
    # did, used or had before
    "switch": r"switched (?:over )?from|changed (?:over )?from|moved (?:over|across) from",
    "activity": (r"gave up|given up|quit|dropped out of|graduated from|"
                 r"finished (?:my )?(?:degree|course|studies|phd|masters?|master's) (?:at|in)|"
                 r"stopped (?:playing|going to|doing|taking|attending|practising|practicing|"
                 r"learning|drinking|smoking|running)"),
}
#: "left" ends work in the perfect ("I've left the firm") or before what came next
#: ("I left accounting and I'm now a chef", "... to become a teacher", "I left the bank in
#: June and now I teach")
_LEFT_NEXT = re.compile(
    r"^(?:\s+(?:in|last|this|on|back in|at the end of)\s+\w+(?:\s+\d{4})?)?"  # "... in June"
    r"\s*(?:,\s*)?(?:and|to|so)\s+(?:i'm|i am|i've|i have|now|am|started|start|joined|"
    r"join|became|become|train|training|work|working|went|moved|retrain)", re.IGNORECASE)
#: the words by which a memory says each relation
_RELATIONS: dict[str, frozenset[str]] = {
    "own": frozenset({"drives", "owns", "has", "rides", "bought", "keeps"}),
    "work": frozenset({"works", "working", "employed", "job", "employer", "profession"}),
    "home": frozenset({"lives", "living", "based", "home", "resides", "rents"}),
    "partner": frozenset({"partner", "dating", "married", "girlfriend", "boyfriend",
                          "wife", "husband", "fiance", "fiancé", "fiancée", "engaged"}),
    # "I'm not a nurse anymore", "I'm no longer vegetarian"
    "state": frozenset({"is", "works"}),
    "activity": frozenset({"plays", "practises", "practices", "does", "goes", "attends",
                           "member", "hobby", "learning", "studies", "takes", "drinks",
                           "smokes", "runs", "swims"}),
}
_RELATIONS["account"] = frozenset({"member", "subscribes", "subscribed", "subscriber", "uses",
                                  "banks", "customer", "insured", "insures"})
_RELATIONS["switch"] = _RELATIONS["own"] | _RELATIONS["activity"] | frozenset(
    {"uses", "prefers", "commutes", "banks", "listens", "watches", "reads", "eats"})
#: a thing given up for another (:data:`_INSTEAD`): whatever one had, did, used or belonged to
_RELATIONS["instead"] = _RELATIONS["switch"] | _RELATIONS["account"]
_ADVERB = r"(?:just |finally |recently |already |eventually |officially |actually |also )?"
#: people one may hand a thing on to (and who are never the thing handed on)
_PEOPLE = (r"brother|sister|son|daughter|kids?|children|mum|mom|mother|dad|father|parents|"
           r"cousin|nephew|niece|friend|neighbou?r|grand(?:son|daughter|ma|pa|mother|father)|"
           r"aunt|uncle|wife|husband|partner|boyfriend|girlfriend|colleague|flatmate|roommate")
#: where a clause starts (then a discourse word may come, :data:`~.derive.LEAD`)
_CLAUSE = r"(?:^|[.!?;:]\s+|,\s*|\b(?:and|so|but|now|well|then)\s+)"
#: where a sentence starts: a subject left out ("Sold the Honda") only here
_SENTENCE = r"(?:^|[.!?;:]\s+)"
#: the ended thing: up to five words, ending at punctuation or a linking word
_OBJECT = (r"(?P<obj>(?:[^\W\d_][\w'’-]*)(?: [^\W\d_][\w'’-]*){0,4}?)"
           r"(?=\s*(?:[.,;:!?()\n]|$|\s(?:and|but|for|to|at|in|on|with|because|so|since|"
           r"after|before|when|while|where|which|who|that|as|cause|'cause|last|yesterday|this|back|"
           r"off|over|ago|two|three|a|an|any|anymore|if|whether|about|of|today|tonight|now|"
           r"again)\b))")
#: words an object's head is never (determiners, pronouns, time words)
_NOT_HEAD = frozenset({
    "it", "them", "that", "this", "those", "these", "one", "job", "position", "post", "role",
    "work", "notice", "place", "thing", "stuff", "lot", "bit", "week", "month", "year", "day",
    "time", "today", "yesterday", "her", "him", "my", "our", "the", "a", "an", "there", "again",
    "anymore", "more", "any", "sure", "able", "allowed", "going", "really", "so", "too",
    # a preposition is where an object would have been ("I stopped running for a week")
    "for", "from", "with", "into", "about", "until", "during", "over", "under",
})
#: words before the verb that make the sentence a condition, a wish or hearsay
_CONDITION = re.compile(
    r"\b(?:if|whether|unless|wish|hope|hoping|thinking|might|may|would|could|should|"
    r"considering|planning|want|wanted|about to|going to|gonna)\b", re.IGNORECASE)
_DETERMINER = re.compile(r"^(?:(?:my|our|the|that|this|his|her|their|old)\s+)+", re.IGNORECASE)


@dataclass(frozen=True)
class Ending:
    """One statement that ends a relation: its ``relation`` (a key of
    :data:`_VERBS`), the ``verb`` as written, the ended thing's ``head`` word
    (lower-cased; empty when the statement names none: "we broke up" ends whoever the
    relation names) and the ``sentence`` it was read from."""

    relation: str
    verb: str
    head: str
    sentence: str


def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for relation, verbs in _VERBS.items():
        verb = rf"(?P<verb>{verbs})"
        first = (rf"{_CLAUSE}{LEAD}"
                 rf"(?:i|we)(?:'ve|’ve| have| had)? {_ADVERB}{verb}")
        # "Sold the Honda last week"; not "quit", whose bare form also gives an order
        bare = rf"{_SENTENCE}{LEAD}{_ADVERB}(?!quit\b){verb}"
        obj = rf"\s+(?:(?:my |our )?(?:job|position|post|role|work) (?:at|with|for) )?{_OBJECT}"
        out += [(relation, re.compile(start + obj, re.IGNORECASE)) for start in (first, bare)]
    # the thing as the subject: "the Volvo was sold", "our old car got written off"
    out.append(("own", re.compile(
        r"\b(?:my|our|the)\s+(?P<obj>(?:[^\W\d_][\w'’-]*)(?: [^\W\d_][\w'’-]*){0,3}?)\s+"
        r"(?:has been|was|got) (?:finally )?(?P<verb>sold|scrapped|written off|stolen|"
        r"totalled|traded in)\b", re.IGNORECASE)))
    # "the Volvo is gone", "the old bike's gone": nothing may follow but the clause's end
    out.append(("own", re.compile(
        r"\b(?:the|our|my)\s+(?P<obj>(?:[^\W\d_][\w'’-]*)(?: [^\W\d_][\w'’-]*){0,3}?)"
        r"(?:'s|’s| is| has) (?:long |finally |now )?(?P<verb>gone)(?=\s*(?:[.,;!\n]|$|"
        r"\s(?:and|but|now)\b))", re.IGNORECASE)))
    # a membership, subscription or account closed: "I cancelled my PureGym membership",
    # "we closed the Barclays account" (the thing is the word before "membership")
    out.append(("account", re.compile(
        r"(?:" + _CLAUSE + LEAD + r"(?:i|we)(?:'ve|’ve| have)? |" + _SENTENCE + LEAD + r")"
        + _ADVERB + r"(?P<verb>cancell?ed|canceled|closed|terminated|ended|quit) (?:my|our|the) "
        r"(?P<obj>[^\W\d_][\w'’-]*(?: [^\W\d_][\w'’-]*){0,2}?) (?:gym )?(?:membership|"
        r"subscription|account|contract|plan|policy)\b", re.IGNORECASE)))
    # a pastime stopped, told by its verb alone: "I've stopped running", "I quit smoking"
    out.append(("activity", re.compile(
        _CLAUSE + LEAD + r"(?:i|we)(?:'ve|’ve| have)? " + _ADVERB
        + r"(?P<verb>stopped|quit|gave up|given up) (?P<obj>running|jogging|swimming|cycling|"
        r"smoking|drinking|vaping|hiking|climbing|skating|surfing|dancing|painting|knitting|"
        r"baking|gaming|singing|drumming|rowing|boxing)"
        r"(?=\s*(?:[.,;:!?\n]|$|\s(?:and|but|because|since|after|so|for good|now|last|in|"
        r"when|once|altogether|completely|entirely)\b))", re.IGNORECASE)))
    # something passed on to family or a friend: "my Honda went to my brother" (not a
    # person going: "my son went to my mum's")
    out.append(("own", re.compile(
        r"\b(?:my|our|the)\s+(?:old\s+)?(?P<obj>(?!(?:" + _PEOPLE + r")\b)[^\W\d_][\w'’-]*"
        r"(?: (?!(?:" + _PEOPLE + r")\b)[^\W\d_][\w'’-]*){0,2}?)\s+"
        r"(?P<verb>went|has gone|was given|got handed down) to (?:my|our|a) (?:" + _PEOPLE
        + r")\b(?!['’]s)", re.IGNORECASE)))
    # an activity not kept up for a long time: "I haven't played football since I moved",
    # "I haven't touched the piano in months" (not "this week": a pause)
    out.append(("activity", re.compile(
        _CLAUSE + LEAD + r"(?:i|we) (?:haven't|haven’t|have not|hadn't|had not) "
        r"(?:really |even )?(?P<verb>played|touched|done|been to|gone to|practised|practiced)"
        r"\s+" + _OBJECT + r"(?=\s+(?:since|in (?:months|years|ages|a long time|over a year)|"
        r"for (?:months|years|ages|a long time|over a year)))", re.IGNORECASE)))
    # a pet re-homed, by its name or as one's own: "Jess has been re-homed with a farmer",
    # "our cat was rehomed"
    out.append(("own", re.compile(
        r"(?:\b(?:[Mm]y|[Oo]ur)\s+(?:[^\W\d_][\w-]*\s+)?|(?<![\w'’])(?=[A-Z]))"
        r"(?P<obj>[^\W\d_][\w'’-]*)\s+(?:has been|was|got|had to be) (?:finally |sadly )?"
        r"(?P<verb>re-?homed|put up for adoption)\b")))
    # one's own who died: "our old dog Rex passed away", "my cat was put to sleep"
    out.append(("own", re.compile(
        r"\b(?:my|our)\s+(?P<obj>(?:[^\W\d_][\w'’-]*)(?: [^\W\d_][\w'’-]*){0,3}?)\s+"
        r"(?:has |had |sadly |finally )?(?P<verb>passed away|died|was put down|was put to sleep)\b",
        re.IGNORECASE)))
    return out


#: a thing given up for another, told by what took its place: "Swapped Hatha for Vinyasa
#: flow", "we ditched Sky for Netflix", "I replaced the Fitbit with a Garmin", "Cancelled
#: PureGym and joined the climbing wall", "Dropped Spanish and took up Italian" (not
#: "dropped the kids off", "swapped shifts with Tom", "cancelled dinner and went for a
#: walk": what took its place must follow, by "for", "replaced ... with" or "and" with a
#: verb of starting one)
_INSTEAD_START = (r"(?:" + _CLAUSE + LEAD + r"(?:i|we)(?:'ve|’ve| have| had)? |" + _SENTENCE
                  + LEAD + r")" + _ADVERB)
_INSTEAD_NEXT = (r"\s+and\s+(?:(?:i|we)(?:'ve|’ve| have)?\s+)?(?:then\s+|just\s+)?"
                 r"(?:joined|signed up|set up|bought|started|picked up|switched|took up|"
                 r"upgraded|registered|enrolled)\b")
_INSTEAD = [re.compile(_INSTEAD_START + verbs + r"(?: out)?\s+" + _OBJECT + follows, re.IGNORECASE)
            for verbs, follows in (
                (r"(?P<verb>swapped|swopped|traded|ditched|dropped|exchanged|binned|dumped)",
                 r"\s+(?:out\s+)?for\s+(?!(?:good|now|a while|ages|years|months|a bit)\b)"),
                (r"(?P<verb>replaced)", r"\s+with\s"),
                (r"(?P<verb>ditched|dropped|binned|dumped|cancell?ed|canceled|replaced)",
                 _INSTEAD_NEXT))]


_PATTERNS = _patterns() + [("instead", p) for p in _INSTEAD]


def _said(text: str, start: int, end: int) -> str | None:
    """The sentence (end mark included) of a statement whose subject or verb starts at
    ``start``, or ``None`` when it asks, or holds a condition before ``start``."""
    left, stop = sentence_bounds(text, start, end)
    sentence = text[left:stop + 1].strip()
    if sentence.endswith("?") or _CONDITION.search(text[left:start]):
        return None
    return sentence


def _add(out: list[Ending], seen: set[tuple[str, str]], relation: str, verb: str,
         head: str | None, sentence: str) -> None:
    """Append an ending, once per ended thing (``head`` ``None``: nothing named)."""
    if head is not None and (relation, head) not in seen:
        seen.add((relation, head))
        out.append(Ending(relation, verb, head, sentence))


#: someone else's thing: a possessive before the head ("my friend's tortoise", "my sister's
#: car")
_OWNED = re.compile(r"\w['’]s\s+\w")


def _head(obj: str) -> str | None:
    """The ended thing's head word (lower-cased), or ``None``: nothing named, a word
    that names no thing (:data:`_NOT_HEAD`), or someone else's (:data:`_OWNED`)."""
    bare = _DETERMINER.sub("", obj.strip())
    if _OWNED.search(bare):
        return None
    ws = words(bare)
    if not ws:
        return None
    head = ws[-1].removesuffix("'s")
    if head in _NOT_HEAD or len(head) < 3:
        return None
    return head


#: a word every ending holds (one search rules out most messages before the patterns)
_TRIGGER = re.compile(
    r"\b(?:sold|scrapped|traded|exchanged|gave|given|rid|wrote|written|donated|quit|resigned|"
    r"notice|laid|let|redundant|fired|retired|stopped|left|moved|broke|split|divorced|"
    r"separated|dropped|passed|died|put|stolen|totalled|longer|any ?more|graduated|finished|"
    r"switched|changed|gone|haven't|haven’t|hadn't|have not|had not|cancell?ed|canceled|closed|"
    r"terminated|ended|went|handed|re-?homed|adoption|swapped|swopped|ditched|replaced|binned|"
    r"dumped|not (?:playing|doing|going|attending|"
    r"learning|practi[sc]ing|taking|working|living|driving))\b",
    re.IGNORECASE)


def endings(text: str) -> list[Ending]:
    """The statements of ``text`` (a ``user`` message) that end a relation
    (module docstring), in order; one per ended thing."""
    if _TRIGGER.search(text) is None:
        return []
    out: list[Ending] = []
    seen: set[tuple[str, str]] = set()
    for relation, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if (sentence := _said(text, m.start("verb"), m.end())) is not None:
                _add(out, seen, relation, m.group("verb").lower(), _head(m.group("obj")),
                     sentence)
    out.extend(_left(text, seen))
    out.extend(_no_longer(text, seen))
    out.extend(_parted(text, seen))
    return out


#: a couple parted, no object: "we broke up", "Sam and I split up in March" (not "we
#: split up the bill": nothing but an end, a time or a link may follow)
_PARTED = re.compile(
    _CLAUSE + r"(?i:" + LEAD + r")"
    r"(?:[Ww]e|(?P<obj>[A-Z][\w'’-]+) and I)(?:'ve|’ve| have)? (?i:just |finally |officially )?"
    r"(?P<verb>(?i:broke up|split up|separated|got divorced|are divorced|divorced))"
    r"(?=\s*(?:[.,;:!?]|$|\s(?i:last|in|on|after|and|but|because|so|since|recently|"
    r"yesterday|this|earlier|a|two|three|over)\b))")


def _parted(text: str, seen: set[tuple[str, str]]) -> list[Ending]:
    out: list[Ending] = []
    for m in _PARTED.finditer(text):
        if (sentence := _said(text, m.start("verb"), m.end())) is not None:
            head = (m.group("obj") or "").lower()  # none: whoever the partner is
            _add(out, seen, "partner", m.group("verb").lower(), head, sentence)
    return out


#: a relation denied from now on: "I no longer work at the hospital", "I don't live in
#: Leeds any more", "I'm not a nurse anymore", "I'm no longer vegetarian"; the verb names
#: the relation (:data:`_DENIED`)
_NO_LONGER = re.compile(
    _CLAUSE + LEAD
    + r"(?P<who>i|we)(?:(?P<be>'m|’m| am|'re|’re| are) (?P<neg1>no longer|not) (?:a |an )?"
    r"|(?: (?P<neg2>no longer|don't|don’t|do not|dont) (?P<verb>work|drive|live|play|own|have|"
    r"ride|go|attend|smoke|drink|take|keep|rent|do)(?: (?:at|for|in|with|to|on))? ))"
    + _OBJECT, re.IGNORECASE)
#: a doing denied from now on, by its "-ing" form: "Not playing football anymore", "I'm
#: not going to CrossFit any more", "No longer working at the bank" (the subject may be
#: left out at a sentence's start)
_NOT_DOING = re.compile(
    r"(?:" + _SENTENCE + LEAD + r"|" + _CLAUSE + LEAD + r"(?P<who>i|we)(?:'m|’m| am|'re|’re| are) )"
    r"(?P<neg>not|no longer) (?P<verb>playing|doing|going to|attending|learning|practising|"
    r"practicing|taking|working (?:at|for)|living in|driving)\s+" + _OBJECT, re.IGNORECASE)
_DOING_RELATION = {"working": "work", "living": "home", "driving": "own"}  # the rest: activity
_DENIED = {"work": "work", "drive": "own", "own": "own", "have": "own", "ride": "own",
           "keep": "own", "live": "home", "rent": "home"}  # the rest: an activity
#: "not" and "don't" deny for good only with "anymore" in the sentence
_ANYMORE = re.compile(r"\bany ?more\b", re.IGNORECASE)


def _no_longer(text: str, seen: set[tuple[str, str]]) -> list[Ending]:
    out: list[Ending] = []
    for m in _NOT_DOING.finditer(text):
        sentence = _said(text, m.start("neg"), m.end())
        neg = m.group("neg").lower()
        if sentence is None or (neg == "not" and not _ANYMORE.search(sentence)):
            continue
        verb = m.group("verb").lower()
        relation = _DOING_RELATION.get(verb.split()[0], "activity")
        _add(out, seen, relation, f"{neg} {verb}", _head(m.group("obj")), sentence)
    for m in _NO_LONGER.finditer(text):
        neg = (m.group("neg1") or m.group("neg2") or "").lower()
        verb = (m.group("verb") or "be").lower()
        sentence = _said(text, m.start("who"), m.end())
        if sentence is None or (neg != "no longer" and not _ANYMORE.search(sentence)):
            continue
        relation = "state" if m.group("be") else _DENIED.get(verb, "activity")
        _add(out, seen, relation, f"{neg} {verb}", _head(m.group("obj")), sentence)
    return out


#: "left" with a plain object: work ended in the perfect or before what came next; the
#: speaker named ("I left", "we've left"), or no one at a sentence's start ("Left the firm")
_LEFT = [re.compile(start + rf"{_ADVERB}(?P<verb>left)\s+{_OBJECT}", re.IGNORECASE) for start in (
    _CLAUSE + LEAD + r"(?:i|we)(?P<perfect>'ve|’ve| have)? ",
    _SENTENCE + LEAD + r"(?P<perfect>)")]


def _left(text: str, seen: set[tuple[str, str]]) -> list[Ending]:
    out: list[Ending] = []
    for m in (m for pattern in _LEFT for m in pattern.finditer(text)):
        if not (m.group("perfect") or _LEFT_NEXT.match(text[m.end():])):
            continue
        if (sentence := _said(text, m.start("verb"), m.end())) is not None:
            _add(out, seen, "work", "left", _head(m.group("obj")), sentence)
    return out


#: endings that make a doer or a doing of one word ("teacher" / "teaching")
_DOING = re.compile(r"(?:ing|ers?|ors?|ists?|ation)$")


def _forms(head: str) -> str:
    """The ended thing's word and its doer's and doing's forms, for the lexical search
    ("teaching" -> "teaching teach teacher", which the index stems apart)."""
    base = _DOING.sub("", head)
    if not head or base == head or len(base) < 4:
        return head
    return " ".join(dict.fromkeys((head, base, base + "er", base + "ing", base + "or")))


def _same_word(a: str, b: str) -> bool:
    """One word in two forms: the same, :data:`STEM` shared leading letters
    ("accounting" / "accountant"), or one stem of four letters or more before a doer's or
    a doing's ending ("teacher" / "teaching", "painter" / "painting")."""
    if a == b:
        return True
    da, db = _DOING.sub("", a), _DOING.sub("", b)
    if da == db and len(da) >= 4 and (da != a or db != b):
        return True
    k = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        k += 1
    return k >= STEM


def says(memory_text: str, ending: Ending) -> bool:
    """Whether a memory's text says the relation ``ending`` ends, of the thing it
    names: a relation word (:data:`_RELATIONS`), then the head word."""
    ws = [w.removesuffix("'s") for w in words(memory_text)]
    relation = _RELATIONS[ending.relation]
    at = next((i for i, w in enumerate(ws) if w in relation), None)
    if at is None:
        return False
    if ending.head and stem(ws[at]) == stem(ending.head):  # "stopped running": "runs ..."
        return True
    # no head ("we broke up"): the relation alone, whoever it names
    return not ending.head or any(_same_word(w, ending.head) for w in ws[at + 1:])


def ended(store: Store, scope: Scope, episodes: Sequence[Episode], namer: RuleDeriver,
          decisions: Sequence[Decision]) -> list[Decision]:
    """One ``SUPERSEDE`` decision (no candidate) per active memory a ``user`` episode of
    ``episodes`` ends (module docstring). ``namer`` names the episodes' speakers
    (:meth:`~engram.ingest.derive.RuleDeriver.subject_names`, read only when an ending
    is found); memories ``decisions`` already change are left to them, and a memory
    ``decisions`` write from an earlier message of the batch is marked to be written
    already superseded (:meth:`~engram.ingest.consolidate.Decision.supersede_at`)."""
    owner = scope.with_session(None)
    taken = {m.id for d in decisions for m in d.targets}
    kinds = frozenset({str(MemoryKind.FACT), str(MemoryKind.PREFERENCE), str(MemoryKind.EVENT)})
    out: list[Decision] = []
    subjects: Mapping[str, str] | None = None
    for ep in episodes:
        found = endings(ep.text) if ep.role == "user" else []
        if not found:
            continue
        if subjects is None:
            subjects = namer.subject_names(episodes)
        subject = subjects.get(ep.id)
        if subject is None:
            continue
        key = subject_key(subject)
        for ending in found:
            reason = _reason(ending, ep)
            # a memory this batch writes from an earlier message ends as it is written
            for d in decisions:
                c = d.candidate
                if (c is not None and d.op in (Operation.ADD, Operation.SUPERSEDE)
                        and subject_key(c.subject) == key and c.valid_from is not None
                        and c.valid_from < ep.occurred_at and says(c.text, ending)):
                    d.supersede_at(ep.occurred_at, reason)
            query = _forms(ending.head) or " ".join(sorted(_RELATIONS[ending.relation]))
            hits = store.lexical_search(owner, query, SearchFilters(kinds=kinds), MATCHES)
            ids = [h.ref.id for h in hits if h.ref.type == "memory" and h.ref.id not in taken]
            for m in store.get_memories(owner, list(dict.fromkeys(ids))):
                if (m.status != MemoryStatus.ACTIVE or key not in m.entities
                        or (m.valid_from or m.created_at) >= ep.occurred_at
                        or not says(m.text, ending)):
                    continue
                taken.add(m.id)
                out.append(Decision(Operation.SUPERSEDE, None, targets=[m],
                                    ended_at=ep.occurred_at, reason=reason))
    return out


def _reason(ending: Ending, ep: Episode) -> str:
    """A version's reason: the relation, the verb and the message's id, no other words."""
    return f"ended by a later message ({ending.relation}: {ending.verb}; episode {ep.id})"


def ended_since(store: Store, scope: Scope, decisions: Sequence[Decision],
                namer: RuleDeriver) -> None:
    """Mark each memory ``decisions`` write from an older statement that a stored
    message said after it ends ("I drive a Honda" from a backfilled chat, with "I sold
    the Honda" stored already): it is written already superseded, at that message's
    time. The stored ``user`` messages after the candidate that share its words are
    read (at most :data:`MATCHES`; flagged ones never end anything), and ``namer``
    names their speakers."""
    owner = scope.with_session(None)
    for d in decisions:
        c = d.candidate
        if c is None or c.valid_from is None or d.op not in (Operation.ADD, Operation.SUPERSEDE):
            continue
        since = SearchFilters(kinds=frozenset({"episode"}), start=c.valid_from)
        ids = [h.ref.id for h in store.lexical_search(owner, c.text, since, MATCHES)
               if h.ref.type == "episode"]
        later = [e for e in store.get_episodes(owner, ids) if e.role == "user"
                 and e.occurred_at > c.valid_from and not is_flagged(e.metadata)]
        if not later:
            continue
        subjects = namer.subject_names(later)
        key = subject_key(c.subject)
        for ep in later:
            if subject_key(subjects.get(ep.id, "")) != key:
                continue
            for ending in endings(ep.text):
                if says(c.text, ending):
                    d.supersede_at(ep.occurred_at, _reason(ending, ep))
