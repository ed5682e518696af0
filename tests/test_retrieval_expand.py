"""Category -> instance expansion (``engram.retrieval.expand``) and its case set.

``tests/fixtures/category_paraphrase.jsonl``: 68 cases written from general
knowledge, each a question naming a category (pet, vehicle, diet, instrument,
sport, illness, country, city, job, drink, hobby, language, ...) or asking in
other words, and a chat turn naming an instance ("we adopted a corgi"), in
small talk next to a decoy that shares the question's words
(``tests/support/categories.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.categories import CASES, add_cases, evidence_rank

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import ConfigError
from engram.models import ItemRef
from engram.retrieval import expand
from engram.retrieval.config import get_preset
from engram.store.base import Candidate


def test_the_table_maps_the_categories_people_ask_about_to_their_instances() -> None:
    table = expand.table()
    for category, instances in {
        "pet": ("dog", "cat", "puppy", "hamster", "corgi", "parrot", "goldfish"),
        "vehicle": ("car", "bike", "truck", "motorcycle"),
        "diet": ("vegan", "vegetarian"),
        "instrument": ("guitar", "piano", "cello", "violin", "drum"),
        "sport": ("tennis", "football", "golf", "rugby", "swimming"),
        "illness": ("flu", "asthma", "diabetes", "migraine"),
        "country": ("italy", "japan", "naples", "kyoto", "barcelona"),
        "city": ("lisbon", "chicago", "paris"),
        "drink": ("coffee", "tea", "wine", "espresso"),
        "language": ("spanish", "french", "german"),
    }.items():
        missing = set(instances) - set(table[category])
        assert not missing, (category, missing)
    # rare senses and words that are mostly not nouns stay out
    assert "head" not in table["pet"] and "entire" not in table["pet"]
    assert "nice" not in table["country"]


@pytest.mark.parametrize("query, named", [
    ("What pet does the user have?", ["pet"]),
    ("Does Ana have any pets?", ["pet"]),
    ("Which sport and which instrument does she play?", ["sport", "instrument"]),
    ("Which COUNTRIES did they visit?", ["country"]),
    ("What kind of flowers does Audrey grow?", ["flower"]),
    ("What is Caroline's favourite book?", ["book"]),
    # the category is what the question is about, not what it asks for
    ("How many dogs does Andrew have?", []),
    ("How often does she meet other dog owners?", []),
    ("When did Melanie paint a sunrise?", []),
])
def test_categories_named_by_a_query(query: str, named: list[str]) -> None:
    assert expand.categories(query) == named


def test_expansion_takes_turns_and_keeps_each_query_short() -> None:
    assert expand.expansion("When is the meeting?") == []
    queries = expand.expansion("Which sport and which instrument does she play?")
    words = [w for q in queries for w in q.split()]
    assert words[:2] == [expand.table()["sport"][0], expand.table()["instrument"][0]]
    assert all(len(q.split()) <= expand.MAX_TERMS for q in queries)
    assert len(words) == len(set(words))
    assert "play" not in words  # a word of the query is not an expansion of it


def _c(ref: str, score: float) -> Candidate:
    return Candidate(ItemRef("episode", ref), score)


def test_merged_adds_the_weighted_instance_scores_to_the_lexical_list() -> None:
    lexical = [_c("decoy", 4.0), _c("other", 1.0)]
    seen: list[str] = []

    def search(q: str) -> list[Candidate]:
        seen.append(q)
        return [_c("corgi", 6.0), _c("other", 2.0)]

    out = expand.merged(lexical, "What pet does the user have?", 0.5, 10, search)
    assert [(c.ref.id, c.score) for c in out] == [("decoy", 4.0), ("corgi", 3.0),
                                                  ("other", 2.0)]
    assert seen and all(q.split()[0] == "dog" for q in seen[:1])
    assert [c.ref.id for c in expand.merged(lexical, "What pet?", 1.0, 2, search)] == [
        "corgi", "decoy"]
    assert expand.merged(lexical, "When is lunch?", 1.0, 10, search) == lexical


def test_expand_weight_is_checked() -> None:
    with pytest.raises(ConfigError):
        get_preset("recall").replace(name="x", expand_weight=-1.0)


def test_fixture_is_well_formed() -> None:
    assert len(CASES) >= 60
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert all(set(c) == {"id", "question", "evidence", "decoy"} for c in CASES)
    assert len({c["id"].split("-")[0] for c in CASES}) >= 25  # many categories


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    engine = Engram(str(tmp_path_factory.mktemp("cat") / "cat.db"), embedder=embedder)
    add_cases(engine)
    yield engine
    engine.close()


def test_expansion_lifts_instances_of_the_asked_category(eg: Engram) -> None:
    on = get_preset("recall").replace(name="on", expand_weight=1.0)
    off = get_preset("recall").replace(name="off", expand_weight=0.0)
    ranks_on = [evidence_rank(eg, c, on) for c in CASES]
    ranks_off = [evidence_rank(eg, c, off) for c in CASES]
    top5_on = sum(r < 5 for r in ranks_on)
    top5_off = sum(r < 5 for r in ranks_off)
    # when written: top 5 in 47/68 with expansion, 31/68 without; top 10 59 and 59.
    # Since the reranker's no-overlap features (session 7): 59 and 58, top 10 65 and 65
    assert top5_on >= 42 and top5_on >= top5_off, (top5_on, top5_off)
    assert sum(r < 10 for r in ranks_on) >= sum(r < 10 for r in ranks_off)
    assert sum(r < 1 for r in ranks_on) > sum(r < 1 for r in ranks_off)


def test_the_recall_preset_keeps_what_the_dense_signal_alone_finds(eg: Engram) -> None:
    """Evidence that shares no word with the question (a category's instance, a
    paraphrase) reaches the top 5 and top 10 as often as with the dense signal
    alone: the reranker does not bury it under the decoy's small-talk neighbours."""
    recall, dense = get_preset("recall"), get_preset("dense")
    ranks = [evidence_rank(eg, c, recall) for c in CASES]
    alone = [evidence_rank(eg, c, dense) for c in CASES]
    for k in (5, 10):  # when written: 58 and 65 of 68, dense alone 56 and 60
        assert sum(r < k for r in ranks) >= sum(r < k for r in alone), k
