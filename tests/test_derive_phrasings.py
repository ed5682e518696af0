"""The rule deriver reads a statement after a discourse word ("These days my
favourite hobby is pottery", "Honestly, I prefer tea") and a favourite told value
first ("Ramen has become my favourite food"), a move to a place ("We moved to Porto")
and a partner by name ("My boyfriend Tom and I ...", "I'm dating Alex now"), and still
derives nothing from pronouns, questions, someone else's favourite, a product ("We moved
to Slack") or a word that is not a name (#14: a new value the deriver missed left the
old one active)."""

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


#: (text, the value derived): "we moved to X" where X is a place, a partner by name
NAMED = [
    ("We finally moved to Denver, the new place has a view of the mountains.",
     "Ana lives in Denver", "lives_in"),
    ("We moved to Porto in May, the flat has a view of the Douro.", "Ana lives in Porto",
     "lives_in"),
    ("we've just relocated to Glasgow", "Ana lives in Glasgow", "lives_in"),
    ("So we moved to Canada last year.", "Ana lives in Canada", "lives_in"),
    ("My boyfriend Tom and I go hiking every Sunday.", "Ana's partner is Tom", "partner"),
    ("My wife, Priya, is a doctor.", "Ana's partner is Priya", "partner"),
    ("My partner Sam's sister is visiting.", "Ana's partner is Sam", "partner"),
    ("I'm dating Alex now and we go climbing together.", "Ana's partner is Alex", "partner"),
    ("I'm married to Sam.", "Ana's partner is Sam", "partner"),
    ("I'm engaged to Alex Moreno!", "Ana's partner is Alex Moreno", "partner"),
    ("Clara and I split up in April; I'm seeing someone called Mia now.",
     "Ana's partner is Mia", "partner"),
    ("I've been seeing a guy called Marcus for a couple of months.",
     "Ana's partner is Marcus", "partner"),
]
#: (text, the attribute it must not derive): a product, a team, no name
NOT_NAMED = [
    ("We moved to Slack for chat.", "lives_in"),
    ("We moved to a bigger office.", "lives_in"),
    ("we moved to monthly billing", "lives_in"),
    ("We moved to Jordan's place for the weekend.", "lives_in"),
    ("We moved to Microsoft Teams in March.", "lives_in"),
    ("My girlfriend and I went to Paris.", "partner"),
    ("I'm dating someone new.", "partner"),
    ("I'm married to my job lol", "partner"),
    ("My friend's boyfriend Tom is a chef.", "partner"),
    ("Is your husband Tom coming?", "partner"),
    ("I'm seeing someone called Dr Patel about my knee.", "partner"),
    ("I'm seeing a guy called Dave about the boiler.", "partner"),
]


@pytest.mark.parametrize(("text", "memory", "attribute"), NAMED)
def test_a_home_or_a_partner_named_is_derived(text: str, memory: str, attribute: str) -> None:
    assert (memory, attribute) in _derive(text)


@pytest.mark.parametrize(("text", "attribute"), NOT_NAMED)
def test_no_home_or_partner_without_a_place_or_a_name(text: str, attribute: str) -> None:
    assert not any(a == attribute for _, a in _derive(text))
