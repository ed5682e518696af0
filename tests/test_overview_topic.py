"""An overview request is searched for its topic (:mod:`engram.retrieval.overview`):
the request forms, in many phrasings, give their topic; questions and other requests
give ``None`` and are searched as they are. Then a search over a real SQLite file
with the real embedder: the frame's words do not pull in messages that talk about
talking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engram import Engram
from engram.embed.base import Embedder
from engram.retrieval.config import get_preset
from engram.retrieval.overview import topic


@pytest.mark.parametrize(("request_text", "expected"), [
    ("Can you walk me through the order in which I brought up different aspects of my "
     "app development and deployment across our conversations? Mention ONLY and ONLY "
     "five items.", "my app development and deployment"),
    ("Could you list the order in which I mentioned the various steps of moving house "
     "throughout our chats, in order?", "moving house"),
    ("Walk me through everything we covered about the move to Lisbon, in order.",
     "the move to Lisbon"),
    ("Take me through how I talked about my sister's wedding.", "my sister's wedding"),
    ("Remind me what I told you about my landlord.", "my landlord"),
    ("Can you tell me what I mentioned about my knee injury?", "my knee injury"),
    ("Please recap what we discussed regarding the garden over our sessions.", "the garden"),
    ("List the topics I raised about the budget so far.", "the budget"),
    ("Go over the main points we discussed about the thesis.", "the thesis"),
    ("Give me a quick summary of everything we've covered about the kitchen renovation.",
     "the kitchen renovation"),
    ("Can you give me a comprehensive summary of how my plans for studying abroad have "
     "developed over time?", "my plans for studying abroad"),
    ("Could you provide an overview of what I said about my diet?", "my diet"),
    ("Write me a short recap of the conference trip.", "the conference trip"),
    ("Summarize everything we discussed about the car insurance.", "the car insurance"),
    ("Summarise what I told you about learning the piano.", "learning the piano"),
    ("How did my discussions about the chat app's message storage progress in order "
     "(mention 7 items)?", "the chat app's message storage"),
    ("How have our conversations about retirement planning developed?",
     "retirement planning"),
])
def test_an_overview_request_gives_its_topic(request_text: str, expected: str) -> None:
    assert topic(request_text) == expected


@pytest.mark.parametrize("query", [
    "What did I say about my sister?",  # a question: searched as it is
    "When did I move to Lisbon?",
    "How do I cook rice?",
    "Can you list the steps to reset my router?",
    "Can you tell me how to bake bread?",
    "Give me a recipe for pancakes.",
    "Summarize this article for me: the economy grew by 2%.",
    "Can you summarize everything we discussed?",  # all frame, no topic
    "Walk me through what we covered so far.",
    "",
])
def test_anything_else_gives_none(query: str) -> None:
    assert topic(query) is None


def test_a_time_after_the_frame_stays() -> None:
    assert topic("Summarize what I told you about the budget in our conversations in "
                 "March.") == "the budget in our conversations in March"


T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)

#: a user's messages about their move, among messages (mostly the assistant's) full of
#: the words overview requests are made of
CHAT = [
    ("user", "We signed the lease for a flat in Lisbon, moving on the first of May."),
    ("assistant", "In order to help across our conversations, I can keep a summary of the "
                  "different aspects you bring up and list them in order whenever you ask."),
    ("user", "Can you remind me of the order of operations in algebra?"),
    ("assistant", "Sure: brackets, orders, division and multiplication, addition and "
                  "subtraction. In summary, work through the aspects in that order."),
    ("user", "The movers quoted 2,400 euros to ship our furniture to Lisbon."),
    ("assistant", "Here is an overview of the conversations we had about the quarterly "
                  "report: the different aspects you brought up and the order of items."),
    ("user", "I still need to register at the local tax office after the move."),
    ("assistant", "Mention only the items that matter most; in our previous "
                  "conversations we listed five items in order."),
]


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engram:
    engine = Engram(str(tmp_path_factory.mktemp("overview") / "o.db"), embedder=embedder)
    for i, (role, text) in enumerate(CHAT):
        engine.add([{"role": role, "content": text}], user_id="mia", session_id=f"s{i // 2}",
                   occurred_at=T0 + timedelta(days=i), derive=False)
    yield engine
    engine.close()


WALK_THROUGH = ("Can you walk me through the order in which I brought up different aspects "
                "of my move to Lisbon across our conversations? Mention only three items.")


@pytest.mark.parametrize("request_text", [
    WALK_THROUGH,
    "Give me an overview of everything I mentioned about moving to Lisbon, in order.",
    "Summarize what I told you about the move to Lisbon.",
])
def test_the_topic_is_searched_not_the_frame(eg: Engram, request_text: str) -> None:
    hits = eg.search(request_text, user_id="mia", limit=3)
    assert all("lisbon" in h.item.text.lower() or "move" in h.item.text.lower()
               for h in hits[:2]), [h.item.text for h in hits]


def test_as_asked_the_frame_pulls_in_talk_about_talking(eg: Engram) -> None:
    """What the topic search avoids: the same request searched as it is."""
    as_asked = eg.search(WALK_THROUGH, user_id="mia", limit=3,
                         preset=get_preset("recall").replace(name="as-asked", overview=False))
    assert any("conversations" in h.item.text for h in as_asked), [h.item.text for h in as_asked]


def test_a_long_text_is_read_as_it_is() -> None:
    assert topic("Summarize what we discussed about " + "the garden, " * 200) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=15), st.sampled_from([
    "Can you", "walk me through", "summarize", "what I", "we", "discussed about",
    "give me a summary of", "everything", "across our conversations", "in order",
    "mention only five items", "?", ",", "(", "How did my discussions about", "progress"])),
    max_size=14).map(" ".join))
def test_any_text_gives_a_topic_or_none(query: str) -> None:
    out = topic(query)
    assert out is None or (out.strip() and len(out) <= len(query))
