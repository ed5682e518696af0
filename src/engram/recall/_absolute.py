"""Rules for calendar-named expressions: dates, months, years, decades, seasons, holidays.

A missing year is completed from the reference date: the tense of the
sentence picks the past or the coming occurrence, and without a tense cue the
occurrence nearest to the reference wins. Such mentions are still reported as
not ``relative`` (they name a calendar position; only the year was filled in),
except seasons and holidays introduced by "last"/"this"/"next".
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from . import _calendar as cal
from ._timerules import (
    DIGIT,
    RELS,
    YEAR,
    Ctx,
    Resolved,
    Rule,
    _month_ok,
    _pick_by_tense,
    _rx,
    _w,
)
from ._timewords import (
    MONTH_FULL_RE,
    MONTH_RE,
    MONTHS,
    NTH,
    SEASONS,
    WEEKDAY_FULL_RE,
    YEAR_RE,
    month_number,
    weekday_number,
)

__all__ = ["ABSOLUTE_RULES", "holiday_range"]

_REL = r"(?P<rel>this\s+past|this\s+coming|last|this|next|past|coming)"


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _day_in_some_year(month: int, day: int, ctx: Ctx, m: re.Match[str]) -> tuple[date, date] | None:
    options = []
    for year in (ctx.today.year - 1, ctx.today.year, ctx.today.year + 1):
        d = _safe_date(year, month, day)
        if d is not None:
            options.append(cal.day_range(d))
    if not options:
        return None
    return _pick_by_tense(options, ctx.today, ctx.tense(m))


def _full_date(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    token = m.group("mon")
    year = m.group("year")
    # "the 3rd of jan": a day told as an ordinal, then "of", names a month in any case
    ordinal_of = re.search(r"\d(?:st|nd|rd|th)\s+of\s", m.group(0), re.IGNORECASE) is not None
    if not _month_ok(token, strong=year is not None or ordinal_of):
        return None
    month, day = month_number(token), int(m.group("day"))
    if year is not None:
        d = _safe_date(int(year), month, day)
        return None if d is None else Resolved(*cal.day_range(d), "day", False)
    rng = _day_in_some_year(month, day, ctx, m)
    return None if rng is None else Resolved(*rng, "day", False)


def _month_year(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    token = m.group("mon")
    if not _month_ok(token, strong=False):
        return None
    return Resolved(*cal.month_range(int(m.group("year")), month_number(token)), "month", False)


def _iso(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    d = _safe_date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
    return None if d is None else Resolved(*cal.day_range(d), "day", False)


def _numeric(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    a, b, y = int(m.group("a")), int(m.group("b")), int(m.group("y"))
    if y < 100:
        y += 2000 if y <= (ctx.today.year % 100) + 10 else 1900
    month, day = (a, b) if a <= 12 else (b, a)  # US month/day unless impossible
    d = _safe_date(y, month, day)
    return None if d is None else Resolved(*cal.day_range(d), "day", False)


def _day_slash_month(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    """"on 14/02", "since 28/2": a day and a month with no year, read only where one
    number cannot be a month (day first or month first by that), the year by the
    tense as for "14 February"; "24/7" is no date."""
    a, b = int(m.group("a")), int(m.group("b"))
    if (a, b) == (24, 7) or (a <= 12) == (b <= 12):
        return None
    month, day = (b, a) if a > 12 else (a, b)
    rng = _day_in_some_year(month, day, ctx, m)
    return None if rng is None else Resolved(*rng, "day", False)


def _months_around(month: int, ctx: Ctx) -> list[tuple[date, date]]:
    return [cal.month_range(y, month) for y in range(ctx.today.year - 1, ctx.today.year + 2)]


def _rel_month(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    token = m.group("mon")
    if not _month_ok(token, strong=False):
        return None
    rel = " ".join(m.group("rel").lower().split())
    month, t = month_number(token), ctx.today
    if rel in ("last", "past", "this past"):
        year = t.year if month < t.month else t.year - 1
    elif rel in ("next", "coming", "this coming"):
        year = t.year if month > t.month else t.year + 1
    else:
        year = t.year
    return Resolved(*cal.month_range(year, month), "month", True)


def _prep_month(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    token = m.group("x")
    if token[0].islower() and token.lower() in ("may", "march", "june", "august"):
        return None
    rng = _pick_by_tense(_months_around(month_number(token), ctx), ctx.today, ctx.tense(m))
    return Resolved(*rng, "month", False)


def _year(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    return Resolved(*cal.year_range(int(m.group("year"))), "year", False)


_DECADE_WORDS = {"sixties": 60, "seventies": 70, "eighties": 80, "nineties": 90}


def _decade(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    raw = m.group("x").lower().replace("'", "").replace("\u2019", "")
    if raw in _DECADE_WORDS:
        first = 1900 + _DECADE_WORDS[raw]
    else:
        digits = raw.rstrip("s")
        if len(digits) == 4:
            first = int(digits)
        else:
            two = int(digits)
            first = 2000 + two if 2000 + two <= ctx.today.year else 1900 + two
    return Resolved(*cal.decade_range(first), "decade", False)


def _season_instances(season: str, ctx: Ctx) -> list[tuple[date, date]]:
    y = ctx.today.year
    return [cal.season_range(season, year) for year in range(y - 2, y + 2)]


def _season(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    season = SEASONS[m.group("s").lower()]
    rel = " ".join((m.group("rel") or "").lower().split())
    year = m.group("year")
    if not (rel or year or m.group("prep") or m.group("mod")):
        return None
    if year is not None:
        return Resolved(*cal.season_range(season, int(year)), "season", False)
    t = ctx.today
    options = _season_instances(season, ctx)
    if rel in ("last", "past", "this past"):
        rng = max(o for o in options if o[1] <= t)
    elif rel in ("next", "coming", "this coming"):
        rng = min(o for o in options if o[0] > t)
    else:
        current = [o for o in options if o[0] <= t < o[1]]
        rng = current[0] if current else _pick_by_tense(options, t, ctx.tense(m))
    return Resolved(*rng, "season", True)


# -- holidays ------------------------------------------------------------------------

_FIXED_HOLIDAYS = {
    "christmas eve": (12, 24),
    "christmas": (12, 25),
    "christmas day": (12, 25),
    "xmas": (12, 25),
    "new year's eve": (12, 31),
    "new years eve": (12, 31),
    "new year's day": (1, 1),
    "new years day": (1, 1),
    "new year's": (1, 1),
    "new years": (1, 1),
    "halloween": (10, 31),
    "valentine's day": (2, 14),
    "valentines day": (2, 14),
    "valentine's": (2, 14),
    "independence day": (7, 4),
    "the fourth of july": (7, 4),
    "fourth of july": (7, 4),
    "st. patrick's day": (3, 17),
    "st patrick's day": (3, 17),
    "boxing day": (12, 26),
}


def fixed_holidays(month: int, day: int) -> tuple[str, ...]:
    """The names of the fixed-date holidays of :data:`_FIXED_HOLIDAYS` that fall on
    ``month``/``day`` (``(12, 31)``: "new year's eve", "new years eve"), in table order."""
    return tuple(name for name, md in _FIXED_HOLIDAYS.items() if md == (month, day))


def holiday_range(name: str, year: int) -> tuple[date, date] | None:
    """The day of a named (US/Western) holiday in ``year``; ``None`` if unknown."""
    key = " ".join(name.lower().replace("\u2019", "'").split())
    if key in _FIXED_HOLIDAYS:
        month, day = _FIXED_HOLIDAYS[key]
        return cal.day_range(date(year, month, day))
    if key == "thanksgiving":
        return cal.day_range(cal.nth_weekday(year, 11, 3, 4))
    if key in ("easter", "easter sunday"):
        return cal.day_range(cal.easter(year))
    if key == "good friday":
        return cal.day_range(cal.easter(year) - timedelta(days=2))
    if key == "easter monday":
        return cal.day_range(cal.easter(year) + timedelta(days=1))
    if key in ("labor day", "labour day"):  # the US and Canadian one
        return cal.day_range(cal.nth_weekday(year, 9, 0, 1))
    if key == "memorial day":
        return cal.day_range(cal.nth_weekday(year, 5, 0, -1))
    if key in ("labor day weekend", "labour day weekend", "memorial day weekend"):
        monday = holiday_range(key.rsplit(" ", 1)[0], year)
        assert monday is not None
        return monday[0] - timedelta(days=2), monday[1]
    if key in ("mother's day", "mothers day"):
        return cal.day_range(cal.nth_weekday(year, 5, 6, 2))
    if key in ("father's day", "fathers day"):
        return cal.day_range(cal.nth_weekday(year, 6, 6, 3))
    return None


_HOLIDAY_OBJECT = re.compile(
    r"\s+(?:trees?|lights|gifts?|presents?|cards?|music|songs?|movies?|decorations?|sweaters?|"
    r"spirit|carols?|candy|costumes?|cookies?|dinner|market|shopping|sales?)\b|['\u2019]s\b",
    re.IGNORECASE,
)


def _holiday(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    rel = " ".join((m.group("rel") or "").lower().split())
    name, year = m.group("h"), m.group("year")
    if not (rel or year or m.group("prep") or m.group("verb")) and _HOLIDAY_OBJECT.match(
        ctx.text, m.end()
    ):
        return None  # "a Christmas tree", "my Halloween costume": a thing, not a date
    if year is not None:
        rng = holiday_range(name, int(year))
        return None if rng is None else Resolved(*rng, _holiday_granularity(rng), False)
    t = ctx.today
    options = [r for y in range(t.year - 1, t.year + 2) if (r := holiday_range(name, y))]
    if rel in ("last", "past", "this past"):
        rng = max(o for o in options if o[1] <= t)
    elif rel in ("next", "coming", "this coming"):
        rng = min(o for o in options if o[0] > t)
    else:
        rng = _pick_by_tense(options, t, ctx.tense(m))
    return Resolved(*rng, _holiday_granularity(rng), bool(rel))


def _holiday_granularity(rng: tuple[date, date]) -> Literal["day", "weekend"]:
    """A holiday is a day; "Labor Day weekend" its weekend."""
    return "day" if (rng[1] - rng[0]).days == 1 else "weekend"


def _ordinal_day(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    day, t = int(m.group("day")), ctx.today
    options = []
    for delta in (-1, 0, 1):
        y, mo = cal.add_months(t.year, t.month, delta)
        d = _safe_date(y, mo, day)
        if d is not None:
            options.append(cal.day_range(d))
    if not options:
        return None
    return Resolved(*_pick_by_tense(options, t, ctx.tense(m)), "day", True)


def _months_named(m: re.Match[str], today: date) -> list[tuple[int, int]]:
    """The (year, month) a match's ``mon`` (and ``year``) may name: that year's, or,
    with no year, last year's, this year's and next year's (the tense picks)."""
    month = month_number(m.group("mon"))
    if m.group("year"):
        return [(int(m.group("year")), month)]
    return [(y, month) for y in (today.year - 1, today.year, today.year + 1)]


def _nth_weekday(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    """"the first Monday of next month", "the second Tuesday in April", "the last Friday
    of the month": that day of the month named (a month named alone: by the tense)."""
    n, wd, t = NTH[m.group("nth").lower()], weekday_number(m.group("wd")), ctx.today
    rel = (m.group("rel") or "").lower()
    if rel:
        months = [cal.add_months(t.year, t.month, {"next": 1, "last": -1}.get(rel, 0))]
    else:
        months = _months_named(m, t)
    options = []
    for y, mo in months:
        d = cal.nth_weekday(y, mo, wd, n)
        if d.month == mo:  # a fifth Monday the month has not
            options.append(cal.day_range(d))
    if not options:
        return None
    rng = options[0] if len(options) == 1 else _pick_by_tense(options, t, ctx.tense(m))
    return Resolved(*rng, "day", bool(rel))


def _day_span(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    """"between 10 and 14 July", "from 3 to 7 May", "May 3-4, 2024", "from the 2nd till
    the 9th" (this month's, or the one the tense picks): the days from the first to the
    last."""
    d1, d2, t = int(m.group("d1")), int(m.group("d2")), ctx.today
    if not 1 <= d1 < d2 <= 31:
        return None
    named = m.groupdict().get("mon") is not None  # "from the 2nd till the 9th": none
    if named:
        months = _months_named(m, t)
    else:
        months = [cal.add_months(t.year, t.month, k) for k in (-1, 0, 1)]
    options = []
    for y, mo in months:
        first, last = _safe_date(y, mo, d1), _safe_date(y, mo, d2)
        if first is not None and last is not None:
            options.append((first, last + timedelta(days=1)))
    if not options:
        return None
    rng = options[0] if len(options) == 1 else _pick_by_tense(options, t, ctx.tense(m))
    return Resolved(*rng, "span", not named)


_ORD = r"(?:st|nd|rd|th)?"
_TO = r"\s*(?:-|–|to|till|til|until|through|thru)\s*"

MONTH_WORDS = frozenset(MONTHS)
MONTH_FULL_WORDS = frozenset(k for k in MONTHS if len(k) > 3 or k == "may")
#: a word every holiday's name holds ("New Year's" holds "year", "New Years" "years", "the
#: fourth of July" "july")
_HOLIDAY_WORDS = _w(
    "christmas xmas year years halloween thanksgiving easter valentine valentines independence "
    "july patrick mother mothers father fathers boxing good labor labour memorial"
)
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?(?!\d)"
_YEAR = rf"(?P<year>{YEAR_RE})"
_HOLIDAY = (
    r"(?P<h>christmas\s+eve|christmas\s+day|christmas|xmas|new\s+year'?s\s+eve|"
    r"new\s+year'?s\s+day|new\s+year'?s|halloween|thanksgiving|easter\s+monday|"
    r"easter(?:\s+sunday)?|"
    r"valentine'?s(?:\s+day)?|independence\s+day|the\s+fourth\s+of\s+july|"
    r"st\.?\s+patrick'?s\s+day|mother'?s\s+day|father'?s\s+day|boxing\s+day|"
    r"(?-i:Good\s+Friday)|good\s+friday(?=\s+(?:service|mass|holiday|weekend|bank)\b)|"
    r"(?:labor|labour|memorial)\s+day(?:\s+weekend)?)"
)

ABSOLUTE_RULES: list[Rule] = [
    Rule(
        "nth_weekday",
        _rx(rf"\bthe\s+(?P<nth>first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th)\s+"
            rf"(?P<wd>{WEEKDAY_FULL_RE})\s+(?:of|in)\s+(?:(?P<rel>this|next|last|the)\s+month"
            rf"|(?P<mon>{MONTH_RE})\.?(?:,?\s+{_YEAR})?)\b"),
        _nth_weekday,
        needs=(_w("first second third fourth fifth last 1st 2nd 3rd 4th 5th"),),
    ),
    Rule(
        "day_span",
        _rx(rf"\b(?:between|from)\s+(?:the\s+)?(?P<d1>[0-3]?\d){_ORD}\s+(?:and|to|till|til|until|"
            rf"through|thru|-|–)\s+(?:the\s+)?(?P<d2>[0-3]?\d){_ORD}(?:\s+of)?\s+"
            rf"(?P<mon>{MONTH_RE})\.?(?:,?\s+{_YEAR})?\b"),
        _day_span,
        needs=(DIGIT, MONTH_WORDS),
    ),
    Rule(
        "day_span_month_first",
        _rx(rf"\b(?P<mon>{MONTH_RE})\.?\s+(?P<d1>[0-3]?\d){_ORD}{_TO}(?P<d2>[0-3]?\d){_ORD}"
            rf"(?![\d:])(?:,?\s+{_YEAR})?\b"),
        _day_span,
        needs=(DIGIT, MONTH_WORDS),
    ),
    Rule(
        "day_span_day_first",
        _rx(rf"\b(?P<d1>[0-3]?\d){_ORD}\s*(?:-|–)\s*(?P<d2>[0-3]?\d){_ORD}\s+(?:of\s+)?"
            rf"(?P<mon>{MONTH_RE})\.?(?:,?\s+{_YEAR})?\b"),
        _day_span,
        needs=(DIGIT, MONTH_WORDS),
    ),
    Rule(
        "ordinal_span",
        _rx(r"\b(?:between|from)\s+the\s+(?P<d1>[0-3]?\d)(?:st|nd|rd|th)\s+(?:and|to|till|til|"
            r"until|through|thru)\s+the\s+(?P<d2>[0-3]?\d)(?:st|nd|rd|th)\b"),
        _day_span,
        needs=(_w("#ord"),),
    ),
    Rule(
        "iso",
        _rx(r"\b(?P<y>(?:19|20)\d\d)[-/](?P<m>[01]?\d)[-/](?P<d>[0-3]?\d)\b"),
        _iso,
        needs=(YEAR,),
    ),
    Rule(
        "numeric",
        _rx(r"(?<![\d/])(?P<a>[0-3]?\d)/(?P<b>[0-3]?\d)/(?P<y>(?:19|20)?\d\d)(?![\d/])"),
        _numeric,
        needs=(_w("#slash"),),
    ),
    # day, month and year with dashes ("15-08-2022"), a four-digit year only
    Rule(
        "dashed",
        _rx(r"(?<![\d-])(?P<a>[0-3]?\d)-(?P<b>[0-3]?\d)-(?P<y>(?:19|20)\d\d)(?![\d-])"),
        _numeric,
        needs=(YEAR,),
    ),
    # a day and a month after a preposition, no year ("on 14/02", "since 28/2")
    Rule(
        "day_slash_month",
        _rx(r"\b(?:on|from|by|since|until|till|dated|before|after|for)\s+"
            r"(?P<x>(?P<a>[0-3]?\d)/(?P<b>[0-3]?\d))(?![\d/])"),
        _day_slash_month,
        needs=(_w("#slash"),),
    ),
    # day first with dots ("21.01.2024", "3.4.2023": DIN 5008 and most of Europe), a
    # four-digit year only (not a version: "1.2.24", "3.11.2")
    Rule(
        "dotted",
        _rx(r"(?<![\d.])(?P<d>[0-3]?\d)\.(?P<m>[01]?\d)\.(?P<y>(?:19|20)\d\d)(?!\w|\.\d)"),
        _iso,
        needs=(_w("#dot"), YEAR),
    ),
    Rule(
        "day_month",
        _rx(rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?(?P<mon>{MONTH_RE})\b\.?(?:,?\s+{_YEAR})?"),
        _full_date,
        needs=(DIGIT, MONTH_WORDS),
    ),
    Rule(
        "month_day",
        _rx(
            rf"\b(?P<mon>{MONTH_RE})\.?\s+(?:the\s+)?{_DAY}(?!\s*[:.]\d|\s*(?:%|am|pm)\b)"
            rf"(?:st|nd|rd|th)?\b(?:,?\s+{_YEAR})?"
        ),
        _full_date,
        needs=(DIGIT, MONTH_WORDS),
    ),
    Rule(
        "month_year",
        _rx(rf"\b(?P<mon>{MONTH_RE})\.?,?\s+(?:of\s+)?{_YEAR}\b"),
        _month_year,
        needs=(YEAR, MONTH_WORDS),
    ),
    Rule(
        "rel_month",
        _rx(rf"\b{_REL}\s+(?P<mon>{MONTH_FULL_RE})\b(?!\s*\d)"),
        _rel_month,
        needs=(RELS, MONTH_FULL_WORDS),
    ),
    Rule(
        "prep_month",
        _rx(
            r"\b(?:in|during|since|until|till|by|before|after|around|from|through|throughout|"
            r"early|mid|late|of|end\s+of|beginning\s+of|start\s+of|middle\s+of)[\s-]+"
            rf"(?P<x>{MONTH_FULL_RE})\b(?!\s*\d|\s*['\u2019]s\b)"
        ),
        _prep_month,
        needs=(MONTH_FULL_WORDS,),
    ),
    Rule(
        "year",
        _rx(
            r"\b(?:in|since|during|from|by|until|till|of|back\s+in|around|circa|before|after|"
            rf"through|throughout|early|mid|late|the\s+year|year)[\s-]+(?P<x>{_YEAR})\b"
            r"(?!\s*(?:%|percent|dollars|people|times|miles|km|meters|feet|pounds|kg)\b)"
        ),
        _year,
        needs=(YEAR,),
    ),
    Rule(
        "year_subject",
        _rx(rf"(?:^|(?<=[.!?]\s))(?P<x>{_YEAR})\s+(?:was|has\s+been|is|will\s+be)\b"),
        _year,
        needs=(YEAR,),
    ),
    Rule(
        "decade",
        _rx(
            r"\b(?:the\s+|in\s+the\s+)(?P<x>(?:19|20)?['\u2019]?\d0['\u2019]?s|sixties|seventies|"
            r"eighties|nineties)(?!\w)"
        ),
        _decade,
        needs=(_w("# sixties seventies eighties nineties"),),
    ),
    Rule("decade4", _rx(r"\b(?P<x>(?:19|20)\d0s)\b"), _decade, needs=(YEAR,)),
    Rule(
        "season",
        _rx(
            r"\b(?:(?P<prep>(?:in|during|over|through|throughout|for|until|since)(?:\s+the)?|"
            r"by\s+the)\s+|"
            rf"(?P<mod>early|late|mid)[\s-]+)?(?P<x>(?:{_REL}\s+)?(?P<s>spring|summer|fall|autumn|"
            rf"winter)(?:\s+(?:of\s+)?{_YEAR})?)\b"
        ),
        _season,
        needs=(_w("spring summer fall autumn winter"),),
    ),
    Rule(
        "holiday",
        _rx(
            r"\b(?:(?P<prep>on|at|for|over|during|before|after|around|by|until|since)\s+)?"
            rf"(?P<x>(?:{_REL}\s+)?{_HOLIDAY}(?:\s+{_YEAR})?)"
            r"(?P<verb>\s+(?:was|is|went|morning|eve|night|weekend|break))?(?!\w)"
        ),
        _holiday,
        needs=(_HOLIDAY_WORDS,),
    ),
    Rule(
        "ordinal_day",
        # after a preposition ("on the 15th", "booked for the 2nd, so ..."), not before
        # what is counted ("on the 3rd floor", "for the 2nd time")
        _rx(r"\b(?:on|for|by|until|till|from|since|before|after)\s+"
            r"(?P<x>the\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th))\b"
            r"(?!\s+(?:floor|storey|story|time|times|place|round|grade|birthday|anniversary|"
            r"day|week|month|year|one|ones|try|attempt|edition|century|row|chapter|page|level|"
            r"quarter|half|step|part|season|episode|book|game|match|child|kid|son|daughter|"
            r"baby|person|generation|street|avenue|line|question|lap|leg|hole|inning|set|"
            r"draft|version|stage|phase|term|semester|period|class|wave|dose|shot)s?\b)"),
        _ordinal_day,
        needs=(_w("#ord"),),
    ),
]
