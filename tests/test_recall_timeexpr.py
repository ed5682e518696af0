"""Time expressions: each resolver family, negatives, time zones, annotate()."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engram.errors import InvalidInput, NaiveDatetime
from engram.recall import _calendar as cal
from engram.recall.timeexpr import TimeMention, annotate, resolve_time_expressions
from engram.recall.timeformat import date_labels

MON = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)  # Monday 8 May 2023
THU = datetime(2023, 5, 25, 13, 14, tzinfo=UTC)  # Thursday
SAT = datetime(2023, 7, 15, 13, 51, tzinfo=UTC)  # Saturday
SUN = datetime(2023, 10, 22, 9, 55, tzinfo=UTC)  # Sunday


def one(text: str, ref: datetime = MON) -> TimeMention:
    found = resolve_time_expressions(text, ref)
    assert len(found) == 1, found
    return found[0]


def days(m: TimeMention) -> tuple[str, str]:
    return m.first_day.isoformat(), m.last_day.isoformat()


@pytest.mark.parametrize(
    ("text", "ref", "first", "last"),
    [
        ("I went to a support group yesterday.", MON, "2023-05-07", "2023-05-07"),
        ("Today I finished the mural.", MON, "2023-05-08", "2023-05-08"),
        ("We're having a barbecue tonight.", MON, "2023-05-08", "2023-05-08"),
        ("Last night was amazing.", MON, "2023-05-07", "2023-05-07"),
        ("I have an interview tomorrow morning.", MON, "2023-05-09", "2023-05-09"),
        ("The day before yesterday I adopted a puppy.", MON, "2023-05-06", "2023-05-06"),
        ("She arrives the day after tomorrow.", THU, "2023-05-27", "2023-05-27"),
        ("I signed up this morning.", THU, "2023-05-25", "2023-05-25"),
    ],
)
def test_deictic_days(text: str, ref: datetime, first: str, last: str) -> None:
    m = one(text, ref)
    assert days(m) == (first, last)
    assert m.granularity == "day" and m.relative and not m.fuzzy


@pytest.mark.parametrize(
    ("text", "ref", "first", "last", "granularity"),
    [
        ("two days ago", MON, "2023-05-06", "2023-05-06", "day"),
        ("Three days ago", MON, "2023-05-05", "2023-05-05", "day"),
        ("a week ago", MON, "2023-05-01", "2023-05-07", "week"),
        ("2 weeks ago", MON, "2023-04-24", "2023-04-30", "week"),
        ("a month ago", MON, "2023-04-01", "2023-04-30", "month"),
        ("six months ago", MON, "2022-11-01", "2022-11-30", "month"),
        ("ten years ago", MON, "2013-01-01", "2013-12-31", "year"),
        ("two weekends ago", SAT, "2023-07-01", "2023-07-02", "weekend"),
        ("in two weeks", MON, "2023-05-22", "2023-05-28", "week"),
        ("three days from now", MON, "2023-05-11", "2023-05-11", "day"),
        ("in a month", MON, "2023-06-01", "2023-06-30", "month"),
    ],
)
def test_counted_units(text: str, ref: datetime, first: str, last: str, granularity: str) -> None:
    m = one(text, ref)
    assert days(m) == (first, last)
    assert m.granularity == granularity
    assert m.relative


def test_vague_counts_are_fuzzy_ranges() -> None:
    m = one("I got the tattoo a few years ago.")
    assert m.fuzzy and m.granularity == "year"
    assert m.first_day < date(2020, 6, 1) < m.last_day < date(2023, 1, 1)
    couple = one("A couple of days ago we went to the beach.")
    assert couple.fuzzy and couple.first_day <= date(2023, 5, 6) <= couple.last_day
    hedged = one("About three months ago I started running.")
    assert hedged.fuzzy and days(hedged) == ("2023-02-01", "2023-02-28")


@pytest.mark.parametrize(
    ("text", "ref", "first", "last"),
    [
        ("Last week I went to a parade.", MON, "2023-05-01", "2023-05-07"),
        ("This week has been hectic.", MON, "2023-05-08", "2023-05-14"),
        ("Next week I start my new job.", MON, "2023-05-15", "2023-05-21"),
        ("I'm going to a conference this month.", MON, "2023-05-01", "2023-05-31"),
        ("We're thinking about camping next month.", THU, "2023-06-01", "2023-06-30"),
        ("My sister visited last month.", MON, "2023-04-01", "2023-04-30"),
        ("I read it last year.", MON, "2022-01-01", "2022-12-31"),
        ("I want to run a marathon next year.", MON, "2024-01-01", "2024-12-31"),
        ("The week before last I was in Rome.", MON, "2023-04-24", "2023-04-30"),
    ],
)
def test_last_this_next_units(text: str, ref: datetime, first: str, last: str) -> None:
    assert days(one(text, ref)) == (first, last)


@pytest.mark.parametrize(
    ("text", "ref", "first", "last"),
    [
        ("Last weekend I joined a program.", SAT, "2023-07-08", "2023-07-09"),
        ("Last weekend I joined a program.", datetime(2023, 7, 17, tzinfo=UTC), "2023-07-15",
         "2023-07-16"),
        ("We're going to the lake this weekend.", MON, "2023-05-13", "2023-05-14"),
        ("I went hiking this weekend and saw a deer.", MON, "2023-05-06", "2023-05-07"),
        ("That roadtrip this past weekend was insane!", datetime(2023, 10, 20, tzinfo=UTC),
         "2023-10-14", "2023-10-15"),
        ("Are you free next weekend?", MON, "2023-05-20", "2023-05-21"),
        ("I did a lot of reading over the weekend.", MON, "2023-05-06", "2023-05-07"),
        ("We'll hang out over the weekend.", THU, "2023-05-27", "2023-05-28"),
    ],
)  # fmt: skip
def test_weekends(text: str, ref: datetime, first: str, last: str) -> None:
    m = one(text, ref)
    assert days(m) == (first, last)
    assert m.granularity == "weekend"


@pytest.mark.parametrize(
    ("text", "ref", "day"),
    [
        ("I ran a charity race last Saturday.", THU, "2023-05-20"),
        ("Last Friday I went to a meeting.", SAT, "2023-07-14"),
        ("Last Fri I took my kids to a workshop.", SAT, "2023-07-14"),
        ("I joined a new group last Tues.", datetime(2023, 7, 20, tzinfo=UTC), "2023-07-18"),
        ("I passed the interviews last Friday!", SUN, "2023-10-20"),
        ("I have a dentist appointment on Thursday.", MON, "2023-05-11"),
        ("On Saturday we went to the market.", MON, "2023-05-06"),
        ("Next Friday is my birthday.", MON, "2023-05-12"),
        ("This Friday we're going to a concert.", MON, "2023-05-12"),
        ("This coming Sunday I'll run a 10k.", THU, "2023-05-28"),
        ("We saw them the Saturday before last.", MON, "2023-04-29"),
    ],
)
def test_weekdays(text: str, ref: datetime, day: str) -> None:
    m = one(text, ref)
    assert days(m) == (day, day)
    assert m.relative


def test_weekday_span_excludes_sentence_full_stop() -> None:
    m = one("I printed it last Friday. It was great.")
    assert m.text == "last Friday"


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("We met on 8 May.", "2023-05-08", "2023-05-08"),
        ("I moved in on May 3, 2023.", "2023-05-03", "2023-05-03"),
        ("The wedding is on June 17th.", "2023-06-17", "2023-06-17"),
        ("I was born on the 3rd of March, 1990.", "1990-03-03", "1990-03-03"),
        ("Our anniversary was Feb 14.", "2023-02-14", "2023-02-14"),
        ("It runs on 2023-07-21.", "2023-07-21", "2023-07-21"),
        ("Reply by 5/15/2023.", "2023-05-15", "2023-05-15"),
        ("We met on 15/04/2023.", "2023-04-15", "2023-04-15"),
        ("I started the job in May 2023.", "2023-05-01", "2023-05-31"),
        ("That happened in March, 2022.", "2022-03-01", "2022-03-31"),
        ("I'm going to Tokyo in July.", "2023-07-01", "2023-07-31"),
        ("We hosted a competition in June.", "2022-06-01", "2022-06-30"),
        ("Back in 2016 I started painting.", "2016-01-01", "2016-12-31"),
        ("Music from the 80s is the best.", "1980-01-01", "1989-12-31"),
        ("She grew up in the 1990s.", "1990-01-01", "1999-12-31"),
        ("I have a meeting on the 12th.", "2023-05-12", "2023-05-12"),
    ],
)
def test_calendar_dates(text: str, first: str, last: str) -> None:
    assert days(one(text)) == (first, last)


def test_explicit_dates_are_not_relative_but_deictic_ones_are() -> None:
    assert not one("We met on 8 May 2023.").relative
    assert one("We met yesterday.").relative


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("It happened the week before 9 June 2023.", "2023-05-29", "2023-06-04"),
        ("They camped two weekends before 17 July 2023.", "2023-07-08", "2023-07-09"),
        ("The Friday before 15 July 2023 was fun.", "2023-07-14", "2023-07-14"),
        ("We left the day after May 8.", "2023-05-09", "2023-05-09"),
        ("I applied the week of 23 August 2023.", "2023-08-21", "2023-08-27"),
        ("The race was the Sunday before 25 May 2023.", "2023-05-21", "2023-05-21"),
        ("They fished the weekend before August 24, 2023.", "2023-08-19", "2023-08-20"),
    ],
)
def test_anchored_to_a_date(text: str, first: str, last: str) -> None:
    m = one(text)
    assert days(m) == (first, last)
    assert not m.relative


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("The first week of June is booked.", "2023-06-01", "2023-06-07"),
        ("I'm moving in early June.", "2023-06-01", "2023-06-10"),
        ("Mid-2022 was a tough time.", "2022-05-01", "2022-08-31"),
        ("By the end of the month I'll be done.", "2023-05-21", "2023-05-31"),
        # a week or weekend counted within a year, as within a month
        ("We were in Lisbon the first week of 2024.", "2024-01-01", "2024-01-07"),
        ("The second week of 2024 was all exams.", "2024-01-08", "2024-01-14"),
        ("I was off work the last week of 2022.", "2022-12-25", "2022-12-31"),
        ("We drove up the first weekend of 2024.", "2024-01-06", "2024-01-07"),
        ("Our party is the last weekend of 2023.", "2023-12-30", "2023-12-31"),
    ],
)
def test_modifiers_narrow_the_range(text: str, first: str, last: str) -> None:
    assert days(one(text)) == (first, last)


def test_a_week_counted_within_a_year_is_not_an_order() -> None:
    """"the first week of 2024" names a time; it does not ask for the earliest event."""
    from engram.recall import parse_query_time

    q = parse_query_time("Which place did Elise visit in the first week of 2024?", MON)
    assert q is not None and q.order is None
    assert (q.start.date().isoformat(), q.end.date().isoformat()) == ("2024-01-01", "2024-01-08")
    q = parse_query_time("What was the first city she visited in 2024?", MON)
    assert q is not None and q.order == "earliest"


@pytest.mark.parametrize(
    ("text", "ref", "first", "last"),
    [
        ("We're going to the beach this summer.", MON, "2023-06-01", "2023-08-31"),
        ("Last summer we went to Italy.", MON, "2022-06-01", "2022-08-31"),
        ("Last winter was brutal.", MON, "2022-12-01", "2023-02-28"),
        ("This past summer was the best.", SUN, "2023-06-01", "2023-08-31"),
        ("I plan to start college in the fall.", MON, "2023-09-01", "2023-11-30"),
        ("Summer 2021 was when I learned to swim.", MON, "2021-06-01", "2021-08-31"),
        ("What are you doing for Thanksgiving?", MON, "2023-11-23", "2023-11-23"),
        ("On New Year's Eve we watched fireworks.", MON, "2022-12-31", "2022-12-31"),
        ("Last Halloween I was a pirate.", MON, "2022-10-31", "2022-10-31"),
        ("We spent Christmas with my grandparents.", MON, "2022-12-25", "2022-12-25"),
    ],
)
def test_seasons_and_holidays(text: str, ref: datetime, first: str, last: str) -> None:
    assert days(one(text, ref)) == (first, last)


@pytest.mark.parametrize(
    ("text", "inside"),
    [
        ("Recently I had a setback.", "2023-05-01"),
        ("I've been into gardening lately.", "2023-05-01"),
        ("I saw your brother the other day.", "2023-05-04"),
        ("We should catch up soon!", "2023-05-20"),
        ("I took a class not long ago.", "2023-04-20"),
        ("The past week has been crazy.", "2023-05-03"),
        ("Over the past few months I painted a lot.", "2023-03-15"),
        ("I'll be busy for the next few days.", "2023-05-10"),
    ],
)
def test_vague_and_rolling_ranges(text: str, inside: str) -> None:
    m = one(text)
    assert m.first_day <= date.fromisoformat(inside) <= m.last_day


@pytest.mark.parametrize(
    "text",
    [
        "I may go to the park later.",
        "March forward and never look back!",
        "Will said he would call.",
        "June and I went hiking.",
        "I fall every time I try skating.",
        "The last time we talked you were in Paris.",
        "See you next time!",
        "I have 5 kids and 2 dogs.",
        "We walked 2022 steps.",
        "It was 3/4 of the way done.",
        "Sunday school was fun.",
        "As soon as I got home I started painting.",
        "My favourite season is summer.",
        "The sun was shining and we sat by the lake.",
        "I go swimming every Friday.",
        "The next day was even better.",
        "It took us two days to finish the puzzle.",
        "We haven't talked in a few days.",
        "Rome wasn't built in a day.",
        "I bought a Christmas tree.",
        "",
    ],
)
def test_negatives(text: str) -> None:
    assert resolve_time_expressions(text, MON) == []


def test_longest_overlapping_match_wins() -> None:
    found = resolve_time_expressions("I ran last Saturday and in May 2023.", MON)
    assert [m.text for m in found] == ["last Saturday", "May 2023"]


def test_several_mentions_in_text_order_with_exact_spans() -> None:
    text = "I was in Paris last week and I'll be in Rome next month."
    found = resolve_time_expressions(text, MON)
    assert [m.text for m in found] == ["last week", "next month"]
    assert all(text[m.span[0] : m.span[1]] == m.text for m in found)


# -- time zones -------------------------------------------------------------------------


def test_naive_reference_is_rejected() -> None:
    with pytest.raises(NaiveDatetime):
        resolve_time_expressions("yesterday", datetime(2023, 5, 8))
    assert issubclass(NaiveDatetime, InvalidInput)


def test_days_are_those_of_the_reference_timezone() -> None:
    ref = datetime(2023, 5, 8, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 6 May 22:30 UTC
    m = one("I went hiking yesterday.", ref)
    assert days(m) == ("2023-05-07", "2023-05-07")
    assert m.start.tzinfo is ref.tzinfo
    assert m.start.astimezone(UTC) == datetime(2023, 5, 6, 22, 0, tzinfo=UTC)
    west = datetime(2023, 5, 7, 23, 30, tzinfo=timezone(timedelta(hours=-7)))  # 8 May UTC
    assert days(one("Yesterday was my first day.", west)) == ("2023-05-06", "2023-05-06")


def test_ranges_across_a_dst_change_stay_on_local_midnights() -> None:
    try:
        ny = ZoneInfo("America/New_York")
    except ZoneInfoNotFoundError:  # pragma: no cover - no tz database on this machine
        pytest.skip("no IANA time zone database")
    m = one("I flew home yesterday.", datetime(2023, 3, 13, 9, 0, tzinfo=ny))  # DST began 12 Mar
    assert (m.start.hour, m.end.hour) == (0, 0)
    # same-tzinfo subtraction is wall-clock in Python: compare real instants
    assert m.end.astimezone(UTC) - m.start.astimezone(UTC) == timedelta(hours=23)
    assert m.start.utcoffset() == timedelta(hours=-5) and m.end.utcoffset() == timedelta(hours=-4)


# -- annotate and labels ------------------------------------------------------------------


def test_annotate_matches_the_documented_example() -> None:
    assert annotate("I went to a LGBTQ support group yesterday", MON) == (
        "2023-05-07 7 May 2023 May 2023"
    )


def test_annotate_several_mentions_and_nothing() -> None:
    assert annotate("last year and next month", MON) == "2022 June 2023"
    assert annotate("Hey Mel! Good to see you!", MON) == ""
    assert annotate("Talk to you soon, I've been busy lately", MON) == ""


@pytest.mark.parametrize(
    ("start", "end", "granularity", "fuzzy", "labels"),
    [
        ("2023-05-06", "2023-05-08", "weekend", False,
         ["2023-05-06", "6 May 2023", "7 May 2023", "May 2023"]),
        ("2023-05-29", "2023-06-05", "week", False,
         ["week of 2023-05-29", "May 2023", "June 2023"]),
        ("2023-06-01", "2023-09-01", "season", False,
         ["summer 2023", "June 2023", "July 2023", "August 2023"]),
        ("2022-01-01", "2023-01-01", "year", False, ["2022"]),
        ("1990-01-01", "2000-01-01", "decade", False, ["1990s"]),
        ("2018-01-01", "2022-01-01", "year", True, []),
        ("2023-04-24", "2023-05-08", "week", True, ["April 2023", "May 2023"]),
    ],
)  # fmt: skip
def test_date_labels(
    start: str, end: str, granularity: str, fuzzy: bool, labels: list[str]
) -> None:
    got = date_labels(date.fromisoformat(start), date.fromisoformat(end), granularity, fuzzy=fuzzy)
    assert got == labels


def test_calendar_helpers() -> None:
    assert cal.easter(2023) == date(2023, 4, 9)
    assert cal.easter(2024) == date(2024, 3, 31)
    assert cal.nth_weekday(2023, 11, 3, 4) == date(2023, 11, 23)
    assert cal.nth_weekday(2023, 5, 0, -1) == date(2023, 5, 29)
    assert cal.season_range("winter", 2022) == (date(2022, 12, 1), date(2023, 3, 1))
    assert cal.season_containing(date(2023, 1, 15)) == ("winter", 2022)
    assert cal.add_months(2023, 1, -2) == (2022, 11)


# -- properties ---------------------------------------------------------------------------

_words = st.sampled_from(
    "yesterday last next this week weekend month year ago two a few days May June 8 2023 the "
    "on in before after Friday summer recently early end of and I went . , ! 15/04/2023".split()
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_words, max_size=12), st.integers(min_value=-12, max_value=14))
def test_any_text_gives_well_formed_mentions(words: list[str], offset_hours: int) -> None:
    text = " ".join(words)
    ref = datetime(2023, 5, 8, 12, 0, tzinfo=timezone(timedelta(hours=offset_hours)))
    found = resolve_time_expressions(text, ref)
    previous_end = 0
    for m in found:
        assert text[m.span[0] : m.span[1]] == m.text
        assert m.span[0] >= previous_end
        previous_end = m.span[1]
        assert m.start < m.end
        assert m.start.tzinfo is ref.tzinfo
        assert (m.start.hour, m.start.minute) == (0, 0)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_unicode_never_raises(text: str) -> None:
    for m in resolve_time_expressions(text, MON):
        assert m.start < m.end
