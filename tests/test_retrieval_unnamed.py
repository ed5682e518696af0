"""A question read without its names (:mod:`engram.retrieval.unnamed`).

The embedder reads "What sports does Paola watch?" mostly as "Paola": every turn of
hers is embedded as ``[date] Paola: text``, so her short replies sit as near the
question as the turn about the match she watched. The dense query also reads the
question with its names taken out and searches with both.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import ConfigError
from engram.retrieval.config import get_preset
from engram.retrieval.unnamed import embedded, mixed, query_vector, unnamed


@pytest.mark.parametrize(("question", "expected"), [
    ("What sports does Paola watch?", "What sports does watch?"),
    ("What is Robyn Tylor's profession?", "What is profession?"),
    ("What is Robyn Tylor\u2019s profession?", "What is profession?"),
    ("What does James' dog eat?", "What does dog eat?"),
    ("Did Jon and Gina both start businesses?", "Did both start businesses?"),
    ("What did Jon, Gina & Tim buy for the party?", "What did buy for the party?"),
    ("At what event did Tiffara Staford, Kevan Henders, and Bianca Lea all meet?",
     "At what event did all meet?"),
    ("which band does my friend Zoë like", "which band does my friend like"),
    ("Remind me what José said about the flat", "Remind me what said about the flat"),
    ("Who did Maria have dinner with on May 3, 2023?",
     "Who did have dinner with on May 3, 2023?"),
    ("What did Mel think of 'Becoming Nicole'?", "What did think of 'Becoming Nicole'?"),
])
def test_the_names_are_taken_out(question: str, expected: str) -> None:
    assert unnamed(question) == expected


@pytest.mark.parametrize("question", [
    "What medication do I take when I get migraines?",  # no name
    "what car do i drive these days",
    "Who is Caroline?",  # nothing left to ask
    "Where is Robyn Tylor?",
    "",
])
def test_a_question_without_names_or_with_nothing_else_is_left_alone(question: str) -> None:
    assert unnamed(question) is None


def test_mixed_is_the_unit_mean_and_leaves_the_query_alone_when_off() -> None:
    q = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    u = np.array([0.0, 2.0, 0.0], dtype=np.float32)
    m = mixed(q, u, 1.0)
    assert m.dtype == np.float32
    assert np.allclose(m, [2 ** -0.5, 2 ** -0.5, 0.0])
    assert mixed(q, u, 0.0) is q
    assert mixed(q, None, 1.0) is q
    assert mixed(q, np.zeros(3, dtype=np.float32), 1.0) is q
    assert mixed(q, np.ones(4, dtype=np.float32), 1.0) is q


def test_both_readings_are_embedded_in_one_batch_as_each_alone(embedder: Embedder) -> None:
    question = "What sports does Paola watch?"
    vec, u = embedded(question, embedder, 1.0)
    assert u is not None
    assert np.allclose(vec, embedder.embed_one(question, "query"), atol=1e-4)
    assert np.allclose(u, embedder.embed_one("What sports does watch?", "query"), atol=1e-4)
    given = embedder.embed_one(question, "query")
    assert embedded(question, embedder, 1.0, given)[0] is given
    assert embedded(question, embedder, 0.0)[1] is None  # off: nothing more embedded
    assert embedded("what car do i drive", embedder, 1.0)[1] is None
    assert query_vector("what car do i drive", given, embedder, 1.0) is given


def test_the_weight_is_checked() -> None:
    with pytest.raises(ConfigError):
        get_preset("recall").replace(unnamed_weight=-1.0)


NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)

#: (the person asked about, the other person, the turn that answers, the questions),
#: written from general knowledge: no question shares a content word with its answer
CASES = [
    ("Paola", "Marek", "Stayed up till 2am for the Champions League final, what a game",
     ["What sports does Paola watch?", "Which sport is Paola a fan of?"]),
    ("Tomasz", "Ines", "Finally got my hands on a second-hand Fender, the neck is perfect",
     ["What instrument does Tomasz play?", "what did Tomasz buy to make music with"]),
    ("Aiko", "Ruth", "The vet says Biscuit needs to lose a kilo, no more treats for him",
     ["Does Aiko have a pet?", "What animal does Aiko look after?"]),
    ("Dmitri", "Sofia", "Flew into Lisbon on Friday, the custard tarts alone were worth it",
     ["Where did Dmitri travel recently?", "Which country did Dmitri visit?"]),
    ("Grace", "Omar", "Signed the contract, I start at the children's hospital as a nurse in May",
     ["What is Grace's new job?", "Where will Grace be working?"]),
    ("Lukas", "Chen", "I've cut out meat and fish completely, lentils every day now",
     ["What diet is Lukas following?", "Does Lukas still eat burgers?"]),
]
#: short turns of the person asked about: near the question only by the name
SMALL_TALK = ["Haha true", "Morning!", "Not much, you?", "Yeah same", "Talk later",
              "Sounds good", "Oh nice", "Deal"]
OTHER = ["How was your weekend?", "I'm so tired today", "Did you see the news?",
         "Let's catch up soon", "My sister says hi"]


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    engine = Engram(str(tmp_path_factory.mktemp("unnamed") / "u.db"), embedder=embedder)
    try:
        for who, other, said, _ in CASES:
            turns = []
            for day in range(4):  # four sessions, the answer in the second
                t0 = NOW - timedelta(days=60 - 10 * day)
                lines = [(other, OTHER[(day + i) % len(OTHER)]) if i % 2 == 0
                         else (who, SMALL_TALK[(2 * day + i) % len(SMALL_TALK)])
                         for i in range(6)]
                if day == 1:
                    lines.insert(3, (who, said))
                turns += [{"text": t, "speaker": s, "role": "user",
                           "occurred_at": t0 + timedelta(minutes=i),
                           "metadata": {"answer": t == said}} for i, (s, t) in enumerate(lines)]
            engine.add(turns, user_id=who.lower(), session_id="chat")
        yield engine
    finally:
        engine.close()


def _rank(eg: Engram, who: str, question: str, said: str, preset: object) -> int:
    hits = eg.search(question, user_id=who.lower(), limit=40, now=NOW, preset=preset,
                     track_access=False)
    return next((i for i, h in enumerate(hits) if h.text == said), 40) + 1


def test_the_dense_signal_finds_what_is_asked_not_who(eg: Engram) -> None:
    """The dense signal alone, with and without the unnamed reading: the answer ranks
    higher or the same for most questions, and higher on the whole."""
    plain = get_preset("dense")
    both = plain.replace(name="dense-unnamed", unnamed_weight=1.0)
    before, after = [], []
    for who, _, said, questions in CASES:
        for q in questions:
            before.append(_rank(eg, who, q, said, plain))
            after.append(_rank(eg, who, q, said, both))
    pairs = list(zip(before, after, strict=True))
    assert sum(a <= b for b, a in pairs) >= 0.75 * len(pairs), pairs
    assert sum(1 / a for a in after) > sum(1 / b for b in before), pairs
