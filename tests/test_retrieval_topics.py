"""Topic prototypes (``engram.retrieval.topics``): the dense query moved towards what
its category's turns sound like.

The cases here are written from general knowledge, not from the prototypes: the
questions name a category in words the topic's name side does not use ("keep fit",
"get around"), and the evidence names instances no example turn names (pottery,
a parrot, the cello, migraines, Kyoto). The real embedder runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from support.categories import CASES, CHATTER, add_cases, evidence_rank
from support.labelled import NOW

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import ConfigError
from engram.retrieval import topics
from engram.retrieval.config import RetrievalConfig, get_preset


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from engram.embed.registry import get_embedder

    return get_embedder("default")


def test_weight_zero_leaves_the_query_as_it_is(embedder: Embedder) -> None:
    q = embedder.embed_one("What are Noor's hobbies?", "query")
    assert topics.expanded(q, embedder, 0.0) is q


def test_the_moved_query_is_unit_length_keeps_its_dtype_and_moves_towards_the_topic(
    embedder: Embedder,
) -> None:
    q = embedder.embed_one("Does Ruth have any pets?", "query")
    moved = topics.expanded(q, embedder, 0.5)
    assert moved.dtype == q.dtype and moved.shape == q.shape
    assert abs(float(np.linalg.norm(moved)) - 1.0) < 1e-5
    _, turns = topics.topic_vectors(embedder)
    pet = turns[list(topics.TOPICS).index("pet")]
    unit = q / np.linalg.norm(q)
    assert float(moved @ pet) > float(unit @ pet)


def test_the_topic_vectors_are_computed_once_per_model(embedder: Embedder) -> None:
    first = topics.topic_vectors(embedder)
    assert topics.topic_vectors(embedder) is first
    names, turns = first
    assert names.shape == turns.shape == (len(topics.TOPICS), embedder.dim)


#: questions in words the topics' name sides do not use, with the topic meant
PHRASINGS = [
    ("What does Priya do when she is not working?", "hobby"),
    ("What does Dana do for fun?", "hobby"),
    ("How does Tom stay in shape?", "sport"), ("Does Ravi play any team games?", "sport"),
    ("Does Ana own any animals?", "pet"), ("What kind of cuisine does Leo like?", "food"),
    ("What did Lena have for dinner?", "food"), ("What is Mia's profession?", "work"),
    ("What subject is Raj majoring in?", "study"), ("Has Chen been unwell recently?", "health"),
    ("Which countries has Omar been to?", "travel"), ("Where did Jun go on vacation?", "travel"),
    ("Where does Lucy live these days?", "home"), ("Which instrument does Ben play?", "music"),
    ("What genre of novels does Ivy enjoy?", "reading"),
    ("Which series is Sam watching?", "screen"),
    ("Who is Nora seeing?", "romance"), ("How many siblings does Eli have?", "family"),
    ("What does Zoe drive?", "vehicle"), ("How has Max been feeling lately?", "feelings"),
    ("What does Kim hope to achieve in the next few years?", "plans"),
    ("How did Ava spend her birthday?", "celebration"), ("Is Paul religious?", "beliefs"),
    ("Which phone does Jo use?", "tech"), ("How did Ola sleep last night?", "sleep"),
    ("What does Finn wear to parties?", "appearance"), ("Who are Gus's closest mates?", "friends"),
    ("Is it cold where Ines lives?", "weather"),
    ("How much did Tariq spend on the new sofa?", "money"), ("What is Bea painting?", "art"),
    ("What hikes has Cal done?", "outdoors"), ("Does Hana drink coffee?", "drink"),
]


def test_questions_in_other_words_find_their_topic(embedder: Embedder) -> None:
    """The small embedder places most paraphrased category questions: when written,
    25 of 32 (the misses are near: "Who is Nora seeing?" -> pet, "closest mates" ->
    family, "team games" -> screen)."""
    found = [topics.topic_of(embedder.embed_one(q, "query"), embedder) == t
             for q, t in PHRASINGS]
    assert sum(found) >= 24, [q for (q, _), ok in zip(PHRASINGS, found, strict=True) if not ok]


#: broad questions about a person, and the one turn (among their small talk and
#: other news) that answers with an instance the question never names
BROAD = [
    ("What are Noor's hobbies?", "I spent the whole Saturday at my pottery wheel again."),
    ("What does Theo do to keep fit?", "Did forty laps at the pool before breakfast."),
    ("Does Ruth have any pets?", "The parrot learned to say my name this week!"),
    ("What is Ken's job?", "The night shift at the hospital pharmacy was quiet for once."),
    ("Has Ola had any health problems?", "My migraines came back and I missed two days."),
    ("Where has Ivan travelled?", "The temples in Kyoto were even better than the photos."),
    ("What music does Sara play?", "My fingers hurt from an hour of cello scales."),
    ("What is Dev studying?", "My organic chemistry lab report is due on Friday."),
    ("What does Mei like to eat?", "Nothing beats a bowl of spicy ramen after a long day."),
    ("What has Abe been reading?", "I'm halfway through a thick biography of Lincoln."),
    ("How does Yuki get around town?", "My scooter's battery died halfway home again."),
    ("What are Lars's dreams for the future?",
     "One day I'd like to run a little vineyard of my own."),
]


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engram]:
    db: Path = tmp_path_factory.mktemp("topics") / "topics.db"
    engine = Engram(str(db))
    add_cases(engine)
    for k, (question, evidence) in enumerate(BROAD):
        name = question.split()[2].rstrip("'s")
        turns = [CHATTER[(k * 7 + i) % len(CHATTER)] for i in range(14)]
        turns.insert(6 + k % 5, evidence)
        t0 = NOW - timedelta(days=20 + k)
        engine.add(
            [{"text": t, "role": "user", "speaker": name if i % 2 == 0 else "Pat",
              "occurred_at": t0 + timedelta(minutes=i),
              "id": f"broad-{k}:e" if t == evidence else f"broad-{k}:{i}"}
             for i, t in enumerate(turns)],
            user_id=f"broad-{k}", session_id="s0",
        )
    yield engine
    engine.close()


def _moved(preset: str) -> RetrievalConfig:
    return get_preset(preset).replace(name=f"{preset}:topic", topic_weight=0.5)


def test_the_moved_query_finds_instances_the_question_never_names(eg: Engram) -> None:
    """Dense alone, with and without the topic, over the broad questions above and
    the category/paraphrase cases: the evidence ranks first, in the top 3 and in the
    top 5 more often (when written: broad 2 / 5 / 6 -> 3 / 6 / 7 of 12; cases
    31 / 55 / 56 -> 36 / 58 / 59 of 68; top 10 12 -> 11 and 60 -> 64)."""
    dense, moved = get_preset("dense"), _moved("dense")
    cases = [{"id": f"broad-{k}", "question": q} for k, (q, _) in enumerate(BROAD)] + CASES
    before = [evidence_rank(eg, c, dense) for c in cases]
    after = [evidence_rank(eg, c, moved) for c in cases]
    for k in (1, 3, 5):
        assert sum(r < k for r in after) > sum(r < k for r in before), (k, before, after)


def test_the_recall_topics_preset_ranks_the_evidence_higher_than_recall(eg: Engram) -> None:
    """The whole pipeline with the refitted reranker: more evidence in the top 5
    and no less in the top 10 (when written: broad 7 -> 8 and 12 -> 12 of 12;
    cases 57 -> 63 and 65 -> 67 of 68; dense alone 56 and 60). Against
    "recall-s8", the uncentred default it was written against ("recall" is
    centred since session 9)."""
    cases = [{"id": f"broad-{k}", "question": q} for k, (q, _) in enumerate(BROAD)] + CASES
    before = [evidence_rank(eg, c, get_preset("recall-s8")) for c in cases]
    after = [evidence_rank(eg, c, get_preset("recall-topics")) for c in cases]
    assert sum(r < 5 for r in after) > sum(r < 5 for r in before), (before, after)
    assert sum(r < 10 for r in after) >= sum(r < 10 for r in before), (before, after)


def test_only_a_broad_query_moves() -> None:
    assert topics.broad("What are Emi's hobbies?")
    assert topics.broad("Does Ruth have any pets?")
    assert topics.broad("What do Kevin and Paola have in common?")
    assert not topics.broad("What kind of pasta did Kate make on 29 Dec 2023?")
    assert not topics.broad("Can you walk me through setting up the deployment pipeline "
                            "for the new billing service?")


def test_a_negative_topic_weight_is_refused() -> None:
    with pytest.raises(ConfigError, match="topic_weight"):
        get_preset("dense").replace(name="bad", topic_weight=-0.1)
