"""Knowledge updates, session 42's two case sets: one for development, one held apart.

Each set holds 50 cases (an old statement said 200 days before the question, a new one
20 days before, each in a session of small talk, :func:`support.labelled.add_update_cases`),
eight with a question about the past. Both were written by one writer from general
knowledge, to one brief, told not to read any rule of :mod:`engram.retrieval` or
:mod:`engram.ingest` and to avoid the subjects of every earlier case set: about half the
owner's own values and half a third person's; in 38 and 39 of the 50 the change is told
with none of the usual markers ("now", "switched", "moved", "no longer", "instead",
"actually"); 15 of each are work with an assistant over months (a bundler, a search
engine, a map SDK, a support SLA).

- ``knowledge_updates_s42.jsonl`` (development): 36 of 50 when first run (at e6e598e),
  44 at the end of session 42.
- ``knowledge_updates_s42_held.jsonl`` (held): 33 of 50 when first run (e6e598e), 37 at
  the end of session 42; its misses were not read.

The rules of session 42, chosen on the development set (36 -> 44), each checked on every
data set's both parts (no R_any@10, MRR or update moved) and on every earlier case set
(none moved):

- a message that states something and asks in one sentence ("Talia's coach put her at
  libero for the county trials — any home drills for that?") is no idle question
  (:func:`engram.retrieval.tellings.asks_only`);
- "up to 75mcg": a number running into its unit is a change made
  (:data:`engram.retrieval.keeps._MADE`);
- "What powers the search box?", "How quickly must we reply?" ask for a current value
  (:func:`engram.retrieval.asks.asks_current`);
- "migrated", "the migration off webpack", "pulling the last MUI imports out of the
  dashboard" state a change (:data:`engram.ingest.supersede.CHANGE`);
- "my LASIK is now 5 December" moves a planned time (:data:`engram.retrieval.asks._MOVED`).
"""

from __future__ import annotations

from support.labelled import update_set_tests

#: each set, the cases the rules miss
SETS = {
    # a change told by what it cost ("the Mapbox invoice ... a fraction of what Google used
    # to charge us": "used to" reads as a memory of the older time), seven languages told
    # by those added, a solve time and a film told with
    # no word of the question, a sensor "so much smaller", a set opened "since the spring"
    "dev": ("knowledge_updates_s42.jsonl",
            ["p42-map-sdk", "p42-app-languages", "p42-cube-time", "p42-film-stock",
             "p42-glucose-sensor", "p42-set-opener"]),
    # measured at the start and the end of session 42, not read
    "held": ("knowledge_updates_s42_held.jsonl",
             ["q42-lint-format", "q42-observability", "q42-survey-platform", "q42-game-platform",
              "q42-code-freeze", "q42-docs-generator", "q42-slides-tool", "q42-juggling",
              "q42-geocaching", "q42-curry-order", "q42-parking-zone", "q42-repair-cafe",
              "q42-alps-travel"]),
}


globals().update(update_set_tests(SETS, "ku42"))
