"""Text helpers shared by the stores and the pipeline: normalisation, terms, hashing."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar, cast

__all__ = ["STOPWORDS", "TextMemo", "clear_text_caches", "content_hash", "normalize",
           "query_terms", "scope_token", "text_cache"]

F = TypeVar("F", bound=Callable[..., Any])
K = TypeVar("K")
V = TypeVar("V")

#: every :func:`text_cache`, so :func:`clear_text_caches` reaches them all
_TEXT_CACHES: list[Any] = []


def text_cache(maxsize: int) -> Callable[[F], F]:
    """A bounded memo (``functools.lru_cache``) of a function of stored texts.

    Such a cache holds whole message and memory texts in the process's memory, so
    it is registered here and emptied by :func:`clear_text_caches`, which the
    engine calls after a forget or a delete: forgotten text does not stay in a
    memo until it happens to be evicted."""

    def wrap(fn: F) -> F:
        cached = lru_cache(maxsize=maxsize)(fn)
        _TEXT_CACHES.append(cached)
        return cast(F, cached)

    return wrap


class TextMemo(dict[K, V]):
    """A plain dict memo keyed by words or pieces of stored texts (a stemmer's or a
    detector's per-word results), for hot paths where a function call per look-up
    costs too much. Every one is registered (weakly) and emptied by
    :func:`clear_text_caches` like a :func:`text_cache`: a forgotten user's words
    do not stay in the process's vocabularies."""

    def __init__(self) -> None:
        super().__init__()
        _TEXT_MEMOS.add(self)

    __hash__ = object.__hash__  # type: ignore[assignment]  # WeakSet needs identity hashing


#: every live :class:`TextMemo`
_TEXT_MEMOS: weakref.WeakSet[TextMemo[Any, Any]] = weakref.WeakSet()


def clear_text_caches() -> None:
    """Empty every :func:`text_cache` and :class:`TextMemo` (after a forget or a delete)."""
    for cached in _TEXT_CACHES:
        cached.cache_clear()
    for memo in list(_TEXT_MEMOS):
        memo.clear()

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)

#: Function words that carry no retrieval signal. Kept small on purpose: words
#: like "when", "where" and "who" are dropped, content words are never.
STOPWORDS = frozenset(
    """
a about above after again against all am an and any are aren't as at be because been before
being below between both but by can can't cannot could couldn't did didn't do does doesn't doing
don't down during each few for from further had hadn't has hasn't have haven't having he he'd
he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into
is isn't it it's its itself let's me more most mustn't my myself no nor not of off on once only or
other ought our ours ourselves out over own same shan't she she'd she'll she's should shouldn't
so some such than that that's the their theirs them themselves then there there's these they
they'd they'll they're they've this those through to too under until up very was wasn't we we'd
we'll we're we've were weren't what what's when when's where where's which while who who's whom
why why's will with won't would wouldn't you you'd you'll you're you've your yours yourself
yourselves s t just also did does get got really yeah oh ok okay
""".split()
)


def normalize(text: str) -> str:
    """NFKC, collapsed whitespace, stripped. Used for hashing and dedup."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def content_hash(text: str) -> str:
    """sha256 hex of the normalised text: the embedding cache key."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def query_terms(text: str, *, keep_stopwords: bool = False, limit: int = 64) -> list[str]:
    """Lower-cased word terms of ``text`` in order, without duplicates.

    Apostrophe suffixes are split off ("Caroline's" -> "caroline"). Stopwords are
    dropped unless nothing else remains.
    """
    seen: dict[str, None] = {}
    for m in _WORD.finditer(unicodedata.normalize("NFKC", text).lower()):
        word = re.split(r"['’]", m.group(0))[0]
        if word and word not in seen:
            seen[word] = None
    words = list(seen)
    if not keep_stopwords:
        content = [w for w in words if w not in STOPWORDS]
        if content:
            words = content
    return words[:limit]


def scope_token(kind: str, value: str) -> str:
    """An opaque alphanumeric token for a scope value, indexable by any tokenizer."""
    digest = hashlib.blake2b(f"{kind}\x00{value}".encode(), digest_size=10).hexdigest()
    return f"{kind}{digest}"
