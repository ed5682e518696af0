"""Later statements that change nothing, session 44: a sparse store of one owner.

21 cases, written in session 44 to probe the newer-first rule in a store that holds little
besides two related statements months apart (:func:`support.labelled.add_update_cases`):
another person's value ("My brother just bought a flat in York" after "My sister lives in
Leeds", for the sister), another attribute ("My favourite book is The Hobbit" after "My
favourite film is Inception", "Our mobile contracts are with Vodafone" after "Our broadband
is with BT") and a value beside the older one ("I started piano lessons" after "I'm
learning Spanish"). The older statement must stay above the later one.

``knowledge_keeps_s44.jsonl`` (development: written after the probe that found the
defects, and the rules of the same session read it): 7 of 21 kept at session 43's head
(b2c005b), 11 with session 44's reading of two people the owner names, the question asking
about the older's (:func:`engram.retrieval.keeps.keeps`); 13 with session 48's reading of
another thing of the owner's. What is left is in ``MISSED``.
"""

from __future__ import annotations

from support.labelled import keep_set_tests

KINDS = frozenset({"other-person", "other-attribute", "also"})

#: the cases whose later statement still ranks above the old one: a partner's allergy told
#: with what the owner does about it ("so we never order prawns"), a partner's team with no
#: rule at all, another attribute close in meaning (a book club's pick, a Kindle), and a
#: value beside the older one told with "started" (a change of its own) or "too"; session
#: 48's reading of another thing of the owner's (:attr:`engram.retrieval.pairs.Pair.
#: other_subject`) keeps the mobile contract and the favourite book below
MISSED = ["s44k-penicillin", "s44k-arsenal", "s44k-book-club", "s44k-phone", "s44k-spanish",
          "s44k-cat-name", "s44k-vitamin-d", "s44k-son-football"]
SETS = {"dev": ("knowledge_keeps_s44.jsonl", MISSED)}


globals().update(keep_set_tests(SETS, "keep44", 21, KINDS))
