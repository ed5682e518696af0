"""Calendar arithmetic on plain dates (no timezones here; the caller attaches one).

Every range is half-open: ``(first_day, day_after_last)``. Weeks run Monday to
Sunday (ISO 8601); a weekend is the Saturday and Sunday of one ISO week.
Seasons are the meteorological ones of the northern hemisphere: spring is
March-May, summer June-August, autumn September-November and winter is
December of one year to February of the next (named by its December's year).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

__all__ = [
    "DayRange",
    "add_months",
    "day_range",
    "decade_range",
    "easter",
    "month_range",
    "nth_weekday",
    "season_range",
    "season_containing",
    "week_range",
    "weekend_of_week",
    "year_range",
]

DayRange = tuple[date, date]

SEASON_START_MONTH = {"spring": 3, "summer": 6, "autumn": 9, "winter": 12}


def day_range(d: date, days: int = 1) -> DayRange:
    return d, d + timedelta(days=days)


def week_range(d: date) -> DayRange:
    """The Monday-to-Sunday week holding ``d``."""
    monday = d - timedelta(days=d.weekday())
    return monday, monday + timedelta(days=7)


def weekend_of_week(d: date) -> DayRange:
    """Saturday and Sunday of the ISO week holding ``d``."""
    saturday = d - timedelta(days=d.weekday()) + timedelta(days=5)
    return saturday, saturday + timedelta(days=2)


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def month_range(year: int, month: int) -> DayRange:
    ny, nm = add_months(year, month, 1)
    return date(year, month, 1), date(ny, nm, 1)


def year_range(year: int, years: int = 1) -> DayRange:
    return date(year, 1, 1), date(year + years, 1, 1)


def decade_range(first_year: int) -> DayRange:
    return date(first_year, 1, 1), date(first_year + 10, 1, 1)


def season_range(season: str, year: int) -> DayRange:
    """The season of ``year``; winter ``year`` starts in December of ``year``."""
    month = SEASON_START_MONTH[season]
    start = date(year, month, 1)
    ey, em = add_months(year, month, 3)
    return start, date(ey, em, 1)


def season_containing(d: date) -> tuple[str, int]:
    """Name and year (in :func:`season_range`'s sense) of the season holding ``d``."""
    if d.month == 12:
        return "winter", d.year
    if d.month <= 2:
        return "winter", d.year - 1
    if d.month <= 5:
        return "spring", d.year
    if d.month <= 8:
        return "summer", d.year
    return "autumn", d.year


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th (1-based; -1 for the last) ``weekday`` (Monday=0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        offset = (weekday - first.weekday()) % 7
        return first + timedelta(days=offset + 7 * (n - 1))
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def easter(year: int) -> date:
    """Western (Gregorian) Easter Sunday, by the anonymous Gregorian algorithm."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)
