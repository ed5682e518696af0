"""Store backends for the contract suite: one factory per backend kind.

``make_store(kind, tmp_path)`` opens a fresh, migrated, empty store; the
``store`` fixture is parametrized over :data:`STORE_KINDS`. A backend that
cannot run here calls ``pytest.skip`` with the reason. To add a backend, add
its factory to :data:`STORE_FACTORIES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engram.store.base import Store

__all__ = ["STORE_FACTORIES", "STORE_KINDS", "make_store"]


def _sqlite(tmp_path: Path) -> Store:
    from engram.store import open_store

    return open_store(f"sqlite:///{tmp_path / 'contract.db'}")


def _sqlite_encrypted(tmp_path: Path) -> Store:
    from engram.store import open_store
    from engram.trust.encryption import EncryptedStore

    key = "q3bX1zP8cQm2YvK0sT9uW4eR7aL6nD5hJ2gF1iO0pMk="  # fixed test master key
    return EncryptedStore(open_store(f"sqlite:///{tmp_path / 'contract.db'}"), key)


def _postgres(tmp_path: Path) -> Store:
    from pg_fixtures import fresh_pg_url

    from engram.store import open_store

    return open_store(fresh_pg_url())


def _memory(tmp_path: Path) -> Store:
    from engram.store import open_store

    return open_store("memory://contract")


STORE_FACTORIES: dict[str, Callable[[Path], Store]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
    "sqlite-encrypted": _sqlite_encrypted,
    "memory": _memory,
}
STORE_KINDS = list(STORE_FACTORIES)


def make_store(kind: str, tmp_path: Path) -> Store:
    """A fresh, migrated, empty store of backend ``kind``."""
    return STORE_FACTORIES[kind](tmp_path)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store per test, for every backend kind."""
    s = make_store(request.param, tmp_path)
    try:
        yield s
    finally:
        s.close()
