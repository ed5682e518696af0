"""Shared fixtures: keep this small and generic; areas add their own
``tests/<area>_fixtures.py`` and list it in ``pytest_plugins`` (one line each)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engram.embed.base import Embedder

pytest_plugins = ["stores", "server_fixtures", "pg_fixtures", "support.fixtures"]


@pytest.fixture(scope="session")
def embedder() -> Iterator[Embedder]:
    """The real default embedder, loaded once per test session."""
    from engram.embed.registry import get_embedder

    emb = get_embedder("default")
    yield emb
    emb.close()
