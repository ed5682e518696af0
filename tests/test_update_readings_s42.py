"""Session 42's readings for knowledge updates, each in many phrasings, with what they
must not read (tests/test_knowledge_updates_s42.py has the case sets they were chosen on)."""

from __future__ import annotations

import pytest

from engram.ingest.supersede import states_change
from engram.retrieval.asks import _MOVED, asks_current
from engram.retrieval.keeps import keeps
from engram.retrieval.rerank import _terms
from engram.retrieval.tellings import asks_only


@pytest.mark.parametrize("text", [
    "Talia's coach put her at libero for the county trials, so it's all passing and "
    "digging for her — any home drills for that?",
    "we've been kicking off gigs with 'Dancing in the Dark' since the spring and people "
    "love it — what should follow it?",
    "My sister finally got the flat in Leith near the shore, how do I help her move?",
    "Our team lead moved the standup to 10am because of the new hires; any tips for "
    "keeping it short?",
    "The vet switched Biscuit onto the senior kibble last month: should we mix it in slowly?",
])
def test_a_statement_joined_to_its_question_is_not_only_asking(text: str) -> None:
    assert not asks_only(text)


@pytest.mark.parametrize("text", [
    "Whats your favorite food",
    "Anything good on TV lately? Any tips?",
    "What do you think, should I go?",
    "How was the trip, did you like it?",
    "So, what are you up to?",
    "Hey, how are you?",
    "Ok cool, any news?",
    "You like pizza?",
    "Oh wow, really, how come?",
])
def test_a_question_with_a_greeting_or_a_filler_first_still_only_asks(text: str) -> None:
    assert asks_only(text)


@pytest.mark.parametrize(("newer", "older"), [
    ("GP put my levo up to 75mcg after the last blood test. should I still leave 30 mins "
     "before breakfast?", "I take 50 micrograms of levothyroxine every morning."),
    ("The vet brought his dose down to 5mg, should we split the tablet?",
     "Rex takes 10 mg of prednisolone a day."),
])
def test_a_number_running_into_its_unit_is_a_change_made(newer: str, older: str) -> None:
    """"Should I ...?" after a change made asks about something else, not the change."""
    assert keeps(newer, older, _terms("What dose do I take?")) is None


@pytest.mark.parametrize("question", [
    "What powers the search box on our shop?",
    "What bundles the admin panel's frontend code?",
    "What sends the password reset emails?",
    "How quickly must we reply to a new ticket from Brightline?",
    "What must I bring to the allotment meeting?",
])
def test_a_verb_after_the_question_word_or_must_asks_a_current_value(question: str) -> None:
    assert asks_current(question)


@pytest.mark.parametrize("question", [
    "What platforms my podcast uses?",
    "What motivates John's team?",
    "What was the name of the band?",
    "Which company processed my payments?",
    "When did Mia start school?",
])
def test_no_verb_or_a_past_one_is_not_read_as_current(question: str) -> None:
    assert not asks_current(question)


@pytest.mark.parametrize("text", [
    "After the big migration off webpack, the admin panel's Vite dev server starts fast",
    "We migrated the blog to Hugo over the weekend",
    "Still migrating the last services onto the new cluster",
    "Pulling the last MUI imports out of the internal dashboard this week",
    "She pulled out of the half marathon with a sore knee",
])
def test_a_migration_or_a_thing_pulled_out_states_a_change(text: str) -> None:
    assert states_change(text)


@pytest.mark.parametrize("text", [
    "clinic rang — the surgeon's away so my LASIK is now 5 December",
    "the wedding is now in June",
    "heads up, the review is now on the 14th",
    "the parents' evening's now on Thursday",
    "Kickoff is now 14 March",
])
def test_a_time_told_as_the_one_now_moves_a_planned_time(text: str) -> None:
    assert _MOVED.search(text) is not None


@pytest.mark.parametrize("text", [
    "the wedding is in June",
    "it is now dead quiet at the office",
    "my LASIK is on 5 December",
    "The review is now finished",
])
def test_a_time_without_now_or_now_without_a_time_moves_nothing(text: str) -> None:
    assert _MOVED.search(text) is None


@pytest.mark.parametrize("text", [
    "I pulled a muscle at the gym",
    "He pulled up outside the house",
    "We drove out of town for the weekend",
])
def test_pulling_without_out_of_states_no_change(text: str) -> None:
    assert not states_change(text)
