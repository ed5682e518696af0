"""Later statements that change nothing, session 48's held-apart set.

60 cases written by a helper from general knowledge, told not to read any rule of the
engine and to avoid the subjects of sessions 37 and 44's sets: 12 each of another
person's value ("My son's in a size 7 now" after "I'm a UK size 9"), another thing of the
owner's, a value added beside the older one, a change weighed and not made, and an older
time remembered, each later statement told 180 days after the older one and asked about
the older's value (:func:`support.labelled.add_update_cases`).

``knowledge_keeps_s48_held.jsonl`` (held): **32 of 60** keep the older statement above the
later one and in the top 10 when first run, at 58c291b and at acd50bc alike; without the
newer-first rule (``update_depth=0``) 42. Its misses were not read. **39 of 60** since
session 52, when ``recall`` gave up its bonus for being new (``present_weight``).
"""

from __future__ import annotations

from support.labelled import keep_set_tests

KINDS = frozenset({"other-person", "other-attribute", "also", "considered", "remembered"})

#: measured when written, not read
MISSED = [
    "k48-shoe-size", "k48-running-shoes", "k48-golf-handicap", "k48-maya-cello",
    "k48-chess-rating", "k48-mum-tenby", "k48-home-insurance", "k48-fave-cheese",
    "k48-olly-bedtime", "k48-trash-day", "k48-gamertag", "k48-times-crossword",
    "k48-strava", "k48-fantasy-football", "k48-accountant", "k48-childminder",
    "k48-lamy-pen", "k48-nickname", "k48-office-chair", "k48-padel", "k48-signature-dish",
]
SETS = {"held": ("knowledge_keeps_s48_held.jsonl", MISSED)}


globals().update(keep_set_tests(SETS, "keep48", 60, KINDS, 12))
