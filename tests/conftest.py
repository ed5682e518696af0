"""Shared fixtures: keep this small and generic; areas add their own
``tests/<area>_fixtures.py`` and list it in ``pytest_plugins`` (one line each)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engram.embed.base import Embedder

pytest_plugins = ["stores", "server_fixtures", "pg_fixtures", "support.fixtures",
                  "support.filelines"]


@pytest.fixture(scope="session")
def raw_embedder() -> Iterator[Embedder]:
    """The real default embedder, loaded once per test session."""
    from engram.embed.registry import get_embedder

    emb = get_embedder("default")
    yield emb
    emb.close()


@pytest.fixture(scope="session")
def embedder(raw_embedder: Embedder) -> Embedder:
    """:func:`raw_embedder` behind one in-memory cache for the session
    (:class:`~engram.embed.cache.CachedEmbedder`): the same vectors, but a text the case
    sets store again and again (their small talk, in every module) is embedded once."""
    from engram.embed.cache import CachedEmbedder

    return CachedEmbedder(raw_embedder, maxsize=200_000)
