"""Words of one family (``engram.retrieval.variants``) and their case set.

``tests/fixtures/family_words.jsonl``: 48 cases written from general knowledge by a
writer who read none of the rules, each a question using one word of a family
("Does Henry work in banking?") and the turn that answers it another ("Henry is a
banker at a big firm in London"), next to a decoy that shares the question's other
words, in small talk (``tests/support/categories.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.categories import add_cases, evidence_rank
from support.labelled import load_cases

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import ConfigError
from engram.models import ItemRef
from engram.retrieval import variants
from engram.retrieval.config import get_preset
from engram.store.base import Candidate

CASES = load_cases("family_words.jsonl")


def test_the_table_links_a_field_to_who_works_in_it() -> None:
    table = variants.table()
    for word, other in [("photography", "photographer"), ("photographer", "photography"),
                        ("advocacy", "advocate"), ("musician", "music"),
                        ("paint", "painter"), ("economy", "economist"),
                        ("banker", "bank"), ("novel", "novelist")]:
        assert other in table.get(word, ()), (word, other)
    # words so common their derivations say something else, and names, stay out
    for word in ("work", "make", "like", "take", "find", "time", "paul"):
        assert word not in table, word
    # a family is one word's own derivations: no synonym, no word of another opening
    assert all(w[:3] == o[:3] for w, others in table.items() for o in others)


@pytest.mark.parametrize("word, base", [
    ("painting", "paint"), ("dancing", "dance"), ("cycling", "cycle"),
    ("programming", "program"), ("parties", "party"), ("bankers", "banker"),
    ("painted", "paint"), ("photography", "photography"),
])
def test_bases_undo_endings_as_wordnet_does(word: str, base: str) -> None:
    assert base in variants.bases(word)
    assert variants.bases(word)[0] == word


@pytest.mark.parametrize("query, words", [
    ("Is Clara a musician?", {"music"}),
    ("What is one of Micah's main ADVOCACY areas?", {"advocate"}),
    ("Does Mia enjoy painting?", {"painter"}),
    ("Is there a photographer in the family?", {"photography"}),
    # a variant the query already holds is not added again
    ("Is the photographer into photography?", set()),
    ("Where do you work these days?", set()),
    ("When is the meeting?", set()),
])
def test_variant_query(query: str, words: set[str]) -> None:
    assert set(variants.variant_query(query).split()) >= words
    if not words:
        assert variants.variant_query(query) == ""


def _c(ref: str, score: float) -> Candidate:
    return Candidate(ItemRef("episode", ref), score)


def test_merged_adds_the_weighted_variant_scores_to_the_lexical_list() -> None:
    lexical = [_c("decoy", 4.0), _c("other", 1.0)]
    seen: list[str] = []

    def search(q: str) -> list[Candidate]:
        seen.append(q)
        return [_c("painter", 6.0), _c("other", 2.0)]

    out = variants.merged(lexical, "Does Mia enjoy painting?", 0.5, 10, search)
    assert [(c.ref.id, c.score) for c in out] == [("decoy", 4.0), ("painter", 3.0),
                                                  ("other", 2.0)]
    assert seen == ["painter"]
    assert [c.ref.id for c in variants.merged(lexical, "Mia painting?", 1.0, 1, search)] == [
        "painter"]
    assert variants.merged(lexical, "When is lunch?", 1.0, 10, search) == lexical
    assert seen == ["painter", "painter"]  # no variant, no second search


def test_the_preset_that_searches_variants() -> None:
    assert get_preset("recall-variants").variant_weight == 0.5
    assert get_preset("recall").variant_weight == 0.0  # off by default: docs/recall.md


def test_variant_weight_is_checked() -> None:
    with pytest.raises(ConfigError):
        get_preset("recall").replace(name="x", variant_weight=-0.5)


def test_fixture_is_well_formed() -> None:
    assert len(CASES) >= 45
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert all(set(c) == {"id", "question", "evidence", "decoy"} for c in CASES)
    assert len({c["id"].split("-")[0] for c in CASES}) >= 40  # many families


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    engine = Engram(str(tmp_path_factory.mktemp("fam") / "fam.db"), embedder=embedder)
    add_cases(engine, CASES)
    yield engine
    engine.close()


def test_variants_lift_the_turn_that_says_the_other_word_of_the_family(eg: Engram) -> None:
    recall = get_preset("recall")
    off = recall.replace(name="off", variant_weight=0.0)
    on = recall.replace(name="on", variant_weight=max(recall.variant_weight, 0.5))
    ranks_on = [evidence_rank(eg, c, on) for c in CASES]
    ranks_off = [evidence_rank(eg, c, off) for c in CASES]
    first_on, first_off = sum(r < 1 for r in ranks_on), sum(r < 1 for r in ranks_off)
    assert first_on > first_off, (first_on, first_off)
    assert sum(r < 3 for r in ranks_on) >= sum(r < 3 for r in ranks_off)
    # no case the family words find without them is lost from the top 3
    assert all(a < 3 for a, b in zip(ranks_on, ranks_off, strict=True) if b < 1)
