"""The Engram core: one synchronous engine over a store, an embedder and the pipeline.

``Engram`` is the public sync API; :class:`engram.aio.AsyncEngram` runs the
same engine in a worker thread. Every method validates its input fully before
writing, and every write is one atomic store batch.

Pipeline of :meth:`Engram.add`: segment (messages -> episodes) -> derive
(episodes -> candidate memories) -> consolidate (candidates -> operations)
-> index (texts and vectors) -> one atomic write.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .config import Config, resolve_config
from .embed.base import Embedder
from .errors import Conflict, InvalidInput, ModelMismatch, NotFound, StoreError
from .ingest.consolidate import RuleConsolidator, plan_writes
from .ingest.derive import Candidate, Deriver, RuleDeriver
from .ingest.index import Indexer
from .ingest.segment import to_episodes, to_messages
from .models import (
    AddResult,
    ContextBlock,
    Episode,
    EpisodeResult,
    ForgetReport,
    Hit,
    Memory,
    MemoryKind,
    MemoryStatus,
    MemoryVersion,
    Operation,
    Page,
    Scope,
    SearchFilters,
    Stats,
)
from .retrieval.config import RetrievalConfig, get_preset
from .retrieval.context import build_context
from .retrieval.search import Searcher
from .store import open_store
from .store.base import Fence, Store, WriteBatch
from .timeutil import ensure_aware, now
from .transfer import ImportReport, import_records, parse_jsonl
from .trust.provenance import (
    RESERVED_KEY,
    TRUST_LEVELS,
    derived_from,
    is_flagged,
    provenance,
    strip_reserved,
    trust_of,
    trust_of_role,
)
from .validation import check_metadata, check_text, make_scope

if TYPE_CHECKING:
    from .ingest.llm_jobs import LLMPipeline, PipelineStatus, WorkReport
    from .llm.config import LLMSettings
    from .retrieval.answer import Answer

__all__ = ["Engram"]

log = logging.getLogger("engram")

MAX_LIMIT = 1000
#: tries of a write that lost a version race to another writer (decided again on
#: the latest state each time) before ``Conflict``; see derive_for and update
WRITE_ATTEMPTS = 12


def _filters(
    filters: SearchFilters | None,
    *,
    kinds: Iterable[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    metadata: dict[str, Any] | None = None,
    as_of: datetime | None = None,
) -> SearchFilters:
    f = filters or SearchFilters()
    if not isinstance(f, SearchFilters):
        raise InvalidInput("filters must be an engram.SearchFilters")
    changes: dict[str, Any] = {}
    if kinds is not None:
        if isinstance(kinds, str):
            kinds = [kinds]
        ks = frozenset(kinds)
        valid = {k.value for k in MemoryKind} | {"episode"}
        bad = sorted(ks - valid)
        if bad:
            raise InvalidInput(f"unknown kinds {bad}; use {sorted(valid)}")
        changes["kinds"] = ks
    if start is not None:
        changes["start"] = ensure_aware(start, "start")
    if end is not None:
        changes["end"] = ensure_aware(end, "end")
    if metadata:
        check_metadata(metadata)
        changes["metadata"] = tuple(sorted(metadata.items()))
    if as_of is not None:
        changes["as_of"] = ensure_aware(as_of, "as_of")
    f = dataclasses.replace(f, **changes) if changes else f
    for name in ("start", "end", "as_of"):
        value = getattr(f, name)
        if value is not None:
            ensure_aware(value, name)
    return f


class Engram:
    """Long-term memory for agents.

    ``Engram("memory.db")`` opens (or creates) an embedded SQLite store.
    ``Engram(url="postgresql://...")`` uses PostgreSQL. Settings not given here
    come from the config file, then ``ENGRAM_*`` variables, then defaults.
    ``embedder`` may be an :class:`~engram.embed.base.Embedder` instance (shared
    across many stores, e.g. in benchmarks); otherwise the configured one is
    loaded on first use.
    """

    def __init__(
        self,
        db: str | Path | None = None,
        *,
        url: str | None = None,
        config: Config | None = None,
        embedder: Embedder | None = None,
        store: Store | None = None,
        deriver: Deriver | None = None,
        llm: LLMSettings | None = None,
        **settings: Any,
    ) -> None:
        if config is None:
            target = url or (str(db) if db is not None else None)
            config = resolve_config(store=target, **settings)
        elif settings or db or url:
            override = {"store": url or str(db)} if (db or url) else {}
            config = config.replace(**settings, **override)
        self.config = config
        self.store = store or open_store(
            config.store_url(), **({"synchronous": config.sqlite_synchronous}
                                   if config.store_url().startswith("sqlite") else {})
        )
        self._wrap_encryption(config)
        self._embedder = embedder
        #: an embedder passed in belongs to the caller (often shared): never closed here
        self._owns_embedder = embedder is None
        self._embedder_lock = threading.Lock()
        self._model_checked = False
        self.deriver: Deriver | None = deriver or (
            RuleDeriver(self.store) if config.derive_rules else None)  # store: display names
        self.searcher = Searcher(self.store, self.embedder)
        self._touches: dict[tuple[str, str], None] = {}
        self._touch_lock = threading.Lock()
        #: striped per-user locks: derivations for one user run one at a time
        self._derive_locks = [threading.RLock() for _ in range(64)]
        #: LLM pipeline settings (``llm=`` or the ``llm_*`` config); None: no LLM
        self.llm_settings: LLMSettings | None = llm
        if llm is None and (config.llm_base_url or config.llm_model):
            from .llm.config import settings_from_config

            self.llm_settings = settings_from_config(config)
        self._llm: LLMPipeline | None = None
        self._llm_lock = threading.Lock()

    # -- plumbing --------------------------------------------------------------
    def _wrap_encryption(self, config: Config) -> None:
        """With ``encryption_key`` set, wrap the store in :class:`EncryptedStore`;
        without it, refuse a store whose rows are encrypted."""
        from .trust.encryption import ENCRYPTION_META, EncryptedStore

        if isinstance(self.store, EncryptedStore):
            return
        if config.encryption_key:
            try:
                self.store = EncryptedStore(self.store, config.encryption_key,
                                            lexical=config.encryption_lexical)
            except Exception:
                self.store.close()
                raise
        elif self.store.get_meta(ENCRYPTION_META) is not None:
            from .errors import ConfigError

            self.store.close()
            raise ConfigError("this store is encrypted: set encryption_key "
                              "(or ENGRAM_ENCRYPTION_KEY) to open it")

    def embedder(self) -> Embedder:
        """The embedder, loaded on first use; checked against the store's model."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    from .embed.registry import get_embedder, resolve_spec

                    opts: dict[str, Any] = {}
                    if self.config.embedder_base_url:
                        opts["base_url"] = self.config.embedder_base_url
                    if self.config.embedder_api_key:
                        opts["api_key"] = self.config.embedder_api_key
                    if resolve_spec(self.config.embedder).startswith("onnx:"):
                        opts["threads"] = self.config.embed_threads
                    self._embedder = get_embedder(self.config.embedder, **opts)
        if not self._model_checked:
            stored = self.store.get_meta("embedding_model")
            if stored is None:
                self.store.set_meta("embedding_model", self._embedder.model_id)
            elif stored != self._embedder.model_id:
                raise ModelMismatch(
                    f"this store's vectors were made by {stored!r}, not "
                    f"{self._embedder.model_id!r}; run `engram reembed` to switch models"
                )
            self._model_checked = True
        return self._embedder

    def count_tokens(self, text: str) -> int:
        return self.embedder().count_tokens(text)

    def _scope(self, scope: Scope | None, user_id: str | None, agent_id: str | None,
               session_id: str | None) -> Scope:
        return make_scope(scope, user_id, agent_id, session_id)

    def _flush_touches(self) -> None:
        with self._touch_lock:
            pending, self._touches = self._touches, {}
        by_tenant: dict[str, list[str]] = {}
        for tenant, mid in pending:
            by_tenant.setdefault(tenant, []).append(mid)
        at = now()
        for tenant, ids in by_tenant.items():
            self.store.touch(tenant, ids, at)

    @property
    def llm(self) -> LLMPipeline:
        """The LLM memory pipeline (built on first use); ``ConfigError`` without an LLM."""
        if self._llm is None:
            with self._llm_lock:
                if self._llm is None:
                    from .errors import ConfigError
                    from .ingest.llm_jobs import LLMPipeline

                    if self.llm_settings is None:
                        raise ConfigError("no LLM configured (set llm_base_url and llm_model)")
                    self._llm = LLMPipeline(self.store, self.embedder, self.llm_settings)
        return self._llm

    def close(self) -> None:
        """Release everything, even when the store cannot be written: pending
        access counts (best-effort statistics, never acknowledged data) are then
        logged as dropped instead of keeping the store open."""
        try:
            if self._llm is not None:
                self._llm.close()
            try:
                self._flush_touches()
            except StoreError as exc:
                log.warning("access counts not saved at close: %s", exc.code)
        finally:
            self.store.close()
            if self._embedder is not None and self._owns_embedder:
                self._embedder.close()

    def __enter__(self) -> Engram:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- add -------------------------------------------------------------------
    def add(
        self,
        messages: Any,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        occurred_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
        speaker: str | None = None,
        role: str | None = None,
        derive: bool = True,
    ) -> AddResult:
        """Store messages verbatim as episodes and derive memories from them.

        Re-sent messages (same client ``id``) store nothing new: they come back
        with ``created=False``, and memories are derived from a message once
        however many callers send it at the same time. All messages are
        validated before any write; the whole call is one transaction, except
        when a memory the derivation changes was changed meanwhile by another
        writer: the episodes are then stored on their own first and derivation
        is decided again (see :meth:`derive_for`). Episodes acknowledged here
        are stored whatever happens to their derivation; ``add`` never raises
        :class:`~engram.errors.Conflict`.
        """
        sc = self._scope(scope, user_id, agent_id, session_id)
        msgs = to_messages(messages, speaker=speaker, role=role)
        at = now()
        episodes = to_episodes(
            msgs, sc, occurred_at=occurred_at, metadata=metadata, created_at=at,
            max_text_bytes=self.config.max_text_bytes,
        )
        for e in episodes:  # the reserved namespace is Engram's: never taken from callers
            e.metadata = strip_reserved(e.metadata)
            e.metadata[RESERVED_KEY] = provenance(e.text, trust_of_role(e.role), "message")
        existing = self.store.existing_episode_ids(sc.tenant, [e.id for e in episodes])
        fresh = [e for e in episodes if e.id not in existing]
        #: flagged (possibly poisoned) episodes are kept but never turned into memories
        derivable = [e for e in fresh if not is_flagged(e.metadata)]
        result = AddResult(
            episodes=[EpisodeResult(e.id, e.id not in existing) for e in episodes]
        )
        if not fresh:
            return result
        batch = WriteBatch(episodes=fresh)
        indexer = Indexer(self.store, self.embedder())
        to_index: list[Episode | Memory] = list(fresh)
        rules = derive and self.llm_settings is None and self.deriver is not None and derivable
        if derive and self.llm_settings is not None and derivable:
            # LLM pipeline: the extraction job is durable in the same write as the episodes
            from .ingest.llm_jobs import LLMPipeline

            job = LLMPipeline.extract_job(sc, [e.id for e in derivable])
            batch.jobs.append(job)
            result.job_id = job.id
        with self._derive_lock(sc) if rules else contextlib.nullcontext():
            if rules:
                assert self.deriver is not None
                candidates = self.deriver.derive(derivable)
                ops, mems = self._consolidate(sc, candidates, indexer, at, batch, derivable)
                batch.fence = Fence(sc.tenant, tuple(e.id for e in derivable))
                result.operations = ops
                to_index.extend(mems)
            indexer.add_to(batch, to_index)
            try:
                outcome = self.store.write(batch)
            except Conflict:
                # a memory this derivation changes was changed meanwhile (another
                # process, or a caller's update): the messages never wait on a
                # derived memory, so store them alone, then decide again
                outcome = self.store.write(batch.episodes_only())
                outcome.fenced = True
            if rules and outcome.fenced:
                # derive from the episodes this call stored (a concurrent identical
                # add that stored one first derives from that one itself)
                mine = set(outcome.created_episode_ids)
                try:
                    result.operations = self._derive_stored(
                        [e for e in derivable if e.id in mine], sc)
                except Conflict as exc:  # stored, not derived: never the caller's error
                    result.operations = []
                    log.warning("derivation for %d stored episodes gave up: %s", len(mine), exc)
        if outcome.existing_episode_ids:  # lost a race with a concurrent identical add
            gone = set(outcome.existing_episode_ids)
            result.episodes = [
                EpisodeResult(r.id, r.created and r.id not in gone) for r in result.episodes
            ]
        if result.job_id is not None and self._llm is not None:
            self._llm.wake()
        return result

    def derive_for(self, episode_ids: builtins.list[str], scope: Scope) -> builtins.list[Any]:
        """Run derive -> consolidate -> index for stored episodes, in one write.

        For callers that stored episodes with ``add(..., derive=False)`` and derive
        later (the server's background path). Unknown ids are skipped; returns the
        memory operations.

        Idempotent and fenced (see :class:`~engram.store.base.Fence`): memories
        are derived from an episode once, however many callers race, and never
        for an episode deleted meanwhile (a ``forget``): then nothing is written
        and ``[]`` is returned. A lost version race is decided again, up to
        :data:`WRITE_ATTEMPTS` times; only then :class:`~engram.errors.Conflict`.
        """
        if self.deriver is None or not episode_ids:
            return []
        episodes = [e for e in self.store.get_episodes(scope, episode_ids)
                    if not is_flagged(e.metadata)]  # flagged episodes make no memories
        return self._derive_stored(episodes, scope)

    def _derive_lock(self, scope: Scope) -> threading.RLock:
        """The lock serialising this process's derivations for one user (or agent):
        their decisions then never race each other (other processes may: a lost
        race is a :class:`Conflict`, decided again)."""
        owner = (scope.tenant, scope.user_id, None if scope.user_id else scope.agent_id)
        return self._derive_locks[hash(owner) % len(self._derive_locks)]

    def _derive_stored(self, episodes: builtins.list[Episode],
                       scope: Scope) -> builtins.list[Any]:
        if self.deriver is None or not episodes:
            return []
        with self._derive_lock(scope):
            candidates = self.deriver.derive(episodes)
            if not candidates:
                return []
            indexer = Indexer(self.store, self.embedder())
            fence = Fence(scope.tenant, tuple(e.id for e in episodes))
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                batch = WriteBatch(fence=fence)
                ops, mems = self._consolidate(scope, candidates, indexer, now(), batch, episodes)
                indexer.add_to(batch, list(mems))
                try:
                    outcome = self.store.write(batch)
                except Conflict:
                    if attempt == WRITE_ATTEMPTS:
                        raise
                    _backoff(attempt)
                    continue
                return [] if outcome.fenced else ops
        return []

    # -- LLM pipeline ------------------------------------------------------------
    def process_pending(self, max_jobs: int | None = None, *,
                        now: datetime | None = None) -> WorkReport:
        """Run pending LLM jobs (extraction, summaries) now; failures are retried later."""
        return self.llm.run_pending(max_jobs, now=now)

    def pending(
        self,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> PipelineStatus:
        """Background jobs per status (in a scope, or store-wide) and pipeline totals."""
        sc = None
        if scope is not None or user_id or agent_id:
            sc = self._scope(scope, user_id, agent_id, session_id)
        return self.llm.status(sc)

    def answer(
        self,
        question: str,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        max_tokens: int = 2048,
        as_of: datetime | None = None,
        now: datetime | None = None,
    ) -> Answer:
        """Answer from :meth:`context`, citing memory/episode ids, or "I don't know"."""
        from .retrieval.answer import Answerer

        block = self.context(
            question, scope=scope, user_id=user_id, agent_id=agent_id, session_id=session_id,
            max_tokens=max_tokens, as_of=as_of, now=now,
        )
        return Answerer(self.llm.clients["answer"]).answer(question, block, now or as_of)

    def _consolidate(
        self, scope: Scope, candidates: list[Candidate], indexer: Indexer, at: datetime,
        batch: WriteBatch, sources: Iterable[Episode] = (),
    ) -> tuple[list[Any], list[Memory]]:
        if not candidates:
            return [], []
        vecs = indexer.vectors([c.text for c in candidates])
        consolidator = RuleConsolidator(self.store, indexer.embedder.model_id)
        decisions = consolidator.decide(scope, candidates, vecs)
        return plan_writes(decisions, scope, at, batch, derived_from(sources, "rules"))

    # -- search and context ----------------------------------------------------
    def _preset(self, preset: str | RetrievalConfig | None) -> RetrievalConfig:
        return get_preset(preset or self.config.preset)

    def search(
        self,
        query: str,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        limit: int = 10,
        filters: SearchFilters | None = None,
        kinds: Iterable[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        metadata: dict[str, Any] | None = None,
        as_of: datetime | None = None,
        preset: str | RetrievalConfig | None = None,
        now: datetime | None = None,
        track_access: bool = True,
    ) -> list[Hit]:
        """Ranked episodes and memories for ``query`` with a per-signal score breakdown."""
        sc = self._scope(scope, user_id, agent_id, session_id)
        check_text(query, self.config.max_text_bytes, "query")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be an integer between 1 and {MAX_LIMIT}")
        f = _filters(filters, kinds=kinds, start=start, end=end, metadata=metadata, as_of=as_of)
        ref_now = ensure_aware(now, "now") if now is not None else _now()
        hits = self.searcher.search(query, sc, f, self._preset(preset), limit, ref_now)
        if track_access:
            with self._touch_lock:
                for h in hits:
                    if h.ref.type == "memory":
                        self._touches[(sc.tenant, h.ref.id)] = None
                big = len(self._touches) >= 256
            if big:
                self._flush_touches()
        return hits

    def context(
        self,
        query: str,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        max_tokens: int = 1024,
        filters: SearchFilters | None = None,
        as_of: datetime | None = None,
        preset: str | RetrievalConfig | None = None,
        now: datetime | None = None,
        candidates: int = 60,
        include_flagged: bool = False,
    ) -> ContextBlock:
        """A prompt-ready block of the most useful items that fits ``max_tokens``.

        Items flagged as possible memory poisoning (see :mod:`engram.trust`) are left
        out unless ``include_flagged=True``; untrusted text (agent, tool, imported) is
        rendered as quoted data."""
        if not isinstance(max_tokens, int) or not 32 <= max_tokens <= 200_000:
            raise InvalidInput("max_tokens must be an integer between 32 and 200000")
        hits = self.search(
            query, scope=scope, user_id=user_id, agent_id=agent_id, session_id=session_id,
            limit=min(MAX_LIMIT, max(candidates, 10)), filters=filters, as_of=as_of,
            preset=preset, now=now,
        )
        if not include_flagged:
            hits = [h for h in hits if not is_flagged(h.item.metadata)]
        return build_context(hits, max_tokens, self.count_tokens)

    # -- read / change single items --------------------------------------------
    def get(
        self,
        item_id: str,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        as_of: datetime | None = None,
    ) -> Memory | Episode:
        sc = self._scope(scope, user_id, agent_id, session_id)
        if as_of is not None:
            m = self.store.memory_as_of(sc, item_id, ensure_aware(as_of, "as_of"))
            if m is not None:
                return m
        else:
            found = self.store.get_memories(sc, [item_id])
            if found:
                return found[0]
        eps = self.store.get_episodes(sc, [item_id])
        if eps and (as_of is None or eps[0].created_at <= as_of):
            return eps[0]
        raise NotFound(f"no memory or episode {item_id!r} in this scope")

    def _memory(self, sc: Scope, memory_id: str) -> Memory:
        found = self.store.get_memories(sc, [memory_id])
        if not found:
            raise NotFound(f"no memory {memory_id!r} in this scope")
        return found[0]

    def list(
        self,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        type: str = "memory",
        kinds: Iterable[str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
        filters: SearchFilters | None = None,
        as_of: datetime | None = None,
        include_inactive: bool = False,
    ) -> Page:
        """Paginated memories (newest first) or episodes (oldest first)."""
        sc = self._scope(scope, user_id, agent_id, session_id)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        f = _filters(filters, kinds=kinds, as_of=as_of)
        if include_inactive:
            f = dataclasses.replace(f, include_inactive=True)
        if type == "memory":
            return self.store.list_memories(sc, f, limit, cursor)
        if type == "episode":
            return self.store.list_episodes(sc, f, limit, cursor)
        raise InvalidInput("type must be 'memory' or 'episode'")

    def remember(
        self,
        text: str,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        kind: str = "note",
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
        importance: float = 0.5,
        metadata: dict[str, Any] | None = None,
    ) -> Memory:
        """Write a memory directly (no episode), e.g. an agent's own note."""
        sc = self._scope(scope, user_id, agent_id, session_id)
        check_text(text, self.config.max_text_bytes)
        try:
            mkind = MemoryKind(kind)
        except ValueError:
            raise InvalidInput(f"unknown kind {kind!r}") from None
        if not 0.0 <= float(importance) <= 1.0:
            raise InvalidInput("importance must be between 0 and 1")
        at = now()
        cand = Candidate(
            kind=mkind, text=text, source_episode_ids=[], subject="",
            valid_from=ensure_aware(valid_from, "valid_from") if valid_from else None,
            valid_to=ensure_aware(valid_to, "valid_to") if valid_to else None,
            importance=float(importance),
        )
        from .ingest.consolidate import new_memory

        mem = new_memory(cand, sc, at)
        mem.metadata = strip_reserved(check_metadata(metadata))
        mem.metadata[RESERVED_KEY] = provenance(text, "agent", "direct")
        batch = WriteBatch(new_memories=[mem])
        batch.versions.append(
            (sc.tenant, MemoryVersion(mem.id, 1, Operation.ADD, None, mem.to_dict(),
                                      "written directly", at))
        )
        mems = [mem]
        Indexer(self.store, self.embedder()).add_to(batch, mems)
        self.store.write(batch)
        return mem

    def update(
        self,
        memory_id: str,
        text: str | None = None,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
        valid_to: datetime | None = None,
        reason: str = "updated by caller",
        expected_version: int | None = None,
    ) -> Memory:
        """A new version of an active memory (re-embedded when the text changes).

        ``expected_version``: the version the caller read; when the memory has
        another one, :class:`~engram.errors.Conflict` and nothing changes
        (optimistic concurrency). Without it the change applies to the latest
        version, whatever changed meanwhile (a lost race is retried)."""
        sc = self._scope(scope, user_id, agent_id, session_id)
        changes: dict[str, Any] = {}
        if text is not None:
            changes["text"] = check_text(text, self.config.max_text_bytes)
        if metadata is not None:
            changes["metadata"] = strip_reserved(check_metadata(metadata))
        if importance is not None:
            if not 0.0 <= float(importance) <= 1.0:
                raise InvalidInput("importance must be between 0 and 1")
            changes["importance"] = float(importance)
        if valid_to is not None:
            changes["valid_to"] = ensure_aware(valid_to, "valid_to")
        if not changes:
            raise InvalidInput("nothing to update: give text, metadata, importance or valid_to")

        def change(old: Memory, at: datetime) -> Memory:
            if old.status != MemoryStatus.ACTIVE:
                raise InvalidInput(f"memory {memory_id} is {old.status}; "
                                   "only active memories change")
            now_changes = dict(changes)
            if "metadata" in changes or "text" in changes:  # keep provenance, re-scan the text
                ns = old.metadata.get(RESERVED_KEY)
                level = trust_of(old.metadata) if isinstance(ns, dict) else "agent"
                origin = str(ns.get("origin", "direct")) if isinstance(ns, dict) else "direct"
                now_changes["metadata"] = {
                    **changes.get("metadata", strip_reserved(old.metadata)),
                    RESERVED_KEY: provenance(changes.get("text", old.text), level, origin),
                }
            return dataclasses.replace(old, **now_changes, updated_at=at, version=old.version + 1)

        return self._change(sc, memory_id, Operation.UPDATE, change, reason, expected_version)

    def delete(
        self,
        memory_id: str,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        reason: str = "deleted by caller",
        expected_version: int | None = None,
    ) -> Memory:
        """Soft delete: the memory leaves search, its history stays.

        ``expected_version`` as for :meth:`update`; deleting a deleted memory
        returns it unchanged."""
        sc = self._scope(scope, user_id, agent_id, session_id)

        def change(old: Memory, at: datetime) -> Memory | None:
            if old.status == MemoryStatus.DELETED:
                return None
            return dataclasses.replace(old, status=MemoryStatus.DELETED, expired_at=at,
                                       updated_at=at, version=old.version + 1)

        return self._change(sc, memory_id, Operation.DELETE, change, reason, expected_version)

    def _change(
        self, sc: Scope, memory_id: str, op: Operation,
        change: Callable[[Memory, datetime], Memory | None],
        reason: str, expected_version: int | None,
    ) -> Memory:
        """Write ``change(latest)`` as the memory's next version (``None``: nothing to
        change, the memory is returned as it is). A version race is :class:`Conflict`
        with ``expected_version``, else re-read and retried."""
        if expected_version is not None and (
                not isinstance(expected_version, int) or isinstance(expected_version, bool)):
            raise InvalidInput("expected_version must be an integer")
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            old = self._memory(sc, memory_id)
            if expected_version is not None and old.version != expected_version:
                raise Conflict(f"memory {memory_id} is at version {old.version}, "
                               f"not {expected_version}")
            at = now()
            new = change(old, at)
            if new is None:
                return old
            batch = WriteBatch(changed_memories=[(new, old.version)])
            batch.versions.append((sc.tenant, MemoryVersion(
                new.id, new.version, op, old.to_dict(), new.to_dict(), reason, at)))
            if op == Operation.UPDATE:
                Indexer(self.store, self.embedder()).add_to(batch, [new])
            try:
                self.store.write(batch)
            except Conflict:
                if expected_version is not None or attempt == WRITE_ATTEMPTS:
                    raise
                _backoff(attempt)
                continue
            return new
        raise AssertionError("unreachable")

    def history(
        self,
        memory_id: str,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> builtins.list[MemoryVersion]:
        sc = self._scope(scope, user_id, agent_id, session_id)
        versions = self.store.history(sc, memory_id)
        if not versions:
            raise NotFound(f"no memory {memory_id!r} in this scope")
        return versions

    # -- whole-scope operations ---------------------------------------------------
    def forget(
        self,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        markers: Iterable[str] = (),
        llm_cache: str = "scoped",
    ) -> ForgetReport:
        """Hard delete of everything in the scope, verified afterwards.

        See :func:`engram.audit.verified_forget`: the LLM response cache is
        purged too (``llm_cache``: "scoped", "all" or "keep"), and ``markers``
        must be absent from the raw database file afterwards. ``report.audit``
        is the record to keep (salted scope hash, counts, no personal text)."""
        from .audit import verified_forget

        sc = self._scope(scope, user_id, agent_id, session_id)
        self._flush_touches()
        cache_dir = self.llm_settings.cache_dir if self.llm_settings is not None else None
        audit = verified_forget(self.store, sc, visible=self._visible_count,
                                llm_cache_dir=cache_dir, markers=builtins.list(markers),
                                llm_cache=llm_cache)  # type: ignore[arg-type]
        return ForgetReport(scope=sc.to_dict(), counts=audit.counts, verified=audit.verified,
                            at=audit.at, audit=audit)

    def _visible_count(self, scope: Scope, probe: str) -> int:
        """Hits of a search for ``probe`` plus a page of each item type in ``scope``,
        inactive included: the forget audit's check that nothing is left."""
        inactive = SearchFilters(include_inactive=True)
        n = len(self.search(probe, scope=scope, filters=inactive, limit=10))
        for kind in ("memory", "episode"):
            n += len(self.list(scope=scope, type=kind, limit=10, include_inactive=True).items)
        return n

    def export_records(
        self,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        sc = self._scope(scope, user_id, agent_id, session_id)
        return self.store.iter_records(sc)

    def export(self, fp: IO[str], **scope_args: Any) -> int:
        """Write the scope as JSONL to ``fp``; returns the number of lines."""
        n = 0
        for rec in self.export_records(**scope_args):
            fp.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
        return n

    def import_(
        self,
        source: IO[str] | Iterable[str],
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        batch_size: int = 500,
        progress: Any = None,
    ) -> ImportReport:
        """Import JSONL (as written by :meth:`export`); idempotent by id.

        Every line is parsed and validated first: any bad line raises
        :class:`~engram.errors.ImportFormatError` with line numbers, and nothing
        is written. Records are then written in atomic batches.
        """
        target = None
        if scope is not None or user_id or agent_id:
            target = self._scope(scope, user_id, agent_id, None)
        records = parse_jsonl(source, self.config.max_text_bytes, target)
        for kind, obj, _ in records:  # flags are always re-computed from the text;
            if kind in ("episode", "memory"):  # a trust level exported by Engram is kept
                item: Any = obj
                ns = item.metadata.get(RESERVED_KEY)
                ns = ns if isinstance(ns, dict) else {}
                level = ns.get("trust") if ns.get("trust") in TRUST_LEVELS else "imported"
                item.metadata = {**strip_reserved(item.metadata), RESERVED_KEY: provenance(
                    item.text, str(level), str(ns.get("origin") or "import"))}
        return import_records(
            self.store, Indexer(self.store, self.embedder()), records, batch_size, progress
        )

    def stats(
        self,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> Stats:
        sc = None
        if scope is not None or user_id or agent_id:
            sc = self._scope(scope, user_id, agent_id, session_id)
        return self.store.stats(sc)

    def reembed(self, embedder: Embedder | str | None = None, batch_size: int = 256,
                progress: Any = None) -> int:
        """Re-embed every item with ``embedder`` (default: the configured one) and make it
        the store's model. Vectors of the old model are dropped. Returns items embedded."""
        if isinstance(embedder, str):
            from .embed.registry import get_embedder

            embedder = get_embedder(embedder)
        if embedder is None:
            from .embed.registry import get_embedder

            embedder = self._embedder or get_embedder(self.config.embedder)
        indexer = Indexer(self.store, embedder)
        done = 0
        for items in self.store.iter_items_for_reembed(embedder.model_id, batch_size):
            batch = WriteBatch()
            indexer.add_to(batch, items)
            self.store.write(batch)
            done += len(items)
            if progress is not None:
                progress(len(items))
        self.store.drop_vectors_except(embedder.model_id)
        self.store.set_meta("embedding_model", embedder.model_id)
        self._embedder = embedder
        self._model_checked = True
        return done


def _now() -> datetime:
    return now()


def _backoff(attempt: int) -> None:
    """Sleep before retrying a lost race: exponential with jitter, so racing
    writers drift apart (at most 0.2 s)."""
    time.sleep(random.uniform(0, min(0.2, 0.002 * 2 ** attempt)))
