"""Names a text introduces as the referent of a description.

"My sister Anna moved to Lisbon" introduces Anna: the name stands in apposition to a
possessive description ("my sister Anna", "our dentist, Dr. Okafor", "my wife's
favourite band is Velvet Lanterns", "I met Anna, my sister") or after a naming verb
("a kitten we named Pixel", "a novel called The Glass Orchard"). A name merely mentioned
("we fly from Porto") is not introduced. Multi-hop search follows the names its best
hits introduce (:mod:`engram.retrieval.hops`); a partition card keeps them, worked out
when the card is made (:mod:`engram.index.rowfacts`), so a first search does not read
every head text for them again.
"""

from __future__ import annotations

import re

from ..text import text_cache
from .entities import extract_entities

__all__ = ["introduced_names"]

#: words that end a description before a name ("my trip to Porto" is no apposition)
_PREP = r"(?:to|in|at|from|with|for|on|by|of|about|into|near|and|or|but)"
_WORD = rf"(?!{_PREP}\b)[\w'-]+"
#: what comes right before an introduced name, within its sentence
_BEFORE = re.compile(
    rf"(?:\b(?:my|our|his|her|their|your|the)\s+(?:{_WORD}\s+){{0,3}}{_WORD},?\s+"
    r"(?:(?:is|was)\s+)?"
    r"|\b(?:named|called|call|calls|nicknamed)\s+(?:(?:her|him|it|them)\s+)?)"
    r"(?:(?:dr|mr|mrs|ms|prof)\.?\s+)?(?:the\s+)?$",
    re.IGNORECASE,
)
#: what comes right after one ("Anna, my sister")
_AFTER = re.compile(r"^,\s+(?:my|our|his|her|their|your)\s+\w", re.IGNORECASE)
#: (the mark first, the title behind it looked at only then: the regex engine
#: skips to each mark instead of testing every position)
_SENTENCE_END = re.compile(r"[.!?;:](?<!\bdr.)(?<!\bmr.)(?<!\bmrs.)(?<!\bms.)(?<!\bprof.)\s",
                           re.IGNORECASE)


@text_cache(8192)
def introduced_names(text: str) -> frozenset[str]:
    """Keys of the names ``text`` introduces as the referent of a description."""
    out = set()
    for m in extract_entities(text, names_only=True):
        if m.kind not in ("name", "title"):
            continue
        start, end = m.span
        before = text[max(0, start - 80) : start]
        cut = list(_SENTENCE_END.finditer(before))
        if cut:
            before = before[cut[-1].end() :]
        if _BEFORE.search(before) or _AFTER.match(text[end : end + 40]):
            out.add(m.key)
    return frozenset(out)
