"""engram.filtering: one grammar of comparisons and AND/OR/NOT over records."""

from __future__ import annotations

import doctest

import pytest

import engram.filtering
from engram.errors import InvalidInput
from engram.filtering import parse_filter

REC = {"kind": "fact", "tags": ["travel", "Food"], "metadata": {"year": 2023, "city": "Lisbon"},
       "created_at": "2024-07-15T10:00:00.000000Z", "none": None}


@pytest.mark.parametrize(("spec", "expected"), [
    ({}, True),
    ({"kind": "fact"}, True), ({"kind": "plan"}, False), ({"missing": "x"}, False),
    ({"kind": "*"}, True), ({"none": "*"}, False), ({"missing": "*"}, False),
    ({"kind": {"eq": "fact"}}, True), ({"kind": {"ne": "fact"}}, False),
    ({"missing": {"ne": "x"}}, True),
    ({"metadata.year": {"gt": 2022}}, True), ({"metadata.year": {"gte": 2024}}, False),
    ({"metadata.year": {"lt": 2024, "gte": 2023}}, True), ({"metadata.year": {"lte": 2022}}, False),
    ({"metadata.year": {"gt": "2020"}}, False),  # a number never compares with a string
    ({"created_at": {"gte": "2024-07-01", "lte": "2024-07-31"}}, True),
    ({"kind": {"in": ["fact", "plan"]}}, True), ({"kind": {"nin": ["fact"]}}, False),
    ({"tags": {"contains": "travel"}}, True), ({"tags": {"icontains": "food"}}, True),
    ({"metadata.city": {"contains": "isb"}}, True), ({"metadata.city": {"icontains": "LIS"}}, True),
    ({"metadata": {"city": "Lisbon", "year": 2023}}, True),
    ({"metadata": {"city": "Porto"}}, False),
    ({"AND": [{"kind": "fact"}, {"metadata.year": 2023}]}, True),
    ({"OR": [{"kind": "plan"}, {"metadata.city": "Lisbon"}]}, True),
    ({"OR": [{"kind": "plan"}, {"metadata.city": "Porto"}]}, False),
    ({"NOT": [{"kind": "plan"}]}, True), ({"NOT": [{"kind": "fact"}]}, False),
    ({"kind": "fact", "OR": [{"tags": {"contains": "x"}}, {"metadata.year": {"gte": 2000}}]}, True),
])
def test_matches(spec: dict[str, object], expected: bool) -> None:
    assert parse_filter(spec).matches(REC) is expected


@pytest.mark.parametrize("spec", [
    {"AND": {"kind": "fact"}}, {"OR": []}, {"kind": {"in": "fact"}}, {"gte": 3},
    {"kind": {"eq": "x", "sub": 1}}, {"AND": ["not an object"]},
])
def test_malformed_filters_are_invalid_input(spec: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        parse_filter(spec)


def test_docstring_examples() -> None:
    assert doctest.testmod(engram.filtering).failed == 0
