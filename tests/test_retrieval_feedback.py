"""Lexical pseudo-relevance feedback (``RetrievalConfig.feedback_weight``,
:mod:`engram.retrieval.feedback`): the words the first hits share search BM25 a
second time, so a turn that holds none of the question's words but talks like
its best matches joins the lexical list; the query's 3 best lexical matches keep
their places; on every backend, and on in ``recall``."""

from __future__ import annotations

from pathlib import Path

import pytest
from stores import STORE_KINDS, make_store

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import ConfigError
from engram.index.lexical import capped
from engram.models import ItemRef, Scope, SearchFilters
from engram.retrieval import feedback
from engram.retrieval.config import get_preset
from engram.retrieval.feedback import feedback_refs, feedback_terms, merged
from engram.retrieval.search import Searcher
from engram.retrieval.signals import Signal
from engram.store.base import Candidate

# the question names the garden; the evidence (the tomatoes' harvest) does not,
# but the turns that do name it talk about tomatoes and the greenhouse
TURNS = [
    "My garden is finally green again, the tomatoes are climbing the greenhouse wall",
    "Spent the morning in the garden tying up tomatoes inside the greenhouse",
    "The garden needs rain, the greenhouse tomatoes are fine though",
    "We picked eleven kilos of tomatoes from the greenhouse this week",
    "My cousin bought a red bicycle for the race on Sunday",
    "Work was busy, I had three meetings before lunch",
    "The bakery near the station sells the best rye bread",
]
QUESTION = "What grows in Nadia's garden?"


def _ref(texts: dict[str, str], start: str) -> ItemRef:
    return next(ItemRef("episode", i) for i, t in texts.items() if t.startswith(start))


def _bm25(eg: Engram, weight: float) -> tuple[list[Candidate], dict[str, str]]:
    scope = Scope(user_id="nadia")
    config = get_preset("recall").replace(feedback_weight=weight)
    lists = Searcher(eg.store, eg.embedder).candidates(QUESTION, scope, SearchFilters(), config)
    texts = {e.id: e.text for e in eg.list(user_id="nadia", type="episode", limit=50).items}
    return lists[Signal.BM25], texts


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from engram.embed.registry import get_embedder

    return get_embedder("default")


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_a_turn_without_the_questions_words_joins_the_lexical_list_below_the_best_matches(
    kind: str, tmp_path: Path, embedder: Embedder
) -> None:
    eg = Engram(store=make_store(kind, tmp_path), embedder=embedder)
    try:
        for text in TURNS:
            eg.add(text, scope=Scope(user_id="nadia", session_id="s1"), derive=False)
        plain, texts = _bm25(eg, 0.0)
        fed, _ = _bm25(eg, 0.2)
        harvest = _ref(texts, "We picked eleven")
        assert harvest not in [c.ref for c in plain]  # no word of the question
        assert harvest in [c.ref for c in fed]
        assert [c.ref for c in fed[:3]] == [c.ref for c in plain[:3]]
        assert [c.score for c in fed[:3]] == [c.score for c in plain[:3]]
        assert _ref(texts, "The bakery") not in [c.ref for c in fed]  # shares nothing
    finally:
        eg.close()


def test_feedback_words_are_shared_content_words_not_the_questions_own() -> None:
    texts = [
        "Tomatoes climbing the greenhouse, yeah really great",
        "The greenhouse tomatoes and one cucumber",
        "Tomato soup tonight with gardening friends",
        "lol great great great",
        " ".join(["greenhouse"] * 61),  # over 60 words: not read
    ]
    # "garden" is the question's (its stem covers "gardening"); "great", "yeah",
    # "really", "tonight" are chat filler; "cucumber" and "soup" occur once
    assert feedback_terms("Nadia's garden?", texts) == ["tomatoes", "greenhouse"]
    assert feedback_terms("Nadia's garden?", texts, limit=1) == ["tomatoes"]
    assert feedback_terms("Nadia's garden?", texts, min_docs=3) == ["tomatoes"]
    assert feedback_terms("tomato greenhouse", texts) == []


def _c(name: str, score: float) -> Candidate:
    return Candidate(ItemRef("episode", name), score)


def test_the_best_three_keep_their_places_and_the_rest_never_rise_above_them() -> None:
    lexical = [_c("a", 9.0), _c("b", 8.0), _c("c", 7.0), _c("d", 2.0), _c("e", 1.0)]
    second = [_c("new", 40.0), _c("e", 20.0), _c("a", 5.0)]
    asked: list[str] = []

    def search(q: str) -> list[Candidate]:
        asked.append(q)
        return second

    out = merged(lexical, ["tomatoes", "greenhouse"], 0.2, 10, search)
    assert asked == ["tomatoes greenhouse"]
    # a, b, c first as they were; "new" (0 + 8) capped at c's 7, then "e" (1 + 4)
    assert out == [_c("a", 9.0), _c("b", 8.0), _c("c", 7.0), _c("new", 7.0), _c("e", 5.0),
                   _c("d", 2.0)]
    assert merged(lexical, ["x"], 0.2, 4, search)[-1] == _c("new", 7.0)  # at most limit
    assert merged(lexical, [], 0.2, 10, search) == lexical  # nothing shared: unchanged
    assert merged(lexical, ["x"], 0.0, 10, search) == lexical
    short = [_c("a", 1.0)]  # fewer than three: nothing is kept, every score adds
    assert merged(short, ["x"], 0.5, 10, search)[0] == _c("new", 20.0)


def test_merged_ties_go_by_type_then_id_and_a_limit_below_three_cuts_the_kept_head() -> None:
    lexical = [_c("a", 9.0), _c("b", 8.0), _c("c", 7.0), _c("z", 1.0)]
    mem = Candidate(ItemRef("memory", "m"), 10.0)
    second = [mem, _c("y", 10.0), _c("x", 10.0), _c("w", 2.5)]
    out = merged(lexical, ["x"], 0.2, 10, lambda q: second)
    # x, y and memory m score 2.0 each (ties: episodes first, then by id); z 1.0, w 0.5
    assert [(c.ref.type, c.ref.id) for c in out[3:6]] == [
        ("episode", "x"), ("episode", "y"), ("memory", "m")]
    assert [c.score for c in out] == [9.0, 8.0, 7.0, 2.0, 2.0, 2.0, 1.0, 0.5]
    assert merged(lexical, ["x"], 0.2, 2, lambda q: second) == lexical[:2]


def test_feedback_reads_each_signals_first_hits_in_turns() -> None:
    dense = [_c("d1", 1), _c("both", 1), _c("d3", 1)]
    bm25 = [_c("both", 1), _c("b2", 1)]
    got = [r.id for r in feedback_refs([dense, bm25], docs=2)]
    assert got == ["d1", "both", "b2"]


def test_recall_feeds_back_and_a_negative_weight_is_refused() -> None:
    assert get_preset("recall").feedback_weight == 0.2
    assert get_preset("recall-s10").feedback_weight == 0.0
    assert get_preset("recall-s10").replace(feedback_weight=0.2).rerank == get_preset(
        "recall-s31").rerank
    with pytest.raises(ConfigError, match="feedback_weight"):
        get_preset("recall").replace(feedback_weight=-0.1)


def test_the_most_common_words_are_left_out_first_until_the_rest_fit() -> None:
    sizes = [("tomato", 40), ("greenhouse", 900), ("cucumber", 3), ("garden", 900)]
    assert capped(sizes, 950) == ["tomato", "greenhouse", "cucumber"]  # the later tie first
    assert capped(sizes, 900) == ["tomato", "cucumber"]
    assert capped(sizes, 10_000) == [t for t, _ in sizes]  # within the cap: all kept
    assert capped(sizes, 0) == []


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_a_capped_lexical_search_leaves_the_common_word_out_and_small_scopes_are_unchanged(
    kind: str, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    eg = Engram(store=make_store(kind, tmp_path), embedder=embedder)
    try:
        for text in TURNS:
            eg.add(text, scope=Scope(user_id="nadia", session_id="s1"), derive=False)
        scope, f = Scope(user_id="nadia"), SearchFilters()
        search = eg.store.lexical_search
        # "tomatoes" is in four turns, "greenhouse" in four, "bicycle" in one
        rare = search(scope, "bicycle", f, 10)
        assert search(scope, "tomatoes bicycle", f, 10, max_postings=4) == rare
        both = search(scope, "tomatoes bicycle", f, 10)
        assert len(both) == 5
        assert search(scope, "tomatoes bicycle", f, 10, max_postings=5) == both
        # of two as common, the later goes first
        assert search(scope, "tomatoes greenhouse bicycle", f, 10, max_postings=5) == both
        # recall's feedback pass is capped, and a small scope never reaches the cap
        assert feedback.MAX_POSTINGS >= 1000
        fed, _ = _bm25(eg, 0.2)
        monkeypatch.setattr(feedback, "MAX_POSTINGS", None)
        assert _bm25(eg, 0.2)[0] == fed
    finally:
        eg.close()
