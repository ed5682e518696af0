"""Candidate model features measured by ``guard_eval.py evaluate --features ...`` (not
part of the package; see docs/trust.md "Tried and not shipped").

``shapes``: the package's n-gram features plus, once each, shapes of the raw text that
read like an order to a model whatever its topic (``s:``: "you must/will ...", "from now
on", a line that starts with a role label, markup or template syntax, words in
capitals, a mention of an AI or assistant, an imperative at a sentence start, "you" or
"your" three times or more, a long quotation, the length in four bands).
``shapes+lang``: also shapes that look the same in any language (``l:``: a URL with a
query string, markdown images and links, an HTML comment, call syntax with keyword
arguments, placeholders, a quoted role label, English technical words left
untranslated, mostly non-ASCII text).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from engram.trust.classifier import MAX_CHARS, features

SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("s:you_modal", re.compile(
        r"\byou(?:'ll|'re going to| will| must| should| shall| need to| have to| are to"
        r"| are going to| are required to| may not| cannot| can't| won't)\b", re.I)),
    ("s:future", re.compile(
        r"\b(?:from now on|henceforth|going forward|hereafter|from this point"
        r"|in (?:all|every) (?:future )?(?:repl|respons|answer|conversation))", re.I)),
    ("s:role_label", re.compile(r"^\s*[\[(<#*]*\s*[A-Za-z][A-Za-z _-]{1,20}[\])>*]*\s*:", re.M)),
    ("s:markup", re.compile(
        r"<[a-zA-Z/|!][^>\n]{0,40}>|\[\[|\{\{|#{2,}|```|\"\"\"|\[/?[A-Z]{2,}\]")),
    ("s:caps", re.compile(r"\b[A-Z]{4,}\b")),
    ("s:ai", re.compile(r"\b(?:AI|LLM|GPT|ChatGPT|assistant|chatbot|language model)\b", re.I)),
    ("s:imper_you", re.compile(
        r"(?:^|[.!?:]\s+)(?:do not|don't|never|always|only|you must|remember|make sure"
        r"|ensure|respond|answer|reply|print|output|write|say|tell)\b", re.I | re.M)),
    ("s:quote", re.compile(r"[\"\u201c][^\"\u201d\n]{20,}[\"\u201d]")),
)
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
_YOU = re.compile(r"\byour?\b", re.I)


def shape_names(text: str, lang: bool = False) -> list[str]:
    """The ``s:`` (and with ``lang`` the ``l:``) features of ``text``, each at most once."""
    t = text[:MAX_CHARS]
    out = [name for name, rx in (*SHAPES, *(LANG if lang else ())) if rx.search(t)]
    if len(_YOU.findall(t)) >= 3:
        out.append("s:you3")
    if lang and not t.isascii() and len(t) - len(t.encode("ascii", "ignore")) > 0.3 * len(t):
        out.append("l:nonascii")
    n = len(t)
    out.append("s:len" + ("0" if n < 200 else "1" if n < 800 else "2" if n < 2500 else "3"))
    return out


def _with(lang: bool) -> Callable[[str], Counter[str]]:
    def featurize(text: str) -> Counter[str]:
        out = features(text)
        out.update(shape_names(text, lang))
        return out
    return featurize


FEATURES: dict[str, Callable[[str], Counter[str]]] = {
    "ngrams": features, "shapes": _with(False), "shapes+lang": _with(True)}
