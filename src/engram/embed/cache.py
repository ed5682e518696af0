"""Content hashes and an in-process LRU cache of embeddings.

:func:`content_hash` (defined once, in :mod:`engram.text`, re-exported here) is
the key Engram stores next to each vector (with the ``model_id``) so text that
was embedded once is never embedded again: sha256 hex of the text after NFKC
and whitespace collapsing. :class:`CachedEmbedder` does the same inside one
process, in memory; its vectors are emptied with the text memos after a forget
or a delete (:func:`engram.text.clear_text_caches`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..text import TextMemo, content_hash
from .base import Embedder, InputType, WrappedEmbedder

__all__ = ["CacheInfo", "CachedEmbedder", "content_hash"]


@dataclass(frozen=True)
class CacheInfo:
    """Counters of a :class:`CachedEmbedder` (``hits + misses`` = texts asked for)."""

    hits: int
    misses: int
    size: int
    maxsize: int


class CachedEmbedder(WrappedEmbedder):
    """Wrap ``embedder`` with an LRU cache of at most ``maxsize`` vectors.

    Keys are ``(input_type, content_hash(text))``; a batch embeds only its
    distinct unknown texts, in one call to the wrapped embedder. Returned
    arrays are fresh copies, so callers may modify them. ``model_id``,
    ``dim`` and token counting are the wrapped embedder's. Thread-safe; two
    threads missing on the same text may both embed it (the result is the same).
    ``maxsize=0`` disables caching. The vectors are a :class:`~engram.text.TextMemo`:
    a forget or a delete empties them (a forgotten text's vector does not stay).
    """

    def __init__(self, embedder: Embedder, maxsize: int = 4096) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        super().__init__(embedder)
        self.maxsize = maxsize
        #: least recently used first (a dict keeps insertion order)
        self._cache: TextMemo[tuple[str, str], np.ndarray] = TextMemo()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        items = list(texts)
        keys = [(input_type, content_hash(t)) if isinstance(t, str) else None for t in items]
        found: dict[int, np.ndarray] = {}
        with self._lock:
            for i, key in enumerate(keys):
                vec = None if key is None else self._cache.pop(key, None)
                if vec is not None:
                    self._cache[key] = found[i] = vec  # now the most recently used
        # first position of each distinct missing key; non-str items go to the
        # inner embedder unchanged so it raises its own error
        todo: dict[tuple[str, str] | int, int] = {}
        for i, key in enumerate(keys):
            if i not in found:
                todo.setdefault(key if key is not None else i, i)
        if todo:
            first = list(todo.values())
            vectors = self.inner.embed([items[i] for i in first], input_type)
            fresh = {keys[i]: vectors[j] for j, i in enumerate(first)}
        else:
            fresh = {}
        out = np.empty((len(items), self.inner.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = found[i] if i in found else fresh[key]
        with self._lock:
            self._hits += len(found)
            self._misses += len(items) - len(found)
            if self.maxsize:
                for key, vec in fresh.items():
                    if key is None:
                        continue
                    stored = vec.copy()
                    stored.flags.writeable = False
                    self._cache.pop(key, None)
                    self._cache[key] = stored
                over = len(self._cache) - self.maxsize
                if over > 0:
                    for old in list(self._cache)[:over]:
                        self._cache.pop(old, None)
        return out

    def cache_info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._cache), self.maxsize)

    def cache_clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._hits = self._misses = 0
