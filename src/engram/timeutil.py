"""Timezone-aware time helpers. Engram never stores or compares naive datetimes.

Supported range: every instant that exists in UTC, from ``0001-01-01T00:00:00Z``
(:data:`MIN_TIME`) to ``9999-12-31T23:59:59.999999Z`` (:data:`MAX_TIME`), on every
backend. A datetime whose UTC instant falls outside it (``0001-01-01T00:00:00+05:00``
is 31 December of year 0 in UTC) raises :class:`~engram.errors.DateOutOfRange` at
the input boundary, so nothing that cannot be read back is ever stored.

Stored text is :func:`format_dt`: a four-digit, zero-padded year, so it sorts as
text and :func:`parse_dt` reads it back for years 1..999 too. Arithmetic near the
ends of the range goes through :func:`shift`, which clamps instead of overflowing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import overload

from .errors import DateOutOfRange, NaiveDatetime

__all__ = [
    "MAX_TIME",
    "MIN_TIME",
    "ensure_aware",
    "format_day",
    "format_dt",
    "format_minute",
    "now",
    "parse_dt",
    "shift",
    "to_epoch",
]

#: the first and last instants Engram stores (aware, UTC)
MIN_TIME = datetime.min.replace(tzinfo=UTC)
MAX_TIME = datetime.max.replace(tzinfo=UTC)

_RANGE = "0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z"
#: ISO text naming year 0, a signed year or a year of five or more digits
_YEAR_OUT_OF_RANGE = re.compile(r"^(?:[+-]\d|\d{5,}|0000)(?:\d*)-")
#: what this module wrote for years 1..999 before the year was zero-padded
#: (``strftime("%Y")`` does not pad on glibc): read back so old rows stay readable
#: exactly what :func:`format_dt` writes (year 0001..9999): parsed without the checks
_CANONICAL = re.compile(r"(?!0000)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
_LEGACY_UNPADDED = re.compile(r"^(\d{1,3})(-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)$")


def now() -> datetime:
    return datetime.now(UTC)


def ensure_aware(dt: datetime, what: str = "datetime") -> datetime:
    """Return ``dt`` in UTC.

    Raises :class:`NaiveDatetime` when ``dt`` is not a datetime or has no timezone,
    and :class:`DateOutOfRange` when its UTC instant is before :data:`MIN_TIME` or
    after :data:`MAX_TIME`.
    """
    if not isinstance(dt, datetime):
        raise NaiveDatetime(f"{what} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise NaiveDatetime(
            f"{what} {dt.isoformat()} has no timezone; pass an aware datetime "
            "(e.g. 2024-05-08T13:56:00+00:00)"
        )
    try:
        return dt.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise DateOutOfRange(
            f"{what} {dt.isoformat()} is outside the supported range {_RANGE} in UTC"
        ) from exc


def format_dt(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds and a four-digit year, sortable as text.

    ``0099-03-12T00:00:00.000000Z``: the year is zero-padded explicitly
    (``strftime("%Y")`` is not, on glibc)."""
    if dt is None:
        return None
    u = ensure_aware(dt)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"
    )


def format_day(dt: datetime) -> str:
    """``0099-03-12``: the day of ``dt`` in its own timezone, year zero-padded.

    For text meant to be read (context blocks, prompts, tables); ``f"{dt:%Y}"``
    would write ``99``."""
    return dt.date().isoformat()


def format_minute(dt: datetime) -> str:
    """``0099-03-12 08:30``: :func:`format_day` plus the time to the minute."""
    return f"{dt.date().isoformat()} {dt.hour:02d}:{dt.minute:02d}"


@overload
def parse_dt(value: str | datetime, what: str = ...) -> datetime: ...


@overload
def parse_dt(value: None, what: str = ...) -> None: ...


def parse_dt(value: str | datetime | None, what: str = "datetime") -> datetime | None:
    """Parse ISO 8601 text (``Z`` or offset required) into an aware UTC datetime.

    ``None`` and ``""`` give ``None``. Text with year 0, a signed year or a year
    past 9999, and text whose UTC instant is out of range raise
    :class:`DateOutOfRange`; other unparseable text raises :class:`NaiveDatetime`.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return ensure_aware(value, what)
    if not isinstance(value, str):
        raise NaiveDatetime(f"{what} must be an ISO 8601 string, got {type(value).__name__}")
    if _CANONICAL.fullmatch(value):  # what format_dt writes: the common case, fast
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # e.g. month 13: the checks below name the error
    text = value.strip()
    legacy = _LEGACY_UNPADDED.match(text)
    if legacy:
        text = legacy.group(1).zfill(4) + legacy.group(2)
    if _YEAR_OUT_OF_RANGE.match(text):
        raise DateOutOfRange(f"{what} {value!r} is outside the supported range {_RANGE}")
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise NaiveDatetime(f"{what} {value!r} is not an ISO 8601 datetime") from exc
    return ensure_aware(dt, what)


def shift(dt: datetime, delta: timedelta) -> datetime:
    """``dt + delta``, clamped to the representable range instead of overflowing.

    The result keeps ``dt``'s timezone; at the ends of the calendar it is
    ``datetime.min``/``datetime.max`` in that timezone."""
    try:
        return dt + delta
    except OverflowError:
        edge = datetime.max if delta > timedelta(0) else datetime.min
        return edge.replace(tzinfo=dt.tzinfo)


@overload
def to_epoch(dt: datetime) -> float: ...


@overload
def to_epoch(dt: None) -> None: ...


def to_epoch(dt: datetime | None) -> float | None:
    """Seconds since 1970-01-01T00:00Z (negative before); exact to ~30 microseconds at
    year 9999, defined over the whole supported range."""
    return None if dt is None else ensure_aware(dt).timestamp()
