"""Each partition row's own-text term set, kept from indexing (a forward index).

The reranker reads the index terms of every head item's text
(:func:`engram.index.lexical.term_set`); re-splitting and stemming a long turn
costs tens of microseconds, milliseconds a search on long messages. A row keeps
the term set of its item's text as stored (sorted terms joined by spaces, UTF-8)
with a 64-bit fingerprint of that text: :meth:`ForwardTerms.get` answers only
for the very text it was made from, so an item whose text the store holds in
another form (sealed by encryption, changed since) is never given another
text's terms.

Rows loaded from a saved state share one byte buffer; rows set later keep their
own bytes. A removed row's terms are blanked at once, and :meth:`state` holds
live rows only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from .cards import adopt_rows, pack_rows
from .lexical import term_set

__all__ = ["ForwardTerms", "fingerprint"]


def fingerprint(text: str) -> int:
    """64 bits of BLAKE2b of ``text`` (never 0: 0 means "no terms kept")."""
    fp = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"),
                                        digest_size=8).digest(), "little")
    return fp or 1


class ForwardTerms:
    """Term sets by row; rows are numbered as the owning partition numbers them."""

    def __init__(self) -> None:
        self._fp = np.zeros(0, dtype=np.uint64)
        #: (buffer, offsets) of the rows a saved state held: row ``i``'s terms are
        #: ``buffer[offsets[i]:offsets[i + 1]]``
        self._base: tuple[np.ndarray, np.ndarray] | None = None
        self._base_n = 0
        #: rows set since (a row is set once: rows are never reused)
        self._own: dict[int, bytes] = {}

    def grow(self, cap: int) -> None:
        if cap > self._fp.size:
            fp = np.zeros(cap, dtype=np.uint64)
            fp[: self._fp.size] = self._fp
            self._fp = fp

    def set(self, row: int, text: str) -> None:
        """Keep the term set of ``text`` for ``row`` (grown to hold it already)."""
        self._own[row] = " ".join(sorted(term_set(text))).encode("utf-8", "surrogatepass")
        if not self._fp.flags.writeable:
            self._fp = self._fp.copy()
        self._fp[row] = fingerprint(text)

    def drop(self, row: int) -> None:
        """Blank ``row``'s terms (its item was removed)."""
        if row >= self._fp.size or not self._fp[row]:
            return
        if not self._fp.flags.writeable:
            self._fp = self._fp.copy()
        self._fp[row] = 0
        if self._own.pop(row, None) is None and self._base is not None and row < self._base_n:
            buf, offsets = self._base
            buf[int(offsets[row]) : int(offsets[row + 1])] = 0

    def _bytes(self, row: int) -> bytes:
        own = self._own.get(row)
        if own is not None:
            return own
        assert self._base is not None
        buf, offsets = self._base
        return buf[int(offsets[row]) : int(offsets[row + 1])].tobytes()

    def get(self, row: int, text: str) -> frozenset[str] | None:
        """``term_set(text)`` when ``row`` kept the terms of this very ``text``, else ``None``."""
        if row >= self._fp.size:
            return None
        kept = int(self._fp[row])
        if kept == 0 or kept != fingerprint(text):
            return None
        data = self._bytes(row)
        return frozenset(data.decode("utf-8", "surrogatepass").split(" ")) if data else frozenset()

    def state(self, alive: np.ndarray) -> dict[str, np.ndarray]:
        """The live rows' term sets (removed rows: none) as arrays."""
        n = int(alive.size)
        rows = np.flatnonzero(alive & (self._fp[:n] != 0))
        terms, offsets = pack_rows(rows.tolist(), n, self._bytes)
        fps = np.zeros(n, dtype=np.uint64)
        fps[rows] = self._fp[rows]
        return {"fwd_terms": terms, "fwd_offsets": offsets, "fwd_fp": fps}

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray], n: int) -> ForwardTerms:
        """The term sets :meth:`state` saved (a state saved without them: none kept)."""
        fwd = cls()
        if "fwd_fp" not in state:
            fwd.grow(n)
            return fwd
        # used as given (no copy: a private, copy-on-write memory map is writable)
        fwd._fp = np.asarray(state["fwd_fp"], dtype=np.uint64)
        fwd._base = adopt_rows(state["fwd_terms"], state["fwd_offsets"])
        fwd._base_n = n
        return fwd
