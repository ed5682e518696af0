"""``tools.eval_diff``: the questions two per-question dumps rank differently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.eval_diff import differences, main, totals

BEFORE = {
    "c#0": {"question": "What pet does the user have?", "r10": 1.0, "rall": 1.0, "mrr": 1.0,
            "update": True},
    "c#1": {"question": "Where does the user live?", "r10": 0.0, "rall": 0.0, "mrr": 0.0,
            "update": None},
    "c#2": {"question": "What car does the user drive?", "r10": 1.0, "rall": 1.0, "mrr": 0.5,
            "update": None},
}
AFTER = {
    "c#0": {**BEFORE["c#0"], "mrr": 0.5, "update": False},
    "c#1": {**BEFORE["c#1"], "r10": 1.0, "mrr": 0.2},
    "c#2": {**BEFORE["c#2"], "mrr": 0.52},  # moved less than the threshold
}


def test_only_the_questions_that_moved_are_listed() -> None:
    lines = differences(BEFORE, AFTER, mrr=0.05)
    assert [line.split()[0] for line in lines] == ["c#0", "c#1"]
    assert "update True -> False" in lines[0] and "r10 0.0 -> 1.0" in lines[1]
    assert differences(BEFORE, BEFORE) == []


def test_totals_count_gains_and_losses() -> None:
    assert totals(BEFORE, AFTER) == (
        "3 questions: R_any@10 +1 -0, updates +0 -1, MRR 0.500 -> 0.407")


def test_two_variants_of_one_dump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dump = tmp_path / "d.json"
    dump.write_text(json.dumps({"letta": {"recall": BEFORE, "no-updates": AFTER}}))
    main([str(dump), "--variants", "recall,no-updates"])
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == ("letta recall -> no-updates: 3 questions: R_any@10 +1 -0, "
                       "updates +0 -1, MRR 0.500 -> 0.407")
    assert len(out) == 3
