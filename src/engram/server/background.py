"""Derive memories after ``add`` returns: episodes first, knowledge second.

The server stores episodes with ``Engram.add(..., derive=False)`` (durable and
searchable when the request returns) and hands their ids to
:class:`Deriver`, whose single worker thread runs derive -> consolidate ->
index -> one atomic write per job. One worker means consolidation decisions
never race each other. :meth:`Deriver.status` reports a job's progress;
jobs are kept in memory (the last ``keep`` of them) and are lost on restart:
the episodes are never lost, only the memories not yet derived from them.

A ``forget`` fences its scope: :meth:`Deriver.forget` cancels the scope's
queued and running jobs and drops their records (which hold memory text),
and a job's write itself is fenced in the store (see
:class:`~engram.store.base.Fence`), so a job that read the episodes before
the forget writes nothing after it, whatever the order.
"""

from __future__ import annotations

import itertools
import logging
import queue
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from ..engine import Engram
from ..errors import EngramError
from ..models import MemoryOp, Scope
from ..timeutil import now

__all__ = ["DeriveJob", "Deriver", "derive_for"]

log = logging.getLogger("engram.server")


def derive_for(engine: Engram, episode_ids: list[str], scope: Scope) -> list[MemoryOp]:
    """Derive, consolidate and index memories for stored episodes (see
    :meth:`Engram.derive_for`)."""
    return engine.derive_for(episode_ids, scope)


@dataclass
class DeriveJob:
    """One background derivation. ``status``: pending | running | done | failed."""

    id: str
    tenant: str
    scope: Scope
    episode_ids: list[str]
    created_at: datetime
    status: str = "pending"
    finished_at: datetime | None = None
    operations: list[MemoryOp] = field(default_factory=list)
    error: str | None = None
    #: set by :meth:`Deriver.forget`: the job's scope was forgotten; it keeps nothing
    cancelled: bool = False


class Deriver:
    """A single background worker plus a bounded table of job states."""

    def __init__(self, engine: Engram, *, keep: int = 10_000) -> None:
        self.engine = engine
        self.keep = keep
        self._jobs: OrderedDict[str, DeriveJob] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[DeriveJob | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._counter = itertools.count()
        self.failed = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="engram-derive", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish queued jobs, then stop the worker."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def submit(self, scope: Scope, episode_ids: list[str]) -> DeriveJob:
        job = DeriveJob(
            id=f"job_{next(self._counter):x}{secrets.token_hex(6)}", tenant=scope.tenant,
            scope=scope, episode_ids=list(episode_ids), created_at=now(),
        )
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                self._jobs.popitem(last=False)
        self._queue.put(job)
        return job

    def status(self, tenant: str, job_id: str) -> DeriveJob | None:
        """The job if it exists *and* belongs to ``tenant``; otherwise None."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.tenant == tenant else None

    def pending(self) -> int:
        return self._queue.qsize()

    def forget(self, scope: Scope) -> int:
        """Fence a forgotten scope: cancel its queued and running jobs and drop every
        job record of it (they hold memory text). A cancelled job that is running
        keeps no result. Returns how many records were dropped."""

        def matches(job: DeriveJob) -> bool:
            return job.tenant == scope.tenant and all(
                getattr(scope, f) is None or getattr(job.scope, f) == getattr(scope, f)
                for f in ("user_id", "agent_id", "session_id")
            )

        with self._lock:
            gone = [jid for jid, job in self._jobs.items() if matches(job)]
            for jid in gone:
                job = self._jobs.pop(jid)
                job.cancelled = True
                job.operations = []
        return len(gone)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every submitted job finished (used by tests and shutdown)."""
        done = threading.Event()

        def _check() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=_check, daemon=True).start()
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._run_one(job)
            finally:
                self._queue.task_done()

    def _run_one(self, job: DeriveJob) -> None:
        with self._lock:
            if job.cancelled:  # its scope was forgotten while it waited
                return
            job.status = "running"
        ops: list[MemoryOp] = []
        error: str | None = None
        try:
            # a lost version race is decided again inside the engine
            ops = derive_for(self.engine, job.episode_ids, job.scope)
        except EngramError as exc:
            error = f"{exc.code}: {exc}"
            log.warning("derive job %s failed: %s", job.id, error)
        except Exception as exc:  # a worker must survive any one job
            error = f"internal: {type(exc).__name__}"
            log.exception("derive job %s crashed", job.id)
        with self._lock:
            if error is not None:
                self.failed += 1
            if job.cancelled:  # forgotten while it ran: its write was fenced, keep nothing
                return
            job.status, job.error = ("failed", error) if error else ("done", None)
            job.operations = ops
            job.finished_at = now()
