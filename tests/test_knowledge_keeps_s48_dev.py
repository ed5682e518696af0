"""Later statements that change nothing, session 48's development set.

60 cases by a second helper, to the brief of ``test_knowledge_keeps_s48.py``'s held set (12
of each kind; some later statements give a number or a name in the older's slot).
``knowledge_keeps_s48.jsonl`` (development): 34 of 60 kept below when first run (50 with
the newer-first rule off). Read: session 48's readings of a change weighed ("told them I'd
think about it", "worth the money", "tried to sell me", "went to look at ... way too
much"), an older time ("When I first moved to London in 2011 I paid ...", its change of
that time), a value beside ("now too") and a holder among the owner's ("Steve on our
team") take 5 more: 39. The held sets do not move (s48 32/60, s37 36/60). Session 52's
``recall`` with no bonus for being new (``present_weight``): 43 (the static caravan lost).
"""

from __future__ import annotations

from support.labelled import keep_set_tests

KINDS = frozenset({"other-person", "other-attribute", "also", "considered", "remembered"})

#: another thing of the owner's told in another shape (a bike locker, a second screen, the
#: monstera, gym earbuds, another tablet), another person by a possessive ("Hannah's ring
#: size", "Mum ... hers"), a value beside told with "added" or with a change marker ("I've
#: also signed up"), and what the ranker alone puts above
MISSED = [
    "j48-ring-size", "j48-tax-code", "j48-bowling-average", "j48-reading-glasses",
    "j48-work-locker", "j48-main-monitor", "j48-fiddle-leaf-watering",
    "j48-everyday-headphones", "j48-levothyroxine-time", "j48-bearded-dragon",
    "j48-life-drawing", "j48-static-caravan", "j48-magnesium-bedtime", "j48-glasses-frames",
    "j48-pushchair", "j48-current-game", "j48-house-cleaner",
]
SETS = {"dev": ("knowledge_keeps_s48.jsonl", MISSED)}


globals().update(keep_set_tests(SETS, "keep48dev", 60, KINDS, 12))
