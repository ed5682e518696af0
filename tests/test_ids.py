"""Identifiers (``engram.ids``): unique, time-sortable, and in the order they were made."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from engram import ids


@pytest.fixture(autouse=True)
def _keep_the_last_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test's fake clock must not leave the process counting from its time."""
    monkeypatch.setattr(ids, "_last", ids._last)


def test_an_id_is_a_prefix_and_26_base32_characters() -> None:
    made = ids.new_id("mem")
    prefix, _, body = made.partition("_")
    assert prefix == "mem" and len(body) == 26
    assert set(body) <= set("0123456789abcdefghjkmnpqrstvwxyz")


def test_ids_made_in_one_millisecond_sort_in_the_order_they_were_made(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two memories derived from one message in the same millisecond: the later one's id
    is greater, so a tie of scores broken by id ranks them the same way in every run."""
    monkeypatch.setattr(ids.time, "time_ns", lambda: 1_700_000_000_000 * 1_000_000)
    made = [ids.new_id("mem") for _ in range(200)]
    assert made == sorted(made) and len(set(made)) == 200
    assert {m[4:14] for m in made} == {made[0][4:14]}  # one millisecond


def test_a_clock_that_steps_back_still_makes_greater_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([2_000_000_000_000, 1_000_000_000_000, 3_000_000_000_000])
    monkeypatch.setattr(ids.time, "time_ns", lambda: next(clock) * 1_000_000)
    a, b, c = (ids.new_id("ep") for _ in range(3))
    assert a < b < c


def test_a_millisecond_that_runs_out_of_random_parts_borrows_the_next(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ids.time, "time_ns", lambda: 5_000_000_000_000 * 1_000_000)
    first = ids.new_id("job")
    monkeypatch.setattr(ids, "_last", (ids._last[0], (1 << 80) - 1))
    after = ids.new_id("job")
    assert after > first and after[4:14] > first[4:14]


def test_ids_made_on_many_threads_are_unique() -> None:
    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(lambda _: [ids.new_id("ep") for _ in range(500)], range(8)))
    assert len({i for batch in batches for i in batch}) == 4000
    assert all(batch == sorted(batch) for batch in batches)  # each thread's in order
