"""The write side: messages in, episodes and memories out; the twin of :mod:`engram.retrieval`.

:class:`~.pipeline.Ingest` runs the write paths of :class:`engram.Engram`
(``add``, ``derive_for``, ``remember``, ``update``/``delete``, ``import_``);
stages, each its own module:

* :mod:`.segment`: messages -> episodes (validated, verbatim);
* :mod:`.derive` (rules) and :mod:`.derive_llm` (an LLM): episodes -> candidate memories;
* :mod:`.grounding`: LLM candidates not supported by their episodes are dropped;
* :mod:`.consolidate` (rules) and :mod:`.consolidate_llm`: candidates -> ADD / UPDATE /
  SUPERSEDE / DELETE / NOOP decisions;
* :mod:`.summaries`: session summaries and user profiles written by an LLM;
* :mod:`.index`: what the lexical index and the embedder see for each item;
* :mod:`.commit`: the one place write batches are built and written (provenance,
  history entries, vectors, fences, one ``Store.write``);
* :mod:`.jobs`: the durable job runner on the store's jobs table (``derive`` for
  rules; :mod:`.llm_jobs` registers ``llm_extract`` and ``llm_summarize``);
* :mod:`.reembed`: every vector made again by another model.
"""
