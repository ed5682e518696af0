"""Benchmark metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from engram.bench.metrics import (
    aggregate,
    answer_in_context,
    bleu1,
    distinct_ranking,
    ndcg,
    normalize_answer,
    percentile,
    recall_all,
    recall_any,
    reciprocal_rank,
    score_ranking,
    session_ranking,
    token_f1,
)

RANKED = [("a",), ("b",), ("c",), ("d",)]


def test_recall_any_and_all_at_k() -> None:
    gold = ["b", "d"]
    assert recall_any(RANKED, gold, 1) == 0.0
    assert recall_any(RANKED, gold, 2) == 1.0
    assert recall_all(RANKED, gold, 2) == 0.0
    assert recall_all(RANKED, gold, 4) == 1.0
    assert recall_all(RANKED, [], 4) == 0.0


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(RANKED, ["c"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(RANKED, ["z"]) == 0.0


def test_ndcg_hand_computed() -> None:
    # relevant at ranks 2 and 4; ideal puts the two relevant hits at ranks 1 and 2
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg(RANKED, ["b", "d"], 10) == pytest.approx(dcg / ideal)
    assert ndcg(RANKED, ["a"], 10) == 1.0
    # cut-off excludes rank 4
    assert ndcg(RANKED, ["d"], 3) == 0.0


def test_ndcg_ideal_is_limited_by_k() -> None:
    # 3 gold ids, k=2: ideal DCG counts two ranks only
    assert ndcg([("a",), ("b",)], ["a", "b", "c"], 2) == pytest.approx(1.0)


def test_distinct_ranking_drops_repeats_and_empty_hits() -> None:
    ranked = [("a", "b"), ("b",), ("c", "a"), ()]
    assert distinct_ranking(ranked) == [("a", "b"), ("c",)]


def test_memory_hit_covering_two_turns_counts_at_its_rank() -> None:
    ranked = distinct_ranking([("x",), ("a", "b")])
    assert recall_all(ranked, ["a", "b"], 1) == 0.0
    assert recall_all(ranked, ["a", "b"], 2) == 1.0


def test_session_ranking_counts_distinct_sessions() -> None:
    session_of = {"t1": "s1", "t2": "s1", "t3": "s2", "t4": "s3"}
    ranked = [("t1",), ("t2",), ("t3",), ("unknown",), ("t4",)]
    sess = session_ranking(ranked, session_of)
    assert sess == [("s1",), ("s2",), ("s3",)]
    assert recall_any(sess, ["s2"], 2) == 1.0


def test_score_ranking_flat_keys_and_no_gold() -> None:
    s = score_ranking(RANKED, ["c"], ks=(1, 5))
    assert s is not None
    assert s.flat() == {
        "recall_any@1": 0.0,
        "recall_any@5": 1.0,
        "recall_all@1": 0.0,
        "recall_all@5": 1.0,
        "mrr": pytest.approx(1 / 3),
        "ndcg@10": pytest.approx(1 / math.log2(4)),
    }
    assert score_ranking(RANKED, []) is None


def test_aggregate_micro_and_macro() -> None:
    rows = [("1", {"r": 1.0}), ("1", {"r": 1.0}), ("1", {"r": 0.0}), ("2", {"r": 0.0})]
    agg = aggregate(rows)
    assert agg.overall["r"] == pytest.approx(0.5)
    assert agg.by_category["1"]["r"] == pytest.approx(2 / 3)
    assert agg.macro["r"] == pytest.approx((2 / 3 + 0.0) / 2)
    assert agg.counts == {"1": 3, "2": 1, "all": 4}
    assert list(agg.by_category) == ["1", "2"]


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([10.0], 95) == 10.0
    assert percentile([], 50) == 0.0
    assert percentile(range(1, 101), 95) == pytest.approx(95.05)


def test_normalize_and_coverage() -> None:
    assert normalize_answer("The  Lord of the Rings!") == "lord of rings"
    assert answer_in_context("7 May 2023", "[2023-05-08] On 7 May, 2023 she went") is True
    # word boundaries: "art" is not inside "party"
    assert answer_in_context("art", "a party") is False
    assert answer_in_context("", "anything") is False
    assert answer_in_context("the", "the end") is False


def test_token_f1_and_bleu1() -> None:
    # pred tokens: [paris, france]; gold: [paris] -> P=1/2, R=1 -> F1=2/3
    assert token_f1("Paris, France", "Paris") == pytest.approx(2 / 3)
    assert token_f1("", "") == 1.0
    assert token_f1("London", "Paris") == 0.0
    # BLEU-1: precision 1/2, no brevity penalty (pred longer)
    assert bleu1("Paris France", "Paris") == pytest.approx(0.5)
    # shorter prediction: precision 1, BP = exp(1 - 2/1)
    assert bleu1("Paris", "Paris France") == pytest.approx(math.exp(-1))
    assert bleu1("", "Paris") == 0.0
