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

__all__ = ["ELLIPSIS", "excerpt", "wordpiece_floor"]

ELLIPSIS = "…"
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*")
_PUNCT = r"!-/:-@\[-`{-~"
#: an ASCII punctuation mark, or the first ASCII letter or digit of a run between
#: spaces, tabs, line breaks and ASCII punctuation (a run's start is where the
#: character before, if any, is one of those)
_SEP = f" \\t\\n\\r{_PUNCT}"
_UNIT = re.compile(f"[{_PUNCT}]|(?<![^{_SEP}])[^{_SEP}A-Za-z0-9]*[A-Za-z0-9]")
_SPECIAL = re.compile(r"\[(?:PAD|UNK|CLS|SEP|MASK)\]")


def wordpiece_floor(text: str, limit: int | None = None) -> int:
    """A lower bound of the BERT WordPiece tokens of ``text`` (engram's default
    tokenizer): its special tokens count one each; the pre-tokenizer makes every
    ASCII punctuation mark a word and splits at spaces, tabs and line breaks (which
    the normalizer never removes), and a run between them holding an ASCII letter
    or digit gives at least one token. No tokenizer work: the cost of a long text
    is known to exceed a budget before it is counted. With a ``limit``, a long
    text's bound may be that of a leading part cut at a space, once above ``limit``."""
    if limit is not None and len(text) > 8 * (limit + 8):
        cut = text.find(" ", 6 * (limit + 8))
        if cut > 0:
            head = wordpiece_floor(text[:cut])
            if head > limit:
                return head
    n = 0
    if "[" in text:
        text, n = _SPECIAL.subn(" ", text)
    return n + len(_UNIT.findall(text))


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


Floor = Callable[[str, int], int]


def _fits(text: str, max_tokens: int, count_tokens: Callable[[str], int],
          floor: Floor | None) -> bool:
    if floor is not None and floor(text, max_tokens) > max_tokens:
        return False
    return count_tokens(text) <= max_tokens


def _window(words: list[str], qterms: frozenset[str], max_tokens: int,
            count_tokens: Callable[[str], int], floor: Floor | None) -> str:
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
        if _fits(text, max_tokens, count_tokens, floor):
            best, lo = text, mid + 1
        else:
            hi = mid - 1
    return best


def excerpt(
    text: str, query: str, max_tokens: int, count_tokens: Callable[[str], int],
    floor: Floor | None = None,
) -> str:
    """``text`` cut to at most ``max_tokens`` tokens around what ``query`` asks.

    Unchanged when it already fits. Otherwise its sentences are ranked by how
    many of the query's index terms they hold (ties: earlier first) and taken
    while the excerpt fits; sentences holding none are left out once one that
    holds some is in. With no sentence matching, the leading sentences are
    kept (a run from the start). Gaps, a cut start and a cut end show as ``…``. A single sentence
    longer than the budget is cut to a run of words starting just before its
    first query term. The result is ``""`` only when not even one word fits.

    ``floor(text, limit)``, when given, is a lower bound of ``count_tokens(text)``
    (such as :func:`wordpiece_floor` for a WordPiece count): a text or sentence whose bound
    already exceeds the room is not counted. The result is the same without it.
    """
    if _fits(text, max_tokens, count_tokens, floor):
        return text
    qterms = term_set(query)
    parts = _sentences(text)
    scores = [len(term_set(p) & qterms) for p in parts]
    order = sorted(range(len(parts)), key=lambda i: (-scores[i], i))
    matched = bool(scores) and scores[order[0]] > 0
    if matched:
        order = [i for i in order if scores[i] > 0]
    # a join costs the sum of its pieces' tokens (each sentence counted once, and
    # only when its floor fits); the result is counted exactly at the end, and
    # shortened if a tokenizer merged across
    costs: dict[int, int] = {}
    gap = count_tokens(ELLIPSIS)
    chosen: list[int] = []
    for i in order:
        if floor is not None:
            costs[i] = floor(parts[i], max_tokens)
        if floor is None or _cost([*chosen, i], len(parts), costs, gap) <= max_tokens:
            costs[i] = count_tokens(parts[i])
        if _cost([*chosen, i], len(parts), costs, gap) <= max_tokens:
            chosen.append(i)
        elif not chosen:
            return _window(parts[i].split(), qterms, max_tokens, count_tokens, floor)
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
