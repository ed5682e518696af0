"""Linked, evolving notes (issue #20, item 4): every new memory carries keywords, tags
and a context, links to related memories of its user, evolves the older note's context
as a version, and no link outlives a delete or forget of either end."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stores import make_store

from engram import Engram
from engram.aio import AsyncEngram
from engram.errors import NotFound, ScopeRequired
from engram.recall.entities import keywords
from engram.retrieval.config import get_preset

U = {"user_id": "u"}

#: related pairs in many phrasings (general knowledge, not fitted to any data set)
RELATED = [
    ("My sister Anna lives in Lisbon.", "Anna works as a nurse at a hospital in Lisbon."),
    ("I adopted a beagle named Max last year.", "Max the beagle loves long walks in the park."),
    ("Our team migrated the billing service to PostgreSQL.",
     "The billing service now runs on PostgreSQL 16 with daily backups."),
    ("I am training for the Berlin marathon in September.",
     "My marathon training plan has four runs a week before Berlin."),
    ("Grandma's apple pie recipe uses cinnamon and brown sugar.",
     "I bake grandma's apple pie every Thanksgiving."),
]
UNRELATED = [
    ("My sister Anna lives in Lisbon.", "The quarterly tax report is due on Friday."),
    ("I adopted a beagle named Max last year.", "Python 3.12 removed the distutils module."),
    ("I bake grandma's apple pie every Thanksgiving.", "The office printer needs new toner."),
]


@pytest.fixture
def eg(tmp_path: Path, embedder: Any) -> Iterator[Engram]:
    with Engram(tmp_path / "links.db", embedder=embedder) as e:
        yield e


def _note(eg: Engram, mid: str) -> dict[str, Any]:
    return dict(eg.get(mid, **U).metadata["engram"]["note"])


def _ids(links: list[Any]) -> set[str]:
    return {link.memory_id for link in links}


def test_a_new_memory_carries_keywords_tags_and_context_in_its_first_version(
        eg: Engram) -> None:
    m = eg.remember("Anna moved to Lisbon to study marine biology.", **U)
    note = _note(eg, m.id)
    assert m.metadata["engram"]["note"] == note  # the memory returned carries it too
    assert {"marine", "biology"} <= set(note["keywords"])
    assert "note" in note["tags"] and "lisbon" in note["tags"]
    assert note["context"].startswith("note about")
    assert note["links"] == []
    history = eg.history(m.id, **U)
    assert len(history) == 1  # written with the memory, no extra version
    assert history[0].after is not None and history[0].after["metadata"]["engram"]["note"]


@pytest.mark.parametrize(("older", "newer"), RELATED)
def test_related_memories_link_both_ways(eg: Engram, older: str, newer: str) -> None:
    a = eg.remember(older, **U)
    b = eg.remember(newer, **U)
    out = eg.links(b.id, **U)
    assert [(link.memory_id, link.direction) for link in out] == [(a.id, "out")]
    assert out[0].score > 0.4 and out[0].via and out[0].memory.text == older
    back = eg.links(a.id, **U)
    assert [(link.memory_id, link.direction) for link in back] == [(b.id, "in")]


@pytest.mark.parametrize(("older", "newer"), UNRELATED)
def test_unrelated_memories_do_not_link(eg: Engram, older: str, newer: str) -> None:
    a = eg.remember(older, **U)
    b = eg.remember(newer, **U)
    assert eg.links(b.id, **U) == [] and eg.links(a.id, **U) == []
    assert len(eg.history(a.id, **U)) == 1


def test_a_link_evolves_the_older_note_as_a_version_with_only_its_own_words(
        eg: Engram) -> None:
    a = eg.remember("My sister Anna lives in Lisbon.", **U)
    b = eg.remember("Anna works as a nurse at a hospital in Lisbon.", **U)
    versions = eg.history(a.id, **U)
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].reason == f"linked from {b.id}"
    assert versions[1].before is not None and versions[1].before["text"] == a.text
    context = _note(eg, a.id)["context"]
    assert "linked through" in context
    own = (set(re.findall(r"\w+", a.text.lower())) | set(keywords(a.text))
           | {"note", "about", "linked", "through"})
    assert set(re.findall(r"\w+", context.lower())) <= own  # nothing of the newer note


def test_links_stay_within_the_user_and_follow_the_scope(eg: Engram) -> None:
    a = eg.remember("My sister Anna lives in Lisbon.", user_id="u", session_id="s1")
    eg.remember("Anna works as a nurse at a hospital in Lisbon.", user_id="other")
    b = eg.remember("Anna works as a nurse at a hospital in Lisbon.", user_id="u",
                    session_id="s2")
    assert _ids(eg.links(b.id, user_id="u")) == {a.id}  # across the user's sessions
    assert eg.links(b.id, user_id="u", session_id="s2") == []  # the other end is out of scope
    with pytest.raises(NotFound):
        eg.links(b.id, user_id="other")
    with pytest.raises(ScopeRequired):
        eg.links(b.id)
    with pytest.raises(NotFound):
        eg.links("mem_nope", **U)


@pytest.mark.parametrize("kind", ["sqlite", "memory", "postgres"])
def test_no_link_survives_a_delete_of_either_end(tmp_path: Path, embedder: Any,
                                                kind: str) -> None:
    with Engram(store=make_store(kind, tmp_path), embedder=embedder) as eg:
        a = eg.remember("My sister Anna lives in Lisbon.", **U)
        b = eg.remember("Anna works as a nurse at a hospital in Lisbon.", **U)
        c = eg.remember("Anna and I walked along the Lisbon riverside.", **U)
        assert b.id in _ids(eg.links(a.id, **U)) and c.id in _ids(eg.links(a.id, **U))
        eg.delete(b.id, **U)  # the newer end
        assert b.id not in _ids(eg.links(a.id, **U)) | _ids(eg.links(c.id, **U))
        assert b.id not in str(_note(eg, a.id)["links"])  # unlinked as a version
        eg.delete(a.id, **U)  # the older end
        assert eg.links(c.id, **U) == []
        assert a.id not in str(_note(eg, c.id)["links"])


def test_no_link_survives_the_erasure_of_a_source_message(eg: Engram) -> None:
    eg.add("I moved to Lisbon in March.", **U)
    eg.add("I love walking around Lisbon.", **U)
    mems = {m.text: m for m in eg.list(**U).items}
    assert len(mems) == 2
    first, second = (mems[t] for t in sorted(mems, key=lambda t: mems[t].created_at))
    assert _ids(eg.links(second.id, **U)) == {first.id}
    eg.delete_episode(first.source_episode_ids[0], **U)
    assert eg.links(second.id, **U) == []
    assert first.id not in str(_note(eg, second.id)["links"])


def test_forget_leaves_no_link_and_no_text(eg: Engram) -> None:
    eg.remember("Zanzibar trip with Anna booked for spring.", user_id="u", session_id="s1")
    keep = eg.remember("Anna's Zanzibar trip starts in spring.", user_id="u", session_id="s2")
    assert len(eg.links(keep.id, **U)) == 1
    report = eg.forget(user_id="u", session_id="s1", markers=["Zanzibar trip with Anna booked"])
    assert report.verified
    assert eg.links(keep.id, **U) == []
    everything = eg.forget(user_id="u", markers=["Zanzibar"])
    assert everything.verified
    with pytest.raises(NotFound):
        eg.links(keep.id, **U)


def test_a_caller_update_keeps_the_note(eg: Engram) -> None:
    a = eg.remember("My sister Anna lives in Lisbon.", **U)
    b = eg.remember("Anna works as a nurse at a hospital in Lisbon.", **U)
    eg.update(b.id, metadata={"source": "crm"}, **U)
    assert _ids(eg.links(b.id, **U)) == {a.id}
    assert eg.get(b.id, **U).metadata["source"] == "crm"


def test_the_link_signal_lifts_a_linked_memory_and_says_so(eg: Engram) -> None:
    eg.remember("My sister Anna lives in Lisbon.", **U)
    eg.remember("Anna works as a nurse at a hospital in Lisbon.", **U)
    eg.remember("I bought new running shoes.", **U)
    plain = eg.search("Where does Anna live?", **U, limit=5)
    assert not any("link_part" in h.scores for h in plain)
    linked = get_preset("recall").replace(name="recall+links", link_weight=1.0)
    hits = eg.search("Where does Anna live?", **U, limit=5, preset=linked)
    lifted = [h for h in hits if "link_part" in h.scores]
    assert lifted and all(h.scores["link_part"] == pytest.approx(h.scores["link"])
                          for h in lifted)


def test_linking_can_be_turned_off(tmp_path: Path, embedder: Any) -> None:
    with Engram(tmp_path / "off.db", embedder=embedder, link_notes=False) as eg:
        eg.remember("My sister Anna lives in Lisbon.", **U)
        b = eg.remember("Anna works as a nurse at a hospital in Lisbon.", **U)
        assert eg.links(b.id, **U) == []
        assert "note" not in eg.get(b.id, **U).metadata["engram"]


def test_async_links(tmp_path: Path, embedder: Any) -> None:
    async def main() -> None:
        async with AsyncEngram(tmp_path / "a.db", embedder=embedder) as ae:
            a = await ae.remember("My sister Anna lives in Lisbon.", **U)
            b = await ae.remember("Anna works as a nurse at a hospital in Lisbon.", **U)
            assert [link.memory_id for link in await ae.links(b.id, **U)] == [a.id]

    asyncio.run(main())


def test_cli_links(tmp_path: Path, embedder: Any) -> None:
    from click.testing import CliRunner

    from engram.cli import cli
    from engram.cli._app import State

    db = str(tmp_path / "cli.db")

    def run(*argv: str) -> Any:
        return CliRunner().invoke(cli, ["--db", db, *argv], obj=State(embedder=embedder))

    for text in ("I moved to Lisbon in March.", "I love walking around Lisbon."):
        assert run("add", text, "--user", "u").exit_code == 0
    listed = json.loads(run("list", "--user", "u", "--json").stdout)
    newest = listed["items"][0]["id"]
    out = run("links", newest, "--user", "u", "--json")
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert [x["direction"] for x in body["links"]] == ["out"]
    text = run("links", newest, "--user", "u")
    assert "out" in text.stdout and "Lisbon" in text.stdout
    missing = run("links", "mem_nope", "--user", "u")
    assert missing.exit_code == 2 and len(missing.output.strip().splitlines()) == 1
    assert run("links", newest).exit_code == 2  # no scope


def test_the_llm_prunes_links_and_names_the_note_with_its_own_words(
        tmp_path: Path, embedder: Any, scripted_llm: Any) -> None:
    from support.scripted_llm import ok

    settings = scripted_llm.settings(max_retries=0, output_retries=0, timeout=5.0)
    with Engram(tmp_path / "llm.db", embedder=embedder, llm=settings) as eg:
        a = eg.remember("My sister Anna lives in Lisbon.", **U)
        c = eg.remember("Anna and I walked along the Lisbon riverside.", **U)
        assert not scripted_llm.chat_requests  # writes never wait on the LLM
        b = eg.remember("Anna works as a nurse at a hospital in Lisbon.", **U)
        assert _ids(eg.links(b.id, **U)) == {a.id, c.id}

        def refine(request: Any) -> bool:
            return str(request.messages[0].get("content", "")).startswith("You organise")

        scripted_llm.on(refine, ok({"keep": [a.id], "tags": ["nurse", "riverside", "hospital"],
                                    "context": "Anna works as a nurse in Lisbon"}))
        report = eg.process_pending()
        assert report.failed == 0 and report.done >= 2
        assert len([r for r in scripted_llm.chat_requests if refine(r)]) == 2  # c's and b's
        assert [x.memory_id for x in eg.links(b.id, **U)] == [a.id]  # c dropped
        assert b.id not in _ids(eg.links(c.id, **U))  # and its back-link with it
        note = _note(eg, b.id)
        assert note["refined"] == "llm" and note["tags"] == ["nurse", "hospital"]  # own words
        assert note["context"] == "Anna works as a nurse in Lisbon"
        assert eg.history(b.id, **U)[-1].reason == "links refined by the LLM"


def test_memories_the_llm_extracts_are_linked_too(tmp_path: Path, embedder: Any,
                                                  scripted_llm: Any) -> None:
    from support.scripted_llm import ok

    def extract(request: Any) -> bool:
        return str(request.messages[0].get("content", "")).startswith("You extract")

    def mem(text: str) -> dict[str, Any]:
        return {"kind": "fact", "text": text, "subject": "Ana", "attribute": None,
                "value": None, "entities": ["Ana"], "valid_from": None, "valid_to": None,
                "importance": 0.7, "episodes": ["E1"]}

    settings = scripted_llm.settings(max_retries=0, output_retries=0, timeout=5.0)
    with Engram(tmp_path / "x.db", embedder=embedder, llm=settings) as eg:
        def reply(request: Any) -> Any:
            nurse = "nurse" in str(request.messages[-1].get("content", "")).split("E1 [")[-1]
            return ok({"memories": [mem("Maria works as a nurse in Lisbon." if nurse
                                        else "Ana's sister Maria lives in Lisbon.")]})

        scripted_llm.on(extract, reply)
        scripted_llm.on(lambda r: str(r.messages[0].get("content", "")).startswith(
            "You maintain"), ok({"decisions": [
                {"candidate": "C1", "op": "ADD", "target": None, "text": None, "reason": "new"}]}))
        for text in ("My sister Maria lives in Lisbon.", "Maria works as a nurse in Lisbon."):
            eg.add(text, user_id="ana", speaker="Ana")
            eg.process_pending()
        texts = {m.text: m.id for m in eg.list(user_id="ana").items}
        newer = texts["Maria works as a nurse in Lisbon."]
        assert [x.memory.text for x in eg.links(newer, user_id="ana")] == [
            "Ana's sister Maria lives in Lisbon."]
