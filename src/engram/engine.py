"""The Engram facade: arguments -> scope -> ingest / retrieval / audit.

``Engram`` is the public sync API; :class:`engram.aio.AsyncEngram` runs the
same engine in a worker thread. Every method validates its arguments and
resolves its scope here, then hands over to

* :mod:`engram.ingest` for writes (``add``, ``remember``, ``update``, ``delete``,
  ``import_``, ``reembed``, background jobs): one atomic store batch per write,
  built in :mod:`engram.ingest.commit`;
* :mod:`engram.retrieval` for reads (``search``, ``context``, ``answer``);
* :mod:`engram.audit` for ``forget``.

What the engine holds (store, embedder, access counts) lives in
:mod:`engram.runtime`.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .config import Config, resolve_config
from .embed.base import Embedder
from .engine_agents import AgentOps
from .errors import InvalidInput, NotFound, StoreError
from .ingest.commit import stamp_changed
from .ingest.derive import Candidate, Deriver, RuleDeriver
from .ingest.erase import EpisodeDeletion, delete_episode
from .ingest.jobs import JobRunner, JobView
from .ingest.pipeline import DeriveMode, Ingest
from .ingest.reembed import reembed
from .models import (
    AddResult,
    ContextBlock,
    Episode,
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
from .retrieval import unnamed
from .retrieval.config import RetrievalConfig, get_preset
from .retrieval.context import build_context
from .retrieval.search import Searcher
from .retrieval.signals import Signal
from .retrieval.standing import instructions_in, pinned, standing_for
from .runtime import AccessLog, EmbedderSlot, open_engine_store
from .store.base import Store
from .text import clear_text_caches
from .timeutil import ensure_aware, now
from .transfer import ImportReport, write_jsonl
from .trust.provenance import is_flagged
from .validation import check_metadata, check_text, make_filters, make_scope

if TYPE_CHECKING:
    from .agents.cache import SemanticCache
    from .agents.links import Link
    from .ingest.llm_jobs import LLMPipeline, PipelineStatus, WorkReport
    from .llm.config import LLMSettings
    from .retrieval.answer import Answer
    from .trust.review import FlagReview

__all__ = ["Engram"]

log = logging.getLogger("engram")

MAX_LIMIT = 1000


class Engram(AgentOps):
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
        self.store = open_engine_store(config, store)
        self._embedder_slot = EmbedderSlot(config, self.store, embedder)
        self.searcher = Searcher(self.store, self.embedder)
        self._access = AccessLog(self.store)
        #: LLM pipeline settings (``llm=`` or the ``llm_*`` config); None: no LLM
        self.llm_settings: LLMSettings | None = llm
        if llm is None and (config.llm_base_url or config.llm_model):
            from .llm.config import settings_from_config

            self.llm_settings = settings_from_config(config)
        #: the durable job runner: rule derivation, LLM extraction and summaries
        self.jobs = JobRunner(self.store, retention=config.job_retention)
        self.ingest = Ingest(
            self.store, self.embedder, self.jobs,
            deriver=deriver or (RuleDeriver(self.store) if config.derive_rules else None),
            max_text_bytes=config.max_text_bytes,
            llm_job=self._llm_job if self.llm_settings is not None else None,
            embed_queue=bool(config.embed_queue),
            embed_retention=config.embed_job_retention,
        )
        self._llm: LLMPipeline | None = None
        if config.link_notes:  # linked, evolving notes (engram.agents.links)
            from .agents.links_llm import install_linker

            install_linker(self.store, self.ingest.commit, self.jobs, None if self.llm_settings
                           is None else lambda: self.llm.clients["consolidate"])
        #: the semantic cache of searches (``semantic_cache`` setting), else None
        self.cache: SemanticCache | None = None
        if config.semantic_cache:
            from .agents.cache import SemanticCache

            self.cache = SemanticCache(self.store.change_marker)
            self.ingest.commit.on_write.append(self.cache.invalidate)
        self._llm_lock = threading.Lock()

    # -- plumbing --------------------------------------------------------------
    @property
    def deriver(self) -> Deriver | None:
        """The rule deriver (``None``: no rule derivation); may be replaced."""
        return self.ingest.deriver

    @deriver.setter
    def deriver(self, value: Deriver | None) -> None:
        self.ingest.deriver = value

    @property
    def _embedder(self) -> Embedder | None:
        """The embedder if loaded (``None`` before first use). Setting ``None`` lets
        go of it without closing it (the CLI does, for an embedder it shares)."""
        return self._embedder_slot.current

    @_embedder.setter
    def _embedder(self, value: Embedder | None) -> None:
        self._embedder_slot.current = value

    def embedder(self) -> Embedder:
        """The embedder, loaded on first use; checked against the store's model."""
        return self._embedder_slot.get()

    def count_tokens(self, text: str) -> int:
        return self.embedder().count_tokens(text)

    def _scope(self, scope: Scope | None, user_id: str | None, agent_id: str | None,
               session_id: str | None) -> Scope:
        """The validated scope of a call (the only place scope arguments are read)."""
        return make_scope(scope, user_id, agent_id, session_id)

    def _optional_scope(self, scope: Scope | None, user_id: str | None,
                        agent_id: str | None, session_id: str | None) -> Scope | None:
        """As :meth:`_scope`, or ``None`` (the whole store) when no scope is named."""
        if scope is None and not user_id and not agent_id:
            return None
        return self._scope(scope, user_id, agent_id, session_id)

    def _flush_touches(self) -> None:
        self._access.flush()

    def _llm_job(self, scope: Scope, episode_ids: builtins.list[str]) -> Any:
        from .ingest.llm_jobs import LLMPipeline

        return LLMPipeline.extract_job(scope, episode_ids)

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
                    self._llm = LLMPipeline(self.store, self.embedder, self.llm_settings,
                                            runner=self.jobs)
                    self._llm.commit.on_new_memories = self.ingest.commit.on_new_memories
                    self._llm.commit.on_write = self.ingest.commit.on_write  # links, cache
        return self._llm

    def start_jobs(self, poll_seconds: float = 2.0) -> None:
        """Run background jobs (rule derivation, LLM extraction and summaries) in a
        daemon thread until :meth:`close`; jobs left by a previous run are picked up.
        With ``embed_queue`` unset, ``add`` from now on leaves episode vectors to the
        embed queue's own thread (:mod:`engram.ingest.embed_queue`)."""
        if self.llm_settings is not None:
            _ = self.llm  # registers the LLM job handlers
        self.jobs.start(poll_seconds)
        if self.config.embed_queue is None:  # unset: queued once a thread runs the jobs
            self.ingest.embeds.enabled = True
        self.ingest.embeds.start(poll_seconds)

    def job(self, job_id: str, *, tenant: str = "default") -> JobView | None:
        """A background job of ``tenant`` (its status, episodes and operations);
        ``None`` when there is none (also after its scope was forgotten, and once a
        done job is past its retention: config ``job_retention``,
        ``embed_job_retention``; failed jobs are kept)."""
        return self.jobs.view(tenant, job_id)

    def close(self) -> None:
        """Release everything, even when the store cannot be written: pending
        access counts (best-effort statistics, never acknowledged data) are then
        logged as dropped instead of keeping the store open."""
        try:
            self.jobs.stop()
            self.ingest.embeds.stop()
            if self.ingest.embeds.pending_here:  # vectors this engine queued
                try:
                    self.ingest.embeds.drain()
                except StoreError as exc:  # the jobs stay durable for the next run
                    log.warning("queued vectors not made at close: %s", exc.code)
            if self._llm is not None:
                self._llm.close()
            try:
                self._flush_touches()
            except StoreError as exc:
                log.warning("access counts not saved at close: %s", exc.code)
        finally:
            self.store.close()
            self._embedder_slot.close()

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
        derive: DeriveMode = True,
    ) -> AddResult:
        """Store messages verbatim as episodes and derive memories from them.

        ``derive``: ``True`` derives now with rules (with an LLM: enqueues an
        extraction job), ``"background"`` enqueues a durable job (``job_id`` in the
        result; see :meth:`job`), ``False`` stores episodes only.

        Re-sent messages (same client ``id``) store nothing new: they come back
        with ``created=False``, and memories are derived from a message once
        however many callers send it at the same time. All messages are
        validated before any write; the whole call is one transaction, except
        when a memory the derivation changes was changed meanwhile by another
        writer: the episodes are then stored on their own first (with a durable
        derive job) and derivation is decided again (see :meth:`derive_for`).
        Episodes acknowledged here are stored whatever happens to their
        derivation; ``add`` never raises :class:`~engram.errors.Conflict`.
        """
        sc = self._scope(scope, user_id, agent_id, session_id)
        return self.ingest.add(messages, sc, occurred_at=occurred_at, metadata=metadata,
                               speaker=speaker, role=role, derive=derive)

    def derive_for(self, episode_ids: builtins.list[str], scope: Scope) -> builtins.list[Any]:
        """Run derive -> consolidate -> index for stored episodes, in one write.

        For callers that stored episodes with ``add(..., derive=False)`` and derive
        later. Unknown ids are skipped; returns the memory operations.

        Idempotent and fenced (see :class:`~engram.store.base.Fence`): memories
        are derived from an episode once, however many callers race, and never
        for an episode deleted meanwhile (a ``forget``): then nothing is written
        and ``[]`` is returned. A lost version race is decided again, up to
        :data:`~engram.ingest.pipeline.WRITE_ATTEMPTS` times; only then
        :class:`~engram.errors.Conflict`.
        """
        return self.ingest.derive_for(episode_ids, scope)

    # -- poisoning flags -----------------------------------------------------------
    def flag_review(self, episode_id: str, *, scope: Scope | None = None,
                    user_id: str | None = None, agent_id: str | None = None,
                    session_id: str | None = None) -> FlagReview:
        """Why an episode was flagged as possible memory poisoning, and every operator
        decision on it (see :mod:`engram.trust.review`)."""
        from .trust.review import review

        return review(self.store, self._scope(scope, user_id, agent_id, session_id), episode_id)

    def clear_flag(self, episode_id: str, *, reason: str, by: str | None = None,
                   expected_version: int | None = None, scope: Scope | None = None,
                   user_id: str | None = None, agent_id: str | None = None,
                   session_id: str | None = None) -> FlagReview:
        """Clear a false poisoning flag (a versioned, kept decision), then derive
        memories from the episode as if it had never been flagged."""
        from .trust.review import decide

        sc = self._scope(scope, user_id, agent_id, session_id)
        done = decide(self.store, sc, episode_id, "cleared", reason=reason, by=by,
                      expected_version=expected_version)
        self.derive_for([episode_id], sc)
        return done

    def restore_flag(self, episode_id: str, *, reason: str, by: str | None = None,
                     expected_version: int | None = None, scope: Scope | None = None,
                     user_id: str | None = None, agent_id: str | None = None,
                     session_id: str | None = None) -> FlagReview:
        """Put a cleared flag back: the episode is again left out of context and of
        later derivation (memories already derived from it stay)."""
        from .trust.review import decide

        return decide(self.store, self._scope(scope, user_id, agent_id, session_id), episode_id,
                      "flagged", reason=reason, by=by, expected_version=expected_version)

    # -- background jobs ---------------------------------------------------------
    def process_pending(self, max_jobs: int | None = None, *,
                        now: datetime | None = None) -> WorkReport:
        """Run pending background jobs (rule derivation, LLM extraction, summaries)
        now; failures are retried later."""
        if self.llm_settings is not None:
            _ = self.llm  # registers the LLM job handlers
        self.ingest.embeds.drain()  # queued vectors (not counted in the report)
        return self.jobs.run_pending(max_jobs, now=now)

    def pending(
        self,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> PipelineStatus:
        """Background jobs per status (in a scope, or store-wide) and pipeline totals."""
        sc = self._optional_scope(scope, user_id, agent_id, session_id)
        if self.llm_settings is not None:
            _ = self.llm  # its usage ledger feeds the status
        return self.jobs.status(sc)

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
        sc = self._read_scope(query, limit, scope, user_id, agent_id, session_id)
        f = make_filters(filters, kinds=kinds, start=start, end=end, metadata=metadata, as_of=as_of)
        return self._search(query, sc, f, self._preset(preset), limit, now, track_access)

    def _read_scope(self, query: str, limit: int, scope: Scope | None, user_id: str | None,
                    agent_id: str | None, session_id: str | None) -> Scope:
        """The scope of a search for ``query``, its query and ``limit`` checked."""
        sc = self._scope(scope, user_id, agent_id, session_id)
        check_text(query, self.config.max_text_bytes, "query")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be an integer between 1 and {MAX_LIMIT}")
        return sc

    def _search(self, query: str, sc: Scope, f: SearchFilters, cfg: RetrievalConfig,
                limit: int, now: datetime | None, track_access: bool,
                query_vector: Any = None) -> builtins.list[Hit]:
        """:meth:`search` after its checks; ``query_vector``: the query's embedding
        (``embed_one(query, "query")``, or :func:`engram.retrieval.unnamed.embedded`'s
        pair for ``cfg``) where the caller has made it already."""
        ref_now = ensure_aware(now, "now") if now is not None else _now()
        self.ingest.embeds.settle()  # vectors queued here first (embed_queue)
        with self.store.reading():  # one search, one look for writes made elsewhere
            if self.cache is None:
                hits = self.searcher.search(query, sc, f, cfg, limit, ref_now, query_vector)
            else:
                from .agents.cache import cached_search

                hits = cached_search(self.cache, self.searcher, self.embedder, query, sc, f,
                                     cfg, limit, ref_now, now is not None)
        if track_access:
            self._access.record(sc.tenant, [h.ref.id for h in hits if h.ref.type == "memory"])
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
        rendered as quoted data. Turns are listed under one header per day; each line
        starts with a short reference ``[n]``: ``items[n - 1]`` holds its id. The top
        hits show their whole text, a long line lower in the ranking only its
        sentences about ``query``, cuts marked ``…`` (see
        :func:`engram.retrieval.context.build_context`)."""
        if not isinstance(max_tokens, int) or not 32 <= max_tokens <= 200_000:
            raise InvalidInput("max_tokens must be an integer between 32 and 200000")
        hits = self._context_hits(
            query, scope=scope, user_id=user_id, agent_id=agent_id, session_id=session_id,
            limit=min(MAX_LIMIT, max(candidates, 10)), filters=filters, as_of=as_of,
            preset=preset, now=now, include_flagged=include_flagged,
        )
        return build_context(hits, max_tokens, self.count_tokens, query,
                             wordpiece=self.embedder().wordpiece)

    def _context_hits(self, query: str, *, scope: Scope | None = None,
                      user_id: str | None = None, agent_id: str | None = None,
                      session_id: str | None = None, limit: int = 60,
                      filters: SearchFilters | None = None, as_of: datetime | None = None,
                      preset: str | RetrievalConfig | None = None, now: datetime | None = None,
                      track_access: bool = True, include_flagged: bool = False
                      ) -> builtins.list[Hit]:
        """The ranked hits :meth:`context` packs: the search's ``limit`` best with
        the standing instructions the block carries first
        (:mod:`engram.retrieval.standing`), flagged items left out unless
        ``include_flagged``. The query is embedded once, for both."""
        sc = self._read_scope(query, limit, scope, user_id, agent_id, session_id)
        f = make_filters(filters, as_of=as_of)
        cfg = self._preset(preset)
        held = instructions_in(self.store, sc, f, cfg.standing, MAX_LIMIT)
        vector = given = None
        if cfg.standing > 0 and held.topical:  # the question and its unnamed reading at once
            dense = cfg.uses(Signal.DENSE)
            pair = unnamed.embedded(query, self.embedder(), cfg.unnamed_weight if dense else 0.0)
            vector, given = pair.vector, (pair if dense else None)
        hits = self._search(query, sc, f, cfg, limit, now, track_access, given)
        hits = pinned(hits, standing_for(vector, held, self.embedder(), cfg.standing,
                                         cfg.standing_cos))
        return hits if include_flagged else [h for h in hits if not is_flagged(h.item.metadata)]

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
        f = make_filters(filters, kinds=kinds, as_of=as_of)
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
        cand = Candidate(
            kind=mkind, text=text, source_episode_ids=[], subject="",
            valid_from=ensure_aware(valid_from, "valid_from") if valid_from else None,
            valid_to=ensure_aware(valid_to, "valid_to") if valid_to else None,
            importance=float(importance),
        )
        return self.ingest.remember(sc, cand, check_metadata(metadata))

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
            changes["metadata"] = check_metadata(metadata)  # stamped in ingest.commit
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
                now_changes["metadata"] = stamp_changed(old, changes.get("text"),
                                                        changes.get("metadata"))
            return dataclasses.replace(old, **now_changes, updated_at=at, version=old.version + 1)

        return self.ingest.change(sc, memory_id, Operation.UPDATE, change, reason,
                                  expected_version)

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

        gone = self.ingest.change(sc, memory_id, Operation.DELETE, change, reason,
                                  expected_version)
        self._unlink([gone])
        return gone

    def delete_episode(
        self,
        episode_id: str,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> EpisodeDeletion:
        """Hard delete of one episode: gone from the store, every index and the LLM
        cache; memories whose only source it was are hard-deleted with their
        history, others lose it from their sources (a new version). See
        :mod:`engram.ingest.erase`. :class:`~engram.errors.NotFound` when it is
        not in this scope."""
        from .audit import purge_llm_cache

        sc = self._scope(scope, user_id, agent_id, session_id)
        self._flush_touches()
        cache_dir = self.llm_settings.cache_dir if self.llm_settings is not None else None
        purge = None if cache_dir is None else (
            lambda needles: purge_llm_cache(cache_dir, needles, "scoped"))
        erased: builtins.list[Memory] = []
        done = delete_episode(self.ingest, sc, episode_id, purge, erased=erased.extend)
        self._unlink(erased)
        return done

    def links(self, memory_id: str, *, scope: Scope | None = None, user_id: str | None = None,
              agent_id: str | None = None,
              session_id: str | None = None) -> builtins.list[Link]:
        """A memory's links to related memories, best first (see
        :mod:`engram.agents.links`): only to active memories visible in this scope."""
        from .agents.links import links

        return links(self.store, self._scope(scope, user_id, agent_id, session_id), memory_id)

    def _unlink(self, gone: builtins.list[Memory]) -> None:
        """Deleted or erased memories leave the notes linking to them, the search
        cache and the process's memos of texts (:func:`engram.text.clear_text_caches`)."""
        clear_text_caches()
        if self.cache is not None:
            self.cache.invalidate()
        if self.config.link_notes and gone:
            from .agents.links import unlink

            unlink(self.store, lambda b: self.ingest.commit.write(b, link=False), gone)

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
        self._unlink([])  # forgotten text leaves the search cache at once
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
        return write_jsonl(self.export_records(**scope_args), fp)

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
        target = self._optional_scope(scope, user_id, agent_id, None)
        return self.ingest.import_(source, target, batch_size, progress)

    def stats(
        self,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> Stats:
        return self.store.stats(self._optional_scope(scope, user_id, agent_id, session_id))

    def reembed(self, embedder: Embedder | str | None = None, batch_size: int = 256,
                progress: Any = None) -> int:
        """Re-embed every item with ``embedder`` (default: the configured one) and make it
        the store's model. Vectors of the old model are dropped. Returns items embedded."""
        from .embed.registry import get_embedder

        if isinstance(embedder, str):
            embedder = get_embedder(embedder)
        if embedder is None:
            embedder = self._embedder_slot.load()
        done = reembed(self.ingest.commit, embedder, batch_size, progress)
        self._embedder_slot.replace(embedder)
        return done


def _now() -> datetime:
    return now()
