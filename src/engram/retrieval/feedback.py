"""Lexical pseudo-relevance feedback: a second BM25 pass over the words the first hits share.

A question rarely holds every word of its evidence ("What does Emi do to relax?"
against "my first Pilates class"), but the best hits of the first pass often
talk about the same thing in the evidence's words. :func:`feedback_terms` takes
the words that at least :data:`MIN_DOCS` of the feedback texts share (each
signal's :data:`DOCS` best raw hits, interleaved; texts over :data:`MAX_WORDS`
words left out, as their common words are mostly noise), leaving out stopwords,
chat filler and the question's own words. :func:`merged` searches them as one
lexical query and adds ``weight`` times that score to the query's BM25 list.
The first :data:`KEEP` of the query's own list keep their places and scores, and
no other item rises above them: the feedback fills and reorders the list
below its decisive top, where the reranker looks for evidence the question
does not name.

The second pass reads at most :data:`MAX_POSTINGS` postings: when its words
hold more in the user's lexical index, the most common are left out, most
first (``Store.lexical_search``'s ``max_postings``). On the development sets a
feedback query holds at most 1,121 (a conversation has at most ~1,550 items),
so nothing there changes; in a 100k-item scope the bench's common words held
~117k, and the pass cost ~2 ms (docs/bench.md, "The lexical pass at 100k").

Measured on all development sets, whole pipeline, ``recall`` (docs/recall.md,
"Session 11"); the dense form (Rocchio on the query vector) gave nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from ..index.lexical import stem
from ..models import ItemRef
from ..recall._stopwords import STOPWORDS as CHAT_STOPWORDS
from ..store.base import Candidate
from ..text import STOPWORDS, query_terms

__all__ = ["DOCS", "KEEP", "MAX_POSTINGS", "MAX_TERMS", "MAX_WORDS", "MIN_DOCS",
           "feedback_terms",
           "feedback_refs", "merged"]

#: each signal's best raw hits read for feedback (interleaved, at most twice this)
DOCS = 5
#: a feedback word must occur in at least this many of the feedback texts
MIN_DOCS = 2
#: at most this many feedback words, the most shared first
MAX_TERMS = 8
#: feedback texts longer than this (in words) are not read
MAX_WORDS = 60
#: the query's own best lexical matches that keep their places
KEEP = 3
#: most postings the feedback query reads (its most common words left out first)
MAX_POSTINGS = 4096

_WORD = re.compile(r"[a-z]+")
#: makes a :class:`Candidate` from ``(ref, score)`` without the named tuple's keyword layer
_new = tuple.__new__


def feedback_refs(lists: Sequence[Sequence[Candidate]], docs: int = DOCS) -> list[ItemRef]:
    """The first ``docs`` of every list, interleaved (first of each, then second ...),
    without repeats: the texts feedback reads."""
    out: dict[ItemRef, None] = {}
    for i in range(docs):
        for cands in lists:
            if i < len(cands):
                out.setdefault(cands[i].ref, None)
    return list(out)


def feedback_terms(query: str, texts: Iterable[str], limit: int = MAX_TERMS,
                   min_docs: int = MIN_DOCS) -> list[str]:
    """Words shared by at least ``min_docs`` of ``texts`` (of at most :data:`MAX_WORDS`
    words each), most shared first (ties: first seen), at most ``limit``; words of
    three letters or more, not stopwords or chat filler, whose stem is not a stem of
    the query's words."""
    own = {stem(t) for t in query_terms(query, keep_stopwords=True)}
    count: dict[str, int] = {}
    form: dict[str, str] = {}
    for text in texts:
        if len(text.split()) > MAX_WORDS:
            continue
        seen: dict[str, None] = {}  # in order: ties go to the first seen
        for w in _WORD.findall(text.lower()):
            if len(w) < 3 or w in CHAT_STOPWORDS or w in STOPWORDS:
                continue
            s = stem(w)
            if s in own or s in seen:
                continue
            seen[s] = None
            form.setdefault(s, w)
        for s in seen:
            count[s] = count.get(s, 0) + 1
    ranked = sorted(count, key=lambda s: -count[s])  # stable: first seen first on a tie
    return [form[s] for s in ranked if count[s] >= min_docs][:limit]


def merged(
    lexical: Sequence[Candidate], terms: Sequence[str], weight: float, limit: int,
    search: Callable[[str], Sequence[Candidate]], keep: int = KEEP,
) -> list[Candidate]:
    """``lexical`` (the query's BM25 list, best first) with ``weight`` times each
    item's BM25 score for ``terms`` (one query, run by ``search``) added. The first
    ``keep`` items of ``lexical`` stay first, in order, with their scores; every
    other item scores at most the ``keep``-th's score (ties after it). Best first,
    at most ``limit``; ``lexical`` itself without terms or weight."""
    if not terms or weight <= 0:
        return list(lexical)
    extra = search(" ".join(terms))
    scores = {c.ref: c.score for c in lexical}
    get = scores.get
    for c in extra:
        ref = c.ref
        scores[ref] = get(ref, 0.0) + weight * c.score
    head: list[Candidate] = []
    if keep > 0 and len(lexical) >= keep:
        head = list(lexical[:keep])
        cap = head[-1].score
        for c in head:
            del scores[c.ref]
        scores = {r: cap if cap < s else s for r, s in scores.items()}  # min(s, cap)
    room = limit - len(head)
    if room <= 0:
        return head[:limit]
    # best score first, ties by the ref (an ItemRef is the tuple (type, id)): the
    # triples (-score, ref, score) order as that key does (refs differ, so a score
    # is never compared), without a key call per item. Only the candidates kept are
    # made (a search's second list is twice ``limit`` long); a lexical candidate
    # whose score is the one kept (the same float) is returned as it is
    rest = sorted([(-s, r, s) for r, s in scores.items()])[:room]
    own = {c.ref: c for c in lexical}
    for _, r, s in rest:
        same = own.get(r)
        head.append(same if same is not None and same.score is s else _new(Candidate, (r, s)))
    return head
