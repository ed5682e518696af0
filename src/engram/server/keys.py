"""API keys: one tenant per key, stored hashed in a small SQLite file.

A key looks like ``egk_<key id>_<secret>``; the secret has 256 random bits.
Only ``sha256(key)`` is stored, so a stolen keys file yields no usable key.
:meth:`KeyStore.verify` looks the hash up and compares it in constant time.

The keys file lives beside the memory store (``<store>.keys.db``) and is
independent of the store's schema, so any store backend can use it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import InvalidInput, NotFound, StoreError
from ..timeutil import format_dt, now, parse_dt
from ..validation import check_id

__all__ = ["ApiKey", "CreatedKey", "KeyStore", "hash_key", "keys_path_for"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    admin INTEGER NOT NULL DEFAULT 0,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""
PREFIX = "egk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()


def keys_path_for(store_url: str) -> Path:
    """Where the keys of a store live: beside a SQLite file, else in the data dir."""
    if store_url.startswith("sqlite:///"):
        db = Path(store_url[len("sqlite:///"):])
        return db.with_name(db.name + ".keys.db")
    from ..config import default_db_path

    return default_db_path().with_name("keys.db")


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never its secret). ``admin`` keys manage keys; data calls use ``tenant``."""

    id: str
    tenant: str
    name: str
    admin: bool
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "name": self.name,
            "admin": self.admin,
            "created_at": format_dt(self.created_at),
            "revoked_at": format_dt(self.revoked_at),
        }


@dataclass(frozen=True)
class CreatedKey:
    """A freshly created key: ``secret`` is shown once and never stored."""

    key: ApiKey
    secret: str


class KeyStore:
    """API keys in their own SQLite file. Thread-safe (one connection, one lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open keys file {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, tenant: str, *, name: str = "", admin: bool = False) -> CreatedKey:
        check_id(tenant, "tenant")
        if len(name) > 200:
            raise InvalidInput("name must be at most 200 characters")
        key_id = secrets.token_hex(6)
        secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        at = now()
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO api_keys (id, tenant, name, admin, key_hash, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (key_id, tenant, name, int(admin), hash_key(secret), format_dt(at)),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write keys file: {exc}") from exc
        return CreatedKey(ApiKey(key_id, tenant, name, admin, at), secret)

    def list(self, *, tenant: str | None = None, include_revoked: bool = True) -> list[ApiKey]:
        sql = "SELECT id, tenant, name, admin, created_at, revoked_at FROM api_keys"
        clauses, args = [], []
        if tenant is not None:
            clauses.append("tenant = ?")
            args.append(tenant)
        if not include_revoked:
            clauses.append("revoked_at IS NULL")
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at, id", args).fetchall()
        return [_row(r) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent: revoking twice keeps the first time). NotFound if unknown."""
        with self._lock:
            self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (format_dt(now()), key_id),
            )
            row = self._db.execute(
                "SELECT id, tenant, name, admin, created_at, revoked_at FROM api_keys WHERE id = ?",
                (key_id,),
            ).fetchone()
        if row is None:
            raise NotFound(f"no API key {key_id!r}")
        return _row(row)

    def verify(self, secret: str) -> ApiKey | None:
        """The active key whose secret is ``secret``, else None."""
        if not secret.startswith(PREFIX) or len(secret) > 200:
            return None
        digest = hash_key(secret)
        with self._lock:
            row = self._db.execute(
                "SELECT id, tenant, name, admin, created_at, revoked_at, key_hash FROM api_keys"
                " WHERE key_hash = ?",
                (digest,),
            ).fetchone()
        if row is None or not hmac.compare_digest(str(row[6]), digest):
            return None
        key = _row(row[:6])
        return key if key.active else None


def _row(r: tuple[object, ...]) -> ApiKey:
    revoked = parse_dt(str(r[5])) if r[5] is not None else None
    created = parse_dt(str(r[4]))
    assert created is not None
    return ApiKey(
        id=str(r[0]), tenant=str(r[1]), name=str(r[2]), admin=bool(r[3]),
        created_at=created, revoked_at=revoked,
    )
