"""A small linear model that scores how much a text reads like an injected instruction.

The rules in :mod:`.poisoning` name the shapes they know; this model catches the
wording they were not written for. It is logistic regression over sparse binary
features of the text -- word unigrams (``w:``), word bigrams (``b:``) and
character 4-grams inside words (``c:``) of the lower-cased, NFKC-normalised text --
scaled by ``1/sqrt(number of features)``. Its weights ship in the package
(``classifier.json``: bias, threshold, feature -> weight; features with small
weights dropped) and are fitted by ``tools/guard_eval.py fit`` on public payload
corpora and ordinary chat (see that tool for the sources and the held-out figures).

:func:`score` is pure and deterministic, reads nothing but that file (once), and
explains itself: :class:`Score` lists the features that pushed it up the most.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

__all__ = ["MAX_CHARS", "MIN_WORDS", "Score", "Weights", "features", "load", "score"]

#: only the first ``MAX_CHARS`` characters are featurised (the rules read all of it)
MAX_CHARS = 6000
#: a text of fewer distinct words ("conversations", a bare URL) is never flagged by the
#: model: with so few features one n-gram decides the score (the rules still apply)
MIN_WORDS = 3
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[<>{}\[\]|#*:=]+")
_DIGITS = re.compile(r"\d")


@lru_cache(maxsize=1 << 16)
def _word_features(w: str) -> tuple[str, ...]:
    """``w:`` and ``c:`` features of one word (words repeat: cached)."""
    if len(w) <= 4:
        return ("w:" + w,)
    p = "<" + w + ">"
    return ("w:" + w, *("c:" + p[i:i + 4] for i in range(len(p) - 3)))


def features(text: str) -> set[str]:
    """The feature names present in ``text`` (see the module docstring)."""
    t = text[:MAX_CHARS]
    if not t.isascii():
        t = unicodedata.normalize("NFKC", t)
    t = _DIGITS.sub("0", t.lower())
    words = _WORD.findall(t)
    out = {"b:" + a + " " + b for a, b in zip(words, words[1:], strict=False)}
    for w in set(words):
        out.update(_word_features(w))
    return out


@dataclass(frozen=True)
class Weights:
    """A fitted model: ``z = bias + sum(weights[f] for f present) / sqrt(n features)``."""

    bias: float
    threshold: float
    weights: dict[str, float]
    version: str = ""

    @cached_property
    def names(self) -> frozenset[str]:
        """The features that carry a weight (for a C-level set intersection)."""
        return frozenset(self.weights)

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
    """Score ``text`` with ``weights`` (default: the shipped model)."""
    m = weights or load()
    feats = features(text)
    if not feats:
        return Score(0.0, False)
    hits = feats & m.names
    z = m.bias + math.fsum(map(m.weights.__getitem__, hits)) / math.sqrt(len(feats))
    p = 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))
    if p < m.threshold or sum(f[0] == "w" for f in feats) < MIN_WORDS:
        return Score(p, False)
    ranked = sorted(((m.weights[f], f) for f in hits), reverse=True)[:5]
    return Score(p, True, tuple(f for w, f in ranked if w > 0))
