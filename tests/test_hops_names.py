"""The multi-hop stage's name reading is the same, only cheaper (#21).

``extract_entities(..., names_only=True)`` gives exactly the non-keyword
mentions of a full extraction, and hops' sentence-end pattern (the mark first,
the title behind it checked after) finds exactly what the pattern with the
look-behinds first found.
"""

from __future__ import annotations

import random
import re

from engram.recall import extract_entities, introductions
from engram.retrieval import hops

TEXTS = [
    "Hey Mel! My friend Caroline moved to New York City.",
    "My sister Anna moved to Lisbon. Anna eats at Taberna every week.",
    "Our dentist, Dr. Okafor, said the Bank of America called.",
    "We adopted a kitten we named Pixel; I read \u201cThe Glass Orchard\u201d twice.",
    "i met anna, my sister, at the \"Lean Startup\" talk on Monday.",
    "Mr. Smith's car isn't here -- the CEO's LGBTQ group met Jean-Luc at 5pm.",
    "Painting's great.\nTalked to Prof. Ng yesterday!  New job at IBM?",
    "my wife's favourite band is Velvet Lanterns, and my son's teacher Ms Park agrees",
    "",
    "ok",
]


def _mentions(ms: list) -> list[tuple]:
    return [(m.key, m.text, m.span, m.kind) for m in ms]


def test_names_only_is_the_full_extraction_without_keywords() -> None:
    rng = random.Random(5)
    words = [w for t in TEXTS for w in re.split(r"(\s+)", t)]
    texts = TEXTS + ["".join(rng.choice(words) for _ in range(rng.randint(1, 40)))
                     for _ in range(300)]
    for text in texts:
        for known in ((), {"mel": "melanie", "the bank": "bank"}):
            full = extract_entities(text, known)
            assert _mentions(extract_entities(text, known, names_only=True)) == _mentions(
                [m for m in full if m.kind != "keyword"]), text


#: the pattern as it was written first (look-behinds at every position)
_OLD_END = re.compile(r"(?<!\bdr)(?<!\bmr)(?<!\bmrs)(?<!\bms)(?<!\bprof)[.!?;:]\s",
                      re.IGNORECASE)


def test_sentence_end_finds_what_the_look_behind_first_pattern_found() -> None:
    rng = random.Random(7)
    parts = ["dr", "Dr", "mR", "MRS", "ms", "prof", "Prof", "adr", "x", " ", ".", "!", "?",
             ";", ":", "\n", "\t", "\u00e9", "_", "1"]
    for _ in range(5000):
        s = "".join(rng.choice(parts) for _ in range(rng.randint(1, 14)))
        assert ([m.span() for m in introductions._SENTENCE_END.finditer(s)]
                == [m.span() for m in _OLD_END.finditer(s)]), s


def test_introduced_names_unchanged() -> None:
    assert hops.introduced_names(TEXTS[1]) == frozenset({"anna"})
    assert hops.introduced_names(TEXTS[2]) == frozenset({"okafor"})
    assert hops.introduced_names("Talked to my dentist Dr. Okafor. Then Anna came.") == (
        frozenset({"okafor"}))


def test_query_names_are_query_entities_people_and_names() -> None:
    from datetime import UTC, datetime

    from engram.recall import query_entities, query_names
    from engram.retrieval.rerank import query_info

    for q in [*TEXTS, "When did Caroline go to the LGBTQ support group?",
              "What did Mel and \"The Glass Orchard\" have in common?", "what about anna?"]:
        ents = query_entities(q)
        assert query_names(q) == ents.people + ents.names
        assert query_info(q, datetime(2026, 1, 1, tzinfo=UTC)).names == tuple(
            n.lower() for n in ents.people + ents.names)
