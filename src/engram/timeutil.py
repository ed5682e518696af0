"""Timezone-aware time helpers. Engram never stores or compares naive datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from .errors import NaiveDatetime

__all__ = ["ensure_aware", "format_dt", "now", "parse_dt", "to_epoch"]


def now() -> datetime:
    return datetime.now(UTC)


def ensure_aware(dt: datetime, what: str = "datetime") -> datetime:
    """Return ``dt`` in UTC; raise :class:`NaiveDatetime` when it has no timezone."""
    if not isinstance(dt, datetime):
        raise NaiveDatetime(f"{what} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise NaiveDatetime(
            f"{what} {dt.isoformat()} has no timezone; pass an aware datetime "
            "(e.g. 2024-05-08T13:56:00+00:00)"
        )
    try:
        return dt.astimezone(UTC)
    except OverflowError as exc:
        raise NaiveDatetime(f"{what} {dt.isoformat()} is out of range in UTC") from exc


def format_dt(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds, sortable as text."""
    if dt is None:
        return None
    return ensure_aware(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@overload
def parse_dt(value: str | datetime, what: str = ...) -> datetime: ...


@overload
def parse_dt(value: None, what: str = ...) -> None: ...


def parse_dt(value: str | datetime | None, what: str = "datetime") -> datetime | None:
    """Parse ISO 8601 text (``Z`` or offset required) into an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return ensure_aware(value, what)
    if not isinstance(value, str):
        raise NaiveDatetime(f"{what} must be an ISO 8601 string, got {type(value).__name__}")
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise NaiveDatetime(f"{what} {value!r} is not an ISO 8601 datetime") from exc
    return ensure_aware(dt, what)


@overload
def to_epoch(dt: datetime) -> float: ...


@overload
def to_epoch(dt: None) -> None: ...


def to_epoch(dt: datetime | None) -> float | None:
    return None if dt is None else ensure_aware(dt).timestamp()
