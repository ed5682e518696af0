"""Vocabulary of English time expressions: regex fragments, number words, tense cues.

Everything here is data or a pure helper; the rules that use it live in
:mod:`engram.recall.timeexpr`. Regex fragments are written for ``re.IGNORECASE``
and ``re.VERBOSE`` is never used (whitespace in fragments is literal ``\\s+``).
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "APPROX",
    "COUNT",
    "MONTHS",
    "MONTH_RE",
    "NTH",
    "SEASONS",
    "WEEKDAYS",
    "WEEKDAY_FULL_RE",
    "WEEKDAY_RE",
    "YEAR_RE",
    "count_range",
    "month_number",
    "tense_near",
    "weekday_number",
]

#: an ordinal's place in a month ("the first week of", "the second Tuesday in", "the last
#: Friday of"; -1: the last)
NTH = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
       "4th": 4, "fifth": 5, "5th": 5, "last": -1}

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
}

#: Vague quantities as inclusive (low, high) counts.
_VAGUE = {
    "couple": (2, 3),
    "few": (2, 5),
    "handful": (3, 6),
    "several": (3, 7),
    "many": (5, 15),
}

_ONE_NUMBER = (
    r"(?:\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty)"
)

#: A count before a time unit: "three", "3", "a", "a couple of", "a few", "one or two".
COUNT = (
    rf"(?:{_ONE_NUMBER}\s+or\s+{_ONE_NUMBER}|(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few|"
    rf"a\s+handful\s+of|several|many|{_ONE_NUMBER})"
)

#: Hedges before a count: "about two weeks ago", "over a year ago".
APPROX = (
    r"(?:(?P<approx>about|around|roughly|approximately|almost|nearly|over|more\s+than|"
    r"less\s+than|under|just\s+over|just\s+under|like|maybe|only|just|some)\s+)?"
)

MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}

MONTH_RE = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
)
#: Full month names only (for expressions without a day number or year).
MONTH_FULL_RE = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december)"
)

WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tues": 1,
    "tue": 1,
    "wednesday": 2,
    "weds": 2,
    "wed": 2,
    "thursday": 3,
    "thurs": 3,
    "thur": 3,
    "thu": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}

WEEKDAY_FULL_RE = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
#: Weekday names including abbreviations (only safe after "last", "this", "next").
WEEKDAY_RE = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"tues|tue|weds|wed|thurs|thur|thu|mon|fri|sat|sun)"
)

SEASONS = {
    "spring": "spring",
    "summer": "summer",
    "fall": "autumn",
    "autumn": "autumn",
    "winter": "winter",
}

YEAR_RE = r"(?:19\d\d|20\d\d)(?!\d)"

_FUTURE_CUES = re.compile(
    r"\b(?:will|won't|shall|gonna|going\s+to|plan(?:s|ning)?\s+(?:to|on)|planning|"
    r"hope\s+to|hoping\s+to|want\s+to|wanna|can't\s+wait|cannot\s+wait|looking\s+forward|"
    r"about\s+to|upcoming|coming\s+up|tomorrow|excited\s+(?:for|about|to)|scheduled\s+for|"
    # a time set for something ("the exam is on 12 January", "the results are due Friday")
    r"(?:is|are|['’]s)\s+(?:due|set\s+for|booked\s+for|planned\s+for)|"
    r"(?:any|your|the|my|our|no)\s+plans|see\s+(?:you|ya|u)|"
    r"(?:am|is|are)\s+(?:(?:you|we|they|he|she|i|the\s+\w+|(?-i:[A-Z][a-z]+))\s+)?"
    r"(?:\w+ly\s+)?\w+ing|"
    r"(?:do|does|would)\s+(?:you|we|they|he|she)\s+(?:want|plan|like))\b|'ll\b|"
    # "I'm visiting", "I'm finally visiting"
    r"'(?:m|re|s)\s+(?:\w+ly\s+)?\w+ing\b",
    re.IGNORECASE,
)
_PAST_WORDS = re.compile(
    r"\b(?:was|were|had|did|went|got|made|took|saw|came|met|ran|told|said|felt|found|"
    r"gave|bought|left|spent|began|won|lost|ate|drove|flew|wrote|heard|yesterday|ago|"
    r"already)\b",
    re.IGNORECASE,
)
_ED_VERB = re.compile(r"\b(\w+)\s+(\w{3,}ed)\b", re.IGNORECASE)
# "is booked", "I'm excited", "so tired": an -ed word after these is an adjective.
_NOT_PAST_BEFORE_ED = frozenset(
    "is are am be been being get gets getting so very really pretty too feel feels "
    "feeling seem seems look looks i'm you're we're they're it's that's he's she's "
    "more most less not yet".split()
)
_CLAUSE_END = re.compile(r"[.!?;\n]")
#: a time said to be when something is ("the exam is on 12 January", "my birthday's in
#: May", "the party is Friday"): the coming one, right before the expression (or before
#: the "on"/"in" a rule's match holds); not a possessive ("Did Kevin's New Year's Eve
#: plans come true?")
_SET_FOR = re.compile(r"(?:\b(?:is|are)\s+(?:(?:on|in)\s+)?|['’]s\s+(?:on|in)\s+)(?:the\s+)?$",
                      re.IGNORECASE)
#: a set time asked or offered in the present simple ("What time does the ceremony start
#: on Saturday?", "Does Friday work?"); not a habit or a report ("Which movie does Tim
#: mention they watch during Thanksgiving?")
_PRESENT_AUX = re.compile(
    r"\b(?:does|do)\s+(?:[\w'’]+\s+){0,4}?(?:start|begin|open|close|end|finish|leave|arrive|"
    r"land|depart|happen|take\s+place|kick\s+off|sound|work|suit)\b", re.IGNORECASE)
#: a present perfect ("I've booked a session on May 20", "we have decided to start in
#: July"): done now, for a time that is often still to come, so no past cue of a clause
_PERFECT = re.compile(r"\b(?:have|has|haven['’]t|hasn['’]t)\b|['’]ve\b", re.IGNORECASE)
#: where a sentence's clauses meet ("Took the car in on Monday and they're ringing me
#: back on Friday")
_CLAUSE_JOIN = re.compile(
    r"[,:]|\s(?:and|but|so|while|whereas|because|though|although|cos|then)\s", re.IGNORECASE)


#: a form of "be" a few words before an "-ed" word makes it an adjective ("Is the office
#: closed on Friday?", "are the shops still closed")
_BE_BEFORE = re.compile(r"\b(?:is|are|am|be|isn['’]t|aren['’]t)\s+(?:\w+\s+){0,3}$",
                        re.IGNORECASE)


def _past(clause: str) -> bool:
    if _PAST_WORDS.search(clause):
        return True
    padded = "x " + clause
    return any(m.group(1).lower() not in _NOT_PAST_BEFORE_ED
               and _BE_BEFORE.search(padded, 0, m.start(2)) is None
               for m in _ED_VERB.finditer(padded))


def tense_near(text: str, start: int, end: int) -> Literal["past", "future"] | None:
    """Guess the tense of the clause holding ``text[start:end]`` from cue words.

    Future cues ("will", "'ll", "going to", "planning", present progressive, "is
    due") win over past cues ("went", "-ed" verbs not used as adjectives, "ago");
    ``None`` when neither occurs. The clause is read first (up to a comma or an
    "and", "but", ...), then, if it holds no cue, the whole sentence: in "We got
    Luna in March and she's seeing the vet tomorrow", "in March" is past. A clause or
    sentence in the present perfect ("I've booked a session on May 20") gives no past
    cue. "is", "is on", "is in" right before the expression make it the coming one.
    The expression itself is left out so "next"/"last" do not vote.
    """
    if _SET_FOR.search(text, max(0, start - 40), start) is not None:
        return "future"
    left = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    right_match = _CLAUSE_END.search(text, end)
    right = right_match.start() if right_match else len(text)
    near_left = max((m.end() for m in _CLAUSE_JOIN.finditer(text, left, start)), default=left)
    near_right_match = _CLAUSE_JOIN.search(text, end, right)
    near_right = near_right_match.start() if near_right_match else right
    for a, b in ((near_left, near_right), (left, right)):
        clause = text[a:start] + " " + text[end:b]
        if _FUTURE_CUES.search(clause):
            return "future"
        if _past(clause) and _PERFECT.search(clause) is None:
            return "past"
    # the present simple of a set time ("What time does the ceremony start on Saturday?"):
    # the coming one
    return "future" if _PRESENT_AUX.search(text, near_left, near_right) else None


def count_range(phrase: str) -> tuple[int, int] | None:
    """Inclusive (low, high) count of a :data:`COUNT` phrase; ``None`` when unknown."""
    words = phrase.lower().split()
    if "or" in words:
        idx = words.index("or")
        low = _one(" ".join(words[:idx]))
        high = _one(" ".join(words[idx + 1 :]))
        if low is None or high is None:
            return None
        return min(low, high), max(low, high)
    for word, rng in _VAGUE.items():
        if word in words:
            return rng
    value = _one(" ".join(words))
    return None if value is None else (value, value)


def _one(word: str) -> int | None:
    word = word.strip()
    if word.isdigit():
        return int(word)
    return _NUMBER_WORDS.get(word)


def month_number(name: str) -> int:
    return MONTHS[name.lower().rstrip(".")]


def weekday_number(name: str) -> int:
    return WEEKDAYS[name.lower().rstrip(".")]
