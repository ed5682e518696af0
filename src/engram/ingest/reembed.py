"""Re-embedding: every item's vector made again by another model."""

from __future__ import annotations

from collections.abc import Callable

from ..embed.base import Embedder
from .commit import Committer

__all__ = ["reembed"]


def reembed(commit: Committer, embedder: Embedder, batch_size: int = 256,
            progress: Callable[[int], None] | None = None) -> int:
    """Embed every item (all tenants) whose vector is missing or was made by another
    model with ``embedder``, one atomic write per batch; then drop the other models'
    vectors and record ``embedder`` as the store's model. Returns items embedded.

    Interrupted, it resumes where it stopped: items already embedded by this
    model are not fetched again."""
    store = commit.store
    indexer = commit.indexer(embedder)
    done = 0
    for items in store.iter_items_for_reembed(embedder.model_id, batch_size):
        commit.reindex(items, indexer)
        done += len(items)
        if progress is not None:
            progress(len(items))
    store.drop_vectors_except(embedder.model_id)
    store.set_meta("embedding_model", embedder.model_id)
    return done
