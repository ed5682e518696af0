"""Issue #13 item 7: every instant of years 1..9999 (UTC) works end to end; nothing else is stored.

Before the fix a time before year 1000 was stored unpadded (``99-03-12T...``) and
could never be read back: list, search, context, export and forget all failed for
that user. At 9999-12-31 an ``OverflowError`` escaped from the index suffix. Now:

* every aware datetime whose UTC instant lies in 0001-01-01T00:00Z..9999-12-31T23:59:59.999999Z
  is accepted and reads back exactly, on SQLite and PostgreSQL;
* any other (``0001-01-01T00:00+05:00`` is in year 0 in UTC) raises
  :class:`~engram.errors.DateOutOfRange` (code ``date_out_of_range``) and stores nothing;
* the time resolver, the query-time parser and the index suffix never raise for a
  reference time anywhere in the range, with any UTC offset;
* rows written unpadded by the old code are read back (and can be forgotten).
"""

from __future__ import annotations

import io
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from server_fixtures import RunningServer
from stores import make_store

from engram import DateOutOfRange, Engram, Episode, InvalidInput, NaiveDatetime
from engram.cli import cli
from engram.cli._app import State
from engram.embed.base import Embedder
from engram.recall import annotate, index_suffix, parse_query_time, resolve_time_expressions
from engram.timeutil import MAX_TIME, MIN_TIME, format_dt, parse_dt, shift, to_epoch

BACKENDS = ["sqlite", "postgres", "memory"]

#: messages whose derived memories and index suffixes hold dates near both ends
TEXTS = [
    "I moved to Lisbon on 12 March 0099",
    "I will visit Porto next week",
    "I started a new job at Acme yesterday",
    "My sister Ana moved to Kyoto the week after next",
    "We went hiking three days ago and again last weekend",
    "I am flying to Rome tomorrow and back in two years",
    "I love green tea since the summer of 2023, a few months ago",
    "My birthday is on 31 December and the party is the day after tomorrow",
]
QUERIES = [
    "where did I move?",
    "what happens next week?",
    "what did I do yesterday?",
    "what did I do in the last 3 days?",
    "when did I start the job?",
    "what happened after 12 March?",
]

#: fixed UTC offsets up to a day either way, so a shift can cross the calendar's ends
OFFSETS = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)),
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
)
NEAR_MIN = st.datetimes(max_value=datetime(1, 1, 3), timezones=OFFSETS)
NEAR_MAX = st.datetimes(min_value=datetime(9999, 12, 29), timezones=OFFSETS)
ANYWHERE = st.datetimes(timezones=st.one_of(st.just(UTC), OFFSETS))
INSTANTS = st.one_of(NEAR_MIN, NEAR_MAX, ANYWHERE)


def utc_or_none(x: datetime) -> datetime | None:
    """The UTC instant of ``x``, or ``None`` when it does not exist (computed naively)."""
    offset = x.utcoffset()
    assert offset is not None
    try:
        return (x.replace(tzinfo=None) - offset).replace(tzinfo=UTC)
    except OverflowError:
        return None


# -- the time helpers --------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(ANYWHERE)
@example(datetime(99, 3, 12, tzinfo=UTC))
@example(datetime(1, 1, 1, tzinfo=UTC))
@example(MAX_TIME)
@example(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))
@example(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))))
def test_stored_text_round_trips_or_is_refused(x: datetime) -> None:
    utc = utc_or_none(x)
    if utc is None:
        with pytest.raises(DateOutOfRange):
            format_dt(x)
        return
    text = format_dt(x)
    assert text is not None and len(text) == len("2024-05-08T13:56:00.000000Z")
    assert parse_dt(text) == utc and parse_dt(text).tzinfo == UTC
    assert to_epoch(x) == pytest.approx((utc - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())


def test_stored_text_sorts_as_time() -> None:
    times = [datetime(y, 1, 1, tzinfo=UTC) for y in (1, 9, 99, 999, 1000, 2024, 9999)]
    texts = [str(format_dt(t)) for t in times]
    assert texts == sorted(texts)
    assert texts[2] == "0099-01-01T00:00:00.000000Z"


@pytest.mark.parametrize("text", [
    "0001-01-01T00:00:00+05:00",      # year 0 in UTC
    "9999-12-31T23:00:00-05:00",      # year 10000 in UTC
    "0000-06-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
    "-0001-01-01T00:00:00Z",
    "+2024-01-01T00:00:00Z",
])
def test_out_of_range_text_is_a_typed_error(text: str) -> None:
    with pytest.raises(DateOutOfRange) as caught:
        parse_dt(text, "occurred_at")
    assert caught.value.code == "date_out_of_range" and caught.value.status == 400
    assert isinstance(caught.value, InvalidInput) and "occurred_at" in str(caught.value)


def test_naive_and_garbage_keep_their_own_error() -> None:
    for text in ("2024-05-01T10:00:00", "yesterday", "0099-13-01T00:00:00Z"):
        with pytest.raises(NaiveDatetime):
            parse_dt(text)


def test_old_unpadded_text_reads_back() -> None:
    assert parse_dt("99-03-12T08:30:00.000000Z") == datetime(99, 3, 12, 8, 30, tzinfo=UTC)
    assert parse_dt("1-01-01T00:00:00.000000Z") == MIN_TIME
    with pytest.raises(NaiveDatetime):  # only the exact old stored form, not loose input
        parse_dt("99-03-12")


def test_shift_clamps_at_the_ends() -> None:
    assert shift(MAX_TIME, timedelta(microseconds=1)) == MAX_TIME
    assert shift(MIN_TIME, timedelta(days=-1)) == MIN_TIME
    assert shift(MIN_TIME, timedelta(days=1)) == datetime(1, 1, 2, tzinfo=UTC)


# -- the time resolver, query times and index suffixes ----------------------------------
@settings(max_examples=150, deadline=None)
@given(ref=st.one_of(NEAR_MIN, NEAR_MAX, ANYWHERE), text=st.sampled_from(TEXTS + QUERIES))
def test_resolver_never_raises_near_the_ends(ref: datetime, text: str) -> None:
    for m in resolve_time_expressions(text, ref):
        assert m.start < m.end and m.start.tzinfo is ref.tzinfo
        assert text[m.span[0] : m.span[1]] == m.text
    annotate(text, ref)
    suffix = index_suffix(text, ref, speaker="Ana")
    assert ref.date().isoformat() in suffix  # the day itself, zero-padded
    parse_query_time(text, ref)


def test_resolver_at_the_last_and_first_day() -> None:
    last = datetime(9999, 12, 31, 12, tzinfo=UTC)
    assert [m.text for m in resolve_time_expressions("see you next week, as of yesterday", last)
            ] == ["yesterday"]
    assert index_suffix("I leave tomorrow", last).startswith("9999-12-31 31 December 9999")
    first = datetime(1, 1, 1, 12, tzinfo=UTC)
    assert [m.text for m in resolve_time_expressions("yesterday and tomorrow", first)] == [
        "tomorrow"]
    assert "0001-01-02" in annotate("tomorrow", first)


# -- the engine on both backends ----------------------------------------------------------
@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder
           ) -> Iterator[Engram]:
    with Engram(store=make_store(request.param, tmp_path), embedder=embedder) as eg:
        yield eg


def _scope_is_empty(eg: Engram, user: str) -> bool:
    return (not eg.list(user_id=user, type="episode", include_inactive=True).items
            and not eg.list(user_id=user, include_inactive=True).items)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(x=INSTANTS, text=st.sampled_from(TEXTS), query=st.sampled_from(QUERIES))
@example(x=datetime(99, 3, 12, tzinfo=UTC), text=TEXTS[0], query=QUERIES[0])
@example(x=MAX_TIME, text=TEXTS[1], query=QUERIES[1])
@example(x=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), text=TEXTS[2], query=QUERIES[2])
@example(x=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))), text=TEXTS[1],
         query=QUERIES[1])
def test_any_instant_is_stored_read_exported_and_forgotten(
    engine: Engram, x: datetime, text: str, query: str
) -> None:
    eg, user = engine, f"u-{uuid.uuid4().hex[:12]}"
    utc = utc_or_none(x)
    if utc is None:
        with pytest.raises(DateOutOfRange):
            eg.add([text, "and one more thing"], user_id=user, speaker="Ana", occurred_at=x)
        with pytest.raises(DateOutOfRange):
            eg.add([{"text": text, "occurred_at": x}], user_id=user)
        with pytest.raises(DateOutOfRange):
            eg.search(query, user_id=user, as_of=x)
        assert _scope_is_empty(eg, user)
        return

    eg.add([text, "and one more thing"], user_id=user, speaker="Ana", occurred_at=x,
           session_id="s1")
    episodes = eg.list(user_id=user, type="episode").items
    assert episodes and episodes[0].occurred_at == utc and episodes[0].text == text
    assert all(e.occurred_at >= utc for e in episodes)  # the batch's order, clamped at the end
    memories = eg.list(user_id=user, include_inactive=True).items
    for m in memories:
        assert m.valid_from is None or m.valid_from == utc

    for now in (x, None):
        eg.search(query, user_id=user, now=now)
        eg.search(text, user_id=user, start=x, end=shift(utc, timedelta(days=1)), now=now)
        block = eg.context(text, user_id=user, now=now, max_tokens=256)
        assert utc.date().isoformat() in block.text  # dates render with four-digit years
    eg.search(query, user_id=user, as_of=MAX_TIME)
    assert eg.list(user_id=user, as_of=MAX_TIME).items == [
        m for m in memories if m.status == "active"] or memories == []

    out = io.StringIO()
    assert eg.export(out, user_id=user) >= len(episodes)
    assert eg.forget(user_id=user).verified
    assert _scope_is_empty(eg, user)
    eg.import_(io.StringIO(out.getvalue()))
    again = eg.list(user_id=user, type="episode").items
    assert [(e.id, e.occurred_at) for e in again] == [(e.id, e.occurred_at) for e in episodes]
    assert eg.forget(user_id=user).verified
    assert _scope_is_empty(eg, user)


def test_pages_follow_time_order_across_the_calendar(engine: Engram) -> None:
    years = [9999, 1, 2024, 99, 999]
    for y in years:
        engine.add(f"a note of year {y}", user_id="pages", derive=False,
                   occurred_at=datetime(y, 5, 1, tzinfo=UTC))
    seen: list[int] = []
    cursor = None
    while True:
        page = engine.list(user_id="pages", type="episode", limit=2, cursor=cursor)
        seen += [e.occurred_at.year for e in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == sorted(years)
    early = engine.search("a note of year", user_id="pages", kinds=["episode"],
                          end=datetime(1000, 1, 1, tzinfo=UTC))
    assert sorted(h.item.occurred_at.year for h in early if isinstance(h.item, Episode)) == [
        1, 99, 999]
    assert engine.forget(user_id="pages").verified


def test_rows_written_unpadded_by_old_code_are_readable_and_forgettable(
    tmp_path: Path, embedder: Embedder
) -> None:
    db = tmp_path / "old.db"
    with Engram(db, embedder=embedder) as eg:
        eg.add("I moved to Lisbon", user_id="old", occurred_at=datetime(99, 3, 12, tzinfo=UTC))
    con = sqlite3.connect(db)
    with con:  # what the old strftime("%Y") wrote
        for table, col in (("episodes", "occurred_at"), ("memories", "valid_from")):
            con.execute(f"UPDATE {table} SET {col} = '99-03-12T00:00:00.000000Z' "
                        f"WHERE {col} IS NOT NULL")
    con.close()
    with Engram(db, embedder=embedder) as eg:
        [ep] = eg.list(user_id="old", type="episode").items
        assert ep.occurred_at == datetime(99, 3, 12, tzinfo=UTC)
        assert "0099-03-12" in eg.context("Lisbon", user_id="old").text
        assert eg.export(io.StringIO(), user_id="old") >= 1
        assert eg.forget(user_id="old").verified
        assert not eg.list(user_id="old", type="episode").items


# -- the CLI and the REST API -------------------------------------------------------------
def _cli(embedder: Embedder, tmp_path: Path, *args: str) -> Any:
    argv = ["--db", str(tmp_path / "cli.db"), *args]
    return CliRunner().invoke(cli, argv, obj=State(embedder=embedder))


@pytest.mark.parametrize("args", [
    ("add", "-u", "z", "hi", "--at", "0001-01-01T00:00:00+05:00"),
    ("add", "-u", "z", "hi", "--at", "10000-01-01T00:00:00Z"),
    ("search", "-u", "z", "hi", "--as-of", "9999-12-31T23:00:00-05:00"),
])
def test_cli_refuses_out_of_range_in_one_line(embedder: Embedder, tmp_path: Path,
                                              args: tuple[str, ...]) -> None:
    result = _cli(embedder, tmp_path, *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "range" in lines[0], lines
    assert "Traceback" not in result.output and result.stdout == ""


def test_cli_round_trips_year_99(embedder: Embedder, tmp_path: Path) -> None:
    added = _cli(embedder, tmp_path, "add", "-u", "y", "I moved to Lisbon", "--at",
                 "0099-03-12T08:30:00Z")
    assert added.exit_code == 0, added.output
    listed = _cli(embedder, tmp_path, "list", "-u", "y", "--type", "episode", "--json")
    assert listed.exit_code == 0, listed.output
    assert "0099-03-12T08:30:00.000000Z" in listed.stdout
    assert _cli(embedder, tmp_path, "forget", "-u", "y", "--yes").exit_code == 0


def test_rest_refuses_out_of_range_and_round_trips_the_ends(server: RunningServer) -> None:
    with server.client(server.key_a) as c:
        for body in (
            {"user_id": "edge", "messages": [{"text": "hi", "occurred_at":
                                              "0001-01-01T00:00:00+05:00"}]},
            {"user_id": "edge", "occurred_at": "9999-12-31T23:00:00-05:00",
             "messages": [{"text": "hi"}]},
        ):
            r = c.post("/v1/messages", json=body)
            assert r.status_code == 400, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "date_out_of_range"
        r = c.post("/v1/search", json={"user_id": "edge", "query": "hi",
                                       "as_of": "0001-01-01T00:00:00+05:00"})
        assert r.status_code == 400 and r.json()["code"] == "date_out_of_range", r.text
        for when in ("0001-01-01T00:00:00Z", "0099-03-12T00:00:00Z",
                     "9999-12-31T23:59:59.999999Z"):
            r = c.post("/v1/messages", json={"user_id": "edge", "derive": "sync", "messages": [
                {"text": "I visit Porto next week, I came back yesterday", "occurred_at": when}]})
            assert r.status_code == 200, r.text
        listed = c.get("/v1/memories", params={"user_id": "edge", "type": "episode"})
        assert listed.status_code == 200, listed.text
        got = sorted(e["occurred_at"] for e in listed.json()["items"])
        assert got == ["0001-01-01T00:00:00.000000Z", "0099-03-12T00:00:00.000000Z",
                       "9999-12-31T23:59:59.999999Z"]
        for path in ("/v1/search", "/v1/context"):
            r = c.post(path, json={"user_id": "edge", "query": "what happens next week?"})
            assert r.status_code == 200, r.text
        assert c.get("/v1/export", params={"user_id": "edge"}).status_code == 200
        r = c.post("/v1/forget", json={"user_id": "edge"})
        assert r.status_code == 200 and r.json()["verified"], r.text
        left = c.get("/v1/memories", params={"user_id": "edge", "type": "episode"})
        assert left.status_code == 200 and left.json()["items"] == [], left.text
