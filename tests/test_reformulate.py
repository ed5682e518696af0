"""Question -> statement reformulation of the dense query (:mod:`engram.retrieval.reformulate`).

The cases are written from English grammar in many phrasings (not drawn from any
data set): wh-questions with do/be/have/modal auxiliaries, wh-phrases, fronted
prepositions, wh-subjects, yes/no questions, requests, person swap, and the
speaker-conditioned form ``Name: I ...`` that mirrors a stored turn."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from stores import STORE_KINDS, make_store

from engram import Engram
from engram.embed.base import Embedder, InputType
from engram.errors import ConfigError
from engram.models import ItemRef
from engram.retrieval.config import get_preset
from engram.retrieval.reformulate import merged, past, query_vectors, restated, third_person
from engram.store.base import Candidate

STATEMENTS = [
    # do-auxiliary: the verb takes its tense
    ("What did Caroline research?", "Caroline researched"),
    ("What did Omar cook for dinner last night?", "Omar cooked for dinner last night"),
    ("When did Priya move to Berlin?", "Priya moved to Berlin"),
    ("Where did Tom buy his bike?", "Tom bought his bike"),
    ("Why did Lena quit her job?", "Lena quit her job"),
    ("How did Sam feel about the exam?", "Sam felt about the exam"),
    ("When did Ana try sushi for the first time?", "Ana tried sushi for the first time"),
    ("When did Raj stop smoking?", "Raj stopped smoking"),
    ("What does Mia do for work?", "Mia does for work"),
    ("What does Kofi teach at school?", "Kofi teaches at school"),
    ("Where does Ines study?", "Ines studies"),
    ("What do Ben and Zoe play on weekends?", "Ben and Zoe play on weekends"),
    ("When did Kate tried the new cream?", "Kate tried the new cream"),  # already past
    # wh-phrases: the noun goes last
    ("Which book did Tim recommend?", "Tim recommended book"),
    ("What kind of dog did Nate adopt?", "Nate adopted kind of dog"),
    ("What recipes did Elise and Kate share?", "Elise and Kate shared recipes"),
    ("How many cats does Jun have?", "Jun has cats"),
    # a fronted preposition goes with its wh-phrase
    ("Around which holiday did Maria have the accident?", "Maria had the accident around holiday"),
    ("For what cause does Micah volunteer?", "Micah volunteers for cause"),
    ("With whom did Leo travel to Peru?", "Leo traveled to Peru with"),
    # be: after the subject, or before a verb in -ing
    ("What is Elise's favorite vacation?", "Elise's favorite vacation is"),
    ("Where is Gina's internship?", "Gina's internship is"),
    ("What is Elise doing in Galveston?", "Elise is doing in Galveston"),
    ("What are Ravi and Meg planning for the summer?", "Ravi and Meg are planning for the summer"),
    ("What was the name of the band?", "the name of the band was"),
    # have and modals stay, after the subject
    ("Where has Paola traveled?", "Paola has traveled"),
    ("How long has Nate had his turtles?", "Nate has had his turtles"),
    ("What would Caroline pursue as a career?", "Caroline would pursue as a career"),
    ("What can Hugo cook?", "Hugo can cook"),
    # a wh-word as the subject just goes
    ("Who traveled with Lila to the rainforest?", "traveled with Lila to the rainforest"),
    ("Which person founded the charity with Amy?", "person founded the charity with Amy"),
    ("What happened at the concert?", "happened at the concert"),
    # yes/no questions are inverted
    ("Did Nate adopt a dog?", "Nate adopted a dog"),
    ("Does Olga like jazz?", "Olga likes jazz"),
    ("Is Caroline painting again?", "Caroline is painting again"),
    ("Have I ever been to Japan?", "I have been to Japan"),
    ("Was the party fun?", "the party fun was"),
    # the asker's "I" stays; "you" becomes "I" only with no first person
    ("What did I say about my budget?", "I said about my budget"),
    ("What is your favorite color?", "my favorite color is"),
    ("Where did you go on holiday?", "I went on holiday"),
    # a request's frame goes
    ("Can you help me plan a trip to Rome?", "plan a trip to Rome"),
    ("Could you remind me what my gym schedule is?", "my gym schedule is"),
]


@pytest.mark.parametrize(("question", "statement"), STATEMENTS)
def test_a_question_becomes_the_statement_that_would_answer_it(
    question: str, statement: str
) -> None:
    assert restated(question) == statement


SPEAKER = [
    ("What did Caroline research?", "Caroline: I researched"),
    ("When did Priya move to Berlin?", "Priya: I moved to Berlin"),
    ("What does Mia do for work?", "Mia: I do for work"),
    ("What is Elise's favorite vacation?", "Elise: my favorite vacation is"),
    ("What is Elise doing in Galveston?", "Elise: I am doing in Galveston"),
    ("Where has Paola traveled?", "Paola: I have traveled"),
    ("How long has Nate had his turtles?", "Nate: I have had my turtles"),
    ("Did Nate adopt a dog?", "Nate: I adopted a dog"),
    ("Which car did Jon Snow buy?", "Jon Snow: I bought car"),
    # two people, a pronoun or a described subject: no single speaker
    ("What recipes did Elise and Kate share?", "Elise and Kate shared recipes"),
    ("Have I ever been to Japan?", "I have been to Japan"),
    ("What did the coach say?", "the coach said"),
]


@pytest.mark.parametrize(("question", "statement"), SPEAKER)
def test_the_speaker_form_reads_like_a_turn_of_the_named_speaker(
    question: str, statement: str
) -> None:
    assert restated(question, speaker=True) == statement


@pytest.mark.parametrize("text", [
    "", "   ", "coffee", "hello", "Caroline adoption agencies", "my sister's wedding",
    "I moved to Lisbon.", "?", "Caroline?",
])
def test_what_is_not_a_question_or_is_unchanged_gives_none(text: str) -> None:
    assert restated(text) is None
    assert restated(text, speaker=True) is None


def test_text_after_the_question_is_kept() -> None:
    got = restated("Can you help me set up caching for my app? I like simple tools.")
    assert got == "set up caching for my app. I like simple tools."


@pytest.mark.parametrize(("verb", "want"), [
    ("research", "researched"), ("move", "moved"), ("try", "tried"), ("play", "played"),
    ("stop", "stopped"), ("plan", "planned"), ("visit", "visited"), ("go", "went"),
    ("buy", "bought"), ("feel", "felt"), ("tried", "tried"), ("went", "went"), ("Go", "Went"),
])
def test_past(verb: str, want: str) -> None:
    assert past(verb) == want


@pytest.mark.parametrize(("verb", "want"), [
    ("research", "researches"), ("study", "studies"), ("go", "goes"), ("have", "has"),
    ("play", "plays"), ("fix", "fixes"), ("wash", "washes"), ("like", "likes"),
])
def test_third_person(verb: str, want: str) -> None:
    assert third_person(verb) == want


def _c(i: str, score: float) -> Candidate:
    return Candidate(ItemRef("episode", i), score)


def test_merged_keeps_each_item_once_with_its_better_score() -> None:
    got = merged([_c("a", .9), _c("b", .5), _c("c", .4)], [_c("b", .8), _c("d", .45)], 3)
    assert [(c.ref.id, c.score) for c in got] == [("a", .9), ("b", .8), ("d", .45)]
    assert merged([], [], 5) == []


class _Fixed(Embedder):
    """Two fixed directions: the question along x, anything else along y."""

    model_id = "fixed"
    dim = 2

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        self.seen += list(texts)
        return np.array([[1.0, 0.0] if t.endswith("?") else [0.0, 1.0] for t in texts],
                        dtype=np.float32)


def test_query_vectors_mix_or_return_the_rewrite_and_embed_nothing_when_off() -> None:
    emb = _Fixed()
    q = emb.embed_one("What did Caroline research?")
    emb.seen.clear()
    recall = get_preset("recall")
    vec, also = query_vectors("What did Caroline research?", q, emb, recall)
    assert vec is q and also is None and emb.seen == []
    mixed = recall.replace(restate_weight=1.0, restate_form="speaker")
    vec, also = query_vectors("What did Caroline research?", q, emb, mixed)
    assert emb.seen == ["Caroline: I researched"] and also is None
    np.testing.assert_allclose(vec, [2 ** -.5, 2 ** -.5], rtol=1e-6)
    merge = mixed.replace(restate_merge=True)
    vec, also = query_vectors("What did Caroline research?", q, emb, merge)
    assert vec is q and also is not None
    np.testing.assert_allclose(also, [0.0, 1.0])
    emb.seen.clear()
    vec, also = query_vectors("coffee", q, emb, mixed)  # no rewrite: nothing embedded
    assert vec is q and also is None and emb.seen == []


@pytest.mark.parametrize("changes", [{"restate_weight": -1.0}, {"restate_form": "passive"}])
def test_bad_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        get_preset("recall").replace(**changes)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from engram.embed.registry import get_embedder

    return get_embedder("default")


PAIRS = [  # question, the first-person turn that answers it, said by the asked-about speaker
    ("What did Caroline research?", "Caroline", "I've been researching adoption agencies lately."),
    ("What instrument does Omar play?", "Omar", "I practise the cello every evening after work."),
    ("Where did Priya move?", "Priya", "We finally unpacked the last boxes in our Berlin flat!"),
    ("What is Lena's new job?", "Lena", "First week as a nurse at the children's hospital done."),
    ("What did Tom buy last week?", "Tom", "Finally got myself a new road bike!"),
    ("When did Ana start learning Spanish?", "Ana", "I signed up for Spanish lessons in March."),
    ("What does Kofi do on weekends?", "Kofi", "Saturdays I usually go hiking with my brother."),
    ("How did Sam feel about the exam?", "Sam", "I was so nervous before the exam, it went fine."),
    ("What is Mia's favorite food?", "Mia", "Honestly nothing beats my mom's lasagna."),
    ("Where did Raj go on vacation?", "Raj", "Just got back from two weeks in Portugal!"),
]


def test_the_speaker_form_is_mostly_closer_to_its_evidence_than_the_question(
    embedder: Embedder,
) -> None:
    """Not every time (a copula question can lose: "Lena: my new job is"), but
    on most pairs and on average: a dense signal, not a rule that always wins."""
    turns = embedder.embed([f"[8 May 2023] {who}: {text}" for _, who, text in PAIRS], "document")
    rewrites = [restated(q, speaker=True) for q, _, _ in PAIRS]
    assert all(r is not None and r.startswith(f"{who}: ")
               for r, (_, who, _) in zip(rewrites, PAIRS, strict=True))
    q = embedder.embed([p[0] for p in PAIRS], "query")
    r = embedder.embed([str(x) for x in rewrites], "query")
    gain = (r * turns).sum(1) - (q * turns).sum(1)
    assert (gain > 0).sum() >= 7 and gain.mean() > 0.01


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_a_restated_preset_searches_every_backend(
    kind: str, tmp_path: Path, embedder: Embedder
) -> None:
    eg = Engram(store=make_store(kind, tmp_path), embedder=embedder)
    try:
        for who, text in [("Caroline", "I've been researching adoption agencies lately."),
                          ("Melanie", "The kids loved the camping trip by the lake."),
                          ("Caroline", "Painting helps me relax after a long week.")]:
            eg.add(text, user_id="u", speaker=who)
        cfg = get_preset("recall")
        for changes in ({"restate_weight": 1.0, "restate_form": "speaker"},
                        {"restate_merge": True}):
            hits = eg.search("What did Caroline research?", user_id="u", limit=3,
                             preset=cfg.replace(name="r", **changes))
            assert hits and "adoption" in hits[0].text
    finally:
        eg.close()


def test_the_opt_in_preset_is_recall_with_the_speaker_rewrite_mixed_in() -> None:
    # measured on the default of sessions 32-52 ("recall-s52"), which it stays built on
    restate, base = get_preset("recall-restate"), get_preset("recall-s52")
    assert (restate.restate_weight, restate.restate_form, restate.restate_merge) == (
        0.5, "speaker", False)
    assert restate.replace(name="recall-s52", restate_weight=0.0,
                           restate_form="statement") == base
    for name in ("recall", "recall-s52"):
        assert get_preset(name).restate_weight == 0 and not get_preset(name).restate_merge


@pytest.mark.parametrize(("question", "statement"), SPEAKER)
def test_the_named_form_rewrites_only_questions_about_one_named_person(
    question: str, statement: str
) -> None:
    got = restated(question, speaker=True, named_only=True)
    assert got == (statement if ": " in statement else None)
