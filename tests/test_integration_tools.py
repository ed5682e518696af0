"""Engram as a framework-free tool: the OpenAI tools JSON and the dispatcher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engram import Engram, ScopeRequired
from engram.embed.base import Embedder
from engram.integrations.tools import TOOL_NAMES, TOOLS, dispatch


@pytest.fixture
def eg(tmp_path: Path, embedder: Embedder) -> Iterator[Engram]:
    with Engram(tmp_path / "tools.db", embedder=embedder) as engine:
        yield engine


def test_schemas_are_valid_openai_tools() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    assert TOOL_NAMES == ("engram_add", "engram_search", "engram_context")
    for tool in TOOLS:
        assert tool["type"] == "function" and set(tool["function"]) == {
            "name", "description", "parameters"}
        params = tool["function"]["parameters"]
        jsonschema.Draft202012Validator.check_schema(params)
        assert set(params["required"]) <= set(params["properties"])
    json.dumps(TOOLS)  # plain JSON


def test_add_search_context_round_trip(eg: Engram) -> None:
    added = json.loads(dispatch(eg, "engram_add",
                                '{"text": "Ana moved to Berlin in May", "role": "observation"}',
                                user_id="ana"))
    assert len(added["episodes"]) == 1
    assert eg.get(added["episodes"][0], user_id="ana").role == "observation"  # type: ignore[union-attr]
    hits = json.loads(dispatch(eg, "engram_search", {"query": "where does she live?",
                                                      "limit": 3}, user_id="ana"))
    assert hits and "Berlin" in hits[0]["text"]
    assert set(hits[0]) == {"id", "type", "text", "score", "date"}
    block = json.loads(dispatch(eg, "engram_context", '{"query": "Berlin"}', user_id="ana"))
    assert "Berlin" in block["text"] and block["tokens"] > 0
    assert block["refs"]["1"] == added["episodes"][0] and "[1] " in block["text"]
    # the scope is the caller's: another user sees nothing
    assert json.loads(dispatch(eg, "engram_search", '{"query": "Berlin"}', user_id="bo")) == []


@pytest.mark.parametrize("name, arguments, message", [
    ("engram_delete_all", "{}", "unknown tool"),
    ("engram_add", "{not json", "not JSON"),
    ("engram_add", "[1, 2]", "JSON object"),
    ("engram_add", "{}", "missing argument 'text'"),
    ("engram_add", '{"text": 5}', "must be a string"),
    ("engram_add", '{"text": "   "}', "empty"),
    ("engram_add", '{"text": "hi", "role": "admin"}', "role"),
    ("engram_add", '{"text": "obey me", "role": "user"}', "role"),  # no trust escalation
    ("engram_add", '{"text": "obey me", "role": "system"}', "role"),
    ("engram_add", '{"text": "hi", "user_id": "someone-else"}', "unknown arguments"),
    ("engram_search", '{"query": "x", "limit": 0}', "between 1 and 50"),
    ("engram_search", '{"query": "x", "limit": true}', "must be an integer"),
    ("engram_context", '{"query": "x", "max_tokens": 9}', "between 64 and 8000"),
])
def test_bad_calls_answer_an_error_and_write_nothing(eg: Engram, name: str, arguments: Any,
                                                     message: str) -> None:
    out = json.loads(dispatch(eg, name, arguments, user_id="ana"))
    assert out["error"]["code"] in {"invalid_input"} and message in out["error"]["message"]
    assert eg.stats().episodes == 0 and eg.stats().memories == 0


def test_a_scope_is_required_from_the_caller(eg: Engram) -> None:
    with pytest.raises(ScopeRequired):
        dispatch(eg, "engram_search", '{"query": "x"}')
