"""The durable job runner: background work on the store's jobs table.

Every background step of the write side is a :class:`~engram.store.base.Job`
row, written in the same batch as the episodes it is about (or enqueued when a
derivation lost all its retries), so it survives a crash or a restart:

* ``derive``: rule derivation of stored episodes (``add(..., derive="background")``);
* ``llm_extract`` and ``llm_summarize``: the LLM pipeline (:mod:`.llm_jobs`);
* ``embed``: the vectors of stored episodes (``embed_queue=True``), run by a
  runner of its own (:mod:`.embed_queue`) so it never waits behind an LLM call.

:class:`JobRunner` claims the oldest runnable job of the kinds it has a
handler for (a lease guards against a crashed worker), runs it and marks it
done with its result (operation ids and reasons, never memory text: see
:meth:`JobRunner.view`). Jobs run one at a time, so consolidation decisions
of this process never race each other. A failure puts the job back as pending
with exponential backoff (:data:`RETRY_BASE_SECONDS` doubling up to
:data:`RETRY_MAX_SECONDS`); after ``max_attempts`` it is marked failed, its
episodes still stored and searchable.

A done job is kept for ``retention`` seconds after it finished (its record,
:meth:`JobRunner.view`, answers a client polling it), then deleted
(:meth:`~engram.store.base.Store.purge_jobs`, at most every
:data:`PURGE_EVERY_SECONDS`, at the end of :meth:`JobRunner.run_pending`), so the
jobs table holds the queue, the recent past and the failures, not every add ever
made. Failed jobs are never purged (``engram`` shows them); the retention is the
config's ``job_retention`` (derive and LLM jobs, whose record carries the
operations) and ``embed_job_retention`` (``embed`` jobs), see :mod:`engram.config`.

A ``forget`` deletes its scope's jobs (:meth:`~engram.store.base.Store.forget`)
and every derived write is fenced on its job
(:class:`~engram.store.base.Fence`): a job running while its scope is
forgotten writes nothing, and its record (:meth:`JobRunner.view`) is gone.

Totals (jobs done/retried/failed; LLM proposals, acceptances, rejections;
operations) are kept by the store (:meth:`~engram.store.base.Store.add_counters`,
per tenant where the backend can), tokens and cost per stage in the LLM
pipeline's :class:`~engram.llm.UsageLedger` when there is one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import EngramError
from ..ids import new_id
from ..models import MemoryOp, Operation, Scope
from ..store.base import Job, Store
from ..timeutil import now as _now

if TYPE_CHECKING:
    from ..llm.types import UsageLedger, UsageTotals
    from .grounding import Rejection

__all__ = [
    "DERIVE_JOB",
    "MAX_ATTEMPTS",
    "PURGE_BATCH",
    "PURGE_BATCHES_PER_PASS",
    "PURGE_EVERY_SECONDS",
    "RETRY_BASE_SECONDS",
    "RETRY_MAX_SECONDS",
    "JobOutcome",
    "JobRunner",
    "JobView",
    "PipelineStatus",
    "WorkReport",
    "job_result",
    "new_job",
]

log = logging.getLogger("engram.jobs")

#: rule derivation of stored episodes
DERIVE_JOB = "derive"
#: attempts before a job is marked failed
MAX_ATTEMPTS = 8
#: first retry wait; doubles per attempt
RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 900.0
#: a claimed job not finished within this time may be claimed again
LEASE_SECONDS = 600.0
#: done jobs past their retention are looked for at most this often (per runner)
PURGE_EVERY_SECONDS = 60.0
#: jobs deleted per store call while purging (calls repeat until fewer come back)
PURGE_BATCH = 1000
#: store calls per purge in :meth:`JobRunner.run_pending` (a backlog, e.g. a large
#: store's first start with a retention, goes over a few passes, so the queue never
#: stalls behind it; 20,000 a minute is more than the embed queue finishes)
PURGE_BATCHES_PER_PASS = 20
_COUNTERS = ("jobs_done", "jobs_retried", "jobs_failed", "proposed", "accepted", "rejected")


def new_job(kind: str, scope: Scope, episode_ids: list[str] | None = None) -> Job:
    """A job to put in the same :class:`~engram.store.base.WriteBatch` as its episodes."""
    payload = {"episode_ids": list(episode_ids)} if episode_ids is not None else {}
    return Job(id=new_id("job"), kind=kind, scope=scope, payload=payload, created_at=_now())


def job_result(operations: list[MemoryOp]) -> dict[str, Any]:
    """What a finished job keeps: its operations without their text (the text is
    read from the memories when shown, so the jobs table holds no personal text)."""
    return {"operations": [{"op": str(op.op), "memory_id": op.memory_id, "reason": op.reason,
                            "previous_id": op.previous_id} for op in operations]}


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
    """The jobs one :meth:`JobRunner.run_pending` call ran, and their LLM usage."""

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


@dataclass
class JobView:
    """A job as ``GET /v1/jobs/{id}`` shows it. ``status``: pending | running | done |
    failed; ``operations`` carry the current text of the memories they name."""

    id: str
    kind: str
    status: str
    episode_ids: list[str]
    created_at: datetime | None
    finished_at: datetime | None
    operations: list[MemoryOp]
    error: str | None


#: runs one job; raises to have it retried; records what it did in the outcome
Handler = Callable[[Job, JobOutcome], None]


class JobRunner:
    """Runs the durable jobs of one store (module docstring). Handlers are
    registered per job kind; only those kinds are claimed."""

    def __init__(self, store: Store, *, retry_base: float = RETRY_BASE_SECONDS,
                 max_attempts: int = MAX_ATTEMPTS, claim_batch: int = 1,
                 prepare: Callable[[list[Job]], None] | None = None,
                 count: bool = True, retention: float = 0.0) -> None:
        self.store = store
        self.retry_base = retry_base
        self.max_attempts = max_attempts
        #: jobs claimed together (up to); ``prepare(jobs)`` runs once over them before
        #: each is handled (e.g. one embedding pass for many jobs: :mod:`.embed_queue`);
        #: a failing ``prepare`` is logged and each job then runs on its own
        self.claim_batch = max(1, claim_batch)
        self.prepare = prepare
        #: keep the store-wide totals (:meth:`totals`) for the jobs run here
        self.count = count
        #: seconds a done job of this runner's kinds is kept after it finished
        #: (``<= 0``: kept for ever); older ones are purged by :meth:`run_pending`
        self.retention = retention
        self._purged_at: datetime | None = None
        self.handlers: dict[str, Handler] = {}
        #: the LLM pipeline's ledger (tokens and cost in reports), when there is one
        self.ledger: UsageLedger | None = None
        #: jobs that failed for good since this runner was made
        self.failed = 0
        self._lock = threading.Lock()  # one job at a time: decisions never race
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    # -- run -------------------------------------------------------------------
    def run_pending(
        self, max_jobs: int | None = None, *, now: datetime | None = None
    ) -> WorkReport:
        """Run runnable jobs until none is left (or ``max_jobs``); never raises for a
        job's failure (it is retried later). ``now`` is the clock used to pick jobs."""
        report = WorkReport()
        before = self.ledger.snapshot().total if self.ledger is not None else None
        while max_jobs is None or len(report.jobs) < max_jobs:
            if self._stop.is_set() and threading.current_thread() is self._thread:
                break  # stop() asked the background thread to end after its current job
            with self._lock:
                room = self.claim_batch if max_jobs is None else min(
                    self.claim_batch, max_jobs - len(report.jobs))
                claimed = self._claim(room, now)
                if not claimed:
                    break
                if self.prepare is not None:
                    try:
                        self.prepare(claimed)
                    except Exception:  # each job then does its own work, and may retry
                        log.exception("preparing %d jobs failed", len(claimed))
                for job in claimed:
                    report.jobs.append(self._run(job, now or _now()))
        self._purge_due(now or _now())
        if self.ledger is not None and before is not None:
            after = self.ledger.snapshot().total
            report.prompt_tokens = after.prompt_tokens - before.prompt_tokens
            report.completion_tokens = after.completion_tokens - before.completion_tokens
            report.cost = after.cost - before.cost
        return report

    def purge(self, now: datetime | None = None, max_batches: int | None = None) -> int:
        """Delete the done jobs of this runner's kinds (every tenant) that finished
        more than :attr:`retention` seconds before ``now``, in batches of
        :data:`PURGE_BATCH` (all of them, or ``max_batches`` batches); return how
        many. Pending, running and failed jobs stay; a purged job's :meth:`view` is
        ``None``. Nothing with no retention."""
        if self.retention <= 0 or not self.handlers:
            return 0
        before = (now or _now()) - timedelta(seconds=self.retention)
        purged, batches = 0, 0
        while max_batches is None or batches < max_batches:
            n = self.store.purge_jobs(tuple(self.handlers), before, PURGE_BATCH)
            purged, batches = purged + n, batches + 1
            if n < PURGE_BATCH:
                break
        return purged

    def _purge_due(self, clock: datetime) -> None:
        """:meth:`purge` when the last one is :data:`PURGE_EVERY_SECONDS` old (best
        effort: a failure is logged and tried again next time)."""
        last = self._purged_at
        if self.retention <= 0 or (
                last is not None and abs((clock - last).total_seconds()) < PURGE_EVERY_SECONDS):
            return
        self._purged_at = clock
        try:
            self.purge(clock, PURGE_BATCHES_PER_PASS)
        except Exception:  # housekeeping must never stop the worker
            log.exception("purging finished jobs failed")

    def _claim(self, room: int, now: datetime | None) -> list[Job]:
        claimed: list[Job] = []
        while len(claimed) < room:
            job = self.store.claim_job(tuple(self.handlers), now or _now(), LEASE_SECONDS)
            if job is None:
                break
            claimed.append(job)
        return claimed

    def _run(self, job: Job, clock: datetime) -> JobOutcome:
        outcome = JobOutcome(job.id, job.kind, "done")
        try:
            self.handlers[job.kind](job, outcome)
        except Exception as exc:  # a job's failure must never stop the worker
            outcome.operations = []
            if isinstance(exc, EngramError):
                outcome.error = f"{exc.code}: {exc}"
            else:
                outcome.error = f"internal: {type(exc).__name__}: {exc}"
                log.exception("job %s crashed", job.id)
            if job.attempts >= self.max_attempts:
                outcome.status = "failed"
                self.failed += 1
                self.store.finish_job(job.id, error=outcome.error, tenant=job.scope.tenant)
            else:
                outcome.status = "retry"
                wait = min(self.retry_base * 2 ** (job.attempts - 1), RETRY_MAX_SECONDS)
                self.store.finish_job(
                    job.id, error=outcome.error, retry_at=clock + timedelta(seconds=wait),
                    tenant=job.scope.tenant,
                )
            log.warning("job %s (%s) attempt %d: %s", job.id, job.kind, job.attempts,
                        outcome.error)
        else:
            self.store.finish_job(job.id, result=job_result(outcome.operations),
                                  tenant=job.scope.tenant)
        self._count(job.scope.tenant, outcome)
        return outcome

    # -- read --------------------------------------------------------------------
    def view(self, tenant: str, job_id: str) -> JobView | None:
        """The job ``job_id`` of ``tenant``; ``None`` when there is none (another
        tenant's, deleted by a forget of its scope, or done and purged after its
        :attr:`retention`)."""
        job = self.store.get_job(tenant, job_id)
        if job is None:
            return None
        raw = (job.result or {}).get("operations") or []
        ids = [str(o["memory_id"]) for o in raw if o.get("memory_id")]
        texts = {m.id: m.text for m in self.store.get_memories(Scope(tenant=tenant), ids)}
        ops = [MemoryOp(Operation(o["op"]), o.get("memory_id"),
                        texts.get(o.get("memory_id") or "", ""), o.get("reason") or "",
                        o.get("previous_id")) for o in raw]
        return JobView(
            id=job.id, kind=job.kind, status=job.status,
            episode_ids=[str(i) for i in job.payload.get("episode_ids", [])],
            created_at=job.created_at, finished_at=job.finished_at, operations=ops,
            error=job.last_error if job.status == "failed" else None,
        )

    def status(self, scope: Scope | None = None) -> PipelineStatus:
        """Jobs per status (in ``scope`` or store-wide), store-wide totals, this
        process's LLM usage."""
        from ..llm.types import UsageLedger

        ledger = self.ledger if self.ledger is not None else UsageLedger()
        return PipelineStatus(self.store.job_counts(scope), self.totals(), ledger.snapshot())

    def pending(self) -> int:
        """Jobs of the whole store not finished yet (pending or running)."""
        counts = self.store.job_counts(None)
        return counts.get("pending", 0) + counts.get("running", 0)

    # -- metrics ----------------------------------------------------------------
    def _count(self, tenant: str, outcome: JobOutcome) -> None:
        if not self.count:
            return
        key = {"done": "jobs_done", "retry": "jobs_retried", "failed": "jobs_failed"}
        deltas = {key[outcome.status]: 1, "proposed": outcome.proposed,
                  "accepted": outcome.accepted, "rejected": len(outcome.rejected)}
        for op in outcome.operations:
            name = f"op_{op.op.value.lower()}"
            deltas[name] = deltas.get(name, 0) + 1
        # one increment keyed on the job's tenant (one shard on Citus, no store-wide row)
        self.store.add_counters(tenant, {k: n for k, n in deltas.items() if n})

    def totals(self) -> dict[str, int]:
        """Store-wide running totals (see the module docstring)."""
        totals: dict[str, int] = dict.fromkeys(_COUNTERS, 0)
        totals.update(self.store.counters())
        return totals

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
                    log.exception("job worker loop error")
                self._wake.wait(poll_seconds)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name="engram-jobs", daemon=True)
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

    @property
    def running(self) -> bool:
        return self._thread is not None
