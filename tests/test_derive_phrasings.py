"""The rule deriver reads a statement after a discourse word ("These days my
favourite hobby is pottery", "Honestly, I prefer tea") and a favourite told value
first ("Ramen has become my favourite food"), and still derives nothing from
pronouns, questions or someone else's favourite (#14: a new value the deriver missed
left the old one active)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engram.ingest.derive import RuleDeriver
from engram.models import Episode, Scope


def _derive(text: str) -> list[tuple[str, str | None]]:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    ep = Episode(id="ep1", scope=Scope(user_id="u"), role="user", text=text,
                 occurred_at=at, created_at=at, speaker="Ana")
    return [(c.text, c.attribute) for c in RuleDeriver().derive([ep])]


@pytest.mark.parametrize(("text", "memory", "attribute"), [
    ("These days my favourite hobby is pottery; I barely paint.",
     "Ana's favourite hobby is pottery", "favourite:hobby"),
    ("Nowadays, my favourite drink is mint tea.", "Ana's favourite drink is mint tea",
     "favourite:drink"),
    ("Honestly ramen has become my favourite food.", "Ana's favourite food is ramen",
     "favourite:food"),
    ("lately sourdough is my new favourite bread", "Ana's favourite bread is sourdough",
     "favourite:bread"),
    ("Funny thing, Squash has now become my favourite sport.",
     "Ana's favourite sport is Squash", "favourite:sport"),
    ("Honestly, I prefer tea.", "Ana prefers tea", None),
    ("Currently I live in Berlin.", "Ana lives in Berlin", "lives_in"),
    ("At the moment I work at a bakery.", "Ana works at a bakery", "works_at"),
])
def test_a_statement_after_a_discourse_word_is_derived(text: str, memory: str,
                                                       attribute: str | None) -> None:
    assert (memory, attribute) in _derive(text)


@pytest.mark.parametrize("text", [
    "It is my favourite food.",
    "That has become my favourite song.",
    "What is your favourite food?",
    "My sister's cooking is my favourite food now.",
    "Honestly, she prefers tea.",
])
def test_no_favourite_from_a_pronoun_a_question_or_another_person(text: str) -> None:
    assert not any("favourite" in m or "prefers" in m for m, _ in _derive(text))


@pytest.mark.parametrize(("text", "place"), [
    ("We finally moved to Denver, the new place has a view of the mountains.", "Denver"),
    ("We moved to Porto in May, the flat has a view of the Douro.", "Porto"),
    ("we've just relocated to Glasgow", "Glasgow"),
    ("So we moved to Canada last year.", "Canada"),
])
def test_we_moved_to_a_place_is_where_the_speaker_lives(text: str, place: str) -> None:
    assert (f"Ana lives in {place}", "lives_in") in _derive(text)


@pytest.mark.parametrize("text", [
    "We moved to Slack for chat.",
    "We moved to a bigger office.",
    "we moved to monthly billing",
    "We moved to Jordan's place for the weekend.",
    "We moved to Microsoft Teams in March.",
])
def test_we_moved_to_something_else_is_not_a_home(text: str) -> None:
    assert not any(attribute == "lives_in" for _, attribute in _derive(text))


@pytest.mark.parametrize(("text", "name"), [
    ("My boyfriend Tom and I go hiking every Sunday.", "Tom"),
    ("My wife, Priya, is a doctor.", "Priya"),
    ("My partner Sam's sister is visiting.", "Sam"),
    ("I'm dating Alex now and we go climbing together.", "Alex"),
    ("I'm married to Sam.", "Sam"),
    ("I'm engaged to Alex Moreno!", "Alex Moreno"),
    ("Clara and I split up in April; I'm seeing someone called Mia now.", "Mia"),
    ("I've been seeing a guy called Marcus for a couple of months.", "Marcus"),
])
def test_a_partner_named_beside_the_word_or_by_the_relation(text: str, name: str) -> None:
    assert (f"Ana's partner is {name}", "partner") in _derive(text)


@pytest.mark.parametrize("text", [
    "My girlfriend and I went to Paris.",
    "I'm dating someone new.",
    "I'm married to my job lol",
    "My friend's boyfriend Tom is a chef.",
    "Is your husband Tom coming?",
    "I'm seeing someone called Dr Patel about my knee.",
    "I'm seeing a guy called Dave about the boiler.",
])
def test_no_partner_from_a_word_that_is_not_a_name(text: str) -> None:
    assert not any(attribute == "partner" for _, attribute in _derive(text))
