"""Deleting one episode (``Engram.delete_episode``, ``DELETE /v1/episodes/{id}``,
``Client.delete_episode``): the episode and what was derived only from it are gone
everywhere, in this process, in another process and in the raw database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from server_fixtures import RunningServer

from engram import Engram, EpisodeDeletion, NotFound
from engram.llm.cache import ResponseCache
from engram.llm.config import LLMSettings
from engram.models import Memory, MemoryKind, MemoryVersion, Operation, Scope
from engram.store.base import Store, WriteBatch
from engram.store.rawfile import database_files, raw_file_scan
from engram.timeutil import now


def _texts(hits: list[Any]) -> str:
    return " | ".join(h.item.text for h in hits)


def test_the_episode_and_its_only_derived_memory_are_gone(api: Any) -> None:
    user = f"del-{type(api).__name__}"
    res = api.add(["I moved to Lisbon in March.", "I am allergic to nuts."], user_id=user,
                  session_id="s1")
    lisbon, nuts = (e.id for e in res.episodes)
    assert "Lisbon" in _texts(api.search("where does the user live?", user_id=user))
    derived = [m for m in api.list(user_id=user).items if lisbon in m.source_episode_ids]
    assert derived
    with pytest.raises(NotFound):  # another user's scope does not see it, and keeps it
        api.delete_episode(lisbon, user_id=user + "-other")
    out = api.delete_episode(lisbon, user_id=user, session_id="s1")
    assert isinstance(out, EpisodeDeletion) and out.episode_id == lisbon
    assert set(out.deleted_memory_ids) == {m.id for m in derived}
    assert out.updated_memory_ids == [] and out.counts["episodes"] == 1
    for item_id in (lisbon, *out.deleted_memory_ids):
        with pytest.raises(NotFound):
            api.get(item_id, user_id=user)
    with pytest.raises(NotFound):
        api.history(derived[0].id, user_id=user)
    assert "Lisbon" not in _texts(api.search("Lisbon", user_id=user))
    assert [e.id for e in api.list(user_id=user, type="episode").items] == [nuts]
    assert "nuts" in _texts(api.search("allergic to nuts", user_id=user))
    with pytest.raises(NotFound):  # a second delete finds nothing
        api.delete_episode(lisbon, user_id=user)


def test_a_memory_with_other_sources_stays_without_the_deleted_one(
    store: Store, embedder: Any,
) -> None:
    with Engram(store=store, embedder=embedder) as eg:
        res = eg.add(["We adopted a dog.", "The dog is called Rex."], user_id="u",
                     derive=False)
        first, second = (e.id for e in res.episodes)
        at = now()
        both = Memory(id="mem_rex", scope=Scope(user_id="u", tenant="default"),
                      kind=MemoryKind.FACT, text="The user has a dog called Rex",
                      created_at=at, updated_at=at,
                      source_episode_ids=[first, second])
        eg.store.write(WriteBatch(new_memories=[both], versions=[("default", MemoryVersion(
            both.id, 1, Operation.ADD, None, both.to_dict(), "test", at))]))
        out = eg.delete_episode(first, user_id="u")
        assert out.updated_memory_ids == ["mem_rex"] and out.deleted_memory_ids == []
        kept = eg.get("mem_rex", user_id="u")
        assert isinstance(kept, Memory)
        assert kept.source_episode_ids == [second] and kept.version == 2
        assert kept.text == "The user has a dog called Rex"
        last = eg.history("mem_rex", user_id="u")[-1]
        assert last.operation == Operation.UPDATE and first in last.reason
        # its last source goes: the memory goes too, with its history
        out = eg.delete_episode(second, user_id="u")
        assert out.deleted_memory_ids == ["mem_rex"] and out.counts["memory_versions"] == 2
        with pytest.raises(NotFound):
            eg.history("mem_rex", user_id="u")


def test_a_queued_derivation_of_a_deleted_episode_writes_nothing(
    store: Store, embedder: Any,
) -> None:
    with Engram(store=store, embedder=embedder) as eg:
        res = eg.add("I moved to Lisbon in March.", user_id="u", derive="background")
        assert res.job_id is not None
        eg.delete_episode(res.episodes[0].id, user_id="u")
        eg.process_pending()
        job = eg.job(res.job_id)
        assert job is not None and job.status == "done"
        assert eg.list(user_id="u", include_inactive=True).items == []
        assert eg.stats(user_id="u").episodes == 0


def test_the_text_is_gone_from_the_sqlite_file(tmp_path: Path, embedder: Any) -> None:
    db = tmp_path / "raw.db"
    marker = "Quokka-7781 sleeps by the Hardangerfjord"
    with Engram(db, embedder=embedder) as eg:
        gone = eg.add(f"I saw {marker} yesterday.", user_id="u").episodes[0].id
        eg.add("The weather in Bergen was grey.", user_id="u")
        assert raw_file_scan(database_files(db), [marker]) == {marker}
        eg.delete_episode(gone, user_id="u")
        assert raw_file_scan(database_files(db), [marker]) == set()  # while still open
        assert raw_file_scan(database_files(db), ["weather in Bergen"]) == {"weather in Bergen"}


def test_llm_cache_entries_of_the_episode_are_purged(tmp_path: Path, embedder: Any) -> None:
    llm = LLMSettings(base_url="http://127.0.0.1:9/v1", model="scripted",
                      cache_dir=tmp_path / "llmcache")
    with Engram(tmp_path / "llm.db", embedder=embedder, llm=llm) as eg:  # jobs not run
        gone = eg.add("My locker code is 4417.", user_id="u").episodes[0].id
        kept = eg.add("I play the cello.", user_id="u").episodes[0].id
        cache = ResponseCache(tmp_path / "llmcache")
        cache.put("k-gone", {"memories": [{"text": "The user's locker code is 4417"}],
                             "cites": [gone]})
        cache.put("k-prompt", {"prompt": "Extract facts from: My locker code is 4417."})
        cache.put("k-kept", {"memories": [{"text": "The user plays the cello"}],
                             "cites": [kept]})
        cache.close()
        out = eg.delete_episode(gone, user_id="u")
        assert out.counts["llm_responses"] == 2
    llm_file = tmp_path / "llmcache" / "llm-cache.sqlite3"
    con = sqlite3.connect(llm_file)
    assert [r[0] for r in con.execute("SELECT key FROM llm_responses")] == ["k-kept"]
    con.close()
    assert raw_file_scan(database_files(llm_file), ["4417"]) == set()


def test_rest_delete_is_scoped_and_documented(served: RunningServer) -> None:
    with served.client(served.key_a) as c:
        added = c.post("/v1/messages", json={"user_id": "rest-u", "messages": [
            {"text": "My sister lives in Oslo."}]}).json()
        ep = added["episodes"][0]["id"]
        other = c.delete(f"/v1/episodes/{ep}", params={"user_id": "rest-other"})
        assert other.status_code == 404
        assert other.headers["content-type"].startswith("application/problem+json")
        assert other.json()["code"] == "not_found"
        with served.client(served.key_b) as b:  # another tenant, same user id
            assert b.delete(f"/v1/episodes/{ep}", params={"user_id": "rest-u"}).status_code == 404
        ok = c.delete(f"/v1/episodes/{ep}", params={"user_id": "rest-u"})
        assert ok.status_code == 200 and ok.json()["episode_id"] == ep
        assert c.delete(f"/v1/episodes/{ep}", params={"user_id": "rest-u"}).status_code == 404
        assert c.delete(f"/v1/episodes/{ep}").json()["code"] == "scope_required"
        spec = c.get("/openapi.json").json()
        assert spec["paths"]["/v1/episodes/{episode_id}"]["delete"]["operationId"] == (
            "delete_episode")


def test_another_process_stops_finding_a_deleted_episode(
    served: RunningServer, embedder: Any,
) -> None:
    """The server (another process) has the user's index loaded; an embedded engine
    deletes on the same file; the server's next search no longer returns it. Then the
    other way round."""
    user = "xproc-u"
    with served.client(served.key_a) as c:
        def found(query: str) -> str:
            hits = c.post("/v1/search", json={"user_id": user, "query": query}).json()
            return " | ".join(h["item"]["text"] for h in hits["hits"])

        ids = [e["id"] for e in c.post("/v1/messages", json={"user_id": user, "messages": [
            {"text": "The blue kayak is stored in the boathouse."},
            {"text": "The red canoe is stored in the garage."}]}).json()["episodes"]]
        assert "kayak" in found("kayak boathouse") and "canoe" in found("canoe garage")
        with Engram(served.db, embedder=embedder) as eg:
            sc = Scope(user_id=user, tenant="alpha")
            assert "canoe" in _texts(eg.search("canoe garage", scope=sc))  # loaded here too
            eg.delete_episode(ids[0], scope=sc)
            assert "kayak" not in found("kayak boathouse")
            assert c.delete(f"/v1/episodes/{ids[1]}", params={"user_id": user}).status_code == 200
            assert "canoe" not in _texts(eg.search("canoe garage", scope=sc))


def test_cli_delete_episode(tmp_path: Path, embedder: Any) -> None:
    import json

    from click.testing import CliRunner

    from engram.cli import cli
    from engram.cli._app import State

    def run(*args: str, input: str | None = None) -> Any:
        return CliRunner().invoke(cli, ["--db", str(tmp_path / "cli.db"), *args],
                                  obj=State(embedder=embedder), input=input)

    added = json.loads(run("add", "-u", "ana", "I moved to Lisbon", "--json").stdout)
    ep = added["episodes"][0]["id"]
    refused = run("delete-episode", ep, "-u", "ana", input="n\n")
    assert refused.exit_code == 1 and run("show", ep, "-u", "ana").exit_code == 0
    out = run("delete-episode", ep, "-u", "ana", "--yes", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["deleted_memory_ids"] == [added["operations"][0]["memory_id"]]
    again = run("delete-episode", ep, "-u", "ana", "--yes")
    assert again.exit_code == 2 and len(again.stderr.strip().splitlines()) == 1
    assert "Traceback" not in again.output
