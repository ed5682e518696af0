"""SQL dialect, write parameters and row helpers of the PostgreSQL store modules.

The SQL shared with SQLite lives in :mod:`engram.store.sql_common`;
:data:`POSTGRES` says how PostgreSQL spells it (``%s`` placeholders,
``timestamptz`` and ``jsonb`` columns, ``= ANY(%s)`` lists, ``SKIP LOCKED``
claims). Rows come from psycopg's ``dict_row``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from ..models import Episode, Memory, MemoryVersion, Scope, SearchFilters
from ..timeutil import ensure_aware, format_dt, parse_dt
from . import sql_common
from .sql_common import EP_COLS, MEM_COLS, prefixed
from .sql_dialect import Dialect

__all__ = [
    "EP_COLS",
    "MEM_COLS",
    "POSTGRES",
    "TEXT_CONFIG",
    "as_array",
    "episode_from_row",
    "filter_sql",
    "memory_from_row",
    "prefixed",
    "scope_sql",
    "version_from_row",
]


#: the full-text configuration of every ``tsvector`` and ``tsquery`` the store makes
TEXT_CONFIG = "english"


def _utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC (:func:`ensure_aware`); a datetime already in UTC as it is
    (what psycopg returns for every ``timestamptz`` on a UTC session)."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is UTC):
        return value
    return ensure_aware(value)


_TIME_COLS = {"occurred": "occurred_at", "event": "event_at", "created": "created_at",
              "expired": "expired_at", "recorded": "recorded_at", "run_after": "run_after",
              "lease_until": "lease_until"}


class _Postgres(Dialect):
    name = "postgresql"
    mark = "%s"
    true = "TRUE"
    row_lock = " FOR UPDATE"
    claim_lock = " FOR UPDATE SKIP LOCKED"
    job_key = "(tenant, id)"  # keyed on the distribution column (migration 0005)

    def col(self, name: str) -> str:
        return _TIME_COLS[name]

    def ts(self, dt: datetime | None) -> Any:
        return _utc(dt)

    def stamp(self, dt: datetime | None) -> Any:
        return _utc(dt)

    def load_stamp(self, value: Any) -> datetime | None:
        return _utc(value)

    def json(self, value: Any) -> Any:
        return Jsonb(value)

    def load_json(self, value: Any) -> Any:
        return value  # psycopg loads jsonb

    def in_list(self, expr: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{expr} = ANY(%s)", [list(values)]

    def metadata_eq(self, alias: str, key: str, value: Any) -> tuple[str, list[Any]]:
        if value is None:
            return (f"({alias}.metadata -> %s IS NULL OR {alias}.metadata -> %s = 'null'::jsonb)",
                    [key, key])
        return f"{alias}.metadata -> %s = %s", [key, Jsonb(value)]

    def byte_length(self, expr: str) -> str:
        return f"octet_length({expr})"

    def cursor_value(self, value: Any) -> str:
        return str(format_dt(value))

    def parse_cursor_value(self, text: str) -> Any:
        parsed = parse_dt(text)
        if parsed is None:
            raise ValueError(text)
        return parsed


#: the PostgreSQL spelling of :mod:`engram.store.sql_common`
POSTGRES = _Postgres()


def scope_sql(scope: Scope | None, alias: str = "x") -> tuple[str, list[Any]]:
    return sql_common.scope_sql(POSTGRES, scope, alias)


def filter_sql(filters: SearchFilters, alias: str, item_type: str) -> tuple[str, list[Any]]:
    return sql_common.filter_sql(POSTGRES, filters, alias, item_type)


def episode_from_row(r: dict[str, Any]) -> Episode:
    return sql_common.episode_from_row(POSTGRES, r)


def memory_from_row(r: dict[str, Any]) -> Memory:
    return sql_common.memory_from_row(POSTGRES, r)


def version_from_row(r: dict[str, Any]) -> MemoryVersion:
    return sql_common.version_from_row(POSTGRES, r)


def as_array(value: Any) -> np.ndarray:
    """A float32 array from what pgvector's loader returns (``Vector`` or array)."""
    to_numpy = getattr(value, "to_numpy", None)
    arr = to_numpy() if to_numpy is not None else value
    return np.asarray(arr, dtype=np.float32).copy()
