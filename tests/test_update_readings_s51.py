"""A question in the past tense that names its time by what happened then ("when I joined
the company") or by a period of life ("in my twenties", "as a kid") asks about an earlier
state (:func:`engram.retrieval.asks.asks_past`), and a question about an earlier state
puts the older of two statements of one thing first (``updates.newer_first(...,
earlier=True)``). Real SQLite files and the real embedder.

Found with a blind set of 240 questions labelled now / earlier / neither (session 51):
on its development part, 12 of the questions about an earlier state were read as neither,
and 1 after."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.labelled import said_in_small_talk

from engram.embed.base import Embedder
from engram.retrieval.asks import asks_current, asks_earlier_state, asks_past


@pytest.mark.parametrize("question", [
    "Which bank was I with when I lived in Manchester?",
    "What was Sara's job when she met her husband?",
    "What did we drive when the kids were small?",
    "Who coached the team when I signed up?",
    "How many people were in the choir when I first joined?",
    "Where did Omar work in his twenties?",
    "What sport did you play at university?",
    "What did I eat as a child?",
    "Who taught me guitar growing up?",
    "which flat did we rent in grad school",
])
def test_a_time_named_by_what_happened_then_is_an_earlier_time(question: str) -> None:
    assert asks_past(question)
    assert not asks_current(question)


@pytest.mark.parametrize("question", [
    "When did I start my new job?",  # asks for the time itself
    "So when did Nina move?",
    "What do I eat when I'm tired?",  # a habit, in the present tense
    "Where does my cat stay when we go away?",
    "What sport does my son play at university?",
    "What did my son learn at school today?",  # a school day, not a period of life
    "What did Anna buy at the market?",
    "Which school does my daughter go to?",
])
def test_no_such_time_is_no_earlier_time(question: str) -> None:
    assert not asks_past(question)


@pytest.mark.parametrize(("question", "earlier"), [
    ("What car did I drive before?", True),
    ("Which gym did I use to go to?", True),
    ("Who was my manager when I joined?", True),
    ("Have I ever met Bryan?", False),  # the whole history answers it
    ("What is the history of my address?", False),
    ("What car do I drive?", False),
])
def test_an_earlier_state_is_asked_for(question: str, earlier: bool) -> None:
    assert asks_earlier_state(question) is earlier


@pytest.mark.parametrize(("older", "newer", "question"), [
    # each newer statement came first before: the newer-first rule read the question as
    # asking about neither now nor then
    ("My manager is Priya, she's great.", "Priya left, so my manager is Tom now.",
     "Who was my manager when I joined the company?"),
    ("Our landlord is Mr Hughes.", "The flat was sold, our landlord is a company called "
     "Keyhome now.", "Who was our landlord when the boiler broke?"),
    ("My phone is a Pixel 6.", "Replaced the Pixel with an iPhone 15.",
     "What phone did I have when I started this job?"),
    ("My GP is Dr Shah.", "Dr Shah retired, my GP is Dr Byrne now.",
     "Who was my GP when I was pregnant?"),
    ("I teach maths at Hill Park School.", "I left Hill Park and teach physics at Oakwood now.",
     "What did I teach in my twenties?"),
    # a question about an earlier state puts the older of two statements of one thing
    # first (the first two came newer first before: the ranker's order)
    ("I drive a silver Volvo estate, it's ancient but reliable.",
     "Sold the Volvo last weekend, I drive a Subaru Outback now.",
     "What car did I drive before?"),
    ("I take 10mg of citalopram every morning.", "The GP upped my citalopram to 20mg.",
     "What dose of citalopram was I on previously?"),
    ("We keep the family photos on Google Photos.",
     "All our photos live on an Immich server in the cupboard these days.",
     "Where did we use to keep the family photos?"),
    ("My sister Jo works as a paramedic in Bristol.",
     "Jo retrained and is a secondary school teacher now.",
     "What was Jo's job originally?"),
    ("Our broadband is with Virgin Media, 350 meg.",
     "We're on a Community Fibre line since the switch, 1 gig.",
     "Which broadband provider did we have at first?"),
    ("My running club is the Hackney Harriers.",
     "I joined Victoria Park Harriers, much closer to home.",
     "Which running club was I in when I ran my first half marathon?"),
])
def test_the_value_that_held_then_comes_first(
        tmp_path: Path, embedder: Embedder, older: str, newer: str, question: str) -> None:
    said = said_in_small_talk(str(tmp_path / "r.db"), embedder, older, newer, question)
    assert older in said and newer in said
    assert said.index(older) < said.index(newer)
