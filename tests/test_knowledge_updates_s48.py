"""Knowledge updates, session 48's two case sets: one for development, one held apart.

50 cases (an old statement said 200 days before the question, a new one 20 days before,
each in a session of small talk, :func:`support.labelled.add_update_cases`), eight with a
question about the past. Written by a helper from general knowledge, to the brief of
session 47's set, told not to read any rule of the engine and to avoid the subjects of
every earlier case set: 25 the owner's own values, 25 another person's (by relation in one
message and by name in the other, at times), at least 18 newer statements without the
usual markers of change, values inside requests to an assistant, questions in other
words than the statements.

- ``knowledge_updates_s48_held.jsonl`` (held): 44 of 50 when first run, at 2ad5c1b and
  at acd50bc alike; every question about the past keeps its old statement in the top 10.
  Its misses were not read. 45 of 50 after the rules chosen on the development set below.
- ``knowledge_updates_s48.jsonl`` (development, ``test_knowledge_updates_s48_dev.py``):
  60 cases by another writer to a harder brief (25 newer statements with no marker of
  change, 10 naming the old value in passing, 10 with another number or name that could
  confuse); 54 of 60 when first run. Three rules chosen on it, each stated in general: a
  number a noun measures, written after it ("a WIP limit of 3" / "a limit of 5 cards"),
  is a quantity in that noun's unit (:func:`engram.retrieval.slots._quantities`); "How
  many ... can ..." about the owner's things asks what holds now
  (:data:`engram.retrieval.asks._CAN_NOW`); two statements opening on the same thing of
  the owner's in two words or more ("My side project repo lives on GitHub" / "My side
  project has moved to Codeberg") are related enough for a stated change to replace
  (:func:`engram.retrieval.pairs.same_opening`). 56 of 60.
"""

from __future__ import annotations

from support.labelled import update_set_tests

#: each set, the cases the rules miss
SETS = {
    # measured when written and at the end of session 48, not read
    "held": ("knowledge_updates_s48_held.jsonl",
             ["h48-e2e-test-framework", "h48-refinement-slot", "h48-camino-start",
              "h48-tokyo-hotel", "h48-girlfriend-derby"]),
}


globals().update(update_set_tests(SETS, "ku48"))
