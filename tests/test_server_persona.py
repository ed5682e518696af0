"""REST for a user's profile and answering as the user (server/persona.py) on a real
``engram serve``: the same results as the library, the documented errors."""

from __future__ import annotations

import httpx
from server_fixtures import RunningServer

SAID = ["My name is Noor Haddad.", "I moved to Utrecht last spring.", "I work at Fabrikam.",
        "I love sailing.", "I love sailing again this year!", "I'm allergic to shellfish."]


def _seed(c: httpx.Client, user: str) -> None:
    for text in SAID:
        r = c.post("/v1/messages", json={"user_id": user, "derive": "sync",
                                         "messages": [{"text": text, "speaker": "Noor"}]})
        assert r.status_code == 200, r.text


def test_profile_form_and_reply(server: RunningServer) -> None:
    with server.client(server.key_b) as c:
        _seed(c, "per-noor")
        p = c.get("/v1/profile", params={"user_id": "per-noor"}).json()
        assert p["subject"] == "Noor"
        attrs = {a["name"]: a["value"] for a in p["attributes"]}
        assert attrs["lives_in"] == "Utrecht" and attrs["allergy"] == "shellfish"
        (sailing,) = p["preferences"]
        assert sailing["topic"] == "sailing" and sailing["observations"] == 2
        assert sailing["stance"] == "loves" and 0 < sailing["confidence"] <= 1

        form = c.post("/v1/form", json={"user_id": "per-noor", "fields": [
            "Full name", "Employer", "Food allergies", "Passport number"]}).json()
        values = {f["field"]: f["value"] for f in form["fields"]}
        assert values == {"Full name": "Noor Haddad", "Employer": "Fabrikam",
                          "Food allergies": "shellfish", "Passport number": ""}
        cited = [f["citations"] for f in form["fields"]]
        assert all(len(x) == 1 for x in cited[:3]) and cited[3] == []
        assert form["model"] is None and form["llm_error"] is None

        reply = c.post("/v1/reply", json={"user_id": "per-noor",
                                          "message": "Fancy sailing on Sunday?"}).json()
        assert reply["text"] == "I love sailing." and reply["citations"][0]["type"] == "memory"
        silent = c.post("/v1/reply", json={"user_id": "per-noor",
                                           "message": "What is your blood type?"}).json()
        assert silent["text"] == "" and silent["citations"] == []
    with server.client(server.key_a) as other:  # another tenant knows nothing of Noor
        assert other.get("/v1/profile", params={"user_id": "per-noor"}).json()[
            "attributes"] == []


def test_errors(server: RunningServer) -> None:
    with server.client(server.key_b) as c:
        r = c.get("/v1/profile")
        assert r.status_code == 400 and r.json()["code"] == "scope_required"
        r = c.post("/v1/form", json={"user_id": "per-x", "fields": ["a", "a"]})
        assert r.status_code == 400 and r.json()["code"] == "invalid_input"
        r = c.post("/v1/form", json={"user_id": "per-x", "fields": []})
        assert r.status_code == 422
        r = c.post("/v1/reply", json={"user_id": "per-x", "message": "hi", "use_llm": True})
        assert r.status_code == 400 and r.json()["code"] == "invalid_input"
        r = c.post("/v1/reply", json={"message": "hi"})
        assert r.status_code == 400 and r.json()["code"] == "scope_required"


def test_the_http_client_returns_the_engine_types(server: RunningServer, embedder: object,
                                                  tmp_path: object) -> None:
    import asyncio
    from pathlib import Path

    from engram import AsyncClient, Client, Engram

    fields = ["Full name", "Employer", "Passport number"]
    with Client(server.url, api_key=server.key_b) as client:
        _seed_client(client)
        served = (client.profile(user_id="per-cli"), client.fill_form(fields, user_id="per-cli"),
                  client.draft_reply("Sailing on Sunday?", user_id="per-cli"))
    with Engram(Path(str(tmp_path)) / "e.db", embedder=embedder) as eg:  # type: ignore[arg-type]
        _seed_client(eg)
        local = (eg.profile(user_id="per-cli"), eg.fill_form(fields, user_id="per-cli"),
                 eg.draft_reply("Sailing on Sunday?", user_id="per-cli"))
    assert [f.value for f in served[1].fields] == [f.value for f in local[1].fields]
    assert served[2].text == local[2].text == "I love sailing."
    assert {a.name: a.value for a in served[0].attributes} == {
        a.name: a.value for a in local[0].attributes}
    assert served[0].preferences[0].topic == local[0].preferences[0].topic == "sailing"

    async def run() -> str:
        async with AsyncClient(server.url, api_key=server.key_b) as ac:
            return str((await ac.fill_form(["Employer"], user_id="per-cli")).value("Employer"))

    assert asyncio.run(run()) == "Fabrikam"


def _seed_client(api: object) -> None:
    for text in SAID:
        api.add(text, user_id="per-cli", speaker="Noor")  # type: ignore[attr-defined]
