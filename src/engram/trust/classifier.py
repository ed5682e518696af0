"""A small linear model that scores how much a text reads like an injected instruction.

The rules in :mod:`.poisoning` name the shapes they know; this model catches the wording
they were not written for. It is logistic regression over sparse features of the
lower-cased, NFKC-normalised text (digits read as ``0``): each distinct word bigram
(``b:``) once, and for each distinct word its unigram (``w:``) and, for words of five or
more characters, its character 4-grams inside ``<word>`` (``c:``; a 4-gram that two
distinct words share counts twice) and the concept it names in any of about fifty
languages (``k:``, :mod:`.lexicon`: "ignore", "instructions", "password", ...: a weight
learnt from English payloads reaches a translated order); and, once each, shapes that
read like an order to a model whatever its topic (``s:``): those of :data:`SHAPES` (a
modal after "you", a standing order in time, a chat-role label, template syntax, a
mention of an AI, role-play, "no limits" and hypothetical framings), ``s:markup`` also
for ``<`` and ``>`` as words or a code fence, ``s:caps`` (four capitals in a row),
``s:opener`` (the first word an imperative), ``s:you3`` ("you"/"your" three times),
``s:quote`` (a quoted sentence) and the length in four bands (``s:len0``-``s:len3``).
They are read off the same words and bigrams (plus substring tests and one search for
the capitals, no other pass over the text). Values are counts scaled by ``1/sqrt(total
count)``. Its weights ship in the package (``classifier.json``: bias, threshold, feature
-> weight; features with small weights dropped) and are fitted by ``tools/guard_eval.py
fit`` on public payload corpora and ordinary chat (see that tool for the sources and the
held-out figures).

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

from ..text import TextMemo, text_cache
from .lexicon import concepts_of

__all__ = ["MAX_CHARS", "MIN_WORDS", "SHAPES", "Score", "Weights", "features", "load",
           "score"]

#: only the first ``MAX_CHARS`` characters are featurised (the rules read all of it)
MAX_CHARS = 6000
#: a text of fewer distinct words ("instructions", a bare URL) is never flagged by the
#: model: with so few features one n-gram decides the score (the rules still apply)
MIN_WORDS = 3
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[<>{}\[\]|#*:=]+")
_DIGITS = re.compile(r"\d")
_CAPS = re.compile(r"[A-Z]{4}")
#: ``_WORD`` on lower-cased ASCII text (there ``[^\W_]`` is ``[a-z0-9]``), and its digits
_WORD_ASCII = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)?|[<>{}\[\]|#*:=]+")
_ASCII_DIGITS = str.maketrans("123456789", "0" * 9)


def _b(*pairs: str) -> frozenset[str]:
    return frozenset("b:" + x for x in pairs)


#: ``s:`` shape -> (bigrams, words) any one of which makes it present
SHAPES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # "you must / will / should ...": an order or a prediction addressed to the reader
    "s:you_modal": (_b("you will", "you must", "you should", "you shall", "you cannot",
                       "you can't", "you won't", "you are to", "you're to", "you'll always",
                       "you'll never", "are required"), frozenset()),
    # a standing order in time
    "s:future": (_b("now on", "going forward", "this point", "all future", "every future",
                    "future responses", "future conversations", "future replies",
                    "all responses", "every response", "all replies", "every reply",
                    "all answers", "every answer", "subsequent responses"),
                 frozenset(("henceforth", "hereafter", "thenceforth"))),
    # a chat-role label: "System:", "[INST]", "<|assistant|>", "### Instruction"
    "s:role_label": (frozenset(f"b:{r} {c}" for r in (
        "system", "user", "assistant", "human", "ai", "bot", "developer", "admin", "sys",
        "inst", "model", "agent", "operator", "instruction", "instructions", "response")
        for c in (":", "]", "]:", ">", "|>", ">>", "):")) | _b("[ inst", "<| im", "im start",
                                                            "## instruction", "### instruction",
                                                            "<< sys"), frozenset()),
    # template or chat-format syntax (an HTML tag is ``<`` and ``>`` as words)
    "s:markup": (frozenset(), frozenset(("{{", "}}", "[[", "]]", "<|", "|>", "##", "###",
                                         "####", "<<", ">>", "{%", "[/"))),
    "s:ai": (_b("language model", "ai model", "ai assistant"),
             frozenset(("ai", "llm", "llms", "gpt", "chatgpt", "assistant", "chatbot", "claude",
                        "gemini", "copilot"))),
    # role-play and persona framings addressed to a model
    "s:frame_play": (_b("pretend you", "pretend to", "pretend that", "act as", "role play",
                        "stay in", "in character", "you are now", "you're now", "let's play",
                        "simulate a", "persona of", "the role"),
                     frozenset(("roleplay", "roleplaying", "persona"))),
    # "without limits" framings: developer mode, no filters, jailbroken
    "s:frame_free": (_b("developer mode", "dev mode", "no restrictions", "without restrictions",
                        "no limits", "no limitations", "no filters", "no rules", "no guidelines",
                        "no ethical", "no moral", "any restrictions", "anything now",
                        "do anything", "free from", "free of", "not bound", "unrestricted mode",
                        "god mode", "safety guidelines", "content policy", "any filter"),
                     frozenset(("jailbreak", "jailbroken", "unfiltered", "uncensored",
                                "unrestricted", "amoral", "unethical"))),
    # hypothetical and fictional framings
    "s:frame_hypo": (_b("educational purposes", "research purposes", "thought experiment",
                        "hypothetical scenario", "fictional world", "fictional story",
                        "purely hypothetical", "for fiction", "in fiction", "a story where",
                        "a world where", "imagine that", "imagine you"),
                     frozenset(("hypothetically", "hypothetical", "fictional"))),
}
#: every bigram and every word of :data:`SHAPES` (a text meets few: one set operation
#: each, then the shapes are tested against what it met)
_SHAPE_BIGRAMS = frozenset().union(*(bs for bs, _ in SHAPES.values()))
_SHAPE_WORDS = frozenset().union(*(ws for _, ws in SHAPES.values()))
#: ``_SHAPE_BIGRAMS`` as word pairs (a word holds no space: ``b:a b`` is the pair (a, b))
_SHAPE_PAIRS = {tuple(b[2:].split(" ", 1)): b for b in _SHAPE_BIGRAMS}
_SHAPE_PAIR_SET = frozenset(_SHAPE_PAIRS)
#: imperatives that open a text
_OPENERS = frozenset(("do", "don't", "never", "always", "only", "remember", "ensure", "respond",
                      "answer", "reply", "print", "output", "write", "say", "tell", "ignore",
                      "forget", "disregard", "stop", "include", "add", "send", "make", "note",
                      "important", "system", "instruction", "instructions", "translate",
                      "repeat", "return", "show", "list", "describe", "explain", "provide",
                      "give", "act", "pretend", "imagine"))
#: distinct words whose share of the sum a model keeps (then the memo starts afresh)
_MEMO_WORDS = 1 << 16


@text_cache(1 << 16)
def _word_features(w: str) -> tuple[str, ...]:
    """``w:``, ``c:`` and ``k:`` features of one word (words repeat: cached)."""
    if len(w) <= 4:
        return ("w:" + w, *concepts_of(w))
    p = "<" + w + ">"
    return ("w:" + w, *("c:" + p[i:i + 4] for i in range(len(p) - 3)), *concepts_of(w))


def _words(text: str) -> list[str]:
    t = text[:MAX_CHARS]
    if t.isascii():  # the same words, read by an ASCII pattern after a digit table
        return _WORD_ASCII.findall(t.lower().translate(_ASCII_DIGITS))
    t = unicodedata.normalize("NFKC", t)
    return _WORD.findall(_DIGITS.sub("0", t.lower()))


def _bigrams(words: list[str]) -> set[str]:
    return {f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def _quoted(t: str) -> bool:
    """A quotation of a sentence: 20+ characters with three spaces between straight or
    curly double quotes, on one line (JSON keys and values are not meant: a text that
    opens with ``{`` or ``[`` has none)."""
    parts = t.replace("\u201c", '"').replace("\u201d", '"').split('"')
    return any(len(p) >= 20 and p.count(" ") >= 3 and "\n" not in p for p in parts[1:-1:2])


def _shapes(text: str, words: list[str], distinct: set[str], bigrams: set[str]) -> list[str]:
    """The ``s:`` features of a text (each at most once) from its words and bigrams
    (all of them, or only those of :data:`SHAPES`: the same features)."""
    met_b, met_w = _SHAPE_BIGRAMS.intersection(bigrams), _SHAPE_WORDS.intersection(distinct)
    out = [name for name, (bs, ws) in SHAPES.items()
           if not (met_b.isdisjoint(bs) and met_w.isdisjoint(ws))] if met_b or met_w else []
    t = text[:MAX_CHARS]
    if "<" in distinct and ">" in distinct or "```" in t or '"""' in t:
        if "s:markup" not in out:
            out.append("s:markup")
    if _CAPS.search(t):
        out.append("s:caps")
    if words and words[0] in _OPENERS:
        out.append("s:opener")
    if words.count("you") + words.count("your") >= 3:
        out.append("s:you3")
    if ('"' in t or "\u201c" in t) and t[:1] not in "{[" and _quoted(t):
        out.append("s:quote")
    n = len(t)
    out.append("s:len" + ("0" if n < 200 else "1" if n < 800 else "2" if n < 2500 else "3"))
    return out


def features(text: str) -> Counter[str]:
    """Feature name -> count in ``text`` (see the module docstring)."""
    words = _words(text)
    bigrams = _bigrams(words)
    distinct = set(words)
    out: Counter[str] = Counter(bigrams)
    for w in distinct:
        out.update(_word_features(w))
    out.update(_shapes(text, words, distinct, bigrams))
    return out


@dataclass(frozen=True)
class Weights:
    """A fitted model: ``z = bias + sum(count[f] * weights[f]) / sqrt(sum(count))``."""

    bias: float
    threshold: float
    weights: dict[str, float]
    version: str = ""
    #: word -> (sum of its features' weights, number of its features)
    _memo: TextMemo[str, tuple[float, int]] = field(default_factory=TextMemo, compare=False,
                                                    repr=False)

    @cached_property
    def names(self) -> frozenset[str]:
        """The features that carry a weight."""
        return frozenset(self.weights)

    @cached_property
    def pairs(self) -> dict[tuple[str, ...], float]:
        """The weighted bigrams as word pairs (see ``_SHAPE_PAIRS``) -> weight."""
        return {tuple(f[2:].split(" ", 1)): v for f, v in self.weights.items()
                if f.startswith("b:")}

    @cached_property
    def pair_names(self) -> frozenset[tuple[str, ...]]:
        """The keys of :attr:`pairs`."""
        return frozenset(self.pairs)

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
    :func:`features` (a test keeps the two paths equal). The shipped model's last few
    scores are memoised: a routed text's second look reads the score the fast path just
    made (:func:`.crosslingual.hybrid_inputs`)."""
    return _score(text, weights) if weights is not None else _shipped_score(text)


@text_cache(16)
def _shipped_score(text: str) -> Score:
    return _score(text, load())


def _score(text: str, weights: Weights | None) -> Score:
    m = weights or load()
    words = _words(text)
    # bigrams as word pairs, no strings built: the same count, the same weights
    pairs = set(zip(words, words[1:], strict=False))
    distinct = set(words)
    met = {_SHAPE_PAIRS[p] for p in _SHAPE_PAIR_SET.intersection(pairs)}
    shapes = _shapes(text, words, distinct, met)
    # fsum is exactly rounded: the sum over the weighted features alone is the same number
    total = math.fsum([*map(m.pairs.__getitem__, m.pair_names.intersection(pairs)),
                       *map(m.weights.get, shapes, repeat(0.0))])
    n = len(pairs) + len(shapes)
    memo = m._memo
    for w in distinct:  # m.word(w), its memo read here (a call per word costs)
        got = memo.get(w)
        s, k = m.word(w) if got is None else got
        total += s
        n += k
    if not words:
        return Score(0.0, False)
    z = m.bias + total / math.sqrt(n)
    p = 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))
    if p < m.threshold or len(distinct) < MIN_WORDS:
        return Score(p, False)
    feats = features(text)
    ranked = sorted(((m.weights[f] * c, f) for f, c in feats.items() if f in m.names),
                    reverse=True)[:5]
    return Score(p, True, tuple(f for w, f in ranked if w > 0))
