"""Search side of the SQLite store: in-memory partitions (vectors + BM25), FTS5 fallback.

Partitions are loaded on first use and brought up to date before every search
from the change log (:mod:`~engram.store.sqlite_changes`), which every write
by any process appends to in its own transaction.

A large partition survives a restart: it is saved beside the database
(:mod:`~engram.store.sqlite_index_files`) by :meth:`SQLiteSearch.warm`, after
its graph is first built, and by ``close`` when it changed; a new process
loads that file and applies the changes logged since, instead of rebuilding.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from ..errors import StoreError
from ..index.partition import PartitionIndex
from ..index.rows import INF, STATUS_CODES, TYPE_EPISODE, TYPE_MEMORY, RowAttrs, RowFilter
from ..models import (
    ItemRef,
    Scope,
    SearchFilters,
)
from ..text import clear_text_caches, query_terms
from .base import Candidate
from .sqlite_base import SQLiteBase, log
from .sqlite_changes import Changes, read_changes
from .sqlite_index_files import IndexFiles
from .sqlite_rows import (
    PartitionKey,
    _partition_of,
    _scope_sql,
    _scope_tags,
)
from .sqlite_streams import EPISODE_STREAM_COLS, EpisodeStreams
from .sqlite_views import CARD_LAYOUT, EP_CARD_COLS, MEM_CARD_COLS, episode_card, memory_card

#: more changed items than this since the last search: reload instead of catching up
_MAX_CATCH_UP = 20_000

_EP_SELECT = (
    "e.rid, e.tenant, e.id, e.user_id, e.agent_id, e.session_id, e.occurred_ts, e.created_ts,"
    " e.text AS own_text, v.model_id, v.vector, v.dim, v.content_hash, f.body, "
    + EP_CARD_COLS
)
_MEM_SELECT = (
    "x.rid, x.tenant, x.id, x.user_id, x.agent_id, x.session_id, x.kind, x.status, x.event_ts,"
    " x.created_ts, x.expired_ts, x.text AS own_text, v.model_id, v.vector, v.dim,"
    " v.content_hash, f.body, " + MEM_CARD_COLS
)


def _upsert_episode(part: PartitionIndex, r: sqlite3.Row) -> None:
    part.upsert(
        ItemRef("episode", r["id"]),
        np.frombuffer(r["vector"], dtype=np.float32),
        RowAttrs(TYPE_EPISODE, "episode", 0, r["agent_id"], r["session_id"],
                 r["occurred_ts"], r["created_ts"], INF),
        r["body"] or "",
        key=r["rid"] * 2,
        vector_hash=r["content_hash"],
        own_text=r["own_text"] if r["body"] else None,  # a sealed text is not indexed
        card=episode_card(r) if r["body"] else None,
    )


def _upsert_memory(part: PartitionIndex, r: sqlite3.Row) -> None:
    part.upsert(
        ItemRef("memory", r["id"]),
        np.frombuffer(r["vector"], dtype=np.float32),
        RowAttrs(TYPE_MEMORY, r["kind"], STATUS_CODES[r["status"]], r["agent_id"],
                 r["session_id"], r["event_ts"], r["created_ts"],
                 INF if r["expired_ts"] is None else r["expired_ts"]),
        r["body"] or "",
        key=r["rid"] * 2 + 1,
        vector_hash=r["content_hash"],
        own_text=r["own_text"] if r["body"] else None,  # a sealed text is not indexed
        card=memory_card(r) if r["body"] else None,
    )


_K = TypeVar("_K")
_V = TypeVar("_V")


def _lru(cache: OrderedDict[_K, _V], key: _K, load: Callable[[], _V], limit: int,
         keep: Callable[[_V], bool] = lambda _: True) -> _V:
    """``cache[key]`` (now the most recently used), else ``load()``, kept when ``keep``
    says so (the least recently used leave past ``limit``)."""
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
        return found
    value = load()
    if keep(value):
        cache[key] = value
        while len(cache) > limit:
            cache.popitem(last=False)
    return value


#: makes a :class:`Candidate` from a partition's ``(ref, score)`` pair without the
#: named tuple's keyword layer (a search makes some 300 here)
_new = tuple.__new__


class SQLiteSearch(SQLiteBase):
    """Search methods; see :class:`~engram.store.sqlite.SQLiteStore`."""

    #: the change-log sequence number the loaded partitions reflect (``None``: not read yet)
    _applied_seq: int | None = None
    #: :meth:`_commit_marker` just before the read that gave :attr:`_applied_seq`
    #: (``None``: that read was inside a transaction, or none finished since)
    _caught_at: tuple[int, int] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: the persisted partition indexes of this database
        self.index_files = IndexFiles(self.path)
        #: partition -> its :attr:`PartitionIndex.version` when last saved or loaded
        #: from a file (-1: a save was tried and failed)
        self._saved: dict[PartitionKey, int] = {}
        #: large partitions this process rebuilt from the tables and has not yet saved:
        #: the search that rebuilt one saves it, so a process that never closes the
        #: store (killed, or stopped without ``close()``) does not leave every later
        #: start to rebuild it again
        self._rebuilt: set[PartitionKey] = set()
        #: per thread, inside :meth:`reading`: ``PRAGMA data_version`` as the block
        #: found it (``version``; ``None`` until its first catch-up)
        self._block = threading.local()

    def lexical_search(
        self, scope: Scope, query: str, filters: SearchFilters, limit: int,
        max_postings: int | None = None,
    ) -> list[Candidate]:
        terms = query_terms(query)
        if not terms or limit <= 0:
            return []
        model_id = self.get_meta("embedding_model")
        if model_id is not None:
            with self._lock:
                part = self._partition(_partition_of(scope, model_id))
                if len(part):
                    f = self._row_filter(scope, filters)
                    if f is None:
                        return []
                    hits = part.lexical_search(query, limit, f, max_postings)
                    self._key_hints = part.result_keys
                    return [_new(Candidate, h) for h in hits]
        return self._fts_search(scope, terms, filters, limit)

    def _fts_search(
        self, scope: Scope, terms: list[str], filters: SearchFilters, limit: int
    ) -> list[Candidate]:
        """Lexical search straight on FTS5 (items not loaded in a partition)."""
        tags = [f'"{t}"' for t in _scope_tags(scope)]
        wants_ep = filters.wants("episode")
        wants_mem = filters.wants("memory")
        if not (wants_ep or wants_mem):
            return []
        if not wants_ep:
            tags.append('"memory"')
        elif not wants_mem:
            tags.append('"episode"')
        body = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        match = f"tags:({' AND '.join(tags)}) AND body:({body})"
        # Scope and item type are inside the MATCH (tag tokens); the remaining
        # filters are checked on the rows. Widen the FTS window until ``limit``
        # rows pass or every match was seen: no top-k-then-filter losses.
        window = max(limit * 2, 50)
        while True:
            rows = self._q(
                "SELECT rowid, bm25(fts, 1.0, 0.0) AS s FROM fts WHERE fts MATCH ?"
                " ORDER BY s, rowid LIMIT ?",
                (match, window),
            )
            passing = self._lexical_filter(scope, filters, rows)
            if len(passing) >= limit or len(rows) < window:
                return passing[:limit]
            window *= 4

    def _lexical_filter(
        self, scope: Scope, filters: SearchFilters, rows: list[sqlite3.Row]
    ) -> list[Candidate]:
        if not rows:
            return []
        ep_rids = [r[0] // 2 for r in rows if r[0] % 2 == 0]
        mem_rids = [(r[0] - 1) // 2 for r in rows if r[0] % 2 == 1]
        ok: dict[int, str] = {}
        for rids, table, item_type, parity in (
            (ep_rids, "episodes", "episode", 0),
            (mem_rids, "memories", "memory", 1),
        ):
            if not rids or not filters.wants(item_type):  # type: ignore[arg-type]
                continue
            ssql, sargs = _scope_sql(scope, "x")
            fsql, fargs = self._filter_sql(filters, "x", item_type)
            for i in range(0, len(rids), 500):
                chunk = rids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for r in self._q(
                    f"SELECT x.rid, x.id FROM {table} x WHERE x.rid IN ({marks})"
                    f" AND {ssql} AND {fsql}",
                    (*chunk, *sargs, *fargs),
                ):
                    ok[r[0] * 2 + parity] = r[1]
        out: list[Candidate] = []
        for r in rows:
            item_id = ok.get(r[0])
            if item_id is not None:
                item_type = "episode" if r[0] % 2 == 0 else "memory"
                out.append(Candidate(ItemRef(item_type, item_id), -float(r[1])))  # type: ignore[arg-type]
        return out

    def _load_partition(self, key: PartitionKey) -> PartitionIndex:
        """The partition from its index file brought up to the log, else from the tables."""
        try:
            found = self.index_files.load(self._conn, key)
            if found is not None:
                part, seq = found
                changes = read_changes(self._conn, seq)
                if changes.items is not None:
                    self._apply_changes(changes.items, {key: part})
                    part.drop_cards(_row_only(changes))
                    self._saved[key] = part.version
                    if part.card_layout != CARD_LAYOUT:  # saved before: once
                        self._fill_cards(key, part)
                    return part
        except sqlite3.Error as exc:
            raise StoreError(f"loading the index of a partition failed: {exc}") from exc
        self._saved.pop(key, None)
        part = self._load_tables(key)
        if self.index_files.worth_saving(part):
            self._rebuilt.add(key)
        return part

    def _save(self, key: PartitionKey, part: PartitionIndex) -> None:
        """Persist ``part`` if it is large and changed since its last save (changes
        logged by others included); best effort: a read-only store or a full disk
        only costs the next start a rebuild."""
        self._rebuilt.discard(key)  # tried: a rebuilt partition is not tried again
        try:
            if not self.index_files.worth_saving(part) or (
                self._saved.get(key) == part.version
                and read_changes(self._conn, self._applied_seq).head == self._applied_seq
            ):
                return
            with self._tx("saving a partition index") as conn:
                self._catch_up()  # inside the write lock: no write commits meanwhile
                if (self._partitions.get(key) is not part or self._saved.get(key) == part.version
                        or not self.index_files.worth_saving(part)):
                    return
                assert self._applied_seq is not None
                if self.index_files.save(conn, key, part, self._applied_seq):
                    self._saved[key] = part.version
                else:  # in-memory or encrypted store: not again on every search
                    self._saved.setdefault(key, -1)
        except (StoreError, OSError, sqlite3.Error) as exc:
            self._saved.setdefault(key, -1)  # not again on every search
            log.info("partition index not saved: %s", exc)

    def close(self) -> None:
        """Save the large partitions that changed, then close (see the base class)."""
        with self._lock:
            if not self._closed:
                for key, part in list(self._partitions.items()):
                    part.settle()  # a graph rebuilt in the background is saved now
                    self._save(key, part)
        super().close()

    def _fill_cards(self, key: PartitionKey, part: PartitionIndex) -> None:
        """Give the rows of ``part`` (loaded from a file saved before partitions
        kept cards) their cards, read from the tables; the next save keeps them."""
        tenant, kind, owner, _ = key
        col = "user_id" if kind == "u" else "agent_id"
        part.card_layout = CARD_LAYOUT
        cards: dict[int, bytes | None] = {}
        for table, alias, add, cols, card in (
                ("episodes", "e", 0, EP_CARD_COLS, episode_card),
                ("memories", "x", 1, "x.kind, x.status, " + MEM_CARD_COLS, memory_card)):
            for r in self._q(
                    f"SELECT {alias}.rid, {alias}.tenant, {alias}.user_id, {alias}.agent_id,"
                    f" {alias}.session_id, {alias}.text AS own_text, f.body, {cols}"
                    f" FROM {table} {alias} LEFT JOIN fts f ON f.rowid = {alias}.rid * 2 + {add}"
                    f" WHERE {alias}.tenant = ? AND {alias}.{col} = ?", (tenant, owner)):
                cards[r["rid"] * 2 + add] = card(r) if r["body"] else None
        part.set_cards(cards)

    def _drop_cards(self, keys: list[int]) -> None:
        """Blank the cards of these store keys in every loaded partition."""
        if keys:
            for part in self._partitions.values():
                part.drop_cards(keys)

    def _cards(self, scope: Scope, refs: list[ItemRef]) -> dict[ItemRef, bytes]:
        """The cards the loaded partitions of ``scope``'s user (any model, the most
        recently used first) keep for ``refs``, current with the change log as of
        the caller's catch-up."""
        if scope.user_id is None or not refs:
            return {}
        owner = (scope.tenant, "u", scope.user_id)
        out: dict[ItemRef, bytes] = {}
        with self._lock:
            # an episode's key from the user's loaded session order, where it is
            # loaded: finds the card of a turn no search returned (a neighbour)
            streams = self._streams.get((scope.tenant, scope.user_id))
            rid = streams.rid if streams is not None else None
            for key in reversed(self._partitions):
                if key[:3] != owner:
                    continue
                wanted = [r for r in refs if r not in out]
                keys = None if rid is None else [
                    None if r.type != "episode" or (k := rid(r.id)) is None else k * 2
                    for r in wanted]
                for ref, card in zip(wanted, self._partitions[key].cards(wanted, keys),
                                     strict=True):
                    if card is not None:
                        out[ref] = card
                if len(out) == len(refs):
                    break
        return out

    def _load_tables(self, key: PartitionKey) -> PartitionIndex:
        # CROSS JOIN fixes the join order: the owner's rows by their (tenant, owner)
        # index, then each one's vector by key. Left to itself the planner may
        # drive from the vectors of the model (every owner's), which made loading
        # one small user cost a scan of the whole store
        tenant, kind, owner, model_id = key
        col = "user_id" if kind == "u" else "agent_id"
        rows_e = self._q(
            f"SELECT {_EP_SELECT} FROM episodes e"
            " CROSS JOIN vectors v ON v.item_type = 'episode' AND v.item_rid = e.rid"
            " LEFT JOIN fts f ON f.rowid = e.rid * 2"
            f" WHERE e.tenant = ? AND e.{col} = ? AND v.model_id = ? ORDER BY e.rid",
            (tenant, owner, model_id),
        )
        rows_m = self._q(
            f"SELECT {_MEM_SELECT} FROM memories x CROSS JOIN vectors v"
            " ON v.item_type = 'memory' AND v.item_rid = x.rid"
            " LEFT JOIN fts f ON f.rowid = x.rid * 2 + 1"
            f" WHERE x.tenant = ? AND x.{col} = ? AND v.model_id = ? ORDER BY x.rid",
            (tenant, owner, model_id),
        )
        dim = (rows_e or rows_m)[0]["dim"] if (rows_e or rows_m) else 0
        part = PartitionIndex(dim)
        part.card_layout = CARD_LAYOUT
        for r in rows_e:
            _upsert_episode(part, r)
        for r in rows_m:
            _upsert_memory(part, r)
        part.compact()
        return part

    def _commit_marker(self) -> tuple[int, int]:
        """``PRAGMA data_version`` (moves when another connection, of any process,
        commits) and this connection's ``total_changes`` (rows it inserted,
        updated or deleted, trigger rows included, committed or not): equal
        markers mean nobody added a row to the change log in between."""
        conn = self._conn
        block = self._block
        if getattr(block, "open", False):  # inside :meth:`reading`: read once a block
            version = block.version
            if version is None:
                version = block.version = int(
                    conn.execute("PRAGMA data_version").fetchone()[0])
            return version, conn.total_changes
        return int(conn.execute("PRAGMA data_version").fetchone()[0]), conn.total_changes

    @contextmanager
    def reading(self) -> Iterator[None]:
        """See the base class: inside, :meth:`_commit_marker` reads ``PRAGMA
        data_version`` once (at the block's first catch-up), not at each read. This
        connection's own writes still count (``total_changes`` is read every time),
        and inside a transaction the log is read every time, as outside a block."""
        block = self._block
        if getattr(block, "open", False):  # nested: the outer block holds
            yield
            return
        block.open, block.version = True, None
        try:
            yield
        finally:
            block.open, block.version = False, None

    def _catch_up(self) -> None:
        """Bring the loaded partitions up to the change log's head (see
        :mod:`~engram.store.sqlite_changes`): every write committed so far, by
        any process or connection, is in them afterwards.

        Outside a transaction, when :meth:`_commit_marker` is what it was just
        before the last read, nothing was committed since and the log is not
        read again (one statement instead of a read transaction of three: a
        search catches up several times). Inside a transaction the log is read
        every time and no marker is kept (the transaction may still roll back)."""
        with self._lock:
            self._check_open()
            try:
                marker = None if self._conn.in_transaction else self._commit_marker()
                if marker is not None and marker == self._caught_at:
                    return
                self._caught_at = None
                changes = read_changes(self._conn, self._applied_seq)
                if changes.head == self._applied_seq:
                    self._caught_at = marker
                    return
                if changes.items is None or len(changes.items) > _MAX_CATCH_UP:
                    self._partitions.clear()  # too far behind: reload lazily
                    self._streams.clear()
                    self._rows.clear()
                    gone = True  # unknown: as if rows were deleted
                elif not changes.items:  # only columns the index does not hold
                    self._rows.drop(changes.rows or [])
                    self._drop_cards(_row_only(changes))
                    gone = False
                else:
                    self._rows.drop(changes.rows or [])
                    self._drop_cards(_row_only(changes))
                    # a changed item without a row tells of a delete; with no
                    # partition (or, for memories, none and only streams) loaded
                    # to tell by: as if one were gone
                    gone = not self._partitions and (
                        not self._streams or any(k % 2 for k in changes.items))
                    if self._partitions:
                        gone |= self._apply_changes(changes.items)
                    if self._streams:
                        gone |= self._apply_stream_changes(changes.items)
                if gone:
                    # another process (or connection) deleted or forgot rows: this
                    # process's memos of texts and words may hold theirs
                    clear_text_caches()
            except sqlite3.Error as exc:
                raise StoreError(f"reading the change log failed: {exc}") from exc
            self._applied_seq = changes.head
            self._caught_at = marker

    def _apply_changes(
        self, items: list[int], parts: Mapping[PartitionKey, PartitionIndex] | None = None
    ) -> bool:
        """Upsert the current row of each changed item into the loaded partitions
        (or ``parts``) it belongs to and remove it from the others (gone rows
        leave them all); whether any item had no row (deleted, or without a
        vector: counted as gone)."""
        parts = self._partitions if parts is None else parts
        deleted: set[PartitionKey] = set()
        ep = [k // 2 for k in items if k % 2 == 0]
        mem = [k // 2 for k in items if k % 2 == 1]
        rows: dict[int, sqlite3.Row] = {}
        for rids, select, table, alias, add in (
            (ep, _EP_SELECT, "episodes", "e", 0),
            (mem, _MEM_SELECT, "memories", "x", 1),
        ):
            item_type = "episode" if add == 0 else "memory"
            for i in range(0, len(rids), 500):
                chunk = rids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for r in self._conn.execute(
                    f"SELECT {select} FROM {table} {alias} JOIN vectors v"
                    f" ON v.item_type = '{item_type}' AND v.item_rid = {alias}.rid"
                    f" LEFT JOIN fts f ON f.rowid = {alias}.rid * 2 + {add}"
                    f" WHERE {alias}.rid IN ({marks})",
                    chunk,
                ):
                    rows[r["rid"] * 2 + add] = r
        for k in items:
            r = rows.get(k)
            home: set[PartitionKey] = set()
            if r is not None:
                for key in (
                    (r["tenant"], "u", r["user_id"], r["model_id"]),
                    (r["tenant"], "a", r["agent_id"], r["model_id"]),
                ):
                    part = parts.get(key)
                    if part is not None and part.dim == r["dim"]:
                        (_upsert_episode if k % 2 == 0 else _upsert_memory)(part, r)
                        home.add(key)
            for key, part in parts.items():
                if key not in home and part.ref_of(k) is not None:
                    part.remove_key(k)
                    if r is None:
                        deleted.add(key)
        for key in deleted:  # no term, id or name of a deleted row stays in memory
            parts[key].forget_removed()
            if not parts[key] and parts is self._partitions:  # nor the owner's id
                del self._partitions[key]
                self._saved.pop(key, None)
                self._rebuilt.discard(key)
        return len(rows) < len(set(items))

    def _apply_stream_changes(self, items: list[int]) -> bool:
        """Bring the loaded episode streams up to the current rows of the changed
        episodes among ``items`` (store keys; gone rows leave them); whether any
        of those episodes had no row."""
        rids = [k // 2 for k in items if k % 2 == 0]
        if not rids:
            return False
        rows: list[sqlite3.Row] = []
        for i in range(0, len(rids), 500):
            chunk = rids[i : i + 500]
            rows += self._conn.execute(
                f"SELECT {EPISODE_STREAM_COLS} FROM episodes"
                f" WHERE rid IN ({','.join('?' * len(chunk))})", chunk,
            ).fetchall()
        for key, streams in list(self._streams.items()):
            streams.apply(rids, rows)
            if not streams:  # the user's episodes are gone: so is the user's id
                del self._streams[key]
        return len(rows) < len(set(rids))

    def _episode_streams(self, tenant: str, user_id: str) -> EpisodeStreams:
        """The session order of ``user_id``'s episodes, current with the change log."""
        def load() -> EpisodeStreams:
            try:
                return EpisodeStreams.load(self._conn, tenant, user_id)
            except sqlite3.Error as exc:
                raise StoreError(f"reading the episode order failed: {exc}") from exc

        with self._lock:
            self._catch_up()
            return _lru(self._streams, (tenant, user_id), load, self._max_partitions)

    def _partition(self, key: PartitionKey) -> PartitionIndex:
        with self._lock:
            self._catch_up()
            # an empty one is not kept, so the first vectors load it properly
            return _lru(self._partitions, key, lambda: self._load_partition(key),
                        self._max_partitions, keep=lambda part: part.dim != 0)

    def warm(self, scope: Scope, model_id: str) -> None:
        """Load (and index) the partition of ``scope`` ahead of the first search,
        and persist it when large (a restart loads it instead of rebuilding); a
        user's episode order too (:meth:`episode_neighbours`)."""
        key = _partition_of(scope, model_id)
        with self._lock:
            part = self._partition(key)
            part.warm()
            self._save(key, part)
            if scope.user_id is not None:
                self._episode_streams(scope.tenant, scope.user_id)

    def vector_search(
        self,
        scope: Scope,
        vector: np.ndarray,
        model_id: str,
        filters: SearchFilters,
        limit: int,
    ) -> list[Candidate]:
        if limit <= 0:
            return []
        f = self._row_filter(scope, filters)
        if f is None:
            return []
        with self._lock:
            key = _partition_of(scope, model_id)
            part = self._partition(key)
            if len(part) == 0:
                return []
            q = np.ascontiguousarray(vector, dtype=np.float32)
            if q.shape != (part.dim,):
                from ..errors import ModelMismatch

                raise ModelMismatch(
                    f"query vector has dimension {q.shape} but the store holds {part.dim}"
                )
            hits = part.search(q, limit, f)
            self._key_hints = part.result_keys
            if key in self._rebuilt or (part.has_graph and key not in self._saved):
                # rebuilt from the tables, or the graph was just built: keep it for
                # the next start
                self._save(key, part)
        return [_new(Candidate, h) for h in hits]

    def _row_filter(self, scope: Scope, filters: SearchFilters) -> RowFilter | None:
        """The in-memory filter for ``filters``; ``None`` when nothing can match."""
        allowed: frozenset[ItemRef] | None = None
        if filters.metadata:
            allowed = frozenset(self._metadata_matches(scope, filters))
            if not allowed:
                return None
        return RowFilter.of(scope, filters, allowed)

    def _metadata_matches(self, scope: Scope, filters: SearchFilters) -> list[ItemRef]:
        refs: list[ItemRef] = []
        for item_type, table in (("episode", "episodes"), ("memory", "memories")):
            if not filters.wants(item_type):  # type: ignore[arg-type]
                continue
            ssql, sargs = _scope_sql(scope, "x")
            fsql, fargs = self._filter_sql(filters, "x", item_type)
            rows = self._q(f"SELECT x.id FROM {table} x WHERE {ssql} AND {fsql}", (*sargs, *fargs))
            refs.extend(ItemRef(item_type, r[0]) for r in rows)  # type: ignore[arg-type]
        return refs

    def stored_vectors(
        self, scope: Scope, model_id: str, refs: Sequence[ItemRef], hashes: Sequence[str],
        *, tenant: str | None = None,
    ) -> dict[str, np.ndarray]:
        """See the base class: the loaded partition of ``scope`` answers for rows it
        holds with the same vector hash (no SQL), the vectors table for the rest."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            part = self._partitions.get(_partition_of(scope, model_id))
            if part is not None:
                for ref, hsh in zip(refs, hashes, strict=True):
                    vec = part.stored_vector(ref, hsh)
                    if vec is not None:
                        found[hsh] = vec
        rest = [h for h in hashes if h not in found]
        if rest:
            found.update(self.vectors_by_hash(model_id, rest, tenant=tenant))
        return found

    def scope_centroid(self, scope: Scope, model_id: str) -> np.ndarray | None:
        """See the base class: the loaded partition's
        :meth:`~engram.index.partition.PartitionIndex.episode_centroid` (brought up
        to date with the change log first, so another process's deletes count)."""
        with self._lock:
            part = self._partition(_partition_of(scope, model_id))
            return part.episode_centroid() if len(part) else None

    def kept_terms(
        self, scope: Scope, model_id: str, ref: ItemRef, text: str
    ) -> frozenset[str] | None:
        """See the base class: the term set the loaded partition of ``scope`` kept
        for this very text (:meth:`PartitionIndex.own_terms`)."""
        with self._lock:
            part = self._partitions.get(_partition_of(scope, model_id))
            return None if part is None else part.own_terms(ref, text)

    def vectors_by_hash(
        self, model_id: str, hashes: Sequence[str], *, tenant: str | None = None
    ) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        hashes = list(dict.fromkeys(hashes))
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._q(
                f"SELECT content_hash, vector FROM vectors WHERE model_id = ?"
                f" AND content_hash IN ({marks}) AND (? IS NULL OR tenant = ?)",
                (model_id, *chunk, tenant, tenant),
            )
            for r in rows:
                found[r[0]] = np.frombuffer(r[1], dtype=np.float32).copy()
        return found

    # -- maintenance -------------------------------------------------------------


def _row_only(changes: Changes) -> list[int]:
    """The items whose rows changed only in columns the index does not hold."""
    if not changes.rows:
        return []
    indexed = set(changes.items or ())
    return [k for k in changes.rows if k not in indexed]
