"""Consolidation follows event time, not arrival order (#14): of two statements in one
``add`` call the later one replaces the earlier one, in whatever order they are listed;
an older message stored after a newer one never supersedes the newer fact, its memory
is written already superseded, valid until the newer statement. Every change is a
version. On every store backend, with the real embedder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engram import Engram
from engram.embed.base import Embedder
from engram.models import Memory, MemoryStatus, SearchFilters
from engram.store.base import Store

T0 = datetime(2025, 1, 1, 9, tzinfo=UTC)
T1 = T0 + timedelta(days=40)


def _all(eg: Engram, user: str) -> dict[str, Memory]:
    page = eg.list(user_id=user, limit=100, filters=SearchFilters(include_inactive=True))
    return {m.text: m for m in page.items}


def _active(eg: Engram, user: str) -> list[str]:
    return sorted(m.text for m in eg.list(user_id=user, limit=100).items)


def _msg(text: str, at: datetime) -> dict[str, object]:
    return {"role": "user", "content": text, "occurred_at": at}


def test_the_later_of_two_values_in_one_call_wins_in_either_order(
        store: Store, embedder: Embedder) -> None:
    eg = Engram(store=store, embedder=embedder)
    eg.add([_msg("I live in Boston.", T0), _msg("I moved to Denver.", T1)], user_id="a")
    eg.add([_msg("I moved to Denver.", T1), _msg("I live in Boston.", T0)], user_id="b")
    for user in ("a", "b"):
        assert _active(eg, user) == ["The user lives in Denver"]
        boston = _all(eg, user)["The user lives in Boston"]
        assert boston.status == MemoryStatus.SUPERSEDED
        assert (boston.valid_from, boston.valid_to) == (T0, T1)
        ops = [v.operation.value for v in eg.history(boston.id, user_id=user)]
        assert ops == ["ADD", "SUPERSEDE"]


def test_an_older_message_stored_late_never_replaces_the_newer_fact(
        store: Store, embedder: Embedder) -> None:
    eg = Engram(store=store, embedder=embedder)
    eg.add([_msg("I moved to Denver.", T1)], user_id="a")
    r = eg.add([_msg("I live in Boston.", T0)], user_id="a")  # a backfill of an old chat
    assert [o.op.value for o in r.operations] == ["ADD", "SUPERSEDE"]
    assert _active(eg, "a") == ["The user lives in Denver"]
    boston = _all(eg, "a")["The user lives in Boston"]
    assert (boston.status, boston.valid_from, boston.valid_to) == (
        MemoryStatus.SUPERSEDED, T0, T1)
    # and a value with no attribute, replaced by a stated change ("now")
    eg.add([_msg("I drive a Subaru Outback now.", T1)], user_id="c")
    eg.add([_msg("I drive a Volvo estate.", T0)], user_id="c")
    assert _active(eg, "c") == ["The user drives a Subaru Outback"]
    assert _all(eg, "c")["The user drives a Volvo estate"].valid_to == T1


def test_a_later_statement_in_one_call_replaces_an_earlier_one(store: Store,
                                                               embedder: Embedder) -> None:
    eg = Engram(store=store, embedder=embedder)
    eg.add([_msg("I drive a Volvo estate.", T0), _msg("How was your day?", T0),
            _msg("I drive a Subaru Outback now.", T1)], user_id="a")
    assert _active(eg, "a") == ["The user drives a Subaru Outback"]
    # two values that both hold stay (one can drive two cars), and so do two
    # statements of one message
    eg.add([_msg("I drive a Volvo estate.", T0), _msg("I drive a Vespa too.", T1)],
           user_id="b")
    assert _active(eg, "b") == ["The user drives a Vespa", "The user drives a Volvo estate"]


def test_the_same_value_again_in_one_call_is_one_memory(store: Store,
                                                        embedder: Embedder) -> None:
    eg = Engram(store=store, embedder=embedder)
    eg.add([_msg("I live in Boston.", T0), _msg("I live in Boston.", T1)], user_id="a")
    assert _active(eg, "a") == ["The user lives in Boston"]
    # Boston, Denver, Boston again: Boston now, Denver in between
    eg.add([_msg("I live in Boston.", T0)], user_id="b")
    eg.add([_msg("I moved to Denver.", T1),
            _msg("I moved to Boston.", T1 + timedelta(days=30))], user_id="b")
    assert _active(eg, "b") == ["The user lives in Boston"]
    denver = _all(eg, "b")["The user lives in Denver"]
    assert (denver.valid_from, denver.valid_to) == (T1, T1 + timedelta(days=30))
