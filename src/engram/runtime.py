"""What an engine holds besides its pipelines: its store, its embedder, access counts.

* :func:`open_engine_store`: the configured store, wrapped in
  :class:`~engram.trust.encryption.EncryptedStore` when ``encryption_key`` is set
  (and refused when its rows are encrypted and no key is given);
* :class:`EmbedderSlot`: the embedder, loaded on first use from the config and
  checked once against the model that made the store's vectors;
* :class:`AccessLog`: memory ids returned by searches, written to the store in
  batches (best-effort statistics, never acknowledged data).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from .config import Config
from .embed.base import Embedder
from .errors import ConfigError, ModelMismatch
from .store import open_store
from .store.base import Store
from .timeutil import now

__all__ = ["AccessLog", "EmbedderSlot", "open_engine_store"]

#: the store metadata key naming the model that made the vectors
MODEL_META = "embedding_model"


def open_engine_store(config: Config, store: Store | None = None) -> Store:
    """``store`` (or the configured one, opened here) ready for an engine: with
    ``encryption_key`` set, wrapped in :class:`EncryptedStore`; without it, a store
    whose rows are encrypted is closed and refused (:class:`ConfigError`)."""
    from .trust.encryption import ENCRYPTION_META, EncryptedStore

    if store is None:
        url = config.store_url()
        store = open_store(url, **({"synchronous": config.sqlite_synchronous}
                                   if url.startswith("sqlite") else {}))
    if isinstance(store, EncryptedStore):
        return store
    if config.encryption_key:
        try:
            return EncryptedStore(store, config.encryption_key,
                                  lexical=config.encryption_lexical)
        except Exception:
            store.close()
            raise
    if store.get_meta(ENCRYPTION_META) is not None:
        store.close()
        raise ConfigError("this store is encrypted: set encryption_key "
                          "(or ENGRAM_ENCRYPTION_KEY) to open it")
    return store


class EmbedderSlot:
    """The engine's embedder. One passed in belongs to the caller (often shared)
    and is never closed here; otherwise the configured one is loaded on first
    use and closed by :meth:`close`. :meth:`get` checks it once against the
    store's model (:class:`ModelMismatch` when they differ; the first model to
    embed into a store names it)."""

    def __init__(self, config: Config, store: Store, embedder: Embedder | None) -> None:
        self.config = config
        self.store = store
        self.current = embedder
        self.owned = embedder is None
        self._lock = threading.Lock()
        self._checked = False

    def load(self) -> Embedder:
        """The embedder (loading the configured one), without the model check."""
        if self.current is None:
            with self._lock:
                if self.current is None:
                    from .embed.registry import get_embedder, resolve_spec

                    opts: dict[str, Any] = {}
                    if self.config.embedder_base_url:
                        opts["base_url"] = self.config.embedder_base_url
                    if self.config.embedder_api_key:
                        opts["api_key"] = self.config.embedder_api_key
                    if resolve_spec(self.config.embedder).startswith("onnx:"):
                        opts["threads"] = self.config.embed_threads
                        opts["workers"] = self.config.embed_workers
                    self.current = get_embedder(self.config.embedder, **opts)
        return self.current

    def get(self) -> Embedder:
        """The embedder, checked against the store's model."""
        embedder = self.load()
        if not self._checked:
            stored = self.store.get_meta(MODEL_META)
            if stored is None:
                self.store.set_meta(MODEL_META, embedder.model_id)
            elif stored != embedder.model_id:
                raise ModelMismatch(
                    f"this store's vectors were made by {stored!r}, not "
                    f"{embedder.model_id!r}; run `engram reembed` to switch models"
                )
            self._checked = True
        return embedder

    def replace(self, embedder: Embedder) -> None:
        """Use ``embedder`` from now on (after re-embedding the store with it)."""
        self.current = embedder
        self._checked = True

    def close(self) -> None:
        if self.current is not None and self.owned:
            self.current.close()


class AccessLog:
    """Memory ids returned by searches, flushed to :meth:`Store.touch` every
    :data:`FLUSH_AT` ids and on :meth:`flush`."""

    FLUSH_AT = 256

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: dict[tuple[str, str], None] = {}
        self._lock = threading.Lock()

    def record(self, tenant: str, memory_ids: Iterable[str]) -> None:
        with self._lock:
            for mid in memory_ids:
                self._pending[(tenant, mid)] = None
            full = len(self._pending) >= self.FLUSH_AT
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        by_tenant: dict[str, list[str]] = {}
        for tenant, mid in pending:
            by_tenant.setdefault(tenant, []).append(mid)
        at = now()
        for tenant, ids in by_tenant.items():
            self.store.touch(tenant, ids, at)
