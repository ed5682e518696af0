"""Category -> instance query expansion: "What pet ...?" also looks for "corgi".

A question often names a category while the statement that answers it names
an instance ("What pet does Ana have?" / "we adopted a corgi"), so they share
no word and the lexical signal cannot see the answer. When a query asks for an
instance of a category of the shipped table (:func:`categories`), the lexical
signal also searches for that category's instances (:func:`merged`).

The table, ``engram/data/categories.tsv``, maps a category noun (pet, vehicle,
diet, instrument, sport, illness, country, job, ...) to its common instance
words, most frequent first. It is built offline from WordNet 3.0 hyponyms by
``tools/build_expand_table.py`` (WordNet's licence:
``engram/data/wordnet_LICENSE.txt``); nothing is fetched at run time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from importlib import resources

from ..models import ItemRef
from ..recall.entities import singular
from ..store.base import Candidate
from ..text import query_terms

__all__ = ["MAX_TERMS", "added", "also", "categories", "expansion", "merged", "packaged_table",
           "table"]

#: at most this many instance words in one lexical query (one keeps 64 terms)
MAX_TERMS = 60


def packaged_table(name: str) -> dict[str, tuple[str, ...]]:
    """A packaged table ``engram/data/<name>``: each line ``word<TAB>word word ...``
    (lines opening with ``#`` are comments) as first word -> the others."""
    text = resources.files("engram").joinpath(f"data/{name}").read_text("utf-8")
    out: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, words = line.partition("\t")
            out[key] = tuple(words.split())
    return out


@functools.cache
def table() -> dict[str, tuple[str, ...]]:
    """Category word -> instance words, most frequent first (read once)."""
    return packaged_table("categories.tsv")


#: a noun right after these asks for an instance of it ("What pet ...?", "any
#: pets", "favourite book", "what kind of dance"); elsewhere a category word is
#: usually what the question is about ("How many dogs", "dog owners")
_ASKS = re.compile(
    r"\b(?:what|which|any|favou?rite)\s+(?:(?:kinds?|types?|sorts?)\s+of\s+)?([a-z]+)\b")


def categories(query: str) -> list[str]:
    """The categories whose instances ``query`` asks for, in query order: a
    category word right after "what", "which", "any", "favourite" or "kind
    of" ("Which countries ...?" names "country"; "How many dogs ...?" none)."""
    known = table()
    out: list[str] = []
    for m in _ASKS.finditer(query.lower()):
        word = m.group(1)
        for form in (word, singular(word)):
            if form in known and form not in out:
                out.append(form)
                break
    return out


def expansion(query: str, limit: int = MAX_TERMS) -> list[str]:
    """The instance words of the categories ``query`` names, as lexical queries of
    at most ``limit`` words each (``[]`` when it names none): the categories take
    turns, most frequent instance first, words of the query itself left out."""
    named = categories(query)
    if not named:
        return []
    own = set(query_terms(query, keep_stopwords=True))
    lists = [[w for w in table()[c] if w not in own] for c in named]
    out: dict[str, None] = {}
    for i in range(max(map(len, lists))):
        for words in lists:
            if i < len(words):
                out.setdefault(words[i], None)
    words = list(out)
    return [" ".join(words[i:i + limit]) for i in range(0, len(words), limit)]


def merged(
    lexical: Sequence[Candidate], query: str, weight: float, limit: int,
    search: Callable[[str], Sequence[Candidate]],
) -> list[Candidate]:
    """``lexical`` (the query's BM25 list, best first) as if the query also held
    the instance words of the categories it names, each counting ``weight``
    times a query word: an item's score gains ``weight`` times its best BM25
    score among the :func:`expansion` queries that ``search`` runs. Best first,
    at most ``limit``; ``lexical`` itself when the query names no category."""
    queries = expansion(query)
    if not queries:
        return list(lexical)
    extra: dict[ItemRef, float] = {}
    for q in queries:
        for c in search(q):
            extra[c.ref] = max(extra.get(c.ref, 0.0), c.score)
    return added(lexical, extra, weight, limit)


def also(lexical: Sequence[Candidate], words: str, weight: float, limit: int,
         search: Callable[[str], Sequence[Candidate]]) -> list[Candidate]:
    """``lexical`` (a query's BM25 list, best first) as if the query also held ``words``
    (one more lexical query, which ``search`` runs), each counting ``weight`` times a
    query word (:func:`added`); ``lexical`` itself when ``words`` is empty. The words of
    a term's family (:func:`engram.retrieval.variants.merged`) and a holiday's name
    (:func:`engram.retrieval.holidays.holiday_words`) are added so."""
    if not words:
        return list(lexical)
    return added(lexical, {c.ref: c.score for c in search(words)}, weight, limit)


def added(lexical: Sequence[Candidate], extra: Mapping[ItemRef, float], weight: float,
          limit: int) -> list[Candidate]:
    """``lexical`` with each item's score gaining ``weight`` times its ``extra`` score
    (an item only in ``extra`` enters with that), best first (ties by type and id), at
    most ``limit``."""
    scores = {c.ref: c.score for c in lexical}
    for ref, s in extra.items():
        scores[ref] = scores.get(ref, 0.0) + weight * s
    out = sorted(scores.items(), key=lambda t: (-t[1], t[0].type, t[0].id))[:limit]
    return [Candidate(ref, s) for ref, s in out]

