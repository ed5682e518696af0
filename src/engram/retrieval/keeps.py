"""A later statement that leaves the older value as it is (:func:`keeps`).

The newer-first rule (:mod:`.pairs`) replaces an older statement with a later one
close to it: a later telling, a change, another value in its slot. In a chat many
later statements are close to an older value without changing it:

* **another holder**: "My sister's just got a border collie pup" after "Our dog Pip is
  a border terrier" says what the sister has (:data:`_HOLDER`). A holder is any person a
  noun names ("my dentist", "our vicar": :func:`person_nouns`, WordNet's nouns for a
  person) or a name opening the statement ("Priya's just switched ...", "Sinead at work
  swears by ..."); after "with my cousin" only where a pronoun takes them up ("...,
  she's gone full keto"). It is not another's where the owner is in what it tells of
  them ("My boss gave me a raise"), where it acts on a thing the older holds ("My GP
  bumped the sertraline up"), or where the older is itself about a person the owner
  names ("My mum picks the twins up"), unless the question asks about that person: then
  a statement about another person leaves it standing ("My sister lives in Leeds" /
  "My brother just bought a flat in York" for "Where does my sister live?"). A memory's
  "the user" is read as the owner ("The user's partner is allergic to shellfish");
* **considered**: "Should I apply for British citizenship?", "Got a quote for quartz
  worktops today. Laughed, said thanks", "nearly ordered one but couldn't bring myself"
  weigh a change not made (:data:`_CONSIDERED`); not a question weighed in a sentence of
  its own beside one stating another number in the older's unit ("my plan costs £24 a
  month from this bill. Is it worth haggling?", :func:`_weighs_beside`, session 48);
* **remembered**: "Used to do my Sunday runs along the seafront when I lived in
  Brighton", "My first bike was a Honda CG125" tell an even older value
  (:data:`_REMEMBERED`);
* **added**: "Also volunteering a few hours a month on the Citizens Advice line",
  "Picked up a few bank shifts at a private clinic as well" add a value beside the older
  one (:data:`_ADDED`);
* **for a while**: "Covering at the Queen Street Costa for the next two weeks" is an
  exception to what holds usually, for a question asking what holds usually
  (:data:`_FOR_A_WHILE`).

A change weighed, a time remembered and a value added are undone by a marker of a change
made ("switched", "sold", "now", "instead", "no longer" ...: "I used to drive a Volvo, now
it's a Subaru" replaces; so does "Thought about it for months and finally switched");
another holder's change is theirs, and an exception's is for its while. The readings are
read in a short statement only: a long chat turn holds such words about many things
(:attr:`.pairs.Pair.keeps`). Session 37: of a development set of 60 related later
statements that change nothing, 31 were not kept below the statement they leave standing
(5 with the rule off); with these readings 12 (``docs/recall.md``, session 37). Session
38's holders by any person noun or name: 9 of that set, 19 of a second (21 before); a
held set of 60 stays at 24 (``docs/recall.md``, session 38). Session 40: more hedges
("on the fence", "talked out of", "could always"), older times ("years back", "in the
old flat"), values beside ("alongside", "on the side", "as well," mid-sentence, and "as
well now": a word of when alone does not undo an addition), and an older statement
whose subject is left out ("Been doing it two years") as the owner's: of the two
development sets 8 and 11 not kept instead of 9 and 19; the held set unchanged (24).
Session 48: more ways to weigh ("told them I'd think about it", "worth the money", "went
to look at ... way too much"), older times ("when I first ...", "back in 2015", a change
told in that clause being of that time), "now too", and a holder placed among the owner's
("Steve on our team"): of a third development set of 60, 21 not kept instead of 26; the
held sets unchanged (24 of session 37's, 28 of session 48's).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import NamedTuple

from ..text import text_cache
from .rerank import _terms
from .slots import recounts

__all__ = ["keeps"]

#: what a person may be called before the noun that names them ("my little sister")
_PERSON_ADJ = (r"little|big|older|younger|eldest|oldest|youngest|baby|new|best|twin|old|"
               r"ex|late|dear|lovely")
#: someone else is who the statement is about: "my/our <person> (<Name>)" after at most
#: four words ("Found out my new girlfriend is ...", "Had dinner with my cousin last
#: night, she's ...") where <person> is a noun naming a person (:func:`person_nouns`)
_HOLDER = re.compile(
    r"^\W*(?P<before>(?:[\w'’]+\s+){0,4}?)(?:my|our)\s+(?:(?:" + _PERSON_ADJ + r")\s+)?"
    r"(?P<rel>[a-z][a-z-]*?)(?:s|['’]s)?\b(?:\s+(?P<name>(?-i:[A-Z][a-z]+)))?",
    re.IGNORECASE)
#: ... or a name opening it, told of as the one doing or being: "Priya's just switched",
#: "Rory's a Rangers man", "Sinead at work swears by", "Dev on my team has started"
_NAMED_HOLDER = re.compile(
    r"^\W*(?P<name>[A-Z][a-z]+)(?:['’]s\s+(?:just|been|got|gone|finally|also|now|a|an|"
    r"always|started|moved|switched|joined|bought|taken|decided|into|off|back)\b|"
    r"\s+(?:(?:at|from) work|on (?:my|our) team|from (?:my|our) \w+)\b)")
#: "my sister", "our kids": a person the owner names, not a thing of the owner's own
_MY_PERSON = re.compile(
    r"\b(?:my|our)\s+(?:(?:" + _PERSON_ADJ + r")\s+)?(?P<rel>[a-z][a-z-]*?)(?:s|['’]s)?\b",
    re.IGNORECASE)
#: a preposition: "with my cousin" names whom the owner was with, and the holder is who
#: the rest is about only where a pronoun takes them up ("..., she's gone full keto")
_PREPOSITION = re.compile(r"\b(?:with|to|for|from|at|by|of|about|into|on|in|after|"
                          r"than|like)\s+$", re.IGNORECASE)
_THEY_DO = re.compile(r"\b(?:she|he|they)(?:['’](?:s|ve|d|ll|re))?\s+\w", re.IGNORECASE)
#: a thing named as known ("the sertraline", "that flat") whose words the older
#: statement holds is the owner's thing the holder acts on ("My GP bumped the sertraline up")
_KNOWN_THING = re.compile(r"\b(?:the|that|this|those|these)\s+((?:[\w'’-]+\s+){0,2}[\w'’-]+)",
                          re.IGNORECASE)
#: where the first part of what a clause tells ends
_CONJUNCT = re.compile(r",|\s(?:and|so|but)\s", re.IGNORECASE)
#: the owner as the subject: "I've", "we're"
_OWNER_DOES = re.compile(r"\b(?:i|we)(?:['’](?:m|ve|d|ll|re))?\s+\w", re.IGNORECASE)
#: the owner as who someone else wants to move ("keep trying to drag me along")
_WANTS_OWNER = re.compile(r"\bto \w+ (?:me|us)\b", re.IGNORECASE)
#: a sentence opening with what a speaker says of themselves, the subject left out
#: ("Been doing it two years", "Love my Kindle", "Started running in May")
_ELIDED = re.compile(
    r"(?:^|[.!?]\s+)\W*(?:been|just|still|love|loving|doing|going|got|had|started|"
    r"finally|usually|always|never|do|go|have|work|working|live|living)\b", re.IGNORECASE)
#: someone else as the subject: "he", "she", "they", "her", "his", "their"
_THIRD = re.compile(r"\b(?:he|she|they|him|her|his|hers|them|their|theirs)\b",
                    re.IGNORECASE)
#: where a sentence ends
_SENTENCE = re.compile(r"[.;!?]")
#: a text's sentences, each with its end mark ("Great week. Also started ...")
_SENTENCES = re.compile(r"(?<=[.!?])\s+")
#: the owner's own, or the owner acted on ("My boss gave me a raise")
_OWN = re.compile(r"\b(?:i|i['’]m|i['’]ve|we|we['’]re|we['’]ve|me|us|my|our|mine|ours|"
                  r"myself)\b", re.IGNORECASE)
#: a change weighed, offered or asked about, not made
_CONSIDERED = re.compile(
    r"(?:^|[.!?]\s+)should (?:i|we)\b|"
    r"\b(?:thinking (?:about|of)|(?:am|['’]m|are|['’]re|was|been) considering|"
    r"considering (?:a|an|getting|buying|switching|moving|changing|going)|tempted|"
    r"wondering (?:if|whether) (?:i|we) should|wondering (?:whether|about) (?:to|getting|"
    r"buying|switching|moving)|"
    r"(?:asked|asking) (?:me )?(?:if|whether)|would (?:i|you) (?:like|fancy)|"
    r"eyeing|got a quote|quote for|demoed|test[- ]drove|trial(?:led)?|"
    r"nearly|almost|begging|is it worth|"
    r"not this (?:week|month|year)|said (?:thanks but )?no|we'll see|couldn't bring myself|"
    r"invited (?:me|us)|on the fence|(?:talked|talking) (?:me |us |myself |ourselves )?"
    r"out of|could always|toying with|mulling(?: over)?|weighing up|"
    # "told them I'd think about it", "worth switching?", "tried to sell me ...", "is it
    # really better than ...", "went to look at the 65 inch", "keeps telling me to try"
    r"think about it|sleep on it|worth (?:switching|changing|the money|the extra)|"
    r"tried to (?:sell|talk|get|convince|persuade) (?:me|us)|"
    r"(?:is|are) (?:it|they|that|those) (?:really |actually )?(?:better|worth)|"
    r"(?:went|go|going) (?:to )?(?:look|have a look) at|"
    r"(?:telling|told|tells) (?:me|us) to try|way too (?:much|expensive|pricey|big))\b",
    re.IGNORECASE)
#: an even older time told again
_REMEMBERED = re.compile(
    r"\b(?:(?<!\bget )(?<!\bgot )(?<!getting )(?<!\bam )(?<!\bis )(?<!\bare )"
    r"(?<!\bwas )(?<!were )(?<!been )(?<!['’]m )(?<!['’]re )"
    r"used to (?!(?:it|this|that|them|him|her)\b|\w+ing\b)|back when|back in the day|"
    r"when i was (?:a|an|at|in|little|young|younger|small)|as (?:a )?kids?|"
    r"as a (?:child|teenager|teen|student)|"
    r"my first \w+(?: \w+)? (?:was|were)|years ago|remember (?:that|when|the)|"
    r"took me (?:straight )?back|(?:our|my|the) old (?:house|flat|place|school|job|street|"
    r"home|office|neighbourhood)|the old days|good times|in my (?:teens|twenties|youth)|"
    r"years back|(?:a|some) (?:while|time) back|"
    # "When I first moved to London in 2011 I paid £550", "back in 2015"
    r"when (?:i|we) first|back in (?:19|20)\d\d|in (?:19|20)\d\d,? (?:i|we))\b",
    re.IGNORECASE)
#: a time remembered and what it tells, to its clause's end: a change it tells ("When I
#: first moved to London ...") is of that time
_REMEMBERED_CLAUSE = re.compile(_REMEMBERED.pattern + r"[^.,;!?]*", re.IGNORECASE)
#: a value added beside the older one
_ADDED = re.compile(r"(?:^|[.!?]\s+)(?:also|on top of that|in addition|alongside)\b|"
                    r"\bas well(?=\s*(?:[.!?,;]|$))|"
                    # "I'm also mildly allergic to latex", "we also have a hamster"
                    r"\b(?:i|we)(?:['’]m|['’]re|['’]ve| am| are| have)?\s+also\b|"
                    r"\b(?:as a side (?:thing|project|hustle|gig)|on the side|"
                    r"side (?:project|hustle|gig))\b", re.IGNORECASE)
#: an exception for a while
_FOR_A_WHILE = re.compile(
    r"\b(?:this week|all (?:this )?(?:week|month)|for (?:the next|a|a few|a couple of|"
    r"the next few|the next two|two|three|four|six)\s+(?:days?|weeks?|fortnight|months?)|"
    r"for a fortnight|till|until|"
    r"while|stand-in|standing in|cover(?:ing)?|in the meantime|temporar\w*|on loan|"
    r"borrowing|courtesy|diversion|shut|closed for|off sick)\b", re.IGNORECASE)
#: a change made: undoes a change weighed, a time remembered, a value added
_MADE = re.compile(
    r"\b(?:now|nowadays|these days|currently|any ?more|no longer|instead|rather than|"
    r"switched|moved|bought|sold|joined|signed up for|quit|changed|replaced|swapped|"
    r"traded|gave up|stopped|went with|decided|booked|adopted|retired|since then|"
    r"pulled out|stepped (?:in|down)|took over|taking over|(?:gone|went) off|ported|"
    r"migrated)\b"
    # a number may run into its unit ("up to 75mcg", "down to 12kg")
    r"|\b(?:down|up) to \d",
    re.IGNORECASE)
#: the markers of a change made that only say when ("now", "these days"): an addition
#: told with them is still one ("I've got an Economist subscription as well now")
_WHEN_ONLY = re.compile(r"\b(?:now|nowadays|these days|currently)\b", re.IGNORECASE)
#: a value added beside the older one, whenever it came: "as well", "alongside", "a
#: second", "now too" (not "also", which also opens a sentence that tells a change: "Also,
#: I'm vegan now"; nor "too" alone: "I'm back on bass and doing keys too")
_BESIDE = re.compile(r"\b(?:as well|alongside|a second|now too|too now)\b", re.IGNORECASE)
#: "nearly ordered one", "almost bought": a change not made
_NOT_MADE = re.compile(r"\b(?:nearly|almost)\s+\w+|\bdecided (?:it was|against|not to)\b",
                       re.IGNORECASE)
#: a question asking what holds usually, which an exception for a while leaves standing
_USUALLY = _terms("normally usually usual regular regularly typically generally")


@functools.cache
def person_nouns() -> frozenset[str]:
    """The nouns that name a person (``engram/data/people.txt``, from WordNet 3.0 and the
    words people call the people around them: ``tools/build_expand_table.py --people``);
    read once, at first use."""
    text = resources.files("engram").joinpath("data/people.txt").read_text("utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines()
                     if w.strip() and w[:1] != "#")


def _person(word: str) -> bool:
    nouns = person_nouns()
    w = word.lower()
    return w in nouns or (w.endswith("s") and w[:-1] in nouns)


def _holder(newer: str) -> tuple[list[str], int] | None:
    """Who another holder is (the words naming them) and where that naming ends."""
    m = _HOLDER.search(newer)
    if m is not None and _person(m.group("rel")):
        # "with my cousin": whom the owner was with; the rest is the cousin's where a
        # pronoun takes them up, a thing of theirs ("to my brother's local") where the
        # owner changes nothing ("Merged with my old colleague's agency, ... now")
        if _PREPOSITION.search(m.group("before")) is not None:
            rest = _SENTENCE.split(newer[m.end():], maxsplit=1)[0]
            theirs = re.search(r"['’]s\s*$", newer[:m.end("rel") + 2]) is not None
            if _THEY_DO.search(rest) is None and (not theirs or _made(newer)):
                return None
        return [g for g in m.group("rel", "name") if g], m.end()
    n = _NAMED_HOLDER.search(newer)
    if n is not None:
        return [n.group("name")], n.end()
    return None


def _own(text: str) -> bool:
    """Whether ``text`` tells of the owner or the owner's own things, not only of people
    the owner names ("My mum picks the twins up" is the mum's)."""
    text = _MY_PERSON.sub(lambda m: " " if _person(m.group("rel")) else m.group(0), text)
    return _OWN.search(text) is not None


def _owner_told(text: str) -> bool:
    """Whether ``text`` is the owner's own (:func:`_own`), or a sentence of it leaves its
    subject out, as a speaker does of themselves in a chat ("Saturday mornings = Fulham
    Palace parkrun. Been doing it about two years"), and it names nobody else."""
    return _own(text) or (_ELIDED.search(text) is not None and _OWN.search(text) is None
                          and _THIRD.search(text) is None and _holder(text) is None)


def _acts_on(clause: str, older: str) -> bool:
    """Whether the first part of ``clause`` names as known a thing the ``older``
    statement holds ("bumped the sertraline up" after "I take 50mg of sertraline")."""
    first = _CONJUNCT.split(clause, maxsplit=1)[0]
    theirs = {t for t in _terms(older) if len(t) >= 3}
    return any(_terms(m.group(1)) & theirs for m in _KNOWN_THING.finditer(first))


#: where the holder is among the owner's, right after their name ("Steve on our team is
#: averaging 191", "Priya from my office"): about the holder, not the owner
_AMONG = re.compile(r"^\s*(?:on|in|from|at|of)\s+(?:my|our)\s+\w+", re.IGNORECASE)


def _owners(clause: str) -> bool:
    """Whether the owner is in what ``clause`` tells of the holder: the owner or the
    owner's own things in its first part ("gave me a raise", "is putting our rent up";
    not a person the owner names, "my mum", nor the owner as who someone else wants to
    move, "trying to drag me along"), or the owner doing or being anywhere in it ("...,
    and I've been moved to ...")."""
    first = _CONJUNCT.split(_AMONG.sub(" ", clause, count=1), maxsplit=1)[0]
    return _own(_WANTS_OWNER.sub(" ", first)) or _OWNER_DOES.search(clause) is not None


def _on_subject(newer: str, older: str, asked: frozenset[str]) -> str:
    """The sentence of ``newer`` that shares the most words with the ``older`` statement
    and the question (``asked``), where one shares any: a marker of a value added is read
    there, not in a side note ("The nurse took me off Ventolin and put me on Symbicort.
    Also the car park charges there are criminal."). ``newer`` itself where none does."""
    theirs = {t for t in _terms(older) | asked if len(t) >= 3}
    shared = [(len(_terms(part) & theirs), part) for part in _SENTENCES.split(newer)]
    best = max(shared, key=lambda x: x[0], default=(0, newer))
    return best[1] if best[0] > 0 else newer


def _weighs_beside(newer: str, older: str, asked: frozenset[str]) -> bool:
    """Whether the change ``newer`` weighs is weighed beside a value it states: its
    sentence on the subject (:func:`_on_subject`) weighs nothing and gives another number
    in a unit the older counts in, and the weighing is in a sentence of its own ("EE's
    price rise kicked in, so my SIM-only plan costs £24 a month from this bill. Is it
    worth haggling or just leaving?" after "My SIM-only deal is £18 a month")."""
    on = _on_subject(newer, older, asked)
    return (on is not newer and _CONSIDERED.search(on) is None
            and recounts(older, on))


def _names(who: frozenset[str], terms: frozenset[str]) -> bool:
    """Whether ``terms`` name one of ``who`` (the index terms naming a holder): a term of
    three letters or more that is one of them, or the start of one, or starts with one
    ("sis" / "sister")."""
    return any(a.startswith(b) or b.startswith(a) for a in who for b in terms if len(b) >= 3)


#: how a memory names its owner ("The user's partner", "the user is")
_THE_USERS = re.compile(r"\bthe user['’]s\b", re.IGNORECASE)
_THE_USER = re.compile(r"\bthe user\b", re.IGNORECASE)


def _as_owners(text: str) -> str:
    """``text`` with "the user's" read as "my" and "the user" as "I" (how a derived
    memory tells of its owner)."""
    if "user" not in text and "User" not in text:
        return text
    return _THE_USER.sub("I", _THE_USERS.sub("my", text))


def _made(text: str) -> bool:
    return _MADE.search(_NOT_MADE.sub(" ", text)) is not None


class _Marks(NamedTuple):
    """What :func:`keeps` reads of a newer statement alone, whatever it is paired with."""

    #: the index terms of the words naming another holder (``None``: it names none)
    who: frozenset[str] | None
    clause: str  # what the statement tells of the holder (its sentence after the naming)
    for_a_while: bool
    made: bool
    #: a change made by more than a word of when ("switched", not only "now")
    made_more: bool
    considered: bool
    remembered: bool


@text_cache(4096)
def _marks(newer: str) -> _Marks:
    """:class:`_Marks` of ``newer``, once per text: a search pairs one statement with
    many older ones, and a chat's searches pair it again."""
    holder = _holder(newer)
    who = clause = None
    if holder is not None:
        words, end = holder
        who, clause = _terms(" ".join(words)), _SENTENCE.split(newer[end:], maxsplit=1)[0]
    made = _made(_REMEMBERED_CLAUSE.sub(" ", newer))
    return _Marks(who, clause or "", _FOR_A_WHILE.search(newer) is not None, made,
                  made and _made(_WHEN_ONLY.sub(" ", newer)),
                  _CONSIDERED.search(newer) is not None,
                  _REMEMBERED.search(newer) is not None)


def keeps(newer: str, older: str, asked: frozenset[str] = frozenset(),
          named: frozenset[str] = frozenset()) -> str | None:
    """How the ``newer`` statement leaves the ``older`` one standing, or ``None``:
    ``"holder"`` (it is about someone the older, a statement of the owner's own, does
    not name and the question does not ask about: ``named`` holds the question's index
    terms; not what they do to the owner's own: "My boss gave me a raise"),
    ``"considered"``, ``"remembered"``, ``"added"`` (each undone by a change made), or
    ``"for a while"``
    (where ``asked``, the question's index terms, asks what holds usually; a change it
    tells is for that while)."""
    # a memory tells of its owner as "the user" ("The user's partner is allergic to
    # shellfish"): read as the owner's own words
    newer, older = _as_owners(newer), _as_owners(older)
    marks = _marks(newer)
    if marks.who is not None:
        # what they do to the owner's own is the owner's ("My boss gave me a raise",
        # "our landlord is putting our rent up")
        clause = marks.clause
        if not _names(marks.who, _terms(older) | named) and not _owners(clause):
            if _owner_told(older) and not _acts_on(clause, older):
                return "holder"
            # two people the owner names, the question asking about the older's: what
            # the other does leaves it standing ("My sister lives in Leeds" / "My brother
            # just bought a flat in York" for "Where does my sister live?"); not for a
            # question about what either may do ("My mum picks the twins up on Fridays"
            # / "My neighbour Sue does the school run on Fridays now")
            of_older = _marks(older).who
            if of_older is not None and _names(of_older, named):
                return "holder"
    # an exception for a while is one whatever it says changed ("we're doing Wednesdays
    # in the park for the next three weeks instead")
    if asked & _USUALLY and marks.for_a_while:
        return "for a while"
    if marks.made:
        # "as well now", "alongside Gerald we've now got": added, whenever
        if marks.made_more or _BESIDE.search(_on_subject(newer, older, asked)) is None:
            return None
        return "added"
    if marks.considered and not _weighs_beside(newer, older, asked):
        return "considered"
    if marks.remembered:
        return "remembered"
    if _ADDED.search(_on_subject(newer, older, asked)) is not None:
        return "added"
    return None
