"""LongMemEval loader on a fixture in the published layout."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engram.bench.dataset import DatasetError
from engram.bench.longmemeval import (
    iter_json_array,
    load_longmemeval,
    parse_longmemeval_datetime,
)

FIXTURE = Path(__file__).parent / "fixtures" / "longmemeval_small.json"


def test_parse_dates() -> None:
    assert parse_longmemeval_datetime("2023/05/20 (Sat) 02:21") == datetime(
        2023, 5, 20, 2, 21, tzinfo=UTC
    )
    assert parse_longmemeval_datetime("2023/05/30") == datetime(2023, 5, 30, tzinfo=UTC)
    assert parse_longmemeval_datetime("2023-05-30T10:00:00Z") == datetime(
        2023, 5, 30, 10, tzinfo=UTC
    )
    with pytest.raises(DatasetError):
        parse_longmemeval_datetime("last Tuesday")


def test_fixture_layout() -> None:
    ds = load_longmemeval(FIXTURE)
    assert ds.benchmark == "longmemeval"
    assert len(ds.conversations) == 7
    by_id = {c.id: c for c in ds.conversations}
    q = by_id["e47becba"].questions[0]
    assert q.category == "single-session-user"
    assert q.evidence_turns == ("answer_280352e9#0",)
    assert q.evidence_sessions == ("answer_280352e9",)
    assert q.asked_at == datetime(2023, 5, 30, 23, 40, tzinfo=UTC)
    assert q.scored
    # integer answers become text
    assert by_id["0a995998"].questions[0].answer == "3"
    # unsorted (oracle-style) haystack is put in time order
    ku = by_id["6a1eabeb"]
    assert [s.id for s in ku.sessions] == ["answer_9d2e_1", "sharegpt_japan_1", "answer_9d2e_2"]
    # evidence on an assistant turn
    assert by_id["7161e7e2"].questions[0].evidence_turns == ("answer_ssa_1#1",)
    assert by_id["7161e7e2"].sessions[1].turns[1].role == "assistant"
    # abstention
    abs_q = by_id["e47becba_abs"].questions[0]
    assert abs_q.abstention and not abs_q.scored
    assert ds.evidence_issues == []


def test_limit_stops_early() -> None:
    assert [c.id for c in load_longmemeval(FIXTURE, limit=2).conversations] == [
        "e47becba",
        "0a995998",
    ]


def test_incremental_reader_matches_json_load(tmp_path: Path) -> None:
    expected = json.loads(FIXTURE.read_text())
    assert list(iter_json_array(FIXTURE, chunk_size=5)) == expected
    empty = tmp_path / "empty.json"
    empty.write_text(" [ ] ")
    assert list(iter_json_array(empty)) == []
    for bad_text in ('{"a": 1}', "[1, 2", "[1 2]", '[{"a": }]'):
        bad = tmp_path / "bad.json"
        bad.write_text(bad_text)
        with pytest.raises(DatasetError):
            list(iter_json_array(bad, chunk_size=3))


def _entry(**over: object) -> dict[str, object]:
    e: dict[str, object] = {
        "question_id": "q1",
        "question_type": "multi-session",
        "question": "Q?",
        "answer": "A",
        "question_date": "2023/06/01 (Thu) 10:00",
        "haystack_session_ids": ["s1", "s1"],
        "haystack_dates": ["2023/05/01 (Mon) 10:00", "2023/05/02 (Tue) 10:00"],
        "haystack_sessions": [
            [{"role": "user", "content": "x", "has_answer": True}],
            [{"role": "user", "content": ""}, {"role": "assistant", "content": "y"}],
        ],
        "answer_session_ids": ["s1", "ghost"],
    }
    e.update(over)
    return e


def test_robust_to_duplicates_and_missing_sessions(tmp_path: Path) -> None:
    p = tmp_path / "lme.json"
    p.write_text(json.dumps([_entry()]))
    ds = load_longmemeval(p)
    conv = ds.conversations[0]
    assert [s.id for s in conv.sessions] == ["s1", "s1~2"]
    assert [t.id for t in conv.sessions[1].turns] == ["s1~2#1"]  # empty turn dropped
    assert conv.questions[0].evidence_sessions == ("s1",)
    assert ds.skipped == 1 and ds.evidence_issues[0].raw == "ghost"
    # without answer_session_ids: derived from has_answer turns
    p.write_text(json.dumps([_entry(answer_session_ids=None)]))
    assert load_longmemeval(p).conversations[0].questions[0].evidence_sessions == ("s1",)


def test_bad_layout(tmp_path: Path) -> None:
    p = tmp_path / "lme.json"
    p.write_text(json.dumps([_entry(haystack_dates=["2023/05/01"])]))
    with pytest.raises(DatasetError):
        load_longmemeval(p)
    p.write_text(json.dumps([{"foo": 1}]))
    with pytest.raises(DatasetError):
        load_longmemeval(p)
