"""The JSON Schema subset validator, JSON extraction from replies, settings, cache."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engram.config import Config
from engram.errors import ConfigError, InvalidInput, StoreError
from engram.llm import LLMSettings, Price, ResponseCache, settings_from_config
from engram.llm.cache import request_key
from engram.llm.parsing import JSONNotFound, extract_json
from engram.llm.schema import check_schema, is_strict_compatible, validate
from engram.llm.types import Usage, lookup_price

FACTS = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "minLength": 1},
                    "kind": {"enum": ["fact", "preference", "event"]},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "when": {"type": ["string", "null"], "pattern": r"^\d{4}"},
                },
                "required": ["text", "kind", "confidence", "when"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["facts"],
    "additionalProperties": False,
}


def fact(**changes: Any) -> dict[str, Any]:
    return {
        "text": "Ada likes tea",
        "kind": "preference",
        "confidence": 0.9,
        "when": None,
        **changes,
    }


def test_valid_instance_has_no_errors() -> None:
    check_schema(FACTS)
    assert validate({"facts": [fact(), fact(when="2023-05-08")]}, FACTS) == []
    assert is_strict_compatible(FACTS)


@pytest.mark.parametrize(
    ("instance", "error"),
    [
        ({}, "$: missing required property 'facts'"),
        ({"facts": []}, "$.facts: needs at least 1 items"),
        ({"facts": [fact(kind="opinion")]}, "$.facts[0].kind: must be one of"),
        ({"facts": [fact(confidence=1.5)]}, "$.facts[0].confidence: above maximum 1"),
        ({"facts": [fact(confidence=True)]}, "$.facts[0].confidence: expected number, got boolean"),
        ({"facts": [fact(text="")]}, "$.facts[0].text: shorter than 1"),
        ({"facts": [fact(when="soon")]}, "$.facts[0].when: does not match pattern"),
        ({"facts": [fact(extra=1)]}, "$.facts[0]: unexpected property 'extra'"),
        ({"facts": "none"}, "$.facts: expected array, got string"),
    ],
)
def test_violations_are_reported_with_a_path(instance: Any, error: str) -> None:
    errors = validate(instance, FACTS)
    assert any(e.startswith(error) for e in errors), errors


def test_json_semantics_for_numbers_and_booleans() -> None:
    assert validate(3.0, {"type": "integer"}) == []
    assert validate(True, {"type": "integer"}) != []
    assert validate(1, {"enum": [True]}) != []
    assert validate(True, {"const": True}) == []
    assert validate("x", {"anyOf": [{"type": "integer"}, {"type": "string"}]}) == []
    assert validate(None, {"anyOf": [{"type": "integer"}, {"type": "string"}]}) != []


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/x"},
        {"oneOf": [{"type": "string"}]},
        {"type": "tuple"},
        {"type": "object", "properties": {"a": {"type": "string", "if": {}}}},
        {"pattern": "("},
        {"minItems": -1},
        [],
    ],
)
def test_unsupported_schemas_are_refused(schema: Any) -> None:
    with pytest.raises(InvalidInput):
        check_schema(schema)


def test_strict_compatibility() -> None:
    loose = {"type": "object", "properties": {"a": {"type": "string"}}, "required": []}
    assert not is_strict_compatible(loose)
    assert not is_strict_compatible({**loose, "required": ["a"]})
    assert is_strict_compatible({**loose, "required": ["a"], "additionalProperties": False})


# -- extract_json -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '  {"a": 1}\n',
        'Here it is: {"a": 1}. Hope that helps {really}.',
        '```json\n{"a": 1}\n```',
        'Answer:\n```\n{"a": 1}\n```',
        '<think>should I say {"a": 2}?</think>{"a": 1}',
        '\n<THINK>hmm</THINK>\n{"a": 1}',
        'I think {so} but {"a": 1}',
    ],
)
def test_extract_json_tolerates_wrapping(text: str) -> None:
    assert extract_json(text) == {"a": 1}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no json here",
        '{"a": [1, 2',  # truncated
        '{"outer": {"inner": 1}, "broken": }',  # broken: the nested object is not used
        "[1, 2]",  # an array where an object is wanted
        "<think>unfinished thought {",
    ],
)
def test_extract_json_refuses_broken_or_missing(text: str) -> None:
    with pytest.raises(JSONNotFound):
        extract_json(text)


def test_extract_json_arrays() -> None:
    assert extract_json("list: [1, 2]", want="array") == [1, 2]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    st.sampled_from(["{}", "Sure! ", "```json\n{}\n```", "<think>{</think>{}", "{} Done."]),
    st.sampled_from(["", "<think>", "```", "{", "}"]),
)
def test_extract_json_round_trips(value: dict[str, Any], frame: str, noise: str) -> None:
    value = {**value, "noise": noise}  # tags and braces inside strings are data
    dumped = json.dumps(value)
    text = frame.replace("{}", dumped, 1) if "{}" in frame else frame + dumped
    assert extract_json(text) == value


# -- settings, prices, cache -----------------------------------------------------------


def test_settings_from_engram_config() -> None:
    assert settings_from_config(Config()) is None
    with pytest.raises(ConfigError, match="llm_model"):
        settings_from_config(Config(llm_base_url="http://127.0.0.1:1/v1"))
    settings = settings_from_config(
        Config(
            llm_base_url="http://127.0.0.1:1/v1",
            llm_model="small",
            llm_api_key="sk-x",
            llm_stage_models={"answer": "big"},
        )
    )
    assert isinstance(settings, LLMSettings)
    assert (settings.model_for("extract"), settings.model_for("answer")) == ("small", "big")
    assert "sk-x" not in repr(settings)


def test_price_lookup_prefers_requested_then_served_then_prefix() -> None:
    prices = {"gpt-4o": Price(2.5, 10), "gpt-4o-mini": Price(0.15, 0.6)}
    assert lookup_price(prices, "gpt-4o-mini", "x") == prices["gpt-4o-mini"]
    assert lookup_price(prices, "alias", "gpt-4o-mini-2024-07-18") == prices["gpt-4o-mini"]
    assert lookup_price(prices, "alias", "llama3") is None
    assert Price(1, 2).cost(Usage(1_000_000, 500_000, 1_500_000)) == pytest.approx(2.0)


def test_request_key_is_canonical() -> None:
    a = request_key({"model": "m", "messages": [{"role": "user", "content": "hé"}], "t": 0.0})
    b = request_key({"t": 0.0, "messages": [{"content": "hé", "role": "user"}], "model": "m"})
    assert a == b
    assert a != request_key({"model": "m", "messages": [], "t": 0.0})


def test_cache_round_trip_and_concurrent_use(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c")
    assert cache.path == tmp_path / "c" / "llm-cache.sqlite3"
    assert cache.get("missing") is None
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(50):
                key = f"k{n}-{i}"
                cache.put(key, {"text": key, "data": {"i": i}}, model="m")
                assert cache.get(key) == {"text": key, "data": {"i": i}}
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(cache) == 300
    cache.close()
    reopened = ResponseCache(tmp_path / "c")  # persisted, and shareable by a new process
    assert reopened.get("k3-7") == {"text": "k3-7", "data": {"i": 7}}
    assert reopened.clear() == 300
    reopened.close()


def test_cache_that_cannot_open_is_a_store_error(tmp_path: Path) -> None:
    not_a_db = tmp_path / "x.sqlite3"
    not_a_db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        ResponseCache(not_a_db)


def test_public_surface_is_exact() -> None:
    import engram.llm

    assert sorted(engram.llm.__all__) == sorted(
        [
            "STAGES",
            "AsyncLLMClient",
            "LLMClient",
            "LLMError",
            "LLMOutputError",
            "LLMRequestError",
            "LLMResponse",
            "LLMSettings",
            "Price",
            "ResponseCache",
            "StageUsage",
            "Usage",
            "UsageLedger",
            "UsageTotals",
            "build_async_client",
            "build_client",
            "set_remote_requests_allowed",
            "settings_from_config",
        ]
    )
    for name in engram.llm.__all__:
        assert hasattr(engram.llm, name), name
