"""The learned linear reranker: features, configuration, fitting, and on a real engine."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import ConfigError
from engram.index.lexical import term_set
from engram.models import Episode, ItemRef, Scope
from engram.retrieval import rerank
from engram.retrieval.config import RetrievalConfig, get_preset
from engram.retrieval.fusion import Fused
from engram.store.base import Candidate, Neighbour
from engram.text import clear_text_caches
from tools.fit_rerank import Example, fit, rank_scores

T0 = datetime(2023, 5, 8, 13, 0, tzinfo=UTC)
COL = {name: i for i, name in enumerate(rerank.FEATURES)}


def _ep(i: str, text: str, speaker: str, when: datetime, session: str = "s1") -> Episode:
    return Episode(id=i, scope=Scope(user_id="u", session_id=session), role="user", text=text,
                   occurred_at=when, created_at=when, speaker=speaker)


def test_features_describe_each_candidate() -> None:
    eps = [
        _ep("a", "I adopted a beagle called Rex in May.", "Ana", T0),
        _ep("b", "That is lovely! Is he a puppy?", "Ben", T0 + timedelta(seconds=1)),
        _ep("c", "Rex loves the beach.", "Ana", T0 + timedelta(days=90), session="s2"),
    ]
    items = {ItemRef("episode", e.id): e for e in eps}
    refs = list(items)
    head = [Fused(r, 1.0 / (i + 1)) for i, r in enumerate(refs)]
    raw = {"bm25": [Candidate(refs[0], 4.0), Candidate(refs[2], 2.0)],
           "dense": [Candidate(refs[0], 0.6), Candidate(refs[1], 0.3)]}
    windowed = {"bm25": [Candidate(refs[0], 1.0), Candidate(refs[1], 0.8),
                         Candidate(refs[2], 0.5)]}
    info = rerank.query_info("When did Ana adopt Rex in May 2023?", T0 + timedelta(days=200))
    nb = {"a": [Neighbour("b", 1)]}
    m = rerank.features(info, head, items, raw, windowed, {"ana"}, nb)
    assert m.shape == (3, len(rerank.FEATURES))
    a, b, c = m
    assert a[COL["bm25"]] == 1.0 and c[COL["bm25"]] == 0.5 and b[COL["bm25"]] == 0.0
    assert a[COL["bm25_top"]] == 1.0 and c[COL["bm25_top"]] == 0.0
    # the best lexical match's lead over the second: (4 - 2) / 4, on its row only
    assert a[COL["bm25_lead"]] == 0.5 and b[COL["bm25_lead"]] == c[COL["bm25_lead"]] == 0.0
    assert b[COL["window"]] == pytest.approx(0.8)  # borrowed from its neighbour
    assert b[COL["prev_coverage"]] == a[COL["coverage"]] > 0  # it answers "a"
    assert a[COL["prev_coverage"]] == 0.0  # nothing known before "a"
    assert b[COL["question"]] == 1.0 and a[COL["question"]] == 0.0
    assert 0 < b[COL["length"]] < a[COL["length"]] < 1
    assert a[COL["coverage"]] > c[COL["coverage"]] > b[COL["coverage"]] == 0.0
    assert a[COL["speaker"]] == 1.0 and b[COL["speaker"]] == 0.0
    assert a[COL["time_in"]] == 1.0 and c[COL["time_out"]] == 1.0  # May 2023 vs August
    assert a[COL["when_time"]] == 1.0 and b[COL["when_time"]] == 0.0
    assert a[COL["session"]] == 1.0 and c[COL["session"]] == pytest.approx(0.5)
    assert b[COL["dense_gap"]] == pytest.approx(-0.3) and c[COL["dense_gap"]] == -1.0
    assert np.array_equal(m, rerank.features(info, head, items, raw, windowed, {"ana"}, nb))
    assert not m[:, COL["assistant"]].any()  # every turn here is a person's
    # only "b" holds none of the query's terms: its session lift repeats there, its
    # cosine does not (2 index terms: a pleasantry, not a statement)
    assert b[COL["session_nolex"]] == 1.0 and b[COL["dense_nolex"]] == 0.0
    assert not m[[0, 2]][:, [COL["dense_nolex"], COL["session_nolex"]]].any()


def test_a_statement_sharing_no_query_word_keeps_its_cosine() -> None:
    said = _ep("a", "Big news, we adopted a corgi puppy last weekend!", "Ben", T0)
    short = _ep("b", "Not much, work has been busy.", "Ben", T0, session="s2")
    items = {ItemRef("episode", e.id): e for e in (said, short)}
    refs = list(items)
    head = [Fused(r, 1.0) for r in refs]
    raw = {"dense": [Candidate(refs[0], 0.4), Candidate(refs[1], 0.35)]}
    m = rerank.features(rerank.query_info("What pet does Ana have?", T0), head, items, raw,
                        {}, set())
    assert m[0, COL["dense_nolex"]] == pytest.approx(0.4)  # 5 index terms, none asked
    assert m[1, COL["dense_nolex"]] == 0.0  # 2 index terms


def test_coverage_counts_each_query_term_the_item_or_its_speaker_holds() -> None:
    # random texts over a small vocabulary, some speakers named by the query: the
    # coverage columns are the share of the query's terms in the text's term set (and
    # its speaker's), wherever a term stands, however often, whatever the memos hold
    rng = random.Random(5)
    vocab = ["corgi", "beach", "piano", "violin", "paris", "lisbon", "salsa", "tango",
             "ana", "ben", "garden", "tulip"]
    for trial in range(60):
        if trial % 20 == 0:
            clear_text_caches()
        eps = [_ep(f"e{i}", " ".join(rng.choices(vocab, k=rng.randint(0, 9))),
                   rng.choice(["Ana", "Ben", "Cy"]), T0 + timedelta(seconds=i))
               for i in range(6)]
        items = {ItemRef("episode", e.id): e for e in eps}
        refs = list(items)
        query = " ".join(rng.sample(vocab, rng.randint(1, 4)))
        info = rerank.query_info(query, T0)
        nb = {e.id: [Neighbour(eps[i - 1].id, -1)] for i, e in enumerate(eps) if i}
        asked = info.terms
        share = [len(asked & (term_set(e.text) | term_set(e.speaker or ""))) / len(asked)
                 for e in eps]
        m = rerank.features(info, [Fused(r, 1.0) for r in refs], items, {}, {}, set(), nb)
        assert m[:, COL["coverage"]].tolist() == share
        assert m[:, COL["prev_coverage"]].tolist() == [0.0, *share[:-1]]
        # the turns before these are fetched, not in the head
        m = rerank.features(info, [Fused(refs[i], 1.0) for i in (1, 3, 5)], items, {}, {},
                            set(), nb)
        assert m[:, COL["prev_coverage"]].tolist() == [share[0], share[2], share[4]]


def test_assistant_feature_marks_what_an_ai_assistant_said() -> None:
    said = _ep("a", "Here are five ways to keep a sourdough starter alive.", "assistant", T0)
    said.role = "assistant"
    user = _ep("b", "My sourdough starter keeps dying.", "user", T0)
    items = {ItemRef("episode", e.id): e for e in (said, user)}
    head = [Fused(r, 1.0) for r in items]
    m = rerank.features(rerank.query_info("sourdough starter", T0), head, items, {}, {}, set())
    assert m[0, COL["assistant"]] == 1.0 and m[1, COL["assistant"]] == 0.0


@pytest.mark.parametrize("text", [
    "", "The the THE", "I'm adopting two corgis; they're adopted!",
    "Café déjà-vu: 2019 vs 2021, tok0q_x and naïve résumés " * 3,
])
def test_term_set_is_the_set_of_index_terms(text: str) -> None:
    from engram.index.lexical import tokens

    assert term_set(text) == frozenset(tokens(text))


def test_memory_near_marks_a_memory_the_dense_signal_finds_near() -> None:
    """Session 32: ``memory`` marks every memory, ``memory_near`` one among the dense
    signal's ``NEAR`` best hits (the default's hand-set lift: a memory far from the
    question is not put first)."""
    from engram.models import Memory, MemoryKind

    def mem(i: str, text: str) -> Memory:
        return Memory(id=i, scope=Scope(user_id="u"), kind=MemoryKind.FACT, text=text,
                      created_at=T0, updated_at=T0)

    filler = [_ep(f"e{k}", f"Small talk number {k}.", "Ana", T0) for k in range(rerank.NEAR)]
    near, far = mem("n", "Ana lives in Porto"), mem("f", "Ana plans to run a marathon")
    items = {ItemRef("memory", "n"): near,
             **{ItemRef("episode", e.id): e for e in filler}, ItemRef("memory", "f"): far}
    refs = list(items)
    head = [Fused(r, 1.0) for r in refs]
    raw = {"dense": [Candidate(r, 0.9 - 0.05 * i) for i, r in enumerate(refs)]}
    m = rerank.features(rerank.query_info("Where does Ana live?", T0), head, items, raw, {},
                        set())
    assert m[0, COL["memory"]] == m[-1, COL["memory"]] == 1.0
    assert m[0, COL["memory_near"]] == 1.0 and m[-1, COL["memory_near"]] == 0.0
    assert not m[1:-1, [COL["memory"], COL["memory_near"]]].any()  # episodes
    assert get_preset("recall").rerank["memory_near"] > 0
    assert "memory_near" not in get_preset("recall-s31").rerank
    # session 36: among the NEAR best of a store of a few items, but far below the best
    # cosine (more than NEAR_GAP): not near
    small = {ItemRef("episode", "e0"): filler[0], ItemRef("memory", "n"): near,
             ItemRef("memory", "f"): far}
    refs = list(small)
    cos = [0.8, 0.8 - rerank.NEAR_GAP + 0.01, 0.8 - rerank.NEAR_GAP - 0.01]
    raw = {"dense": [Candidate(r, c) for r, c in zip(refs, cos, strict=True)]}
    m = rerank.features(rerank.query_info("Where does Ana live?", T0),
                        [Fused(r, 1.0) for r in refs], small, raw, {}, set())
    assert m[1, COL["memory_near"]] == 1.0 and m[2, COL["memory_near"]] == 0.0


def test_a_memory_far_from_the_question_is_not_lifted_in_a_small_store(
        eg: Engram) -> None:
    """Session 36: in a store of a dozen messages every memory is among the dense
    signal's 10 best; one far from the question ("The user likes a creamy sauce" for a
    question about a printer) is not lifted above the messages that answer."""
    from datetime import timedelta

    said = ["How was your weekend?", "Not much, work has been busy.",
            "I tried a new pasta recipe last night.", "Was it any good? I love a creamy sauce.",
            "We've got an old HP Deskjet at home that jams constantly.",
            "Binned the HP and bought a Canon Pixma.", "It's been raining all week here."]
    for k, text in enumerate(said):
        eg.add([{"role": "user", "content": text}], user_id="pr",
               occurred_at=T0 + timedelta(days=k))
    assert any(m.text == "The user likes a creamy sauce"
               for m in eg.list(user_id="pr", limit=20).items)
    hits = eg.search("What printer does the user have at home?", user_id="pr", limit=5,
                     now=T0 + timedelta(days=30), track_access=False)
    texts = [h.text for h in hits]
    sauce = texts.index("The user likes a creamy sauce") if (
        "The user likes a creamy sauce" in texts) else len(texts)
    assert sauce > max(texts.index(said[4]), texts.index(said[5]))


def test_the_demo_answers_with_the_memory_that_answers(eg: Engram) -> None:
    """The bundled demo conversation (``engram demo``): the memory that answers ranks
    first, and a memory far from the question (a plan to run a marathon, a liking for
    walks) is not lifted above the messages about it."""
    from engram.cli.demo import DEMO_NOW, load_demo_sessions

    for sid, msgs in load_demo_sessions():
        eg.add(msgs, user_id="maya", session_id=sid)
    where = eg.search("Where does Maya live?", user_id="maya", limit=3, now=DEMO_NOW,
                      track_access=False)
    assert where[0].item.text == "Maya lives in Porto"
    cook = eg.search("What should I cook for Maya?", user_id="maya", limit=5, now=DEMO_NOW,
                     track_access=False)
    assert cook[0].item.text == "Maya's favourite food is mushroom ramen"
    assert not any("marathon" in h.item.text or "walks" in h.item.text for h in cook)
    assert any("vegetarian" in h.item.text for h in cook)


def test_unknown_feature_or_depth_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown rerank features"):
        RetrievalConfig("x", rerank={"magic": 1.0})
    with pytest.raises(ConfigError, match="rerank_depth"):
        RetrievalConfig("x", rerank={"bm25": 1.0}, rerank_depth=0)


def test_fit_learns_weights_that_rank_the_positives_first() -> None:
    rng = np.random.default_rng(0)
    examples = []
    for q in range(60):
        m = rng.random((20, len(rerank.FEATURES)))
        pos = int(rng.integers(20))
        m[pos, COL["coverage"]] += 1.0  # the signal to find
        units = [(f"q{q}t{i}",) for i in range(20)]
        examples.append(Example(f"c{q % 3}", m, units, (f"q{q}t{pos}",)))
    w = fit(examples, 0.01)
    assert w[COL["coverage"]] == max(w)
    assert rank_scores(examples, w, k=1)[0] > 0.9 > rank_scores(examples, None, k=1)[0]


@pytest.fixture
def eg(tmp_path: Path, embedder: Embedder) -> Iterator[Engram]:
    engine = Engram(str(tmp_path / "r.db"), embedder=embedder)
    yield engine
    engine.close()


def test_the_default_preset_reranks_and_explains(eg: Engram) -> None:
    assert get_preset("recall").rerank, "the default preset uses the fitted reranker"
    eg.add([{"text": "My sister Ana moved to Lisbon in March.", "speaker": "Ben",
             "occurred_at": T0, "id": "m1"},
            {"text": "Oh nice, how does she like it?", "speaker": "Cy",
             "occurred_at": T0 + timedelta(seconds=1), "id": "m2"}],
           user_id="u", session_id="s1")
    hits = eg.search("Where did Ben's sister move?", user_id="u", track_access=False)
    assert hits[0].item.id == "m1" or hits[0].ref.type == "memory"
    assert all("rerank" in h.scores for h in hits)


def test_what_the_user_said_outranks_the_assistant_echoing_it(eg: Engram) -> None:
    """In a user-assistant chat the assistant's long replies repeat the user's
    words; asked about the user, the user's own statement comes first."""
    facts = [
        ("I'm allergic to peanuts, so I have to be careful when I eat out.",
         "Peanut allergies need care when eating out: ask staff about peanuts, peanut oil "
         "and cross-contact, carry your epinephrine, and check sauces, desserts and "
         "satay, where peanuts often hide. Many restaurants list peanuts on the menu.",
         "What am I allergic to?"),
        ("I play the cello in a community orchestra on Thursdays.",
         "Playing the cello in an orchestra is rewarding! For orchestra cello parts, "
         "practise slow scales, mark bowings with your section and record rehearsals "
         "to hear how your cello blends with the orchestra's other cellos.",
         "Which instrument do I play in the orchestra?"),
    ]
    ids = []
    for n, (user, reply, _) in enumerate(facts):
        when = T0 + timedelta(days=n)
        res = eg.add([{"text": user, "role": "user", "speaker": "user", "occurred_at": when},
                      {"text": reply, "role": "assistant", "speaker": "assistant",
                       "occurred_at": when + timedelta(seconds=5)}],
                     user_id="u", session_id=f"s{n}", derive=False)
        ids.append(res.episodes[0].id)
    for want, (_, _, question) in zip(ids, facts, strict=True):
        hits = eg.search(question, user_id="u", kinds=["episode"], limit=3, track_access=False)
        assert hits[0].item.id == want, [h.item.text[:40] for h in hits]


def test_an_exact_rare_token_outranks_its_neighbours(eg: Engram) -> None:
    """Near-identical messages, one unique token each: the message holding the
    token comes first, not a neighbour that borrows its score (soak finding)."""
    rng = random.Random(1)
    words = "tea coffee hiking Lisbon Berlin piano guitar sister dentist budget".split()
    ids = []
    for n in range(60):
        res = eg.add(f"I mentioned tok{n}q while talking about {' '.join(rng.sample(words, 3))}",
                     user_id="u", occurred_at=T0 + timedelta(minutes=n))
        ids.append(res.episodes[0].id)
    for n in (0, 1, 30, 59):
        hits = eg.search(f"tok{n}q", user_id="u", kinds=["episode"], limit=3,
                         track_access=False)
        assert hits[0].item.id == ids[n]


def test_a_day_the_query_names_reaches_a_day_either_side() -> None:
    now = datetime(2024, 3, 1, tzinfo=UTC)
    for query in ("What class did Kevin have on 21.01.2024?",
                  "What class did Kevin have on January 21, 2024?"):
        info = rerank.query_info(query, now)
        assert (info.start, info.end) == (datetime(2024, 1, 20, tzinfo=UTC),
                                          datetime(2024, 1, 23, tzinfo=UTC))
    month = rerank.query_info("What did Kevin do in January 2024?", now)
    assert (month.start, month.end) == (datetime(2024, 1, 1, tzinfo=UTC),
                                        datetime(2024, 2, 1, tzinfo=UTC))
    # at the calendar's ends the day stays as it is
    assert rerank._widened(datetime.min.replace(tzinfo=UTC), -timedelta(days=1)) == (
        datetime.min.replace(tzinfo=UTC))
