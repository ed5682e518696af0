"""A category-aware semantic cache of search results, never stale.

``Engram(..., semantic_cache=True)`` (setting ``semantic_cache``, off by
default) answers a repeated or near-identical search from the results of an
earlier one with the same scope, filters, preset and limit. Off by default
because a paraphrase match is a judgement: a cached ranking is the one an
*earlier wording* got (measured by ``engram bench cache``; see docs/agents.md).

Matching, per query category (:func:`categorize`, rules on the wording):

========== ================ ========= =========================================
category   example          TTL       similarity of the query vectors
========== ================ ========= =========================================
temporal   "when did I ..." 5 min     0.97 (relative dates move with the clock)
preference "do I like ..."  1 hour    0.97
procedural "how do I ..."   1 day     0.93
factual    everything else  1 hour    0.96
========== ================ ========= =========================================

A query's *anchors* (numbers, names, negations, time words, comparatives) must
be the same as the cached one's, whatever the similarity: "What is Anna's
job?" never answers "What is Bob's job?". The same normalised text always
matches (within the TTL). A search whose preset has no dense signal matches
exact text only (the model is never loaded for the cache).

Invalidation: every entry holds the store's :meth:`~engram.store.base.Store.change_marker`
read *before* its search ran; a lookup that sees another marker drops every
entry, so any committed write, by this process or another one (a forget
included), ends every cached answer, and a write that lands during a search
keeps its result out of the cache. The engine also drops entries on its own
writes, forgets and deletions, so forgotten text leaves the cache's memory at
once. A backend with no marker (PostgreSQL with Citus) is never cached.

Results are deep copies both ways (a caller changing a hit changes nothing
cached). Access counts of cached hits are still recorded by the engine.
"""

from __future__ import annotations

import copy
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np

from ..embed.base import Embedder
from ..models import Hit, Scope, SearchFilters
from ..retrieval import unnamed
from ..retrieval.config import RetrievalConfig
from ..retrieval.search import Searcher
from ..retrieval.signals import Signal

__all__ = [
    "DEFAULT_POLICIES",
    "Anchors",
    "CachePolicy",
    "CacheStats",
    "QueryCategory",
    "SemanticCache",
    "anchors",
    "cached_search",
    "categorize",
    "normalise",
]


class QueryCategory(StrEnum):
    FACTUAL = "factual"
    TEMPORAL = "temporal"
    PREFERENCE = "preference"
    PROCEDURAL = "procedural"


@dataclass(frozen=True)
class CachePolicy:
    """``similarity``: least cosine between the query vectors (``1.0``: same
    normalised text only); ``ttl_seconds``: how long an entry answers."""

    similarity: float
    ttl_seconds: float


#: chosen with ``engram bench cache`` on the LoCoMo and REALTALK dev conversations
#: (docs/agents.md): the lowest similarity whose wrong-hit rate stays near the
#: exact-match floor; procedural queries are rare there (0.93 is a cautious guess)
DEFAULT_POLICIES: dict[QueryCategory, CachePolicy] = {
    QueryCategory.FACTUAL: CachePolicy(0.96, 3600.0),
    QueryCategory.TEMPORAL: CachePolicy(0.97, 300.0),
    QueryCategory.PREFERENCE: CachePolicy(0.97, 3600.0),
    QueryCategory.PROCEDURAL: CachePolicy(0.93, 86400.0),
}

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|"
           "november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend"
_TIME_WORDS = (r"yesterday|today|tonight|tomorrow|now|currently|recently|lately|ago|"
               r"last|next|previous|this|since|until|before|after|during|first|earliest|"
               r"latest|morning|afternoon|evening|night|week|weeks|month|months|year|years|"
               r"day|days|hour|hours|decade|season|spring|summer|autumn|fall|winter|"
               + _MONTHS + "|" + _DAYS)
_TEMPORAL = re.compile(
    r"\b(when|what (?:time|day|date|year|month)|how (?:long|often|many (?:days|weeks|months"
    r"|years))|dates?|" + _TIME_WORDS + r")\b|\b(?:1[89]|20)\d\d\b", re.I)
_PROCEDURAL = re.compile(
    r"\b(how (?:do|does|did|can|could|should|would|to)|steps?|procedures?|process|"
    r"instructions?|ways? to|recipes?|guide|set ?up|configure|install|fix|troubleshoot|"
    r"workflow|method)\b", re.I)
_PREFERENCE = re.compile(
    r"\b(prefers?|preferred|preference|favou?rites?|likes?|liked|loves?|loved|enjoys?|"
    r"enjoyed|hates?|hated|dislikes?|disliked|wants?|wish|rather|fond|into|taste)\b", re.I)

_WORD = re.compile(r"[\w']+")
_ANCHOR_WORDS = frozenset(
    ("not no never none nothing nobody without n't cannot can't don't doesn't didn't "
     "won't isn't wasn't aren't weren't more most less least fewer better best worse "
     "worst first last next previous before after earliest latest oldest newest").split()
) | frozenset(_TIME_WORDS.split("|"))
_CAPITAL = re.compile(r"\b[A-Z][\w'-]*")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve twenty thirty "
    "hundred thousand million once twice half".split())


def normalise(query: str) -> str:
    """The text a query is matched on exactly: NFKC, lower case, words only."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", query).lower()))


def categorize(query: str) -> QueryCategory:
    """The category of a query, by its wording (temporal first: the strictest)."""
    if _TEMPORAL.search(query):
        return QueryCategory.TEMPORAL
    if _PROCEDURAL.search(query):
        return QueryCategory.PROCEDURAL
    if _PREFERENCE.search(query):
        return QueryCategory.PREFERENCE
    return QueryCategory.FACTUAL


@dataclass(frozen=True)
class Anchors:
    """What two queries must share to share an answer (:func:`anchors`)."""

    #: numbers, negations, comparatives and time words (case-insensitive)
    fixed: frozenset[str]
    #: names: capitalised words but the first, lower-cased
    names: frozenset[str]
    #: every word, lower-cased (a name typed in lower case still counts as present)
    words: frozenset[str]

    def matches(self, other: Anchors) -> bool:
        """Same fixed anchors, and each one's names among the other's words."""
        return (self.fixed == other.fixed and self.names <= other.words
                and other.names <= self.words)


def anchors(query: str) -> Anchors:
    """The anchors of a query: "What is Anna's job?" never answers "What is Bob's
    job?", "in 2021" never "in 2022", "last week" never "next week"."""
    text = unicodedata.normalize("NFKC", query).replace("\u2019", "'")
    fixed = set(_NUMBER.findall(text))
    names: set[str] = set()
    words = _WORD.findall(text)
    for i, w in enumerate(words):
        low = w.lower()
        if low in _ANCHOR_WORDS or low in _NUMBER_WORDS or low.endswith("n't"):
            fixed.add("not" if low.endswith("n't") or low in ("no", "never", "cannot") else low)
        elif i > 0 and _CAPITAL.fullmatch(w) and low not in ("i", "i'm", "i've", "i'd"):
            names.add(low.removesuffix("'s"))
    return Anchors(frozenset(fixed), frozenset(names),
                   frozenset(w.lower().removesuffix("'s") for w in words))


@dataclass
class CacheStats:
    """Counters since the cache was made (``size``: entries now)."""

    hits: int = 0
    misses: int = 0
    #: entries dropped because the store changed (or the engine wrote/forgot)
    invalidations: int = 0
    expired: int = 0
    size: int = 0
    hits_by_category: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "misses": self.misses, "invalidations": self.invalidations,
                "expired": self.expired, "size": self.size,
                "hits_by_category": dict(self.hits_by_category)}


@dataclass
class _Entry:
    key: Hashable
    text: str
    category: QueryCategory
    anchors: Anchors
    vector: np.ndarray | None
    hits: list[Hit]
    at: float


class SemanticCache:
    """Cached search results of one store (module docstring).

    ``marker`` is the store's :meth:`~engram.store.base.Store.change_marker`;
    ``clock`` gives seconds (monotonic); at most ``max_entries`` are kept
    (least recently used dropped first)."""

    def __init__(
        self,
        marker: Callable[[], str | None],
        policies: dict[QueryCategory, CachePolicy] | None = None,
        *,
        max_entries: int = 2048,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._marker_of = marker
        self.policies = {**DEFAULT_POLICIES, **(policies or {})}
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._marker: str | None = None
        self._entries: OrderedDict[tuple[Hashable, str], _Entry] = OrderedDict()
        self._stats = CacheStats()

    # -- the engine's path ------------------------------------------------------------
    def search(self, key: Hashable, query: str, vector: Callable[[], np.ndarray] | None,
               run: Callable[[np.ndarray | None], list[Hit]]) -> list[Hit]:
        """The cached answer to ``query`` under ``key`` (scope, filters, preset,
        limit), else ``run(query_vector)``'s, cached. ``vector`` embeds the query
        (``None``: exact text matching only)."""
        marker = self._current()
        if marker is None:
            return run(vector() if vector is not None else None)
        vec = vector() if vector is not None else None
        found = self.lookup(key, query, vec)
        if found is not None:
            return found
        hits = run(vec)
        self.put(key, query, vec, hits, marker)
        return hits

    def lookup(self, key: Hashable, query: str, vector: np.ndarray | None) -> list[Hit] | None:
        """A copy of the cached hits for ``query`` (``None``: a miss)."""
        text = normalise(query)
        category = categorize(query)
        policy = self.policies[category]
        now = self._clock()
        with self._lock:
            entry = self._entries.get((key, text))
            if entry is None and vector is not None and policy.similarity < 1.0:
                entry = self._similar(key, text, category, anchors(query), vector,
                                      policy.similarity)
            if entry is not None and now - entry.at > self.policies[entry.category].ttl_seconds:
                self._entries.pop((entry.key, entry.text), None)
                self._stats.expired += 1
                entry = None
            if entry is None:
                self._stats.misses += 1
                return None
            self._entries.move_to_end((entry.key, entry.text))
            self._stats.hits += 1
            self._stats.hits_by_category[category] = (
                self._stats.hits_by_category.get(category, 0) + 1)
            return copy.deepcopy(entry.hits)

    def put(self, key: Hashable, query: str, vector: np.ndarray | None, hits: Sequence[Hit],
            marker: str) -> None:
        """Cache ``hits`` of a search that started at store state ``marker``; kept
        only when the store is still in that state."""
        if self._current() != marker:
            return
        entry = _Entry(key, normalise(query), categorize(query), anchors(query), vector,
                       copy.deepcopy(list(hits)), self._clock())
        with self._lock:
            if self._marker != marker:
                return
            self._entries[(key, entry.text)] = entry
            self._entries.move_to_end((key, entry.text))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self, *_: object) -> int:
        """Drop every entry (the engine calls it on its own writes and forgets)."""
        with self._lock:
            n = len(self._entries)
            self._entries.clear()
            self._stats.invalidations += n
            return n

    def stats(self) -> CacheStats:
        with self._lock:
            out = copy.deepcopy(self._stats)
            out.size = len(self._entries)
            return out

    # -- internals ----------------------------------------------------------------------
    def _current(self) -> str | None:
        """The store's marker now; entries of an older one are dropped."""
        marker = self._marker_of()
        with self._lock:
            if marker != self._marker:
                self._stats.invalidations += len(self._entries)
                self._entries.clear()
                self._marker = marker
        return marker

    def _similar(self, key: Hashable, text: str, category: QueryCategory,
                 wanted: Anchors, vector: np.ndarray, least: float) -> _Entry | None:
        best: _Entry | None = None
        best_sim = least
        for entry in self._entries.values():
            if (entry.key != key or entry.category != category or entry.vector is None
                    or not entry.anchors.matches(wanted)):
                continue
            sim = float(np.dot(entry.vector, vector))
            if sim >= best_sim:
                best, best_sim = entry, sim
        return best


def cached_search(cache: SemanticCache, searcher: Searcher, embedder: Callable[[], Embedder],
                  query: str, scope: Scope, filters: SearchFilters, config: RetrievalConfig,
                  limit: int, now: datetime, fixed_now: bool) -> list[Hit]:
    """:meth:`Searcher.search` through ``cache``: the key is everything but the query
    (scope, filters, preset, limit, and ``now`` when the caller fixed it); the query
    vector made for the cache is the one the search uses."""
    key = repr((scope, filters, config, limit, now if fixed_now else None))
    made: list[unnamed.Embedded] = []  # the question and its unnamed reading, at once

    def vector() -> np.ndarray:
        made.append(unnamed.embedded(query, embedder(), config.unnamed_weight))
        v = np.asarray(made[0].vector, dtype=np.float32)
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v

    def run(vec: np.ndarray | None) -> list[Hit]:
        given = None if vec is None else unnamed.Embedded(vec, made[0].unnamed)
        return searcher.search(query, scope, filters, config, limit, now, query_vector=given)

    return cache.search(key, query, vector if config.uses(Signal.DENSE) else None, run)
