"""Later statements that change nothing, session 37: the older statement stays above them.

Each case holds an old statement of the owner's value (200 days before the question) and
a related later one (20 days before) that leaves it standing, each in a session of small
talk (:func:`support.labelled.add_update_cases`), ten of each kind: about someone else
("My sister's just got a border collie pup"), a change weighed and not made ("Got a quote
for quartz worktops today. Laughed, said thanks"), an older time remembered ("Used to do my
Sunday runs along the seafront"), a value added beside it ("Picked up a few bank shifts as
well"), an exception for a while for a question asking what holds usually ("Covering at
the Queen Street Costa for the next two weeks"), and the same value told again (either
order is right for these: the old statement must stay in the top 10).

- ``knowledge_keeps_s37.jsonl`` (development, 60): 31 not kept (the later statement above
  the old one, or the old below 10) with session 37's update rules, 30 at 5e30df2, 5 with
  the rule off; with :mod:`engram.retrieval.keeps`, chosen on it, 12.
- ``knowledge_keeps_s37_dev2.jsonl`` (development, 60, a third writer told to vary the
  words of every kind): 22 not kept when first run with :mod:`~engram.retrieval.keeps`
  (7 with the rule off); 21 once an exception for a while holds whatever change it tells
  and a holder may be named in the plural ("My flatmates have all joined ...").
- ``knowledge_keeps_s37_held.jsonl`` (held, 60, another writer who read neither the rules
  nor the development sets): 32 not kept with the rules before session 37 (5e30df2), 35
  with session 37's update rules before :mod:`~engram.retrieval.keeps`, 25 with it, 24
  with the two changes above (6 with the rule off).

Session 38: another holder is any person a noun names (WordNet's, ``people.txt``) or a
name opening the statement, the owner's own is not a person the owner names ("my mum"),
and a holder does not act on a thing the older holds ("My GP bumped the sertraline up"):
development 12 -> 9 and 21 -> 19 not kept; held 24 -> 24 (no held case moved).
"""

from __future__ import annotations

from support.labelled import keep_set_tests

KINDS = frozenset({"other-person", "considered", "past-memory", "also", "temporary",
                   "same-again"})

#: each set, the cases whose later statement still ranks above the old one
SETS = {
    # a change weighed in words no reading holds ("Everyone keeps telling me to move the
    # newsletter", "Might pop along once"), an older time with no marker ("Found my old
    # karate gi in the loft! ... before I quit"), a value added with none ("Started
    # dabbling in Italian", "a second kitten now")
    "dev": ("knowledge_keeps_s37.jsonl", [
        "k37-first-language", "k37-upright-piano", "k37-newsletter-platform", "k37-church",
        "k37-martial-art", "k37-icu-ward", "k37-translate-portuguese", "k37-maine-coon"]),
    # written to vary the words of every kind (a holder in mid-sentence or by a name only,
    # "on the fence about", "in the old flat", "alongside", ...): what :mod:`~engram.
    # retrieval.keeps` reads by closed lists of words mostly does not carry over. Session
    # 40 read this set's words (19 -> 11 misses); the held set below did not move
    "dev2": ("knowledge_keeps_s37_dev2.jsonl", [
        "r37-pixel-phone", "r37-monzo-data", "r37-combi-boiler", "r37-citalopram",
        "r37-dr-kaur-dentist", "r37-early-bedtime", "r37-st-aidans", "r37-barber-ali",
        "r37-spotify-family", "r37-oat-flat-white", "r37-metrolink-sale"]),
    # measured at the end of session 37 (module docstring)
    "held": ("knowledge_keeps_s37_held.jsonl", [
        "q37-paramedic-nights", "q37-blood-oneg", "q37-shellfish-allergy", "q37-bass-pubband",
        "q37-honda-jazz", "q37-year4-teacher", "q37-leeds-season", "q37-qa-remote",
        "q37-nationwide-mortgage", "q37-reading-train", "q37-pastry-chef", "q37-toronto-7th",
        "q37-fiveaside-keeper", "q37-dentist-okafor", "q37-collie-pepper",
        "q37-fastmail-primary", "q37-tortoise-gerald", "q37-foodbank-tuesday",
        "q37-sungold-tomatoes", "q37-bristol-airport", "q37-sertraline-50",
        "q37-gp-whitfield", "q37-barber-ray", "q37-glasgow-southside"]),
}


globals().update(keep_set_tests(SETS, "keep37", 60, KINDS, 10))
