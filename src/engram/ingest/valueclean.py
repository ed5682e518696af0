"""The value a rule of :mod:`engram.ingest.derive` matched, as a memory says it
(:func:`clean_value`): without the quotes around it, a marker of symbols ("->-> 2") or
an aside after a spaced dash and what follows, a clause run on without a stop ("rafiqi i
used to get ..."), a symbol at its end, a word that only weighs it ("actually", "also"
before it, "especially" after), a time or a manner at its end ("last year", "on my own")
or a word left hanging where it was cut ("like", "and"); a quote the cut left open is
closed, one inside it kept ('"The Office"').
"""

from __future__ import annotations

import re

__all__ = ["NOT_AFTER_OPENER", "clean_value", "trimmed"]


_TRAILING_TIME = re.compile(
    r"\s+(?:(?:last|this|next|the other)\s+(?:year|month|week|weekend|night|summer|winter|"
    r"spring|fall|autumn|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|yesterday|"
    r"today|tonight|tomorrow|recently|now|lately|again|too|as well|a while ago|these days|"
    r"at the moment|right now|for now|currently|"
    r"(?:a few|two|three|\d+)\s+(?:days|weeks|months|years)\s+ago|"
    r"(?:in|in early|in late|in mid|since|until|this|last)\s+(?:january|february|march|april|"
    r"may|june|july|august|september|october|november|december|\d{4})|"
    r"(?:in|over|during) the (?:spring|summer|autumn|fall|winter|holidays|new year|end)|"
    r"at the (?:weekend|end of \w+)|for good|at last|in the end|"
    # a word that only weighs the value ("wide bodies especially", "ice skating toooo",
    # "bubble tea then", "badminton the most")
    r"especially|in particular|actually|(?<!\bback\s)then|the most|to{3,})$",
    re.IGNORECASE,
)


#: how one does it, or a word left hanging where the value was cut ("a dorm on my own",
#: "fantasy series like", "brownies and"; not a preposition a clause ends on: "the one
#: to jam to", "the people I work with")
_TRAILING_REST = re.compile(
    r"\s+(?:on (?:my|our|his|her|their) own|by (?:myself|ourselves)|alone|at all|"
    r"like|such as|the|a|an|and|or|my|your|our|their|because|cause|['’]cause|cuz|coz)$",
    re.IGNORECASE,
)
#: a word that only weighs the value before it ("my favourite pasta is actually ravioli",
#: "I like to also do yoga"): the value is what follows
_LEADING = re.compile(r"^(?:(to)\s+)?(?:actually|also|definitely|honestly|totally|"
                      r"probably)\s+(?=\S)", re.IGNORECASE)
#: not right after a word that opens a clause a value may hold ("it when it snows", "it
#: when they're home"): a lookbehind for each, put before what a run-on clause starts with
NOT_AFTER_OPENER = "".join(
    rf"(?<!\b{w})" for w in ("when", "whenever", "if", "how", "that", "as", "where", "and",
                              "but", "or", "what", "why", "while", "way", "because",
                              "before", "after", "until", "once", "unless", "so"))
#: a clause of its own run on without a stop, chat's way: "rafiqi i used to get a dollar
#: hotdog from him", "pistachios theyre green", "Smile Burger their food looks good" (not
#: after a word that opens a clause the value holds: "it when they're home")
_RUN_ON = re.compile(
    NOT_AFTER_OPENER
    + r"\s+(?:i\s+(?:used|am|was|have|had|think|thought|know|knew|got|get|go|went|do|did|"
    r"don['’]?t|didn['’]?t|can|could|would|will|just|also|really|always|never|love|like|"
    r"loved|liked|want|wanted)\b|theyre\b|they['’]re\b|"
    r"their\s+\w+\s+(?:looks?|tastes?|smells?|sounds?|seems?)\b).*$",
    re.IGNORECASE)
#: a symbol at the end (an emoji: "the school ones way better 😅")
_TRAILING_SYMBOLS = re.compile(r"[\s\u2600-\u27bf\U0001F000-\U0001FAFF\ufe0f\u200d]+$")
#: a marker of symbols, or an aside after a spaced dash, and what follows it ("real
#: progress ->-> 1", "tea -- green mostly", "a Financial Analyst last week - it's been")
_MARKER = re.compile(r"\s*[-=<>|~^*#]{2,}.*$|\s+[-–—]\s.*$")
#: each quote mark that opens, with the one that closes it
_QUOTES = (('"', '"'), ("“", "”"), ("`", "`"))


def _balanced(value: str) -> str:
    """``value`` with a quote it opens closed where the value was cut (a message
    like "Sorry, ...": 'a message like "Sorry')."""
    for left, right in _QUOTES:
        opened = value.count(left) - value.count(right) if left != right else value.count(left) % 2
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


def clean_value(value: str) -> str:
    value = _unquoted(value)
    value = _MARKER.sub("", re.sub(r"\s+", " ", value))
    value = _RUN_ON.sub("", _TRAILING_SYMBOLS.sub("", value))
    value = _LEADING.sub(lambda m: f"{m.group(1)} " if m.group(1) else "", value)
    return _balanced(trimmed(value))


def trimmed(value: str) -> str:
    """``value`` without a time, a manner or a weighing word at its end, nor a word left
    hanging there ("badminton the most", "brownies and"), however many in turn."""
    while True:
        cut = _TRAILING_REST.sub("", _TRAILING_TIME.sub("", value))
        if cut == value:
            return value
        value = cut
