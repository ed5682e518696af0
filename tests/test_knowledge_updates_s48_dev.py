"""Knowledge updates, session 48's development case set (60 cases, ten with a question
about the past; ``test_knowledge_updates_s48.py`` tells how it was written and the rules
chosen on it: 54 of 60 when first run, 56 after)."""

from __future__ import annotations

from support.labelled import update_set_tests

#: each set, the cases the rules miss
SETS = {
    # an indoor-cycling app named with no word of the question, whose change the newer
    # tells in a sentence holding none either ("Switched to Rouvy for the winter ...");
    # a climbing gym and a partner named in other words (cosine .17); a purchase order
    # asked with "should"; a player named in the question and "my daughter" in the newer
    "dev": ("knowledge_updates_s48.jsonl",
            ["d48-turbo-app", "d48-husband-climbing-wall", "d48-client-po-number",
             "d48-daughter-hockey-position"]),
}


globals().update(update_set_tests(SETS, "ku48dev", n=60, past=10))
