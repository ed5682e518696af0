"""mem0's own SDK (``mem0ai``: MemoryClient, AsyncMemoryClient) against a real ``engram serve``.

Each test follows mem0's documented platform examples (quickstart, filters, batch,
entities), changing only ``host``. mem0's telemetry is off (``MEM0_TELEMETRY=False``
before the first import) and its config dir is a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_fixtures import RunningServer, start_server, stop_server

MESSAGES = [
    {"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."},
    {"role": "assistant", "content": "Hello Alex! I've noted that you're a vegetarian and "
                                     "have a nut allergy. I'll keep this in mind."},
]


@pytest.fixture(scope="module")
def mem0_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    srv = start_server(tmp_path_factory.mktemp("mem0srv"))
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def mem0(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The ``mem0`` package, imported with telemetry off and its files in a temp dir."""
    saved = {k: os.environ.get(k) for k in ("MEM0_TELEMETRY", "MEM0_DIR")}
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ["MEM0_DIR"] = str(tmp_path_factory.mktemp("mem0dir"))
    try:
        import mem0
        from mem0.memory import telemetry
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert telemetry.MEM0_TELEMETRY is False and telemetry.client_telemetry.posthog is None
    return mem0


@pytest.fixture
def client(mem0: Any, mem0_server: RunningServer) -> Any:
    return mem0.MemoryClient(api_key=mem0_server.key_a, host=mem0_server.url)


def test_wrong_key_is_refused_at_init(mem0: Any, mem0_server: RunningServer) -> None:
    with pytest.raises(ValueError):
        mem0.MemoryClient(api_key="not-a-key", host=mem0_server.url)


def test_add_search_get_all_get(client: Any) -> None:
    added = client.add(MESSAGES, user_id="alex")
    assert added["status"] == "SUCCEEDED" and added["results"]
    assert all(r["event"] in ("ADD", "UPDATE") and r["id"] for r in added["results"])
    found = client.search("What can I cook for dinner tonight?", filters={"user_id": "alex"})
    assert found["results"] and all("score" in r for r in found["results"])
    assert any("vegetarian" in r["memory"] for r in found["results"])
    everything = client.get_all(filters={"AND": [{"user_id": "alex"}]})
    assert everything["count"] == len(everything["results"]) >= 1
    one = everything["results"][0]
    assert one["user_id"] == "alex" and one["memory"] and one["categories"]
    assert client.get(one["id"])["memory"] == one["memory"]


def test_metadata_and_date_filters(client: Any) -> None:
    client.add([{"role": "user", "content": "I love hiking in the Alps every summer."}],
               user_id="mia", metadata={"food": "vegan", "year": 2024})
    client.add([{"role": "user", "content": "I moved to Lisbon in March."}], user_id="mia")
    vegan = client.get_all(filters={"AND": [{"user_id": "mia"}, {"metadata": {"food": "vegan"}}]})
    assert vegan["results"] and all(r["metadata"]["food"] == "vegan" for r in vegan["results"])
    recent = client.get_all(filters={"AND": [{"user_id": "mia"},
                                             {"created_at": {"gte": "2024-07-01"}}]})
    assert recent["count"] >= vegan["count"]
    none = client.get_all(filters={"AND": [{"user_id": "mia"},
                                           {"created_at": {"lt": "2000-01-01"}}]})
    assert none == {"count": 0, "results": [], "next": None, "previous": None}
    either = client.search("hiking", filters={"OR": [{"metadata": {"year": {"gte": 2024}}},
                                                     {"categories": {"contains": "plan"}}],
                                              "user_id": "mia"})
    assert either["results"] and all(r["metadata"]["year"] == 2024 for r in either["results"])
    page = client.get_all(filters={"user_id": "mia"}, page=1, page_size=1)
    assert len(page["results"]) == 1 and page["count"] >= 2 and page["next"]


def test_update_history_delete(client: Any, mem0: Any) -> None:
    added = client.add([{"role": "user", "content": "I love playing tennis on Sundays."}],
                       user_id="sam")
    memory_id = added["results"][0]["id"]
    updated = client.update(memory_id, text="Likes to play tennis on weekends")
    assert updated["memory"] == "Likes to play tennis on weekends"
    client.update(memory_id, metadata={"sport": "tennis"})
    history = client.history(memory_id)
    assert [h["event"] for h in history] == ["ADD", "UPDATE", "UPDATE"]
    assert history[1]["old_memory"] != history[1]["new_memory"] == updated["memory"]
    assert client.delete(memory_id) == {"message": "Memory deleted successfully!"}
    with pytest.raises(mem0.exceptions.MemoryNotFoundError):
        client.get(memory_id)
    assert client.history(memory_id)[-1]["event"] == "DELETE"


def test_a_fact_ended_by_a_later_message_is_a_delete_and_a_new_value_an_update(
        client: Any) -> None:
    added = client.add([{"role": "user", "content": "I drive an old red Honda Civic."},
                        {"role": "user", "content": "I live in Boston."}], user_id="kit")
    ids = {r["memory"]: r["id"] for r in added["results"]}
    later = client.add([{"role": "user", "content": "I sold the Honda last week."},
                        {"role": "user", "content": "We moved to Denver in May."}],
                       user_id="kit")
    events = {(r["event"], r["memory"]) for r in later["results"]}
    assert ("DELETE", "The user drives an old red Honda Civic") in events  # no new car
    assert ("UPDATE", "The user lives in Boston") in events  # replaced by Denver
    assert ("ADD", "The user lives in Denver") in events
    left = client.get_all(filters={"AND": [{"user_id": "kit"}]})
    rows = left["results"] if isinstance(left, dict) else left
    assert [r["memory"] for r in rows] == ["The user lives in Denver"]
    assert ids["The user drives an old red Honda Civic"] not in {r["id"] for r in rows}


def test_infer_false_keeps_the_messages_verbatim(client: Any) -> None:
    added = client.add(MESSAGES, user_id="raw", infer=False)
    assert [r["memory"] for r in added["results"]] == [m["content"] for m in MESSAGES]
    assert client.get(added["results"][0]["id"])["categories"] == ["episode"]
    assert client.get_all(filters={"user_id": "raw"})["count"] == 0  # no derived memories
    assert client.search("nut allergy", filters={"user_id": "raw"})["results"]


def test_agents_runs_entities_and_delete_all(client: Any, mem0: Any) -> None:
    client.add(MESSAGES, agent_id="ai-tutor")
    client.add([{"role": "user", "content": "I prefer aisle seats on long flights."}],
               user_id="lee", run_id="trip-planning-2024")
    client.add([{"role": "user", "content": "I prefer window seats."}], user_id="lee")
    in_run = client.get_all(filters={"AND": [{"user_id": "lee"},
                                             {"run_id": "trip-planning-2024"}]})
    assert in_run["results"] and all(r["run_id"] == "trip-planning-2024"
                                     for r in in_run["results"])
    users = client.users()
    kinds = {(e["type"], e["name"]) for e in users["results"]}
    assert {("agent", "ai-tutor"), ("user", "lee"), ("run", "trip-planning-2024")} <= kinds
    assert client.delete_all(run_id="trip-planning-2024")["message"]
    left = client.get_all(filters={"user_id": "lee"})["results"]
    assert left and all(r["run_id"] is None for r in left)
    client.delete_all(user_id="lee")
    assert client.get_all(filters={"user_id": "lee"})["count"] == 0
    assert client.delete_users(agent_id="ai-tutor")["message"]
    assert ("agent", "ai-tutor") not in {(e["type"], e["name"])
                                         for e in client.users()["results"]}
    with pytest.raises(mem0.exceptions.MemoryError):  # no entity: refused, nothing deleted
        client.delete_all()


def test_batch_update_and_delete(client: Any, mem0: Any) -> None:
    ids = [client.add([{"role": "user", "content": text}], user_id="bat")["results"][0]["id"]
           for text in ("I like jazz.", "I prefer red bicycles.")]
    out = client.batch_update([{"memory_id": ids[0], "text": "I like jazz and blues."},
                               {"memory_id": ids[1], "text": "I prefer blue bicycles."}])
    assert out["message"] == "Successfully updated 2 memories"
    assert client.get(ids[1])["memory"] == "I prefer blue bicycles."
    with pytest.raises(mem0.exceptions.MemoryError):  # one unknown id: nothing changes
        client.batch_delete([{"memory_id": ids[0]}, {"memory_id": "nope"}])
    assert client.get(ids[0])["memory"] == "I like jazz and blues."
    assert client.batch_delete([{"memory_id": i} for i in ids])["message"].endswith("2 memories")
    assert client.get_all(filters={"user_id": "bat"})["count"] == 0


def test_async_client(mem0: Any, mem0_server: RunningServer) -> None:
    async def scenario() -> None:
        async with mem0.AsyncMemoryClient(api_key=mem0_server.key_b,
                                          host=mem0_server.url) as ac:
            added = await ac.add(MESSAGES, user_id="async-alex")
            memory_id = added["results"][0]["id"]
            found = await ac.search("allergies", filters={"user_id": "async-alex"})
            assert found["results"]
            assert (await ac.get(memory_id))["id"] == memory_id
            await ac.update(memory_id, text="Alex is vegetarian")
            assert len(await ac.history(memory_id)) == 2
            everything = await ac.get_all(filters={"user_id": "async-alex"})
            assert everything["count"] >= 1
            await ac.delete(memory_id)
            await ac.delete_all(user_id="async-alex")
            assert (await ac.get_all(filters={"user_id": "async-alex"}))["count"] == 0

    asyncio.run(scenario())


def test_tenants_are_isolated(client: Any, mem0_server: RunningServer, mem0: Any) -> None:
    added = client.add([{"role": "user", "content": "I like the locker code game."}],
                       user_id="iso")
    other = mem0.MemoryClient(api_key=mem0_server.key_b, host=mem0_server.url)
    with pytest.raises(mem0.exceptions.MemoryNotFoundError):
        other.get(added["results"][0]["id"])
    assert other.get_all(filters={"user_id": "iso"})["count"] == 0


def test_bad_requests_are_problems(mem0_server: RunningServer, tmp_path: Path) -> None:
    h = {"Authorization": f"Token {mem0_server.key_a}"}
    r = httpx.post(f"{mem0_server.url}/v3/memories/", headers=h,
                   json={"filters": {"user_id": "a", "metadata": {"x": {"gte": 1, "y": 2}}}})
    assert r.status_code == 400 and r.json()["code"] == "invalid_input"
    r = httpx.post(f"{mem0_server.url}/v3/memories/search/", headers=h,
                   json={"query": "x", "filters": {"run_id": "r"}})
    assert r.status_code == 400 and r.json()["code"] == "scope_required"
    r = httpx.post(f"{mem0_server.url}/v3/memories/add/", headers=h,
                   json={"messages": [{"role": "user", "content": ["not", "text"]}],
                         "user_id": "a"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_input"


def test_migration_script_in_the_docs(client: Any, tmp_path: Path, embedder: Any) -> None:
    """docs/migrate-from-mem0.md's script moves a (here: Engram-served) mem0 store."""
    from engram import Engram

    doc = (Path(__file__).parent.parent / "docs" / "migrate-from-mem0.md").read_text()
    script = doc.split("```python\nfrom typing import Any")[1].split("```")[0]
    ns: dict[str, Any] = {}
    exec("from typing import Any" + script, ns)  # noqa: S102 - our own documentation
    client.add([{"role": "user", "content": "I prefer green tea."}], user_id="mover",
               metadata={"source": "chat"})
    with Engram(tmp_path / "moved.db", embedder=embedder) as eg:
        assert ns["migrate"](client, eg, user_id="mover") >= 1
        moved = eg.list(user_id="mover").items
        assert any("green tea" in m.text and m.metadata["source"] == "chat" for m in moved)
        assert eg.search("tea", user_id="mover")


def test_get_all_dump_imports_with_engram_import(client: Any, tmp_path: Path,
                                                 embedder: Any) -> None:
    """The doc's first path: get_all's JSON into ``engram import --from mem0`` (#18's importer)."""
    import json

    from server_fixtures import run_engram, server_env

    client.add([{"role": "user", "content": "I prefer oolong tea."}], user_id="dumper",
               run_id="r1")
    memories = client.get_all(filters={"user_id": "dumper"}, page=1, page_size=1000)
    dump = tmp_path / "dumper.json"
    dump.write_text(json.dumps(memories))
    db = tmp_path / "imported.db"
    env = server_env(tmp_path)
    run_engram("--db", str(db), "import", "--from", "mem0", str(dump), env=env)
    from engram import Engram

    with Engram(db, embedder=embedder) as eg:
        moved = eg.list(user_id="dumper").items
    assert any("oolong" in m.text and m.scope.session_id == "r1" for m in moved)
    assert memories["results"][0]["id"] in json.dumps([m.to_dict() for m in moved])


def test_reset_forgets_every_entity_of_the_tenant(client: Any, mem0: Any,
                                                  mem0_server: RunningServer) -> None:
    """``reset`` (last: it empties the tenant) deletes every user, agent and run."""
    client.add([{"role": "user", "content": "I like chess."}], user_id="last",
               run_id="last-run")
    other = mem0.MemoryClient(api_key=mem0_server.key_b, host=mem0_server.url)
    other.add([{"role": "user", "content": "I like go."}], user_id="kept")
    assert client.reset()["message"]
    assert client.users()["results"] == []
    assert ("user", "kept") in {(e["type"], e["name"]) for e in other.users()["results"]}
