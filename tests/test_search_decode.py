"""The fast paths a search's decoding takes (#21) give exactly what the general ones give.

A search decodes its whole reranked head (~70 rows): a memory row is built
directly (each stamp parsed once, empty JSON skipped) and a stamp in
``format_dt``'s canonical form skips the checks; the reranker's coverage terms
of "speaker text" are the union of the two parts' terms.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from engram.errors import DateOutOfRange, NaiveDatetime
from engram.index import lexical
from engram.index.lexical import term_set, tokens
from engram.models import Memory, MemoryKind, MemoryStatus, Scope
from engram.store.postgres_sql import POSTGRES
from engram.store.sql_common import memory_from_row
from engram.store.sqlite_rows import SQLITE
from engram.timeutil import format_dt, parse_dt

_T = datetime(2024, 5, 8, 13, 56, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize("dt", [
    _T, datetime(1, 1, 1, tzinfo=UTC), datetime(99, 3, 12, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 0, tzinfo=timezone(timedelta(hours=5))),
])
def test_a_canonical_stamp_reads_back_as_the_same_utc_instant(dt: datetime) -> None:
    got = parse_dt(format_dt(dt))
    assert got == dt and got.tzinfo is UTC and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(("text", "error"), [
    ("2024-13-08T13:56:00.123456Z", NaiveDatetime),  # canonical shape, no such month
    ("2024-02-30T00:00:00.000000Z", NaiveDatetime),
    ("0000-01-01T00:00:00.000000Z", DateOutOfRange),
])
def test_a_canonical_looking_bad_stamp_still_raises_the_typed_error(
    text: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        parse_dt(text)


def _memory(**changes: object) -> Memory:
    base = Memory(id="mem_1", scope=Scope(user_id="u", agent_id="a", session_id="s",
                                          tenant="t1"),
                  kind=MemoryKind.PREFERENCE, text="Likes green tea", created_at=_T,
                  updated_at=_T + timedelta(days=1))
    for k, v in changes.items():
        setattr(base, k, v)
    return base


_FULL = dict(entities=["tea", "Ann"], keywords=["green"], valid_from=_T,
             valid_to=_T + timedelta(days=3), expired_at=_T + timedelta(days=4),
             importance=0.9, access_count=3, last_accessed_at=_T + timedelta(hours=2),
             source_episode_ids=["ep_1", "ep_2"], version=4, status=MemoryStatus.SUPERSEDED,
             attribute="drinks", metadata={"k": [1, {"x": None}], "é": "ü"})


@pytest.mark.parametrize("changes", [{}, _FULL], ids=["sparse", "full"])
def test_a_sqlite_memory_row_decodes_to_the_memory_written(changes: dict[str, object]) -> None:
    m = _memory(**changes)
    d = m.to_dict()
    row = {**d, **{k: SQLITE.json(d[k]) for k in ("entities", "keywords",
                                                  "source_episode_ids", "metadata")}}
    got = memory_from_row(SQLITE, row)
    assert got == m == Memory.from_dict(d)
    # lists and dicts are the row's own, never a shared constant
    got.entities.append("x")
    got.metadata["y"] = 1
    again = memory_from_row(SQLITE, row)
    assert again.entities == m.entities and again.metadata == m.metadata


def test_a_postgres_memory_row_decodes_to_the_memory_written() -> None:
    m = _memory(**_FULL)
    row = {**m.to_dict(), **{k: getattr(m, k) for k in (
        "valid_from", "valid_to", "created_at", "updated_at", "expired_at",
        "last_accessed_at")}}
    assert memory_from_row(POSTGRES, row) == m


def test_a_row_without_an_update_stamp_is_as_new_as_its_creation() -> None:
    row = {**_memory().to_dict(), "updated_at": None, "entities": "[]", "keywords": "[]",
           "source_episode_ids": "[]", "metadata": "{}"}
    assert memory_from_row(SQLITE, row).updated_at == _T


@pytest.mark.parametrize("speaker", ["Caroline", "O'Brien", "Dr. Who_2", "İzmir", "ΟΔΟΣ", ""])
@pytest.mark.parametrize("text", ["I went to the store.", "İyi günler", "what's up_doc",
                                  "Σας είδα", "we're talking about ΟΔΟΣ"])
def test_terms_of_speaker_and_text_are_the_union_of_each(speaker: str, text: str) -> None:
    assert term_set(f"{speaker} {text}") == term_set(speaker) | term_set(text)


@pytest.mark.parametrize("text", [
    "I went to the store.", "The runners were running; she runs daily!", "İyi günler",
    "what's up_doc", "Σας είδα", "2024 budgets, 3rd try", "", "the and of", "Rosalind's cats",
])
def test_term_set_is_the_set_of_tokens_with_cold_and_warm_stems(text: str) -> None:
    lexical._STEMS.clear()  # cold: every word goes through the stemmer
    cold = term_set(text)
    assert cold == frozenset(tokens(text))
    assert term_set(text) == cold  # warm: every stem read from the memo
    lexical._STEMS.pop(next(iter(lexical._STEMS), ""), None)  # one stem missing again
    assert term_set(text) == cold


@pytest.mark.parametrize("text", [
    "2024-05-08T13:56:00.123456Z", "2024-05-08T15:56:00+02:00", "0999-01-02T00:00:00Z",
    "2024-05-08T13:56:00.123456Z",  # again: from the memo, the same instant
])
def test_sqlite_stamps_read_through_the_memo_equal_a_fresh_parse(text: str) -> None:
    got = SQLITE.load_stamp(text)
    assert got == parse_dt(text) and got is not None and got.tzinfo is UTC
    assert SQLITE.load_stamp(text) is got  # parsed once, shared (datetimes are immutable)
    assert SQLITE.load_stamp(None) is None and SQLITE.load_stamp("") is None


def test_a_bad_sqlite_stamp_raises_every_time() -> None:
    for _ in range(2):  # a failed parse is not remembered as anything
        with pytest.raises(NaiveDatetime):
            SQLITE.load_stamp("2024-13-08T13:56:00.123456Z")
