"""A question about the present finds an older answer above the newest small talk.

Until session 52 the ``recall`` preset added a bonus to every hit of a question about the
present ("now", "these days", "at the moment", ...) by how new it was, so last week's
pleasantries outranked the statement that answers, said months before. What replaced
what is for the conflict rules (:mod:`engram.retrieval.updates`) to decide; a newer
statement that changes the value still ranks first.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.retrieval.config import get_preset

NOW = datetime(2025, 3, 20, 12, tzinfo=UTC)

#: (user, the statement that answers, days before NOW, the questions about the present)
CASES = [
    ("cello", "I've been having cello lessons every Tuesday since the autumn, my teacher "
              "says my bowing is finally improving", 110,
     ["What instrument am I learning at the moment?", "Which instrument do I play these days?",
      "what am i currently learning to play", "Do I still have music lessons?"]),
    ("diet", "Three weeks fully vegetarian now, no meat or fish at all and I don't miss it", 95,
     ["What diet am I on nowadays?", "Am I still eating meat?",
      "what kind of food am I sticking to at present?"]),
    ("job", "First week as a site engineer for the council done, the hard hat suits me", 130,
     ["What's my job now?", "Where do I currently work?", "what do I do for a living these days"]),
]
#: the newest session: small talk and nothing else
SMALL_TALK = ["Morning! How's your week going?", "Not bad, bit tired.", "Same, busy busy.",
              "Thanks for earlier, really helpful!", "No worries, talk tomorrow.", "Night!"]


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engram]:
    engine = Engram(str(tmp_path_factory.mktemp("present") / "p.db"), embedder=embedder)
    try:
        for user, said, days, _ in CASES:
            t0 = NOW - timedelta(days=days)
            engine.add([{"id": f"{user}:answer", "text": said, "role": "user",
                         "occurred_at": t0}], user_id=user, session_id="s0")
            engine.add([{"text": t, "role": "user" if i % 2 == 0 else "assistant",
                         "occurred_at": NOW - timedelta(days=2, minutes=-i)}
                        for i, t in enumerate(SMALL_TALK)], user_id=user, session_id="s1")
        yield engine
    finally:
        engine.close()


@pytest.mark.parametrize(("user", "question"), [(u, q) for u, _, _, qs in CASES for q in qs])
def test_an_older_answer_ranks_above_the_newest_small_talk(eg: Engram, user: str,
                                                           question: str) -> None:
    hits = eg.search(question, user_id=user, limit=3, now=NOW, track_access=False)
    first = hits[0]
    assert first.item.id == f"{user}:answer" or f"{user}:answer" in getattr(
        first.item, "source_episode_ids", []), [h.text for h in hits]


def test_recall_gives_no_bonus_for_being_new() -> None:
    assert get_preset("recall").present_weight == 0.0
