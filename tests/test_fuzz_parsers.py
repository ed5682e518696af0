"""Fuzzing every parser of outside input (Hypothesis).

Property: a parser either succeeds or raises an :class:`EngramError`; never
another exception. Writes that fail leave the database byte-for-byte the same
(compared with ``tests/dbdump.py``)."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dbdump import dump
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engram import Engram
from engram.bench.locomo import load_locomo, parse_locomo_datetime
from engram.bench.longmemeval import load_longmemeval, parse_longmemeval_datetime
from engram.embed.base import Embedder
from engram.errors import EngramError
from engram.recall import annotate, extract_entities, parse_query_time, resolve_time_expressions
from engram.timeutil import parse_dt
from engram.transfer import parse_jsonl

FAST = settings(max_examples=150, deadline=None)
SLOW = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

REF = datetime(2024, 5, 8, 12, 0, tzinfo=UTC)

# JSON values of any shape, biased towards the fields the parsers look at
json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(
    max_size=40)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                  max_size=5),
    max_leaves=20,
)
FIELDS = ["type", "id", "tenant", "user_id", "agent_id", "session_id", "role", "speaker", "text",
          "occurred_at", "created_at", "metadata", "kind", "status", "version", "memory_id",
          "before", "after", "valid_from", "valid_to", "importance", "attribute"]
record = st.dictionaries(st.sampled_from(FIELDS), json_value, max_size=12)

VALID_EPISODE = {
    "type": "episode", "id": "e1", "tenant": "default", "user_id": "u", "agent_id": None,
    "session_id": None, "role": "user", "speaker": None, "text": "hello world",
    "occurred_at": "2024-01-01T00:00:00Z", "created_at": "2024-01-01T00:00:00Z", "metadata": {},
}


def _mutated_episode() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda patch, drop: {**{k: v for k, v in VALID_EPISODE.items()
                                             if k not in drop}, **patch},
                     st.dictionaries(st.sampled_from(FIELDS), json_value, max_size=3),
                     st.sets(st.sampled_from(list(VALID_EPISODE)), max_size=2))


def _typed_only(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except EngramError:
        return None


# -- JSONL import ------------------------------------------------------------
@FAST
@given(st.lists(st.text(max_size=80) | record.map(json.dumps) | _mutated_episode().map(json.dumps),
                max_size=6))
@example(["{", "[]", "null", '{"type": "episode"}', "\x00", '"\\ud800"'])
def test_parse_jsonl_only_typed_errors(lines: list[str]) -> None:
    _typed_only(parse_jsonl, lines, 4096)


@pytest.fixture(scope="module")
def store_dir() -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


@SLOW
@given(st.lists(_mutated_episode().map(json.dumps) | st.text(max_size=30), min_size=1,
                max_size=4))
def test_bad_import_writes_nothing(store_dir: Path, embedder: Embedder, lines: list[str]) -> None:
    path = store_dir / "imp.db"
    with Engram(path, embedder=embedder) as eg:
        eg.add("a line that is already there", user_id="u")
    before = dump(path)
    with Engram(path, embedder=embedder) as eg:
        try:
            eg.import_(lines, batch_size=1000)
        except EngramError:
            ok = False
        else:
            ok = True
    if not ok:
        assert dump(path) == before


# -- dates ---------------------------------------------------------------------
@FAST
@given(st.text(max_size=40) | st.datetimes(min_value=datetime(2, 1, 1),
                                           max_value=datetime(9998, 1, 1)).map(
    lambda d: d.isoformat() + "Z"))
@example("2024-13-01T00:00:00Z")
@example("2024-01-01T00:00:00")
def test_parse_dt_only_typed_errors(text: str) -> None:
    got = _typed_only(parse_dt, text)
    assert got is None or got.tzinfo is not None


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"])
def test_parse_dt_extreme_offsets_are_typed_errors(text: str) -> None:
    _typed_only(parse_dt, text)


@FAST
@given(st.text(max_size=120), st.datetimes(min_value=datetime(1900, 1, 1),
                                           max_value=datetime(2100, 12, 31)))
@example("in 9999999999 days", datetime(2024, 1, 1))
@example("99999999999999999999 years ago", datetime(2024, 1, 1))
@example("the 31st of February 2023, 25:61", datetime(2024, 1, 1))
def test_time_expressions_never_crash(text: str, ref: datetime) -> None:
    ref = ref.replace(tzinfo=UTC)
    _typed_only(resolve_time_expressions, text, ref)
    _typed_only(annotate, text, ref)
    _typed_only(parse_query_time, text, ref)
    _typed_only(extract_entities, text)


@pytest.mark.parametrize(("text", "year"), [("last year", 1), ("next year on 31 February", 9999)])
def test_time_expressions_at_the_calendar_edges(text: str, year: int) -> None:
    ref = datetime(year, 1 if year == 1 else 12, 2 if year == 1 else 30, tzinfo=UTC)
    _typed_only(resolve_time_expressions, text, ref)


def test_add_at_year_one_is_stored_or_a_typed_error(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "edge.db"
    with Engram(path, embedder=embedder) as eg:
        eg.add("first line", user_id="u")
    before = dump(path)
    with Engram(path, embedder=embedder) as eg:
        try:
            eg.add("I went there last year", user_id="u",
                   occurred_at=datetime(1, 1, 2, tzinfo=UTC))
        except EngramError:
            assert dump(path) == before  # refused: nothing written


@FAST
@given(st.text(max_size=60))
@example("1:56 pm on 8 May, 2023")
@example("2023/05/08 (Mon) 99:99")
def test_benchmark_date_parsers(text: str) -> None:
    _typed_only(parse_locomo_datetime, text)
    _typed_only(parse_longmemeval_datetime, text)


# -- benchmark loaders -------------------------------------------------------------
@SLOW
@given(json_value | st.lists(record, max_size=3) | st.text(max_size=50))
def test_dataset_loaders_only_typed_errors(store_dir: Path, data: Any) -> None:
    p = store_dir / "data.json"
    p.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    _typed_only(load_locomo, p)
    _typed_only(load_longmemeval, p)


@SLOW
@given(st.lists(st.fixed_dictionaries({
    "question_id": json_value, "question": json_value, "answer": json_value,
    "question_type": json_value, "question_date": json_value, "haystack_dates": json_value,
    "haystack_session_ids": json_value, "haystack_sessions": json_value,
    "answer_session_ids": json_value}), min_size=1, max_size=2))
def test_longmemeval_shaped_garbage(store_dir: Path, entries: list[dict[str, Any]]) -> None:
    p = store_dir / "lme.json"
    p.write_text(json.dumps(entries), encoding="utf-8")
    _typed_only(load_longmemeval, p)


@SLOW
@given(st.fixed_dictionaries({
    "sample_id": json_value, "conversation": json_value | st.fixed_dictionaries({
        "speaker_a": json_value, "speaker_b": json_value, "session_1": json_value,
        "session_1_date_time": json_value}),
    "qa": json_value | st.lists(st.dictionaries(
        st.sampled_from(["question", "answer", "evidence", "category"]), json_value),
        max_size=2)}))
def test_locomo_shaped_garbage(store_dir: Path, entry: dict[str, Any]) -> None:
    p = store_dir / "locomo.json"
    p.write_text(json.dumps([entry]), encoding="utf-8")
    _typed_only(load_locomo, p)


def test_longmemeval_non_list_dates(tmp_path: Path) -> None:
    p = tmp_path / "lme.json"
    p.write_text(json.dumps([{
        "question_id": "q", "question": "x", "answer": "y", "question_type": "t",
        "question_date": "2023/05/08 (Mon) 10:00", "haystack_dates": 5,
        "haystack_session_ids": ["s"], "haystack_sessions": [[]], "answer_session_ids": []}]),
        encoding="utf-8")
    _typed_only(load_longmemeval, p)
