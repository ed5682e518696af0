"""The browsing part of the store contract (engram.store.browse), on every backend.

Users and sessions with counts and last activity; one timeline of episodes and
memories on the event-time axis, newest first, with filters and keyset paging that
visits every item exactly once; failed jobs with their errors.
"""

from __future__ import annotations

import pytest
from contract_helpers import add_episode, add_memory, at, change_memory, episode, memory

from engram.errors import InvalidInput
from engram.models import MemoryKind, Operation, Scope
from engram.store.base import Store
from engram.store.browse import TimelineFilters, generic_timeline

ALICE = Scope(user_id="alice", tenant="t1")
FLAG = {"engram": {"trust": "user", "origin": "message", "flags": ["instruction_override"]}}


def _populate(store: Store) -> None:
    for i in range(7):
        s = Scope(user_id="alice", session_id=f"s{i % 2}", tenant="t1")
        e = episode(f"e{i}", s, f"episode {i}", at(days=i))
        if i == 3:
            e.speaker = "bot"
            e.metadata = dict(FLAG)
        add_episode(store, e)
    for i in range(5):
        s = Scope(user_id="alice", session_id="s0", tenant="t1")
        kind = MemoryKind.PREFERENCE if i % 2 else MemoryKind.FACT
        m = memory(f"m{i}", s, f"memory {i}", kind, at(days=i, seconds=30))
        if i == 4:
            m.metadata = dict(FLAG)
        add_memory(store, m)
        if i == 1:
            change_memory(store, m, at(days=8), Operation.DELETE)
    add_episode(store, episode("b0", Scope(user_id="bob", tenant="t1"), "bob", at(days=20)))
    add_episode(store, episode("x0", Scope(user_id="carol", tenant="t2"), "other tenant", at(1)))
    add_episode(store, episode("g0", Scope(agent_id="agent", tenant="t1"), "agent only", at(2)))


def _all_pages(store: Store, f: TimelineFilters, limit: int) -> list[str]:
    out, cursor = [], None
    while True:
        page = store.timeline(ALICE, f, limit, cursor)
        out += [x.id for x in page.items]
        assert len(page.items) <= limit
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def test_users_and_sessions_have_counts_and_last_activity(store: Store) -> None:
    _populate(store)
    users = store.users("t1")
    assert [(u.user_id, u.episodes, u.memories) for u in users] == [
        ("bob", 1, 0), ("alice", 7, 4)]  # most recent first; a deleted memory is not active
    assert users[0].last_activity == at(days=20)
    assert users[1].last_activity == at(days=8)  # the delete is alice's latest change
    assert store.users("t3") == []
    sessions = {s.session_id: (s.episodes, s.memories) for s in store.sessions(ALICE)}
    assert sessions == {"s0": (4, 4), "s1": (3, 0)}


@pytest.mark.parametrize("f", [
    TimelineFilters(),
    TimelineFilters(types=frozenset({"episode"})),
    TimelineFilters(kinds=frozenset({"preference"})),
    TimelineFilters(speaker="bot"),
    TimelineFilters(status="flagged"),
    TimelineFilters(status="deleted"),
    TimelineFilters(status="active", types=frozenset({"memory"})),
], ids=["all", "episodes", "kind", "speaker", "flagged", "deleted", "active"])
def test_timeline_pages_match_the_generic_definition(store: Store, f: TimelineFilters) -> None:
    _populate(store)
    want = [x.id for x in generic_timeline(store, ALICE, f, 1000, None).items]
    for limit in (1, 2, 3, 100):
        assert _all_pages(store, f, limit) == want


def test_timeline_is_newest_first_on_event_time(store: Store) -> None:
    _populate(store)
    got = _all_pages(store, TimelineFilters(), 4)
    assert got == ["e6", "e5", "m4", "e4", "m3", "e3", "m2", "e2", "m1", "e1", "m0", "e0"]
    assert _all_pages(store, TimelineFilters(status="flagged"), 1) == ["m4", "e3"]
    assert _all_pages(store, TimelineFilters(speaker="bot"), 5) == ["e3"]
    assert _all_pages(store, TimelineFilters(status="deleted"), 5) == ["m1"]
    session = store.timeline(Scope(user_id="alice", session_id="s1", tenant="t1"),
                             TimelineFilters(), 50)
    assert [x.id for x in session.items] == ["e5", "e3", "e1"]


@pytest.mark.parametrize("cursor", ["", "x", "1|2|3", "a|0|1", "1.0|0"])
def test_a_bad_cursor_is_invalid_input(store: Store, cursor: str) -> None:
    with pytest.raises(InvalidInput):
        store.timeline(ALICE, TimelineFilters(), 5, cursor or "|||")


def test_bad_filters_are_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        TimelineFilters(status="gone")
    with pytest.raises(InvalidInput):
        TimelineFilters(types=frozenset({"vector"}))
