"""Episode vectors off the caller's path: a durable ``embed`` job per ``add``.

With ``embed_queue=True`` (config), :meth:`engram.Engram.add` writes its episodes,
their lexical index entries and one ``embed`` job in the same transaction, and
returns without running the embedder on them (memories derived by rules are
still embedded at once: consolidation compares their vectors). The job is as
durable as the episodes (:data:`~engram.store.base.EPISODE_JOB_KINDS`: it stays
with them when a derivation's fence drops the derived rows), so a crash or a
restart leaves vectors to make, never episodes without a way to get them.

:class:`EmbedQueue` runs those jobs with a :class:`~engram.ingest.jobs.JobRunner`
of its own (never behind a slow LLM job), many jobs per embedding pass (their
texts length-sorted together: :meth:`~engram.embed.onnx_minilm.OnnxMiniLM.embed`):

* in a daemon thread, woken by every ``add`` (:meth:`start`; ``engram serve``,
  ``engram mcp`` and :meth:`engram.Engram.start_jobs`);
* before a search, when this engine queued vectors since its last drain
  (:meth:`settle`): a search after ``add`` sees every message, lexically and by
  meaning, with or without the thread; the first search of an engine opened
  with ``embed_queue=True`` also runs what an earlier process left;
* in :meth:`engram.Engram.process_pending` and :meth:`engram.Engram.close`
  (:meth:`drain`).

Forget and delete win: a job's vectors are written under a
:class:`~engram.store.base.Fence` on the job itself (a forget deletes its
scope's jobs, so a job running meanwhile writes nothing), only for episodes
that still exist (the store refuses a vector for a missing item, so an episode
deleted between the read and the write fails the job, which is retried without
it).

A done ``embed`` job is deleted ``retention`` seconds after it finished (config
``embed_job_retention``, one hour by default; :meth:`~engram.ingest.jobs.JobRunner.purge`
after a drain, at most once a minute): its record says only that the vectors
were made, and one job per ``add`` would otherwise grow the jobs table without
bound. A client polling the job later gets ``None`` (HTTP 404), as after a forget.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from ..models import Episode, Scope
from ..store.base import Fence, Job, WriteBatch
from ..timeutil import now
from .commit import Committer
from .index import Indexer
from .jobs import JobOutcome, JobRunner, WorkReport, new_job

__all__ = ["EMBED_JOB", "EmbedQueue", "embed_job"]

#: the job kind making the vectors of stored episodes
EMBED_JOB = "embed"
#: jobs claimed (and embedded in one pass) together
CLAIM_BATCH = 32
#: seconds a done embed job is kept (the config's ``embed_job_retention`` default)
RETENTION_SECONDS = 3600.0
#: retry wait of a failed embed job (doubling); short: nothing is decided here
RETRY_BASE_SECONDS = 1.0
#: queue delays kept for :meth:`EmbedQueue.delays`
_DELAYS_KEPT = 100_000


def embed_job(scope: Scope, episode_ids: list[str]) -> Job:
    """The job making the vectors of ``episode_ids`` (written with them)."""
    return new_job(EMBED_JOB, scope, episode_ids)


class EmbedQueue:
    """Runs ``embed`` jobs (module docstring). ``enabled``: ``add`` queues its
    episodes' vectors (:attr:`defer`); the jobs run whatever it says, so a store
    written with the queue and opened without it still gets its vectors from
    :meth:`drain` and the thread."""

    def __init__(self, commit: Committer, *, enabled: bool,
                 claim_batch: int = CLAIM_BATCH,
                 retention: float = RETENTION_SECONDS) -> None:
        self.commit = commit
        self.enabled = enabled
        self.runner = JobRunner(commit.store, retry_base=RETRY_BASE_SECONDS,
                                claim_batch=claim_batch, prepare=self._prepare, count=False,
                                retention=retention)
        self.runner.register(EMBED_JOB, self._run)
        self._indexer: Indexer | None = None
        #: the episodes :meth:`_prepare` read, by job id (the handler reads them once)
        self._read: dict[str, list[Episode]] = {}
        # generations: queued by this engine vs drained; unequal = maybe pending.
        # Enabled, the first search also runs what an earlier process left.
        self._queued = 1 if enabled else 0
        self._drained = 0
        self._gen_lock = threading.Lock()
        self._delays: deque[float] = deque(maxlen=_DELAYS_KEPT)

    @property
    def defer(self) -> Callable[[Scope, list[str]], Job] | None:
        """The job factory an :class:`~engram.ingest.index.Indexer` defers episode
        vectors to (``None`` when the queue is off: vectors are made inline)."""
        return embed_job if self.enabled else None

    def queued(self) -> None:
        """Note that a write just queued vectors: the next :meth:`settle` drains, the
        thread (if running) wakes."""
        with self._gen_lock:
            self._queued += 1
        self.runner.wake()

    @property
    def pending_here(self) -> bool:
        """Whether this engine queued vectors since its last drain."""
        return self._queued != self._drained

    def settle(self) -> None:
        """Drain when this engine queued vectors since the last drain (cheap
        otherwise: no store access)."""
        if self._queued != self._drained:
            self.drain()

    def drain(self) -> WorkReport:
        """Run every runnable ``embed`` job of the store now (jobs claimed by another
        process are left to it). Waits for a job the thread is running."""
        gen = self._queued
        report = self.runner.run_pending()
        with self._gen_lock:
            self._drained = max(self._drained, gen)
        return report

    def start(self, poll_seconds: float = 2.0) -> None:
        """Run jobs in a daemon thread, woken by :meth:`queued`."""
        self.runner.start(poll_seconds)

    def stop(self) -> None:
        self.runner.stop()

    def delays(self) -> list[float]:
        """Seconds from each job's creation to its vectors written, in this process
        (the last 100,000 jobs)."""
        return list(self._delays)

    # -- the job -------------------------------------------------------------------
    def _prepare(self, jobs: list[Job]) -> None:
        """One embedding pass for the claimed jobs' episodes (the handler then
        reuses the vectors from the indexer's memo, dropped with the read episodes
        once the last of them ran: no text or vector is kept between batches)."""
        self._indexer, self._read = None, {}
        self._indexer = indexer = self.commit.indexer()
        self._read = {job.id: self._episodes(job) for job in jobs}
        texts = [indexer.text_for(e) for eps in self._read.values() for e in eps]
        if texts:
            tenants = {j.scope.tenant for j in jobs}
            indexer.vectors(texts, tenants.pop() if len(tenants) == 1 else None)

    def _episodes(self, job: Job) -> list[Episode]:
        ids = [str(i) for i in job.payload.get("episode_ids", [])]
        return self.commit.store.get_episodes(job.scope, ids) if ids else []

    def _run(self, job: Job, outcome: JobOutcome) -> None:
        indexer = self._indexer or self.commit.indexer()
        episodes = self._read.pop(job.id, None)
        if not self._read:
            self._indexer = None  # the batch's last job: its memo of vectors goes
        records = indexer.vector_records(self._episodes(job) if episodes is None else episodes)
        if records:
            self.commit.write(WriteBatch(vectors=records,
                                         fence=Fence(job.scope.tenant, (), job.id)))
        if job.created_at is not None:
            self._delays.append(max(0.0, (now() - job.created_at).total_seconds()))

