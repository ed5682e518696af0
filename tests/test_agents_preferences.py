"""Preferences that evolve (issue #20, item 3): one memory per topic, short- and
long-term averages, a drift visible before it moves the current value, every
statement kept in the memory's history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from engram import Engram
from engram.agents.preferences import (
    PreferenceState,
    TrackerConfig,
    label,
    observe,
    topic_key,
    wording_strength,
)
from engram.embed.base import Embedder
from engram.models import MemoryKind
from engram.store.base import Store

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def eg(embedder: Embedder) -> Iterator[Engram]:
    engine = Engram("memory://prefs", embedder=embedder)
    yield engine
    engine.close()


def say(eg: Engram, *texts: str, user: str = "ana", speaker: str = "Ana") -> None:
    """Each statement a day after the user's previous one."""
    start = eg.stats(user_id=user).episodes
    for i, text in enumerate(texts, start):
        eg.add(text, user_id=user, speaker=speaker, occurred_at=T0 + timedelta(days=i))


def prefs(eg: Engram, user: str = "ana") -> dict[str, tuple[str, PreferenceState]]:
    out = {}
    for m in eg.list(user_id=user, kinds=["preference"]).items:
        state = PreferenceState.from_dict(m.metadata.get("preference") or {})
        if state is not None:
            out[state.topic] = (m.text, state)
    return out


@pytest.mark.parametrize(("text", "value", "verb", "expected"), [
    ("I love sushi.", "sushi", "likes", 1.0),
    ("Honestly I adore long walks", "long walks", "likes", 1.0),
    ("I like jazz", "jazz", "likes", 0.6),
    ("I really enjoy board games", "board games", "likes", 0.85),
    ("I prefer tea", "tea", "prefers", 0.5),
    ("I hate traffic", "traffic", "dislikes", -1.0),
    ("I can't stand horror films", "horror films", "dislikes", -1.0),
    ("I don't like olives", "olives", "dislikes", -0.6),
    ("I really don't like olives", "olives", "dislikes", -0.85),
    ("I love pasta but I don't like olives", "olives", "dislikes", -0.6),
    ("I love pasta but I don't like olives", "pasta", "likes", 1.0),
    ("I dislike crowds, and I hate queues", "crowds", "dislikes", -0.6),
])
def test_intensity_is_read_from_the_wording(text: str, value: str, verb: str,
                                            expected: float) -> None:
    assert wording_strength(text, value, verb) == pytest.approx(expected)


def test_topic_ignores_case_articles_and_trailing_adverbs() -> None:
    assert topic_key("The Beatles") == topic_key("beatles") == "beatles"
    assert topic_key("sushi anymore") == topic_key("Sushi now") == "sushi"
    assert label(0.9) == label(0.3) == "likes" and label(0.0).startswith("has mixed")
    assert label(-0.3) == label(-0.95) == "dislikes"
    assert label(0.3, prefers=True) == "prefers"


def test_one_contrary_statement_is_a_visible_drift_a_sustained_one_a_change() -> None:
    state, event = observe(None, 1.0, T0, "sushi")
    assert event == "first" and state.current == 1.0
    for _ in range(3):
        state, event = observe(state, 1.0, T0, "sushi")
    state, event = observe(state, -1.0, T0, "sushi")
    assert event == "drift" and state.drifting() and state.current == pytest.approx(1.0)
    state, event = observe(state, 1.0, T0, "sushi")  # a one-off: back to steady
    assert event == "steady" and not state.drifting() and state.current > 0.5
    state, _ = observe(state, -1.0, T0, "sushi")
    state, event = observe(state, -1.0, T0, "sushi")
    assert event == "changed" and state.current < 0 and state.long == state.current
    assert state.n == 8 and state.positive == 5 and state.negative == 3


def test_sustain_sets_how_many_drifting_statements_move_the_value() -> None:
    slow = TrackerConfig(sustain=3)
    state, _ = observe(None, 1.0, T0, "jazz", slow)
    events = []
    for _ in range(3):
        state, event = observe(state, -1.0, T0, "jazz", slow)
        events.append(event)
    assert events == ["drift", "drift", "changed"]


def test_confidence_grows_with_evidence_and_falls_with_drift() -> None:
    once, _ = observe(None, 1.0, T0, "x")
    thrice = once
    for _ in range(2):
        thrice, _ = observe(thrice, 1.0, T0, "x")
    drifting, _ = observe(thrice, -1.0, T0, "x")
    assert once.confidence() < thrice.confidence()
    assert drifting.confidence() < thrice.confidence()
    assert 0.0 <= drifting.confidence() <= 1.0


def test_repeated_statements_update_one_memory_per_topic(eg: Engram) -> None:
    say(eg, "I love sushi and I hate natto.", "I really like sushi.", "Sushi again, I love sushi")
    got = prefs(eg)
    assert set(got) == {"sushi", "natto"}
    text, state = got["sushi"]
    assert text == "Ana likes sushi" and state.n == 3 and state.current > 0.8
    assert got["natto"][0] == "Ana dislikes natto"
    mem = next(m for m in eg.list(user_id="ana").items if m.text == "Ana likes sushi")
    assert mem.kind == MemoryKind.PREFERENCE and mem.attribute == "ana:preference:sushi"
    assert len(mem.source_episode_ids) == 3 and mem.version == 3


def test_a_change_of_mind_flips_after_it_is_sustained_and_history_keeps_both(
        eg: Engram) -> None:
    say(eg, "I love coffee.", "I really like coffee", "I like coffee a lot")
    say(eg, "Actually, I don't like coffee anymore.")
    text, state = prefs(eg)["coffee"]
    assert text == "Ana likes coffee" and state.drifting() and state.drift_run == 1
    say(eg, "I hate coffee now.")
    text, state = prefs(eg)["coffee"]
    assert text == "Ana dislikes coffee" and state.current < 0
    mem = next(m for m in eg.list(user_id="ana").items if "coffee" in m.text)
    versions = eg.history(mem.id, user_id="ana")
    said = [v.after["text"] for v in versions]
    assert said[0] == "Ana likes coffee" and said[-1] == text
    assert "drift" in versions[-2].reason and "changed" in versions[-1].reason
    assert len(mem.source_episode_ids) == 5
    # only the current value is active: search does not return both sides
    hits = eg.search("does Ana like coffee", user_id="ana", kinds=["preference"])
    assert [h.item.text for h in hits if "coffee" in h.item.text] == [text]


def test_an_untracked_memory_with_the_same_text_is_adopted(eg: Engram) -> None:
    old = eg.remember("Ana likes tea", user_id="ana", kind="preference")
    say(eg, "I like tea.")
    mems = [m for m in eg.list(user_id="ana").items if "tea" in m.text]
    assert [m.id for m in mems] == [old.id]
    assert mems[0].attribute == "ana:preference:tea" and prefs(eg)["tea"][1].n == 2


def test_users_and_subjects_are_tracked_apart(eg: Engram) -> None:
    say(eg, "I love jazz.", user="ana", speaker="Ana")
    say(eg, "I hate jazz.", user="bo", speaker="Bo")
    assert prefs(eg, "ana")["jazz"][1].current > 0 and prefs(eg, "bo")["jazz"][1].current < 0


def test_tracking_runs_on_every_store_backend(store: Store, embedder: Embedder) -> None:
    engine = Engram(store=store, embedder=embedder)
    try:
        say(engine, "I love hiking.", "I love hiking!", "I don't like hiking.", "I hate hiking.")
        text, state = prefs(engine)["hiking"]
        assert state.n == 4 and state.current < 0 and text.startswith("Ana")
        mem = engine.list(user_id="ana", kinds=["preference"]).items[0]
        assert len(engine.history(mem.id, user_id="ana")) == 4
    finally:
        engine.close()


def test_deleting_a_statement_folds_the_preference_again_without_it(eg: Engram) -> None:
    said = ["I love tea.", "I really like tea.", "I like tea a lot", "I hate tea now.",
            "Actually, I can't stand tea."]
    ids = []
    for i, text in enumerate(said):
        ids.append(eg.add(text, user_id="ana", speaker="Ana",
                          occurred_at=T0 + timedelta(days=i)).episodes[0].id)
    assert prefs(eg)["tea"][0] == "Ana dislikes tea"
    for episode_id in ids[3:]:
        out = eg.delete_episode(episode_id, user_id="ana")
        assert len(out.updated_memory_ids) == 1
    text, state = prefs(eg)["tea"]
    assert text == "Ana likes tea" and state.n == 3 and state.negative == 0
    assert state.current > 0.8 and not state.drifting()
    mem = next(m for m in eg.list(user_id="ana").items if "tea" in m.text)
    assert sorted(mem.source_episode_ids) == sorted(ids[:3])
    # its history no longer holds what the deleted statements said
    history = eg.history(mem.id, user_id="ana")
    assert [v.version for v in history] == [1] and "folded again" in history[0].reason
    texts = [snap["text"] for v in history for snap in (v.before, v.after) if snap]
    assert texts and not any("dislikes" in t for t in texts)


def test_an_older_statement_arriving_late_is_folded_in_event_order(eg: Engram) -> None:
    eg.add("I hate jazz.", user_id="ana", speaker="Ana", occurred_at=T0 + timedelta(days=10))
    for day in (1, 2, 3):  # an import of older messages, after the newer one
        eg.add("I love jazz.", user_id="ana", speaker="Ana", occurred_at=T0 + timedelta(days=day))
    text, state = prefs(eg)["jazz"]
    # oldest first: three "love", then the newer "hate" is a drift, not yet a change
    assert text == "Ana likes jazz" and state.n == 4 and state.last == -1.0
    assert state.drifting() and state.drift_run == 1
    mem = next(m for m in eg.list(user_id="ana").items if "jazz" in m.text)
    assert "event order" in eg.history(mem.id, user_id="ana")[-1].reason
    # in order, nothing is folded again
    eg.add("I love jazz!", user_id="ana", speaker="Ana", occurred_at=T0 + timedelta(days=11))
    mem = next(m for m in eg.list(user_id="ana").items if "jazz" in m.text)
    assert "event order" not in eg.history(mem.id, user_id="ana")[-1].reason
