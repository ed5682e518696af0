"""Connection plumbing of the PostgreSQL store: pool, transactions, error mapping.

Every connection is autocommit (reads see the latest committed data), uses
UTC, and knows the pgvector ``vector`` type once the extension exists. Any
psycopg or pool error leaving these helpers is a
:class:`~engram.errors.StoreError`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.types import TypeInfo
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import DiskFull, EngramError, ReadOnlyStore, StoreError
from .postgres_index import UserIndexes
from .postgres_rows import PgRows
from .postgres_sql import POSTGRES
from .postgres_streams import MARKER_SQL, StreamCache
from .postgres_vector import HnswParams
from .sql_common import SQLCommon

__all__ = ["PgBase", "pg_store_error", "register_vector"]


def register_vector(conn: Connection[Any]) -> bool:
    """Teach ``conn`` the ``vector`` type; ``False`` before the extension exists."""
    from pgvector.psycopg.vector import register_vector_info

    info = TypeInfo.fetch(conn, "vector")
    if info is None:
        return False
    register_vector_info(conn, info)
    return True


def pg_store_error(exc: Exception) -> StoreError:
    """Map a psycopg/pool error to the typed error callers act on: SQLSTATE
    class 53 "insufficient resources" disk full (53100) -> :class:`DiskFull`,
    a read-only transaction or standby (25006) -> :class:`ReadOnlyStore`,
    anything else -> :class:`StoreError`."""
    state = getattr(exc, "sqlstate", None)
    if state == "53100":
        return DiskFull(f"PostgreSQL: disk full; nothing of this call was written."
                        f" Free space on the server and retry ({exc})")
    if state == "25006":
        return ReadOnlyStore(f"PostgreSQL: the store is read-only (a read-only transaction"
                             f" or a standby); reads still work ({exc})")
    return StoreError(f"PostgreSQL error: {exc}")


#: the decoder's scanner (C where available; typeshed does not declare it)
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _json_loads(data: bytes | str) -> Any:
    """``json.loads`` for psycopg's json/jsonb loaders: empty lists and objects
    without the parser, other texts straight through the C scanner (without
    ``json.loads``' encoding sniffing and whitespace handling: PostgreSQL sends
    UTF-8 and ``jsonb`` text has no outer whitespace; anything the scanner does
    not consume whole goes to ``json.loads``). A search decodes ~100 of them."""
    if data == b"[]" or data == b"{}":
        return [] if data == b"[]" else {}
    text = data.decode() if isinstance(data, bytes) else data
    try:
        value, end = _SCAN(text, 0)
    except (StopIteration, ValueError):
        end = -1
    return value if end == len(text) else json.loads(text)


def _configure(conn: Connection[Any]) -> None:
    conn.execute("SET TIME ZONE 'UTC'")
    set_json_loads(_json_loads, conn)
    register_vector(conn)


class PgBase(SQLCommon):
    """Pool and transaction helpers shared by the store's method groups."""

    url: str
    backend = "postgresql"
    _dialect = POSTGRES

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 4,
        pool_timeout: float = 30.0,
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        ef_search: int = 40,
        exact_limit: int = 10_000,
        auto_index: bool = True,
    ) -> None:
        self.url = url
        self.hnsw = HnswParams(hnsw_m, hnsw_ef_construction, ef_search, exact_limit)
        self.auto_index = auto_index
        self._lock = threading.Lock()
        self._closed = False
        #: (model_id, dim) -> whether its HNSW index is known to exist
        self._spaces: dict[tuple[str, int], bool] = {}
        #: (model_id, dim) -> vectors this process may write before it looks again
        #: whether the model has outgrown exact search (``PostgresStore.write``)
        self._index_check: dict[tuple[str, int], int] = {}
        #: model_id -> (monotonic time read, {dim: indexed}) for searches
        self._space_cache: dict[str, tuple[float, dict[int, bool]]] = {}
        #: scopes found over ``exact_limit`` (``postgres_vector.search``)
        self._big_scopes: dict[str, tuple[float, float]] = {}
        #: users' episode streams for neighbours (``postgres_streams``)
        self._streams = StreamCache()
        #: decoded rows of searches' heads, current with the users' feeds
        #: (``postgres_rows``)
        self._rows = PgRows()
        #: whether the database has Citus (``PostgresStore._on_citus``)
        self._citus: bool | None = None
        try:
            self._pool: ConnectionPool[Any] = ConnectionPool(
                url,
                min_size=1,
                max_size=max(1, pool_size),
                timeout=pool_timeout,
                kwargs={"autocommit": True, "row_factory": dict_row},
                configure=_configure,
                open=False,
            )
            self._pool.open(wait=True, timeout=pool_timeout)
        except (psycopg.Error, PoolTimeout) as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
        #: users' in-process search indexes (``postgres_index``), reading the
        #: tenants' deletion markers from the snapshot of this opening on
        self._index = UserIndexes(str(self._q(MARKER_SQL)[0]["snap"]), self._tenant_gone,
                                  self._rows.changed)

    def _tenant_gone(self, tenant: str) -> None:
        """Rows of ``tenant`` were deleted (here or in another process): drop the
        other per-user copies of the tenant this process keeps (episode streams,
        the memo of large scopes, keyed by user ids)."""
        self._streams.drop_tenant(tenant)
        self._big_scopes.clear()

    def _users_gone(self, tenant: str, users: set[str]) -> None:
        """This process deleted rows of ``users`` of ``tenant``: drop its copies of
        them now (other processes drop theirs at their next search of the tenant,
        :mod:`.postgres_index`)."""
        self._index.drop_users(tenant, users)
        self._rows.clear()
        self._streams.drop_tenant(tenant)
        self._big_scopes.clear()

    @contextmanager
    def _conn(self) -> Iterator[Connection[Any]]:
        if self._closed:
            raise StoreError("store is closed")
        try:
            with self._pool.connection() as conn:
                if conn.adapters.types.get("vector") is None:
                    register_vector(conn)
                yield conn
        except EngramError:
            raise
        except (psycopg.Error, PoolTimeout) as exc:
            raise pg_store_error(exc) from exc

    @contextmanager
    def _tx(self) -> Iterator[Connection[Any]]:
        """One transaction: committed on normal exit, rolled back on any exception."""
        with self._conn() as conn, conn.transaction():
            yield conn

    def _q(self, query: Any, args: Sequence[Any] = (), *, binary: bool = False,
           ) -> list[dict[str, Any]]:
        """The rows of one statement. ``binary``: results in PostgreSQL's binary
        format, for statements whose every column has a binary loader (a
        ``vector`` sent as text costs the server a float-to-text conversion of
        every element and the client its parse: ~8x the time for 50 vectors)."""
        with self._conn() as conn:
            return conn.execute(query, args, binary=binary).fetchall()

    def close(self) -> None:
        """Close the pool. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._pool.close()
                self._streams.clear()
                self._index.clear()
                self._rows.clear()
