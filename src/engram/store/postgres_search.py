"""The read side of :class:`~engram.store.postgres.PostgresStore` that ranks:
lexical, vector and combined search, episode neighbours, stored vectors and a
user's centroid (see that module's docstring for how each is met).

A user's scope is ranked in this process (:mod:`.postgres_index`, kept current
by the change feed); other scopes, Citus and users over ``exact_limit`` take
the SQL path (``ts_rank_cd`` full-text search, pgvector through
:mod:`.postgres_vector`), which is written here too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from psycopg.pq import TransactionStatus

from ..errors import ModelMismatch
from ..index.partition import PartitionIndex
from ..index.rows import RowFilter
from ..models import ItemRef, Scope, SearchFilters
from ..text import query_terms
from .base import Candidate, Neighbour
from .postgres_admin import PgAdmin
from .postgres_sql import TEXT_CONFIG, as_array, filter_sql, scope_sql
from .postgres_streams import MARKER_SQL, load_sql
from .postgres_vector import Step, fetch, queue, run
from .postgres_vector import steps as vector_steps

__all__ = ["PgSearch"]

#: seconds a search trusts its cached "this model has no HNSW index yet"
_SPACES_TTL = 10.0
_T = TypeVar("_T")


class PgSearch(PgAdmin):
    """Search and neighbours of the PostgreSQL store (mixed into
    :class:`~engram.store.postgres.PostgresStore`)."""

    # -- neighbours --------------------------------------------------------------
    def episode_neighbours(
        self, scope: Scope, ids: Sequence[str], radius: int
    ) -> dict[str, list[Neighbour]]:
        if radius <= 0 or not ids:
            return {}
        if scope.user_id is not None and not self._streams.big(scope) and not self._on_citus():
            hint = self._streams.take_hint(scope)
            streamed = None if hint is None else self._streams.neighbours(scope, hint, ids, radius)
            if streamed is None:
                streamed = self._stream_neighbours(scope, ids, radius)
            if streamed is not None:
                return streamed
        where, args = scope_sql(scope, "t")
        nwhere, nargs = scope_sql(scope, "e")
        same = (
            f"{nwhere} AND e.user_id IS NOT DISTINCT FROM t.user_id"
            " AND e.agent_id IS NOT DISTINCT FROM t.agent_id"
            " AND e.session_id IS NOT DISTINCT FROM t.session_id"
        )
        # LEFT JOIN: a target with no neighbours still comes back (n.id NULL), so
        # every id found maps to a list, in one statement. Index scans only: on
        # a scope's B-tree (tenant, user/agent, occurred_at, rid) each side stops
        # after ``radius`` rows of the session; the planner, guessing the three
        # IS NOT DISTINCT FROM filters leave one row, chose a bitmap or
        # sequential scan of every older row and a sort per target instead
        # (13-19 ms against 1.3 ms for 48 targets among 419 episodes)
        step = Step(
            "SELECT t.id AS target, n.id, n.off FROM episodes t LEFT JOIN LATERAL ("
            f" (SELECT e.id, -ROW_NUMBER() OVER (ORDER BY e.occurred_at DESC, e.rid DESC) AS off"
            f"  FROM episodes e WHERE {same} AND (e.occurred_at, e.rid) < (t.occurred_at, t.rid)"
            "  ORDER BY e.occurred_at DESC, e.rid DESC LIMIT %s)"
            " UNION ALL"
            f" (SELECT e.id, ROW_NUMBER() OVER (ORDER BY e.occurred_at, e.rid) AS off"
            f"  FROM episodes e WHERE {same} AND (e.occurred_at, e.rid) > (t.occurred_at, t.rid)"
            "  ORDER BY e.occurred_at, e.rid LIMIT %s)"
            f") n ON TRUE WHERE {where} AND t.id = ANY(%s) ORDER BY t.id, n.off",
            (*nargs, radius, *nargs, radius, *args, list(dict.fromkeys(ids))),
            ("SET LOCAL enable_seqscan = off", "SET LOCAL enable_bitmapscan = off"),
        )
        with self._conn() as conn:
            rows = fetch(conn, step)
        out: dict[str, list[Neighbour]] = {}
        for r in rows:
            found = out.setdefault(r["target"], [])
            if r["id"] is not None:
                found.append(Neighbour(r["id"], int(r["off"])))
        return out

    def _stream_neighbours(
        self, scope: Scope, ids: Sequence[str], radius: int
    ) -> dict[str, list[Neighbour]] | None:
        """:meth:`episode_neighbours` of a user's scope from the user's streams in
        this process (:mod:`.postgres_streams`), checked against the change marker
        and read again when it moved, in one statement; ``None`` for a user over
        ``MAX_EPISODES`` episodes (or a copy replaced meanwhile by another thread)."""
        held = self._streams.marker(scope)
        rows = self._q(*load_sql(scope.tenant, str(scope.user_id), held), binary=True)
        marker: str | None = str(rows[0]["snap"])
        if marker != held:
            marker = self._streams.store(scope, rows)
        return None if marker is None else self._streams.neighbours(scope, marker, ids, radius)

    def _on_citus(self) -> bool:
        """Whether the database has the Citus extension (looked up once)."""
        if self._citus is None:
            self._citus = bool(self._q(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') AS c"
            )[0]["c"])
        return self._citus

    # -- search ----------------------------------------------------------------
    def lexical_search(
        self, scope: Scope, query: str, filters: SearchFilters, limit: int,
        max_postings: int | None = None,
    ) -> list[Candidate]:
        """BM25 in the user's in-process index when it can hold the user
        (:mod:`.postgres_index`), else ``ts_rank_cd`` in SQL."""
        self._streams.drop_hint()
        self._rows.drop_hint()
        if not query_terms(query) or limit <= 0:
            return []
        if scope.user_id is not None and not self._on_citus():
            model_id = self._index.models.get((scope.tenant, scope.user_id))
            if model_id is None:
                model_id = self.get_meta("embedding_model")
            if model_id is not None:
                found = self._ranked(
                    scope, model_id, filters,
                    lambda part, f: part.lexical_search(query, limit, f, max_postings))
                if found is not None:
                    return _candidates(found[0])
        sql = _lexical_sql(scope, query, filters, limit)
        return [] if sql is None else _lexical_hits(self._q(*sql))

    def _ranked(
        self, scope: Scope, model_id: str, filters: SearchFilters,
        rank: Callable[[PartitionIndex, RowFilter], _T],
    ) -> tuple[_T, str] | None:
        """``rank`` run on the user's index of ``model_id`` brought up to date
        in one round trip, with the snapshot it reflects; ``None`` where the
        SQL path answers (no user, Citus, a user without vectors of the model
        or with more than ``exact_limit`` rows of it)."""
        if scope.user_id is None or self._on_citus():
            return None
        allowed: frozenset[ItemRef] | None = None
        if filters.metadata:
            allowed = frozenset(self._metadata_matches(scope, filters))
        f = RowFilter.of(scope, filters, allowed)
        found = self._index.use(
            scope, model_id, self.hnsw.exact_limit,
            lambda query, args: self._q(query, args, binary=True),
            lambda part: rank(part, f))
        if found is not None:
            self._rows.set_hint(scope)  # the user's held rows are current (postgres_rows)
        return found

    def _metadata_matches(self, scope: Scope, filters: SearchFilters) -> list[ItemRef]:
        """The items of ``scope`` passing ``filters`` (a metadata filter's set)."""
        refs: list[ItemRef] = []
        for item_type, table in (("episode", "episodes"), ("memory", "memories")):
            if filters.wants(item_type):  # type: ignore[arg-type]
                ssql, sargs = scope_sql(scope, "x")
                fsql, fargs = filter_sql(filters, "x", item_type)
                rows = self._q(f"SELECT x.id FROM {table} x WHERE {ssql} AND {fsql}",
                               (*sargs, *fargs))
                refs.extend(ItemRef(item_type, r["id"]) for r in rows)  # type: ignore[arg-type]
        return refs

    def search_both(
        self,
        scope: Scope,
        query: str,
        vector: np.ndarray,
        model_id: str,
        filters: SearchFilters,
        limit: int,
    ) -> tuple[list[Candidate], list[Candidate]]:
        """The lexical statement is pipelined with the vector search's first one:
        one round trip where :meth:`vector_search` alone takes one. When this
        process holds the user's episode streams, the change marker travels along
        too, so that the neighbours asked next need no round trip
        (:mod:`.postgres_streams`)."""
        self._streams.drop_hint()
        self._rows.drop_hint()
        if limit <= 0:
            return [], []
        qv = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)

        def both(part: PartitionIndex, f: RowFilter) -> tuple[list[Candidate], list[Candidate]]:
            _check_dim(qv, part)
            lex = part.lexical_search(query, limit, f) if query_terms(query) else []
            return _candidates(lex), _candidates(part.search(qv, limit, f))

        found = self._ranked(scope, model_id, filters, both)
        if found is not None:
            if self._streams.marker(scope) == found[1]:
                self._streams.set_hint(scope, found[1])  # the neighbours need no round trip
            return found[0]
        lexical = _lexical_sql(scope, query, filters, limit)
        q = self._query_vector(vector, model_id)
        if lexical is None or q is None:
            return super().search_both(scope, query, vector, model_id, filters, limit)
        search = vector_steps(scope, q[0], model_id, q[0].size, filters, limit, self.hnsw, q[1],
                              self._big_scopes)
        try:
            step = next(search)
        except StopIteration as done:  # nothing to ask (no item type wanted)
            return self.lexical_search(scope, query, filters, limit), done.value
        with self._conn() as conn:
            try:
                held = self._streams.marker(scope) if scope.user_id is not None else None
                # the tenant's deletion markers ride along (postgres_index): a
                # process whose searches take this path learns of forgets too
                markers = None if self._on_citus() else self._index.markers_sql(scope.tenant)
                with conn.pipeline():  # leaving it syncs both: one round trip
                    lex = conn.execute(*lexical)
                    first = queue(conn, step)
                    mark = conn.execute(MARKER_SQL) if held is not None else None
                    gone = None if markers is None else conn.execute(*markers, binary=True)
                rows = first.fetchall()
                if gone is not None:
                    self._index.note_markers(scope.tenant, gone.fetchall()[0])
                if mark is not None and held is not None and (
                        str(mark.fetchall()[0]["snap"]) == held):
                    self._streams.set_hint(scope, held)
            except BaseException:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.rollback()
                raise
            return _lexical_hits(lex.fetchall()), run(conn, search, rows)

    def vector_search(
        self,
        scope: Scope,
        vector: np.ndarray,
        model_id: str,
        filters: SearchFilters,
        limit: int,
    ) -> list[Candidate]:
        self._streams.drop_hint()
        self._rows.drop_hint()
        if limit <= 0:
            return []
        qv = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)

        def dense(part: PartitionIndex, f: RowFilter) -> list[Candidate]:
            _check_dim(qv, part)
            return _candidates(part.search(qv, limit, f))

        ranked = self._ranked(scope, model_id, filters, dense)
        if ranked is not None:
            return ranked[0]
        found = self._query_vector(vector, model_id)
        if found is None:
            return []
        q, indexed = found
        with self._conn() as conn:
            return run(conn, vector_steps(scope, q, model_id, q.size, filters, limit, self.hnsw,
                                          indexed, self._big_scopes))

    def scope_centroid(self, scope: Scope, model_id: str) -> np.ndarray | None:
        """See the base class: the user's in-process index (brought up to date, one
        round trip) gives :meth:`PartitionIndex.episode_centroid`; ``None`` where the
        SQL path answers (no user, Citus, over ``exact_limit`` rows): not centred."""
        if scope.user_id is None or self._on_citus():
            return None
        found = self._index.use(
            scope, model_id, self.hnsw.exact_limit,
            lambda query, args: self._q(query, args, binary=True),
            lambda part: part.episode_centroid())
        return None if found is None else found[0]

    def _query_vector(self, vector: np.ndarray, model_id: str) -> tuple[np.ndarray, bool] | None:
        """The query as float32 and whether its space has an HNSW index; ``None``
        when the store holds no vector of ``model_id``. Raises
        :class:`ModelMismatch` for a dimension the model does not have here."""
        q = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        spaces = self._model_spaces(model_id, q.size)
        if not spaces:
            return None
        if q.size not in spaces:
            raise ModelMismatch(
                f"query vector has dimension {q.size} but the store holds"
                f" {sorted(spaces)} for {model_id}"
            )
        return q, spaces[q.size]

    def _model_spaces(self, model_id: str, dim: int) -> dict[int, bool]:
        """``{dim: has its HNSW index}`` of a model, from ``vector_spaces``.

        Cached per process (a search then costs no lookup): read again when the
        model or ``dim`` is unknown here, and when ``dim`` had no index at the
        last look more than :data:`_SPACES_TTL` seconds ago (another process
        may have built it; until then searches are exact, which is correct)."""
        cached = self._space_cache.get(model_id)
        clock = time.monotonic()
        if cached is not None and (cached[1].get(dim) or (
                dim in cached[1] and clock - cached[0] < _SPACES_TTL)):
            return cached[1]
        rows = self._q(
            "SELECT dim, index_name FROM vector_spaces WHERE model_id = %s", (model_id,)
        )
        spaces = {int(r["dim"]): r["index_name"] is not None for r in rows}
        self._space_cache[model_id] = (clock, spaces)
        return spaces

    def vectors_by_hash(
        self, model_id: str, hashes: Sequence[str], *, tenant: str | None = None
    ) -> dict[str, np.ndarray]:
        if not hashes:
            return {}
        wanted = list(dict.fromkeys(hashes))
        if tenant is None:
            rows = self._q(
                "SELECT DISTINCT ON (content_hash) content_hash, embedding FROM vectors"
                " WHERE model_id = %s AND content_hash = ANY(%s)", (model_id, wanted), binary=True)
        else:  # one shard on Citus; one probe of vectors_tenant_hash per hash (with
            # ``content_hash = ANY(...)`` the planner, on a table not analysed yet,
            # scanned every vector of the tenant and filtered: 0.5 ms for 10 of 1,485)
            rows = self._q(
                "SELECT h.content_hash, v.embedding FROM unnest(%s::text[]) h(content_hash)"
                " JOIN LATERAL (SELECT embedding FROM vectors WHERE tenant = %s"
                " AND model_id = %s AND content_hash = h.content_hash LIMIT 1) v ON TRUE",
                (wanted, tenant, model_id), binary=True)
        return {r["content_hash"]: as_array(r["embedding"]) for r in rows}


def _lexical_sql(
    scope: Scope, query: str, filters: SearchFilters, limit: int
) -> tuple[str, list[Any]] | None:
    """The full-text statement of :meth:`PgSearch.lexical_search`; ``None``
    when nothing can match (no terms, nothing wanted, ``limit <= 0``)."""
    terms = query_terms(query)
    if not terms or limit <= 0:
        return None
    # OR of the terms, each parsed by plainto_tsquery: no tsquery syntax
    # from user text ever reaches the parser
    tsq = " || ".join(["plainto_tsquery(%s::regconfig, %s)"] * len(terms))
    args: list[Any] = []
    for t in terms:
        args.extend([TEXT_CONFIG, t])
    parts: list[str] = []
    for item_type, table in (("episode", "episodes"), ("memory", "memories")):
        if not filters.wants(item_type):  # type: ignore[arg-type]
            continue
        ssql, sargs = scope_sql(scope)
        fsql, fargs = filter_sql(filters, "x", item_type)
        parts.append(
            f"SELECT '{item_type}' AS t, x.id AS id, ts_rank_cd(x.tsv, q.q, 1) AS s"
            f" FROM {table} x, q WHERE x.tsv @@ q.q AND {ssql} AND {fsql}"
        )
        args.extend([*sargs, *fargs])
    if not parts:
        return None
    return (f"WITH q AS (SELECT ({tsq}) AS q) " + " UNION ALL ".join(parts)
            + " ORDER BY s DESC, id LIMIT %s", [*args, limit])


def _candidates(hits: list[tuple[ItemRef, float]]) -> list[Candidate]:
    return [Candidate(ref, score) for ref, score in hits]


def _check_dim(q: np.ndarray, part: PartitionIndex) -> None:
    if q.size != part.dim:
        raise ModelMismatch(
            f"query vector has dimension {q.size} but the store holds {part.dim}")


def _lexical_hits(rows: list[dict[str, Any]]) -> list[Candidate]:
    return [Candidate(ItemRef(r["t"], r["id"]), float(r["s"])) for r in rows]
