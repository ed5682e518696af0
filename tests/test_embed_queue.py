"""Episode vectors off the caller's path (``embed_queue=True``, issue #21).

``add`` stores the episodes, their lexical entries and one durable ``embed`` job;
the vectors follow from the job (:mod:`engram.ingest.embed_queue`). Every test
drains the queue explicitly: no sleeps, no timing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from engram import Engram
from engram.embed.base import Embedder, InputType, WrappedEmbedder
from engram.ingest.embed_queue import EMBED_JOB, embed_job
from engram.ingest.jobs import DERIVE_JOB, new_job
from engram.models import ItemRef, Scope
from engram.store.base import Fence, Store, WriteBatch

ANA = Scope(user_id="ana")
TALK = [
    "I adopted a grey cat called Miso last spring.",
    "My sister plays the cello in the city orchestra.",
    "We are planning a hiking trip to the Dolomites in July.",
]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'q.db'}"
    from pg_fixtures import fresh_pg_url

    return fresh_pg_url()


def _vectors(store: Store, tenant: str = "default") -> dict[ItemRef, np.ndarray]:
    return {v.ref: np.asarray(v.vector) for v in store.iter_vectors(tenant)}


def test_add_returns_before_the_vectors_and_a_search_still_finds_the_message(
    store_url: str, embedder: Embedder
) -> None:
    with Engram(url=store_url, embedder=embedder, embed_queue=True) as eg:
        warm = eg.add(["The weather was fine."], scope=ANA, derive=False)
        eg.ingest.embeds.drain()  # a loaded partition: new rows must reach it too
        assert eg.search("weather", scope=ANA)[0].ref.id == warm.episodes[0].id
        res = eg.add(TALK, scope=ANA, derive=False)
        ids = {e.id for e in res.episodes}
        assert not ids & {r.id for r in _vectors(eg.store)}  # not embedded yet
        assert eg.pending(scope=ANA).pending == 1  # one durable job for the add
        hits = eg.search("cello orchestra", scope=ANA, limit=3)
        assert hits[0].ref.id == res.episodes[1].id
        assert ids <= {r.id for r in _vectors(eg.store)}  # the search drained first
        assert eg.pending(scope=ANA).pending == 0


def test_queued_vectors_equal_the_inline_ones(tmp_path: Path, embedder: Embedder) -> None:
    with Engram(tmp_path / "inline.db", embedder=embedder) as eg:
        eg.add(TALK, scope=ANA, derive=False)
        inline = {eg.store.get_episodes(ANA, [r.id])[0].text: v
                  for r, v in _vectors(eg.store).items()}
    with Engram(tmp_path / "queued.db", embedder=embedder, embed_queue=True) as eg:
        eg.add(TALK, scope=ANA, derive=False)
        report = eg.ingest.embeds.drain()
        assert [j.status for j in report.jobs] == ["done"]
        queued = {eg.store.get_episodes(ANA, [r.id])[0].text: v
                  for r, v in _vectors(eg.store).items()}
    assert inline.keys() == queued.keys() == set(TALK)
    for text in TALK:
        assert float(inline[text] @ queued[text]) >= 0.9999


def test_derived_memories_are_embedded_at_once_episodes_later(
    tmp_path: Path, embedder: Embedder
) -> None:
    with Engram(tmp_path / "m.db", embedder=embedder, embed_queue=True) as eg:
        res = eg.add(["I moved to Lisbon last year."], scope=ANA)
        mem_ids = {op.memory_id for op in res.operations if op.memory_id}
        assert mem_ids
        have = {r.id for r in _vectors(eg.store)}
        assert mem_ids <= have and res.episodes[0].id not in have
        eg.ingest.embeds.drain()
        assert res.episodes[0].id in {r.id for r in _vectors(eg.store)}


def test_forget_before_the_job_runs_leaves_nothing(store_url: str, embedder: Embedder) -> None:
    with Engram(url=store_url, embedder=embedder, embed_queue=True) as eg:
        eg.add(TALK, scope=ANA, derive=False)
        assert eg.forget(scope=ANA).verified
        assert eg.ingest.embeds.drain().jobs == []  # forget took the job with it
        assert set(eg.store.remaining(ANA).values()) == {0}


class _Gate(WrappedEmbedder):
    """The real embedder, held at its first document batch until released."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.released_in_time = False

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        if input_type == "document" and not self.entered.is_set():
            self.entered.set()
            self.released_in_time = self.release.wait(60)
            assert self.released_in_time
        return self.inner.embed(texts, input_type)


def test_forget_while_the_job_embeds_writes_nothing(store_url: str, embedder: Embedder) -> None:
    """The job has read its episodes when the forget deletes them; it embeds only
    after the delete has committed, and its write is fenced off. (The forget's own
    check searches, and a search waits for the job this engine's thread runs: the
    job is released once the delete is seen, not when the forget returns.)"""
    gate = _Gate(embedder)
    with Engram(url=store_url, embedder=gate, embed_queue=True) as eg:
        eg.add(TALK, scope=ANA, derive=False)
        worker = threading.Thread(target=eg.ingest.embeds.drain)
        worker.start()
        forgot = threading.Event()

        def release_once_deleted() -> None:
            while not forgot.is_set() and eg.store.remaining(ANA).get("episodes", 0):
                forgot.wait(0.02)
            gate.release.set()

        watcher = threading.Thread(target=release_once_deleted)
        try:
            assert gate.entered.wait(60)  # the job claimed and read its episodes
            watcher.start()
            report = eg.forget(scope=ANA)
        finally:
            forgot.set()
            gate.release.set()
            worker.join(60)
            if watcher.ident is not None:
                watcher.join(60)
        assert gate.released_in_time, "the job was held until its gate timed out"
        assert report.verified
        assert set(eg.store.remaining(ANA).values()) == {0}
        assert _vectors(eg.store) == {}


def test_an_episode_deleted_before_the_job_runs_gets_no_vector(
    tmp_path: Path, embedder: Embedder
) -> None:
    with Engram(tmp_path / "d.db", embedder=embedder, embed_queue=True) as eg:
        res = eg.add(TALK, scope=ANA, derive=False)
        gone, *kept = [e.id for e in res.episodes]
        eg.delete_episode(gone, scope=ANA)
        assert [j.status for j in eg.ingest.embeds.drain().jobs] == ["done"]
        assert {r.id for r in _vectors(eg.store)} == set(kept)


def test_queued_vectors_survive_a_crash_and_any_engine_makes_them(
    tmp_path: Path, embedder: Embedder
) -> None:
    path = tmp_path / "c.db"
    crashed = Engram(path, embedder=embedder, embed_queue=True)
    res = crashed.add(TALK, scope=ANA, derive=False)  # then "crashes": never closed
    with Engram(path, embedder=embedder) as other:  # the queue off: jobs still run
        other.process_pending()
        assert {e.id for e in res.episodes} <= {r.id for r in _vectors(other.store)}
    crashed.ingest.embeds.drain()  # nothing left for the first engine
    crashed.store.close()


def test_close_makes_the_vectors_it_queued(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "close.db"
    with Engram(path, embedder=embedder, embed_queue=True) as eg:
        res = eg.add(TALK, scope=ANA, derive=False)
    with Engram(path, embedder=embedder) as eg:
        assert {e.id for e in res.episodes} <= {r.id for r in _vectors(eg.store)}
        assert eg.pending().pending == 0


def test_the_background_thread_makes_the_vectors(tmp_path: Path, embedder: Embedder) -> None:
    with Engram(tmp_path / "t.db", embedder=embedder, embed_queue=True) as eg:
        eg.start_jobs(poll_seconds=60)
        res = eg.add(TALK, scope=ANA, derive=False)  # wakes the thread
        eg.ingest.embeds.stop()  # after the job it is running, if any
        eg.ingest.embeds.drain()  # whatever it had not claimed
        assert {e.id for e in res.episodes} <= {r.id for r in _vectors(eg.store)}
        assert len(eg.ingest.embeds.delays()) == 1


def test_an_embed_job_stays_with_its_episodes_when_the_fence_drops_derived_rows(
    store: Store,
) -> None:
    from contract_helpers import episode

    ep = episode("e1", ANA, "hello there")
    keep = embed_job(ANA, ["e1"])
    drop = new_job(DERIVE_JOB, ANA, ["e1"])
    batch = WriteBatch(episodes=[ep], jobs=[keep, drop],
                       fence=Fence(ANA.tenant, (), "job_missing"))
    assert batch.episodes_only().jobs == [keep]
    out = store.write(batch)
    assert out.fenced and out.created_episode_ids == ["e1"]
    assert store.job_counts(ANA) == {"pending": 1}
    assert store.get_job(ANA.tenant, keep.id) is not None
    assert store.get_job(ANA.tenant, drop.id) is None
    assert keep.kind == EMBED_JOB



class _Counting(WrappedEmbedder):
    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.calls = 0

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        self.calls += 1
        return self.inner.embed(texts, input_type)


def test_a_derivation_embeds_its_candidates_and_memories_in_one_pass(
    tmp_path: Path, embedder: Embedder
) -> None:
    counting = _Counting(embedder)
    with Engram(tmp_path / "one.db", embedder=counting, embed_queue=True) as eg:
        res = eg.add(["I moved to Lisbon last year."], scope=ANA)
        assert any(op.memory_id for op in res.operations)
        assert counting.calls == 1
