"""The LLM memory pipeline: durable jobs -> extract -> ground -> consolidate -> write.

Episodes are stored first (by :meth:`Engram.add`), together with an
``llm_extract`` job in the same write batch, so nothing the caller sent
depends on the LLM being up. :class:`LLMPipeline` runs those jobs:

1. claim the oldest runnable job (a lease guards against a crashed worker);
2. extract candidates from the job's episodes in one call (:mod:`.derive_llm`);
3. drop ungrounded ones (:mod:`.grounding`), counting them;
4. decide ADD/UPDATE/SUPERSEDE/DELETE/NOOP (:mod:`.consolidate_llm`);
5. write memories, vectors, history and (for a session) an ``llm_summarize``
   job in one atomic batch, then mark the job done.

Any failure (LLM down, slow, 429/500 after the client's own retries,
malformed JSON after its re-asks, a version conflict) puts the job back as
pending with exponential backoff (:data:`RETRY_BASE_SECONDS` doubling up to
:data:`RETRY_MAX_SECONDS`); after :data:`MAX_ATTEMPTS` it is marked failed,
its episodes still stored and searchable. Re-running a job is idempotent:
repeated text and unchanged attribute values are NOOPs, and a job's write is
fenced (:class:`~engram.store.base.Fence`): memories are derived from an
episode once, and a job whose scope was forgotten while it ran (``forget``
deletes its row and its episodes) writes nothing.

Totals (jobs, proposed, accepted, rejected by grounding, operations) are kept
in store metadata (``llm_metrics``), tokens and cost per stage in a
:class:`~engram.llm.UsageLedger`; :meth:`LLMPipeline.status` returns both.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..embed.base import Embedder
from ..errors import EngramError
from ..ids import new_id
from ..llm.config import LLMSettings, build_client
from ..llm.types import UsageLedger, UsageTotals
from ..models import (
    Episode,
    Memory,
    MemoryKind,
    MemoryOp,
    MemoryStatus,
    Operation,
    Scope,
    SearchFilters,
)
from ..store.base import Fence, Job, Store, WriteBatch
from ..timeutil import now as _now
from ..timeutil import shift
from ..trust.provenance import RESERVED_KEY, derived_from, is_flagged, provenance
from . import grounding
from .consolidate import Decision, plan_writes
from .consolidate_llm import LLMConsolidator
from .derive_llm import LLMDeriver
from .grounding import Rejection
from .index import Indexer
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
#: attempts before a job is marked failed
MAX_ATTEMPTS = 8
#: first retry wait; doubles per attempt
RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 900.0
#: a claimed job not finished within this time may be claimed again
LEASE_SECONDS = 600.0
#: earlier messages of the session shown to extraction as context
CONTEXT_EPISODES = 6
_METRICS_KEY = "llm_metrics"
_COUNTERS = ("jobs_done", "jobs_retried", "jobs_failed", "proposed", "accepted", "rejected")


@dataclass
class JobOutcome:
    """What one job did. ``status``: done | retry | failed."""

    job_id: str
    kind: str
    status: str
    error: str | None = None
    operations: list[MemoryOp] = field(default_factory=list)
    proposed: int = 0
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@dataclass
class WorkReport:
    """The jobs one :meth:`LLMPipeline.run_pending` call ran, and their usage."""

    jobs: list[JobOutcome] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    def _count(self, status: str) -> int:
        return sum(1 for j in self.jobs if j.status == status)

    @property
    def done(self) -> int:
        return self._count("done")

    @property
    def retried(self) -> int:
        return self._count("retry")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def rejected(self) -> int:
        return sum(len(j.rejected) for j in self.jobs)

    @property
    def operations(self) -> list[MemoryOp]:
        return [op for j in self.jobs for op in j.operations]


@dataclass
class PipelineStatus:
    """Pending work and running totals. ``jobs`` counts jobs per status in the scope
    asked (or the whole store); ``totals`` are store-wide counters (``proposed``,
    ``accepted``, ``rejected`` by grounding, ``jobs_done``...); ``usage`` is the
    tokens and cost per stage spent by this process."""

    jobs: dict[str, int]
    totals: dict[str, int]
    usage: UsageTotals

    @property
    def pending(self) -> int:
        return self.jobs.get("pending", 0) + self.jobs.get("running", 0)

    @property
    def failed(self) -> int:
        return self.jobs.get("failed", 0)


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
    ) -> None:
        self.store = store
        self._embedder = embedder
        self.settings = settings
        self.summaries = summaries
        self.retry_base = retry_base
        self.max_attempts = max_attempts
        self.ledger = UsageLedger()
        self.clients = {
            stage: build_client(settings, stage, ledger=self.ledger)
            for stage in ("extract", "consolidate", "summarize", "answer")
        }
        self.deriver = LLMDeriver(self.clients["extract"])
        self.summarizer = Summarizer(self.clients["summarize"])
        self._lock = threading.Lock()  # one job at a time: decisions never race
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- enqueue ---------------------------------------------------------------
    @staticmethod
    def extract_job(scope: Scope, episode_ids: list[str]) -> Job:
        """The job to put in the same :class:`WriteBatch` as the episodes."""
        return Job(
            id=new_id("job"), kind=EXTRACT_JOB, scope=scope,
            payload={"episode_ids": list(episode_ids)}, created_at=_now(),
        )

    # -- run -------------------------------------------------------------------
    def run_pending(
        self, max_jobs: int | None = None, *, now: datetime | None = None
    ) -> WorkReport:
        """Run runnable jobs until none is left (or ``max_jobs``); never raises for a
        job's failure (it is retried later). ``now`` is the clock used to pick jobs."""
        report = WorkReport()
        before = self.ledger.snapshot().total
        while max_jobs is None or len(report.jobs) < max_jobs:
            with self._lock:
                job = self.store.claim_job(
                    (EXTRACT_JOB, SUMMARIZE_JOB), now or _now(), LEASE_SECONDS
                )
                if job is None:
                    break
                report.jobs.append(self._run(job, now or _now()))
        after = self.ledger.snapshot().total
        report.prompt_tokens = after.prompt_tokens - before.prompt_tokens
        report.completion_tokens = after.completion_tokens - before.completion_tokens
        report.cost = after.cost - before.cost
        return report

    def _run(self, job: Job, clock: datetime) -> JobOutcome:
        outcome = JobOutcome(job.id, job.kind, "done")
        try:
            if job.kind == EXTRACT_JOB:
                self._extract(job, outcome)
            else:
                self._summarize(job, outcome)
        except Exception as exc:  # a job's failure must never stop the worker
            if isinstance(exc, EngramError):
                outcome.error = f"{exc.code}: {exc}"
            else:
                outcome.error = f"internal: {type(exc).__name__}: {exc}"
                log.exception("LLM job %s crashed", job.id)
            if job.attempts >= self.max_attempts:
                outcome.status = "failed"
                self.store.finish_job(job.id, error=outcome.error)
            else:
                outcome.status = "retry"
                wait = min(self.retry_base * 2 ** (job.attempts - 1), RETRY_MAX_SECONDS)
                self.store.finish_job(
                    job.id, error=outcome.error, retry_at=clock + timedelta(seconds=wait)
                )
            log.warning("LLM job %s (%s) attempt %d: %s", job.id, job.kind, job.attempts,
                        outcome.error)
        else:
            self.store.finish_job(job.id)
        self._count(outcome)
        return outcome

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
        indexer = Indexer(self.store, self._embedder())
        cand_vecs = indexer.vectors([c.text for c in candidates])
        ep_vecs = indexer.vectors([indexer.text_for(e) for e in episodes])
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
        batch = WriteBatch(fence=Fence(job.scope.tenant, tuple(e.id for e in episodes), job.id))
        ops, mems = plan_writes(decisions, job.scope, _now(), batch,
                                derived_from(episodes, "llm"))
        indexer.add_to(batch, mems)
        if self.summaries and any(op.op != Operation.NOOP for op in ops):
            batch.jobs.append(
                Job(id=new_id("job"), kind=SUMMARIZE_JOB, scope=job.scope, payload={},
                    created_at=_now())
            )
        if self.store.write(batch).fenced:
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
        indexer = Indexer(self.store, self._embedder())
        batch = WriteBatch(fence=Fence(scope.tenant, job_id=job.id))  # nothing once forgotten
        at = _now()
        for text, where in pending:
            cand = text.candidate
            if not cand.text:
                continue
            assert cand.attribute_key is not None
            old = self._current(where, cand.attribute_key)
            op = Operation.SUPERSEDE if old is not None else Operation.ADD
            decision = Decision(op, cand, targets=[old] if old else [], reason="summary refreshed")
            # a model's own words about many messages: agent-inferred, quoted in context
            ops, mems = plan_writes(
                [decision], where, at, batch,
                lambda c: {RESERVED_KEY: provenance(c.text, "agent", "llm-summary")},
            )
            for mem in mems:
                if mem.kind == MemoryKind.SUMMARY and text.covered_until is not None:
                    mem.metadata["covered_until"] = text.covered_until
            indexer.add_to(batch, mems)
            outcome.operations.extend(ops)
        if self.store.write(batch).fenced:
            log.info("LLM job %s wrote nothing: its scope was forgotten", job.id)
            outcome.operations = []

    def _current(self, scope: Scope, attribute: str) -> Memory | None:
        owner = scope.with_session(None)
        found = [
            m for m in self.store.active_memories_with_attribute(owner, attribute)
            if m.status == MemoryStatus.ACTIVE
        ]
        return found[0] if found else None

    # -- metrics ----------------------------------------------------------------
    def _count(self, outcome: JobOutcome) -> None:
        totals = self._totals()
        key = {"done": "jobs_done", "retry": "jobs_retried", "failed": "jobs_failed"}
        totals[key[outcome.status]] += 1
        totals["proposed"] += outcome.proposed
        totals["accepted"] += outcome.accepted
        totals["rejected"] += len(outcome.rejected)
        for op in outcome.operations:
            totals[f"op_{op.op.value.lower()}"] = totals.get(f"op_{op.op.value.lower()}", 0) + 1
        self.store.set_meta(_METRICS_KEY, json.dumps(totals, sort_keys=True))

    def _totals(self) -> dict[str, int]:
        raw = self.store.get_meta(_METRICS_KEY)
        totals: dict[str, int] = dict.fromkeys(_COUNTERS, 0)
        if raw:
            try:
                totals.update({k: int(v) for k, v in json.loads(raw).items()})
            except (ValueError, TypeError, AttributeError):
                log.warning("ignoring unreadable %s metadata", _METRICS_KEY)
        return totals

    def status(self, scope: Scope | None = None) -> PipelineStatus:
        """Jobs per status (LLM jobs and any other), store-wide totals, this process's usage."""
        return PipelineStatus(self.store.job_counts(scope), self._totals(), self.ledger.snapshot())

    # -- background ---------------------------------------------------------------
    def start(self, poll_seconds: float = 2.0) -> None:
        """Run jobs in a daemon thread: every ``poll_seconds`` and on :meth:`wake`."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_pending()
                except Exception:  # e.g. the store is briefly unavailable
                    log.exception("LLM worker loop error")
                self._wake.wait(poll_seconds)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name="engram-llm", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask the background thread to look for jobs now."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the background thread after its current job."""
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        self.stop()
        for client in self.clients.values():
            client.close()
