"""The answer clause: where in a statement the answer to a question is read.

A statement answers a query by the clause holding most of the query's index terms
(:func:`answer_clause`); markers of change and the values a statement gives are read
there (:mod:`.updates`). Moved from :mod:`.updates`, behaviour unchanged.
"""

from __future__ import annotations

import re

from ..text import text_cache
from .rerank import _terms
from .slots import _NUMBER_WORD, _NUMBER_WORDS

__all__ = ["COVER", "answer_clause"]

#: least share of the query's index terms a statement's answer clause holds to
#: answer the query (:func:`answer_clause`)
COVER = 0.4

#: where a statement splits into clauses: sentence ends, line breaks, a comma
#: before a conjunction or relative ("..., which has now reached 165"), a dash,
#: BEAM's "->->" tail (the runs of spaces possessive: a run never ends in a dash, so
#: they match what a backtracking run would, without retrying each shorter run of
#: code's indentation: 2.3x faster over the data sets' turns, the same clauses)
_CLAUSE = re.compile(
    r"\s*+->->.*|(?<=[.!?;:])\s+|\n+|,\s+(?=(?:and|but|so|which|because|since|while|although|"
    r"though|as|now|then)\b)|\s++[-–—]\s+"
)
_NUMBER = re.compile(r"\d[\d,.:]*\d|\d")
_CODE = re.compile(r"```.*?(?:```|$)", re.DOTALL)


@text_cache(8192)
def _clauses(text: str) -> tuple[str, ...]:
    return tuple(c for c in _CLAUSE.split(_CODE.sub(" ", text)) if c and c.strip())


def answer_clause(text: str, asked: frozenset[str]) -> tuple[str, int]:
    """The clause of ``text`` holding most of the index terms ``asked`` (the
    shorter on a tie), and how many it holds; ``(text, 0)`` when none holds
    any. Code blocks are not read ("```js ... ```")."""
    best, held, _ = _answer_at(text, asked)
    return best, held


#: prefixes that make a word of another's form ("remortgaged", "unsubscribed",
#: "misspelt"): a closed class of the grammar
_PREFIX = re.compile(r"(?:re|un|dis|mis|de|pre)(?=[a-z]{4})")


@text_cache(8192)
def _forms(clause: str) -> frozenset[str]:
    """A clause's index terms, and each prefixed one's word without its prefix
    ("remortgaged" holds "mortgage": session 13, a change carried by a word's
    form)."""
    terms = _terms(clause)
    return terms | {t[m.end():] for t in terms if (m := _PREFIX.match(t)) is not None}


def _answer_at(text: str, asked: frozenset[str]) -> tuple[str, int, str]:
    """:func:`answer_clause` and the clause after it ("" when none)."""
    clauses = _clauses(text)
    best, held, size, at = text, 0, 0, len(clauses)
    for n, clause in enumerate(clauses):
        terms = _terms(clause)
        k = len(terms & asked)
        if k > held or (k == held and k and len(terms) < size):
            best, held, size, at = clause, k, len(terms), n
    return best, held, clauses[at + 1] if at + 1 < len(clauses) else ""


def _covers(text: str, asked: frozenset[str]) -> bool:
    """Whether the answer clause of ``text`` holds ``COVER`` of the query's terms."""
    return bool(asked) and _answer_at(text, asked)[1] >= COVER * len(asked)


def _values(clause: str, after: str, spelled: bool = False, in_clause: bool = False
            ) -> frozenset[str]:
    """The numbers an answer clause gives, or, when it gives none, the clause
    after it ("... the commits merged into the main branch, which has now
    reached 165"); ``spelled``: numbers in words count too ("four days a week",
    :data:`_NUMBER_WORDS`; read in short statements only: in a long request
    "a couple of options, two or three" is prose); ``in_clause``: in the answer
    clause itself only (a long message's, session 12: "There are four of us on
    the data team")."""
    found = _numbers(clause, spelled or in_clause) or _numbers(after, spelled)
    return frozenset(x.replace(",", "") for x in found)


def _numbers(text: str, spelled: bool) -> list[str]:
    found = _NUMBER.findall(text)
    if spelled:
        found += [_NUMBER_WORDS[w.lower()] for w in _NUMBER_WORD.findall(text)]
    return found
