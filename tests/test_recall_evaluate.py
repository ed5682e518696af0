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

LABELLED, HELDOUT = DEFAULT_LABELS[:2]


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


# Session 51's sets were written blind from a brief (:data:`DEFAULT_LABELS`): the rules
# were mended on the development part; the held part was measured before and after only
# (its misses were never read). A change may mend a listed case (then remove it here),
# never add one. "since X" is labelled there as the days from X to the day it was said;
# the resolver gives X, and a question's reading makes it a range
# (:func:`engram.recall.querytime.parse_query_time`), so those cases stay listed.

#: set -> the ids of the cases missed (a wrong range, a missed expression, or a false one)
MISSES = {
    "timeexpr_labelled.jsonl": [],
    "timeexpr_s51_dev.jsonl": [
        "ta-066", "ta-068", "ta-069", "ta-072", "ta-112", "ta-117", "ta-125", "ta-128",
        "ta-152", "ta-157", "tb-060", "tb-079", "tb-122", "tb-124", "tb-125", "tb-145",
        "tb-146", "tb-153"],
    "timeexpr_s51_held.jsonl": [
        "ta-047", "ta-067", "ta-070", "ta-073", "ta-104", "ta-107", "ta-119", "ta-127",
        "ta-133", "ta-142", "ta-145", "tb-008", "tb-046", "tb-049", "tb-051", "tb-054",
        "tb-061", "tb-084", "tb-098", "tb-099", "tb-123", "tb-154"],
}


@pytest.mark.parametrize("name", sorted(MISSES))
def test_no_labelled_case_is_lost(name: str) -> None:
    total, _ = score(load_cases(LABELLED.parent / name), engram_predictor)
    missed = {m.split(":")[0] for m in total.misses}
    assert missed <= set(MISSES[name]), sorted(missed - set(MISSES[name]))
