"""Each partition row's card: the stored fields a search's views of its item read.

A search ranks about 70 head items and returns 10 (:meth:`Store.get_item_views
<engram.store.base.Store.get_item_views>`). Reading the head's rows from the
tables costs a B-tree descent and a page per row, a tenth of a search at 100k
memories, on a first search as much as on any. A card holds, per row, the few
stored fields a view of the item is made of (its text, scope, role and speaker or
kind and status, its stamps as stored), so a search reads its head from memory and
the tables only for the hits it returns.

Cards are plain fields as the store gives them (:func:`make_card`): whoever
makes them decides which fields and decodes them back (:func:`read_card`).
Like :mod:`.forward`, rows loaded from a saved state share one byte buffer and
rows set later keep their own bytes; a removed or dropped row's card is blanked
at once, and :meth:`RowCards.state` holds live rows only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .lexical import utf8_array, utf8_list

__all__ = ["RowCards", "adopt_rows", "make_card", "pack_rows", "read_card"]

_SEP = "\x1f"
_NONE = "\x1e"


def pack_rows(rows: list[int], n: int, get: Callable[[int], bytes]
              ) -> tuple[np.ndarray, np.ndarray]:
    """The bytes ``get(row)`` of each of ``rows`` (increasing, below ``n``) laid end
    to end, and the ``n + 1`` offsets that find row ``i``'s at
    ``buffer[offsets[i]:offsets[i + 1]]`` (other rows: empty)."""
    parts: list[bytes] = []
    sizes = np.zeros(n + 1, dtype=np.int64)
    for row in rows:
        data = get(row)
        parts.append(data)
        sizes[row + 1] = len(data)
    return np.frombuffer(b"".join(parts), dtype=np.uint8).copy(), np.cumsum(sizes)


def adopt_rows(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A saved :func:`pack_rows` pair, used as given (a private, copy-on-write memory
    map is writable, so a dropped row can be blanked in place; else copied)."""
    data = np.asarray(data, dtype=np.uint8)
    return (data if data.flags.writeable else data.copy(),
            np.asarray(offsets, dtype=np.int64))


def make_card(fields: Sequence[str | None], last: str) -> bytes | None:
    """The card of ``fields`` (``None`` kept as such) then ``last``, which may hold
    anything; a field holding the separator or equal to the ``None`` mark makes no
    card (``None``)."""
    for f in fields:
        if f is not None and (_SEP in f or f == _NONE):
            return None
    parts = [_NONE if f is None else f for f in fields]
    parts.append(last)
    return _SEP.join(parts).encode("utf-8", "surrogatepass")


def read_card(card: bytes, n: int) -> list[str | None]:
    """The ``n`` fields then the last one that :func:`make_card` made ``card`` of."""
    parts = card.decode("utf-8", "surrogatepass").split(_SEP, n)
    last = parts.pop()
    out: list[str | None] = [None if p == _NONE else p for p in parts]
    out.append(last)
    return out


class RowCards:
    """Cards by row; rows are numbered as the owning partition numbers them."""

    def __init__(self) -> None:
        #: whether each row has a card
        self._has = np.zeros(0, dtype=bool)
        #: (buffer, offsets) of the rows a saved state held: row ``i``'s card is
        #: ``buffer[offsets[i]:offsets[i + 1]]``
        self._base: tuple[np.ndarray, np.ndarray] | None = None
        self._base_n = 0
        #: rows set since
        self._own: dict[int, bytes] = {}
        #: which fields the cards hold, as their maker names them ("": not known)
        self.layout = ""

    def clear(self) -> None:
        """Drop every card (they were made in another layout)."""
        self._has = np.zeros(self._has.size, dtype=bool)
        self._base = None
        self._base_n = 0
        self._own = {}

    def grow(self, cap: int) -> None:
        if cap > self._has.size:
            has = np.zeros(cap, dtype=bool)
            has[: self._has.size] = self._has
            self._has = has

    def set(self, row: int, card: bytes | None) -> None:
        """Keep ``card`` for ``row`` (grown to hold it already); ``None``: none."""
        if card is None:
            self.drop(row)
            return
        if not self._has.flags.writeable:
            self._has = self._has.copy()
        self._own[row] = card
        self._has[row] = True

    def drop(self, row: int) -> None:
        """Blank ``row``'s card (its item was removed, or changed in a field the
        card holds)."""
        if row >= self._has.size or not self._has[row]:
            return
        if not self._has.flags.writeable:
            self._has = self._has.copy()
        self._has[row] = False
        if self._own.pop(row, None) is None and self._base is not None and row < self._base_n:
            buf, offsets = self._base
            buf[int(offsets[row]) : int(offsets[row + 1])] = 0

    def get(self, row: int) -> bytes | None:
        """``row``'s card, if it has one."""
        if row >= self._has.size or not self._has[row]:
            return None
        own = self._own.get(row)
        if own is not None:
            return own
        assert self._base is not None
        buf, offsets = self._base
        return buf[int(offsets[row]) : int(offsets[row + 1])].tobytes()

    def get_many(self, rows: np.ndarray) -> list[bytes | None]:
        """:meth:`get` of each of ``rows`` (an integer array, all below the grown
        size), in one pass."""
        if rows.size == 0:
            return []
        has = self._has[rows].tolist()
        own = self._own
        if self._base is not None:
            buf = memoryview(self._base[0])  # type: ignore[arg-type]
            offsets = self._base[1]
            inside = np.where(rows < self._base_n, rows, 0)
            lo, hi = offsets[inside].tolist(), offsets[inside + 1].tolist()
        out: list[bytes | None] = []
        for i, row in enumerate(rows.tolist()):
            if not has[i]:
                out.append(None)
            else:
                card = own.get(row)
                out.append(card if card is not None else bytes(buf[lo[i] : hi[i]]))
        return out

    def count(self, n: int) -> int:
        """How many of the first ``n`` rows have a card."""
        return int(np.count_nonzero(self._has[:n]))

    def state(self, alive: np.ndarray) -> dict[str, np.ndarray]:
        """The live rows' cards (removed rows: none) as arrays."""
        n = int(alive.size)
        rows = np.flatnonzero(alive & self._has[:n])
        data, offsets = pack_rows(rows.tolist(), n, self._get)
        has = np.zeros(n, dtype=bool)
        has[rows] = True
        return {"card_bytes": data, "card_offsets": offsets, "card_has": has,
                "card_layout": utf8_array([self.layout])}

    def _get(self, row: int) -> bytes:
        card = self.get(row)
        assert card is not None
        return card

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray], n: int) -> RowCards:
        """The cards :meth:`state` saved (a state saved without them: none)."""
        cards = cls()
        if "card_has" not in state:
            cards.grow(n)
            return cards
        cards._has = np.asarray(state["card_has"], dtype=bool)
        cards._base = adopt_rows(state["card_bytes"], state["card_offsets"])
        cards._base_n = n
        if "card_layout" in state:
            cards.layout = utf8_list(state["card_layout"], 1)[0]
        return cards
