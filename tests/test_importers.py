"""Importers: each format read from a small realistic fixture, then imported for real.

Fixtures are in tests/fixtures/importers/, written by hand in each tool's export
layout (ChatGPT and Claude ``conversations.json``, mem0 ``get_all`` in both
flavours, a Letta agent file, JSONL and CSV messages).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engram import Engram, ImportFormatError, InvalidInput, ScopeRequired
from engram.embed.base import Embedder
from engram.importers import FORMATS, import_file, parse

FIX = Path(__file__).parent / "fixtures" / "importers"


@pytest.fixture
def eg(tmp_path: Path, embedder: Embedder) -> Iterator[Engram]:
    with Engram(tmp_path / "imp.db", embedder=embedder) as engine:
        yield engine


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- parsing each format ----------------------------------------------------------------
def test_chatgpt_follows_the_shown_branch() -> None:
    p = parse("chatgpt", FIX / "chatgpt_conversations.json")
    assert [m.id for m in p.messages] == [
        "2c4e-u1", "5b7a-a1", "9e0c-u2", "f1a9-a2",
        "b5e1c2d3-1111-4a2b-9c3d-000000000021", "b5e1c2d3-1111-4a2b-9c3d-000000000022"]
    first = p.messages[0]
    assert first.role == "user" and first.speaker == "user" and first.line == 2
    assert first.session_id == "6630a1b2-0c3d-8000-9a1e-5f2b3c4d5e6f"
    assert first.occurred_at == datetime.fromtimestamp(1714557660.123, tz=UTC)
    assert first.metadata == {"source": "chatgpt", "conversation_title": "Moving to Lisbon"}
    assert p.messages[2].text == ("Here is the flat we liked. My daughter Ines starts "
                                  "daycare in September.")  # the image part left out
    assert p.messages[4].line > p.messages[0].line  # the second conversation's line
    assert p.skipped == 2 and p.bad == []  # hidden system message, image-only tool output
    assert all("regenerated" not in m.text for m in p.messages)


def test_claude_messages_senders_and_times() -> None:
    p = parse("claude", FIX / "claude_conversations.json")
    assert [(m.id, m.role, m.speaker) for m in p.messages] == [
        ("m-0001-aaaa", "user", "human"), ("m-0002-bbbb", "assistant", "assistant"),
        ("m-0101-dddd", "user", "human"), ("m-0102-eeee", "assistant", "assistant")]
    assert p.messages[1].text.startswith("Nine weeks")  # from content, tool use left out
    assert p.messages[0].occurred_at == datetime(2024, 9, 2, 7, 15, 1, 113250, tzinfo=UTC)
    assert p.messages[2].session_id == "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
    assert "conversation_title" not in p.messages[2].metadata  # untitled
    assert p.skipped == 1  # the image-only message


@pytest.mark.parametrize("fixture", ["mem0_oss.json", "mem0_platform.json"])
def test_mem0_both_flavours(fixture: str) -> None:
    p = parse("mem0", FIX / fixture)
    assert len(p.memories) == 2 and p.messages == [] and p.bad == []
    m = p.memories[0]
    assert m.kind == "fact" and m.metadata["source"] == "mem0"
    assert m.created_at is not None and m.created_at.tzinfo is not None
    assert m.line == (3 if fixture == "mem0_oss.json" else 2)  # where the object starts
    if fixture == "mem0_oss.json":
        assert (m.id, m.user_id, m.text) == ("3c90c3cc-0d44-4b50-8888-8dd25736052a", "alice",
                                             "Is a vegetarian and allergic to nuts")
        assert m.created_at == _utc(2024, 7, 20, 8, 30, 0, 123456)
        second = p.memories[1]
        assert (second.agent_id, second.session_id) == ("coach", "run-2024-07-21")
    else:
        assert p.memories[1].metadata["mem0"]["categories"] == ["travel", "user_preferences"]


def test_letta_messages_and_core_memory() -> None:
    p = parse("letta", FIX / "letta_agent.af")
    assert [(m.role, m.text) for m in p.messages] == [
        ("user", "Hey Sam, I'm Chad. I just started a PhD in computer science at Berkeley."),
        ("assistant", "Congrats on the PhD, Chad! What are you researching?"),
        ("user", "Distributed systems, and I sail on weekends.")]
    assert p.skipped == 4  # system prompt, login event, tool return, inner thoughts
    assert p.messages[0].metadata == {"source": "letta", "source_id": "message-2"}
    assert p.messages[1].speaker == "sam" and p.messages[0].session_id == "sam"
    assert p.messages[2].occurred_at == _utc(2025, 3, 10, 9, 2)  # no offset: UTC
    assert [(m.kind, m.metadata["letta_label"]) for m in p.memories] == [
        ("fact", "human"), ("note", "persona")]
    assert p.memories[0].text.startswith("First name: Chad")


def test_generic_jsonl_and_csv() -> None:
    j = parse("jsonl", FIX / "messages.jsonl")
    assert [(m.line, m.id, m.speaker, m.session_id) for m in j.messages][:2] == [
        (1, "slack-1001", "Priya", "standup-2025-05-12"),
        (2, "slack-1002", "Tom", "standup-2025-05-12")]
    assert j.messages[0].metadata == {"channel": "#eng", "source": "jsonl"}
    assert j.messages[2].line == 4 and j.messages[2].id.startswith("imp_")
    assert j.messages[2].occurred_at == datetime.fromtimestamp(1747040500, tz=UTC)
    assert j.messages[3].session_id == "dm-priya" and j.messages[3].speaker == "Priya"
    c = parse("csv", FIX / "messages.csv")
    assert [(m.line, m.id, m.role, m.speaker) for m in c.messages][:2] == [
        (2, "sms-1", "user", "Mum"), (3, "sms-2", "assistant", "Me")]
    assert c.messages[0].occurred_at == _utc(2025, 6, 1, 7, 0)
    assert c.messages[2].text == "How is Leo feeling?\nBetter?" and c.messages[2].line == 5
    assert c.messages[0].metadata == {"channel": "sms", "source": "csv"}


# -- importing --------------------------------------------------------------------------
@pytest.mark.parametrize("fmt, fixture, messages, memories", [
    ("chatgpt", "chatgpt_conversations.json", 6, 0),
    ("claude", "claude_conversations.json", 4, 0),
    ("mem0", "mem0_oss.json", 0, 2),
    ("mem0", "mem0_platform.json", 0, 2),
    ("letta", "letta_agent.af", 3, 2),
    ("jsonl", "messages.jsonl", 4, 0),
    ("csv", "messages.csv", 3, 0),
])
def test_import_is_idempotent_and_reports_progress(eg: Engram, fmt: str, fixture: str,
                                                   messages: int, memories: int) -> None:
    done: list[int] = []
    first = import_file(eg, fmt, FIX / fixture, user_id="ana", progress=done.append)
    assert (first.messages_created, first.memories_created) == (messages, memories)
    assert sum(done) == messages + memories
    before = eg.stats()
    again = import_file(eg, fmt, FIX / fixture, user_id="ana")
    assert (again.messages_created, again.memories_created) == (0, 0)
    assert (again.messages_existing, again.memories_existing) == (messages, memories)
    after = eg.stats()
    assert (after.episodes, after.memories, after.versions) == (
        before.episodes, before.memories, before.versions)


def test_imported_items_keep_ids_times_speakers(eg: Engram) -> None:
    import_file(eg, "chatgpt", FIX / "chatgpt_conversations.json", user_id="ana")
    ep = eg.get("2c4e-u1", user_id="ana")
    assert ep.text.startswith("I'm moving from Berlin to Lisbon")
    assert ep.occurred_at == datetime.fromtimestamp(1714557660.123, tz=UTC)  # type: ignore[union-attr]
    assert ep.speaker == "user" and ep.scope.session_id == "6630a1b2-0c3d-8000-9a1e-5f2b3c4d5e6f"
    assert "Lisbon" in eg.context("where is ana moving?", user_id="ana").text


def test_mem0_import_keeps_owner_unless_a_target_is_named(eg: Engram) -> None:
    import_file(eg, "mem0", FIX / "mem0_oss.json")  # every record names its user
    mem = eg.get("3c90c3cc-0d44-4b50-8888-8dd25736052a", user_id="alice")
    assert mem.text == "Is a vegetarian and allergic to nuts"
    assert mem.created_at == _utc(2024, 7, 20, 8, 30, 0, 123456)
    assert [v.reason for v in eg.history(mem.id, user_id="alice")] == ["imported from mem0"]
    hits = eg.search("vegetarian", user_id="alice")
    assert hits and hits[0].ref.id == mem.id
    with pytest.raises(ScopeRequired):  # a chat export names no owner
        import_file(eg, "claude", FIX / "claude_conversations.json")


def test_bad_records_are_named_by_line_and_nothing_is_written(eg: Engram,
                                                              tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine", "id": "ok-1"}\n'
                   'not json\n'
                   '{"text": "", "id": "x"}\n'
                   '{"text": "who?", "role": "admin"}\n'
                   '{"text": "when?", "timestamp": "last tuesday"}\n'
                   '["a list"]\n', encoding="utf-8")
    with pytest.raises(ImportFormatError) as exc:
        import_file(eg, "jsonl", bad, user_id="ana")
    assert [line for line, _ in exc.value.errors] == [2, 3, 4, 5, 6]
    assert "line 2: not JSON" in str(exc.value) and "nothing imported" in str(exc.value)
    assert eg.stats().episodes == 0
    summary = import_file(eg, "jsonl", bad, user_id="ana", skip_bad=True)
    assert summary.messages_created == 1 and [b.line for b in summary.bad] == [2, 3, 4, 5, 6]


def test_conversation_level_bad_records_and_size_limit(eg: Engram, tmp_path: Path) -> None:
    convs = json.loads((FIX / "claude_conversations.json").read_text())
    convs.insert(1, {"uuid": "broken", "name": "Broken", "chat_messages": [
        {"uuid": "b1", "sender": "robot", "text": "beep"}]})
    convs[2]["chat_messages"][0]["text"] = "x" * (eg.config.max_text_bytes + 1)
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(convs, indent=1), encoding="utf-8")
    summary = import_file(eg, "claude", path, user_id="ana", skip_bad=True)
    reasons = [b.reason for b in summary.bad]
    assert "conversation 'Broken': message 0: unknown sender 'robot'" in reasons
    assert any("m-0101-dddd" in r and "limit" in r for r in reasons)
    assert all(b.line > 1 for b in summary.bad)
    assert summary.messages_created == 3


@pytest.mark.parametrize("fmt, content", [
    ("chatgpt", '{"not": "an array"}'),
    ("chatgpt", "[{]"),
    ("claude", ""),
    ("mem0", '"just a string"'),
    ("letta", '{"agents": [{"name": "x"}]}'),
    ("letta", "[]"),
])
def test_a_file_in_another_format_is_refused(eg: Engram, tmp_path: Path, fmt: str,
                                             content: str) -> None:
    path = tmp_path / "file.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFormatError):
        import_file(eg, fmt, path, user_id="ana")
    assert eg.stats().episodes == 0


def test_unknown_format_and_unreadable_file(eg: Engram, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="formats: chatgpt, claude, mem0, letta, jsonl, csv"):
        import_file(eg, "whatsapp", FIX / "messages.csv", user_id="ana")
    with pytest.raises(InvalidInput, match="cannot read"):
        import_file(eg, "csv", tmp_path / "missing.csv", user_id="ana")
    assert set(FORMATS) == {"chatgpt", "claude", "mem0", "letta", "jsonl", "csv"}
