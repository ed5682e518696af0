"""What a question says about time: a date range to favour, and whether it asks "when".

    >>> from datetime import datetime, UTC
    >>> q = parse_query_time("What did Jon do in May 2023?", datetime(2023, 10, 1, tzinfo=UTC))
    >>> q.start.date().isoformat(), q.end.date().isoformat(), q.relation
    ('2023-05-01', '2023-06-01', 'in')
    >>> parse_query_time("When did Caroline go to the support group?", datetime.now(UTC)).asks_when
    True
    >>> parse_query_time("What is Caroline's favourite colour?", datetime.now(UTC)) is None
    True

Time expressions are found by :func:`~engram.recall.timeexpr.resolve_time_expressions`
against ``now`` (the moment the question is asked), so "last year" in a question
is the year before ``now``. Ranges are aware datetimes in ``now``'s timezone,
``start`` inclusive and ``end`` exclusive; ``None`` on a side means unbounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .timeexpr import TimeMention, resolve_time_expressions

__all__ = ["QueryTime", "Relation", "parse_query_time"]

Relation = Literal["in", "before", "after"]
Order = Literal["earliest", "latest"]


@dataclass(frozen=True)
class QueryTime:
    """The time aspect of a query.

    * ``start``/``end``: when the asked-about thing happened, if the query says
      (``"in May 2023"`` -> May; ``"before 2023"`` -> ``end`` only).
    * ``relation``: ``"in"`` a named range, ``"before"``/``"after"`` a named
      range or an ``anchor`` event; ``None`` when the query names no time.
    * ``anchor``: the event of "before the trip" / "after she moved" (no range
      can be computed from it: the caller may search for it first).
    * ``asks_when``: the answer is a date or time ("When did...", "What year...",
      "How long ago..."): evidence carrying dates should be favoured.
    * ``asks_duration``: "How long has...", "for how many years".
    * ``order``: "first"/"earliest" vs "most recent"/"latest"/"recently".
      Vague words ("recently", "lately", "soon") set no range: the caller's
      ``now`` need not be the conversation's.
    * ``mentions``: the resolved time expressions of the query, in text order.
    """

    start: datetime | None
    end: datetime | None
    relation: Relation | None
    asks_when: bool
    asks_duration: bool = False
    order: Order | None = None
    anchor: str | None = None
    mentions: tuple[TimeMention, ...] = ()

    @property
    def has_range(self) -> bool:
        return self.start is not None or self.end is not None


_WHEN = re.compile(
    r"^\W*(?:(?:and|so|but|also|then|ok(?:ay)?|hey|tell\s+me)\W+)*"
    r"(?:when|since\s+when|until\s+when|by\s+when|around\s+when|roughly\s+when|"
    r"approximately\s+when|about\s+when)\b"
    r"|\bwhen\s+(?:did|does|do|is|was|were|will|has|have|had|are|can|could|would|should)\b"
    r"|\b(?:what|which)\s+(?:(?:exact|specific|particular)\s+)?(?:date|day|year|month|week|"
    r"weekend|time\s+of\s+year|season|decade|time|dates|days|years|months)\b"
    r"|\bhow\s+long\s+ago\b|\bon\s+what\s+(?:date|day)\b|\bin\s+what\s+(?:year|month)\b",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"\bhow\s+long\b(?!\s+ago)|\bhow\s+many\s+(?:years|months|weeks|days|hours)\b",
    re.IGNORECASE,
)
_EARLIEST = re.compile(
    r"\b(?:first|earliest|initially|originally)\b(?!\s+(?:place|prize|name|names))", re.IGNORECASE
)
_LATEST = re.compile(
    r"\b(?:most\s+recent(?:ly)?|latest|last\s+time|these\s+days|nowadays|currently|now)\b",
    re.IGNORECASE,
)
_BEFORE = re.compile(r"\b(?:before|prior\s+to)\s*$", re.IGNORECASE)
_UNTIL = re.compile(r"\b(?:until|till|by|up\s+to)\s*$", re.IGNORECASE)
_AFTER = re.compile(r"\b(?:after|following)\s*$", re.IGNORECASE)
_SINCE = re.compile(r"\bsince\s*$", re.IGNORECASE)
_BETWEEN = re.compile(r"\b(?:between|from)\s*$", re.IGNORECASE)
_SECOND_END = re.compile(r"^\s*(?:and|to|until|till|through|-)\s*$", re.IGNORECASE)
# vague words set no range (the caller's "now" is rarely the conversation's) but ask for recency
_RECENT_WORDS = re.compile(r"^(?:recently|lately|these\s+days|nowadays)$", re.IGNORECASE)
_ANCHOR = re.compile(
    r"\b(?P<rel>before|after|prior\s+to|following|since|until)\s+(?P<anchor>[^?.!,;]+)",
    re.IGNORECASE,
)
_MAX_ANCHOR_WORDS = 8
_QUESTION_WORDS = frozenset("how what which when where who whom whose why".split())


def parse_query_time(query: str, now: datetime) -> QueryTime | None:
    """The time aspect of ``query`` asked at ``now``; ``None`` when it has none.

    ``now`` must be timezone-aware. Several constraints are intersected
    ("after March but before June"); "between X and Y" spans both.
    """
    found = resolve_time_expressions(query, now)
    recent = any(m.fuzzy and _RECENT_WORDS.match(m.text) for m in found)
    mentions = tuple(m for m in found if not (m.fuzzy and m.granularity == "span"))
    start: datetime | None = None
    end: datetime | None = None
    relation: Relation | None = None
    i = 0
    while i < len(mentions):
        m = mentions[i]
        left = query[max(0, m.span[0] - 20) : m.span[0]]
        rel: Relation = "in"
        nxt = mentions[i + 1] if i + 1 < len(mentions) else None
        if _BETWEEN.search(left) and nxt and _SECOND_END.match(query[m.span[1] : nxt.span[0]]):
            lo, hi = m.start, nxt.end
            i += 1
        elif _BEFORE.search(left):
            lo, hi, rel = None, m.start, "before"
        elif _UNTIL.search(left):
            lo, hi, rel = None, m.end, "before"
        elif _AFTER.search(left):
            lo, hi, rel = m.end, None, "after"
        elif _SINCE.search(left):
            lo, hi, rel = m.start, None, "after"
        else:
            lo, hi = m.start, m.end
        start, end = _intersect(start, end, lo, hi)
        relation = rel if relation is None or relation == rel else "in"
        i += 1
    anchor = None if mentions else _anchor(query)
    if anchor is not None:
        relation = anchor[0]
    outside = _blank(query, mentions)
    asks_when = bool(_WHEN.search(query))
    asks_duration = bool(_DURATION.search(query))
    order: Order | None = None
    if _EARLIEST.search(outside):
        order = "earliest"
    elif recent or _LATEST.search(outside):
        order = "latest"
    if not (mentions or anchor or asks_when or asks_duration or order):
        return None
    return QueryTime(
        start=start,
        end=end,
        relation=relation,
        asks_when=asks_when,
        asks_duration=asks_duration,
        order=order,
        anchor=anchor[1] if anchor else None,
        mentions=mentions,
    )


def _intersect(
    start: datetime | None, end: datetime | None, lo: datetime | None, hi: datetime | None
) -> tuple[datetime | None, datetime | None]:
    new_start = lo if start is None else (start if lo is None else max(start, lo))
    new_end = hi if end is None else (end if hi is None else min(end, hi))
    if new_start is not None and new_end is not None and new_start >= new_end:
        # contradictory constraints: keep the union rather than an empty range
        starts = [x for x in (start, lo) if x is not None]
        ends = [x for x in (end, hi) if x is not None]
        return (min(starts) if starts else None), (max(ends) if ends else None)
    return new_start, new_end


def _anchor(query: str) -> tuple[Relation, str] | None:
    m = _ANCHOR.search(query)
    if m is None:
        return None
    words = m.group("anchor").split()[:_MAX_ANCHOR_WORDS]
    if not words or words[0].lower() in _QUESTION_WORDS:
        return None  # "After how many weeks did ...": not an event
    rel: Relation = (
        "after" if m.group("rel").lower() in ("after", "following", "since") else "before"
    )
    return rel, " ".join(words)


def _blank(text: str, mentions: tuple[TimeMention, ...]) -> str:
    """``text`` with the mentions' characters replaced by spaces."""
    chars = list(text)
    for m in mentions:
        chars[m.span[0] : m.span[1]] = " " * (m.span[1] - m.span[0])
    return "".join(chars)
