"""Knowledge updates, session 48's held-apart case set.

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
  Its misses were not read.
"""

from __future__ import annotations

from support.labelled import update_set_tests

#: each set, the cases the rules miss
SETS = {
    # measured once when written, not read
    "held": ("knowledge_updates_s48_held.jsonl",
             ["h48-e2e-test-framework", "h48-refinement-slot", "h48-camino-start",
              "h48-tokyo-hotel", "h48-api-rate-limit", "h48-girlfriend-derby"]),
}


globals().update(update_set_tests(SETS, "ku48"))
