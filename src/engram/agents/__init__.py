"""Memory that makes agents better at their work (issue #20).

One module per capability, each built on the store contract and the
retrieval core (this package sits in the *pipelines* layer, beside
``ingest`` and ``retrieval``; the engine exposes it through thin methods):

* procedural and strategy memory with learned utility, and feedback;
* task memory trees;
* preferences that evolve, a user's profile, answering as the user;
* linked, evolving notes;
* a category-aware semantic cache.
"""
