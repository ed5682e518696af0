"""The reranker's time-word test (:func:`rerank._timey`) answers what its
whole-word, case-insensitive pattern :data:`rerank._TIMEY` answers (#21: read as
a set of word runs on ASCII texts, by the pattern on any other)."""

from __future__ import annotations

import random

from engram.retrieval.rerank import _TIME_WORDS, _TIMEY, _timey

PARTS = [*sorted(_TIME_WORDS), "Yesterday", "MONDAY", "lastly", "xmas", "weeks", "_week",
         "week_", "2021", "1999", "2100", "19999", "12th", "1ST", "3rd", "21stth", "123rd",
         "4th-of", "ſunday", "\u212aelvin", "mayo", "é", "ünd", "١٢th", " ", " ", ", ", ".",
         "'", "-", "\n", "_", "0", "9"]


def test_timey_is_the_pattern() -> None:
    rnd = random.Random(11)
    for _ in range(20000):
        text = "".join(rnd.choice(PARTS) for _ in range(rnd.randint(0, 9)))
        assert _timey(text) == (_TIMEY.search(text) is not None), repr(text)


def test_timey_reads_whole_words() -> None:
    assert _timey("We met last Tuesday")
    assert _timey("back in 2019, on the 3rd")
    assert not _timey("lastly, a weekly meeting in 1850 and the 123rd try")
    assert not _timey("")
