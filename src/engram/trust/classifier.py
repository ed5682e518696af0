"""A small linear model that scores how much a text reads like an injected instruction.

The rules in :mod:`.poisoning` name the shapes they know; this model catches the
wording they were not written for. It is logistic regression over sparse features of
the lower-cased, NFKC-normalised text (digits read as ``0``): each distinct word
bigram (``b:``) once, and for each distinct word its unigram (``w:``) and, for words
of five or more characters, its character 4-grams inside ``<word>`` (``c:``; a 4-gram
that two distinct words share counts twice). Values are counts scaled by
``1/sqrt(total count)``. Its weights ship in the package (``classifier.json``: bias,
threshold, feature -> weight; features with small weights dropped) and are fitted by
``tools/guard_eval.py fit`` on public payload corpora and ordinary chat (see that
tool for the sources and the held-out figures).

:func:`score` is pure and deterministic, reads nothing but that file (once), and
explains itself: :class:`Score` lists the features that pushed it up the most. Each
word's share of the sum is computed once per model and kept (a bounded memo), so a
long text costs one look-up per distinct word and one per distinct bigram.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from itertools import repeat

__all__ = ["MAX_CHARS", "MIN_WORDS", "Score", "Weights", "features", "load", "score"]

#: only the first ``MAX_CHARS`` characters are featurised (the rules read all of it)
MAX_CHARS = 6000
#: a text of fewer distinct words ("instructions", a bare URL) is never flagged by the
#: model: with so few features one n-gram decides the score (the rules still apply)
MIN_WORDS = 3
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[<>{}\[\]|#*:=]+")
_DIGITS = re.compile(r"\d")
#: distinct words whose share of the sum a model keeps (then the memo starts afresh)
_MEMO_WORDS = 1 << 16


@lru_cache(maxsize=1 << 16)
def _word_features(w: str) -> tuple[str, ...]:
    """``w:`` and ``c:`` features of one word (words repeat: cached)."""
    if len(w) <= 4:
        return ("w:" + w,)
    p = "<" + w + ">"
    return ("w:" + w, *("c:" + p[i:i + 4] for i in range(len(p) - 3)))


def _words(text: str) -> list[str]:
    t = text[:MAX_CHARS]
    if not t.isascii():
        t = unicodedata.normalize("NFKC", t)
    return _WORD.findall(_DIGITS.sub("0", t.lower()))


def _bigrams(words: list[str]) -> set[str]:
    return {f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def features(text: str) -> Counter[str]:
    """Feature name -> count in ``text`` (see the module docstring)."""
    words = _words(text)
    out: Counter[str] = Counter(_bigrams(words))
    for w in set(words):
        out.update(_word_features(w))
    return out


@dataclass(frozen=True)
class Weights:
    """A fitted model: ``z = bias + sum(count[f] * weights[f]) / sqrt(sum(count))``."""

    bias: float
    threshold: float
    weights: dict[str, float]
    version: str = ""
    #: word -> (sum of its features' weights, number of its features)
    _memo: dict[str, tuple[float, int]] = field(default_factory=dict, compare=False,
                                                 repr=False)

    @cached_property
    def names(self) -> frozenset[str]:
        """The features that carry a weight."""
        return frozenset(self.weights)

    def word(self, w: str) -> tuple[float, int]:
        """The weight sum and feature count of one word's ``w:``/``c:`` features."""
        got = self._memo.get(w)
        if got is None:
            fs = _word_features(w)
            got = (sum(map(self.weights.get, fs, repeat(0.0))), len(fs))
            if len(self._memo) >= _MEMO_WORDS:
                self._memo.clear()
            self._memo[w] = got
        return got

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Weights:
        w = data["weights"]
        assert isinstance(w, dict)
        return cls(bias=float(data["bias"]),  # type: ignore[arg-type]
                   threshold=float(data["threshold"]),  # type: ignore[arg-type]
                   weights={str(k): float(v) for k, v in w.items()},
                   version=str(data.get("version", "")))

    def to_json(self) -> dict[str, object]:
        return {"version": self.version, "bias": round(self.bias, 5),
                "threshold": round(self.threshold, 5),
                "weights": {k: round(v, 4) for k, v in sorted(self.weights.items())}}


@dataclass(frozen=True)
class Score:
    """Probability that the text is an injected instruction, and why."""

    probability: float
    flagged: bool
    #: the features that raised the score most, strongest first (at most 5)
    top_features: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def load() -> Weights:
    """The shipped weights (read once)."""
    raw = resources.files(__package__).joinpath("classifier.json").read_text(encoding="utf-8")
    return Weights.from_json(json.loads(raw))


def score(text: str, weights: Weights | None = None) -> Score:
    """Score ``text`` with ``weights`` (default: the shipped model); equal to the sum over
    :func:`features` (a test keeps the two paths equal)."""
    m = weights or load()
    words = _words(text)
    bigrams = _bigrams(words)
    total = math.fsum(map(m.weights.get, bigrams, repeat(0.0)))
    n = len(bigrams)
    distinct = set(words)
    for w in distinct:
        s, k = m.word(w)
        total += s
        n += k
    if not n:
        return Score(0.0, False)
    z = m.bias + total / math.sqrt(n)
    p = 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))
    if p < m.threshold or len(distinct) < MIN_WORDS:
        return Score(p, False)
    feats = features(text)
    ranked = sorted(((m.weights[f] * c, f) for f, c in feats.items() if f in m.names),
                    reverse=True)[:5]
    return Score(p, True, tuple(f for w, f in ranked if w > 0))
