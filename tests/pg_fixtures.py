"""A real PostgreSQL (with pgvector) for the tests, started once per session.

* ``ENGRAM_TEST_PG_URLS`` set (``.ci/run``: a server per pytest-xdist worker, space
  separated): worker ``gwN`` uses the ``N``-th (modulo their number), so no other worker
  moves its server's change marker.
* ``ENGRAM_TEST_PG_URL`` set: use that server (it must allow
  ``CREATE SCHEMA`` / ``CREATE DATABASE`` and have the ``vector`` extension
  available).
* Otherwise start one with the ``pgserver`` package (PostgreSQL 16 binaries
  and pgvector, no root needed) in a temporary data directory, on a Unix
  socket. When run as root (CI containers), pgserver itself creates a system
  user ``pgserver`` and runs ``initdb``/``postgres`` as that user, since
  PostgreSQL refuses to run as root.

Each test gets its own schema (``search_path=<schema>,public``; the
``vector`` extension lives in ``public``), dropped afterwards. When nothing
works the tests are skipped with the reason.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

__all__ = ["fresh_pg_url", "pg_base_url", "pg_store", "pg_url", "with_options"]

_state: dict[str, object] = {}


def with_options(url: str, **params: str) -> str:
    """``url`` with extra query parameters appended."""
    extra = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return url + ("&" if "?" in url else "?") + extra


def pg_base_url() -> str:
    """URL of the session's server (started on first call); skips when impossible."""
    if "url" in _state:
        return str(_state["url"])
    if "error" in _state:
        pytest.skip(str(_state["error"]))
    url = _given_url()
    try:
        if not url:
            url = _start_pgserver()
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
    except pytest.skip.Exception:
        raise
    except Exception as exc:  # any startup failure: skip all PostgreSQL tests
        _state["error"] = f"PostgreSQL not available: {type(exc).__name__}: {exc}"
        pytest.skip(str(_state["error"]))
    _state["url"] = url
    return url


def _given_url() -> str | None:
    """This worker's server of ``ENGRAM_TEST_PG_URLS``, else ``ENGRAM_TEST_PG_URL``."""
    urls = os.environ.get("ENGRAM_TEST_PG_URLS", "").split()
    if urls:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        n = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
        return urls[n % len(urls)]
    return os.environ.get("ENGRAM_TEST_PG_URL") or None


def _start_pgserver() -> str:
    try:
        import pgserver
    except ImportError:
        _state["error"] = (
            "pgserver not installed (pip install 'engramdb[test]') and no ENGRAM_TEST_PG_URL"
        )
        pytest.skip(str(_state["error"]))
    data = tempfile.mkdtemp(prefix="engram-pg-")
    # cleanup_mode="delete": stop the server and remove the data directory at exit
    server = pgserver.get_server(data, cleanup_mode="delete")
    _state["server"] = server
    url = str(server.get_uri())
    import psycopg

    # a throwaway server: trade durability for speed (reloadable settings)
    with psycopg.connect(url, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
        conn.execute("SELECT pg_reload_conf()")
    return url


def fresh_pg_url() -> str:
    """A URL whose tables land in a new, empty schema (dropped at exit)."""
    import psycopg

    base = pg_base_url()
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    schemas = _state.setdefault("schemas", [])
    assert isinstance(schemas, list)
    if not schemas:
        atexit.register(_drop_schemas)
    schemas.append(schema)
    return with_options(base, options=f"-csearch_path={schema},public")


def _drop_schemas() -> None:
    import psycopg

    schemas = _state.get("schemas") or []
    if "url" not in _state or not schemas:
        return
    try:
        with psycopg.connect(str(_state["url"]), autocommit=True) as conn:
            for schema in schemas:  # type: ignore[attr-defined]
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except Exception:  # the server may already be gone at interpreter exit
        pass


@pytest.fixture
def pg_url() -> str:
    """A fresh, empty schema on the session's PostgreSQL."""
    return fresh_pg_url()


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[object]:
    """A migrated :class:`~engram.store.postgres.PostgresStore` in a fresh schema."""
    from engram.store import open_store

    store = open_store(pg_url)
    try:
        yield store
    finally:
        store.close()
