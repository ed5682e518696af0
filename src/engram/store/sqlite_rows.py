"""Row conversion, SQL helpers and the SQL dialect of the SQLite store modules.

The SQL shared with PostgreSQL lives in :mod:`engram.store.sql_common`;
:data:`SQLITE` says how SQLite spells it (``?`` placeholders, ISO text plus
epoch ``*_ts`` twins for times, JSON as compact text read with ``json_extract``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..errors import StoreError
from ..models import (
    Episode,
    Memory,
    Scope,
)
from ..text import scope_token, text_cache
from ..timeutil import format_dt, parse_dt, to_epoch
from .sql_common import (
    EP_COLS,
    MEM_COLS,
    episode_from_row,
    memory_from_row,
    prefixed,
    row_scope,
    scope_sql,
)
from .sql_dialect import Dialect

PartitionKey = tuple[str, str, str, str]  # tenant, "u"|"a", id, model_id

def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


_TIME_COLS = {"occurred": "occurred_ts", "event": "event_ts", "created": "created_ts",
              "expired": "expired_ts", "recorded": "recorded_ts", "run_after": "run_after_ts",
              "lease_until": "lease_until_ts"}


#: stored stamps repeat (a write batch's ``created_at``; a memory's created, updated and
#: valid-from stamps; the hits of one search after another): each is parsed once.
#: Datetimes are immutable, so rows share them; emptied with the text memos.
@text_cache(8192)
def _stamp(value: str) -> datetime:
    return parse_dt(value)


class _SQLite(Dialect):
    name = "sqlite"
    mark = "?"
    true = "1"

    def col(self, name: str) -> str:
        return _TIME_COLS[name]

    def ts(self, dt: datetime | None) -> Any:
        return to_epoch(dt)

    def stamp(self, dt: datetime | None) -> Any:
        return format_dt(dt)

    def load_stamp(self, value: Any) -> datetime | None:
        return _stamp(value) if value else None

    def json(self, value: Any) -> Any:
        return _dumps(value)

    def load_json(self, value: Any) -> Any:
        return None if value is None else json.loads(value)

    def in_list(self, expr: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        if not values:
            return "0", []
        return f"{expr} IN ({self.marks(len(values))})", list(values)

    def metadata_eq(self, alias: str, key: str, value: Any) -> tuple[str, list[Any]]:
        if isinstance(value, (dict, list)):  # compare JSON text, keys sorted both sides
            return f"json_extract({alias}.metadata, ?) = json(?)", [f'$."{key}"', _dumps(value)]
        return f"json_extract({alias}.metadata, ?) IS ?", [f'$."{key}"', value]

    def byte_length(self, expr: str) -> str:
        return f"length(CAST({expr} AS BLOB))"

    def cursor_value(self, value: Any) -> str:
        return str(value)

    def parse_cursor_value(self, text: str) -> Any:
        return float(text)


#: the SQLite spelling of :mod:`engram.store.sql_common`
SQLITE = _SQLite()

# names the SQLite modules use for the shared helpers
_EP_COLS = EP_COLS
_MEM_COLS = MEM_COLS
_prefixed = prefixed
_row_scope = row_scope


def _episode(r: sqlite3.Row) -> Episode:
    return episode_from_row(SQLITE, r)


def _memory(r: sqlite3.Row) -> Memory:
    return memory_from_row(SQLITE, r)


def _scope_sql(scope: Scope, alias: str) -> tuple[str, list[Any]]:
    return scope_sql(SQLITE, scope, alias)


def _scope_tags(scope: Scope) -> list[str]:
    tags = [scope_token("t", scope.tenant)]
    if scope.user_id is not None:
        tags.append(scope_token("u", scope.user_id))
    if scope.agent_id is not None:
        tags.append(scope_token("a", scope.agent_id))
    if scope.session_id is not None:
        tags.append(scope_token("s", scope.session_id))
    return tags


def _memory_event_ts(m: Memory) -> float:
    return to_epoch(m.valid_from or m.created_at)


def _partition_of(scope: Scope, model_id: str) -> PartitionKey:
    if scope.user_id is not None:
        return (scope.tenant, "u", scope.user_id, model_id)
    if scope.agent_id is not None:
        return (scope.tenant, "a", scope.agent_id, model_id)
    raise StoreError("a scope needs a user_id or agent_id")
