"""``supersede.frame`` skips aligning two statements that cannot share a frame (#21:
newer-first compares every pair of a search's best hits): the result is exactly
what the full alignment gives, for any pair."""

from __future__ import annotations

import random

import pytest

from engram.ingest import supersede
from engram.ingest.supersede import Frame, frame, words

_VOCAB = ("i she we live lives in lisbon porto berlin work works at acme globex as a an the "
          "nurse teacher my sister dog is not no longer never drive drives tesla vw "
          "like likes dislike tea coffee new job moved to isn't").split()


def _aligned(old: str, new: str) -> Frame | None:
    """The frame by full alignment, with no shortcut."""
    a, b = words(old), words(new)
    if not a or not b or len(a) > supersede.MAX_WORDS or len(b) > supersede.MAX_WORDS:
        return None
    return supersede.align(a, b)


@pytest.mark.parametrize(("old", "new"), [
    ("I live in Lisbon", "I live in Porto"),
    ("She works at Acme as a nurse", "She works at Globex as a nurse"),
    ("My sister likes tea", "My sister doesn't like tea anymore"),
    ("I drive a VW", "I no longer drive a VW"),
    ("We moved to Berlin", "Coffee is great"),
    ("tea tea tea tea", "tea"),
    ("I I I I I", "I live"),
])
def test_known_pairs_frame_as_the_full_alignment(old: str, new: str) -> None:
    assert frame(old, new) == _aligned(old, new)


def test_random_pairs_frame_as_the_full_alignment() -> None:
    rng = random.Random(4)
    for _ in range(3000):
        old = " ".join(rng.choices(_VOCAB, k=rng.randint(1, 12)))
        if rng.random() < 0.5:  # an edited copy: most such pairs share a frame
            ws = old.split()
            ws[rng.randrange(len(ws))] = rng.choice(_VOCAB)
            new = " ".join(ws)
        else:
            new = " ".join(rng.choices(_VOCAB, k=rng.randint(1, 12)))
        assert frame(old, new) == _aligned(old, new), (old, new)
