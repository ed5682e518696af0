"""An on-disk cache of document embeddings, so benchmark reruns do not re-embed.

:class:`DiskCachedEmbedder` keeps the vectors of ``"document"`` inputs in one
SQLite file keyed by ``(model_id, content_hash(text))``. Query embeddings are
never cached: search latency in a benchmark always includes embedding the query.
A vector read back is the one the wrapped model produced (same bytes), so a
rerun ranks exactly as the first run did.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..embed.base import Embedder, InputType, WrappedEmbedder
from ..text import content_hash

__all__ = ["DiskCachedEmbedder"]


class DiskCachedEmbedder(WrappedEmbedder):
    """Wrap ``embedder``; document vectors persist in the SQLite file ``path``."""

    def __init__(self, embedder: Embedder, path: str | Path) -> None:
        super().__init__(embedder)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=60)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vec"
            " (model TEXT, hash TEXT, v BLOB, PRIMARY KEY (model, hash))"
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        items = list(texts)
        if input_type != "document" or not all(isinstance(t, str) for t in items):
            return self.inner.embed(items, input_type)
        keys = [content_hash(t) for t in items]
        model = self.model_id
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = list(dict.fromkeys(keys[i : i + 500]))
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT hash, v FROM vec WHERE model = ? AND hash IN ({marks})",  # noqa: S608
                    [model, *part],
                )
                for h, blob in rows:
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        todo = list(dict.fromkeys(k for k in keys if k not in found))
        if todo:
            first = {k: keys.index(k) for k in todo}
            vecs = self.inner.embed([items[first[k]] for k in todo], input_type)
            with self._lock:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vec VALUES (?, ?, ?)",
                    [(model, k, np.asarray(v, dtype=np.float32).tobytes())
                     for k, v in zip(todo, vecs, strict=True)],
                )
                self._db.commit()
            for k, v in zip(todo, vecs, strict=True):
                found[k] = np.asarray(v, dtype=np.float32)
        self.hits += len(items) - len(todo)
        self.misses += len(todo)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = found[k]
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()
        super().close()
