"""The write paths of the engine: add, derive, remember, change, import.

:class:`Ingest` runs the pipeline of :meth:`engram.Engram.add`: segment
(messages -> episodes) -> derive (episodes -> candidate memories) ->
consolidate (candidates -> operations) -> commit (provenance, versions,
vectors, fence, one atomic write). Derivation is chosen once, here:

* rules, inline (``derive=True`` without an LLM): in the same write as the
  episodes when no other writer changed a memory it touches;
* a durable job (``derive="background"``, or any ``derive`` with an LLM):
  the job row is written with the episodes and run by the
  :class:`~engram.ingest.jobs.JobRunner` (``derive`` for rules,
  ``llm_extract`` for the LLM);
* none (``derive=False``).

When an inline derivation loses its version race to other writers
:data:`WRITE_ATTEMPTS` times, its episodes are already stored with a
``derive`` job (written with them), so it is finished later by the runner,
never dropped.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import IO, Any, Literal

from ..agents.preferences import track_preferences
from ..embed.base import Embedder
from ..errors import Conflict, InvalidInput, NotFound
from ..models import (
    AddResult,
    Episode,
    EpisodeResult,
    Memory,
    MemoryOp,
    Operation,
    Scope,
)
from ..store.base import Job, Store, WriteBatch
from ..timeutil import now
from ..transfer import ImportReport, parse_jsonl
from ..trust.provenance import is_flagged
from .commit import (
    Committer,
    derived_batch,
    derived_fence,
    message_batch,
    new_memory,
    plan_writes,
    stamp_derived,
    stamp_direct,
    stamp_imported,
    stamp_messages,
)
from .consolidate import Decision, RuleConsolidator
from .derive import Candidate, Deriver, RuleDeriver
from .embed_queue import RETENTION_SECONDS, EmbedQueue
from .endings import ended, ended_since
from .index import Indexer, memory_text
from .jobs import DERIVE_JOB, JobOutcome, JobRunner, job_result, new_job
from .segment import to_episodes, to_messages

__all__ = ["WRITE_ATTEMPTS", "DeriveMode", "Ingest", "backoff"]

log = logging.getLogger("engram")

#: tries of a write that lost a version race to another writer (decided again on
#: the latest state each time) before ``Conflict``
WRITE_ATTEMPTS = 12

#: ``True``: now (rules) or as a job (LLM); ``"background"``: as a job; ``False``: never
DeriveMode = bool | Literal["background"]


def backoff(attempt: int) -> None:
    """Sleep before retrying a lost race: exponential with jitter, so racing
    writers drift apart (at most 0.2 s)."""
    time.sleep(random.uniform(0, min(0.2, 0.002 * 2 ** attempt)))


class Ingest:
    """The write side of one engine (module docstring).

    ``deriver``: the rule deriver (``None``: no rule derivation); ``llm_job``
    makes the LLM extraction job for new episodes (``None``: no LLM)."""

    def __init__(self, store: Store, embedder: Callable[[], Embedder], jobs: JobRunner, *,
                 deriver: Deriver | None, max_text_bytes: int,
                 llm_job: Callable[[Scope, list[str]], Job] | None = None,
                 embed_queue: bool = False, embed_retention: float = RETENTION_SECONDS) -> None:
        self.store = store
        self.commit = Committer(store, embedder)
        #: episode vectors as durable jobs (``embed_queue``), see :mod:`.embed_queue`
        self.embeds = EmbedQueue(self.commit, enabled=embed_queue, retention=embed_retention)
        self.jobs = jobs
        self.deriver = deriver
        self.max_text_bytes = max_text_bytes
        self.llm_job = llm_job
        #: striped per-user locks: derivations for one user run one at a time
        self._derive_locks = [threading.RLock() for _ in range(64)]
        jobs.register(DERIVE_JOB, self._derive_job)

    # -- add ---------------------------------------------------------------------------
    def add(self, messages: Any, sc: Scope, *, occurred_at: datetime | None,
            metadata: dict[str, Any] | None, speaker: str | None, role: str | None,
            derive: DeriveMode) -> AddResult:
        """See :meth:`engram.Engram.add`."""
        if derive not in (True, False, "background"):
            raise InvalidInput("derive must be true, false or 'background'")
        msgs = to_messages(messages, speaker=speaker, role=role)
        at = now()
        episodes = to_episodes(msgs, sc, occurred_at=occurred_at, metadata=metadata,
                               created_at=at, max_text_bytes=self.max_text_bytes)
        stamp_messages(episodes)
        existing = self.store.existing_episode_ids(sc.tenant, [e.id for e in episodes])
        fresh = [e for e in episodes if e.id not in existing]
        #: flagged (possibly poisoned) episodes are kept but never turned into memories
        derivable = [e for e in fresh if not is_flagged(e.metadata)]
        result = AddResult(
            episodes=[EpisodeResult(e.id, e.id not in existing) for e in episodes])
        if not fresh:
            return result
        ids = [e.id for e in derivable]
        jobs: list[Job] = []
        if derive and derivable and self.llm_job is not None:
            jobs.append(self.llm_job(sc, ids))  # durable with the episodes
        elif derive == "background" and derivable and self.deriver is not None:
            jobs.append(new_job(DERIVE_JOB, sc, ids))
        batch = message_batch(fresh, jobs)
        rules = derive is True and not batch.jobs and self.deriver is not None and derivable
        result.job_id = batch.jobs[0].id if batch.jobs else None
        indexer = self.commit.indexer()
        indexer.defer = self.embeds.defer
        with self._derive_lock(sc) if rules else contextlib.nullcontext():
            mems: list[Memory] = []
            if rules:
                result.operations, mems = self._rules(sc, derivable, indexer, at, batch)
                batch.fence = derived_fence(sc.tenant, derivable)
            try:
                outcome = self.commit.write(batch, [*fresh, *mems], indexer=indexer)
            except Conflict:
                # a memory this derivation changes was changed meanwhile (another
                # process, or a caller's update): the messages never wait on a
                # derived memory, so store them alone with a durable derive job,
                # then decide again
                job = new_job(DERIVE_JOB, sc, ids)
                outcome = self.commit.write(message_batch(fresh, [job]), fresh, indexer=indexer)
                outcome.fenced = True
                batch.jobs = [job]
            if rules and outcome.fenced:
                mine = set(outcome.created_episode_ids)
                result.operations = self._derive_now(
                    sc, [e for e in derivable if e.id in mine], batch.jobs, result)
        if outcome.existing_episode_ids:  # lost a race with a concurrent identical add
            gone = set(outcome.existing_episode_ids)
            result.episodes = [
                EpisodeResult(r.id, r.created and r.id not in gone) for r in result.episodes
            ]
        if result.job_id is not None:
            self.jobs.wake()
        if indexer.deferred:
            self.embeds.queued()
        return result

    def _derive_now(self, sc: Scope, episodes: list[Episode], jobs: list[Job],
                    result: AddResult) -> list[MemoryOp]:
        """Derive from episodes this call stored after its first write lost a race (a
        concurrent identical add that stored one first derives from that one itself).
        With a derive job stored beside them, the job is finished here, or left to the
        runner when this derivation too loses all its races."""
        job = next((j for j in jobs if j.kind == DERIVE_JOB), None)
        try:
            ops = self.derive_stored(episodes, sc, job.id if job else None)
        except Conflict as exc:  # stored, not derived: never the caller's error
            if job is None:  # queued durably, never dropped
                job = new_job(DERIVE_JOB, sc, [e.id for e in episodes])
                self.commit.enqueue([job])
            log.warning("derivation of %d stored episodes left to job %s: %s",
                        len(episodes), job.id, exc)
            result.job_id = job.id
            return []
        if job is not None:
            self.store.finish_job(job.id, result=job_result(ops), tenant=job.scope.tenant)
        return ops

    def _derive_lock(self, scope: Scope) -> threading.RLock:
        """The lock serialising this process's derivations for one user (or agent):
        their decisions then never race each other (other processes may: a lost
        race is a :class:`Conflict`, decided again)."""
        owner = (scope.tenant, scope.user_id, None if scope.user_id else scope.agent_id)
        return self._derive_locks[hash(owner) % len(self._derive_locks)]

    def _rules(self, scope: Scope, episodes: Sequence[Episode], indexer: Indexer,
               at: datetime, batch: WriteBatch) -> tuple[list[MemoryOp], list[Memory]]:
        """Rule derivation and consolidation of ``episodes`` into ``batch``: the
        operations, and the memories to (re-)embed."""
        assert self.deriver is not None
        candidates: list[Candidate] = self.deriver.derive(episodes)
        decisions: list[Decision] = []
        if candidates:
            texts = [c.text for c in candidates]
            # one embedding pass: the candidates, and the memories they may become
            vecs = indexer.vectors(
                texts + [memory_text(c.text, c.valid_from or at) for c in candidates],
                scope.tenant)[:len(texts)]
            decisions = RuleConsolidator(self.store, indexer.embedder.model_id).decide(
                scope, candidates, vecs)
            decisions = track_preferences(self.store, scope, episodes, decisions)  # one a topic
        # what a later message ends with no new value (:mod:`.endings`)
        namer = self.deriver if isinstance(self.deriver, RuleDeriver) else RuleDeriver(self.store)
        decisions += ended(self.store, scope, episodes, namer, decisions)
        ended_since(self.store, scope, decisions, namer)  # a backfill whose ending is stored
        if not decisions:
            return [], []
        return plan_writes(decisions, scope, at, batch, stamp_derived(episodes, "rules"))

    # -- derive stored episodes --------------------------------------------------------
    def derive_for(self, episode_ids: list[str], scope: Scope) -> list[MemoryOp]:
        """See :meth:`engram.Engram.derive_for`."""
        if self.deriver is None or not episode_ids:
            return []
        episodes = [e for e in self.store.get_episodes(scope, episode_ids)
                    if not is_flagged(e.metadata)]  # flagged episodes make no memories
        return self.derive_stored(episodes, scope)

    def derive_stored(self, episodes: list[Episode], scope: Scope,
                      job_id: str | None = None) -> list[MemoryOp]:
        """Derive, consolidate and write memories for stored episodes, fenced on
        them (and on ``job_id``); ``[]`` when the fence held them off. A lost
        version race is decided again up to :data:`WRITE_ATTEMPTS` times."""
        if self.deriver is None or not episodes:
            return []
        with self._derive_lock(scope):
            indexer = self.commit.indexer()
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                batch = derived_batch(scope.tenant, episodes, job_id)
                ops, mems = self._rules(scope, episodes, indexer, now(), batch)
                if not ops:
                    return []
                try:
                    outcome = self.commit.write(batch, mems, indexer=indexer)
                except Conflict:
                    if attempt == WRITE_ATTEMPTS:
                        raise
                    backoff(attempt)
                    continue
                return [] if outcome.fenced else ops
        return []

    def _derive_job(self, job: Job, outcome: JobOutcome) -> None:
        """The ``derive`` job: rule derivation of its stored episodes."""
        episodes = [e for e in self.store.get_episodes(
            job.scope, [str(i) for i in job.payload.get("episode_ids", [])])
            if not is_flagged(e.metadata)]
        outcome.operations = self.derive_stored(episodes, job.scope, job.id)

    # -- direct writes -----------------------------------------------------------------
    def remember(self, sc: Scope, cand: Candidate, metadata: dict[str, Any]) -> Memory:
        """See :meth:`engram.Engram.remember`."""
        at = now()
        mem = new_memory(cand, sc, at, stamp_direct(cand.text, metadata))
        return self.commit.memory(mem, "written directly", at)

    def change(
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
            found = self.store.get_memories(sc, [memory_id])
            if not found:
                raise NotFound(f"no memory {memory_id!r} in this scope")
            old = found[0]
            if expected_version is not None and old.version != expected_version:
                raise Conflict(f"memory {memory_id} is at version {old.version}, "
                               f"not {expected_version}")
            at = now()
            new = change(old, at)
            if new is None:
                return old
            try:
                self.commit.change(old, new, op, reason, at)
            except Conflict:
                if expected_version is not None or attempt == WRITE_ATTEMPTS:
                    raise
                backoff(attempt)
                continue
            return new
        raise AssertionError("unreachable")

    def import_(self, source: IO[str] | Iterable[str], target: Scope | None, batch_size: int,
                progress: Any = None) -> ImportReport:
        """See :meth:`engram.Engram.import_`."""
        records = parse_jsonl(source, self.max_text_bytes, target)
        stamp_imported((obj for kind, obj, _ in records  # type: ignore[misc]
                        if kind in ("episode", "memory")), RuleDeriver(self.store).derive)
        return self.commit.records(records, batch_size, progress)
