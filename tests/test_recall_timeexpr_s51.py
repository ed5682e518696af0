"""Time expressions, session 51: casual spellings (:mod:`engram.recall._casual`), counted
weekdays and weeks ("two Fridays ago", "a week on Friday", "a month ago today"), day and
month written with a slash or dashes, an ordinal day after a preposition, and the tense
of the clause that holds an expression ("Took the car in on Monday and they're ringing me
back on Friday")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engram.recall._casual import spelled_out
from engram.recall.timeexpr import resolve_time_expressions

WED = datetime(2024, 3, 13, 18, 30, tzinfo=UTC)  # Wednesday 13 March 2024
SUN = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)  # Sunday 31 March 2024


def found(text: str, ref: datetime = WED) -> list[tuple[str, str, str]]:
    return [(m.text, m.first_day.isoformat(), m.last_day.isoformat())
            for m in resolve_time_expressions(text, ref)]


@pytest.mark.parametrize(("text", "want"), [
    ("c u 2moro at the station", [("2moro", "2024-03-14", "2024-03-14")]),
    ("dentist tmrw, ugh", [("tmrw", "2024-03-14", "2024-03-14")]),
    ("saw it yday lol", [("yday", "2024-03-12", "2024-03-12")]),
    ("ill ring you tommorow", [("tommorow", "2024-03-14", "2024-03-14")]),
    ("last wk was mad busy", [("last wk", "2024-03-04", "2024-03-10")]),
    ("wat r u doing this wknd", [("this wknd", "2024-03-16", "2024-03-17")]),
    ("we got back 2 wks ago", [("2 wks ago", "2024-02-28", "2024-02-28")]),
    ("party at mine sat night!", [("sat night", "2024-03-16", "2024-03-16")]),
    ("can we meet thurs", [("thurs", "2024-03-14", "2024-03-14")]),
    ("it happened a fortnight ago", [("a fortnight ago", "2024-02-28", "2024-02-28")]),
    ("out for drinks tonite", [("tonite", "2024-03-13", "2024-03-13")]),
])
def test_casual_spellings_resolve_and_keep_their_span(text: str, want: list) -> None:
    got = found(text)
    assert [g[0] for g in got] == [w[0] for w in want]
    for (_, first, last), (_, wfirst, wlast) in zip(got, want, strict=True):
        assert first <= wfirst <= wlast <= last  # fuzzy ones may hold a little more


@pytest.mark.parametrize(("text", "lookalike"), [
    ("I sat down and cried.", "sat"),
    ("Lying in the sun all day.", "sun"),
    ("yr mum called about the keys", "yr"),
    ("| Thu | 20 min yoga |", "Thu"),  # a schedule's column
    ("It's a 24/7 job.", "24/7"),
    ("The answer simplifies to 4/13.", "4/13"),
    ("Our flat is on the 3rd floor.", "the 3rd"),
    ("That's for the 2nd time this year.", "the 2nd"),
])
def test_look_alikes_are_no_time(text: str, lookalike: str) -> None:
    assert all(lookalike not in m[0] for m in found(text))


@pytest.mark.parametrize(("text", "ref", "day"), [
    ("Which restaurant did we try two Fridays ago?", WED, "2024-03-01"),
    ("The sofa arrives a week on Friday.", WED, "2024-03-22"),
    ("A week from today I'll be in Crete.", WED, "2024-03-20"),
    ("I got the keys a month ago today.", SUN, "2024-02-29"),
    ("It was a year ago today that we met.", SUN, "2023-03-31"),
    ("Had the scan on 14/02, all clear.", WED, "2024-02-14"),
    ("The invoice dated 15-08-2022 is missing.", WED, "2022-08-15"),
    ("The movers are booked for the 2nd, so I'm packing.", datetime(2024, 1, 28, tzinfo=UTC),
     "2024-02-02"),
])
def test_counted_and_written_days(text: str, ref: datetime, day: str) -> None:
    got = found(text, ref)
    assert len(got) == 1, got
    assert got[0][1] == got[0][2] == day


@pytest.mark.parametrize(("text", "ref", "want"), [
    # each clause has its own tense
    ("Took the car in on Monday and they're ringing me back on Friday.",
     datetime(2023, 6, 14, 12, tzinfo=UTC), ["2023-06-12", "2023-06-16"]),
    ("We got Luna in March and she sees the vet tomorrow.", datetime(2024, 5, 9, tzinfo=UTC),
     ["2024-03-01", "2024-05-10"]),
    ("Had the MRI on Monday and the results are due Friday.",
     datetime(2022, 2, 23, tzinfo=UTC), ["2022-02-21", "2022-02-25"]),
    # a present perfect is no past: the session is still to come
    ("I've booked a session with the consultant on May 20.", datetime(2024, 5, 10, tzinfo=UTC),
     ["2024-05-20"]),
    # a time said to be when something is: the coming one
    ("I started the course in September and the final exam is on 12 January.",
     datetime(2024, 11, 5, tzinfo=UTC), ["2024-09-01", "2025-01-12"]),
    ("The marathon is in October and I started training yesterday.",
     datetime(2023, 4, 10, tzinfo=UTC), ["2023-10-01", "2023-04-09"]),
    ("Any plans for the weekend?", WED, ["2024-03-16"]),
    # a possessive is no "is"
    ("Did Kevin's New Year's Eve plans come true?", datetime(2024, 1, 20, tzinfo=UTC),
     ["2023-12-31"]),
])
def test_the_tense_of_the_clause_picks_the_day(text: str, ref: datetime, want: list) -> None:
    assert [g[1] for g in found(text, ref)] == want


def test_written_out_text_maps_back_to_what_was_typed() -> None:
    out = spelled_out("meet me 2moro or fri?")
    assert out is not None
    written, where = out
    assert written == "meet me tomorrow or Friday?"
    assert len(where) == len(written) + 1
    assert spelled_out("Nothing casual here at all.") is None


@pytest.mark.parametrize(("text", "ref", "first", "last"), [
    ("We're away between 10 and 14 July.", WED, "2024-07-10", "2024-07-14"),
    ("The editing block is July 16-18.", WED, "2024-07-16", "2024-07-18"),
    ("I did the same on May 3-4, 2023.", WED, "2023-05-03", "2023-05-04"),
    ("From the 2nd till the 9th I was in Rome.", datetime(2024, 3, 20, tzinfo=UTC),
     "2024-03-02", "2024-03-09"),
    ("Book it for the first Monday of next month.", WED, "2024-04-01", "2024-04-01"),
    ("Payday is the last Friday of the month.", WED, "2024-03-29", "2024-03-29"),
    ("We met on the second Tuesday in April 2023.", WED, "2023-04-11", "2023-04-11"),
    ("We went camping over Labor Day weekend.", datetime(2025, 7, 20, tzinfo=UTC),
     "2024-08-31", "2024-09-02"),
    ("Church on Good Friday was lovely.", datetime(2025, 5, 1, tzinfo=UTC),
     "2025-04-18", "2025-04-18"),
    ("Are you off on Easter Monday?", datetime(2025, 4, 1, tzinfo=UTC),
     "2025-04-21", "2025-04-21"),
    ("What did we do on Boxing Day?", datetime(2025, 1, 10, tzinfo=UTC),
     "2024-12-26", "2024-12-26"),
    # a question in the present simple asks about the coming day
    ("What time does the ceremony start on Saturday?", WED, "2024-03-16", "2024-03-16"),
    # "closed" after "is" is no past; "finally visiting" is a plan
    ("Is the pool closed on Good Friday?", datetime(2025, 4, 1, tzinfo=UTC),
     "2025-04-18", "2025-04-18"),
    ("Exams are over and I'm finally seeing her at Easter", datetime(2025, 1, 14, tzinfo=UTC),
     "2025-04-20", "2025-04-20"),
])
def test_spans_weekdays_of_a_month_and_holidays(text: str, ref: datetime, first: str,
                                                last: str) -> None:
    got = found(text, ref)
    assert len(got) == 1, got
    assert got[0][1:] == (first, last)
