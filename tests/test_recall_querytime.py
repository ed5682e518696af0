"""Query time understanding: ranges, before/after, anchors, "when" questions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engram.errors import NaiveDatetime
from engram.recall.querytime import parse_query_time

NOW = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


def day(dt: datetime | None) -> str | None:
    return None if dt is None else dt.date().isoformat()


@pytest.mark.parametrize(
    ("query", "start", "end", "relation"),
    [
        ("What did Jon do in May 2023?", "2023-05-01", "2023-06-01", "in"),
        ("Who did Maria have dinner with on May 3, 2023?", "2023-05-03", "2023-05-04", "in"),
        ("When did Melanie go camping in June?", "2023-06-01", "2023-07-01", "in"),
        ("Where did John go on a road trip last year?", "2023-01-01", "2024-01-01", "in"),
        ("What happened before 2023?", None, "2023-01-01", "before"),
        ("What did she do after May 2023?", "2023-06-01", None, "after"),
        ("What has he done since March 2023?", "2023-03-01", None, "after"),
        ("Where was he until June 2023?", None, "2023-07-01", "before"),
        ("What did they do between May 1 and May 5, 2023?", "2023-05-01", "2023-05-06", "in"),
        ("What did she do from June 2023 to August 2023?", "2023-06-01", "2023-09-01", "in"),
        (
            "What did she do after March 2023 but before June 2023?",
            "2023-04-01",
            "2023-06-01",
            "in",
        ),
        ("What did Maria do the weekend before April 10, 2023?", "2023-04-08", "2023-04-10", "in"),
        # a day first with dots (DIN 5008 and most of Europe): REALTALK asks this way
        ("What class did Kevin have on 21.01.2024?", "2024-01-21", "2024-01-22", "in"),
        ("What did Paola explore on 24.01.2024.", "2024-01-24", "2024-01-25", "in"),
        ("Where was she on 3.4.2023?", "2023-04-03", "2023-04-04", "in"),
    ],
)
def test_ranges(query: str, start: str | None, end: str | None, relation: str) -> None:
    q = parse_query_time(query, NOW)
    assert q is not None
    assert (day(q.start), day(q.end), q.relation) == (start, end, relation)
    assert q.has_range


@pytest.mark.parametrize(
    "query",
    [
        "When did Caroline go to the LGBTQ support group?",
        "when is Melanie planning on going camping",
        "So when did they meet?",
        "What year did John get his dog?",
        "In what month did Gina open her store?",
        "How long ago was Caroline's 18th birthday?",
        "On what date did the race happen?",
        "Did she say when did the class start?",
    ],
)
def test_asks_when(query: str) -> None:
    q = parse_query_time(query, NOW)
    assert q is not None and q.asks_when


def test_when_as_a_conjunction_is_not_a_when_question() -> None:
    q = parse_query_time("What did Caroline do when she was a kid?", NOW)
    assert q is None or not q.asks_when


@pytest.mark.parametrize(
    "query",
    [
        "How long has Caroline had her current group of friends?",
        "How many weeks passed between Maria adopting Coco and Shadow?",
        "For how long did they date?",
    ],
)
def test_asks_duration(query: str) -> None:
    q = parse_query_time(query, NOW)
    assert q is not None and q.asks_duration and not q.asks_when


def test_event_anchor_has_a_relation_but_no_range() -> None:
    q = parse_query_time("What did Melanie do before the trip?", NOW)
    assert q is not None
    assert q.relation == "before" and q.anchor == "the trip" and not q.has_range
    after = parse_query_time("How did Melanie feel after the accident?", NOW)
    assert after is not None and after.relation == "after" and after.anchor == "the accident"
    assert parse_query_time("After how many weeks did Tim call?", NOW).anchor is None  # type: ignore[union-attr]


def test_order_words() -> None:
    assert parse_query_time("What was the first book she read?", NOW).order == "earliest"  # type: ignore[union-attr]
    assert parse_query_time("What book is Jon currently reading?", NOW).order == "latest"  # type: ignore[union-attr]
    recent = parse_query_time("What did Melanie paint recently?", NOW)
    assert recent is not None and recent.order == "latest" and not recent.has_range
    assert parse_query_time("What did the team do to win first place?", NOW) is None


def test_vague_future_words_set_no_range() -> None:
    assert parse_query_time("Would Melanie go on another roadtrip soon?", NOW) is None


@pytest.mark.parametrize("query", [
    "Did the update to 1.2.24 fix it?", "Is 3.11.2 the version she uses?",
    "What happened in 1.13.2024?", "Why is pi 3.14159?"])
def test_a_version_or_an_impossible_dotted_date_is_no_date(query: str) -> None:
    got = parse_query_time(query, datetime(2024, 3, 1, tzinfo=UTC))
    assert got is None or got.start is None


def test_queries_without_time_give_none() -> None:
    assert parse_query_time("What is Caroline's favourite colour?", NOW) is None
    assert parse_query_time("Where did Caroline move from 4 years ago?", NOW).relation == "in"  # type: ignore[union-attr]


def test_relative_expressions_count_from_now() -> None:
    q = parse_query_time("What did I buy yesterday?", datetime(2023, 5, 8, 9, tzinfo=UTC))
    assert q is not None and q.start is not None
    assert q.start.date() == date(2023, 5, 7)
    assert q.mentions[0].text == "yesterday"


def test_naive_now_is_rejected() -> None:
    with pytest.raises(NaiveDatetime):
        parse_query_time("What happened last week?", datetime(2023, 5, 8))


@pytest.mark.parametrize(("query", "start"), [
    # a present progressive after a named or a "the" subject tells a plan: the coming date
    ("Where is the user spending 25 December?", "2024-12-25"),
    ("Where is Anna staying on 3 March?", "2024-03-03"),
    ("What are the kids doing on 20 February?", "2024-02-20"),
    ("Where am I going on 3 March?", "2024-03-03"),
    # past tense, or a noun in -ing after "the": the last one, as before
    ("What did I do on 25 December?", "2023-12-25"),
    ("Where was the user staying on 25 December?", "2023-12-25"),
    ("When is the meeting on 25 December about?", "2023-12-25"),
])
def test_a_plan_told_in_the_present_progressive_takes_the_coming_date(
        query: str, start: str) -> None:
    t = parse_query_time(query, NOW)
    assert t is not None and day(t.start) == start, query
