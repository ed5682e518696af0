"""In-memory vector index for one scope partition (a user, or an agent, in a tenant).

Rows carry the attributes that filters need (item type, kind, status, agent,
session, event time, record times), so filters are evaluated *inside* the
search as a boolean mask, before ranking — never top-k-then-filter.

Small partitions are searched exactly (one matrix-vector product). Large ones
use an approximate graph (:mod:`engram.index.ann`) for the unfiltered or
weakly filtered case; when a filter is selective the masked rows are searched
exactly instead, and when the graph returns too few rows that pass the filter
the search widens until it has ``k`` or has seen every candidate, so a filter
never loses matches. Without an installed graph backend every search is exact.

A removed row's vector is overwritten with zeros (in the matrix and in the
graph), so :meth:`PartitionIndex.state`, which a store persists to survive a
restart, holds nothing of removed rows: no vector, no term, no id, no card
(:mod:`.cards`: the stored fields and text a search's views of the row read), no
agent or session name that only they used.

Not thread-safe by itself: the owning store serialises access.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np

from ..models import ItemRef
from .ann import AnnGraph, new_graph
from .cards import RowCards
from .forward import ForwardTerms
from .graph_load import GraphLoad
from .lexical import LexicalIndex, best_k, utf8_array, utf8_list
from .rows import TYPE_EPISODE, TYPE_MEMORY, RowAttrs, RowFilter, hash64

__all__ = ["PartitionIndex"]

#: a row's ref type by its type code, and a ref made from ``(type, id)``
_KINDS = np.array(["episode", "memory"], dtype=object)
#: rows summed at a time in float64 for the episode centroid (a float64 copy of 4,096 rows
#: of 384 dimensions is 12 MB)
_CENTROID_CHUNK = 4096
_new_ref = partial(tuple.__new__, ItemRef)


class PartitionIndex:
    """Vectors plus filter attributes for one partition."""

    #: partitions at least this large get an approximate graph
    ann_threshold = 8_000
    #: when at most this many rows pass a filter, search them exactly
    exact_limit = 4_096
    #: the graph's search beam (``ef``, at least 64) for ``k`` rows is at least
    #: ``ann_beam * k`` wide (wider when a filter leaves few rows passing); the beam
    #: is the largest single cost of a search at 100k (docs/bench.md)
    ann_beam = 1.0

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._cap = 0
        self._n = 0
        self._vecs = np.zeros((0, dim), dtype=np.float32)
        self._refs: list[ItemRef] = []
        self._pos: dict[ItemRef, int] = {}
        self._alive = np.zeros(0, dtype=bool)
        self._type = np.zeros(0, dtype=np.int8)
        self._status = np.zeros(0, dtype=np.int8)
        self._kind = np.zeros(0, dtype=np.int16)
        self._agent = np.zeros(0, dtype=np.int32)
        self._session = np.zeros(0, dtype=np.int32)
        self._event = np.zeros(0, dtype=np.float64)
        self._created = np.zeros(0, dtype=np.float64)
        self._expired = np.zeros(0, dtype=np.float64)
        #: the first 64 bits of each row's vector's content hash (0: not known), so a
        #: search reads its head's stored vectors here (:meth:`stored_vector`)
        self._vhash = np.zeros(0, dtype=np.uint64)
        self._codes: dict[str | None, int] = {None: 0}
        self._key_ref: dict[int, ItemRef] = {}
        self._ref_key: dict[ItemRef, int] = {}
        self._ann: AnnGraph | None = None
        self._ann_missing = False  # no graph backend installed: search exactly
        self._lex = LexicalIndex()
        #: each row's own-text term set (:mod:`.forward`), where the store gave the text
        self._fwd = ForwardTerms()
        #: each row's card (:mod:`.cards`): the stored fields a view of its item reads
        self._cards = RowCards()
        #: grows with every upsert and removal (a store saves when it moved)
        self.version = 0
        #: (sum, count) of the live episode rows' unit vectors (float64), kept up to
        #: date by upsert and removal once :meth:`episode_centroid` first computed it
        self._csum: tuple[np.ndarray, int] | None = None
        self._last_mask: tuple[RowFilter, int, np.ndarray] | None = None
        #: the passing rows of :attr:`_last_mask` (``np.flatnonzero``), once asked for
        self._last_rows: tuple[np.ndarray, np.ndarray] | None = None
        #: a graph loading in the background (:meth:`attach_graph`)
        self._loading: GraphLoad | None = None
        self._live = 0
        #: (ids, keys) of a partition loaded by :meth:`from_state` whose refs and key
        #: maps are not built yet (a search needs neither; a write builds them). The
        #: ids are a tuple: a tuple of strings leaves the garbage collector's lists at
        #: its first collection, so full collections never walk it (a list of 100k
        #: ids was ~8 ms of each one, ~25%)
        self._lazy: tuple[tuple[str, ...], np.ndarray] | None = None
        #: (the keys array of :attr:`_lazy`, its first ``n`` keys sorted, their rows):
        #: made on the first look-up by key (:meth:`_rows_of_keys`)
        self._key_index: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        #: the store's key (``upsert(key=...)``, -1: none) of each ref searches
        #: returned lately (ids and numbers, no text; at most ~4k): lets the store
        #: read the items a search found by key
        self.result_keys: dict[ItemRef, int] = {}
        #: the row of each ref in :attr:`result_keys` (numbers only)
        self.result_rows: dict[ItemRef, int] = {}
        #: :attr:`result_rows` before it last filled up (a search's head may hold refs
        #: of both its lists, found before and after the refill)
        self._older_rows: dict[ItemRef, int] = {}

    # -- size ----------------------------------------------------------------
    def __len__(self) -> int:
        return self._live

    @property
    def terms(self) -> int:
        """How many index terms the live rows' texts hold in all: what rebuilding the
        partition from the tables costs, with :func:`len` (long messages cost more)."""
        return self._lex.terms

    def __contains__(self, ref: object) -> bool:
        self._materialize()
        return ref in self._pos

    def _ref(self, row: int) -> ItemRef:
        if self._lazy is None:
            return self._refs[row]
        kind = "episode" if self._type[row] == TYPE_EPISODE else "memory"
        return ItemRef(kind, self._lazy[0][row])  # type: ignore[arg-type]

    def _refs_of(self, rows: np.ndarray) -> list[ItemRef]:
        """:meth:`_ref` of each of ``rows`` (an integer array), in one pass."""
        if self._lazy is None:
            refs = self._refs
            out = [refs[row] for row in rows.tolist()]
            keys = [self._ref_key.get(ref, -1) for ref in out]
        else:
            # refs are made, not kept: a memo of them grows what the garbage collector
            # walks in every full collection (tens of ms at 100k rows)
            ids, all_keys = self._lazy
            # made by C-level maps (a namedtuple's constructor is Python-level)
            out = list(map(_new_ref, zip(_KINDS[self._type[rows]].tolist(),
                                         map(ids.__getitem__, rows.tolist()), strict=True)))
            keys = all_keys[rows].tolist()
        if len(self.result_keys) > 4096:
            self.result_keys = {}
            self._older_rows, self.result_rows = self.result_rows, {}
        self.result_keys.update(zip(out, keys, strict=True))
        self.result_rows.update(zip(out, rows.tolist(), strict=True))
        return out

    def _materialize(self) -> None:
        """Build the refs and key maps of a partition loaded from a saved state."""
        if self._lazy is None:
            return
        ids, keys = self._lazy
        self._lazy = None
        self.result_keys = {}
        self.result_rows = {}
        self._older_rows = {}
        n = self._n
        dead = ItemRef("episode", "")
        alive = self._alive[:n].tolist()
        types = self._type[:n].tolist()
        self._refs = [ItemRef("episode" if t == TYPE_EPISODE else "memory", i) if a else dead
                      for i, t, a in zip(ids, types, alive, strict=True)]
        live_rows = np.flatnonzero(self._alive[:n]).tolist()
        self._pos = {self._refs[r]: r for r in live_rows}
        key_list = keys.tolist()
        self._ref_key = {self._refs[r]: key_list[r] for r in live_rows if key_list[r] >= 0}
        self._key_ref = {k: ref for ref, k in self._ref_key.items()}

    # -- writes ----------------------------------------------------------------
    def _code(self, value: str | None) -> int:
        code = self._codes.get(value)
        if code is None:
            code = len(self._codes)
            self._codes[value] = code
        return code

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(need, self._cap * 2, 256)

        def grow(a: np.ndarray) -> np.ndarray:
            shape = (cap,) + a.shape[1:]
            out = np.zeros(shape, dtype=a.dtype)
            out[: self._n] = a[: self._n]
            return out

        self._vecs = grow(self._vecs)
        self._alive = grow(self._alive)
        self._type = grow(self._type)
        self._status = grow(self._status)
        self._kind = grow(self._kind)
        self._agent = grow(self._agent)
        self._session = grow(self._session)
        self._event = grow(self._event)
        self._created = grow(self._created)
        self._expired = grow(self._expired)
        self._vhash = grow(self._vhash)
        self._fwd.grow(cap)
        self._cards.grow(cap)
        self._cap = cap

    def _set_attrs(self, row: int, attrs: RowAttrs) -> None:
        self._type[row] = attrs.item_type
        self._status[row] = attrs.status
        self._kind[row] = self._code("kind:" + attrs.kind)
        self._agent[row] = self._code(None if attrs.agent_id is None else "a:" + attrs.agent_id)
        self._session[row] = self._code(
            None if attrs.session_id is None else "s:" + attrs.session_id
        )
        self._event[row] = attrs.event_ts
        self._created[row] = attrs.created_ts
        self._expired[row] = attrs.expired_ts

    def upsert(
        self,
        ref: ItemRef,
        vector: np.ndarray,
        attrs: RowAttrs,
        text: str | None = None,
        key: int | None = None,
        vector_hash: str | None = None,
        own_text: str | None = None,
        card: bytes | None = None,
    ) -> None:
        """Add a row, or replace the vector, text and attributes of an existing one.

        ``text`` is what the lexical side indexes (``None``: not lexically searchable).
        ``key`` is the store's own integer name for the item (optional): a row
        upserted with a key can be removed by it (:meth:`remove_key`). A key
        that named another ref before now names ``ref``; that ref's row is removed.
        ``vector_hash``: the content hash (hex) ``vector`` is stored under, if
        known (:meth:`stored_vector` answers only for rows that have one).
        ``own_text``: the item's own text, whose term set the row keeps
        (:meth:`own_terms`). ``card``: the row's card (:mod:`.cards`, :meth:`card`),
        if the store makes one.
        """
        self._materialize()
        self.version += 1
        if key is not None:
            self._bind_key(ref, key)
        old = self._pos.get(ref)
        if old is not None:
            if text is None and np.array_equal(self._vecs[old], vector):
                self._set_attrs(old, attrs)
                self._vhash[old] = hash64(vector_hash)
                if own_text is not None:
                    self._fwd.set(old, own_text)
                self._cards.set(old, card)
                return
            self._kill(old)
        row = self._n
        self._grow(row + 1)
        self._vecs[row] = vector
        self._alive[row] = True
        self._set_attrs(row, attrs)
        self._count_in_centroid(row, 1)
        self._vhash[row] = hash64(vector_hash)
        if own_text is not None:
            self._fwd.set(row, own_text)
        self._cards.set(row, card)
        self._n += 1
        self._refs.append(ref)
        self._pos[ref] = row
        self._live += 1
        self._lex.add(row, text or "")
        if self._ann is not None:
            self._ann.add(self._vecs[row : row + 1], np.array([row]))

    def remove(self, ref: ItemRef) -> None:
        """Drop ``ref``'s row (and its key); nothing happens when it is absent."""
        self._materialize()
        key = self._ref_key.pop(ref, None)
        if key is not None:
            self._key_ref.pop(key, None)
        row = self._pos.pop(ref, None)
        if row is not None:
            self._kill(row, drop_pos=False)

    def forget_removed(self) -> None:
        """Drop what removed rows still leave in memory (their terms in the BM25
        postings, their ids, agent and session names): the partition is rebuilt in
        place from :meth:`state`, with the same rows and keys, and keeps its graph
        (removed rows are zeroed there). A store calls it after deletes, so a
        deleted text's words do not stay in the process; searches rank as a
        partition freshly loaded from the same rows does."""
        if self._live == self._n:
            return  # nothing removed
        graph = self.graph
        fresh = PartitionIndex.from_state(self.state())
        fresh._ann, fresh._ann_missing = graph, self._ann_missing
        fresh.version = self.version + 1
        self.__dict__.update(fresh.__dict__)

    def stored_vector(self, ref: ItemRef, vector_hash: str) -> np.ndarray | None:
        """A copy of ``ref``'s vector when its row is live and was upserted with
        ``vector_hash`` (the same first 64 bits), else ``None`` (unknown here: ask the
        store's vectors table). Finds rows that searches returned lately
        (:attr:`result_rows`) without building the refs of a loaded partition."""
        row = self._row_of(ref)
        want = hash64(vector_hash)
        if row is None or want == 0 or int(self._vhash[row]) != want:
            return None
        vec: np.ndarray = self._vecs[row].copy()
        return vec

    def episode_centroid(self) -> np.ndarray | None:
        """The mean of the L2-normalised vectors of the live episode rows (float32,
        not normalised), or ``None`` when there is none. Computed once (a
        matrix-vector product), then kept as a running sum by :meth:`upsert` and
        row removal, so a deleted episode's vector leaves it at once (and
        :meth:`forget_removed` computes it afresh)."""
        if self._csum is None:
            n = self._n
            vecs = self._vecs[:n]
            norms = np.sqrt(np.einsum("ij,ij->i", vecs, vecs, dtype=np.float64))
            live = self._alive[:n] & (self._type[:n] == TYPE_EPISODE) & (norms > 0)
            w = np.zeros(n, dtype=np.float64)
            w[live] = 1.0 / norms[live]
            # summed in float64, as the running sum is: a store read afresh and the same
            # store written in this process give one centroid to the last float32 bit, so
            # one ranking (a float32 sum differed by ~1e-7 and flipped near-ties)
            total = np.zeros(vecs.shape[1], dtype=np.float64)
            for at in range(0, n, _CENTROID_CHUNK):
                total += w[at:at + _CENTROID_CHUNK] @ vecs[at:at + _CENTROID_CHUNK].astype(
                    np.float64)
            self._csum = (total, int(live.sum()))
        total, count = self._csum
        return None if count == 0 else (total / count).astype(np.float32)

    def _count_in_centroid(self, row: int, sign: int) -> None:
        """Add (``sign`` 1) or take away (-1) ``row``'s unit vector from the running
        centroid sum, when it is kept and the row is an episode's."""
        if self._csum is None or self._type[row] != TYPE_EPISODE:
            return
        vec = self._vecs[row].astype(np.float64)
        norm = float(np.linalg.norm(vec))
        if norm > 0:
            total, count = self._csum
            self._csum = (total + sign * vec / norm, count + sign)

    def own_terms(self, ref: ItemRef, text: str) -> frozenset[str] | None:
        """:func:`~engram.index.lexical.term_set` of ``text`` when ``ref``'s row is
        live and kept the terms of this very text (``upsert(own_text=...)``), else
        ``None``; rows are found as :meth:`stored_vector` finds them."""
        row = self._row_of(ref)
        return None if row is None else self._fwd.get(row, text)

    def card(self, ref: ItemRef) -> bytes | None:
        """``ref``'s card (``upsert(card=...)``) when its row is live and has one,
        else ``None``; rows are found as :meth:`stored_vector` finds them."""
        row = self._row_of(ref)
        return None if row is None else self._cards.get(row)

    def cards(self, refs: list[ItemRef], keys: Sequence[int | None] | None = None
              ) -> list[bytes | None]:
        """:meth:`card` of each of ``refs``, in one pass. ``keys``: the store key of
        each ref where the caller knows it (``None``: not known), which finds the
        row of a ref no search returned lately in a partition whose refs are not
        built (:meth:`_rows_of_keys`; e.g. a window's neighbour turn)."""
        found, older = self.result_rows, self._older_rows
        rows = [found.get(ref, -1) for ref in refs]
        if older:
            rows = [r if r >= 0 else older.get(ref, -1) for r, ref in zip(rows, refs, strict=True)]
        if self._lazy is None:
            pos = self._pos
            rows = [r if r >= 0 else pos.get(ref, -1) for r, ref in zip(rows, refs, strict=True)]
        elif keys is not None and -1 in rows:
            rows = self._rows_of_keys(refs, keys, rows)
        at = np.array(rows, dtype=np.int64)
        live = at >= 0
        live[live] = self._alive[at[live]]
        cards = iter(self._cards.get_many(at[live]))
        return [next(cards) if ok else None for ok in live.tolist()]

    @property
    def card_layout(self) -> str:
        """Which fields the rows' cards hold, as the store that makes them names it
        (``""``: not known, e.g. a state saved before cards were kept); setting
        another layout drops every card."""
        return self._cards.layout

    @card_layout.setter
    def card_layout(self, layout: str) -> None:
        if layout != self._cards.layout:
            if self._cards.count(self._n):
                self._cards.clear()
            self._cards.layout = layout

    def _rows_of_keys(self, refs: list[ItemRef], keys: Sequence[int | None],
                      rows: list[int]) -> list[int]:
        """``rows`` (-1: not found) with the live row of each ref not found yet whose
        key (``keys``) names a row holding that very ref, in a partition whose refs
        are not built. Found refs join :attr:`result_rows` (and their keys
        :attr:`result_keys`), so later look-ups of them (:meth:`own_terms`,
        :meth:`stored_vector`) find them too. The sorted keys are made once per
        loaded state (numbers only)."""
        assert self._lazy is not None
        ids, all_keys = self._lazy
        n = self._n
        index = self._key_index
        if index is None or index[0] is not all_keys or index[1].size != n:
            order = np.argsort(all_keys[:n], kind="stable")
            index = self._key_index = (all_keys, all_keys[:n][order], order)
        _, sorted_keys, order = index
        want = [i for i, (r, k) in enumerate(zip(rows, keys, strict=True))
                if r < 0 and k is not None and k >= 0]
        if not want:
            return rows
        asked = np.array([keys[i] for i in want], dtype=np.int64)
        lo = np.searchsorted(sorted_keys, asked, side="left").tolist()
        hi = np.searchsorted(sorted_keys, asked, side="right").tolist()
        out = list(rows)
        for i, a, b in zip(want, lo, hi, strict=True):
            ref = refs[i]
            kind = TYPE_EPISODE if ref.type == "episode" else TYPE_MEMORY
            for row in order[a:b].tolist():
                if self._alive[row] and ids[row] == ref.id and self._type[row] == kind:
                    out[i] = row
                    self.result_rows[ref] = row
                    self.result_keys[ref] = int(all_keys[row])
                    break
        return out

    def _rows_by_key(self, keys: list[int]) -> dict[int, int]:
        """The live row of each of ``keys`` (store keys) that names one."""
        if self._lazy is not None:
            all_keys = self._lazy[1][: self._n]
            rows = np.flatnonzero(np.isin(all_keys, keys) & self._alive[: self._n])
            return dict(zip(all_keys[rows].tolist(), rows.tolist(), strict=True))
        out = {}
        for key in keys:
            ref = self._key_ref.get(key)
            row = self._pos.get(ref) if ref is not None else None
            if row is not None:
                out[key] = row
        return out

    def set_cards(self, cards: Mapping[int, bytes | None]) -> None:
        """Set the cards of the rows named by store key (``None``: none); keys that
        name no live row are ignored. Counts as a change (:attr:`version`)."""
        if not cards:
            return
        self.version += 1
        for key, row in self._rows_by_key(list(cards)).items():
            self._cards.set(row, cards[key])

    def drop_cards(self, keys: list[int]) -> None:
        """Blank the cards of the rows named by these store keys (their items changed
        in a field the partition does not follow)."""
        if keys and self._cards.count(self._n):
            for row in self._rows_by_key(keys).values():
                self._cards.drop(row)

    def _row_of(self, ref: ItemRef) -> int | None:
        """``ref``'s live row, if a search returned it lately or the refs are built."""
        row = self.result_rows.get(ref)
        if row is None:
            row = self._older_rows.get(ref)
        if row is None:
            if self._lazy is not None:
                return None
            row = self._pos.get(ref)
            if row is None:
                return None
        return row if self._alive[row] else None

    def remove_key(self, key: int) -> None:
        """Drop the row upserted under ``key``; nothing happens when there is none."""
        self._materialize()
        ref = self._key_ref.get(key)
        if ref is not None:
            self.remove(ref)

    def ref_of(self, key: int) -> ItemRef | None:
        """The ref upserted under ``key``, if any."""
        self._materialize()
        return self._key_ref.get(key)

    def _bind_key(self, ref: ItemRef, key: int) -> None:
        held = self._key_ref.get(key)
        if held is not None and held != ref:
            self.remove(held)
        old_key = self._ref_key.get(ref)
        if old_key is not None and old_key != key:
            self._key_ref.pop(old_key, None)
        self._key_ref[key] = ref
        self._ref_key[ref] = key

    def _kill(self, row: int, drop_pos: bool = True) -> None:
        self.version += 1
        if self._alive[row]:
            self._count_in_centroid(row, -1)
        self._live -= 1
        self._alive[row] = False
        self._vecs[row] = 0.0
        self._vhash[row] = 0
        self._fwd.drop(row)
        self._cards.drop(row)
        self._lex.remove(row)
        if drop_pos:
            self._pos.pop(self._refs[row], None)
        if self._ann is not None:
            self._ann.remove(row)

    # -- search ----------------------------------------------------------------
    def _mask(self, f: RowFilter) -> np.ndarray:
        """Rows passing ``f`` (read-only: the last mask is reused while nothing
        changed, since a search asks the lexical and the vector side in turn)."""
        hit = self._last_mask
        if hit is not None and hit[0] == f and hit[1] == self.version:
            return hit[2]
        m = self._compute_mask(f)
        m.flags.writeable = False
        self._last_mask = (f, self.version, m)
        self._last_rows = None
        return m

    def _passing(self, f: RowFilter) -> tuple[np.ndarray, np.ndarray]:
        """``(mask, np.flatnonzero(mask))`` of :meth:`_mask`, kept with the mask."""
        m = self._mask(f)
        held = self._last_rows
        if held is not None and held[0] is m:
            return m, held[1]
        rows = np.flatnonzero(m)
        rows.flags.writeable = False
        self._last_rows = (m, rows)
        return m, rows

    def _compute_mask(self, f: RowFilter) -> np.ndarray:
        n = self._n
        m = self._alive[:n].copy()
        if f.agent_id is not None:
            m &= self._agent[:n] == self._codes.get("a:" + f.agent_id, -1)
        if f.session_id is not None:
            m &= self._session[:n] == self._codes.get("s:" + f.session_id, -1)
        if f.kinds is not None:
            ok = np.zeros(n, dtype=bool)
            for k in f.kinds:
                code = self._codes.get("kind:" + k)
                if code is not None:
                    ok |= self._kind[:n] == code
            m &= ok
        if f.start_ts is not None:
            m &= self._event[:n] >= f.start_ts
        if f.end_ts is not None:
            m &= self._event[:n] < f.end_ts
        if f.as_of_ts is not None:
            m &= self._created[:n] <= f.as_of_ts
            m &= (self._type[:n] == TYPE_EPISODE) | (self._expired[:n] > f.as_of_ts)
        elif not f.include_inactive:
            m &= self._status[:n] == 0
        if f.allowed is not None:
            self._materialize()
            ok = np.zeros(n, dtype=bool)
            for ref in f.allowed:
                row = self._pos.get(ref)
                if row is not None:
                    ok[row] = True
            m &= ok
        return m

    def search(self, query: np.ndarray, k: int, f: RowFilter) -> list[tuple[ItemRef, float]]:
        """Top ``k`` rows by cosine similarity (vectors are unit length) that pass ``f``."""
        if self._n == 0 or k <= 0:
            return []
        mask, rows = self._passing(f)
        if rows.size == 0:
            return []
        if rows.size <= self.exact_limit or len(self) < self.ann_threshold:
            return self._exact(query, k, rows)
        ann = self._ensure_ann()
        if ann is None:
            return self._exact(query, k, rows)
        return self._approx(ann, query, k, mask, rows.size)

    def lexical_search(self, query: str, k: int, f: RowFilter,
                       max_postings: int | None = None) -> list[tuple[ItemRef, float]]:
        """Top ``k`` rows by BM25 over their indexed text that pass ``f``
        (``max_postings``: :meth:`.LexicalIndex.scores`)."""
        if self._n == 0 or k <= 0:
            return []
        scores = self._lex.scores(query, self._n, max_postings)
        if scores is None:
            return []
        mask = scores > 0
        mask &= self._mask(f)
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return []
        return self._ranked(rows, scores[rows], k)

    def _ranked(self, rows: np.ndarray, scores: np.ndarray, k: int
                ) -> list[tuple[ItemRef, float]]:
        """The ``k`` best of ``rows`` by ``scores`` (parallel arrays), best first; rows of
        one score in the order of their ids, and of rows tied at the ``k``-th place the
        first by id are kept (as PostgreSQL's ``ORDER BY score, id``). So one store gives
        one list whatever order its rows were written or loaded in: the store a process
        has just written and the same file opened afresh rank alike (row order differs
        between them, and broke ties before: session 36)."""
        k = min(k, scores.size)
        top = best_k(scores, k)
        kth = scores[top].min()
        if scores.size > k:
            tied = np.flatnonzero(scores == kth)
            if tied.size > np.count_nonzero(scores[top] == kth):  # not all tied rows kept
                above = np.flatnonzero(scores > kth)
                ids = [ref.id for ref in self._refs_of(rows[tied])]
                first = sorted(range(len(ids)), key=ids.__getitem__)[: k - above.size]
                top = np.concatenate([above, tied[first]])
        refs = self._refs_of(rows[top])
        vals = scores[top].tolist()
        order = sorted(range(len(refs)), key=lambda i: (-vals[i], refs[i].id, refs[i].type))
        return [(refs[i], vals[i]) for i in order]

    def _exact(self, query: np.ndarray, k: int, rows: np.ndarray) -> list[tuple[ItemRef, float]]:
        if rows.size == self._n:
            scores = self._vecs[: self._n] @ query
        else:
            scores = self._vecs[rows] @ query
        return self._ranked(rows, scores, k)

    def _ensure_ann(self) -> AnnGraph | None:
        if self._ann is None and self._loading is not None:
            if not self._adopt(wait=False):
                return None  # still loading: this search is exact
        if self._ann is None and not self._ann_missing:
            rows = np.flatnonzero(self._alive[: self._n])
            ann = new_graph(self.dim, capacity=int(rows.size * 1.25))
            if ann is None:
                self._ann_missing = True
                return None
            ann.add(self._vecs[rows], rows)
            self._ann = ann
            self.version += 1  # a built graph is worth saving (a missing or old file)
        return self._ann

    def _approx(
        self, ann: AnnGraph, query: np.ndarray, k: int, mask: np.ndarray, passing: int
    ) -> list[tuple[ItemRef, float]]:
        total = len(ann)
        # ``want`` rows from a beam as wide, widened until k of them pass: at least
        # ``ann_beam * k``, and 1.5 times what it takes for k to pass on average
        want = min(total, max(int(k * self.ann_beam), int(k * total / max(passing, 1) * 1.5)))
        unfiltered = passing >= total
        # when no row is filtered out the graph's own best k are the ones re-scoring
        # would keep: fetch only them (from the same beam)
        beam = want if not unfiltered else min(total, max(k, int(k * self.ann_beam)))
        while True:
            keys = ann.query(query, k if unfiltered else want, ef=max(beam, 64))
            keys = keys[mask[keys]]
            if keys.size >= k or want >= total:
                break
            want = beam = min(total, want * 4)
        if keys.size < k and passing > keys.size:
            # the graph could not reach enough passing rows: fall back to exact
            return self._exact(query, k, np.flatnonzero(mask))
        exact = self._vecs[keys] @ query  # re-score with the stored float32 vectors
        return self._ranked(keys, exact, k)

    @property
    def has_graph(self) -> bool:
        """Whether the approximate graph is built, loaded or loading."""
        return self._ann is not None or self._loading is not None

    def warm(self) -> None:
        """Build the approximate graph now if the partition is large enough (one
        loading in the background is waited for)."""
        self._adopt(wait=True)
        if len(self) >= self.ann_threshold:
            self._ensure_ann()

    # -- persistence -------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """Everything needed to rebuild this partition, as named arrays (live rows
        only: removed rows keep their number with a zero vector, no id and no
        terms). The graph is not in it: see :attr:`graph`."""
        self._materialize()
        n = self._n
        alive = self._alive[:n].copy()
        used = np.unique(np.concatenate([
            np.zeros(1, np.int64), *(a[:n][alive].astype(np.int64)
                                     for a in (self._kind, self._agent, self._session))]))
        remap = np.zeros(max(len(self._codes), 1), dtype=np.int32)
        remap[used] = np.arange(used.size, dtype=np.int32)
        names = {code: name for name, code in self._codes.items()}
        keys = np.full(n, -1, dtype=np.int64)
        for ref, key in self._ref_key.items():
            row = self._pos.get(ref)
            if row is not None:
                keys[row] = key
        out = {
            "vecs": self._vecs[:n],
            "alive": alive,
            "ids": utf8_array([self._refs[i].id if alive[i] else "" for i in range(n)]),
            "type": self._type[:n],
            "status": self._status[:n],
            "kind": np.where(alive, remap[self._kind[:n]], 0).astype(np.int16),
            "agent": np.where(alive, remap[self._agent[:n]], 0).astype(np.int32),
            "session": np.where(alive, remap[self._session[:n]], 0).astype(np.int32),
            "event": np.where(alive, self._event[:n], 0.0),
            "created": np.where(alive, self._created[:n], 0.0),
            "expired": np.where(alive, self._expired[:n], 0.0),
            "vhash": np.where(alive, self._vhash[:n], 0).astype(np.uint64),
            "keys": keys,
            "codes": utf8_array([json.dumps([names[int(c)] for c in used])]),
            **self._lex.state(n),
            **self._fwd.state(alive),
            **self._cards.state(alive),
        }
        return out

    @property
    def graph(self) -> AnnGraph | None:
        """The approximate graph, once built or attached (removed rows zeroed in it);
        waits for one that is still loading."""
        self._adopt(wait=True)
        return self._ann

    def compact(self) -> None:
        """Fold the lexical postings added row by row into arrays
        (:meth:`.LexicalIndex.compact`): after a bulk load, so the garbage collector
        does not walk one object per posting. Searches give the same results."""
        self._lex.compact()

    def settle(self) -> None:
        """Wait for a graph loading (or being rebuilt) in the background and adopt it:
        a process that is closing waits for that thread anyway, and a rebuilt graph
        adopted now is saved with the partition."""
        self._adopt(wait=True)

    def attach_graph(self, load: Callable[[], AnnGraph | None]) -> None:
        """Load the graph saved with this partition's :meth:`state` in a background
        thread (:class:`~.graph_load.GraphLoad`; ``load`` returns it, or ``None`` when
        it is unusable: then it is rebuilt when needed). Until it is loaded, searches
        are exact; rows added or removed meanwhile are applied to it when it is
        adopted. A graph rebuilt with the preferred backend counts as a change
        (:attr:`version`) when adopted, so it is saved."""
        n = self._n
        self._loading = GraphLoad(load, self.dim, self._vecs[:n], self._alive[:n].copy())

    def _adopt(self, wait: bool) -> bool:
        """Take the graph a background load produced, brought up to date; ``False``
        while it is still loading (and ``wait`` is false)."""
        loading = self._loading
        if loading is None:
            return True
        if loading.running() and not wait:
            return False
        self._loading = None
        graph = loading.caught_up(self._alive, self._vecs, self._n)
        if graph is None:
            return True  # unusable: built from the rows when needed
        self._ann = graph
        if loading.upgraded:
            self.version += 1  # the saved file holds the old backend's graph
        return True

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> PartitionIndex:
        """The partition :meth:`state` described (no graph: :meth:`attach_graph`).

        The vector matrix is used as given (no copy), so it must be writable
        (e.g. a private, copy-on-write memory map)."""
        vecs = state["vecs"]
        n = int(vecs.shape[0])
        part = cls(int(vecs.shape[1]))
        part._cap = part._n = n
        part._vecs = vecs
        alive = np.array(state["alive"], dtype=bool)
        part._alive = alive
        for name in ("type", "status", "kind", "agent", "session", "event", "created",
                     "expired"):
            setattr(part, "_" + name, np.array(state[name], dtype=getattr(part, "_" + name).dtype))
        # a state saved before vector hashes were kept has none: all unknown
        part._vhash = (np.array(state["vhash"], dtype=np.uint64) if "vhash" in state
                       else np.zeros(n, dtype=np.uint64))
        part._codes = {name: code for code, name in enumerate(json.loads(
            utf8_list(state["codes"], 1)[0]))}
        part._live = int(np.count_nonzero(alive))
        part._lazy = (tuple(utf8_list(state["ids"], n)), np.array(state["keys"], dtype=np.int64))
        part._lex = LexicalIndex.from_state(state, alive)
        part._fwd = ForwardTerms.from_state(state, n)
        part._cards = RowCards.from_state(state, n)
        return part
