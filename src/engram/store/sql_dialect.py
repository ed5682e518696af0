"""What differs between the SQL backends, in one place: placeholders, time and
JSON columns, list membership, metadata equality, byte length, row locking.

The shared SQL of :mod:`engram.store.sql_common` (scope and filter fragments,
keyset pagination, history, the job state machine, row conversion) is written
once against a :class:`Dialect`; each backend module defines its instance
(``sqlite_rows.SQLITE``, ``postgres_sql.POSTGRES``). Every fragment is a
``(sql, params)`` pair: user values never reach the SQL text.

Time columns: SQLite keeps an ISO text column (``created_at``) for reading and
an epoch ``REAL`` twin (``created_ts``) for ordering and filtering; PostgreSQL
has one ``timestamptz`` column for both. :meth:`Dialect.col` names the column
to compare, :meth:`Dialect.ts` makes its parameter, :meth:`Dialect.stamp` the
parameter of a readable ``*_at`` column.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = ["TIME_COLUMNS", "Dialect"]

#: logical time columns (compared and ordered on) of the shared tables
TIME_COLUMNS = ("occurred", "event", "created", "expired", "recorded", "run_after",
                "lease_until")


class Dialect(ABC):
    """One SQL backend's spelling of the shared queries."""

    #: short name (``"sqlite"``, ``"postgresql"``)
    name: str
    #: the parameter placeholder
    mark: str
    #: an always-true condition
    true: str
    #: appended to a ``SELECT`` that reads a row to change it in the same
    #: transaction (``""``: the write transaction already excludes other writers)
    row_lock: str = ""
    #: the same for claiming one of many rows (others skip a claimed one)
    claim_lock: str = ""
    #: the ``ON CONFLICT`` target of a job insert: the jobs table's primary key
    job_key: str = "(id)"

    def marks(self, n: int) -> str:
        """``n`` comma-separated placeholders."""
        return ",".join([self.mark] * n)

    @abstractmethod
    def col(self, name: str) -> str:
        """The column to compare and order on for logical time column ``name``
        (one of :data:`TIME_COLUMNS`)."""

    @abstractmethod
    def ts(self, dt: datetime | None) -> Any:
        """The parameter compared with a :meth:`col` column (``None`` stays ``None``)."""

    @abstractmethod
    def stamp(self, dt: datetime | None) -> Any:
        """The parameter stored in a readable ``*_at`` column."""

    @abstractmethod
    def load_stamp(self, value: Any) -> datetime | None:
        """A ``*_at`` column's value as an aware datetime (``None`` stays ``None``)."""

    @abstractmethod
    def json(self, value: Any) -> Any:
        """The parameter stored in a JSON column."""

    @abstractmethod
    def load_json(self, value: Any) -> Any:
        """A JSON column's value as Python data (``None`` stays ``None``)."""

    @abstractmethod
    def in_list(self, expr: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``expr`` is one of ``values`` (an empty list matches nothing)."""

    @abstractmethod
    def metadata_eq(self, alias: str, key: str, value: Any) -> tuple[str, list[Any]]:
        """Top-level metadata key ``key`` of ``alias`` equals ``value`` (JSON
        equality; ``None`` also matches a missing key)."""

    @abstractmethod
    def byte_length(self, expr: str) -> str:
        """SQL for the UTF-8 byte length of text ``expr``."""

    @abstractmethod
    def cursor_value(self, value: Any) -> str:
        """A :meth:`col` column's value as cursor text."""

    @abstractmethod
    def parse_cursor_value(self, text: str) -> Any:
        """The inverse of :meth:`cursor_value`; raises ``ValueError`` for bad text."""
