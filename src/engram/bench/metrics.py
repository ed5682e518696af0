"""Benchmark metrics as pure functions (no I/O, no engine).

Rankings
--------
A *ranking* is the ordered list of search hits, each hit given as the tuple of
unit ids it covers: an episode hit covers its own turn, a memory hit covers
the turns it was derived from. :func:`distinct_ranking` drops ids already seen
higher up and hits that add nothing new, so rank *k* means "the *k*-th hit
that brought something new". Session-level rankings come from
:func:`session_ranking`, which maps turns to sessions first (the same as
LongMemEval's turn-to-session evaluation, where *k* counts distinct sessions).

For one question with gold ids ``G`` and a distinct ranking ``R``:

* ``recall_any@k`` = 1 if any id of ``G`` is covered by ``R[:k]``, else 0;
* ``recall_all@k`` = 1 if every id of ``G`` is covered by ``R[:k]``, else 0;
* ``reciprocal_rank`` = 1 / (rank of the first hit covering a gold id), 0 if none;
* ``ndcg@k`` with binary gains: a hit is relevant when it covers a gold id;
  DCG = sum rel_i / log2(i + 1) over ranks i = 1..k; the ideal DCG places
  ``min(|G|, k)`` relevant hits first. (LongMemEval's own code leaves rank 2
  undiscounted as well; we use the textbook form.)

Questions without gold ids have no retrieval scores (``None``).

Answers
-------
:func:`normalize_answer` lower-cases, drops punctuation and the articles
a/an/the, and collapses whitespace (the SQuAD convention). Coverage asks
whether the normalised gold answer occurs, on word boundaries, in the
normalised context; :func:`answer_token_recall` is the softer share of the
answer's content words found in it. :func:`token_f1` and :func:`bleu1` score a generated
answer against the gold one on the same normalised tokens.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "KS",
    "Aggregate",
    "RetrievalScores",
    "aggregate",
    "answer_in_context",
    "answer_token_recall",
    "bleu1",
    "covered",
    "distinct_ranking",
    "mean",
    "ndcg",
    "normalize_answer",
    "percentile",
    "recall_all",
    "recall_any",
    "reciprocal_rank",
    "score_ranking",
    "session_ranking",
    "token_f1",
]

#: Cut-offs reported for recall.
KS: tuple[int, ...] = (1, 5, 10, 20)

Ranking = Sequence[Sequence[str]]


def distinct_ranking(ranked: Ranking) -> list[tuple[str, ...]]:
    """Drop ids already covered higher up, then hits left empty. Order is kept."""
    seen: set[str] = set()
    out: list[tuple[str, ...]] = []
    for group in ranked:
        new = tuple(dict.fromkeys(u for u in group if u not in seen))
        if new:
            seen.update(new)
            out.append(new)
    return out


def session_ranking(ranked: Ranking, session_of: Mapping[str, str]) -> list[tuple[str, ...]]:
    """Map each hit's turn ids to session ids (unknown ids are dropped), then make it distinct."""
    return distinct_ranking([[session_of[u] for u in g if u in session_of] for g in ranked])


def covered(ranked: Ranking, k: int) -> set[str]:
    """The unit ids of the first ``k`` hits of ``ranked`` (what ``recall_any@k`` looks in)."""
    return {u for g in ranked[:k] for u in g}


def recall_any(ranked: Ranking, gold: Iterable[str], k: int) -> float:
    gold_set = set(gold)
    return 1.0 if gold_set & covered(ranked, k) else 0.0


def recall_all(ranked: Ranking, gold: Iterable[str], k: int) -> float:
    gold_set = set(gold)
    return 1.0 if gold_set and gold_set <= covered(ranked, k) else 0.0


def reciprocal_rank(ranked: Ranking, gold: Iterable[str]) -> float:
    gold_set = set(gold)
    for i, g in enumerate(ranked, start=1):
        if gold_set.intersection(g):
            return 1.0 / i
    return 0.0


def ndcg(ranked: Ranking, gold: Iterable[str], k: int) -> float:
    gold_set = set(gold)
    if not gold_set:
        return 0.0
    dcg = sum(
        1.0 / math.log2(i + 1)
        for i, g in enumerate(ranked[:k], start=1)
        if gold_set.intersection(g)
    )
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold_set), k) + 1))
    return dcg / ideal


@dataclass(frozen=True)
class RetrievalScores:
    """Scores of one question at one level (turn or session)."""

    recall_any: dict[int, float]
    recall_all: dict[int, float]
    mrr: float
    ndcg10: float

    def flat(self) -> dict[str, float]:
        """``{"recall_any@1": ..., "recall_all@1": ..., "mrr": ..., "ndcg@10": ...}``."""
        out: dict[str, float] = {}
        for k, v in self.recall_any.items():
            out[f"recall_any@{k}"] = v
        for k, v in self.recall_all.items():
            out[f"recall_all@{k}"] = v
        out["mrr"] = self.mrr
        out["ndcg@10"] = self.ndcg10
        return out


def score_ranking(
    ranked: Ranking, gold: Sequence[str], ks: Sequence[int] = KS
) -> RetrievalScores | None:
    """All retrieval scores of one distinct ranking; ``None`` when there is no gold."""
    if not gold:
        return None
    return RetrievalScores(
        recall_any={k: recall_any(ranked, gold, k) for k in ks},
        recall_all={k: recall_all(ranked, gold, k) for k in ks},
        mrr=reciprocal_rank(ranked, gold),
        ndcg10=ndcg(ranked, gold, 10),
    )


# --------------------------------------------------------------------------- aggregation


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; 0.0 for no values (reports show the count next to it)."""
    vals = list(values)
    return sum(vals) / len(vals) if vals else 0.0


def percentile(values: Iterable[float], p: float) -> float:
    """The ``p``-th percentile (0-100) with linear interpolation; 0.0 for no values."""
    vals = sorted(values)
    if not vals:
        return 0.0
    if len(vals) == 1:
        return vals[0]
    pos = (len(vals) - 1) * min(max(p, 0.0), 100.0) / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


@dataclass
class Aggregate:
    """Means of flat scores over questions.

    ``overall``: mean over questions (micro); ``macro``: mean over categories
    of the per-category means; ``by_category``: per-category means;
    ``counts``: questions per category (``"all"`` for the total).
    """

    overall: dict[str, float] = field(default_factory=dict)
    macro: dict[str, float] = field(default_factory=dict)
    by_category: dict[str, dict[str, float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def aggregate(rows: Sequence[tuple[str, Mapping[str, float]]]) -> Aggregate:
    """Aggregate ``(category, flat scores)`` rows; keys missing from a row are not averaged."""
    by_cat: dict[str, list[Mapping[str, float]]] = {}
    for cat, scores in rows:
        by_cat.setdefault(cat, []).append(scores)

    def means(items: Sequence[Mapping[str, float]]) -> dict[str, float]:
        keys = list(dict.fromkeys(k for s in items for k in s))
        return {k: mean(s[k] for s in items if k in s) for k in keys}

    out = Aggregate()
    out.overall = means([s for _, s in rows])
    out.by_category = {
        c: means(v) for c, v in sorted(by_cat.items(), key=lambda kv: _cat_key(kv[0]))
    }
    keys = list(out.overall)
    out.macro = {k: mean(m[k] for m in out.by_category.values() if k in m) for k in keys}
    out.counts = {c: len(v) for c, v in by_cat.items()}
    out.counts["all"] = len(rows)
    return out


def _cat_key(cat: str) -> tuple[int, str]:
    return (int(cat), "") if cat.isdigit() else (1 << 30, cat)


# --------------------------------------------------------------------------- answers

_PUNCT = re.compile("[" + re.escape(string.punctuation + "‘’“”–—…") + "]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Lower-case, replace punctuation by spaces, drop a/an/the, collapse whitespace."""
    text = _PUNCT.sub(" ", str(text).lower())
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def answer_in_context(answer: str, context: str) -> bool:
    """Whether the normalised ``answer`` occurs on word boundaries in the normalised ``context``.

    An answer that normalises to nothing is never covered.
    """
    a = normalize_answer(answer)
    if not a:
        return False
    return f" {a} " in f" {normalize_answer(context)} "


_STOPWORDS = frozenset(
    "and or of in on at to for with by from is was were be been are it its this that "
    "as not no yes but so if than then".split()
)


def answer_token_recall(answer: str, context: str) -> float | None:
    """Share of the answer's normalised content words present in the context.

    Stop words are ignored unless the answer has nothing else; ``None`` for an
    answer that normalises to nothing.
    """
    words = normalize_answer(answer).split()
    if not words:
        return None
    content = [w for w in words if w not in _STOPWORDS] or words
    have = set(normalize_answer(context).split())
    return sum(1 for w in content if w in have) / len(content)


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD-style token F1 on normalised tokens (1.0 when both are empty)."""
    p = normalize_answer(prediction).split()
    g = normalize_answer(gold).split()
    if not p and not g:
        return 1.0
    if not p or not g:
        return 0.0
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision = common / len(p)
    recall = common / len(g)
    return 2 * precision * recall / (precision + recall)


def bleu1(prediction: str, gold: str) -> float:
    """BLEU-1: clipped unigram precision times the brevity penalty, on normalised tokens."""
    p = normalize_answer(prediction).split()
    g = normalize_answer(gold).split()
    if not p or not g:
        return 0.0
    clipped = sum((Counter(p) & Counter(g)).values())
    precision = clipped / len(p)
    bp = 1.0 if len(p) > len(g) else math.exp(1 - len(g) / len(p))
    return bp * precision
