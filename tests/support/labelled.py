"""Hand-labelled retrieval cases (``tests/fixtures/*.jsonl``) and how they are stored.

Each case is its own user. Its statements are said in short sessions of
small talk, one session per group of statements, so that a statement has
ordinary neighbours the way a real conversation's turns do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engram import Engram
from engram.embed.base import Embedder
from engram.models import Hit

__all__ = ["CHAT_S13", "NOW", "PET_CHAT", "SMALL_TALK", "add_in_small_talk",
           "add_update_cases", "load_cases", "rank_of", "set_engine", "update_ranks"]

FIXTURES = Path(__file__).parent.parent / "fixtures"
#: the time questions are asked
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
SMALL_TALK = ["How was your weekend?", "Pretty relaxed, I read a book.",
              "Nice, anything else new?", "Not much, work has been busy."]


#: one message answers "What pet does Nadia have?" with no word of it, three are office and
#: home chores (the second model's tests, test_crossrank and test_minilm_cross)
PET_CHAT = ["The quarterly report is due on Friday", "We adopted a corgi puppy last spring",
            "I repainted the kitchen cabinets blue", "The printer is out of toner"]
#: small talk near the subjects of session 13's held cases (sport, cooking, the weather),
#: also around session 31's: ``(statements, days_before_NOW)`` for :func:`add_update_cases`
CHAT_S13 = [
    (["Did you see the cricket at the weekend?", "Only the highlights, what a catch."], 300),
    (["I tried a new pasta recipe last night.", "Was it any good? I love a creamy sauce."], 120),
    (["It's been raining all week here.", "Same here, the garden is a swamp."], 5),
]


def load_cases(name: str) -> list[dict[str, Any]]:
    """The cases of ``tests/fixtures/<name>``, one JSON object a line."""
    text = (FIXTURES / name).read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def add_in_small_talk(
    eg: Engram, user_id: str, sessions: Sequence[tuple[Sequence[str], int]], id_prefix: str = "",
    speakers: tuple[str, str] | None = None,
) -> None:
    """Store each ``(statements, days_before_NOW)`` as session ``s<n>``: two
    small-talk turns, the statements, two more. With ``id_prefix`` the turn
    ids are ``<prefix><n>:<i>`` (``i`` counts from 0 in the session). With ``speakers``
    ``(speaker, other)`` each small-talk question is the other's and every other turn
    the speaker's."""
    for n, (said, days_ago) in enumerate(sessions):
        t0 = NOW - timedelta(days=days_ago)
        turns = [*SMALL_TALK[:2], *said, *SMALL_TALK[2:]]
        who: list[str | None] = [None] * len(turns)
        if speakers is not None:
            speaker, other = speakers
            who = [speaker] * len(turns)
            who[0] = who[-2] = other
        eg.add(
            [{"text": t, "role": "user", "occurred_at": t0 + timedelta(seconds=i),
              **({"id": f"{id_prefix}{n}:{i}"} if id_prefix else {}),
              **({"speaker": w} if w is not None else {})}
             for i, (t, w) in enumerate(zip(turns, who, strict=True))],
            user_id=user_id, session_id=f"s{n}",
        )


def add_update_cases(
    eg: Engram, cases: Sequence[dict[str, Any]], chat: Sequence[tuple[Sequence[str], int]],
    named: bool = False,
) -> None:
    """Store each knowledge-update case as its own user: three sessions of small
    talk from ``chat`` around its ``old`` statement (200 days before :data:`NOW`,
    turn ``<id>:1:2``) and its ``new`` one (20 days before, turn ``<id>:3:2``); with
    ``named``, said between the case's ``speaker`` and ``other``: each session opens with
    the other's question and the speaker's answer, the statements are the speaker's, and it
    ends with the other's question and the speaker's answer."""
    for case in cases:
        sessions = [chat[0], ([case["old"]], 200), chat[1], ([case["new"]], 20), chat[2]]
        add_in_small_talk(eg, case["id"], sessions, id_prefix=f"{case['id']}:",
                          speakers=(case["speaker"], case["other"]) if named else None)


def case_engine(factory: Any, embedder: Embedder, name: str, cases: Sequence[dict[str, Any]],
                chat: Sequence[tuple[Sequence[str], int]], named: bool = False
                ) -> Iterator[Engram]:
    """A case set's engine for a module fixture (``yield from`` it): a real SQLite
    file ``<name>.db`` in a fresh temporary folder of ``factory`` holding ``cases``
    (:func:`add_update_cases`, with ``named`` between two people); closed when
    the fixture ends."""
    engine = Engram(str(factory.mktemp(name) / f"{name}.db"), embedder=embedder)
    try:
        add_update_cases(engine, cases, chat, named=named)
        yield engine
    finally:
        engine.close()


def set_engine(factory: Any, embedder: Embedder, name: str, fixture: str, missed: list[str],
               named: bool = False) -> Iterator[tuple[Engram, list[dict[str, Any]], list[str]]]:
    """One of a module's named case sets for a parametrized module fixture (``yield from``
    it): its engine (:func:`case_engine`, session 13's small talk; ``named``: between two
    people), its cases (``tests/fixtures/<fixture>``) and the ids it is measured to miss."""
    cases = load_cases(fixture)
    for engine in case_engine(factory, embedder, name, cases, CHAT_S13, named):
        yield engine, cases, missed


def rank_of(hits: Sequence[Hit], episode_id: str) -> int:
    """The 0-based rank of the first hit that is, or cites, ``episode_id``
    (``len(hits)`` when none does)."""
    for rank, h in enumerate(hits):
        if h.item.id == episode_id or episode_id in getattr(h.item, "source_episode_ids", []):
            return rank
    return len(hits)


def update_ranks(eg: Engram, case: dict[str, Any], question: str, preset: str = "recall"
                 ) -> tuple[int, int]:
    """The 0-based ranks of a case's new and old statement (stored by
    :func:`add_update_cases`) for ``question``, among 20 hits."""
    hits = eg.search(question, user_id=case["id"], preset=preset, now=NOW, limit=20,
                     track_access=False)
    return rank_of(hits, f"{case['id']}:3:2"), rank_of(hits, f"{case['id']}:1:2")


def newer_first_misses(eg: Engram, cases: Sequence[dict[str, Any]], preset: str = "recall"
                       ) -> list[str]:
    """Ids of the ``cases`` whose new statement is not in the top 10 above the old one."""
    missed = []
    for case in cases:
        new, old = update_ranks(eg, case, case["question"], preset)
        if not (new < old and new < 10):
            missed.append(case["id"])
    return missed


def assert_well_formed(cases: Sequence[dict[str, Any]], n: int, past: int | None = None,
                       extra: frozenset[str] = frozenset()) -> None:
    """A case set holds ``n`` cases with distinct ids, each with an old and a new
    statement and a question, and besides at most a ``past`` question and the ``extra``
    keys; ``past``, when given, is how many have a past question."""
    assert len(cases) == n
    assert len({c["id"] for c in cases}) == n
    keys = {"id", "old", "new", "question", "past"} | extra
    assert all({"id", "old", "new", "question"} <= set(c) <= keys for c in cases)
    if past is not None:
        assert sum("past" in c for c in cases) == past


def assert_past_keeps_old(eg: Engram, cases: Sequence[dict[str, Any]], least: int) -> None:
    """Each case with a ``past`` question (at least ``least`` of them) keeps its old
    statement in the top 10 for it."""
    past = [c for c in cases if "past" in c]
    assert len(past) >= least
    for case in past:
        _, old = update_ranks(eg, case, case["past"])
        assert old < 10, f"{case['id']}: the old statement fell to {old + 1}"


def sets_fixture(sets: dict[str, tuple[str, list[str]]], prefix: str,
                 named: bool = False) -> Any:
    """A module fixture ``cases`` over the named case sets of ``sets`` (a name -> the
    fixture file and the ids the rules are measured to miss): per set, its engine (one
    per module, :func:`set_engine`), its cases and those ids. Assign it to ``cases``."""
    import pytest

    @pytest.fixture(scope="module", params=sorted(sets))
    def cases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
              embedder: Embedder) -> Iterator[tuple[Engram, list[dict[str, Any]], list[str]]]:
        yield from set_engine(tmp_path_factory, embedder, f"{prefix}{request.param}",
                              *sets[request.param], named=named)

    return cases


def newer_first_test(n: int = 50) -> Any:
    """The test that the newer statement ranks first in every case of the module's
    ``cases`` fixture (:func:`sets_fixture`) but the ids it names. Assign it to
    ``test_the_newer_statement_ranks_first``."""

    def test_the_newer_statement_ranks_first(
            cases: tuple[Engram, list[dict[str, Any]], list[str]]) -> None:
        eg, loaded, expected = cases
        missed = newer_first_misses(eg, loaded)
        assert missed == expected, f"{len(loaded) - len(missed)}/{n}; missed {missed}"

    return test_the_newer_statement_ranks_first


def update_set_tests(sets: dict[str, tuple[str, list[str]]], prefix: str, n: int = 50,
                     past: int = 8) -> dict[str, Any]:
    """The tests of a module of knowledge-update case sets, for its globals
    (``globals().update(update_set_tests(SETS, "ku41"))``). ``sets``: a name -> the
    fixture file and the ids the rules are measured to miss. Every set holds ``n`` cases,
    ``past`` of them with a question about the past; the newer statement ranks first in
    every case but the named misses; each question about the past keeps the old
    statement in the top 10. One engine per set, made once for the module."""
    import pytest

    @pytest.mark.parametrize("name", sorted(sets))
    def test_the_sets_are_well_formed(name: str) -> None:
        assert_well_formed(load_cases(sets[name][0]), n, past)

    cases = sets_fixture(sets, prefix)
    test_the_newer_statement_ranks_first = newer_first_test(n)

    def test_a_question_about_the_past_keeps_the_old_statement_in_view(
            cases: tuple[Engram, list[dict[str, Any]], list[str]]) -> None:
        assert_past_keeps_old(cases[0], cases[1], past)

    return {f.__name__: f for f in (
        test_the_sets_are_well_formed, cases, test_the_newer_statement_ranks_first,
        test_a_question_about_the_past_keeps_the_old_statement_in_view)}


def kept_misses(eg: Engram, cases: Sequence[dict[str, Any]]) -> list[str]:
    """Ids of the ``cases`` (later statements that change nothing) whose older statement
    is not in the top 10 above the later one; for a ``same-again`` case, not in the top 10."""
    missed = []
    for case in cases:
        new, old = update_ranks(eg, case, case["question"])
        kept = old < 10 if case.get("kind") == "same-again" else old < min(new, 10)
        if not kept:
            missed.append(case["id"])
    return missed


def keep_set_tests(sets: dict[str, tuple[str, list[str]]], prefix: str, n: int,
                   kinds: frozenset[str], each: int | None = None) -> dict[str, Any]:
    """The tests of a module of sets of later statements that change nothing, for its
    globals (``globals().update(keep_set_tests(SETS, "keep48", 60, KINDS, 12))``): every
    set holds ``n`` cases of the ``kinds`` (``each`` of every kind, where given), and the
    older statement stays above the later one in every case but the named misses."""
    import pytest

    @pytest.mark.parametrize("name", sorted(sets))
    def test_the_sets_are_well_formed(name: str) -> None:
        cases = load_cases(sets[name][0])
        assert len(cases) == n and len({c["id"] for c in cases}) == n
        assert all(set(c) == {"id", "old", "new", "question", "kind"} for c in cases)
        assert {c["kind"] for c in cases} == kinds
        if each is not None:
            assert all(sum(c["kind"] == k for c in cases) == each for k in kinds)

    cases = sets_fixture(sets, prefix)

    def test_the_older_statement_stays_above_a_later_one_that_changes_nothing(
            cases: tuple[Engram, list[dict[str, Any]], list[str]]) -> None:
        eg, loaded, expected = cases
        missed = kept_misses(eg, loaded)
        assert missed == expected, f"{len(loaded) - len(missed)}/{n} kept; missed {missed}"

    return {f.__name__: f for f in (
        test_the_sets_are_well_formed, cases,
        test_the_older_statement_stays_above_a_later_one_that_changes_nothing)}


#: five turns of small talk, and the time of the first of two statements among them
#: (:func:`said_in_small_talk`)
PAIR_T0 = datetime(2025, 2, 3, 18, 0, tzinfo=UTC)
PAIR_SMALL_TALK = (
    "Traffic was terrible on the way home today.",
    "I finally watched that documentary about octopuses.",
    "My neighbour's dog barked all night again.",
    "We're thinking about repainting the kitchen a pale green.",
    "The new bakery on the corner does amazing croissants.",
)


def said_in_small_talk(path: str, embedder: Embedder, older: str, newer: str,
                       question: str) -> list[str]:
    """The messages ``question`` finds in its top 10, best first, in a store at ``path``
    holding ``older`` and, 36 days later, ``newer``, among :data:`PAIR_SMALL_TALK` (one
    message every 9 days)."""
    with Engram(path, embedder=embedder) as eg:
        texts = [older, *PAIR_SMALL_TALK[:3], newer, *PAIR_SMALL_TALK[3:]]
        for i, text in enumerate(texts):
            eg.add(text, user_id="ana", occurred_at=PAIR_T0 + timedelta(days=9 * i))
        return [h.item.text for h in eg.search(question, user_id="ana", limit=10)
                if h.ref.type == "episode"]
