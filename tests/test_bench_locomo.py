"""LoCoMo loader: date parsing, evidence repair, and the shared development split."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engram.bench.dataset import DatasetError
from engram.bench.locomo import load_locomo, parse_locomo_datetime, repair_evidence
from engram.bench.paths import default_locomo_path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "locomo"


def test_parse_locomo_datetime() -> None:
    assert parse_locomo_datetime("1:56 pm on 8 May, 2023") == datetime(
        2023, 5, 8, 13, 56, tzinfo=UTC
    )
    assert parse_locomo_datetime("12:09 am on 13 September, 2023") == datetime(
        2023, 9, 13, 0, 9, tzinfo=UTC
    )
    assert parse_locomo_datetime("12:30 pm on 1 Jan 2024") == datetime(
        2024, 1, 1, 12, 30, tzinfo=UTC
    )
    assert parse_locomo_datetime("8 May, 2023") == datetime(2023, 5, 8, tzinfo=UTC)
    for bad in ("yesterday", "13:00 pm on 8 May, 2023", "1:00 pm on 31 February, 2023", ""):
        with pytest.raises(DatasetError):
            parse_locomo_datetime(bad)


VALID = {"D1:3", "D1:4", "D8:6", "D9:17", "D11:26"}


@pytest.mark.parametrize(
    ("raw", "ids", "issue"),
    [
        ("D1:3", ("D1:3",), False),
        (" D1:3 ", ("D1:3",), False),
        ("D8:6; D9:17", ("D8:6", "D9:17"), True),
        ("D1:3,D1:4", ("D1:3", "D1:4"), True),
        ("D:11:26", ("D11:26",), True),
        ("D1:03", ("D1:3",), True),
        ("d1:3", ("D1:3",), True),
        ("D8:6; D99:1", ("D8:6",), True),
        ("D", (), True),
        ("D10:19", (), True),
        ("", (), True),
        (None, (), True),
        (17, (), True),
    ],
)
def test_repair_evidence(raw: object, ids: tuple[str, ...], issue: bool) -> None:
    rep = repair_evidence(raw, VALID)
    assert rep.ids == ids
    assert (rep.issue is not None) is issue


def _tiny(tmp_path: Path) -> Path:
    data = [
        {
            "sample_id": "conv-x",
            "conversation": {
                "speaker_a": "Ann",
                "speaker_b": "Bob",
                "session_2_date_time": "9:00 am on 3 June, 2023",
                "session_2": [
                    {"speaker": "Ann", "dia_id": "D2:1", "text": "Back from Rome!"},
                    {
                        "speaker": "Bob",
                        "dia_id": "D2:2",
                        "text": "Look",
                        "blip_caption": "a photo of a cat",
                    },
                ],
                "session_1_date_time": "1:56 pm on 8 May, 2023",
                "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "I adopted a cat."}],
                "session_3_date_time": "1:00 pm on 9 June, 2023",
                "session_3": [],
            },
            "qa": [
                {
                    "question": "What pet?",
                    "answer": "a cat",
                    "evidence": ["D1:1", "D2:2"],
                    "category": 4,
                },
                {
                    "question": "Year?",
                    "answer": 2023,
                    "evidence": ["D1:1; D2:1", "D"],
                    "category": 2,
                },
                {
                    "question": "Dog name?",
                    "adversarial_answer": "Rex",
                    "evidence": ["D5:5"],
                    "category": 5,
                },
            ],
        }
    ]
    p = tmp_path / "locomo10.json"
    p.write_text(json.dumps(data))
    return p


def test_load_tiny_file(tmp_path: Path) -> None:
    ds = load_locomo(_tiny(tmp_path).parent)  # a directory holding locomo10.json works too
    (conv,) = ds.conversations
    assert [s.id for s in conv.sessions] == ["session_1", "session_2"]  # ordered, empty dropped
    t = conv.sessions[1].turns
    assert t[1].text == "Look [image: a photo of a cat]"
    assert t[1].speaker == "Bob" and t[1].id == "D2:2"
    assert (t[1].occurred_at - t[0].occurred_at).total_seconds() == 1
    q0, q1, q2 = conv.questions
    assert q0.evidence_sessions == ("session_1", "session_2")
    assert q1.answer == "2023" and q1.evidence_turns == ("D1:1", "D2:1")
    assert (
        q2.scored is False and q2.abstention and q2.answer == "" and q2.adversarial_answer == "Rex"
    )
    assert q2.evidence_turns == ()
    assert all(q.asked_at > t[1].occurred_at for q in conv.questions)
    assert (ds.repaired, ds.skipped) == (1, 2)
    assert len(ds.sha256) == 64


def test_not_locomo_layout(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"nope": 1}')
    with pytest.raises(DatasetError):
        load_locomo(bad)
    bad.write_text("not json")
    with pytest.raises(DatasetError):
        load_locomo(bad)
    with pytest.raises(DatasetError):
        load_locomo(tmp_path / "missing.json")


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"LoCoMo development split not found at {SHARED}")
def test_shared_development_split() -> None:
    assert default_locomo_path() == SHARED.resolve()
    ds = load_locomo(SHARED)
    assert len(ds.conversations) == 7
    assert sum(len(c.turns) for c in ds.conversations) == 4124
    assert len(ds.questions) == 1347
    assert sum(q.scored for q in ds.questions) == 1035
    assert ds.repaired >= 1 and ds.skipped >= 1
    for conv in ds.conversations:
        turn_ids = {t.id for t in conv.turns}
        for q in conv.questions:
            assert set(q.evidence_turns) <= turn_ids
        dates = [s.started_at for s in conv.sessions]
        assert dates == sorted(dates)
