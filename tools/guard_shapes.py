"""Candidate model features measured by ``guard_eval.py evaluate --features ...`` (not
part of the package; see docs/trust.md "Tried and not shipped").

``shipped``: the package's features (:func:`engram.trust.classifier.features`: n-grams,
the ``k:`` concepts of :mod:`engram.trust.lexicon` and the ``s:`` shapes). ``noconcepts``:
the same without the ``k:`` concepts (the shipped model of session 8). ``ngrams``: the
n-grams alone (the shipped model until session 8).
``lang``: the shipped features plus shapes that look the same in any language (``l:``: a
URL with a query string, markdown images and links, an HTML comment, call syntax with
keyword arguments, placeholders, a quoted role label, English technical words left
untranslated, mostly non-ASCII text).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from engram.trust.classifier import MAX_CHARS, features

LANG: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("l:url_query", re.compile(r"https?://\S+\?\S*=")),
    ("l:md_image", re.compile(r"!\[[^\]]*\]\(")),
    ("l:md_link", re.compile(r"\[[^\]]+\]\(https?://")),
    ("l:html_comment", re.compile(r"<!--")),
    ("l:code_call", re.compile(r"\b[a-z_]+\([a-z_]+\s*=")),
    ("l:placeholder", re.compile(r"\{[A-Za-z_]+\}|<[A-Z_]{3,}>|\[[A-Z_ ]{4,}\]")),
    ("l:role_quote", re.compile(r"\b(?:system|assistant|user|developer)\s*[:>\]]", re.I)),
    ("l:en_kw", re.compile(r"\b(?:system prompt|prompt|instructions?|ChatGPT|GPT-?\d|LLM|AI|API"
                           r"|admin|password|DAN|jailbreak)\b")),
)


def shape_names(text: str) -> list[str]:
    """The ``l:`` features of ``text``, each at most once."""
    t = text[:MAX_CHARS]
    out = [name for name, rx in LANG if rx.search(t)]
    if not t.isascii() and len(t) - len(t.encode("ascii", "ignore")) > 0.3 * len(t):
        out.append("l:nonascii")
    return out


def _ngrams(text: str) -> Counter[str]:
    return Counter({k: v for k, v in features(text).items() if k[:2] not in ("s:", "k:")})


def _noconcepts(text: str) -> Counter[str]:
    return Counter({k: v for k, v in features(text).items() if not k.startswith("k:")})


def _lang(text: str) -> Counter[str]:
    out = features(text)
    out.update(shape_names(text))
    return out


FEATURES: dict[str, Callable[[str], Counter[str]]] = {
    "shipped": features, "ngrams": _ngrams, "lang": _lang,
    "noconcepts": _noconcepts}
