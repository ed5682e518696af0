"""The rule deriver's shortcuts give what the plain reading gives.

A rule whose clause opens with "I", "my" or "we" is tried only where such a clause
opens (``derive._CLAUSE``), a rule that opens with its value only in a message holding
its word (``needs``), and a message without the words of an instruction is not split
into sentences (``instructions._may_hold``). Each test builds messages from fragments
of everyday chat, at random, and compares with the plain reading: every pattern tried at
every character, every sentence read."""

from __future__ import annotations

import random

import pytest

from engram.ingest import derive, instructions

_FRAGMENTS = [
    "I moved to Lisbon last year", "we moved to Slack for chat", "I'm living in St. Louis now",
    "I live in a dorm on my own", "I work at Acme", "I'm a nurse at St Mary's",
    "I've retrained as a plumber", "I work as a chef", "we've adopted a corgi",
    "I switched to oat milk", "I drive a Volvo", "I own a bakery", "I play tennis every Sunday",
    "I'm learning Spanish on Duolingo", "I run about twenty miles a week", "I bank with Barclays",
    "I'm a member of PureGym", "I go to CrossFit three times a week", "I've taken up pottery",
    "I commute by train", "I cycle to work", "I take the bus to work", "My name is Kevin",
    "I'm 34 years old", "my wife is Sara", "My boyfriend Tom and I go hiking",
    "I'm dating Alex now", "my favourite food is sushi", "Ramen has become my favourite food",
    "Sushi is my new favourite dish", "I'm allergic to nuts", "I'm vegetarian now",
    "I've gone vegan", "I really love spicy food", "I prefer window seats",
    "I hate coriander", "I'm planning to visit Japan", "I want to learn Spanish",
    "I have a tortoise called Shelly", "I have two dogs", "Honestly, I prefer tea",
    "These days my favourite hobby is pottery", "Last year I took up climbing",
    "Since we moved I have to drive to work", "and I like jazz", "so we live in Hackney",
    "but I hate mornings", "actually I work at Initech", "well I own a van",
    "the weather is nice", "what do you think", "it was a long day", "lol", "haha yes",
    "the Socket.IO docs say so", "see index.html for details", "->-> 2,7", "e.g. this one",
    "Always use APA style when I ask about references", "Never use emojis",
    "From now on, keep answers short", "Whenever I ask about recipes, give metric units",
    "Please always reply in Spanish", "going forward, cite your sources",
    "I never said that", "you always say that", "every time I ask you it breaks",
]
_JOINS = [". ", ", ", " ", "! ", "? ", "\n", "; ", " and ", " but ", ": ", "... "]


def _messages(seed: int, n: int = 400) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        parts = rnd.sample(_FRAGMENTS, rnd.randint(1, 8))
        text = parts[0]
        for p in parts[1:]:
            text += rnd.choice(_JOINS) + (p if rnd.random() < 0.7 else p.lower())
        out.append(text + rnd.choice(["", ".", "!", " lol", "?"]))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_rule_tried_where_a_clause_opens_matches_as_tried_everywhere(seed: int) -> None:
    for text in _messages(seed):
        read, _ = derive._fronted(text)
        clauses = [m.start() for m in derive._CLAUSE.finditer(read)]
        for rule in derive._RULES:
            got = [(m.start(), m.end(), m.groupdict()) for m in
                   derive._matches(rule, read, clauses)]
            want = [(m.start(), m.end(), m.groupdict()) for m in rule.pattern.finditer(read)]
            assert got == want, (rule.template, read)


def test_every_rule_but_three_opens_in_the_first_person() -> None:
    # a rule that does not is tried everywhere; one that opens with its value, with
    # "As a ..." (what one speaks as) or with "my preference for" (wherever it stands:
    # "given my preference for ..."), names its words
    others = [r for r in derive._RULES if not r.first_person]
    assert len(others) == 3 and all(r.needs is not None for r in others)


@pytest.mark.parametrize("seed", [4, 5])
def test_a_message_the_gate_skips_holds_no_instruction(seed: int) -> None:
    for text in _messages(seed):
        plain = []
        for m in instructions._SENTENCE.finditer(text):
            sentence = instructions._TRAILER.sub("", m.group(0))
            if (instructions._PLAIN.match(sentence) or instructions._FRONTED.match(sentence)
                    or instructions._ONWARD.match(sentence)
                    or instructions._ONWARD_LAST.match(sentence)
                    or instructions._DONT.match(sentence)):
                plain.append(sentence)
        if plain:
            assert instructions._may_hold(text.lower()), text
        if not instructions._may_hold(text.lower()):
            assert instructions.read_instructions(text) == []
