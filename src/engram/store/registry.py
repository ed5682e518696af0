"""Storage backends, found through one registry: a store URL's scheme names its backend.

``sqlite:///path/to.db`` (or a bare file path), ``postgresql://...`` (also
``postgres://``) and ``memory://`` (:mod:`engram.store.memory`, gone on close)
are built in. Backends register with
:func:`register_backend`; the built-ins below use the same decorator. A
factory imports its backend lazily, so a missing optional package surfaces as
:class:`~engram.errors.MissingDependency` naming the ``pip install`` command,
only when that backend is asked for.

Adding a backend: write its module(s) under ``engram/store/``, register a
factory here, and add it to the contract suite's factories (``tests/stores.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, MissingDependency
from .base import Store

__all__ = ["Backend", "backend_for", "known_schemes", "open_store", "open_unmigrated",
           "register_backend", "sqlite_path"]

#: ``factory(url, **options)`` builds the store, not yet migrated
Factory = Callable[..., Store]


@dataclass(frozen=True)
class Backend:
    """A registered backend: the URL schemes it serves, its factory and the pip
    command printed when its import fails (``""``: nothing to install)."""

    name: str
    schemes: tuple[str, ...]
    factory: Factory
    install: str = ""


_BACKENDS: dict[str, Backend] = {}


def register_backend(
    name: str, *schemes: str, install: str = ""
) -> Callable[[Factory], Factory]:
    """Decorator registering ``factory(url, **options) -> Store`` for URLs of ``schemes``.

    Registering a scheme again replaces the earlier backend."""
    if not schemes or any(not s or "://" in s for s in schemes):
        raise ValueError(f"invalid schemes {schemes!r} for backend {name!r}")

    def decorate(factory: Factory) -> Factory:
        backend = Backend(name, tuple(schemes), factory, install)
        for scheme in schemes:
            _BACKENDS[scheme] = backend
        return factory

    return decorate


def known_schemes() -> list[str]:
    """Registered URL schemes, sorted."""
    return sorted(_BACKENDS)


def backend_for(url: str) -> Backend:
    """The backend serving ``url``; a bare path (no ``://``) is a SQLite file.

    Raises :class:`ConfigError` for an unknown scheme."""
    scheme = url.partition("://")[0] if "://" in url else "sqlite"
    backend = _BACKENDS.get(scheme)
    if backend is None:
        schemes = ", ".join(f"{s}://" for s in known_schemes())
        raise ConfigError(f"unsupported store URL {url!r} (known schemes: {schemes},"
                          " or a file path)")
    return backend


def open_unmigrated(url: str, **options: Any) -> Store:
    """Open the store at ``url`` without applying migrations (``engram migrate``
    reports what it applies). ``options`` go to the backend's constructor.

    Raises :class:`ConfigError` for an unknown scheme and
    :class:`MissingDependency` when the backend's package is not installed."""
    backend = backend_for(url)
    try:
        return backend.factory(url, **options)
    except ImportError as exc:
        hint = f": {backend.install}" if backend.install else ""
        raise MissingDependency(
            f"{backend.name} support needs {exc.name or 'a missing package'}{hint}"
        ) from exc


def open_store(url: str, **options: Any) -> Store:
    """:func:`open_unmigrated`, then apply pending migrations (the store is
    closed again if they fail)."""
    store = open_unmigrated(url, **options)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


def sqlite_path(url: str) -> str | None:
    """The file a SQLite store URL (or bare path) names; ``None`` for an in-memory
    database or another backend. Never touches the file."""
    if url.startswith("sqlite://"):
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url[len("sqlite://") :]
    elif "://" in url:
        return None
    else:
        path = url
    return None if path in ("", ":memory:") else path


# -- built-in backends -----------------------------------------------------------
@register_backend("SQLite", "sqlite")
def _sqlite(url: str, **options: Any) -> Store:
    from .sqlite import SQLiteStore

    return SQLiteStore(sqlite_path(url) or ":memory:", **options)


@register_backend("PostgreSQL", "postgresql", "postgres",
                  install="pip install 'engramdb[postgres]'")
def _postgres(url: str, **options: Any) -> Store:
    from .postgres import PostgresStore

    return PostgresStore(url, **options)


@register_backend("in-memory", "memory")
def _memory(url: str, **options: Any) -> Store:
    from .memory import MemoryStore

    return MemoryStore(url, **options)
