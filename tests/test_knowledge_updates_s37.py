"""Knowledge updates, session 37's five case sets: three for development, two held apart.

Each set holds 50 cases (an old statement said 200 days before the question, a new one
20 days before, each in a session of small talk, :func:`support.labelled.add_update_cases`),
eight with a question about the past. Each was written from general knowledge by a writer
who read no rule of :mod:`engram.retrieval` or :mod:`engram.ingest`, avoiding the subjects of
every earlier case set:

- ``knowledge_updates_s37.jsonl`` (development): 20 numbers and times of the kind long
  user-assistant chats hold (a Lighthouse score, a Kubernetes version, an asking price, a
  kickoff moved), the rest everyday life; 39 of 50 when first run.
- ``knowledge_updates_s37_dev2.jsonl`` (development): third persons called by other names
  ("Rhi" for Rhiannon, "my aunt" for Auntie Jan), updates implied in chatty messages,
  corrections, stopping; 43 of 50 when first run.
- ``knowledge_updates_s37_dev3.jsonl`` (development): updates inside requests to an
  assistant over months of work (a 10k time, Demo Day moved, billing moved to Paddle, a
  caterer cancelled); 38 of 50 when first run. Its writer read the two held sets' fixtures
  (as every earlier fixture, to avoid their subjects); it shares none of their subjects.
- ``knowledge_updates_s37_held.jsonl`` (held; its writer was given the first set's brief):
  39 of 50 with the rules before session 37 (5e30df2), 44 at the end (e74477c).
- ``knowledge_updates_s37_held2.jsonl`` (held; the second set's brief, a third writer): 35
  of 50 with the rules before session 37 (5e30df2), 36 at the end (e74477c): of its third
  persons called otherwise, implied updates and corrections the development rules
  carried one ("My brother-in-law has gone over to the Mumbles crew" after "My
  brother-in-law Rhys volunteers as crew at the Porthcawl lifeboat station").

The development sets went 39 -> 46, 43 -> 47 and 38 -> 46 of 50.

Every rule of session 37 was chosen on the three development sets and checked on the data
sets' both parts (no R_any@10 or update moved; only the later statements that change
nothing, :mod:`engram.retrieval.keeps`, moved MRR, up); the held sets were not read between.
"""

from __future__ import annotations

from support.labelled import update_set_tests

#: each set, the cases the rules miss (the module docstring says what each holds)
SETS = {
    # a version named only by its number, a share asked with a plural verb ("make a
    # purchase"), a best man asked with "will" (read as current, "will" cost a held BEAM
    # question its first hit); the recasting is a plain later telling since session 44
    "dev": ("knowledge_updates_s37.jsonl",
            ["d37-k8s-version", "d37-conversion-rate", "d37-best-man"]),
    # an instructor and a bookshop named with no word of the old one and no marker of
    # change (the groomer is a plain later telling since session 44)
    "dev2": ("knowledge_updates_s37_dev2.jsonl",
             ["e37-driving-instructor", "e37-bookshop"]),
    # a count asked in the past tense, a runway told as another number of months (a tool
    # named far in meaning, cosine .28, and a point of view named in other words are
    # plain later tellings since session 44)
    "dev3": ("knowledge_updates_s37_dev3.jsonl",
             ["f37-survey-responses", "f37-runway-months"]),
    # measured once at the end of session 37 (module docstring); session 41's reading of
    # "before" in a question in the present tense carried "retained before deletion"
    "held": ("knowledge_updates_s37_held.jsonl",
             ["s37-candle-orders", "s37-node-runtime", "s37-best-man"]),
    "held2": ("knowledge_updates_s37_held2.jsonl",
              ["h37-nonna-scooter", "h37-gwen-hip", "h37-laundry-launderette",
               "h37-calendar-filofax", "h37-bedroom-front", "h37-journal-app",
               "h37-xmas-tree-real", "h37-audiobooks-libby", "h37-bike-shed",
               "h37-mum-birthday", "h37-anniversary-date", "h37-plumber-day",
               "h37-beatles-album", "h37-plane-seat"]),
}


globals().update(update_set_tests(SETS, "ku37"))
