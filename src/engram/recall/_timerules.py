"""The rule table behind :func:`engram.recall.timeexpr.resolve_time_expressions`.

Each rule is a compiled regex and a handler that turns one match into a
:class:`Resolved` date range, or ``None`` to reject the match (a verb "may", a
habit "every Friday"). Rules may overlap; the resolver keeps the longest.
When the regex has a group named ``x``, that group is the mention's span (so
"in May" yields the span of "May"); otherwise the whole match is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from . import _calendar as cal
from ._timewords import (
    APPROX,
    COUNT,
    WEEKDAY_FULL_RE,
    WEEKDAY_RE,
    count_range,
    tense_near,
    weekday_number,
)

__all__ = ["RELATIVE_RULES", "Granularity", "Resolved", "Rule", "shift_units"]

Granularity = Literal["day", "weekend", "week", "month", "season", "year", "decade", "span"]
Tense = Literal["past", "future"] | None


@dataclass(frozen=True)
class Resolved:
    start: date
    end: date  # exclusive
    granularity: Granularity
    relative: bool
    fuzzy: bool = False


@dataclass(frozen=True)
class Ctx:
    text: str
    today: date

    def tense(self, m: re.Match[str]) -> Tense:
        return tense_near(self.text, m.start(), m.end())


Handler = Callable[[re.Match[str], Ctx], Resolved | None]


@dataclass(frozen=True)
class Rule:
    """``needs``: groups of trigger words; the rule runs only when the text holds
    a word of every group (``"#"`` stands for any digit, and the shapes of
    :data:`SHAPES` for theirs: ``"#year"`` a year of 19xx or 20xx). A cheap pre-filter."""

    name: str
    pattern: re.Pattern[str]
    handler: Handler
    needs: tuple[frozenset[str], ...] = ()

    def may_match(self, words: frozenset[str]) -> bool:
        return all(not group.isdisjoint(words) for group in self.needs)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _w(words: str) -> frozenset[str]:
    return frozenset(words.split())


UNITS = _w(
    "day days night nights week weeks weekend weekends month months year years decade decades"
)
RELS = _w("last this next past coming")
WEEKDAY_WORDS = _w(
    "monday tuesday wednesday thursday friday saturday sunday "
    "tues tue weds wed thurs thur thu mon fri sat sun"
)
WEEKDAY_FULL_WORDS = _w("monday tuesday wednesday thursday friday saturday sunday")
DIGIT = _w("#")
#: shapes of digits a rule may need, by the pseudo-word that stands for each in a text's
#: words (read only in a text with a digit): most long messages hold a digit, few a date
SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("#year", re.compile(r"(?:19|20)\d\d")),
    ("#slash", re.compile(r"\d/\d")),
    ("#dot", re.compile(r"\d\.\d")),
    ("#ord", re.compile(r"\d(?:st|nd|rd|th)", re.IGNORECASE)),
)
YEAR = _w("#year")


_UNIT = r"(?P<u>day|night|week|weekend|month|year|decade)s?"
_REL = r"(?P<rel>this\s+past|this\s+coming|last|this|next|past|coming)"
_PART = r"(?:\s+(?:morning|afternoon|evening|night))?"
# Month names that are also common words: accepted only when capitalised
# unless a day number and a year make the date unambiguous.
_AMBIGUOUS_MONTHS = {"may", "march", "june", "august", "jan", "mar", "dec"}


def _month_ok(token: str, *, strong: bool) -> bool:
    return strong or token.lower().rstrip(".") not in _AMBIGUOUS_MONTHS or token[0].isupper()


def _pick_by_tense(
    options: list[tuple[date, date]], today: date, tense: Tense
) -> tuple[date, date]:
    """Choose among candidate ranges: past -> latest starting <= today, future ->
    earliest ending after today, else the one nearest to today."""
    if tense == "past":
        past = [o for o in options if o[0] <= today]
        if past:
            return max(past)
    if tense == "future":
        future = [o for o in options if o[1] > today]
        if future:
            return min(future)

    def distance(o: tuple[date, date]) -> int:
        if o[0] <= today < o[1]:
            return 0
        return min(abs((o[0] - today).days), abs((o[1] - timedelta(days=1) - today).days))

    return min(options, key=lambda o: (distance(o), o[0] > today))


# -- shifting by a count of units --------------------------------------------------


def shift_units(today: date, unit: str, low: int, high: int, sign: int) -> tuple[date, date]:
    """Range covering ``low..high`` units before (sign -1) or after (+1) ``today``."""
    near, far = (low, high)

    def one(n: int) -> tuple[date, date]:
        k = sign * n
        if unit in ("day", "night"):
            return cal.day_range(today + timedelta(days=k))
        if unit == "week":
            return cal.week_range(today + timedelta(days=7 * k))
        if unit == "weekend":
            return cal.weekend_of_week(today + timedelta(days=7 * k))
        if unit == "month":
            return cal.month_range(*cal.add_months(today.year, today.month, k))
        if unit == "year":
            return cal.year_range(today.year + k)
        raise ValueError(unit)

    a, b = one(near), one(far)
    return min(a[0], b[0]), max(a[1], b[1])


_HALF_DAYS = {"day": 1, "night": 1, "week": 7, "weekend": 7, "month": 30}


def _counted(m: re.Match[str], ctx: Ctx, sign: int) -> Resolved | None:
    rng = count_range(m.group("n"))
    if rng is None:
        return None
    low, high = rng
    unit = m.group("u").lower()
    tail = m.group(0).lower()
    fuzzy = low != high or m.group("approx") is not None or " or so" in tail
    if " or two" in tail:
        high = low + 1
        fuzzy = True
    if m.group("half"):
        fuzzy = True
        if unit in ("year", "decade"):
            months = low * 12 * (10 if unit == "decade" else 1) + 6
            start, end = shift_units(ctx.today, "month", months - 1, months + 1, sign)
            return Resolved(start, end, "month", True, True)
        size = _HALF_DAYS[unit]
        days = low * size + size // 2
        spread = max(1, size // 4)
        start, end = shift_units(ctx.today, "day", days - spread, days + spread, sign)
        return Resolved(start, end, "span", True, True)
    if unit == "decade":
        years = (low * 10 - 3, high * 10 + 3)
        start, end = shift_units(ctx.today, "year", years[0], years[1], sign)
        return Resolved(start, end, "decade", True, True)
    start, end = shift_units(ctx.today, unit, low, high, sign)
    gran: Granularity = "day" if unit == "night" else unit  # type: ignore[assignment]
    return Resolved(start, end, gran, True, fuzzy)


def _ago(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    return _counted(m, ctx, -1)


_UNIT_DAYS = {
    "day": 1,
    "night": 1,
    "week": 7,
    "weekend": 7,
    "month": 30,
    "year": 365,
    "decade": 3650,
}


_NOT_FUTURE_BEFORE = re.compile(
    r"(?:n't|\bnot|\bnever|\bfirst\s+time|\bonce|\btwice|"
    r"\btimes|\bbuilt|\bdone|\bfinished)\b[^.!?;]*$",
    re.IGNORECASE,
)


def _from_now(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    # "we haven't talked in a few days", "Rome wasn't built in a day": a duration
    if _NOT_FUTURE_BEFORE.search(ctx.text, max(0, m.start() - 80), m.start()):
        return None
    if m.group(0).lower().startswith("within"):  # a window: from tomorrow to N units on
        rng = count_range(m.group("n"))
        if rng is None:
            return None
        days = _UNIT_DAYS[m.group("u").lower()] * rng[1] + (15 if m.group("half") else 0)
        t = ctx.today
        return Resolved(
            t + timedelta(days=1), t + timedelta(days=days + 1), "span", True, rng[0] != rng[1]
        )
    return _counted(m, ctx, +1)


def _rolling(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    unit = m.group("u").lower()
    raw = m.group("n")
    if raw is None and unit == "day":
        return None  # "the last day (of ...)" is not a window
    rng = count_range(raw) if raw else (1, 1)
    if rng is None:
        return None
    days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit] * rng[1]
    direction = m.group("dir").lower()
    gran: Granularity = unit if raw is None else "span"  # type: ignore[assignment]
    if direction in ("past", "last", "previous"):
        return Resolved(
            ctx.today - timedelta(days=days),
            ctx.today + timedelta(days=1),
            gran,
            True,
            rng[0] != rng[1],
        )
    return Resolved(
        ctx.today + timedelta(days=1),
        ctx.today + timedelta(days=days + 1),
        gran,
        True,
        rng[0] != rng[1],
    )


# -- deictic words -----------------------------------------------------------------


def _deictic(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    words = m.group("x").lower()
    if "before yesterday" in words:
        offset = -2
    elif "after tomorrow" in words:
        offset = 2
    elif words.startswith(("yesterday", "last night", "last evening")):
        offset = -1
    elif words.startswith(("tomorrow", "tmrw", "tmr")):
        offset = 1
    else:
        offset = 0
    start, end = cal.day_range(ctx.today + timedelta(days=offset))
    return Resolved(start, end, "day", True)


def _rel_unit(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    rel = " ".join(m.group("rel").lower().split())
    unit = m.group("u").lower()
    t = ctx.today
    if unit == "week":
        if rel in ("past", "this past"):
            return Resolved(t - timedelta(days=7), t + timedelta(days=1), "week", True)
        if rel in ("coming", "this coming"):
            return Resolved(t + timedelta(days=1), t + timedelta(days=8), "week", True)
        k = {"last": -1, "this": 0, "next": 1}[rel]
        return Resolved(*cal.week_range(t + timedelta(days=7 * k)), "week", True)
    if unit == "weekend":
        if rel in ("last", "past", "this past"):
            rng = cal.weekend_of_week(t - timedelta(days=7))
        elif rel == "next":
            rng = cal.weekend_of_week(t + timedelta(days=7))
        elif rel in ("coming", "this coming"):
            rng = cal.weekend_of_week(t if t.weekday() < 5 else t + timedelta(days=7))
        else:  # "this weekend" said on a weekday in the past tense: the one just gone
            back = t.weekday() < 5 and ctx.tense(m) == "past"
            rng = cal.weekend_of_week(t - timedelta(days=7) if back else t)
        return Resolved(*rng, "weekend", True)
    k = {
        "last": -1,
        "past": -1,
        "this past": -1,
        "this": 0,
        "next": 1,
        "coming": 1,
        "this coming": 1,
    }[rel]
    if unit == "month":
        return Resolved(*cal.month_range(*cal.add_months(t.year, t.month, k)), "month", True)
    return Resolved(*cal.year_range(t.year + k), "year", True)


def _over_weekend(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    t = ctx.today
    tense = ctx.tense(m)
    if t.weekday() >= 5:
        rng = cal.weekend_of_week(t)
    elif tense == "future":
        rng = cal.weekend_of_week(t)
    else:
        rng = cal.weekend_of_week(t - timedelta(days=7))
    return Resolved(*rng, "weekend", True)


def _before_last(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    unit = m.group("u").lower()
    sign = -1 if "last" in m.group("dir").lower() else 1
    t = ctx.today
    if unit in WEEKDAY_FULL_NAMES:
        wd = weekday_number(unit)
        base = _previous_weekday(t, wd) if sign < 0 else _next_weekday(t, wd)
        return Resolved(*cal.day_range(base + timedelta(days=7 * sign)), "day", True)
    start, end = shift_units(t, unit, 2, 2, sign)
    return Resolved(start, end, unit, True)  # type: ignore[arg-type]


WEEKDAY_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _previous_weekday(t: date, wd: int) -> date:
    """Most recent ``wd`` strictly before ``t``."""
    return t - timedelta(days=(t.weekday() - wd - 1) % 7 + 1)


def _next_weekday(t: date, wd: int) -> date:
    """First ``wd`` strictly after ``t``."""
    return t + timedelta(days=(wd - t.weekday() - 1) % 7 + 1)


def _rel_weekday(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    token = m.group("wd")
    if token.islower() and token.rstrip(".") in ("sat", "sun", "wed", "mon"):
        return None
    rel = " ".join(m.group("rel").lower().split())
    wd = weekday_number(token)
    t = ctx.today
    if rel in ("last", "past", "this past"):
        d = _previous_weekday(t, wd)
    elif rel in ("next", "coming", "this coming"):
        d = _next_weekday(t, wd)
    else:  # "this Friday": the one of this week, moved by tense
        d = t + timedelta(days=wd - t.weekday())
        tense = ctx.tense(m)
        if d < t and tense != "past":
            d += timedelta(days=7)
        elif d > t and tense == "past":
            d -= timedelta(days=7)
    return Resolved(*cal.day_range(d), "day", True)


def _bare_weekday(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    if (m.group("on") or "").lower() == "every":
        return None
    wd = weekday_number(m.group("wd"))
    t = ctx.today
    options = [cal.day_range(_previous_weekday(t, wd)), cal.day_range(_next_weekday(t, wd))]
    start, end = _pick_by_tense(options, t, ctx.tense(m))
    return Resolved(start, end, "day", True)


# -- fuzzy words and parts of the current period -------------------------------------

_FUZZY: dict[str, tuple[int, int, Granularity]] = {
    # phrase: (days back for start, days back for end (exclusive), granularity)
    "recently": (30, -1, "span"),
    "lately": (30, -1, "span"),
    "the other day": (10, 0, "span"),
    "the other night": (7, 0, "span"),
    "the other week": (21, 5, "span"),
    "a while ago": (365, 14, "span"),
    "a while back": (365, 14, "span"),
    "not long ago": (60, 0, "span"),
    "these days": (90, -1, "span"),
    "nowadays": (90, -1, "span"),
}


def _fuzzy(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    phrase = " ".join(m.group("x").lower().split())
    phrase = re.sub(r"^not\s+(?:too|that|so)\s+long", "not long", phrase)
    t = ctx.today
    if phrase == "soon":
        return Resolved(t, t + timedelta(days=31), "span", True, True)
    back_start, back_end, gran = _FUZZY[phrase]
    return Resolved(t - timedelta(days=back_start), t - timedelta(days=back_end), gran, True, True)


def _earlier_later(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    unit = m.group("u").lower()
    t = ctx.today
    if unit == "week":
        start, end = cal.week_range(t)
    elif unit == "month":
        start, end = cal.month_range(t.year, t.month)
    else:
        start, end = cal.year_range(t.year)
    if m.group("w").lower() == "earlier":
        end = max(t, start + timedelta(days=1))
    else:
        start = min(t + timedelta(days=1), end - timedelta(days=1))
    return Resolved(start, end, unit, True)  # type: ignore[arg-type]


def _part_of_current(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    unit = m.group("u").lower()
    t = ctx.today
    if unit == "week":
        rng = cal.week_range(t)
    elif unit == "month":
        rng = cal.month_range(t.year, t.month)
    else:
        rng = cal.year_range(t.year)
    # the modifier pass of the resolver narrows the range to the named part
    return Resolved(*rng, unit, True)  # type: ignore[arg-type]


def _weekdays_ago(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    """"two Fridays ago": the last Friday before today, and a week back for each more."""
    rng = count_range(m.group("n"))
    if rng is None or rng[0] != rng[1] or rng[0] < 1:
        return None
    d = _previous_weekday(ctx.today, weekday_number(m.group("wd"))) - timedelta(
        days=7 * (rng[0] - 1))
    return Resolved(d, d + timedelta(days=1), "day", True)


def _week_from(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    """"a week from today", "a week tomorrow", "a week on Friday" (the coming Friday):
    that day, a week on; "it was a week today" (the past tense): a week ago."""
    t, at = ctx.today, m.group("at").lower()
    if at == "today":
        d = t + timedelta(days=-7 if ctx.tense(m) == "past" else 7)
    else:
        anchor = t + timedelta(days=1) if at == "tomorrow" else _next_weekday(
            t, weekday_number(at))
        d = anchor + timedelta(days=7)
    return Resolved(d, d + timedelta(days=1), "day", True)


def _ago_today(m: re.Match[str], ctx: Ctx) -> Resolved | None:
    """"a week ago today", "a year ago today": that very day."""
    rng = count_range(m.group("n"))
    if rng is None or rng[0] != rng[1]:
        return None
    unit, n, t = m.group("u").lower(), rng[0], ctx.today
    if unit == "week":
        d = t - timedelta(days=7 * n)
    else:
        y, mo = cal.add_months(t.year, t.month, -n * (12 if unit == "year" else 1))
        last = cal.month_range(y, mo)[1] - timedelta(days=1)
        d = date(y, mo, min(t.day, last.day))
    return Resolved(d, d + timedelta(days=1), "day", True)


RELATIVE_RULES: list[Rule] = [
    Rule(
        "weekdays_ago",
        _rx(rf"\b(?P<n>{COUNT})\s+(?P<wd>{WEEKDAY_FULL_RE})s\s+ago\b"),
        _weekdays_ago,
        needs=(_w("ago"),),
    ),
    Rule(
        "week_from",
        _rx(rf"\b(?:a|one)\s+week\s+(?:(?:from|on)\s+)?"
            rf"(?P<at>today|tomorrow|{WEEKDAY_FULL_RE})\b"),
        _week_from,
        needs=(_w("week"),),
    ),
    Rule(
        "ago_today",
        _rx(rf"\b(?P<n>{COUNT})\s+(?P<u>week|month|year)s?\s+ago\s+today\b"),
        _ago_today,
        needs=(_w("ago"), _w("today")),
    ),
    Rule(
        "deictic",
        _rx(
            r"\b(?P<x>the\s+day\s+before\s+yesterday|the\s+day\s+after\s+tomorrow|"
            r"(?:yesterday|tomorrow|today|tonight)(?:\s+(?:morning|afternoon|evening|night))?|"
            r"last\s+night|last\s+evening|this\s+(?:morning|afternoon|evening)|earlier\s+today|"
            r"later\s+today|later\s+tonight|tmrw|tmr)\b"
        ),
        _deictic,
        # every match holds one of these ("last night", "this morning", "earlier today")
        needs=(_w("yesterday tomorrow today tonight tmrw tmr night evening morning afternoon"),),
    ),
    Rule(
        "ago",
        _rx(
            rf"\b{APPROX}(?P<n>{COUNT})\s+{_UNIT}(?P<half>\s+and\s+a\s+half)?"
            r"(?:\s+or\s+(?:so|two))?\s+(?:ago|back)\b"
        ),
        _ago,
        needs=(_w("ago back"), UNITS),
    ),
    Rule(
        "from_now",
        _rx(
            rf"\b(?:in|within)\s+{APPROX}(?P<n>{COUNT})\s+{_UNIT}(?P<half>\s+and\s+a\s+half)?"
            r"(?:\s+or\s+(?:so|two))?(?:'s\s+time)?\b"
        ),
        _from_now,
        needs=(_w("in within"), UNITS),
    ),
    Rule(
        "from_now2",
        _rx(
            rf"\b{APPROX}(?P<n>{COUNT})\s+{_UNIT}(?P<half>\s+and\s+a\s+half)?"
            r"(?:\s+or\s+(?:so|two))?\s+from\s+now\b"
        ),
        _from_now,
        needs=(_w("now"), UNITS),
    ),
    Rule(
        "rolling",
        _rx(
            rf"\b(?:this|the)\s+(?P<dir>past|last|previous|next|coming|following)\s+"
            rf"(?:(?P<n>{COUNT})\s+)?(?P<u>day|week|month|year)s?\b(?!\s+(?:of|before|after)\b)"
        ),
        _rolling,
        needs=(_w("past last previous next coming following"), UNITS),
    ),
    Rule(
        "rel_unit",
        _rx(rf"\b(?P<x>{_REL}\s+(?P<u>week|weekend|month|year))\b(?!\s+(?:of|before|after)\b)"),
        _rel_unit,
        needs=(RELS, _w("week weekend month year")),
    ),
    Rule(
        "over_weekend",
        _rx(r"\b(?:over|on|at|during|for)\s+(?P<x>the\s+weekend)\b"),
        _over_weekend,
        needs=(_w("weekend"),),
    ),
    Rule(
        "before_last",
        _rx(
            rf"\bthe\s+(?P<u>week|weekend|month|year|{WEEKDAY_FULL_RE})\s+"
            r"(?P<dir>before\s+last|after\s+next)\b"
        ),
        _before_last,
        needs=(_w("last next"),),
    ),
    Rule(
        "rel_weekday",
        _rx(rf"\b(?P<x>{_REL}\s+(?P<wd>{WEEKDAY_RE}){_PART})(?!\w)"),
        _rel_weekday,
        needs=(RELS, WEEKDAY_WORDS),
    ),
    Rule(
        "bare_weekday",
        _rx(
            rf"\b(?:(?P<on>on|by|until|till|since|from|every)\s+)?"
            rf"(?P<x>(?P<wd>{WEEKDAY_FULL_RE}){_PART})\b(?!\s+(?:school|best)\b)"
        ),
        _bare_weekday,
        needs=(WEEKDAY_FULL_WORDS,),
    ),
    Rule(
        "fuzzy",
        _rx(
            r"\b(?P<x>recently|lately|the\s+other\s+(?:day|night|week)|a\s+while\s+(?:ago|back)|"
            r"not\s+(?:too\s+|that\s+|so\s+)?long\s+ago|these\s+days|nowadays|(?<!as\s)soon)\b"
            r"(?!\s+as\b|\s+after\b)"
        ),
        _fuzzy,
        needs=(_w("recently lately other while long days nowadays soon"),),
    ),
    Rule(
        "part_of_current",
        _rx(r"\b(?:end|beginning|start|middle)\s+of\s+(?P<x>the\s+(?P<u>week|month|year))\b"),
        _part_of_current,
        needs=(_w("end beginning start middle"),),
    ),
    Rule(
        "earlier_later",
        _rx(r"\b(?P<x>(?P<w>earlier|later)\s+this\s+(?P<u>week|month|year))\b"),
        _earlier_later,
        needs=(_w("earlier later"),),
    ),
]
