"""A user's profile and answering as the user (issue #20, items 3 and 6): form
fields and reply drafts from memory, each value citing its memories, empty
where memory is silent; rules without a model, the scripted LLM server for the
model path and its faults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.scripted_llm import ScriptedLLMServer, malformed, ok, server_error

from engram import AsyncEngram, Engram
from engram.agents.persona import first_person, slot_of
from engram.embed.base import Embedder
from engram.errors import ConfigError, InvalidInput

ANA = [
    "My name is Ana Silva.", "I moved to Lisbon last year.", "I work at Acme Robotics.",
    "I'm 34 years old.", "I'm allergic to peanuts.", "I'm vegetarian.",
    "I have a dog called Rex.", "My favourite film is Amelie.",
    "I love hiking and I hate crowds.", "I really enjoy board games.",
    "I'm planning to visit Japan in spring.", "My husband is Tom.",
]


def seed(eg: Engram, user: str = "ana", speaker: str = "Ana") -> None:
    for text in ANA:
        eg.add(text, user_id=user, speaker=speaker, derive=True)


@pytest.fixture
def eg(embedder: Embedder) -> Iterator[Engram]:
    engine = Engram("memory://persona", embedder=embedder)
    seed(engine)
    yield engine
    engine.close()


@pytest.mark.parametrize(("field", "slot"), [
    ("Full name", "name"), ("What should we call you?", "name"), ("Preferred name", "name"),
    ("City of residence", "lives_in"), ("Where are you based?", "lives_in"),
    ("Current location", "lives_in"), ("Employer", "works_at"),
    ("Company you work for", "works_at"), ("Place of work", "works_at"), ("Age", "age"),
    ("How old are you?", "age"), ("Food allergies", "allergy"),
    ("Any intolerances?", "allergy"), ("Dietary requirements", "diet"),
    ("Do you have pets?", "pets"), ("Kids", "children"), ("Spouse / partner", "partner"),
    ("Favourite movie", "favourite:movie"), ("Favorite food", "favourite:food"),
    ("Hobbies", "likes"), ("What do you do in your free time?", "likes"),
    ("Pet peeves", "dislikes"), ("Things you can't stand", "dislikes"),
    ("Upcoming plans", "plan"), ("Dog's name", "pets"), ("Name of your employer", "works_at"),
    ("Blood type", None), ("Phone number", None),
])
def test_a_field_is_read_in_many_phrasings(field: str, slot: str | None) -> None:
    assert slot_of(field) == slot


def test_memories_read_in_the_first_person() -> None:
    assert first_person("Ana lives in Lisbon") == "I live in Lisbon"
    assert first_person("Ana dislikes crowds") == "I don't like crowds"
    assert first_person("Ana's favourite film is Amelie") == "My favourite film is Amelie"
    assert first_person("Ana is 34 years old") == "I am 34 years old"
    assert first_person("Something else") == "Something else"


def test_profile_has_attributes_and_preferences_with_confidence(eg: Engram) -> None:
    p = eg.profile(user_id="ana")
    assert p.subject == "Ana"
    got = {a.name: a.value for a in p.attributes}
    assert got["name"] == "Ana Silva" and got["lives_in"] == "Lisbon"
    assert got["works_at"] == "Acme Robotics" and got["age"] == "34"
    assert got["allergy"] == "peanuts" and got["diet"] == "vegetarian"
    assert got["favourite:film"] == "Amelie" and got["partner"] == "Tom"
    stances = {v.topic: v.stance for v in p.preferences}
    assert stances == {"hiking": "loves", "crowds": "hates", "board games": "loves"}
    assert all(0 < v.confidence <= 1 and v.tracked for v in p.preferences)
    assert eg.profile(user_id="nobody").to_dict() == {
        "user_id": "nobody", "subject": None, "preferences": [], "attributes": []}


def test_profile_has_where_one_is_from_and_the_languages_one_speaks(eg: Engram) -> None:
    for text in ("I'm from Porto originally.", "I speak Portuguese and a little French."):
        eg.add(text, user_id="ana", speaker="Ana", derive=True)
    got = {a.name: a.value for a in eg.profile(user_id="ana").attributes}
    assert got["from"] == "Porto" and got["lives_in"] == "Lisbon"
    assert got["languages"] == "Portuguese and a little French"


def test_profile_follows_a_sustained_change_of_mind(eg: Engram) -> None:
    for text in ["I hate hiking now.", "Actually I can't stand hiking."]:
        eg.add(text, user_id="ana", speaker="Ana")
    view = next(v for v in eg.profile(user_id="ana").preferences if v.topic == "hiking")
    assert view.stance in ("dislikes", "hates") and view.observations == 3


def test_form_fills_known_fields_with_citations_and_leaves_the_rest_empty(eg: Engram) -> None:
    fields = ["Full name", "City of residence", "Employer", "Allergies", "Favourite movie",
              "Hobbies", "Pet peeves", "Blood type", "Phone number", "Mother's maiden name"]
    form = eg.fill_form(fields, user_id="ana")
    assert [f.name for f in form.fields] == fields and form.model is None
    assert form.value("Full name") == "Ana Silva" and form.value("Employer") == "Acme Robotics"
    assert form.value("City of residence") == "Lisbon" and form.value("Allergies") == "peanuts"
    assert form.value("Favourite movie") == "Amelie"
    assert form.value("Hobbies") == "hiking, board games"
    assert form.value("Pet peeves") == "crowds"
    for name in ("Blood type", "Phone number", "Mother's maiden name"):
        field = next(f for f in form.fields if f.name == name)
        assert field.value == "" and field.citations == []
    for field in form.fields:
        for ref in field.citations:
            assert eg.get(ref.id, user_id="ana").id == ref.id  # every citation exists
    assert eg.fill_form(["Full name"], user_id="bo").value("Full name") == ""


def test_reply_drafts_speak_as_the_user_or_stay_empty(eg: Engram) -> None:
    d = eg.draft_reply("Want to go hiking on Saturday?", user_id="ana")
    assert d.text == "I love hiking." and len(d.citations) == 1
    d = eg.draft_reply("Do you still live in Porto?", user_id="ana")
    assert d.text == "I live in Lisbon." and d.citations[0].type == "memory"
    assert eg.draft_reply("Can you bring peanut cookies?", user_id="ana").text == (
        "I am allergic to peanuts.")
    silent = eg.draft_reply("What is the weather like on Mars?", user_id="ana")
    assert silent.text == "" and silent.citations == []


@pytest.mark.parametrize("fields", [[], "Full name", ["a", "a"], [""], [3], ["x" * 201]])
def test_bad_fields_are_refused(eg: Engram, fields: object) -> None:
    with pytest.raises(InvalidInput):
        eg.fill_form(fields, user_id="ana")  # type: ignore[arg-type]


def test_async_facade(embedder: Embedder) -> None:
    import asyncio

    async def run() -> None:
        aeg = AsyncEngram("memory://persona-async", embedder=embedder)
        await aeg.add("I moved to Oslo.", user_id="kai", speaker="Kai")
        assert (await aeg.profile(user_id="kai")).attribute("lives_in")[0].value == "Oslo"
        form = await aeg.fill_form(["Home city"], user_id="kai")
        assert form.value("Home city") == "Oslo"
        assert (await aeg.draft_reply("Do you live in Oslo?", user_id="kai")).text
        await aeg.close()

    asyncio.run(run())


# -- with a model (the scripted LLM server) ------------------------------------------------
@pytest.fixture
def llm_eg(tmp_path: Path, embedder: Embedder,
           scripted_llm: ScriptedLLMServer) -> Iterator[Engram]:
    with Engram(tmp_path / "p.db", embedder=embedder) as rules_only:
        seed(rules_only)  # rule-derived memories (an LLM engine would queue extraction)
    engine = Engram(tmp_path / "p.db", embedder=embedder,
                    llm=scripted_llm.settings(max_retries=0, output_retries=0, timeout=2.0))
    yield engine
    engine.close()


def _local_id(request_text: str, needle: str) -> str:
    line = next(ln for ln in request_text.splitlines() if ln.startswith("M") and needle in ln)
    return line.split()[0]


def test_llm_fills_with_shown_citations_only(llm_eg: Engram,
                                             scripted_llm: ScriptedLLMServer) -> None:
    def reply(request: object) -> object:
        text = request.last_user  # type: ignore[attr-defined]
        lisbon = _local_id(text, "lives in Lisbon")
        acme = _local_id(text, "works at Acme")
        return ok({"fields": [
            {"field": "Home", "value": "Lisbon, Portugal", "citations": [lisbon, "M99"]},
            {"field": "Work", "value": "Acme Robotics", "citations": ["M99"]},  # made up
            {"field": "Blood type", "value": "O+", "citations": []},           # a guess
            {"field": "Not asked", "value": "x", "citations": [acme]},
        ]})

    scripted_llm.default = reply
    form = llm_eg.fill_form(["Home", "Work", "Blood type"], user_id="ana")
    assert form.model is not None and form.llm_error is None
    home = form.fields[0]
    assert home.value == "Lisbon, Portugal" and home.source == "llm"
    assert [r.id for r in home.citations] == [
        a.memory_id for a in llm_eg.profile(user_id="ana").attribute("lives_in")]
    assert form.value("Work") == "" and form.fields[1].citations == []
    assert form.value("Blood type") == ""
    assert "Form fields:\n- Home\n- Work\n- Blood type" in scripted_llm.chat_requests[0].last_user


def test_llm_bad_json_or_failure_falls_back_to_the_rules(llm_eg: Engram,
                                                         scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.script(malformed())
    form = llm_eg.fill_form(["Employer", "Blood type"], user_id="ana")
    assert form.llm_error == "llm_bad_output" and form.model is None
    assert form.value("Employer") == "Acme Robotics" and form.value("Blood type") == ""
    scripted_llm.script(server_error(503))
    draft = llm_eg.draft_reply("Want to go hiking?", user_id="ana")
    assert draft.llm_error == "llm_error" and draft.text == "I love hiking."


def test_llm_draft_is_emptied_without_a_shown_citation(llm_eg: Engram,
                                                       scripted_llm: ScriptedLLMServer) -> None:
    def reply(request: object) -> object:
        text = request.last_user  # type: ignore[attr-defined]
        return ok({"reply": "Sounds great, I love hiking!",
                   "citations": [_local_id(text, "hiking")]})

    scripted_llm.script(reply, ok({"reply": "Sure, see you there!", "citations": ["M77"]}))
    draft = llm_eg.draft_reply("Hiking on Saturday?", user_id="ana")
    assert draft.text == "Sounds great, I love hiking!" and len(draft.citations) == 1
    assert "> I love hiking and I hate crowds." in scripted_llm.chat_requests[0].last_user
    assert llm_eg.draft_reply("Hiking on Saturday?", user_id="ana").text == ""
    assert llm_eg.draft_reply("Hiking?", user_id="ana", use_llm=False).text == "I love hiking."


def test_use_llm_without_a_model_is_a_config_error(eg: Engram) -> None:
    with pytest.raises(ConfigError):
        eg.fill_form(["Age"], user_id="ana", use_llm=True)
