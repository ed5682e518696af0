"""What a search reads of each head item's text, worked out once when its card is made.

The reranker reads, of each of the ~60 items it rescored, the index terms of
its text (:func:`~engram.index.lexical.term_set`: lower-casing, splitting,
stemming) and whether it says something about time (:func:`timey`); multi-hop
search reads the names each of its best hits introduces
(:func:`~engram.recall.introductions.introduced_names`). On a first search every
head text is new to the process, so that was per-text work on the search's path:
a third of the reranker at 100k memories, more on long chat turns, and reading a
long turn for the names it introduces costs about a millisecond. A partition card
(:mod:`.cards`) holds these *facts* of its text, made with the card
(:func:`facts`): the search reads them back (:func:`read_terms`, :data:`TIMEY`,
:func:`read_names`) instead of working them out again.

Facts are a pure function of the text, so read back they equal what the search
would work out (``read_terms(facts(t)[0]) == term_set(t)``,
``read_names(facts(t)[2]) == introduced_names(t)``). They live in the
card, so they are dropped and blanked with it (a forgotten item's terms leave
memory and the index file with its text).
"""

from __future__ import annotations

import re

from ..recall.introductions import introduced_names
from .lexical import term_set

__all__ = ["TIMEY", "TIME_WORDS", "TIMEY_PATTERN", "facts", "read_names", "read_terms",
           "timey"]

#: words by which a message places something in time (cheap: no resolution)
TIME_WORDS = frozenset((
    "yesterday today tonight tomorrow ago last next weekend week month year monday "
    "tuesday wednesday thursday friday saturday sunday january february march april may "
    "june july august september october november december summer winter spring autumn "
    "fall since recently").split())
#: and numbers that do: a year, a day of the month
_TIME_NUMBER = r"(?:19|20)\d\d|\d{1,2}(?:st|nd|rd|th)"
#: a time word or number, as a whole word, in any case
TIMEY_PATTERN = re.compile(rf"\b(?:{'|'.join(sorted(TIME_WORDS))}|{_TIME_NUMBER})\b",
                           re.IGNORECASE)
_TIME_NUMBER_RUN = re.compile(_TIME_NUMBER)
_RUN = re.compile(r"\w+")

#: the flag bit of a text that :func:`timey` holds
TIMEY = 1


def timey(text: str) -> bool:
    """Whether :data:`TIMEY_PATTERN` finds a time word in ``text``. An ASCII text is
    read as a set of its lower-cased word runs (a match of the whole-word pattern
    is one whole run; three times faster on long texts); any other text by the
    pattern itself (its case-insensitive matching is Unicode's)."""
    if not text.isascii():
        return TIMEY_PATTERN.search(text) is not None
    runs = set(_RUN.findall(text.lower()))
    return not runs.isdisjoint(TIME_WORDS) or any(
        r[0].isdigit() and _TIME_NUMBER_RUN.fullmatch(r) is not None for r in runs)


def facts(text: str) -> tuple[str, int, str]:
    """The facts of ``text``: its index terms (sorted, joined by spaces: no term
    holds one), its flags (:data:`TIMEY`) and the names it introduces (sorted,
    joined by line breaks: a name's key holds single spaces only)."""
    return (" ".join(sorted(term_set(text))), TIMEY if timey(text) else 0,
            "\n".join(sorted(introduced_names(text))))


def read_terms(terms: str) -> frozenset[str]:
    """The term set :func:`facts` wrote as ``terms``."""
    return frozenset(terms.split(" ")) if terms else frozenset()


def read_names(names: str) -> frozenset[str]:
    """The introduced names :func:`facts` wrote as ``names``."""
    return frozenset(names.split("\n")) if names else frozenset()
