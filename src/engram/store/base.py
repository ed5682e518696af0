"""The storage contract every backend implements (SQLite, PostgreSQL, in-memory).

A backend is a :class:`Store` subclass in its own module(s) under
``engram/store/``, one entry in :mod:`engram.store.registry` (its URL scheme)
and one factory in ``tests/stores.py`` (the contract suite then runs it). The
SQL backends share their SQL through :mod:`engram.store.sql_common` and differ
only in a :class:`~engram.store.sql_dialect.Dialect`; :mod:`engram.store.memory`
is the plain reference implementation.

Rules every backend follows, checked by ``tests/test_store_contract.py`` (and the
other suites parametrized over ``tests/stores.py``):

* **Scope.** Every read takes a :class:`~engram.models.Scope` and returns only
  items whose tenant equals the scope's tenant and whose ``user_id`` /
  ``agent_id`` / ``session_id`` equal each one the scope names. An id that
  exists in another scope is treated exactly like an id that does not exist.
* **Atomic writes.** :meth:`Store.write` applies a whole :class:`WriteBatch`
  in one transaction or nothing of it; once it returns, the write is durable.
* **Append-only history.** Versions are only ever inserted; only
  :meth:`Store.forget` removes them.
* **Vectors** carry the id of the model that made them; searches name the
  model and never compare vectors of another model.
* **Scores**: higher is better for every search method.
* Backend errors are raised as :class:`~engram.errors.StoreError`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

import numpy as np

from ..models import (
    Episode,
    ItemRef,
    Memory,
    MemoryVersion,
    Page,
    Scope,
    SearchFilters,
    Stats,
)
from .browse import (
    ScopeSummary,
    TimelineFilters,
    generic_sessions,
    generic_timeline,
    generic_users,
)
from .residue import Residue

__all__ = [
    "COUNTERS_META_KEY",
    "EPISODE_JOB_KINDS",
    "Candidate",
    "Fence",
    "Job",
    "Neighbour",
    "Residue",
    "Store",
    "Usage",
    "VectorRecord",
    "WriteBatch",
    "WriteOutcome",
    "parse_counters",
]


@dataclass(frozen=True)
class VectorRecord:
    ref: ItemRef
    tenant: str
    model_id: str
    vector: np.ndarray
    content_hash: str


#: metadata key of the default :meth:`Store.add_counters` (the name dates from when
#: only LLM jobs were counted)
COUNTERS_META_KEY = "llm_metrics"


def parse_counters(raw: str | None) -> dict[str, int]:
    """Totals from their stored JSON object; ``{}`` when missing or unreadable."""
    if not raw:
        return {}
    try:
        return {str(k): int(v) for k, v in json.loads(raw).items()}
    except (ValueError, TypeError, AttributeError):
        return {}


#: job kinds that complete the episodes of their batch rather than derive from
#: them (``embed``: their vectors, :mod:`engram.ingest.embed_queue`): kept with the
#: episodes when a :class:`Fence` drops the derived rows
EPISODE_JOB_KINDS = frozenset({"embed"})


@dataclass(frozen=True)
class Job:
    """A durable unit of background work (e.g. LLM extraction for new episodes)."""

    id: str
    kind: str
    scope: Scope
    payload: dict[str, Any]
    attempts: int = 0
    status: str = "pending"  # pending | running | done | failed
    last_error: str | None = None
    created_at: datetime | None = None
    run_after: datetime | None = None
    #: when it ended (done or failed); ``None`` while pending or running
    finished_at: datetime | None = None
    #: what it did, as given to :meth:`Store.finish_job` (JSON; ids and reasons,
    #: never personal text: it is stored unencrypted)
    result: dict[str, Any] | None = None


@dataclass(frozen=True)
class Fence:
    """Preconditions of a batch's *derived* rows, checked inside its transaction.

    Derived rows are everything in a :class:`WriteBatch` but its ``episodes``
    (and their vectors, and jobs of :data:`EPISODE_JOB_KINDS`): memories,
    history, memory vectors, jobs. They are
    written only if, inside the write's transaction,

    * every episode of ``claim`` exists in ``tenant`` (inserted by this batch or
      before) and was not claimed by an earlier write: the write then marks them
      derived, so memories are derived from an episode once, whoever races; and
      an episode deleted by :meth:`Store.forget` can never gain derived rows;
    * the job ``job_id`` (when given) still exists: :meth:`Store.forget` deletes
      a scope's jobs, so a running job of a forgotten scope writes nothing.

    Otherwise only the episodes are written and :attr:`WriteOutcome.fenced` is
    ``True``. Both checks are atomic with respect to :meth:`Store.forget` and to
    other fenced writes (no ordering of the two can leave derived rows behind).
    """

    tenant: str
    claim: tuple[str, ...] = ()
    job_id: str | None = None


@dataclass
class WriteBatch:
    """Everything one operation writes, applied atomically by :meth:`Store.write`.

    * ``episodes``: inserted unless an episode with the same ``(tenant, id)``
      exists; existing ones are left untouched and reported in
      :attr:`WriteOutcome.existing_episode_ids` (their vectors in this batch are
      dropped).
    * ``new_memories``: inserted unless ``(tenant, id)`` exists (then skipped and
      reported; used by idempotent import).
    * ``changed_memories``: ``(memory, expected_version)``: replaces the stored
      row only if its current ``version`` equals ``expected_version``; otherwise
      the whole batch fails with :class:`~engram.errors.Conflict`.
    * ``versions``: history entries; a duplicate ``(tenant, memory_id, version)``
      is ignored (idempotent import).
    * ``vectors``: upserted by ``(tenant, ref)``; also refreshes the lexical
      index entry of that item.
    * ``jobs``: background work to enqueue in the same transaction.
    * ``index_texts``: lexical index text per item written in this batch.
    * ``fence``: preconditions of the derived rows (see :class:`Fence`).
    * ``meta_expect``: store-wide settings (:meth:`Store.get_meta` name -> value,
      a missing one reads as ``""``) the batch's content depends on, e.g. the
      wrapped data keys an encrypted batch was sealed with. Checked inside the
      write's transaction before anything is written, atomically with respect
      to :meth:`Store.set_meta` (a concurrent ``set_meta`` of one of them
      commits wholly before the check or wholly after the write); on a
      mismatch nothing is written and :class:`~engram.errors.MetaMoved` is
      raised.
    """

    episodes: list[Episode] = field(default_factory=list)
    new_memories: list[Memory] = field(default_factory=list)
    changed_memories: list[tuple[Memory, int]] = field(default_factory=list)
    versions: list[tuple[str, MemoryVersion]] = field(default_factory=list)  # (tenant, version)
    vectors: list[VectorRecord] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    #: text to index lexically per item (default: the item's own text); lets the
    #: pipeline add speaker names or resolved dates to what BM25 sees
    index_texts: dict[ItemRef, str] = field(default_factory=dict)
    fence: Fence | None = None
    meta_expect: dict[str, str] = field(default_factory=dict)

    def episodes_only(self) -> WriteBatch:
        """The batch without its derived rows: episodes, their vectors and index
        texts, and their jobs of :data:`EPISODE_JOB_KINDS`."""
        refs = {ItemRef("episode", e.id) for e in self.episodes}
        return WriteBatch(
            episodes=list(self.episodes),
            vectors=[v for v in self.vectors if v.ref in refs],
            jobs=[j for j in self.jobs if j.kind in EPISODE_JOB_KINDS],
            index_texts={r: t for r, t in self.index_texts.items() if r in refs},
        )

    def is_empty(self) -> bool:
        return not (
            self.episodes
            or self.new_memories
            or self.changed_memories
            or self.versions
            or self.vectors
            or self.jobs
        )


@dataclass
class WriteOutcome:
    created_episode_ids: list[str] = field(default_factory=list)
    existing_episode_ids: list[str] = field(default_factory=list)
    created_memory_ids: list[str] = field(default_factory=list)
    existing_memory_ids: list[str] = field(default_factory=list)
    #: the batch's :class:`Fence` did not hold: only its episodes were written
    fenced: bool = False


class Candidate(NamedTuple):
    """One search candidate from a single signal; ``score`` higher is better.

    A named tuple (immutable, equal by its fields): a search makes some 600 of
    them, and a tuple is made in about half the time of a frozen dataclass."""

    ref: ItemRef
    score: float


@dataclass(frozen=True)
class Usage:
    """What a tenant holds: ``items`` (episodes + memories of every status) and
    ``bytes`` (UTF-8 length of their stored texts)."""

    items: int
    bytes: int


@dataclass(frozen=True)
class Neighbour:
    """An episode near another one in its session; ``offset`` is never 0
    (-1: the episode just before, +2: two after)."""

    id: str
    offset: int


class Store(ABC):
    """A memory store. See the module docstring for the rules every method follows."""

    #: URL the store was opened with (``sqlite:///path``, ``postgresql://...``)
    url: str
    #: backend name in audit records (``"sqlite"``, ``"postgresql"``, ``"memory"``)
    backend: ClassVar[str] = "other"

    # -- change marker -------------------------------------------------------
    def change_marker(self) -> str | None:
        """A token that differs after every committed change to the store's data,
        by this object or any other process or connection (compare two for
        equality only). ``None``: this backend cannot tell; callers must then not
        reuse anything read before (the semantic cache, :mod:`engram.agents.cache`,
        is off)."""
        return None

    # -- lifecycle -----------------------------------------------------------
    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; return their names.

        Idempotent: a second call applies nothing and returns ``[]``.
        """

    @abstractmethod
    def applied_migrations(self) -> list[str]:
        """Names of applied migrations, in order."""

    @abstractmethod
    def close(self) -> None:
        """Release connections. Idempotent."""

    # -- metadata ------------------------------------------------------------
    @abstractmethod
    def get_meta(self, key: str) -> str | None:
        """Store-wide setting (e.g. ``embedding_model``); ``None`` when unset."""

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None:
        """Set a store-wide setting (durable, overwrites)."""

    def set_meta_if(self, key: str, expected: str | None, value: str) -> bool:
        """Compare-and-set a store-wide setting: write ``value`` only if the
        setting still holds ``expected`` (``None``: only if it is missing), in
        one atomic step against every other writer of the store; ``True`` when
        written. A ``False`` means another writer moved it first: read it again
        (:meth:`get_meta`). This default reads, then writes: correct only with
        one writer at a time; a backend with several writers (other processes)
        overrides it atomically (SQLite, PostgreSQL and memory:// do)."""
        if self.get_meta(key) != expected:
            return False
        self.set_meta(key, value)
        return True

    @abstractmethod
    def meta_items(self) -> dict[str, str]:
        """Every store-wide setting, as :meth:`get_meta` would return each;
        ``{}`` for a new store."""

    # -- running totals ------------------------------------------------------
    def add_counters(self, tenant: str, deltas: Mapping[str, int]) -> None:
        """Add ``deltas`` to the running totals (e.g. jobs done, proposals
        accepted) that :meth:`counters` sums; ``tenant`` is whose work they count.

        Durable once it returns. This default keeps store-wide totals in the
        metadata key :data:`COUNTERS_META_KEY` (read, add, write: a backend
        with several writers at once overrides it with an atomic, tenant-keyed
        increment, as PostgreSQL does, so no write touches a store-wide row).
        """
        totals = self.counters()
        for key, n in deltas.items():
            totals[key] = totals.get(key, 0) + int(n)
        self.set_meta(COUNTERS_META_KEY, json.dumps(totals, sort_keys=True))

    def counters(self) -> dict[str, int]:
        """Store-wide running totals: every :meth:`add_counters` summed over
        tenants; ``{}`` for a new store. An unreadable stored value reads as ``{}``."""
        return parse_counters(self.get_meta(COUNTERS_META_KEY))

    # -- writes --------------------------------------------------------------
    @abstractmethod
    def write(self, batch: WriteBatch) -> WriteOutcome:
        """Apply ``batch`` atomically (see :class:`WriteBatch`)."""

    @abstractmethod
    def touch(self, tenant: str, memory_ids: Sequence[str], at: datetime) -> None:
        """Record an access: ``access_count += 1``, ``last_accessed_at = at``.

        Not a version: access stats are not history. Unknown ids are ignored;
        an id given twice in one call counts once.
        """

    @abstractmethod
    def replace_episode_metadata(self, episode: Episode, expected: Mapping[str, Any], *,
                                 meta_expect: Mapping[str, str] | None = None) -> bool:
        """Compare-and-set an episode's metadata (the only change an episode ever takes).

        The stored episode ``(episode.scope.tenant, episode.id)`` gets
        ``episode.metadata`` -- and ``episode.text``, which must be its stored text
        (an encrypting wrapper keeps metadata inside the sealed text) -- only if its
        current metadata equals ``expected``. Returns ``False``, changing nothing,
        when the episode does not exist or its metadata differs (a concurrent
        change: read again and retry). Times, vectors and the lexical index stay.
        ``meta_expect`` is checked first, in the same transaction, as
        :attr:`WriteBatch.meta_expect` is (:class:`~engram.errors.MetaMoved`).
        """

    # -- reads ---------------------------------------------------------------
    @abstractmethod
    def existing_episode_ids(self, tenant: str, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` exist in ``tenant`` (any user/agent)."""

    @abstractmethod
    def get_episodes(self, scope: Scope, ids: Sequence[str]) -> list[Episode]:
        """Episodes with these ids visible in ``scope``, in the order of ``ids``;
        unknown or out-of-scope ids are omitted."""

    @abstractmethod
    def get_memories(self, scope: Scope, ids: Sequence[str]) -> list[Memory]:
        """Current state of these memories (any status) visible in ``scope``,
        in the order of ``ids``; unknown or out-of-scope ids are omitted."""

    def get_items(
        self, scope: Scope, episode_ids: Sequence[str], memory_ids: Sequence[str]
    ) -> tuple[list[Episode], list[Memory]]:
        """``(get_episodes(scope, episode_ids), get_memories(scope, memory_ids))``,
        exactly what the two calls return; a backend may read both in one round trip."""
        return self.get_episodes(scope, episode_ids), self.get_memories(scope, memory_ids)

    def get_item_views(
        self, scope: Scope, episode_ids: Sequence[str], memory_ids: Sequence[str]
    ) -> tuple[list[Episode], list[Memory]]:
        """:meth:`get_items` for reading only, as a search ranks its head: the same
        items in the same order, each an :class:`Episode` / :class:`Memory` whose
        every field reads as :meth:`get_items`' would. A backend may hand out
        views (:mod:`engram.store.views`) that decode the fields ranking reads and
        load the others from the store on first read; a caller must not change
        them or hand them on (a search decodes the hits it returns with
        :meth:`get_items`). Default: :meth:`get_items`."""
        return self.get_items(scope, episode_ids, memory_ids)

    @abstractmethod
    def memory_as_of(self, scope: Scope, memory_id: str, as_of: datetime) -> Memory | None:
        """The memory as recorded at ``as_of`` (from history); ``None`` when it did
        not exist yet or is not visible in ``scope``."""

    @abstractmethod
    def list_episodes(
        self, scope: Scope, filters: SearchFilters, limit: int, cursor: str | None = None
    ) -> Page:
        """Episodes in event-time order (oldest first), ``limit`` per page.

        ``cursor`` is the opaque ``next_cursor`` of the previous page."""

    @abstractmethod
    def list_memories(
        self, scope: Scope, filters: SearchFilters, limit: int, cursor: str | None = None
    ) -> Page:
        """Memories newest first by ``created_at``; active only unless
        ``filters.include_inactive``; with ``filters.as_of``, those active at that
        time, as they were then."""

    @abstractmethod
    def active_memories_with_attribute(
        self, scope: Scope, attribute: str
    ) -> list[Memory]:
        """Active memories carrying the single-valued ``attribute`` key."""

    @abstractmethod
    def history(self, scope: Scope, memory_id: str) -> list[MemoryVersion]:
        """All versions of a memory, oldest first; ``[]`` when unknown/out of scope."""

    @abstractmethod
    def episode_neighbours(
        self, scope: Scope, ids: Sequence[str], radius: int
    ) -> dict[str, list[Neighbour]]:
        """Episodes within ``radius`` positions of each of ``ids`` in its session.

        Position is the order of the session's episodes by ``occurred_at``, then
        insertion. Only the episode's own session counts (episodes without a
        session form one stream per user/agent), and only episodes visible in
        ``scope``. Each list is ordered by offset (-radius..radius, 0 left out);
        unknown or out-of-scope ids map to no key; ``radius <= 0`` gives ``{}``.
        """

    # -- whole-tenant reads (store moves, quotas) ------------------------------
    @abstractmethod
    def tenants(self) -> list[str]:
        """Every tenant holding at least one episode, memory or version, sorted;
        ``[]`` for an empty store."""

    @abstractmethod
    def tenant_usage(self, tenant: str) -> Usage:
        """Items and text bytes ``tenant`` holds over every user and agent
        (superseded and deleted-status memories included: they are kept as
        history). Bytes are the UTF-8 length of the texts as stored (ciphertext
        under :class:`~engram.trust.encryption.EncryptedStore`). An unknown
        tenant holds ``Usage(0, 0)``."""

    @abstractmethod
    def iter_vectors(self, tenant: str) -> Iterator[VectorRecord]:
        """Every vector of ``tenant`` exactly as stored (any model, float32),
        in no particular order; nothing for an unknown tenant."""

    @abstractmethod
    def lexical_texts(self, tenant: str, refs: Sequence[ItemRef]) -> dict[ItemRef, str]:
        """The text each item's lexical entry was made from: its
        :attr:`WriteBatch.index_texts` entry, else the item's own text. Unknown
        refs (or refs of another tenant) are omitted."""

    # -- search --------------------------------------------------------------
    @abstractmethod
    def lexical_search(
        self, scope: Scope, query: str, filters: SearchFilters, limit: int,
        max_postings: int | None = None,
    ) -> list[Candidate]:
        """BM25 over episode and memory text, best first, at most ``limit``.

        The query is free text: the backend tokenises it and never lets its
        syntax reach the index engine (no FTS syntax errors from user text).
        Filters and scope are applied inside the search. ``max_postings`` bounds
        the work: the query's terms with the most postings in the user's lexical
        index are left out, most first, until the rest hold at most that many
        (:meth:`.LexicalIndex.scores`); a backend ranking in SQL (no in-process
        index loaded) may ignore it."""

    @abstractmethod
    def vector_search(
        self,
        scope: Scope,
        vector: np.ndarray,
        model_id: str,
        filters: SearchFilters,
        limit: int,
    ) -> list[Candidate]:
        """Cosine similarity against vectors of ``model_id``, best first.

        Exact or approximate, but filters and scope are applied inside the
        search: a selective filter still returns up to ``limit`` matches."""

    def search_both(
        self,
        scope: Scope,
        query: str,
        vector: np.ndarray,
        model_id: str,
        filters: SearchFilters,
        limit: int,
    ) -> tuple[list[Candidate], list[Candidate]]:
        """``(lexical_search(...), vector_search(...))`` of one query, exactly what
        the two calls return (same errors); a backend may answer both in one round
        trip (PostgreSQL pipelines them)."""
        return (self.lexical_search(scope, query, filters, limit),
                self.vector_search(scope, vector, model_id, filters, limit))

    def reading(self) -> AbstractContextManager[None]:
        """A block of reads that belong together (one search): the reads made in
        it, in this thread, see every write committed before the block began, by
        anyone, and this store object's own writes made in it; a write committed
        by another connection or process while the block runs may be seen only by
        reads after it. A backend may read afresh each time (this default does);
        SQLite checks whether anything was committed elsewhere once per block
        instead of once per read (``PRAGMA data_version``, see
        :mod:`~engram.store.sqlite_changes`). Blocks may nest (the outer one holds)."""
        return nullcontext()

    @abstractmethod
    def vectors_by_hash(
        self, model_id: str, hashes: Sequence[str], *, tenant: str | None = None
    ) -> dict[str, np.ndarray]:
        """Known vectors of ``model_id`` for these content hashes (embedding cache),
        across tenants, or only ``tenant``'s when given (one shard on Citus). Hashes
        without a vector of that model are absent; when several items share a hash,
        any one of their vectors is returned."""

    def stored_vectors(
        self, scope: Scope, model_id: str, refs: Sequence[ItemRef], hashes: Sequence[str],
        *, tenant: str | None = None,
    ) -> dict[str, np.ndarray]:
        """:meth:`vectors_by_hash` of ``hashes``, the content hashes of the vectors
        of ``refs`` (items of ``scope``, in the same order): a backend may answer
        for an item from the vector it holds for it in memory when that vector is
        stored under the same hash. Default: :meth:`vectors_by_hash`."""
        return self.vectors_by_hash(model_id, hashes, tenant=tenant)

    def kept_terms(
        self, scope: Scope, model_id: str, ref: ItemRef, text: str
    ) -> frozenset[str] | None:
        """:func:`~engram.index.lexical.term_set` of ``text``, the text of ``ref``
        (an item of ``scope``) as read, when the backend kept it from indexing this
        very text under ``model_id``; else ``None`` (the caller splits the text).
        Default: ``None``."""
        return None

    def scope_centroid(self, scope: Scope, model_id: str) -> np.ndarray | None:
        """The mean of the L2-normalised ``model_id`` vectors of every live episode
        of ``scope``'s user (of its agent when it has no user), across agents and
        sessions; ``None`` when there is none or the backend does not compute it
        (then a search does not centre its query: ``RetrievalConfig.centre_weight``).
        Derived from the user's data: forget and deletes drop it. Default: ``None``."""
        return None

    # -- maintenance ---------------------------------------------------------
    @abstractmethod
    def forget(self, scope: Scope) -> dict[str, int]:
        """Hard-delete everything in ``scope``: episodes, memories, versions,
        vectors, lexical index entries, jobs. Returns rows removed per table
        (``episodes``, ``memories``, ``memory_versions``, ``vectors``, ``fts``,
        ``jobs``). Idempotent: a second call removes nothing and returns zeros."""

    @abstractmethod
    def delete_episodes(
        self, tenant: str, episode_ids: Sequence[str], memory_ids: Sequence[str] = ()
    ) -> dict[str, int]:
        """Hard-delete these episodes of ``tenant`` (any user/agent), and these
        memories with every version of their history, in one transaction: their
        rows, vectors and lexical index entries, as :meth:`forget` removes them
        (the SQLite change log sees every row, so each process's in-memory index
        drops them at its next search). Unknown ids are ignored, so a repeat
        deletes nothing; jobs are left (a job reads only the episodes that still
        exist). Returns rows removed per table (``fts``, ``vectors``,
        ``memory_versions``, ``memories``, ``episodes``).

        Fenced like :meth:`forget`: a :class:`Fence` claiming a deleted episode
        fails in every write that commits after this one, so no derived row can
        cite it afterwards. Memories that cite it are not touched here (the
        caller decides: see :func:`engram.ingest.erase.delete_episode`)."""

    def memories_citing(self, scope: Scope, episode_ids: Sequence[str]) -> list[Memory]:
        """Memories (any status) visible in ``scope`` whose ``source_episode_ids``
        name one of ``episode_ids``, oldest first. The default pages through
        :meth:`list_memories`; the SQL backends ask the database (JSON array membership)."""
        wanted = set(episode_ids)
        found: list[Memory] = []
        if not wanted:
            return found
        every = SearchFilters(include_inactive=True)
        cursor: str | None = None
        while True:
            page = self.list_memories(scope, every, 500, cursor)
            found.extend(m for m in page.items
                         if isinstance(m, Memory) and wanted & set(m.source_episode_ids))
            cursor = page.next_cursor
            if cursor is None:
                return found[::-1]

    @abstractmethod
    def forget_residue(self, needles: Sequence[str], scan_limit: int) -> Residue:
        """After :meth:`forget`: the backend's physical clean-up, then a check of
        its raw bytes for ``needles`` where it can (at most ``scan_limit`` bytes;
        above that the check is ``skipped``). Never raises for a leftover: it is
        reported in the :class:`~engram.store.residue.Residue`. Safe to repeat."""

    @abstractmethod
    def remaining(self, scope: Scope) -> dict[str, int]:
        """Rows still present in ``scope`` per table/index (all zero after forget)."""

    @abstractmethod
    def iter_records(self, scope: Scope) -> Iterator[dict[str, Any]]:
        """Export: every episode, memory and version in ``scope`` as
        ``{"type": "episode"|"memory"|"version", ...to_dict()}``; episodes first,
        then memories, then versions."""

    @abstractmethod
    def stats(self, scope: Scope | None) -> Stats:
        """Counts for ``scope`` (or the whole store when ``None``)."""

    @abstractmethod
    def iter_items_for_reembed(
        self, model_id: str, batch_size: int
    ) -> Iterator[list[Episode | Memory]]:
        """Batches of items (all tenants and scopes) whose vector is missing or was
        made by another model. Each batch is fetched after the previous one was
        consumed, so the caller may write vectors between batches."""

    @abstractmethod
    def drop_vectors_except(self, model_id: str) -> int:
        """Delete vectors of every other model; return how many."""

    def finish_bulk_load(self) -> None:  # noqa: B027 (optional hook, empty by default)
        """Called once after a bulk copy into the store (``migrate-store``):
        build what a backend defers during loads (e.g. vector indexes).
        Idempotent; the default does nothing."""

    # -- background jobs -----------------------------------------------------
    @abstractmethod
    def claim_job(self, kinds: Iterable[str], now: datetime, lease_seconds: float) -> Job | None:
        """Atomically claim the oldest runnable job (pending, or running with an
        expired lease) of these kinds; ``None`` when there is none."""

    @abstractmethod
    def finish_job(
        self, job_id: str, *, error: str | None = None, retry_at: datetime | None = None,
        result: dict[str, Any] | None = None, tenant: str | None = None,
    ) -> None:
        """Mark a job done; with ``error`` and ``retry_at`` put it back as pending;
        with ``error`` and no ``retry_at`` mark it failed. Done and failed set
        ``finished_at``; ``result`` (when given) replaces the job's result. A job
        that no longer exists (its scope was forgotten) is left alone. ``tenant``: the
        job's tenant when the caller knows it (one shard on Citus; another tenant's
        job of that id is left alone)."""

    @abstractmethod
    def get_job(self, tenant: str, job_id: str) -> Job | None:
        """The job ``job_id`` of ``tenant`` with its status, attempts, last error,
        ``finished_at`` and ``result``; ``None`` when there is none (also for another
        tenant's job, and after :meth:`forget` of its scope deleted it)."""

    @abstractmethod
    def job_counts(self, scope: Scope | None) -> dict[str, int]:
        """Jobs per status in ``scope`` (``None``: the whole store); a status
        without jobs is absent, so a store with no jobs gives ``{}``."""

    @abstractmethod
    def purge_jobs(self, kinds: Iterable[str], finished_before: datetime,
                   limit: int = 1000) -> int:
        """Delete up to ``limit`` jobs of these kinds, of every tenant, that are
        ``done`` and finished before ``finished_before``; return how many.

        Only done jobs go: pending, running and failed ones stay whatever their age
        (failed jobs are what the failed-job views show; a job put back for a retry
        is pending). No kinds, or ``limit <= 0``, deletes nothing. A purged job is
        gone like a forgotten one (:meth:`get_job` gives ``None``). Store-wide
        maintenance, as cheap as a claim: candidate keys are read from the whole
        queue without locks, then deleted with one statement per tenant (one shard
        on Citus); a caller with more than ``limit`` to purge calls again."""

    # -- browsing (engram.store.browse; generic defaults, backends override) -----
    def users(self, tenant: str, limit: int = 1000) -> list[ScopeSummary]:
        """The users of ``tenant`` (items with a ``user_id``), most recently active
        first, at most ``limit``; each with its counts and last activity."""
        return generic_users(self, tenant, limit)

    def sessions(self, scope: Scope, limit: int = 1000) -> list[ScopeSummary]:
        """The sessions of ``scope`` (typically one user), most recently active first;
        items without a session form one summary with ``session_id`` None."""
        return generic_sessions(self, scope, limit)

    def timeline(self, scope: Scope, filters: TimelineFilters, limit: int,
                 cursor: str | None = None) -> Page:
        """Episodes and memories (any status) of ``scope`` on one event-time axis, newest
        first, ``limit`` per page (see :mod:`engram.store.browse` for the order and
        filters). ``cursor`` is the previous page's ``next_cursor``; a malformed one
        raises :class:`~engram.errors.InvalidInput`."""
        return generic_timeline(self, scope, filters, limit, cursor)

    def failed_jobs(self, scope: Scope | None, limit: int = 50) -> list[Job]:
        """Failed background jobs of ``scope`` (None: the whole store) with their
        ``last_error``, newest first. A store that keeps no jobs returns ``[]``."""
        return []
