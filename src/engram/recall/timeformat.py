"""Render a date range as the phrases people search with, for lexical indexing.

Day ranges give ``2023-05-07 7 May 2023 May 2023``; weeks and weekends give
their days' phrases (weekend) or ``week of 2023-05-01`` plus the month(s);
months ``May 2023``; seasons ``summer 2023``; years ``2023``; decades ``1990s``.
"""

from __future__ import annotations

from datetime import date, timedelta

from . import _calendar as cal

__all__ = ["date_labels", "day_label", "day_labels", "month_label"]

_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def day_label(d: date) -> str:
    """``7 May 2023`` (the day without a leading zero)."""
    return f"{d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"


def month_label(year: int, month: int) -> str:
    """``May 2023``."""
    return f"{_MONTH_NAMES[month - 1]} {year}"


def day_labels(d: date) -> list[str]:
    """``["2023-05-07", "7 May 2023", "May 2023"]``: the phrases of one day.

    Defined for every date, 9999-12-31 included (no day after it is computed)."""
    return [d.isoformat(), day_label(d), month_label(d.year, d.month)]


def _months(start: date, end: date) -> list[str]:
    out = []
    y, m = start.year, start.month
    # compared as (year, month, 1) tuples: date(10000, 1, 1) does not exist
    while (y, m, 1) < (end.year, end.month, end.day):
        out.append(month_label(y, m))
        y, m = cal.add_months(y, m, 1)
    return out


def _years(start: date, end: date) -> list[str]:
    last = (end - timedelta(days=1)).year
    return [str(y) for y in range(start.year, last + 1)]


def date_labels(start: date, end: date, granularity: str, *, fuzzy: bool = False) -> list[str]:
    """Phrases for the half-open day range ``[start, end)`` at ``granularity``.

    Fuzzy or multi-unit ranges fall back to the coarsest phrase that still
    says something: their months when they touch at most three (two when
    fuzzy), else their year(s) when they touch at most three (one when fuzzy),
    else nothing.
    """
    days = (end - start).days
    if days <= 0:
        return []
    if not fuzzy:
        if granularity == "day" and days == 1:
            return day_labels(start)
        if granularity == "weekend" and days == 2:
            return [
                start.isoformat(),
                day_label(start),
                day_label(start + timedelta(days=1)),
                *_months(start, end),
            ]
        if granularity == "week" and days <= 8:
            return [f"week of {start.isoformat()}", *_months(start, end)]
        if granularity == "season":
            season, year = cal.season_containing(start)
            return [f"{season} {year}", *_months(start, end)]
        if granularity == "decade" and days > 3000:
            return [f"{start.year}s"]
    months = _months(start, end)
    if len(months) <= (2 if fuzzy else 3) and (granularity != "year" or days < 32):
        return months
    years = _years(start, end)
    return years if len(years) <= (1 if fuzzy else 3) else []
