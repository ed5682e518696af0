"""The labelled time-expression sets and the evaluate_time command."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tools.evaluate_time import (
    DEFAULT_LABELS,
    engram_predictor,
    load_cases,
    main,
    parse_locomo_date,
    score,
)

LABELLED, HELDOUT = DEFAULT_LABELS


def test_labelled_set_is_large_and_covers_every_family_and_negatives() -> None:
    cases = load_cases(LABELLED)
    assert len(cases) >= 120
    families = {c.family for c in cases}
    assert {"deictic", "ago", "weekday", "explicit", "anchored", "season", "fuzzy"} <= families
    assert sum(1 for c in cases if not c.expected) >= 20
    assert all(c.ref.tzinfo is not None for c in cases)


@pytest.mark.parametrize(("path", "floor"), [(LABELLED, 0.95), (HELDOUT, 0.85)])
def test_resolver_quality_does_not_regress(path: Path, floor: float) -> None:
    total, _ = score(load_cases(path), engram_predictor)
    assert total.accuracy >= floor, total.misses
    assert total.precision >= 0.95, total.misses


def test_command_prints_figures_and_skips_missing_locomo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "mini.jsonl"
    rows = [
        {"id": "a", "family": "deictic", "text": "I went yesterday.",
         "ref": "2023-05-08T13:56:00+00:00",
         "expected": [{"text": "yesterday", "start": "2023-05-07", "end": "2023-05-07"}]},
        {"id": "b", "family": "negative", "text": "I may go.",
         "ref": "2023-05-08T13:56:00+00:00", "expected": []},
    ]  # fmt: skip
    labels.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["--labels", str(labels), "--locomo", str(tmp_path / "absent.json")]) == 0
    out = capsys.readouterr().out
    assert "ALL" in out and "1.000" in out
    assert "not found, skipped" in out


def test_missing_labels_file_is_a_clean_error(tmp_path: Path) -> None:
    assert main(["--labels", str(tmp_path / "nope.jsonl"), "--locomo", str(tmp_path)]) == 2


def test_parse_locomo_date() -> None:
    assert parse_locomo_date("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert parse_locomo_date("12:09 am on 13 September, 2023") == datetime(
        2023, 9, 13, 0, 9, tzinfo=UTC
    )
    assert parse_locomo_date("sometime") is None
