"""The write side: messages in, episodes and memories out; the twin of :mod:`engram.retrieval`.

Stages, each its own module:

* :mod:`.segment`: messages -> episodes (validated, verbatim);
* :mod:`.derive` (rules) and :mod:`.derive_llm` (an LLM): episodes -> candidate memories;
* :mod:`.grounding`: LLM candidates not supported by their episodes are dropped;
* :mod:`.consolidate` (rules) and :mod:`.consolidate_llm`: candidates -> ADD / UPDATE /
  SUPERSEDE / DELETE / NOOP decisions and the rows that carry them out;
* :mod:`.summaries`: session summaries and user profiles written by an LLM;
* :mod:`.index`: what the lexical index and the embedder see for each item.
"""
