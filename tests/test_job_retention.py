"""Finished jobs do not pile up (issue #21): a done job is deleted once it is older
than its retention (config ``embed_job_retention`` for ``embed`` jobs,
``job_retention`` for derive / LLM jobs); pending, running and failed jobs stay.

Real SQLite files and a real PostgreSQL; time is moved by the runners' ``now``
argument, never by sleeping.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import StoreError
from engram.ingest.embed_queue import EMBED_JOB, embed_job
from engram.ingest.jobs import DERIVE_JOB, new_job
from engram.models import Scope
from engram.store.base import WriteBatch
from engram.timeutil import now

ANA, BO = Scope(user_id="ana"), Scope(user_id="bo", tenant="acme")
HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'r.db'}"
    from pg_fixtures import fresh_pg_url

    return fresh_pg_url()


def test_done_embed_jobs_older_than_the_retention_go_after_a_drain(
    store_url: str, embedder: Embedder
) -> None:
    with Engram(url=store_url, embedder=embedder, embed_queue=True, derive_rules=False,
                embed_job_retention=3600) as eg:
        ids = [eg.add(f"Note number {i} about the garden.", scope=sc, derive=False).episodes[0].id
               for i, sc in enumerate([ANA, ANA, BO])]
        eg.ingest.embeds.drain()
        # a failed embed job and one not due for ten days: never purged
        failed = embed_job(ANA, [ids[0]])
        eg.store.write(WriteBatch(jobs=[failed]))
        assert eg.store.claim_job([EMBED_JOB], now(), 60) is not None
        eg.store.finish_job(failed.id, error="fatal")
        later = dataclasses.replace(embed_job(ANA, [ids[1]]), run_after=now() + 240 * HOUR)
        eg.store.write(WriteBatch(jobs=[later]))
        eg.ingest.embeds.drain()
        assert eg.store.job_counts(None) == {"done": 3, "failed": 1, "pending": 1}

        runner = eg.ingest.embeds.runner
        runner.run_pending(now=now() + HOUR / 2)  # half an hour on: still kept
        assert eg.store.job_counts(None)["done"] == 3
        runner.run_pending(now=now() + 2 * HOUR)  # the drain purges what is older
        assert eg.store.job_counts(None) == {"failed": 1, "pending": 1}
        assert eg.store.get_job(ANA.tenant, failed.id) is not None
        assert eg.store.get_job(ANA.tenant, later.id) is not None
        # the vectors stay: only the job records went
        assert {v.ref.id for v in eg.store.iter_vectors("default")} >= set(ids[:2])
        assert eg.search("garden", scope=BO)[0].ref.id == ids[2]


def test_a_purged_job_reads_as_none_and_only_its_kinds_go(
    store_url: str, embedder: Embedder
) -> None:
    with Engram(url=store_url, embedder=embedder, embed_queue=True,
                job_retention=86_400) as eg:
        res = eg.add("I moved to Lisbon in 2021.", scope=ANA, derive="background")
        assert res.job_id is not None
        eg.process_pending()
        view = eg.job(res.job_id)
        assert view is not None and view.status == "done"
        # a day on, the embed runner purges its embed jobs only: the derive job stays
        eg.ingest.embeds.runner.run_pending(now=now() + 2 * HOUR)
        assert eg.store.job_counts(None) == {"done": 1}
        assert eg.job(res.job_id) is not None
        eg.jobs.run_pending(now=now() + 2 * HOUR)  # derive: a day's retention
        assert eg.job(res.job_id) is not None
        assert eg.jobs.purge(now() + 25 * HOUR) == 1
        assert eg.job(res.job_id) is None  # gone, as after a forget
        assert eg.store.job_counts(None) == {}


def test_retention_zero_keeps_done_jobs_and_forget_still_removes_them(tmp_path: Path,
                                                                      embedder: Embedder) -> None:
    with Engram(tmp_path / "k.db", embedder=embedder, embed_queue=True, job_retention=0,
                embed_job_retention=0) as eg:
        eg.add("We adopted a grey cat called Miso.", scope=ANA, derive="background")
        eg.store.write(WriteBatch(jobs=[new_job(DERIVE_JOB, BO)]))
        eg.process_pending()
        far = now() + timedelta(days=365)
        assert eg.ingest.embeds.runner.purge(far) == 0 and eg.jobs.purge(far) == 0
        eg.process_pending(now=far)
        assert eg.store.job_counts(None) == {"done": 3}
        eg.forget(scope=ANA)
        assert eg.store.job_counts(None) == {"done": 1}  # BO's job


def test_a_backlog_is_purged_over_passes_and_never_fails_the_runner(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engram.ingest import jobs as jobs_module
    from engram.store.registry import open_store

    monkeypatch.setattr(jobs_module, "PURGE_BATCH", 2)
    monkeypatch.setattr(jobs_module, "PURGE_BATCHES_PER_PASS", 2)
    store = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    store.migrate()
    runner = jobs_module.JobRunner(store, retention=60)
    runner.register("noop", lambda job, outcome: None)
    store.write(WriteBatch(jobs=[new_job("noop", ANA) for _ in range(5)]))
    assert runner.run_pending().done == 5  # this pass purges nothing: all just done
    t = now() + HOUR
    runner.run_pending(now=t)  # two batches of two
    assert store.job_counts(None) == {"done": 1}
    runner.run_pending(now=t + timedelta(seconds=30))  # within the minute: no purge
    assert store.job_counts(None) == {"done": 1}
    runner.run_pending(now=t + timedelta(seconds=61))
    assert store.job_counts(None) == {}

    def broken(*args: object) -> int:
        raise StoreError("disk I/O error")

    monkeypatch.setattr(store, "purge_jobs", broken)  # logged; the jobs still run
    store.write(WriteBatch(jobs=[new_job("noop", ANA)]))
    assert runner.run_pending(now=t + 2 * HOUR).done == 1
    store.close()
