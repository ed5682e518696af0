"""Category and paraphrase cases (``tests/fixtures/category_paraphrase.jsonl``), stored.

Each case is its own user with three sessions of small talk: the first holds a
decoy (a turn that shares the question's words and does not answer it), the
second the evidence (which names an instance of the category the question
asks about, or paraphrases it), the third only small talk. The small talk is
drawn from :data:`CHATTER` in turn, so every case has different neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from engram import Engram
from engram.models import Hit
from support.labelled import NOW, load_cases

__all__ = ["CASES", "CHATTER", "add_cases", "evidence_rank"]

CASES = load_cases("category_paraphrase.jsonl")
CHATTER = [
    "How was your weekend?", "Pretty relaxed, I read a book.", "Anything else new?",
    "Not much, work has been busy.", "Did you see the match last night?",
    "Only the second half, what a finish.", "The weather has been awful this week.",
    "I know, my umbrella broke on Tuesday.", "Any plans for the long weekend?",
    "Probably a barbecue if it stays dry.", "Have you finished that series yet?",
    "Two episodes left, no spoilers please.", "The trains were late again this morning.",
    "Typical, I ended up walking the last bit.", "My neighbour is having the roof redone.",
    "The noise must be unbearable.", "We should catch up properly soon.",
    "Definitely, maybe next Thursday?", "Did you hear about the new bakery?",
    "Yes, the queue was out the door on Saturday.", "I need to sort out my emails.",
    "Same here, my inbox is a disaster.", "The power went out for an hour yesterday.",
    "Ours too, I lost everything in the freezer.", "How is your mum doing?",
    "Much better, thanks for asking.", "I finally cleaned out the garage.",
    "That must have taken all day.", "Are you going to the quiz on Friday?",
    "If I can get a babysitter, yes.", "I can't believe it's nearly June.",
    "This year is flying by.",
]


def _chatter(start: int, n: int) -> list[str]:
    return [CHATTER[(start + i) % len(CHATTER)] for i in range(n)]


def add_cases(eg: Engram, cases: Sequence[dict[str, Any]] = CASES) -> None:
    """Store every case as its user's chat; the evidence turn's id is ``<id>:e``."""
    for k, case in enumerate(cases):
        sessions = [
            (_chatter(k * 5, 4) + [case["decoy"]] + _chatter(k * 5 + 4, 2), 90, None),
            (_chatter(k * 5 + 11, 4) + [case["evidence"]] + _chatter(k * 5 + 15, 3), 40, 4),
            (_chatter(k * 5 + 20, 6), 5, None),
        ]
        for n, (turns, days_ago, evidence_at) in enumerate(sessions):
            t0 = NOW - timedelta(days=days_ago)
            eg.add(
                [{"text": t, "role": "user", "occurred_at": t0 + timedelta(seconds=i),
                  "id": f"{case['id']}:e" if i == evidence_at else f"{case['id']}:{n}:{i}"}
                 for i, t in enumerate(turns)],
                user_id=case["id"], session_id=f"s{n}",
            )


def evidence_rank(eg: Engram, case: dict[str, Any], preset: Any, limit: int = 20) -> int:
    """0-based rank of the case's evidence among the hits (``limit`` when absent)."""
    hits: list[Hit] = eg.search(case["question"], user_id=case["id"], preset=preset, now=NOW,
                                limit=limit, track_access=False)
    for rank, h in enumerate(hits):
        if h.item.id == f"{case['id']}:e" or f"{case['id']}:e" in getattr(
                h.item, "source_episode_ids", []):
            return rank
    return limit
