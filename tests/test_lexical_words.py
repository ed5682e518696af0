"""BM25's word split (``index.lexical``): ASCII texts take a translation-table path
(#21, twice as fast on long texts); it must find exactly the words of the regex
``[^\\W_]+`` on the lower-cased text, in order, whatever the text holds."""

from __future__ import annotations

import random
import re

from engram.index import lexical

_REFERENCE = re.compile(r"[^\W_]+", re.UNICODE)

TEXTS = [
    "",
    "Hello, World!",
    "I moved to Tromsø last spring",  # not ASCII: the regex path
    "snake_case_words and CamelCase, e-mail, don't; it's 3.14 or 1,000,000",
    "tabs\tnew\nlines\r\nform\x0cfeed\x0bvertical\x1cseparators\x1f end",
    "[8 May 2023] Caroline: went to the LGBTQ+ support group (again)...",
    "URL https://example.com/a_b?c=d&e=f#g and path C:\\Users\\ana\\file.txt",
    "KELVIN \u212a sign lowers to ASCII k; \u0130stanbul does not",
    "emoji 🎉 party, CJK 東京 and Ελληνικά words, full-width ＡＢＣ１２３",
    "NUL\x00inside DEL\x7fhere ~`!@#$%^&*()-=+[]{}|;:'\",.<>/? done",
    "x" * 50 + " " + "42" * 10,
]


def _reference_tokens(text: str) -> list[str]:
    return [lexical.stem(w) for w in _REFERENCE.findall(text.lower())
            if w not in lexical.STOPWORDS]


def test_words_equal_the_regex_on_varied_texts() -> None:
    for text in TEXTS:
        low = text.lower()
        assert lexical._words(low) == _REFERENCE.findall(low), text
        assert lexical.tokens(text) == _reference_tokens(text), text
        assert lexical.term_set(text) == frozenset(_reference_tokens(text)), text


def test_words_equal_the_regex_on_random_ascii() -> None:
    rng = random.Random(21)
    alphabet = [chr(i) for i in range(128)]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        low = text.lower()
        assert lexical._words(low) == _REFERENCE.findall(low), repr(text)
