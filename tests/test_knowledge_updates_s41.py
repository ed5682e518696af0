"""Knowledge updates, session 41's two case sets: one for development, one held apart.

Each set holds 50 cases (an old statement said 200 days before the question, a new one
20 days before, each in a session of small talk, :func:`support.labelled.add_update_cases`),
eight with a question about the past. Each was written from general knowledge by its own
writer, given one brief and told not to read any rule of :mod:`engram.retrieval` or
:mod:`engram.ingest` (nor the other writer's set): about half the owner's own values and
half a third person's, sometimes called by a relation in one message and a name in the
other; a third told with no marker of change; numbers that change (a handicap, a dose, a
deployment target, a streak); corrections and stopping; values inside requests to an
assistant; questions with and without a time word.

- ``knowledge_updates_s41.jsonl`` (development): 38 of 50 when first run (ac7ba11).
- ``knowledge_updates_s41_held.jsonl`` (held): 40 of 50 when first run (ac7ba11), 40 at
  the end of session 41; its misses were not read.

The two rules of session 41, chosen on the development set (38 -> 41): a later telling
that gives another number and tells a change follows its older statement at a lower
closeness (``pairs.TOLD_BOTH``: "Our sprints run two weeks" / "Now that the team has moved
to three-week cycles"), and "before" opening what comes next in a question in the present
tense asks no earlier time ("How many approvals does a pull request need before
merging?", :func:`engram.retrieval.asks.asks_past`). The second also carried session 37's
held "How long are the database backups retained before deletion?".

Session 48: 41 of 50 held (q41-annual-leave: "bumps my annual leave to 28 days. Thinking
of a long trip to Japan" weighs the trip, not the leave).
"""

from __future__ import annotations

from support.labelled import update_set_tests

#: each set, the cases the rules miss
SETS = {
    # a version named by its number alone (17.0 for iOS 15), a correction read as about
    # the older ("vitamin D" named only there), a pulse and a streak told with no word of
    # the question, a level, a resort booked "instead" (cosine .26), a tank and hens told
    # by another number in other words, an insurer asked with a verb the question
    # reading does not take as present ("Which company insures Luna?")
    # (session 53, the question also read without its names: p41-leah-due and
    # p41-sanjay-plane lost; "What aircraft does fly?" weighs the older "flies the A320")
    "dev": ("knowledge_updates_s41.jsonl",
            ["p41-min-ios", "p41-vitamin-d", "p41-resting-hr", "p41-duo-streak",
             "p41-cfa-level", "p41-ski-resort", "p41-aquarium", "p41-hens-fox",
             "p41-luna-insurer", "p41-leah-due", "p41-sanjay-plane"]),
    # measured at the start and the end of session 41, not read; session 48's
    # weighing beside a number stated (``keeps._weighs_beside``) took q41-annual-leave
    # (session 53, the question also read without its names: 8 -> 9, not read)
    "held": ("knowledge_updates_s41_held.jsonl",
             ["q41-order-broker", "q41-release-cadence", "q41-prod-region",
              "q41-nursing-band", "q41-hob", "q41-lisbon-offsite", "q41-hens",
              "q41-aquarium", "q41-ba-tier"]),
}


globals().update(update_set_tests(SETS, "ku41"))
