"""The LLM memory pipeline: extract -> ground -> consolidate -> write, as durable jobs.

Episodes are stored first (by :meth:`Engram.add`), together with an
``llm_extract`` job in the same write batch, so nothing the caller sent
depends on the LLM being up. :class:`LLMPipeline` registers two handlers on
the engine's :class:`~engram.ingest.jobs.JobRunner` (which claims, retries
with backoff and marks jobs failed after ``max_attempts``):

1. ``llm_extract``: extract candidates from the job's episodes in one call
   (:mod:`.derive_llm`); drop ungrounded ones (:mod:`.grounding`), counting
   them; decide ADD/UPDATE/SUPERSEDE/DELETE/NOOP (:mod:`.consolidate_llm`);
   write memories, vectors, history and (for a session) an ``llm_summarize``
   job in one atomic batch (:mod:`.commit`);
2. ``llm_summarize``: refresh the session summary and the user profile.

Re-running a job is idempotent: repeated text and unchanged attribute values
are NOOPs, and a job's write is fenced (:class:`~engram.store.base.Fence`):
memories are derived from an episode once, and a job whose scope was
forgotten while it ran (``forget`` deletes its row and its episodes) writes
nothing. Tokens and cost per stage are kept in a :class:`~engram.llm.UsageLedger`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from ..embed.base import Embedder
from ..llm.config import LLMSettings, build_client
from ..llm.types import UsageLedger
from ..models import Episode, Memory, MemoryKind, MemoryStatus, Operation, Scope, SearchFilters
from ..store.base import Job, Store
from ..timeutil import now as _now
from ..timeutil import shift
from ..trust.provenance import is_flagged
from . import grounding
from .commit import Committer, derived_batch, plan_writes, stamp_derived, stamp_summary
from .consolidate import Decision
from .consolidate_llm import LLMConsolidator
from .derive_llm import LLMDeriver
from .jobs import (
    MAX_ATTEMPTS,
    RETRY_BASE_SECONDS,
    RETRY_MAX_SECONDS,
    JobOutcome,
    JobRunner,
    PipelineStatus,
    WorkReport,
    new_job,
)
from .summaries import PROFILE_ATTRIBUTE, SESSION_ATTRIBUTE, Summarizer, SummaryText

__all__ = [
    "EXTRACT_JOB",
    "MAX_ATTEMPTS",
    "RETRY_BASE_SECONDS",
    "RETRY_MAX_SECONDS",
    "SUMMARIZE_JOB",
    "JobOutcome",
    "LLMPipeline",
    "PipelineStatus",
    "WorkReport",
]

log = logging.getLogger("engram.llm")

EXTRACT_JOB = "llm_extract"
SUMMARIZE_JOB = "llm_summarize"
#: earlier messages of the session shown to extraction as context
CONTEXT_EPISODES = 6


class LLMPipeline:
    """Runs the durable LLM jobs of one store (see the module docstring).

    ``embedder`` is a function returning the engine's embedder (loaded lazily).
    ``summaries`` turns session summaries and profile refreshes on.
    """

    def __init__(
        self,
        store: Store,
        embedder: Callable[[], Embedder],
        settings: LLMSettings,
        *,
        summaries: bool = True,
        retry_base: float = RETRY_BASE_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        runner: JobRunner | None = None,
    ) -> None:
        self.store = store
        self.commit = Committer(store, embedder)
        self.settings = settings
        self.summaries = summaries
        self.ledger = UsageLedger()
        self.clients = {
            stage: build_client(settings, stage, ledger=self.ledger)
            for stage in ("extract", "consolidate", "summarize", "answer")
        }
        self.deriver = LLMDeriver(self.clients["extract"])
        self.summarizer = Summarizer(self.clients["summarize"])
        self.runner = runner or JobRunner(store, retry_base=retry_base,
                                          max_attempts=max_attempts)
        self.runner.ledger = self.ledger
        self.runner.register(EXTRACT_JOB, self._extract)
        self.runner.register(SUMMARIZE_JOB, self._summarize)

    @property
    def max_attempts(self) -> int:
        """Attempts before a job is marked failed (the runner's setting)."""
        return self.runner.max_attempts

    @max_attempts.setter
    def max_attempts(self, value: int) -> None:
        self.runner.max_attempts = value

    @property
    def retry_base(self) -> float:
        return self.runner.retry_base

    @retry_base.setter
    def retry_base(self, value: float) -> None:
        self.runner.retry_base = value

    # -- enqueue ---------------------------------------------------------------
    @staticmethod
    def extract_job(scope: Scope, episode_ids: list[str]) -> Job:
        """The job to put in the same :class:`WriteBatch` as the episodes."""
        return new_job(EXTRACT_JOB, scope, episode_ids)

    # -- run (through the runner) ------------------------------------------------
    def run_pending(
        self, max_jobs: int | None = None, *, now: datetime | None = None
    ) -> WorkReport:
        """Run runnable jobs (see :meth:`JobRunner.run_pending`)."""
        return self.runner.run_pending(max_jobs, now=now)

    def _extract(self, job: Job, outcome: JobOutcome) -> None:
        episodes = [e for e in self.store.get_episodes(job.scope,
                                                       list(job.payload.get("episode_ids", [])))
                    if not is_flagged(e.metadata)]  # flagged episodes make no memories
        if not episodes:
            return
        context = self._context(job.scope, episodes)
        extraction = self.deriver.extract(episodes, context)
        candidates = extraction.candidates
        outcome.proposed = len(candidates) + extraction.dropped
        if not candidates:
            return
        indexer = self.commit.indexer()
        cand_vecs = indexer.vectors([c.text for c in candidates], job.scope.tenant)
        ep_vecs = indexer.vectors([indexer.text_for(e) for e in episodes], job.scope.tenant)
        gate = grounding.check(
            candidates,
            {e.id: e for e in episodes},
            cand_vecs,
            {e.id: v for e, v in zip(episodes, ep_vecs, strict=True)},
            [e.text for e in context],
        )
        outcome.rejected = gate.rejected
        outcome.accepted = len(gate.accepted)
        if not gate.accepted:
            return
        kept = {id(c) for c in gate.accepted}
        vecs = [v for c, v in zip(candidates, cand_vecs, strict=True) if id(c) in kept]
        consolidator = LLMConsolidator(
            self.store, self.clients["consolidate"], indexer.embedder.model_id
        )
        decisions = consolidator.decide(job.scope, gate.accepted, vecs)
        # fenced: written once per episode, and not at all if the scope was forgotten
        batch = derived_batch(job.scope.tenant, episodes, job.id)
        ops, mems = plan_writes(decisions, job.scope, _now(), batch,
                                stamp_derived(episodes, "llm"))
        if self.summaries and any(op.op != Operation.NOOP for op in ops):
            batch.jobs.append(new_job(SUMMARIZE_JOB, job.scope))
        if self.commit.write(batch, mems, indexer=indexer).fenced:
            log.info("LLM job %s wrote nothing: its episodes were forgotten or derived", job.id)
            return
        outcome.operations = ops

    def _context(self, scope: Scope, episodes: list[Episode]) -> list[Episode]:
        """Up to :data:`CONTEXT_EPISODES` messages of the same session from the day
        before the batch (none outside a session)."""
        if scope.session_id is None:
            return []
        first = min(e.occurred_at for e in episodes)
        window = SearchFilters(start=shift(first, timedelta(days=-1)), end=first)
        earlier = self.store.list_episodes(scope, window, 200).items
        ids = {e.id for e in episodes}
        return [e for e in earlier if e.id not in ids][-CONTEXT_EPISODES:]

    def _summarize(self, job: Job, outcome: JobOutcome) -> None:
        scope = job.scope
        owner = scope.with_session(None)
        pending: list[tuple[SummaryText, Scope]] = []
        if scope.session_id is not None:
            episodes = self.store.list_episodes(scope, SearchFilters(), 1000).items
            key = f"session:{scope.session_id.lower()}:{SESSION_ATTRIBUTE}"
            previous = self._current(scope, key)
            text = self.summarizer.session(scope.session_id, episodes, previous)
            if text is not None:
                pending.append((text, scope))
        user = scope.user_id or scope.agent_id or "user"
        memories = self.store.list_memories(
            owner, SearchFilters(kinds=frozenset(k.value for k in MemoryKind) - {"summary"}), 500
        ).items
        previous_profile = self._current(owner, f"{user.lower()}:{PROFILE_ATTRIBUTE}")
        profile = self.summarizer.profile(user, memories, previous_profile)
        if profile is not None:
            pending.append((profile, owner))
        if not pending:
            return
        indexer = self.commit.indexer()
        batch = derived_batch(scope.tenant, job_id=job.id)  # nothing once forgotten
        to_index: list[Memory] = []
        at = _now()
        for text, where in pending:
            cand = text.candidate
            if not cand.text:
                continue
            assert cand.attribute_key is not None
            old = self._current(where, cand.attribute_key)
            op = Operation.SUPERSEDE if old is not None else Operation.ADD
            decision = Decision(op, cand, targets=[old] if old else [], reason="summary refreshed")
            ops, mems = plan_writes([decision], where, at, batch, stamp_summary)
            for mem in mems:
                if mem.kind == MemoryKind.SUMMARY and text.covered_until is not None:
                    mem.metadata["covered_until"] = text.covered_until
            to_index.extend(mems)
            outcome.operations.extend(ops)
        if self.commit.write(batch, to_index, indexer=indexer).fenced:
            log.info("LLM job %s wrote nothing: its scope was forgotten", job.id)
            outcome.operations = []

    def _current(self, scope: Scope, attribute: str) -> Memory | None:
        owner = scope.with_session(None)
        found = [
            m for m in self.store.active_memories_with_attribute(owner, attribute)
            if m.status == MemoryStatus.ACTIVE
        ]
        return found[0] if found else None

    # -- status and background (the runner's) ----------------------------------------
    def status(self, scope: Scope | None = None) -> PipelineStatus:
        """Jobs per status (LLM jobs and any other), store-wide totals, this process's usage."""
        return self.runner.status(scope)

    def start(self, poll_seconds: float = 2.0) -> None:
        """Run jobs in the runner's daemon thread (see :meth:`JobRunner.start`)."""
        self.runner.start(poll_seconds)

    def wake(self) -> None:
        self.runner.wake()

    def stop(self, timeout: float = 30.0) -> None:
        self.runner.stop(timeout)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
