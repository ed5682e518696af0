"""In-memory BM25 for one partition, rows aligned with :class:`PartitionIndex`.

FTS5 cannot stop early: a query with common words scores every match, tens
of milliseconds at 100k rows. This index keeps postings as numpy arrays and
scores a query with a handful of vector operations, with the same boolean
filter mask the vector search uses, so filters are applied inside the search.

Tokenisation: lower-cased word terms (:func:`engram.text.query_terms` rules,
stopwords dropped) with the Snowball English stemmer applied alike to
documents and queries. Measured on LoCoMo dev (BM25 over turns with a +-1
window, R_any@10): light suffix stemmer .771, Porter-family stemming .784.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..text import STOPWORDS, TextMemo

__all__ = ["LexicalIndex", "best_k", "capped", "stem", "term_set", "tokens", "utf8_array",
           "utf8_list"]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
#: every ASCII character but a-z and 0-9 -> a space: on ASCII text, ``translate``
#: then ``split`` finds the words :data:`_WORD` finds, in order, about twice as fast
#: on long texts (a search splits the ~90 texts of its head, pages long on BEAM)
_ASCII_SPACES = str.maketrans({
    chr(i): " " for i in range(128) if not ("a" <= chr(i) <= "z" or "0" <= chr(i) <= "9")})


def _words(low: str) -> list[str]:
    """``_WORD.findall(low)`` of a lower-cased text (``low``): the same words in order."""
    if low.isascii():
        return low.translate(_ASCII_SPACES).split()
    return _WORD.findall(low)


_STEMMER: Any = None
#: word -> stem (emptied with the text memos after a forget or a delete)
_STEMS: TextMemo[str, str] = TextMemo()
_STEM_CACHE_MAX = 200_000


def _english_stemmer() -> Any:
    """The Snowball English stemmer: PyStemmer's compiled one where it is installed
    (the same algorithm, the same stems: 38k words of the dev data compared; about
    20 times faster, ~1 instead of ~22 us a word, and atomic under the GIL), else
    snowballstemmer's pure-Python one. PyStemmer's own word cache is off: words are
    memoised in :data:`_STEMS` only (one bounded memo, not two)."""
    try:
        import Stemmer  # type: ignore[import-not-found,unused-ignore]  # PyStemmer
    except ImportError:
        # the English module only: ``snowballstemmer.stemmer()`` imports every
        # language first (a tenth of a second at a process's first search)
        from snowballstemmer.english_stemmer import EnglishStemmer

        return EnglishStemmer()
    return Stemmer.Stemmer("english", 0)


def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of a lower-case ``word``; digits unchanged.

    Memoised: a corpus repeats its vocabulary, so loading 100k documents calls
    the stemmer once per distinct word (the cache is bounded). A search's first
    sight of a word costs a stemmer call: the head of a search at 100k holds
    some 30 words new to a fresh process (docs/bench.md).
    """
    out = _STEMS.get(word)
    if out is not None:
        return out
    global _STEMMER
    if _STEMMER is None:
        _STEMMER = _english_stemmer()
    out = word if len(word) <= 2 or word.isdigit() else str(_STEMMER.stemWord(word))
    if len(_STEMS) >= _STEM_CACHE_MAX:
        _STEMS.clear()
    _STEMS[word] = out
    return out


def tokens(text: str) -> list[str]:
    """Index terms of ``text``: words split at apostrophes, stopwords dropped, stemmed."""
    return [stem(w) for w in _words(text.lower()) if w not in STOPWORDS]


def term_set(text: str) -> frozenset[str]:
    """``frozenset(tokens(text))``, faster on long texts: each distinct word is
    looked up once (a 600-word message: about half the time), and when every word's
    stem is memoised already (the common case) without a call per word."""
    words = set(_words(text.lower()))
    words -= STOPWORDS
    try:
        return frozenset([_STEMS[w] for w in words])
    except KeyError:  # a word not stemmed yet
        return frozenset(stem(w) for w in words)


def utf8_array(strings: list[str]) -> np.ndarray:
    """``strings`` as one NUL-separated UTF-8 byte array (what a raw byte scan
    for a text or id finds, unlike numpy's UTF-32 string arrays)."""
    return np.frombuffer("\0".join(strings).encode("utf-8"), dtype=np.uint8)


def utf8_list(data: np.ndarray, n: int) -> list[str]:
    """The ``n`` strings :func:`utf8_array` packed."""
    if n == 0:
        return []
    out = data.tobytes().decode("utf-8").split("\0")
    if len(out) != n:
        raise ValueError(f"expected {n} strings, found {len(out)}")
    return out


def capped(sizes: list[tuple[str, int]], limit: int) -> list[str]:
    """The terms of ``sizes`` (term, postings) left once the largest are dropped,
    largest first (ties: the later term first), until the rest hold at most
    ``limit`` postings; in their order."""
    total = sum(n for _, n in sizes)
    drop: set[int] = set()
    for i in sorted(range(len(sizes)), key=lambda i: (-sizes[i][1], -i)):
        if total <= limit:
            break
        drop.add(i)
        total -= sizes[i][1]
    return [t for i, (t, _) in enumerate(sizes) if i not in drop]


def best_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest of ``scores`` (``0 < k <= scores.size``), in
    no order: exactly the set ``np.argpartition(-scores, k - 1)[:k]`` holds.

    When the ``k``-th highest value is not tied with the next one, the ``k`` best
    are one set, found without partitioning a long array: the ``k/8``-th highest
    of every 16th value bounds the ``k``-th from below (about ``2k`` reach it;
    checked that ``k`` do) and only those are partitioned (a 62k-row BM25 list:
    ~0.02 instead of ~0.12 ms). With a tie at the ``k``-th place (a third of the
    lexical searches at 100k rows of ``bench scale``'s texts) which tied rows are
    kept is ``argpartition``'s own choice: it is asked as before."""
    m = scores.size
    if m >= 4096 and m >= 8 * k:
        sample = scores[::16]
        r = min(sample.size, max(1, k // 8))
        floor = np.partition(sample, sample.size - r)[sample.size - r]
        over = np.flatnonzero(scores >= floor)
        if over.size >= k:
            vals = scores[over]
            kth = np.partition(vals, over.size - k)[over.size - k]
            best: np.ndarray = over[vals >= kth]
            if best.size == k:  # no tie at the k-th place
                return best
    return np.argpartition(-scores, k - 1)[:k]


class LexicalIndex:
    """BM25 (k1=1.2, b=0.75) over rows added in order; rows are never reused.

    :meth:`state` exports the postings of live rows only (a removed row's terms
    are not in it); :meth:`from_state` rebuilds the index from it.
    """

    k1 = 1.2
    b = 0.75
    #: postings held in lists before :meth:`add` folds them into the arrays: at least
    #: this many, and at least as many as the arrays hold (:meth:`compact`)
    COMPACT_AT = 50_000

    def __init__(self) -> None:
        self._post_rows: dict[str, list[int]] = {}
        self._post_tf: dict[str, list[int]] = {}
        #: how many postings the lists hold
        self._listed = 0
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        #: term -> (posting rows, BM25 weight per posting) while no row is added or
        #: removed (the weights depend on df, the live count and the average length)
        self._weights: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        #: postings loaded by :meth:`from_state` (term -> slot in the CSR arrays),
        #: sliced when a query first needs them; rows added later go to the lists
        self._base: dict[str, int] = {}
        self._base_csr: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._doclen = np.zeros(0, dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self._n = 0
        self._total_len = 0.0
        self._live = 0

    @property
    def terms(self) -> int:
        """How many index terms the live rows hold in all (their BM25 lengths summed)."""
        return int(self._total_len)

    def _grow(self, need: int) -> None:
        if need <= self._doclen.size:
            return
        cap = max(need, self._doclen.size * 2, 256)
        doclen = np.zeros(cap, dtype=np.float32)
        doclen[: self._n] = self._doclen[: self._n]
        alive = np.zeros(cap, dtype=bool)
        alive[: self._n] = self._alive[: self._n]
        self._doclen, self._alive = doclen, alive

    def add(self, row: int, text: str) -> None:
        """Index ``text`` as ``row`` (rows must arrive in increasing order)."""
        self._grow(row + 1)
        self._weights.clear()
        counts = Counter(tokens(text))
        for term, tf in counts.items():
            self._post_rows.setdefault(term, []).append(row)
            self._post_tf.setdefault(term, []).append(tf)
            self._arrays.pop(term, None)
        length = float(sum(counts.values()))
        self._doclen[row] = length
        self._alive[row] = True
        self._n = max(self._n, row + 1)
        self._total_len += length
        self._live += 1
        self._listed += len(counts)
        based = 0 if self._base_csr is None else int(self._base_csr[1].size)
        if self._listed >= max(self.COMPACT_AT, based):
            self.compact()

    def compact(self) -> None:
        """Fold the postings :meth:`add` keeps in lists into the CSR arrays
        (:meth:`from_state`'s), dropping those of removed rows, as a saved and loaded
        index does: every live row's score stays the same.

        A list of ints is one object for the garbage collector to walk per posting: on
        BEAM's 20 largest chats 1.8 million, which made a full collection take 150-190
        ms, and a list posting costs about three times an array's memory. :meth:`add`
        calls this when the lists hold ``COMPACT_AT`` postings and as many as the arrays
        (so each posting is copied a bounded number of times)."""
        if not self._post_rows:
            return
        n = self._n
        folded = LexicalIndex.from_state(self.state(n), self._alive[:n])
        self._base, self._base_csr = folded._base, folded._base_csr
        self._post_rows, self._post_tf = {}, {}
        self._listed = 0
        self._arrays.clear()
        self._weights.clear()

    def remove(self, row: int) -> None:
        if row < self._n and self._alive[row]:
            self._weights.clear()
            self._alive[row] = False
            self._total_len -= float(self._doclen[row])
            self._live -= 1

    def _postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        arr = self._arrays.get(term)
        if arr is None:
            rows = self._post_rows.get(term)
            slot = self._base.get(term)
            if not rows and slot is None:
                return None
            arr = (np.asarray(rows or [], dtype=np.int64),
                   np.asarray(self._post_tf.get(term, []), np.float32))
            if slot is not None and self._base_csr is not None:
                offsets, base_rows, base_tf = self._base_csr
                lo, hi = int(offsets[slot]), int(offsets[slot + 1])
                arr = (np.concatenate([base_rows[lo:hi], arr[0]]),
                       np.concatenate([base_tf[lo:hi], arr[1]]))
            self._arrays[term] = arr
        return arr

    def state(self, n_rows: int) -> dict[str, np.ndarray]:
        """Postings of the live rows below ``n_rows`` as arrays (terms, CSR offsets,
        rows, term frequencies) plus document lengths (0 for removed rows)."""
        alive = self._alive[:n_rows]
        terms: list[str] = []
        rows_out: list[np.ndarray] = []
        tf_out: list[np.ndarray] = []
        for term in sorted(set(self._post_rows) | set(self._base)):
            post = self._postings(term)
            if post is None:
                continue
            keep = post[0] < n_rows
            keep[keep] = alive[post[0][keep]]
            if keep.any():
                terms.append(term)
                rows_out.append(post[0][keep])
                tf_out.append(post[1][keep])
        offsets = np.zeros(len(terms) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([r.size for r in rows_out], dtype=np.int64)
        doclen = np.where(alive, self._doclen[:n_rows], 0).astype(np.float32)
        return {
            "lex_terms": utf8_array(terms),
            "lex_offsets": offsets,
            "lex_rows": np.concatenate(rows_out) if rows_out else np.zeros(0, np.int64),
            "lex_tf": np.concatenate(tf_out) if tf_out else np.zeros(0, np.float32),
            "lex_doclen": doclen,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray], alive: np.ndarray) -> LexicalIndex:
        """The index :meth:`state` described, over rows whose liveness is ``alive``."""
        lex = cls()
        n = int(alive.size)
        lex._grow(n)
        lex._doclen[:n] = state["lex_doclen"]
        lex._alive[:n] = alive
        lex._n = n
        lex._live = int(np.count_nonzero(alive))
        lex._total_len = float(state["lex_doclen"][alive].sum())
        offsets = state["lex_offsets"]
        terms = utf8_list(state["lex_terms"], offsets.size - 1)
        lex._base = dict(zip(terms, range(len(terms)), strict=True))
        lex._base_csr = (offsets, state["lex_rows"], state["lex_tf"])
        return lex

    def scores(self, query: str, n_rows: int,
               max_postings: int | None = None) -> np.ndarray | None:
        """BM25 score per row (0 where no term matches); ``None`` when nothing matches.

        A row's score is the sum of its terms' weights in the query's term order,
        added term by term into one zeroed float64 array (``np.add.at``: no
        concatenated postings and no second array, about a third less time than a
        weighted ``bincount`` at 100k rows, with the same additions in the same order).
        With ``max_postings``, the terms with the most postings are left out, most
        first (ties: the later term first), until the rest hold at most that many:
        the scores of a query of the rest (see :func:`capped`)."""
        terms = list(dict.fromkeys(tokens(query)))
        if not terms or self._live == 0:
            return None
        found_all = [(t, self._term_weights(t)) for t in terms]
        if max_postings is not None:
            kept = set(capped([(t, 0 if f is None else f[0].size) for t, f in found_all],
                              max_postings))
            found_all = [(t, f) for t, f in found_all if t in kept]
        out: np.ndarray | None = None
        for _, found in found_all:
            if found is None:
                continue
            rows, w = found
            if rows.size and rows[-1] >= n_rows:  # postings are in row order
                cut = int(np.searchsorted(rows, n_rows))
                rows, w = rows[:cut], w[:cut]
            if out is None:
                out = np.zeros(n_rows, dtype=np.float64)
            np.add.at(out, rows, w)
        return out

    #: most terms whose weights are kept between searches (common query words)
    _WEIGHTS_MAX = 4096

    def _term_weights(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Posting rows and BM25 weights of ``term`` (``None``: no live row has it),
        memoised until a row is added or removed."""
        if term in self._weights:
            return self._weights[term]
        out: tuple[np.ndarray, np.ndarray] | None = None
        post = self._postings(term)
        if post is not None:
            rows, tf = post
            df = int(np.count_nonzero(self._alive[rows]))
            if df:
                avgdl = max(self._total_len / self._live, 1e-9)
                idf = math.log(1.0 + (self._live - df + 0.5) / (df + 0.5))
                norm = self.k1 * (1.0 - self.b + self.b * self._doclen[rows] / avgdl)
                # float64, as the sums are (``np.add.at`` is slow when it must cast)
                out = (rows, (idf * tf * (self.k1 + 1.0) / (tf + norm)).astype(np.float64))
        if len(self._weights) >= self._WEIGHTS_MAX:
            self._weights.clear()
        self._weights[term] = out
        return out
