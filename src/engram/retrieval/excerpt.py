"""Trimming an over-long item to the sentences that matter for a query.

A 1,024-token :func:`~engram.retrieval.context.build_context` block holds about
fifteen conversation turns of ordinary length, but one long turn (an assistant's
600-word answer, a pasted document) can take the whole budget and push the
evidence ranked below it out of the block. :func:`excerpt` keeps what such an
item says about the query: its sentences that share an index term (stemmed,
stopwords dropped, as :func:`engram.index.lexical.tokens`) with the query, the
most shared first, shown in their original order. A gap is marked with `` … ``
so a reader sees the text was cut; the item's id stays on its line, so the
whole text can be fetched.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..index.lexical import term_set

__all__ = ["ELLIPSIS", "excerpt"]

ELLIPSIS = "…"
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*")


def _sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE.split(text)) if s]


def _join(parts: list[str], chosen: list[int]) -> str:
    out: list[str] = []
    prev = -1
    for i in sorted(chosen):
        if i != prev + 1:
            out.append(ELLIPSIS)
        out.append(parts[i])
        prev = i
    if prev != len(parts) - 1:
        out.append(ELLIPSIS)
    return " ".join(out)


def _window(words: list[str], qterms: frozenset[str], max_tokens: int,
            count_tokens: Callable[[str], int]) -> str:
    """The longest run of ``words`` that fits, starting a little before the
    first word that is a query term (from the start when none is)."""
    hit = next((i for i, w in enumerate(words) if term_set(w) & qterms), 0)
    start = max(0, hit - 3)
    best = ""
    lo, hi = start + 1, len(words)
    while lo <= hi:  # binary search on the end: token counts grow with words
        mid = (lo + hi) // 2
        head = [ELLIPSIS] if start else []
        tail = [ELLIPSIS] if mid < len(words) else []
        text = " ".join(head + words[start:mid] + tail)
        if count_tokens(text) <= max_tokens:
            best, lo = text, mid + 1
        else:
            hi = mid - 1
    return best


def excerpt(
    text: str, query: str, max_tokens: int, count_tokens: Callable[[str], int]
) -> str:
    """``text`` cut to at most ``max_tokens`` tokens around what ``query`` asks.

    Unchanged when it already fits. Otherwise its sentences are ranked by how
    many of the query's index terms they hold (ties: earlier first) and taken
    while the excerpt fits; sentences holding none are left out once one that
    holds some is in. With no sentence matching, the leading sentences are
    kept (a run from the start). Gaps, a cut start and a cut end show as ``…``. A single sentence
    longer than the budget is cut to a run of words starting just before its
    first query term. The result is ``""`` only when not even one word fits.
    """
    if count_tokens(text) <= max_tokens:
        return text
    qterms = term_set(query)
    parts = _sentences(text)
    scores = [len(term_set(p) & qterms) for p in parts]
    order = sorted(range(len(parts)), key=lambda i: (-scores[i], i))
    matched = bool(scores) and scores[order[0]] > 0
    if matched:
        order = [i for i in order if scores[i] > 0]
    # a join costs the sum of its pieces' tokens (each sentence counted once); the
    # result is counted exactly at the end, and shortened if a tokenizer merged across
    costs = {i: count_tokens(parts[i]) for i in order}
    gap = count_tokens(ELLIPSIS)
    chosen: list[int] = []
    for i in order:
        if _cost([*chosen, i], len(parts), costs, gap) <= max_tokens:
            chosen.append(i)
        elif not chosen:
            return _window(parts[i].split(), qterms, max_tokens, count_tokens)
        elif not matched:  # the leading sentences, without a gap
            break
    while chosen and count_tokens(_join(parts, chosen)) > max_tokens:
        chosen.pop()
    return _join(parts, chosen) if chosen else ""


def _cost(chosen: list[int], n: int, costs: dict[int, int], gap: int) -> int:
    """The tokens of ``_join(parts, chosen)`` for ``n`` parts, from each part's count."""
    idx = sorted(chosen)
    gaps = sum(1 for a, b in zip([-1, *idx], idx, strict=False) if b != a + 1)
    return sum(costs[i] for i in idx) + gap * (gaps + (idx[-1] != n - 1))
