"""Knowledge updates, session 51's held-apart case set.

50 cases (an old statement said 200 days before the question, a new one 20 days before,
each in a session of small talk, :func:`support.labelled.add_update_cases`), ten with a
question about the past, six of which name the earlier time by what was happening then
("when I joined the company"). Written by a helper from general knowledge, to the brief of
sessions 47 and 48, told not to read any rule of the engine and given the ids of every
earlier case, to avoid their subjects: 25 the owner's own values, 25 another person's,
42 newer statements without the usual markers of change. The newer statement ranks first
for 42 of 50 current questions; for the ten questions about the past, the old statement is
first for 10 (9 before session 51's readings of an earlier state).
"""

from __future__ import annotations

from support.labelled import update_set_tests

#: each set, the cases the rules miss
SETS = {
    # measured when written (42 of 50, the same at ce6367f, before session 51's rules) and
    # at the end of session 51; not read
    "held": ("knowledge_updates_s51_held.jsonl",
             ["h51-search-engine", "h51-state-management", "h51-improv-level",
              "h51-cad-software", "h51-son-obsession", "h51-toddler-potty", "h51-director-pa",
              "h51-brother-pokemon-level"]),
}


globals().update(update_set_tests(SETS, "ku51", n=50, past=10))
