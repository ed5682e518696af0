"""Find time expressions in English text and resolve them against the time it was said.

    >>> from datetime import datetime, UTC
    >>> ref = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    >>> [(m.text, m.start.date().isoformat()) for m in resolve_time_expressions(
    ...     "I went to a support group yesterday", ref)]
    [('yesterday', '2023-05-07')]
    >>> annotate("I went to a support group yesterday", ref)
    '2023-05-07 7 May 2023 May 2023'

Rule-based and offline: one table of compiled regexes (built once at import),
no model and no third-party parser. ``dateparser`` was measured as an
alternative (``python -m tools.evaluate_time --dateparser`` in the repository) and is
both slower and over-eager ("I may go" -> May); it is not used here.

Conventions (they pin behaviour; tests hold them):

* Times: ``ref`` must be timezone-aware (else :class:`~engram.errors.NaiveDatetime`).
  Calendar days are those of ``ref``'s own timezone (what the speaker meant by
  "yesterday"), and ``start``/``end`` are aware datetimes at midnight in that
  timezone. Convert with ``.astimezone(UTC)`` for storage.
* Ranges are half-open: ``start <= t < end``.
* Any ``ref`` of years 1..9999 works. A mention whose range would reach past
  the ends of the calendar ("next week" said on 31 December 9999, "yesterday"
  on 1 January 0001) is left out; nothing raises.
* Weeks run Monday-Sunday; "last week" is the previous calendar week, "this
  weekend" the Saturday-Sunday of the current week (the one just gone when the
  sentence is in the past tense and said on a weekday), "last weekend" the
  Saturday-Sunday of the previous week, "two weekends ago" the one before it.
* "last Friday" is the most recent Friday strictly before the reference day,
  "next Friday" the first one strictly after it; "this Friday" is the one in the
  current week, moved a week by the tense. A bare "Friday" is the nearest one
  in the direction of the tense.
* "N days/weeks/months/years ago" is the calendar unit containing the shifted
  day; vague counts ("a few", "a couple of", "several") give a range of units and
  ``fuzzy=True``; "recently", "lately", "the other day", "soon" are fuzzy spans.
* A missing year ("on 8 May") is filled from ``ref`` and the tense.
* ``granularity`` is the unit the expression speaks in; a fuzzy mention may span
  several such units.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo

from ..timeutil import ensure_aware
from . import _calendar as cal
from ._absolute import ABSOLUTE_RULES
from ._casual import spelled_out
from ._timerules import RELATIVE_RULES, SHAPES, Ctx, Granularity, Resolved, Rule
from ._timewords import COUNT, NTH, WEEKDAY_FULL_RE, count_range, weekday_number
from .timeformat import date_labels

__all__ = ["Granularity", "TimeMention", "annotate", "resolve_time_expressions"]

_RULES: list[Rule] = RELATIVE_RULES + ABSOLUTE_RULES


@dataclass(frozen=True)
class TimeMention:
    """One resolved time expression.

    ``span`` indexes the input text (``text == input[span[0]:span[1]]``);
    ``start``/``end`` are aware datetimes in the reference's timezone, end
    exclusive. ``relative`` is true when the expression counts from the moment
    it was said ("yesterday", "last week", "three days ago", "this summer") and
    false when it names a calendar position ("8 May", "May 2023", "in 2022").
    ``fuzzy`` marks vague expressions whose bounds are a guess.
    """

    span: tuple[int, int]
    text: str
    start: datetime
    end: datetime
    granularity: Granularity
    relative: bool
    fuzzy: bool = False

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The last calendar day inside the range (``end`` minus one day)."""
        return (self.end - timedelta(days=1)).date()


@dataclass(frozen=True)
class _Cand:
    start: int
    end: int
    res: Resolved


def resolve_time_expressions(text: str, ref: datetime) -> list[TimeMention]:
    """Every time expression in ``text`` resolved against ``ref``, in text order.

    Overlapping matches keep the longest ("last Saturday" over "Saturday").
    Text without any time expression gives ``[]``; never raises on odd text.
    Casual spellings ("2moro", "last wk", "this sat") are read as their words
    (:mod:`._casual`); a mention's span and text are still the typed ones.
    """
    ref = _aware(ref)
    casual = spelled_out(text)
    if casual is None:
        return _resolve(text, ref)
    written, where = casual
    out = []
    for m in _resolve(written, ref):
        start, end = where[m.span[0]], where[m.span[1] - 1] + 1
        out.append(replace(m, span=(start, end), text=text[start:end]))
    return out


def _resolve(text: str, ref: datetime) -> list[TimeMention]:
    """:func:`resolve_time_expressions` of a text as written out."""
    ctx = Ctx(text=text, today=ref.date())
    words = _words(text)
    found: list[_Cand] = []
    for rule in _RULES:
        if not rule.may_match(words):
            continue
        for m in rule.pattern.finditer(text):
            try:
                res = rule.handler(m, ctx)
            except (ValueError, OverflowError):  # a date outside years 1..9999
                continue
            if res is None:
                continue
            s, e = m.span("x") if "x" in rule.pattern.groupindex and m.group("x") else m.span()
            found.append(_Cand(s, e, res))
    chosen: list[_Cand] = []
    for c in sorted((_edge_safe(_modify, c, text) for c in _select(found)), key=lambda c: c.start):
        a = _edge_safe(_anchor, c, text)
        if a is not c and not any(o.start < a.start < o.end for o in chosen):
            # "the Friday before 15 July": the anchored phrase absorbs "Friday"
            chosen = [o for o in chosen if o.end <= a.start]
            c = a
        chosen.append(c)
    tz = ref.tzinfo
    assert tz is not None
    out: list[TimeMention] = []
    for c in chosen:
        try:
            out.append(_mention(text, c, tz))
        except (ValueError, OverflowError):  # at the edge of the calendar
            continue
    return out


def annotate(text: str, ref: datetime) -> str:
    """Normalised date phrases for the time expressions in ``text``, for indexing.

    "yesterday" said on 2023-05-08 -> ``"2023-05-07 7 May 2023 May 2023"``.
    Phrases of several mentions are joined by spaces, each phrase once, in
    text order. Vague words without a unit ("recently", "soon", "these days")
    add nothing; other fuzzy mentions ("a few weeks ago") add their month(s)
    when they touch at most two months, else their year when they lie in one.
    ``""`` when there is nothing to add.
    """
    out: list[str] = []
    for mention in resolve_time_expressions(text, ref):
        if mention.fuzzy and mention.granularity == "span":
            continue
        for label in date_labels(
            mention.first_day, mention.end.date(), mention.granularity, fuzzy=mention.fuzzy
        ):
            if label not in out:
                out.append(label)
    return " ".join(out)


_WORD = re.compile(r"[a-z]+")
_DIGIT = re.compile(r"\d")


def _words(text: str) -> frozenset[str]:
    words = set(_WORD.findall(text.lower()))
    if _DIGIT.search(text):
        words.add("#")
        words.update(name for name, shape in SHAPES if shape.search(text))
    return frozenset(words)


def _aware(ref: datetime) -> datetime:
    """``ref`` itself; only its own calendar day is used, so a ``ref`` whose UTC instant
    falls outside years 1..9999 (``0001-01-01T00:00+05:00``) is fine here."""
    if not isinstance(ref, datetime) or ref.utcoffset() is None:
        ensure_aware(ref, "ref")  # raises NaiveDatetime
    return ref


def _edge_safe(step: Callable[[_Cand, str], _Cand], c: _Cand, text: str) -> _Cand:
    """``step(c, text)``, or ``c`` unchanged when the step would leave years 1..9999
    ("the week after 31 December 9999")."""
    try:
        return step(c, text)
    except (ValueError, OverflowError):
        return c


def _select(found: list[_Cand]) -> list[_Cand]:
    chosen: list[_Cand] = []
    for c in sorted(found, key=lambda c: (-(c.end - c.start), c.start)):
        if all(c.end <= o.start or c.start >= o.end for o in chosen):
            chosen.append(c)
    return chosen


def _mention(text: str, c: _Cand, tz: tzinfo) -> TimeMention:
    def at(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=tz)

    r = c.res
    return TimeMention(
        span=(c.start, c.end),
        text=text[c.start : c.end],
        start=at(r.start),
        end=at(r.end),
        granularity=r.granularity,
        relative=r.relative,
        fuzzy=r.fuzzy,
    )


# -- "early May", "the end of next month", "the first week of June" -------------------

_MODIFIER = re.compile(
    r"(?:\bthe\s+)?\b(?:(?P<part>early|mid|late|end\s+of|beginning\s+of|start\s+of|middle\s+of|"
    r"first\s+half\s+of|second\s+half\s+of)|(?P<nth>first|second|third|fourth|last)\s+"
    r"(?P<nu>week|weekend)\s+of)[\s-]*(?:the\s+)?$",
    re.IGNORECASE,
)
_PARTS = {
    "early": (0, 1, 3),
    "beginning of": (0, 1, 3),
    "start of": (0, 1, 3),
    "mid": (1, 2, 3),
    "middle of": (1, 2, 3),
    "late": (2, 3, 3),
    "end of": (2, 3, 3),
    "first half of": (0, 1, 2),
    "second half of": (1, 2, 2),
}


def _modify(c: _Cand, text: str) -> _Cand:
    r = c.res
    if r.granularity not in ("month", "year", "season", "week", "weekend", "decade"):
        return c
    m = _MODIFIER.search(text, max(0, c.start - 40), c.start)
    if m is None:
        return c
    if m.group("part"):
        a, b, n = _PARTS[" ".join(m.group("part").lower().split())]
        start, end = _part(r, a, b, n)
        return _Cand(m.start(), c.end, replace(r, start=start, end=end, fuzzy=True))
    if r.granularity not in ("month", "year"):
        return c
    # "the second week of 2024" counts from 1 January as "... of January" from the 1st;
    # "the last weekend of 2023" is December's last
    nth, unit = NTH[m.group("nth").lower()], m.group("nu").lower()
    if unit == "weekend":
        month = r.start.month if r.granularity == "month" or nth > 0 else 12
        sat = cal.nth_weekday(r.start.year, month, 5, nth)
        res = Resolved(sat, sat + timedelta(days=2), "weekend", r.relative)
    elif nth > 0:
        first = r.start + timedelta(days=7 * (nth - 1))
        res = Resolved(first, min(first + timedelta(days=7), r.end), "week", r.relative)
    else:
        res = Resolved(r.end - timedelta(days=7), r.end, "week", r.relative)
    return _Cand(m.start(), c.end, res)


def _part(r: Resolved, a: int, b: int, n: int) -> tuple[date, date]:
    """Parts ``a/n`` to ``b/n`` of the range, cut on months for years and seasons,
    on years for decades, on days otherwise ("mid-2022" is May-August)."""
    if r.granularity in ("year", "season"):
        months = (r.end.year - r.start.year) * 12 + r.end.month - r.start.month
        lo, hi = math.floor(months * a / n), math.ceil(months * b / n)
        return (
            date(*cal.add_months(r.start.year, r.start.month, lo), 1),
            date(*cal.add_months(r.start.year, r.start.month, hi), 1),
        )
    if r.granularity == "decade":
        years = r.end.year - r.start.year
        lo, hi = math.floor(years * a / n), math.ceil(years * b / n)
        return date(r.start.year + lo, 1, 1), date(r.start.year + hi, 1, 1)
    total = (r.end - r.start).days
    return (
        r.start + timedelta(days=math.floor(total * a / n)),
        r.start + timedelta(days=math.ceil(total * b / n)),
    )


# -- "the week before 9 June 2023", "two weekends before ...", "the Friday after ..." --

_ANCHORED = re.compile(
    rf"(?:\b(?:(?P<n>{COUNT})|the|last)\s+)?\b(?P<u>days?|weeks?|weekends?|months?|years?|"
    rf"{WEEKDAY_FULL_RE})\s+(?P<rel>before|after|prior\s+to|following|of)\s+(?:the\s+)?$",
    re.IGNORECASE,
)


def _anchor(c: _Cand, text: str) -> _Cand:
    m = _ANCHORED.search(text, max(0, c.start - 60), c.start)
    if m is None:
        return c
    unit = m.group("u").lower().rstrip("s") if m.group("u").lower() not in _WD else m.group("u")
    rel = m.group("rel").lower().split()[0]
    rng = count_range(m.group("n")) if m.group("n") else (1, 1)
    if rng is None:
        return c
    n, fuzzy = rng[1], rng[0] != rng[1]
    r = c.res
    first, last = r.start, r.end - timedelta(days=1)
    res: Resolved | None
    if rel == "of":
        res = None if m.group("n") else _of(unit, first, r)
    elif rel in ("before", "prior"):
        res = _offset(unit, first, -n, r)
    else:
        res = _offset(unit, last, n, r)
    if res is None:
        return c
    return _Cand(m.start(), c.end, replace(res, fuzzy=fuzzy or r.fuzzy))


_WD = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}


def _of(unit: str, d: date, r: Resolved) -> Resolved | None:
    if unit == "week":
        return Resolved(*cal.week_range(d), "week", r.relative)
    if unit == "weekend":
        return Resolved(*cal.weekend_of_week(d), "weekend", r.relative)
    return None


def _offset(unit: str, d: date, n: int, r: Resolved) -> Resolved | None:
    """``n`` units before (n < 0) or after ``d``: the day/week/... so many units away."""
    step = 1 if n > 0 else -1
    if unit.lower() in _WD:
        wd = weekday_number(unit)
        x = d + timedelta(days=step)
        while x.weekday() != wd:
            x += timedelta(days=step)
        x += timedelta(days=7 * (n - step))
        return Resolved(*cal.day_range(x), "day", r.relative)
    if unit == "day":
        return Resolved(*cal.day_range(d + timedelta(days=n)), "day", r.relative)
    if unit == "week":
        return Resolved(*cal.week_range(d + timedelta(days=7 * n)), "week", r.relative)
    if unit == "weekend":
        if n < 0:  # the last Saturday-Sunday that ends before d, then |n|-1 more back
            sat = d - timedelta(days=(d.weekday() - 5) % 7)
            if sat + timedelta(days=1) >= d:
                sat -= timedelta(days=7)
            sat += timedelta(days=7 * (n + 1))
        else:  # the first Saturday after d, then n-1 more ahead
            sat = d + timedelta(days=(5 - d.weekday()) % 7 or 7) + timedelta(days=7 * (n - 1))
        return Resolved(sat, sat + timedelta(days=2), "weekend", r.relative)
    if unit == "month":
        return Resolved(*cal.month_range(*cal.add_months(d.year, d.month, n)), "month", r.relative)
    if unit == "year":
        return Resolved(*cal.year_range(d.year + n), "year", r.relative)
    return None
