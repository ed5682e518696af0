"""On-disk cache of LLM responses: one small SQLite file in WAL mode.

The key is a SHA-256 of the canonical JSON of everything that shapes the
answer (endpoint path, model, messages, schema, temperature, max_tokens; see
:func:`request_key`). Only accepted responses are stored (a schema-valid
answer, never an error), so a hit is always usable.

The cache is an optimisation: once open, a failing read counts as a miss and
a failing write is skipped, both with a warning on the ``engram.llm`` logger.
Opening it (bad directory, not a database) raises
:class:`~engram.errors.StoreError`. One instance may be used from many
threads; several processes may share the file (WAL, 5 s busy timeout).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import StoreError

__all__ = ["ResponseCache", "request_key"]

log = logging.getLogger("engram.llm")

FILENAME = "llm-cache.sqlite3"
_WRITE_ATTEMPTS = 3
_KEY_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_responses (
    key        TEXT PRIMARY KEY,
    model      TEXT NOT NULL,
    created_at REAL NOT NULL,
    value      TEXT NOT NULL
)
"""


def request_key(request: Mapping[str, Any]) -> str:
    """Hex SHA-256 of ``request`` as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(
        {"v": _KEY_VERSION, **request}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """Key -> JSON object store in ``<cache_dir>/llm-cache.sqlite3``.

    ``path`` may name the directory (created if missing) or a ``.sqlite3``/
    ``.db`` file.
    """

    def __init__(self, path: str | Path) -> None:
        target = Path(path)
        if target.suffix not in {".sqlite3", ".sqlite", ".db"}:
            target = target / FILENAME
        self.path = target
        self._lock = threading.Lock()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                target, check_same_thread=False, isolation_level=None, timeout=5.0
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the LLM cache at {target}: {exc}") from exc

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored object, or ``None`` (miss, unreadable row, or database error)."""
        try:
            with self._lock:
                row = self._conn.execute(
                    "SELECT value FROM llm_responses WHERE key = ?", (key,)
                ).fetchone()
        except sqlite3.Error as exc:
            log.warning("LLM cache read failed (%s); treating as a miss", exc)
            return None
        if row is None:
            return None
        try:
            value = json.loads(row[0])
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: Mapping[str, Any], *, model: str = "") -> None:
        """Store (or replace) ``value``; a database error is logged and ignored.

        A write that finds the file locked by another process past the busy
        timeout is tried again a few times before it is given up.
        """
        payload = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                with self._lock:
                    self._conn.execute(
                        "INSERT OR REPLACE INTO llm_responses (key, model, created_at, value) "
                        "VALUES (?, ?, ?, ?)",
                        (key, model, time.time(), payload),
                    )
                return
            except sqlite3.Error as exc:
                if attempt < _WRITE_ATTEMPTS and "locked" in str(exc):
                    continue
                log.warning("LLM cache write failed (%s); response not cached", exc)
                return

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM llm_responses").fetchone()
        return int(count)

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        with self._lock:
            cursor = self._conn.execute("DELETE FROM llm_responses")
        return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()
