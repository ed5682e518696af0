"""The slot reader of knowledge updates: a statement's value read from the names and
numbers it gives, not from a marker (session 10; used by
:func:`engram.retrieval.updates.conflicts`, which decides what replaces what).

* :func:`named`: the names a text gives (runs of capitalised words that do not
  open a sentence or clause), each with the word before it, the slot it fills
  ("in Perl", "with Halifax");
* :func:`same_slot`: whether a newer statement names an older one's value, or
  gives another name in its slot;
* :func:`recounts`: whether a newer statement gives another number in a unit
  the older counts in ("90 a month" / "up to 120 a month"); numbers written as
  words count (:data:`_NUMBER_WORDS`, a closed class of the grammar);
* :func:`sentence_on` (session 12): the sentence of a long turn (over
  :data:`~engram.ingest.supersede.MAX_WORDS` words) that speaks of a subject,
  so that the reader applies to "Hi, sorry for the silence ... The Panda failed
  its MOT, so I picked up a used Honda Jazz. ... Could you plan the route?" as
  it does to the one sentence alone (:func:`_read_long`: how a pair of which
  one is long is read; :func:`_message`: a reply laid out as a document, or over
  ``LONG_WORDS`` words, is not read by sentence);
* :func:`renames` (session 13): whether a newer statement gives another name
  for a subject both name by a word of the question ("we're The Night Porters
  from now on"), with no slot word before it;
* :func:`retimes` (session 12): whether a newer answer tells another time
  (month, weekday, number) than the older: a planned time told again.

The only word lists are grammar: number words and the calendar's names. Every
memo is a :func:`~engram.text.text_cache`, emptied by forget.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..ingest.supersede import MAX_WORDS, words
from ..text import text_cache
from .rerank import _terms

__all__ = ["named", "recounts", "renames", "retimes", "same_slot", "sentence_on", "sentences",
           "times"]

#: numbers written as words ("four days a week" / "five days a week"), a closed
#: class of the grammar, read as their digits; "one" is left out (as often a
#: pronoun as a number: "one of the best")
_NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split()) if n > 1}
_NUMBER_WORDS |= {w: str(10 * n) for n, w in enumerate(
    "twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_NUMBER_WORDS |= {"hundred": "100", "dozen": "12"}
_NUMBER_WORD = re.compile(rf"\b(?:{'|'.join(_NUMBER_WORDS)})\b", re.IGNORECASE)

#: a run of capitalised words ("Yamaha", "Martin D-28", "Professor Lin"): a name
#: where it does not open a sentence or clause (:func:`named`)
_CAPITALISED = re.compile(r"\b[A-Z][^\W_]*(?:-[^\W_]+)*(?:[ ]+[A-Z][^\W_]*(?:-[^\W_]+)*)*")
_OPENS = re.compile(r"(?:^|[.!?:;\n\"“(]|->->)\W*$")
_PREVIOUS = re.compile(r"\b([a-z]{2,})\W*$")
#: capitalised words that name no value: "I", abbreviations in capitals ("ATS",
#: "AI": what a text is about) and the calendar's names (times, not values)
_NO_NAME = re.compile(
    r"I|[A-Z]{2,}s?|(?:Jan|Febr)uary|March|April|May|June|July|August|September|October|"
    r"November|December|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day")


@text_cache(8192)
def named(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The names ``text`` gives, as ``(word before, index terms)``: runs of
    capitalised words that do not open a sentence or clause, without "I",
    abbreviations and the calendar's names (:data:`_NO_NAME`), each with the
    lower-case word before it, the slot it fills ("in Perl", "with Halifax";
    "" when none: "London's Shoreditch")."""
    out: list[tuple[str, frozenset[str]]] = []
    for m in _CAPITALISED.finditer(text):
        before = text[max(0, m.start() - 40):m.start()]
        run = m.group().split()
        if _OPENS.search(before) is not None:  # its first word opens a sentence
            run, before = run[1:], ""
        run = [w for w in run if not _NO_NAME.fullmatch(w)]
        if run:
            prev = _PREVIOUS.search(before)
            out.append((prev.group(1) if prev else "", _terms(" ".join(run))))
    return tuple(out)


#: a number (digits or words) and the unit after it ("90 a month", "1.9 percent",
#: "six till two"), past an article
_QUANTITY = re.compile(
    rf"(?<![\w.,])(\d[\d,.]*\d|\d|{_NUMBER_WORD.pattern[4:-4]})\s*%?\s+(?:(?:a|an|the|per)\s+)?"
    r"([a-z]{2,})", re.IGNORECASE)


#: a number a noun measures, written after it ("a WIP limit of 3", "a dose of 50mg", "a
#: handicap of 18"): its unit is the noun
_OF_QUANTITY = re.compile(r"\b([a-z]{3,})\s+of\s+(?:about\s+|around\s+|roughly\s+)?"
                          r"[£$€]?(\d[\d,.]*\d|\d)(?![\d.,]*\s*(?:of|out of|/)\b)",
                          re.IGNORECASE)


#: a temperature written with the degree sign ("45°C", "70 °F", "21°"): read as "degrees"
_DEGREES = re.compile(r"(\d)\s*°\s*(?:[CF]\b)?")


@text_cache(8192)
def _quantities(text: str) -> frozenset[tuple[str, str]]:
    """``(number, unit)`` of each number ``text`` gives with a word after it that
    is no function word ("92% and" gives none), or with the noun it measures before it
    ("a limit of 3": unit "of limit"); a temperature's degree sign is the word "degrees"
    ("45°C" / "38 degrees")."""
    text = _DEGREES.sub(r"\1 degrees ", text)
    after = {(_NUMBER_WORDS.get(v.lower(), v.replace(",", "")), u.lower())
             for v, u in _QUANTITY.findall(text) if _terms(u)}
    before = {(v.replace(",", ""), f"of {n.lower()}")
              for n, v in _OF_QUANTITY.findall(text) if _terms(n)}
    return frozenset(after | before)


def recounts(older: str, newer: str) -> bool:
    """Whether the newer statement gives another number in a unit the older one
    counts in ("charges me 90 a month" / "put its membership up to 120 a month")."""
    old, new = _quantities(older), _quantities(newer)
    return any(u == w and v != x for v, u in old for x, w in new - old)


@text_cache(8192)
def _mentioned(text: str) -> frozenset[str]:
    """The index terms of every capitalised word of ``text``, opening a sentence or not."""
    return _terms(" ".join(_CAPITALISED.findall(text)))


def same_slot(older: str, newer: str, asked: frozenset[str]) -> tuple[bool, bool]:
    """How a newer statement reads an older one's value slot, by the names they
    give (:func:`named`; a name the question gives is its subject, not a value):
    ``(refers, fills)``. ``refers``: the newer names a value of the older (a name
    the older gives, all its words, wherever the newer writes them) and says
    something of its own ("I play an old Yamaha" / "Treated myself to a Martin
    D-28, the Yamaha is going to my niece"; "My PhD supervisor is Professor
    Lin" / "Professor Lin took a job in Toronto, so Dr Marsh ..."; "Our biggest
    client is FreshWay" / "FreshWay went elsewhere ..."). ``fills``: the newer
    gives another name in the slot where the older gives one (the same word
    before it: "in Perl" / "in Python", "with Nationwide" / "with Halifax")."""
    old = [(p, t - asked) for p, t in named(older) if t - asked]
    new = [(p, t - asked) for p, t in named(newer) if t - asked]
    mentioned = _mentioned(newer)
    refers = (any(t <= mentioned for _, t in old)
              and bool(_terms(newer) - _terms(older) - asked))
    fills = any(p and p == q and not t <= _terms(older) for p, _ in old for q, t in new)
    return refers, fills


def renames(older: str, newer: str, asked: frozenset[str]) -> bool:
    """Whether a newer statement gives another name than the older one for a
    subject both name by a word of the question, whatever word stands before
    the names (session 13: "We called the band The Lemon Drops" / "The band
    voted and we're The Night Porters from now on"; a name with no slot word).
    The caller asks for a stated change too: two names on one subject are
    otherwise a list."""
    if not _terms(older) & _terms(newer) & asked:
        return False
    old = [t - asked for _, t in named(older) if t - asked]
    new = [t - asked for _, t in named(newer) if t - asked]
    return bool(old) and any(not t & _terms(older) for t in new)


#: where a long turn splits into sentences: sentence ends, line breaks, BEAM's
#: "->->" tail; code blocks are not read
_SENTENCE = re.compile(r"\s*+->->.*|(?<=[.!?;])\s+|\n+")  # possessive: see answers._CLAUSE
_CODE = re.compile(r"```.*?(?:```|$)", re.DOTALL)


@text_cache(8192)
def sentences(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The sentences of ``text`` with their index terms, in order."""
    return tuple((c, _terms(c)) for c in _SENTENCE.split(_CODE.sub(" ", text))
                 if c and c.strip())


def sentence_on(text: str, subject: frozenset[str]) -> tuple[str, int]:
    """The sentence of ``text`` holding most of the index terms ``subject`` (the
    shorter on a tie) and how many it holds; ``(text, 0)`` when none holds any."""
    best, held, size = text, 0, 0
    for sentence, terms in sentences(text):
        k = len(terms & subject)
        if k > held or (k == held and k and len(terms) < size):
            best, held, size = sentence, k, len(terms)
    return best, held


#: the words and numbers a time is told in: months, weekdays (a plural too:
#: "Thursdays"), numbers in digits or words ("June 3", "half five", "4:30 PM")
_TIME = re.compile(
    r"\b(?:(?:jan|febr)uary|march|april|may|june|july|august|september|october|november|"
    rf"december|(?:mon|tues|wednes|thurs|fri|satur|sun)day|\d{{1,4}}(?::\d\d)?|"
    rf"{_NUMBER_WORD.pattern[4:-4]})(?=s?\b)", re.IGNORECASE)


@text_cache(8192)
def times(text: str) -> frozenset[str]:
    """The months, weekdays and numbers ``text`` tells a time in, lower-cased,
    numbers in words as digits."""
    return frozenset(_NUMBER_WORDS.get(w, w) for w in (m.lower() for m in _TIME.findall(text)))


def retimes(older: str, newer: str) -> bool:
    """Whether the newer statement tells another time than the older one: the
    older tells one, and the newer one the older does not ("launch the beta on
    June 3" / "the beta launch slipped to June 17"; "meets on the first
    Thursday" / "moved to the last Sunday, Thursdays were impossible")."""
    old = times(older)
    return bool(old) and bool(times(newer) - old)


#: a turn over ``MAX_WORDS`` words is read by its sentence on the question up to
#: this length (a message of a few paragraphs); a document-length reply is not,
#: nor one with headings, lists or bold (:data:`_LAYOUT`; session 12)
LONG_WORDS = 300
#: a reply laid out as a document: a heading, a list item, bold
_LAYOUT = re.compile(r"^\s*(?:#{1,6}\s|[-*•]\s|\d+[.)]\s)|\*\*", re.MULTILINE)


@text_cache(8192)
def _message(text: str) -> bool:
    """Whether a long text reads as a message, sentence by sentence: at most
    ``LONG_WORDS`` words, no headings, lists or bold (:data:`_LAYOUT`)."""
    return len(words(text)) <= LONG_WORDS and _LAYOUT.search(text) is None


def _read_long(texts: Sequence[str], on: Sequence[tuple[str, int]], said: Sequence[str],
               held: Sequence[int], asked: frozenset[str], older: int, newer: int
               ) -> tuple[str, str, bool, int, str]:
    """How a pair of statements, one of them over ``MAX_WORDS`` words, is read
    (session 12): ``(older's, newer's, brief, held, said)``. The older says its
    sentence holding most of the question's words (``on``); the newer, its
    sentence holding most of those words and the older's ("... The Panda failed
    its MOT, so I picked up a used Honda Jazz. ..." after "I drive a little Fiat
    Panda"); ``brief``: both hold some, are short enough to read as one and
    are not one sentence said twice;
    ``held``: how many of the question's words the newer's holds; ``said``:
    where the newer's markers are read (its answer clause when that holds a word
    of the question, else its sentence)."""
    old_on = on[older][0]  # a short statement's is the whole of it
    if len(words(texts[newer])) <= MAX_WORDS:
        new_on, matched = texts[newer], 1
    else:
        new_on, matched = (sentence_on(texts[newer], asked | _terms(old_on))
                           if _message(texts[newer]) else (texts[newer], 0))
    brief = (matched > 0 and len(words(new_on)) <= MAX_WORDS
             and len(words(old_on)) <= MAX_WORDS and words(old_on) != words(new_on))
    new_held = len(_terms(new_on) & asked)
    nsaid = said[newer] if held[newer] or not brief else new_on
    return old_on, new_on, brief, new_held, nsaid
