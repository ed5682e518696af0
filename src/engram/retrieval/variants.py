"""Words of one family: "advocacy" also finds "advocate", "photography" "photographer".

The stemmer meets "plays" and "played", but not a word and its derivations:
"What is one of Micah's advocacy areas?" shares no index term with "Micah is an
advocate for renewable energy", nor "Is Clara a musician?" with "Clara plays music
in a band", nor "economy" with "economist". When a query term has
variants in the shipped table (:func:`table`), the lexical signal also searches for
them (:func:`merged`), each counting ``weight`` times a query word.

The table, ``engram/data/variants.tsv``, maps a word to the words of its family whose
index terms differ: pairs WordNet 3.0 links as one word's derivation of the other
where one of them names a person, a field or a doing and who does it ("photography" /
"photographer", "paint" / "painter"), common words whose terms open alike, and no word
so common that its derivations say something else ("work" / "worker"):
``tools/build_variants_table.py``; WordNet's licence: ``engram/data/wordnet_LICENSE.txt``.
A query's words are looked up by their base forms (:func:`bases`: WordNet's own
detachment rules, "painting" -> "paint", "cycling" -> "cycle"), not by index term: two
words of one index term need not be one family ("conversation" / "conversion").
Nothing is fetched at run time; the table is read once, on first use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

from ..index.lexical import tokens
from ..store.base import Candidate
from .expand import also, packaged_table

__all__ = ["MAX_TERMS", "bases", "merged", "table", "variant_query"]

#: a query of more index terms than this searches no variants: a long request carries
#: its own anchors, and a variant of one of its many words finds the word's other sense
#: ("handle" / "handler", "track" / "tracker" in a chat about code)
MAX_TERMS = 8


#: a word of a query, lower-cased
_WORD = re.compile(r"[a-z]+")
#: WordNet's detachment rules (its ``morphy``): an ending and what replaces it, for
#: nouns ("parties"), verbs ("dancing", "painted") and adjectives ("kinder")
_DETACH = (("ies", "y"), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"),
           ("shes", "sh"), ("men", "man"), ("s", ""), ("es", "e"), ("es", ""),
           ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""), ("er", ""), ("est", ""),
           ("er", "e"), ("est", "e"))


def bases(word: str) -> list[str]:
    """``word`` and the base forms WordNet's detachment rules give it, a doubled last
    consonant undone too ("programming" -> "programm", "program"), in that order."""
    out = [word]
    for end, put in _DETACH:
        if word.endswith(end) and len(word) - len(end) >= 2:
            base = word[: len(word) - len(end)] + put
            out.append(base)
            if not put and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "aeiou":
                out.append(base[:-1])
    return list(dict.fromkeys(out))


@functools.cache
def table() -> dict[str, tuple[str, ...]]:
    """Word -> the words of its family whose index terms differ (read once)."""
    return packaged_table("variants.tsv")


def variant_query(query: str, max_terms: int = MAX_TERMS) -> str:
    """The variants of ``query``'s words (of the first of :func:`bases` the table
    holds) whose index terms ``query`` does not hold itself, as one lexical query (""
    when none, and for a query of more than ``max_terms`` index terms): "Is Clara a
    musician?" -> "music"."""
    known = table()
    held = set(tokens(query))
    if len(held) > max_terms:
        return ""
    out: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        found = next((known[b] for b in bases(word) if b in known), ())
        for other in found:
            if not held.intersection(tokens(other)):
                out.setdefault(other, None)
    return " ".join(out)


def merged(
    lexical: Sequence[Candidate], query: str, weight: float, limit: int,
    search: Callable[[str], Sequence[Candidate]],
) -> list[Candidate]:
    """``lexical`` (the query's BM25 list, best first) as if the query also held its
    terms' variants, each counting ``weight`` times a query word: an item's score
    gains ``weight`` times its BM25 score for :func:`variant_query`, which ``search``
    runs. Best first, at most ``limit``; ``lexical`` itself when no term has a variant."""
    return also(lexical, variant_query(query), weight, limit, search)
