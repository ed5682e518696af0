"""The retrieval signals: the ranked candidate lists a search fuses.

A signal's name is its key everywhere: in :class:`~engram.retrieval.config.RetrievalConfig`
(``weights``, ``window_weights``, ``floors``), in the candidate lists of a
search head, and in a hit's score breakdown (``"<signal>_rank"``,
``"<signal>_part"``). :class:`Signal` is a :class:`~enum.StrEnum`, so a member
equals (and hashes like) its name: ``Signal.BM25 == "bm25"``, and configs may
keep using plain strings.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["SIGNALS", "Signal"]


class Signal(StrEnum):
    """One ranked candidate list; members in display order."""

    #: cosine similarity of the query vector (``Store.vector_search``)
    DENSE = "dense"
    #: BM25 over episode and memory text (``Store.lexical_search``)
    BM25 = "bm25"


#: every signal, in display order
SIGNALS: tuple[Signal, ...] = tuple(Signal)
