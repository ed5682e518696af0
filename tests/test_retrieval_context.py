"""context() packing: an over-long item is cut to the sentences about the query,
keeps its id, and the block never exceeds its budget (real tokenizer)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.models import ContextBlock, Episode, Hit, ItemRef, Memory, MemoryKind, Scope
from engram.retrieval import context as context_mod
from engram.retrieval.context import DEEP_RANK, build_context
from engram.retrieval.excerpt import ELLIPSIS, excerpt

FILLER = [
    "Thanks for asking, that is a great question to think about.",
    "There are many things to consider before you make up your mind.",
    "Weather can change quickly in the spring, so plan with some slack.",
    "Some people prefer to write everything down in a notebook.",
    "Others keep a simple list on their phone and review it weekly.",
    "It also helps to talk it over with a friend you trust.",
    "Remember to drink water and take short breaks during the day.",
    "Small steps add up over time, even when progress feels slow.",
]

# (question, the one sentence of a long reply that answers it) in several phrasings
CASES = [
    ("What breed is the dog we adopted?",
     "The dog you adopted last month is a corgi named Biscuit."),
    ("which car did I end up buying",
     "You ended up buying a blue Subaru Outback after the test drive."),
    ("When is my sister's wedding?", "Your sister's wedding is on the twelfth of June in Lisbon."),
    ("what instrument am I learning", "You are learning the cello with a teacher on Thursdays."),
    ("Where did we move to in 2021?", "In 2021 you moved to Utrecht for the new job."),
]


def _long(answer: str, repeat: int = 4) -> str:
    body = FILLER * repeat
    mid = len(body) // 2
    return " ".join([*body[:mid], answer, *body[mid:]])


def _hit(i: int, text: str, role: str = "assistant") -> Hit:
    t = datetime(2024, 3, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=i)
    ep = Episode(id=f"ep_{i:04d}", scope=Scope(user_id="u"), role=role, text=text,
                 occurred_at=t, created_at=t)
    return Hit(ref=ItemRef("episode", ep.id), item=ep, score=1.0 / (i + 1))


def _lines(ctx: ContextBlock) -> dict[str, str]:
    """Each item's line in the block, by the item's id (its ``[label]`` starts the line)."""
    by_label = {ln.split("] ", 1)[0] + "]": ln for ln in ctx.text.splitlines()
                if ln.startswith("[")}
    return {i.ref.id: by_label[f"[{i.label}]"] for i in ctx.items}


@pytest.mark.parametrize(("question", "answer"), CASES)
def test_excerpt_keeps_the_sentence_about_the_query(
    embedder: Embedder, question: str, answer: str
) -> None:
    text = _long(answer)
    short = excerpt(text, question, 60, embedder.count_tokens)
    assert answer in short
    assert short.startswith(ELLIPSIS) and short.endswith(ELLIPSIS)
    assert embedder.count_tokens(short) <= 60
    assert excerpt(answer, question, 60, embedder.count_tokens) == answer  # fits: unchanged


def test_excerpt_without_a_matching_sentence_keeps_the_start(embedder: Embedder) -> None:
    text = " ".join(FILLER * 3)
    short = excerpt(text, "quantum chromodynamics lecture", 40, embedder.count_tokens)
    assert short.startswith(FILLER[0]) and short.endswith(ELLIPSIS)
    assert short.count(ELLIPSIS) == 1  # one run from the start, no gap
    assert embedder.count_tokens(short) <= 40


def test_excerpt_cuts_one_endless_sentence_around_the_query_term(embedder: Embedder) -> None:
    words = ["and then we walked a bit further along the river"] * 30
    text = " ".join([*words[:20], "until we found the lighthouse at dusk", *words[20:]])
    short = excerpt(text, "Where was the lighthouse?", 30, embedder.count_tokens)
    assert "lighthouse" in short and short.startswith(ELLIPSIS)
    assert embedder.count_tokens(short) <= 30


@pytest.mark.parametrize(("question", "answer"), CASES)
def test_a_long_top_hit_is_trimmed_and_the_ranks_below_still_fit(
    embedder: Embedder, question: str, answer: str
) -> None:
    long_hit = _hit(0, _long(answer, repeat=12))  # far over the budget on its own
    rest = [_hit(i, f"Note {i}: I went hiking near lake number {i} with Ana.", "user")
            for i in range(1, 9)]
    hits = [long_hit, *rest]
    plain = build_context(hits, 512, embedder.count_tokens)
    ctx = build_context(hits, 512, embedder.count_tokens, question)
    assert long_hit.ref not in [i.ref for i in plain.items]  # the old rule: skipped whole
    assert [i.ref for i in ctx.items] == [h.ref for h in hits]
    line = _lines(ctx)["ep_0000"]
    assert answer in line and ELLIPSIS in line
    assert ctx.items[0].text == long_hit.item.text  # the item keeps its full text
    assert ctx.tokens == embedder.count_tokens(ctx.text) <= 512


def test_the_budget_is_never_exceeded(embedder: Embedder) -> None:
    answer = CASES[0][1]
    hits = [_hit(i, _long(answer, repeat=1 + i % 5) if i % 3 == 0 else f"Short note {i}.")
            for i in range(40)]
    for budget in (32, 48, 64, 100, 200, 333, 512, 1024, 2048):
        ctx = build_context(hits, budget, embedder.count_tokens, CASES[0][0])
        assert ctx.tokens == embedder.count_tokens(ctx.text) <= budget
        labels = [int(m[1]) for m in re.finditer(r"^\[(\d+)\] ", ctx.text, re.M)]
        assert sorted(labels) == [i.label for i in ctx.items] == list(range(1, len(labels) + 1))
        assert all(re.match(r"#|\[|\d{4}-\d\d-\d\d$", ln) for ln in ctx.text.splitlines())


def test_engine_context_trims_a_long_turn_and_cites_it(tmp_path: Path, embedder: Embedder) -> None:
    question, answer = CASES[1]
    with Engram(tmp_path / "e.db", embedder=embedder) as eg:
        res = eg.add([_long(answer, repeat=10)], user_id="u", derive=False)
        ctx = eg.context(question, user_id="u", max_tokens=256)
        ep_id = res.episodes[0].id
        line = _lines(ctx)[ep_id]
        assert answer in line and ELLIPSIS in line and ep_id not in ctx.text
        assert ctx.tokens <= 256


def test_a_short_text_under_a_long_header_is_never_cut(tmp_path: Path, embedder: Embedder) -> None:
    # a small budget makes the quarter-share cap smaller than a memory line's ids and sources
    with Engram(tmp_path / "short.db", embedder=embedder) as eg:
        eg.add("I love green tea", user_id="ana", speaker="Ana")
        block = eg.context("drinks", user_id="ana", max_tokens=256).text
        assert "Ana likes green tea" in block and ELLIPSIS not in block


def _memory_hit(i: int, text: str, sources: list[str]) -> Hit:
    t = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    mem = Memory(id=f"mem_{i:04d}", scope=Scope(user_id="u"), kind=MemoryKind.FACT, text=text,
                 created_at=t, updated_at=t, valid_from=t, source_episode_ids=sources)
    return Hit(ref=ItemRef("memory", mem.id), item=mem, score=1.0)


def test_turns_are_listed_under_one_header_per_day(embedder: Embedder) -> None:
    hits = [_hit(i * 600, f"Note {i}: we walked by the river with Ana.", "user") for i in range(6)]
    ctx = build_context(hits, 1024, embedder.count_tokens, "river walks")
    lines = ctx.text.splitlines()
    assert lines[0] == "## Conversation excerpts"
    headers = [ln for ln in lines if ln[:1].isdigit()]
    # 600-minute steps from 2024-03-01 09:00 span three days, each dated once, in order
    assert headers == ["2024-03-01", "2024-03-02", "2024-03-03"]
    # a text starting like a speaker ("Note 1:") keeps its own, even after the same speaker
    assert lines[1:4] == ["2024-03-01", "[1] 09:00 user: Note 0: we walked by the "
                          "river with Ana.", "[2] 19:00 user: Note 1: we walked by the "
                          "river with Ana."]
    assert [i.ref for i in ctx.items] == [h.ref for h in hits]  # items stay in rank order
    assert ctx.items[1].date == hits[1].item.occurred_at  # type: ignore[union-attr]


@pytest.mark.parametrize(("question", "answer"), CASES)
def test_top_hits_stay_whole_and_lower_ranks_show_their_sentences(
    embedder: Embedder, question: str, answer: str
) -> None:
    # ten long replies (about 150 tokens each) all holding the answer: whole, about six fit
    hits = [_hit(i, _long(answer, repeat=1)) for i in range(10)]
    ctx = build_context(hits, 1024, embedder.count_tokens, question)
    assert [i.ref for i in ctx.items] == [h.ref for h in hits]  # all ten are in
    lines = _lines(ctx)
    assert ELLIPSIS not in lines["ep_0000"] and hits[0].item.text in lines["ep_0000"]
    for i in range(4, 10):  # lower ranks: their sentence about the question, cited by id
        assert answer in lines[f"ep_{i:04d}"] and ELLIPSIS in lines[f"ep_{i:04d}"]
    assert ctx.tokens == embedder.count_tokens(ctx.text) <= 1024
    assert all(i.text == h.item.text for i, h in zip(ctx.items, hits, strict=True))


def test_a_memory_repeating_turns_in_full_gives_its_room_only_when_needed(
    embedder: Embedder
) -> None:
    turn = _hit(0, "I adopted a corgi called Biscuit last spring.", "user")
    memory = _memory_hit(1, "The user adopted a corgi called Biscuit", [turn.item.id])
    others = [_hit(i, f"Note {i}: I went hiking near lake number {i} with Ana.", "user")
              for i in range(1, 40)]
    roomy = build_context([memory, turn, *others[:3]], 1024, embedder.count_tokens, "which dog")
    assert memory.ref in [i.ref for i in roomy.items]  # everything fits: kept
    tight = build_context([memory, turn, *others], 400, embedder.count_tokens, "which dog")
    refs = [i.ref for i in tight.items]
    assert memory.ref not in refs and turn.ref in refs  # the turn says it verbatim
    assert "## Memories" not in tight.text and "corgi called Biscuit last spring" in tight.text
    old = Memory(**{**memory.item.__dict__, "id": "mem_0002",  # type: ignore[arg-type]
                    "valid_to": datetime(2024, 6, 1, tzinfo=UTC)})
    ended = Hit(ref=ItemRef("memory", old.id), item=old, score=1.0)
    kept = build_context([ended, turn, *others], 400, embedder.count_tokens, "which dog")
    assert ended.ref in [i.ref for i in kept.items]  # says when it stopped holding: kept


def test_a_turn_of_ordinary_length_is_never_cut_whatever_its_rank(embedder: Embedder) -> None:
    turn = ("I finally signed up for the pottery class downtown, the one on Tuesday evenings. "
            "My sister is coming along because she wants to make mugs for her new flat, "
            "and we will get dinner after.")  # ~45 tokens: a line over the lower ranks' cap
    hits = [_hit(i, turn.replace("Tuesday", f"day {i}"), "user") for i in range(16)]
    ctx = build_context(hits, 1024, embedder.count_tokens, "when is the pottery class?")
    assert len(ctx.items) == 16 and ELLIPSIS not in ctx.text


def test_when_hits_are_left_out_the_deep_ranks_ordinary_turns_are_cut(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    turn = ("I finally signed up for the pottery class downtown, the one on Tuesday evenings. "
            "My sister is coming along because she wants to make mugs for her new flat, "
            "and we will get dinner after.")  # ~45 tokens: never cut while all hits fit
    hits = [_hit(i, turn.replace("Tuesday", f"day {i}"), "user") for i in range(60)]
    query = "when is the pottery class?"
    ctx = build_context(hits, 1024, embedder.count_tokens, query)
    lines = {i.ref.id: ln for i in ctx.items for ln in ctx.text.splitlines()
             if ln.startswith(f"[{i.label}] ")}
    assert all(ELLIPSIS not in lines[f"ep_{i:04d}"] for i in range(DEEP_RANK))  # whole
    deep = [i for i in ctx.items if int(i.ref.id[3:]) >= DEEP_RANK]
    assert deep and all(ELLIPSIS in lines[i.ref.id] and "pottery class" in lines[i.ref.id]
                        for i in deep)  # the sentence about the query, cited
    assert ctx.tokens == embedder.count_tokens(ctx.text) <= 1024
    monkeypatch.setattr(context_mod, "DEEP_RANK", len(hits))  # whole turns at every rank
    whole = build_context(hits, 1024, embedder.count_tokens, query)
    assert len(ctx.items) > len(whole.items)  # more of the ranking than with whole turns



def test_lines_carry_short_references_and_write_nothing_twice(embedder: Embedder) -> None:
    same = [_hit(i, f"Note {i}: we walked by the river with Ana.", "user") for i in range(3)]
    for h in same[1:]:  # three turns in the same minute, then one five minutes later
        h.item.occurred_at = same[0].item.occurred_at  # type: ignore[union-attr]
    later = _hit(5, "Note 5: the river was high after the rain.", "user")
    t = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    ended = Hit(ref=ItemRef("memory", "mem_0009"), item=Memory(
        id="mem_0009", scope=Scope(user_id="u"), kind=MemoryKind.FACT, text="Ana lives in Porto",
        created_at=t, updated_at=t, valid_from=t, valid_to=datetime(2024, 6, 1, tzinfo=UTC)),
        score=1.0)
    ctx = build_context([later, ended, *same], 1024, embedder.count_tokens, "river walks")
    assert ctx.text.splitlines() == [
        "## Memories",
        "[2] 2024-03-01 until 2024-06-01 Ana lives in Porto",
        "## Conversation excerpts",
        "2024-03-01",
        "[3] 09:00 user: Note 0: we walked by the river with Ana.",
        "[4] user: Note 1: we walked by the river with Ana.",  # the time of the line above
        "[5] user: Note 2: we walked by the river with Ana.",  # ("Note 2:" looks like a name)
        "[1] 09:05 user: Note 5: the river was high after the rain.",
    ]
    assert [(i.label, i.ref.id) for i in ctx.items] == [
        (1, "ep_0005"), (2, "mem_0009"), (3, "ep_0000"), (4, "ep_0001"), (5, "ep_0002")]
    assert ctx.tokens == embedder.count_tokens(ctx.text)
    assert sum(i.tokens for i in ctx.items) >= ctx.tokens - embedder.count_tokens(
        "## Memories ## Conversation excerpts 2024-03-01")


DOG_TALK = [  # every sentence shares a word with the question: all are candidates
    "A dog needs a walk every morning, whatever the weather.",
    "Your neighbour's dog barked at the mail carrier again.",
    "Dog food prices went up at the corner shop this spring.",
    "The dog park by the river opens at seven on weekdays.",
    "A tired dog is a calm dog, as the trainer likes to say.",
]


def test_a_long_turn_low_in_the_ranking_shrinks_to_its_best_sentence(embedder: Embedder) -> None:
    question, answer = CASES[0]
    reply = " ".join([*DOG_TALK[:3], answer, *DOG_TALK[3:]])  # ~80 tokens
    hits = [_hit(i, reply, "user") for i in range(22)]
    ctx = build_context(hits, 1024, embedder.count_tokens, question)
    assert len(ctx.items) == 22  # with excerpts of 48 tokens: 16
    lines = _lines(ctx)
    for i in range(12, 22):  # about one sentence each, the one answering
        body = re.sub(r"^\[\d+\] (\d\d:\d\d )?(user: )?", "", lines[f"ep_{i:04d}"])
        assert answer in body and embedder.count_tokens(body) <= 32
