"""Store URLs resolve through one registry (engram.store.registry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engram.errors import ConfigError
from engram.models import Scope
from engram.store import open_store, open_unmigrated, register_backend
from engram.store.base import Store
from engram.store.memory import MemoryStore
from engram.store.registry import backend_for, known_schemes
from engram.store.sqlite import SQLiteStore


def test_built_in_schemes_and_bare_paths(tmp_path: Path) -> None:
    assert {"sqlite", "postgresql", "postgres", "memory"} <= set(known_schemes())
    for url in (f"sqlite:///{tmp_path / 'a.db'}", str(tmp_path / "b.db"), "sqlite:///:memory:"):
        with_store = open_store(url)
        try:
            assert isinstance(with_store, SQLiteStore) and with_store.applied_migrations()
        finally:
            with_store.close()
    assert backend_for("postgres://x/y").name == "PostgreSQL"


@pytest.mark.parametrize("url", ["mysql://x/y", "redis://localhost"])
def test_unknown_scheme_is_a_config_error_naming_the_known_ones(url: str) -> None:
    with pytest.raises(ConfigError, match="known schemes: .*memory://"):
        open_store(url)


def test_open_unmigrated_applies_nothing_and_migrate_reports_it(tmp_path: Path) -> None:
    store = open_unmigrated(f"sqlite:///{tmp_path / 'u.db'}")
    try:
        assert store.applied_migrations() == []
        assert store.migrate() and store.migrate() == []
    finally:
        store.close()


def test_memory_urls_never_share_data() -> None:
    a, b = open_store("memory://same"), open_store("memory://same")
    a.set_meta("k", "v")
    assert b.get_meta("k") is None
    assert a.backend == "memory" and a.url == "memory://same"
    a.close()
    b.close()


def test_a_registered_backend_is_opened_and_migrated_by_its_scheme() -> None:
    opened: list[str] = []

    @register_backend("test-backend", "w2test")
    def _factory(url: str, **options: object) -> Store:
        opened.append(url)
        return MemoryStore(url)

    store = open_store("w2test://anything")
    try:
        assert opened == ["w2test://anything"] and store.applied_migrations()
        assert store.stats(Scope(tenant="t")).episodes == 0
    finally:
        store.close()
