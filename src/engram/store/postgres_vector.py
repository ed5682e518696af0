"""pgvector search for :class:`~engram.store.postgres.PostgresStore`.

Vectors of every model share one table with an untyped ``vector`` column; each
``(model_id, dim)`` gets its own partial HNSW *expression* index::

    CREATE INDEX ... USING hnsw ((embedding::vector(384)) vector_cosine_ops)
        WITH (m = 16, ef_construction = 64)
        WHERE model_id = '<model>' AND dim = 384

A query orders by ``embedding::vector(384) <=> q`` to use that index, or by
``embedding <=> q`` (which no index serves) to search exactly.

Filtered search never loses matches to top-k-then-filter:

1. Count the rows that pass scope and filters (stopping at ``exact_limit + 1``).
   When at most ``exact_limit`` pass (a user's own memories, a selective
   filter), search them exactly through the tenant/scope B-tree indexes. Count
   and exact ranking are one statement (the count gates the ranking).
2. Otherwise ask the HNSW index for ``ef`` nearest rows of the model
   (``hnsw.ef_search = ef``; the first ``ef`` sized to the scope's share of
   the index, so about ``OVERSAMPLE * limit`` candidates are expected to pass;
   exact search right away when even ``EF_MAX`` could not hold that many),
   apply scope and filters to them, and keep the best ``limit``. When fewer
   than ``limit`` survive, multiply ``ef`` by 4 (up to pgvector's maximum
   1000) and ask again; when even that is not enough, search the passing rows
   exactly.

pgserver ships pgvector 0.6, which has no ``hnsw.iterative_scan`` (0.8); the
widening loop above plays that role on every version.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
from psycopg import Connection, Cursor, sql
from psycopg.pq import TransactionStatus

from ..models import ItemRef, Scope, SearchFilters
from .base import Candidate
from .postgres_sql import filter_sql, scope_sql

__all__ = [
    "HnswParams", "Step", "Steps", "create_index_sql", "exact_search", "fetch", "index_name",
    "queue", "run", "steps",
]

#: pgvector's upper bound for ``hnsw.ef_search``
EF_MAX = 1000
#: how long a scope found over ``exact_limit`` skips the counts (see :func:`search`)
BIG_SCOPE_SECONDS = 60.0
#: ANN candidates asked per wanted result, over the share of the index that passes
OVERSAMPLE = 4


@dataclass(frozen=True)
class HnswParams:
    """HNSW build and query parameters (pgvector defaults: 16, 64, 40)."""

    m: int = 16
    ef_construction: int = 64
    ef_search: int = 40
    #: scopes with at most this many passing rows are searched exactly
    exact_limit: int = 10_000


def index_name(model_id: str, dim: int) -> str:
    digest = hashlib.blake2b(f"{model_id}\x00{dim}".encode(), digest_size=6).hexdigest()
    return f"vectors_hnsw_{digest}"


def create_index_sql(model_id: str, dim: int, params: HnswParams) -> sql.Composed:
    return sql.SQL(
        "CREATE INDEX IF NOT EXISTS {name} ON vectors USING hnsw"
        " ((embedding::vector({dim})) vector_cosine_ops)"
        " WITH (m = {m}, ef_construction = {efc})"
        " WHERE model_id = {model} AND dim = {dim}"
    ).format(
        name=sql.Identifier(index_name(model_id, dim)),
        dim=sql.Literal(int(dim)),
        m=sql.Literal(int(params.m)),
        efc=sql.Literal(int(params.ef_construction)),
        model=sql.Literal(model_id),
    )


def _item_parts(
    scope: Scope, filters: SearchFilters, source: str, dist: str,
) -> tuple[list[str], list[Any]]:
    """One SELECT per wanted item type joining ``source`` (alias v) to its items."""
    parts: list[str] = []
    args: list[Any] = []
    for item_type, table in (("episode", "episodes"), ("memory", "memories")):
        if not filters.wants(item_type):  # type: ignore[arg-type]
            continue
        ssql, sargs = scope_sql(scope, "x")
        fsql, fargs = filter_sql(filters, "x", item_type)
        parts.append(
            f"SELECT '{item_type}' AS t, x.id AS id, {dist} AS dist FROM {source} v"
            f" JOIN {table} x ON x.tenant = v.tenant AND x.id = v.item_id"
            f" WHERE v.item_type = '{item_type}' AND {ssql} AND {fsql}"
        )
        args.extend([*sargs, *fargs])
    return parts, args


def _scoped_parts(
    scope: Scope, filters: SearchFilters, model_id: str, dim: int,
    dist: str = "NULL", dist_args: tuple[Any, ...] = (),
) -> tuple[list[str], list[Any]]:
    """One SELECT per wanted item type: the items passing scope and filters
    (through their scope B-tree indexes), each with its vector of the model
    looked up by primary key (one row per item: the model is checked after).

    The ``LATERAL ... LIMIT 1`` keeps the planner from turning the join around:
    on tables without statistics yet (a new store's first minute, before
    autovacuum analyses them) it scanned ``vectors`` and filtered every
    (vector, item) pair, 108 ms for 419 episodes instead of 0.7 ms."""
    parts: list[str] = []
    args: list[Any] = []
    for item_type, table in (("episode", "episodes"), ("memory", "memories")):
        if not filters.wants(item_type):  # type: ignore[arg-type]
            continue
        ssql, sargs = scope_sql(scope, "x")
        fsql, fargs = filter_sql(filters, "x", item_type)
        parts.append(
            f"SELECT '{item_type}' AS t, x.id AS id, {dist} AS dist FROM {table} x"
            " JOIN LATERAL (SELECT v.embedding, v.model_id, v.dim FROM vectors v"
            f" WHERE v.tenant = x.tenant AND v.item_type = '{item_type}' AND v.item_id = x.id"
            f" LIMIT 1) v ON TRUE WHERE v.model_id = %s AND v.dim = %s AND {ssql} AND {fsql}"
        )
        args.extend([*dist_args, model_id, dim, *sargs, *fargs])
    return parts, args


#: a vector search as statements: yields each :class:`Step`, is sent its rows,
#: returns the candidates (see :func:`steps`)
Steps = Generator["Step", list[dict[str, Any]], list[Candidate]]


@dataclass(frozen=True)
class Step:
    """One statement; with ``local`` settings (``"SET LOCAL ..."`` statements) it
    runs inside ``BEGIN; <local>; <statement>; COMMIT`` (Citus sends ``SET
    LOCAL`` on to the worker inside a transaction block)."""

    query: str
    args: tuple[Any, ...]
    local: tuple[str, ...] = ()


def queue(conn: Connection[Any], step: Step) -> Cursor[Any]:
    """Queue ``step`` on ``conn``, which must be in pipeline mode; its rows are
    on the returned cursor once the pipeline is synced (leaving the ``with
    conn.pipeline()`` block syncs all that was queued in one round trip; a
    ``conn.transaction()`` or a fetch inside the block would sync it again).
    Rows come in binary format (distances without a float-to-text round trip)."""
    if not step.local:
        return conn.execute(step.query, step.args, binary=True)
    conn.execute("BEGIN")
    for setting in step.local:
        conn.execute(setting)
    cur = conn.execute(step.query, step.args, binary=True)
    conn.execute("COMMIT")
    return cur


def run(conn: Connection[Any], search: Steps, rows: list[dict[str, Any]] | None = None,
        ) -> list[Candidate]:
    """Drive ``search`` to its result, one round trip per statement. ``rows``:
    the rows of the step ``search`` already yielded (the caller ran it)."""
    try:
        step = search.send(rows) if rows is not None else next(search)
        while True:
            step = search.send(fetch(conn, step))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def fetch(conn: Connection[Any], step: Step) -> list[dict[str, Any]]:
    """The rows of one step, in one round trip."""
    try:
        with conn.pipeline():
            cur = queue(conn, step)
        return cur.fetchall()
    except BaseException:
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.rollback()
        raise


def _candidates(rows: list[dict[str, Any]]) -> list[Candidate]:
    return [Candidate(ItemRef(r["t"], r["id"]), 1.0 - float(r["dist"]))
            for r in rows if r["id"] is not None]


def _exact_if_small(
    scope: Scope, q: np.ndarray, model_id: str, dim: int,
    filters: SearchFilters, limit: int, cap: int,
) -> Generator[Step, list[dict[str, Any]], list[Candidate] | None]:
    """Exact search when at most ``cap`` rows pass scope and filters, else ``None``.

    One statement: the count (stopping at ``cap + 1``) gates the ranking as a
    one-time filter, so a scope over ``cap`` costs only its capped count."""
    counted, cargs = _scoped_parts(scope, filters, model_id, dim)
    ranked, rargs = _scoped_parts(scope, filters, model_id, dim, "v.embedding <=> %s", (q,))
    if not counted:
        return []
    rows = yield Step(
        "WITH n AS (SELECT count(*) AS n FROM (" + " UNION ALL ".join(counted)
        + " LIMIT %s) s) SELECT n.n, r.t, r.id, r.dist FROM n LEFT JOIN LATERAL"
        " (SELECT * FROM (" + " UNION ALL ".join(ranked) + ") e WHERE n.n <= %s"
        " ORDER BY dist, id LIMIT %s) r ON TRUE ORDER BY r.dist, r.id",
        (*cargs, cap + 1, *rargs, cap, limit),
    )
    if int(rows[0]["n"]) > cap:
        return None
    return _candidates(rows)


def _exact(
    scope: Scope, q: np.ndarray, model_id: str, dim: int, filters: SearchFilters, limit: int,
) -> Generator[Step, list[dict[str, Any]], list[Candidate]]:
    parts, args = _scoped_parts(scope, filters, model_id, dim, "v.embedding <=> %s", (q,))
    if not parts:
        return []
    rows = yield Step(" UNION ALL ".join(parts) + " ORDER BY dist, id LIMIT %s", (*args, limit))
    return _candidates(rows)


def exact_search(
    conn: Connection[Any], scope: Scope, q: np.ndarray, model_id: str, dim: int,
    filters: SearchFilters, limit: int,
) -> list[Candidate]:
    """The best ``limit`` passing rows by exact cosine distance (no index)."""
    return run(conn, _exact(scope, q, model_id, dim, filters, limit))


def _approx(
    scope: Scope, q: np.ndarray, model_id: str, dim: int,
    filters: SearchFilters, limit: int, ef: int,
) -> Generator[Step, list[dict[str, Any]], list[Candidate] | None]:
    """ANN candidates filtered afterwards; ``None`` when fewer than ``limit`` survive."""
    typed = f"embedding::vector({int(dim)})"
    source = sql.SQL(
        "(SELECT tenant, item_type, item_id, {typed} <=> %s::vector({dim}) AS dist"
        " FROM vectors WHERE tenant = %s AND model_id = {model} AND dim = {dim}"
        " ORDER BY {typed} <=> %s::vector({dim}) LIMIT {ef})"
    ).format(
        typed=sql.SQL(typed),
        dim=sql.Literal(int(dim)),
        model=sql.Literal(model_id),
        ef=sql.Literal(int(ef)),
    ).as_string()
    parts, args = _item_parts(scope, filters, "c", "v.dist")
    if not parts:
        return []
    rows = yield Step(
        "WITH c AS MATERIALIZED " + source + " " + " UNION ALL ".join(parts)
        + " ORDER BY dist, id LIMIT %s",
        (q, scope.tenant, q, *args, limit), (f"SET LOCAL hnsw.ef_search = {int(ef)}",),
    )
    if len(rows) < limit:
        return None
    return _candidates(rows)


def _share(
    scope: Scope, filters: SearchFilters,
) -> Generator[Step, list[dict[str, Any]], float]:
    """The fraction of the model's HNSW index (every tenant's vectors of it) that
    passes scope and filters: the expected share of ANN candidates that survive.

    Counts the passing *items* (their scope indexes alone, no vector lookups):
    an item without a vector of the model only makes the share read high, the
    first ``ef`` low, and the widening then makes up for it."""
    counted: list[str] = []
    cargs: list[Any] = []
    for item_type, table in (("episode", "episodes"), ("memory", "memories")):
        if filters.wants(item_type):  # type: ignore[arg-type]
            ssql, sargs = scope_sql(scope, "x")
            fsql, fargs = filter_sql(filters, "x", item_type)
            counted.append(f"SELECT 1 FROM {table} x WHERE {ssql} AND {fsql}")
            cargs.extend([*sargs, *fargs])
    rows = yield Step(
        "SELECT (SELECT count(*) FROM (" + " UNION ALL ".join(counted) + ") s) AS passing,"
        " (SELECT reltuples FROM pg_class WHERE oid = 'vectors'::regclass) AS total",
        tuple(cargs),
    )
    passing = int(rows[0]["passing"])
    total = max(float(rows[0]["total"]), float(passing), 1.0)
    return passing / total


def steps(
    scope: Scope,
    q: np.ndarray,
    model_id: str,
    dim: int,
    filters: SearchFilters,
    limit: int,
    params: HnswParams,
    indexed: bool,
    big: dict[str, tuple[float, float]] | None = None,
) -> Steps:
    """Best ``limit`` matches by cosine similarity (see the module docstring), as
    statements (run them with :func:`run`, one round trip each): free of I/O,
    so a caller may send the first one together with statements of its own
    (``PostgresStore.search_both``).

    A scope over ``exact_limit`` is searched through HNSW with a first ``ef``
    sized to its share of the index: ``limit * OVERSAMPLE / share`` candidates
    (at least ``ef_search``), so about ``OVERSAMPLE * limit`` of them are
    expected to pass the filter; when even :data:`EF_MAX` candidates could not
    hold that many, the scope is searched exactly instead. ``big``: a memo,
    kept by the caller, of scopes found over ``exact_limit`` -> (when to look
    again, share); their searches skip the counts for
    :data:`BIG_SCOPE_SECONDS` (a scope that shrank meanwhile still gets every
    match: widening, then exact search)."""
    if indexed:
        key = repr((scope, filters, model_id, dim))
        clock = time.monotonic()
        memo = big.get(key) if big is not None else None
        if memo is None or memo[0] <= clock:
            small = yield from _exact_if_small(scope, q, model_id, dim, filters, limit,
                                               params.exact_limit)
            if small is not None:
                return small
            memo = (clock + BIG_SCOPE_SECONDS, (yield from _share(scope, filters)))
            if big is not None:
                if len(big) >= 10_000:
                    big.clear()
                big[key] = memo
        want = limit * OVERSAMPLE / max(memo[1], 1e-9)
        if want <= EF_MAX:
            ef = max(params.ef_search, limit, int(want + 0.5))
            while True:
                hits = yield from _approx(scope, q, model_id, dim, filters, limit, ef)
                if hits is not None:
                    return hits
                if ef >= EF_MAX:
                    break
                ef = min(EF_MAX, ef * 4)
    return (yield from _exact(scope, q, model_id, dim, filters, limit))

