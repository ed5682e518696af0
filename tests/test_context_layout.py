"""context()'s block writes a turn's time of day and speaker only where they change:
a reader recovers every turn's day, time, speaker and text from the block alone
(each line without them has those of the line above), so short hits by one
speaker cost their text and reference only and more of them fit (real tokenizer)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

from engram.embed.base import Embedder
from engram.models import ContextBlock, Episode, Hit, ItemRef, Memory, MemoryKind, Scope
from engram.retrieval.context import build_context
from engram.retrieval.excerpt import ELLIPSIS

# turns of everyday chat, none holding a colon (a reader splits ``name:`` off a line)
TURNS = [
    "We finally booked the flights for the trip to Norway.",
    "The kids start swimming lessons next Tuesday after school.",
    "I tried the new bakery on the corner and the rye bread was great.",
    "My knee still hurts a little after the long hike on Sunday.",
    "Did you see the match last night? What a finish.",
    "I am thinking of painting the kitchen a pale green.",
    "Work has been busy since the merger was announced.",
    "Grandma turns ninety in May and we are planning a party.",
    "The plumber said he can come by on Friday morning.",
    "I started reading a novel about a lighthouse keeper.",
]
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LINE = re.compile(r"^\[(\d+)\](?: (\d{2}:\d{2}))?(?: ([A-Za-z]+):)? (.*)$")


def _turn(i: int, at: datetime, speaker: str | None, role: str, text: str) -> Hit:
    ep = Episode(id=f"ep_{i:04d}", scope=Scope(user_id="u"), role=role, text=text,
                 occurred_at=at, created_at=at, speaker=speaker)
    return Hit(ref=ItemRef("episode", ep.id), item=ep, score=1.0 / (i + 1))


def _read(block: ContextBlock) -> dict[int, tuple[str, str, str, str]]:
    """What a reader takes from the block: label -> (day, time, speaker, text) of
    each conversation line, a missing time or speaker read from the line above."""
    out: dict[int, tuple[str, str, str, str]] = {}
    day = minute = who = ""
    turns = False
    for line in block.text.splitlines():
        if line == "## Conversation excerpts":
            turns = True
        elif turns and _DAY.match(line):
            day, minute, who = line, "", ""
        elif turns:
            m = _LINE.match(line)
            assert m, line
            label, at, name, text = m.groups()
            minute, who = at or minute, name or who
            assert minute and who, f"a day's first turn shows its time and speaker: {line}"
            out[int(label)] = (day, minute, who, text)
    return out


def test_a_reader_recovers_every_turns_time_and_speaker(embedder: Embedder) -> None:
    rnd = random.Random(7)
    start = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    for _ in range(25):
        hits: list[Hit] = []
        for i in range(rnd.randint(1, 30)):
            # few days, few minutes, two named speakers and the assistant: many repeats
            at = start + timedelta(days=rnd.randint(0, 2), minutes=rnd.choice([0, 0, 3, 90]))
            speaker, role = rnd.choice([("Ana", "user"), ("Ben", "user"), (None, "assistant")])
            hits.append(_turn(i, at, speaker, role, rnd.choice(TURNS)))
        if rnd.random() < 0.5:  # a memory among the turns
            t = start
            mem = Memory(id="mem_0001", scope=Scope(user_id="u"), kind=MemoryKind.FACT,
                         text="Ana lives in Bergen", created_at=t, updated_at=t, valid_from=t)
            hits.insert(rnd.randint(0, len(hits)), Hit(ItemRef("memory", mem.id), mem, 0.5))
        budget = rnd.choice([128, 256, 1024])
        block = build_context(hits, budget, embedder.count_tokens, "trip plans")
        assert block.tokens == embedder.count_tokens(block.text) <= budget
        read = _read(block)
        for item in block.items:
            if item.ref.type == "memory":
                continue
            ep = next(h.item for h in hits if h.ref == item.ref)
            assert isinstance(ep, Episode)
            at = ep.occurred_at
            assert read[item.label] == (at.strftime("%Y-%m-%d"), at.strftime("%H:%M"),
                                        ep.speaker or ep.role, ep.text)


def test_short_turns_by_one_speaker_name_the_speaker_once(embedder: Embedder) -> None:
    at = datetime(2024, 5, 1, 20, 15, tzinfo=UTC)
    one = [_turn(i, at, "Marguerite", "user", TURNS[i % len(TURNS)]) for i in range(60)]
    block = build_context(one, 640, embedder.count_tokens, "what did Marguerite say")
    lines = [ln for ln in block.text.splitlines() if ln.startswith("[")]
    assert lines[0].startswith("[1] 20:15 Marguerite: ")
    assert not any("Marguerite" in ln for ln in lines[1:])
    # the same turns told by two speakers in turn: every line names its speaker
    two = [_turn(i, at, ("Marguerite", "Bartholomew")[i % 2], "user", TURNS[i % len(TURNS)])
           for i in range(60)]
    both = build_context(two, 640, embedder.count_tokens, "what did Marguerite say")
    assert all(re.match(r"\[\d+\] (20:15 )?(Marguerite|Bartholomew): ", ln)
               for ln in both.text.splitlines() if ln.startswith("["))
    assert len(block.items) >= len(both.items) + 5  # the names' room holds more turns
    assert max(block.tokens, both.tokens) <= 640


def test_a_long_reply_keeps_its_one_sentence_about_the_question(embedder: Embedder) -> None:
    """A long assistant reply ranked third shows the sentence that answers, marked
    as cut; the short turns ranked around it still fit whole."""
    at = datetime(2024, 6, 2, 18, 0, tzinfo=UTC)
    advice = [
        "Packing for a long trip is easier with a list made a week ahead.",
        "Roll your clothes instead of folding them to save room in the bag.",
        "Keep chargers and cables in one small pouch so nothing gets lost.",
        "A light rain jacket is worth carrying even in the summer months.",
        "Check the baggage rules of the airline before you weigh the suitcase.",
        "Most museums close on Mondays, so plan the city days around that.",
    ]
    answer = "Your passport expires in August, so renew it before the Japan trip."
    reply = " ".join([*advice * 3, answer, *advice * 3])  # ~400 tokens
    hits = [_turn(i, at + timedelta(minutes=i), "Ana", "user", TURNS[i]) for i in range(10)]
    hits.insert(2, _turn(99, at + timedelta(minutes=30), None, "assistant", reply))
    block = build_context(hits, 512, embedder.count_tokens, "When does my passport expire?")
    assert [i.ref for i in block.items] == [h.ref for h in hits]  # every hit is in
    line = next(ln for ln in block.text.splitlines() if ln.startswith("[3] "))
    assert answer in line and ELLIPSIS in line
    assert embedder.count_tokens(line) < embedder.count_tokens(reply) // 3
    for h in hits[:2] + hits[3:]:
        assert h.item.text in block.text  # the short turns stay whole
    assert block.tokens <= 512


def test_a_text_that_starts_like_a_speaker_or_a_time_keeps_its_speaker(
    embedder: Embedder,
) -> None:
    at = datetime(2024, 5, 1, 20, 15, tzinfo=UTC)
    texts = ["We land at noon on Friday.", "PS: bring the blue umbrella.",
             "10:30 works better for the dentist.", "Step 2: call the landlord about the leak.",
             "The landlord said he would come on Monday."]
    hits = [_turn(i, at, "Ana", "user", t) for i, t in enumerate(texts)]
    lines = build_context(hits, 1024, embedder.count_tokens, "plans").text.splitlines()
    assert lines[2:] == [
        "[1] 20:15 Ana: We land at noon on Friday.",
        "[2] Ana: PS: bring the blue umbrella.",  # not said by "PS"
        "[3] Ana: 10:30 works better for the dentist.",  # not said at 10:30
        "[4] Ana: Step 2: call the landlord about the leak.",
        "[5] The landlord said he would come on Monday.",
    ]
