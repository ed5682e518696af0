"""Concurrent writers and forgets on one store (issue #13 items 2, 3 and 6).

Real threads on real SQLite files and PostgreSQL. "Another process" is an
:class:`Engram` of its own on the same store: nothing in memory is shared
with the other writers, only the database.

* Derived memories are written under a :class:`~engram.store.base.Fence`:
  once per source episode, never after the episode was forgotten.
* ``add`` never loses the verbatim message to a derived memory's version race
  and never raises ``Conflict``.
* A ``forget`` that lands while a background derivation (rule-based or LLM)
  is running leaves nothing behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from contract_helpers import add_episode, episode, memory
from support.scripted_llm import RecordedRequest, ScriptedLLMServer, ok

from engram import Engram, Message
from engram.embed.base import Embedder
from engram.errors import Conflict
from engram.ingest.derive import Candidate, Deriver, RuleDeriver
from engram.models import Episode, Scope
from engram.store import open_store
from engram.store.base import Fence, Job, Store, WriteBatch, WriteOutcome

WRITERS = 6
CITIES = ["Lisbon", "Berlin", "Paris", "Madrid", "Oslo"]
HOME = Scope(tenant="t1", user_id="u1")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One store URL per backend: a real SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    from pg_fixtures import fresh_pg_url

    return fresh_pg_url()


def _run_threads(n: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``n`` threads released together; the exceptions they raised."""
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:  # collected: the test asserts there are none
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _engines(url: str, embedder: Embedder, n: int) -> list[Engram]:
    Engram(url=url, embedder=embedder).close()  # migrate once, before the race
    return [Engram(url=url, embedder=embedder) for _ in range(n)]


def _close(engines: Sequence[Engram]) -> None:
    for eg in engines:
        eg.close()


# -- the store's fence (contract, every backend) --------------------------------------
def test_fence_claims_an_episode_once(store: Store) -> None:
    add_episode(store, episode("e1", HOME, "I moved to Lisbon"))
    first = WriteBatch(new_memories=[memory("m1", HOME, "u1 lives in Lisbon")],
                       fence=Fence("t1", ("e1",)))
    assert not store.write(first).fenced
    again = WriteBatch(new_memories=[memory("m2", HOME, "u1 lives in Lisbon")],
                       fence=Fence("t1", ("e1",)))
    assert store.write(again).fenced
    assert [m.id for m in store.get_memories(HOME, ["m1", "m2"])] == ["m1"]


def test_fence_drops_derived_rows_of_a_missing_episode_but_keeps_the_episodes(
    store: Store,
) -> None:
    batch = WriteBatch(episodes=[episode("e2", HOME, "I work at Acme")],
                       new_memories=[memory("m1", HOME, "u1 works at Acme")],
                       jobs=[Job("job_x", "llm_summarize", HOME, {})],
                       fence=Fence("t1", ("e1", "e2")))  # e1 was never stored (forgotten)
    out = store.write(batch)
    assert out.fenced and out.created_episode_ids == ["e2"]
    assert [e.id for e in store.get_episodes(HOME, ["e2"])] == ["e2"]
    assert store.get_memories(HOME, ["m1"]) == [] and store.job_counts(HOME) == {}
    # the episode stored by the fenced write is still free to derive from
    assert not store.write(WriteBatch(new_memories=[memory("m2", HOME, "u1 works at Acme")],
                                      fence=Fence("t1", ("e2",)))).fenced


def test_fence_needs_its_job_to_exist(store: Store) -> None:
    store.write(WriteBatch(jobs=[Job("job_1", "llm_summarize", HOME, {})]))
    kept = WriteBatch(new_memories=[memory("m1", HOME, "summary one")],
                      fence=Fence("t1", job_id="job_1"))
    assert not store.write(kept).fenced
    store.forget(HOME)
    gone = WriteBatch(new_memories=[memory("m2", HOME, "summary two")],
                      fence=Fence("t1", job_id="job_1"))
    assert store.write(gone).fenced
    assert store.remaining(HOME)["memories"] == 0


# -- item 2: superseding writers never lose a message -------------------------------
@pytest.mark.parametrize("shared", [True, False], ids=["one-engine", "engine-per-writer"])
def test_superseding_writers_store_every_episode_without_conflict(
    store_url: str, embedder: Embedder, shared: bool
) -> None:
    engines = _engines(store_url, embedder, 1 if shared else WRITERS)
    acked: list[tuple[str, str]] = []

    def write(i: int) -> None:
        eg = engines[0 if shared else i]
        user = f"u{i % 2}"
        for k, city in enumerate(CITIES):
            res = eg.add(f"I moved to {city} (note {i}-{k})", user_id=user)
            acked.append((user, res.episodes[0].id))

    try:
        errors = _run_threads(WRITERS, write)
        assert errors == []  # before the fix: about half raised Conflict
        eg = engines[0]
        assert len(acked) == WRITERS * len(CITIES)
        for user in ("u0", "u1"):
            mine = [eid for u, eid in acked if u == user]
            assert len(eg.store.get_episodes(Scope(user_id=user), mine)) == len(mine)
            active = [m for m in eg.list(user_id=user, limit=1000).items if m.attribute]
            assert len(active) == 1  # exactly one current value of lives_in
            every = eg.list(user_id=user, limit=1000, include_inactive=True).items
            cited = {s for m in every for s in m.source_episode_ids}
            assert cited == set(mine)  # and each message was derived from, once
            assert len(every) == len(mine)
    finally:
        _close(engines)


def test_updates_race_without_conflict_unless_a_version_is_expected(
    store_url: str, embedder: Embedder
) -> None:
    engines = _engines(store_url, embedder, WRITERS)
    try:
        mem = engines[0].remember("Ana's favourite number is 0", user_id="ana")
        errors = _run_threads(WRITERS, lambda i: [
            engines[i].update(mem.id, importance=(i + k) / 100, user_id="ana")
            for k in range(5)])
        assert errors == []  # a lost version race is retried on the latest version
        latest = engines[0].get(mem.id, user_id="ana")
        assert latest.version == 1 + 5 * WRITERS
        with pytest.raises(Conflict):  # an explicit, stale expectation still conflicts
            engines[1].update(mem.id, text="changed", user_id="ana", expected_version=2)
        with pytest.raises(Conflict):
            engines[1].delete(mem.id, user_id="ana", expected_version=2)
        assert engines[0].get(mem.id, user_id="ana").version == latest.version
        done = engines[1].delete(mem.id, user_id="ana", expected_version=latest.version)
        assert done.version == latest.version + 1
    finally:
        _close(engines)


# -- item 3: the same message sent concurrently derives once ------------------------
def _facts(prefix: str) -> list[Message]:
    return [Message(f"I love {fruit}", id=f"{prefix}-{n}") for n, fruit in enumerate(
        ["mangoes", "figs", "kiwis", "plums", "pears", "limes", "dates", "guavas",
         "lychees", "papayas"])] + [Message("I moved to Lisbon", id=f"{prefix}-city")]


@pytest.mark.parametrize("shared", [True, False], ids=["one-engine", "engine-per-writer"])
def test_same_message_sent_concurrently_derives_like_one_send(
    store_url: str, embedder: Embedder, shared: bool
) -> None:
    engines = _engines(store_url, embedder, 1 if shared else WRITERS)
    try:
        reference = engines[0].add(_facts("ref"), user_id="ref", speaker="Ana")
        errors = _run_threads(WRITERS, lambda i: engines[0 if shared else i].add(
            _facts("dup"), user_id="dup", speaker="Ana"))
        assert errors == []
        eg = engines[0]

        def texts(user: str) -> list[str]:
            items = eg.list(user_id=user, limit=1000, include_inactive=True).items
            return sorted(m.text for m in items)

        assert len(reference.operations) == 11
        assert texts("dup") == texts("ref")  # before the fix: 37 to 66 rows
        assert eg.stats(user_id="dup").episodes == 11
    finally:
        _close(engines)


# -- item 6: a forget while a derivation runs leaves nothing --------------------------
class _ForgetsMidway(Deriver):
    """Rule derivation during which the subject is forgotten (by ``forget``)."""

    name = "rules"

    def __init__(self, forget: Callable[[], None]) -> None:
        self.forget = forget
        self.inner = RuleDeriver()

    def derive(self, episodes: Sequence[Episode]) -> list[Candidate]:
        found = self.inner.derive(episodes)
        self.forget()  # the episodes were read; the derived write has not happened
        return found


def test_forget_between_reading_and_writing_a_derivation_wins(
    store_url: str, embedder: Embedder
) -> None:
    with Engram(url=store_url, embedder=embedder) as eg:
        res = eg.add(["I moved to Lisbon", "I work at Acme"], user_id="ana", derive=False)
        eg.deriver = _ForgetsMidway(lambda: eg.forget(user_id="ana"))
        ops = eg.derive_for([e.id for e in res.episodes], Scope(user_id="ana"))
        assert ops == []
        assert set(eg.store.remaining(Scope(user_id="ana")).values()) == {0}


class _Gate(Deriver):
    """Rule derivation that waits until the test opens the gate."""

    name = "rules"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.inner = RuleDeriver()

    def derive(self, episodes: Sequence[Episode]) -> list[Candidate]:
        self.entered.set()
        assert self.release.wait(60)
        return self.inner.derive(episodes)


def test_background_job_running_during_forget_writes_and_keeps_nothing(
    store_url: str, embedder: Embedder
) -> None:
    gate = _Gate()
    with Engram(url=store_url, embedder=embedder, deriver=gate) as eg:
        eg.start_jobs(poll_seconds=0.05)
        try:
            sc = Scope(user_id="ana")
            first = eg.add(["I moved to Lisbon", "I love figs"], scope=sc, derive="background")
            second = eg.add(["I work at Acme"], scope=sc, derive="background")
            assert first.job_id is not None and second.job_id is not None
            assert gate.entered.wait(60)  # the first job has read its episodes
            assert eg.forget(scope=sc).verified
            assert eg.store.job_counts(sc) == {}  # forget purged both jobs
            gate.release.set()
            eg.jobs.stop(60)
            assert set(eg.store.remaining(sc).values()) == {0}
            assert eg.job(first.job_id) is None
            assert eg.job(second.job_id) is None
        finally:
            gate.release.set()
            eg.jobs.stop()


def test_background_derive_jobs_survive_a_restart(store_url: str, embedder: Embedder) -> None:
    with Engram(url=store_url, embedder=embedder) as eg:
        res = eg.add(["I moved to Lisbon"], user_id="ana", derive="background")
        assert res.job_id is not None and res.operations == []
        job = eg.job(res.job_id)
        assert job is not None and job.status == "pending"
    with Engram(url=store_url, embedder=embedder) as eg:  # "restarted": nothing ran yet
        assert eg.process_pending().done == 1
        job = eg.job(res.job_id)
        assert job is not None and job.status == "done" and job.finished_at is not None
        assert job.episode_ids == [res.episodes[0].id]
        assert any("Lisbon" in o.text for o in job.operations)
        assert eg.job(res.job_id, tenant="someone-else") is None


def test_a_derivation_that_loses_every_race_is_queued_durably(
    tmp_path: Path, embedder: Embedder
) -> None:
    path = tmp_path / "m.db"
    with Engram(path, embedder=embedder) as other:
        other.add(["I moved to Lisbon"], user_id="ana")
        [lisbon] = [m for m in other.list(user_id="ana").items if m.attribute]
        store = open_store(f"sqlite:///{path}")
        real_write = store.write

        def racing_write(batch: WriteBatch) -> WriteOutcome:
            # another writer changes the memory this batch supersedes, every time
            if any(m.id == lisbon.id for m, _ in batch.changed_memories):
                other.update(lisbon.id, user_id="ana", importance=0.9)
            return real_write(batch)

        store.write = racing_write  # type: ignore[method-assign]
        with Engram(store=store, embedder=embedder) as eg:
            res = eg.add(["I moved to Berlin"], user_id="ana")
            assert res.episodes[0].created and res.operations == []
            assert res.job_id is not None  # the derivation lost all its races: queued
            job = eg.job(res.job_id)
            assert job is not None and job.status == "pending"
            store.write = real_write  # type: ignore[method-assign]
            assert eg.process_pending().done == 1
            lives = [m for m in eg.list(user_id="ana").items if m.attribute]
            assert len(lives) == 1 and "Berlin" in lives[0].text
            job = eg.job(res.job_id)
            assert job is not None and job.status == "done" and job.operations


def _extract_request(request: RecordedRequest) -> bool:
    first = request.messages[0] if request.messages else {}
    return str(first.get("content", "")).startswith("You extract")


def _profile_request(request: RecordedRequest) -> bool:
    first = request.messages[0] if request.messages else {}
    return str(first.get("content", "")).startswith("Write the profile")


@pytest.fixture
def llm_engine(store_url: str, embedder: Embedder,
               scripted_llm: ScriptedLLMServer) -> Iterator[Engram]:
    settings = scripted_llm.settings(max_retries=0, output_retries=0, timeout=30.0)
    with Engram(url=store_url, embedder=embedder, llm=settings) as eg:
        yield eg


def test_llm_extraction_during_forget_writes_nothing(
    llm_engine: Engram, scripted_llm: ScriptedLLMServer
) -> None:
    eg = llm_engine
    eg.llm.summaries = False
    eg.add("I moved to Lisbon last spring.", user_id="ana", speaker="Ana")

    def forget_then_answer(request: RecordedRequest) -> Any:
        eg.forget(user_id="ana")  # lands while the job waits for the model
        return ok({"memories": [{
            "kind": "fact", "text": "Ana lives in Lisbon.", "subject": "Ana",
            "attribute": "lives_in", "value": "Lisbon", "entities": ["Ana"],
            "valid_from": None, "valid_to": None, "importance": 0.7, "episodes": ["E1"]}]})

    scripted_llm.on(_extract_request, forget_then_answer, times=1)
    report = eg.process_pending()
    assert report.operations == []
    assert set(eg.store.remaining(Scope(user_id="ana")).values()) == {0}


def test_llm_summary_during_forget_writes_nothing(
    llm_engine: Engram, scripted_llm: ScriptedLLMServer
) -> None:
    eg = llm_engine
    eg.remember("Ana lives in Porto.", user_id="ana")
    sc = Scope(user_id="ana")
    eg.store.write(WriteBatch(jobs=[Job("job_profile", "llm_summarize", sc, {})]))

    def forget_then_answer(request: RecordedRequest) -> Any:
        eg.forget(user_id="ana")
        return ok({"summary": "Ana lives in Porto."})

    scripted_llm.on(_profile_request, forget_then_answer, times=1)
    report = eg.process_pending()
    assert report.done == 1 and report.operations == []
    assert set(eg.store.remaining(sc).values()) == {0}
