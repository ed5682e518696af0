"""API keys: one tenant per key, stored hashed in a small SQLite file.

A key looks like ``egk_<key id>_<secret>``; the secret has 256 random bits.
Only ``sha256(key)`` is stored, so a stolen keys file yields no usable key.
:meth:`KeyStore.verify` looks the hash up and compares it in constant time.

The keys file lives beside the memory store (``<store>.keys.db``) and is
independent of the store's schema, so any store backend can use it.

Three kinds of key, each bound to one tenant:

* a plain key reads and writes its tenant's data;
* an ``admin`` key may also manage the keys *of its own tenant* through the API;
* an ``operator`` key (always also admin) may do store-wide work through the API:
  whole-store stats and the keys of every tenant. Operator keys are minted only by
  ``engram keys create --operator``, i.e. by someone with access to the keys file;
  the API never mints one.

A tenant never loses its last active admin key through the API (:class:`LastAdminKey`).
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

from ..errors import Conflict, InvalidInput, NotFound, StoreError
from ..timeutil import format_dt, now, parse_dt
from ..validation import check_id

__all__ = ["ApiKey", "CreatedKey", "KeyStore", "LastAdminKey", "hash_key", "keys_path_for"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    admin INTEGER NOT NULL DEFAULT 0,
    operator INTEGER NOT NULL DEFAULT 0,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""
PREFIX = "egk_"
_COLUMNS = "id, tenant, name, admin, created_at, revoked_at, operator"


class LastAdminKey(Conflict):
    """Revoking this key would leave its tenant without an active admin key (HTTP 409)."""

    code = "last_admin_key"


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
    """A stored key (never its secret). Data calls use ``tenant``; ``admin`` keys manage
    their tenant's keys; ``operator`` keys (also admin) do store-wide work."""

    id: str
    tenant: str
    name: str
    admin: bool
    created_at: datetime
    revoked_at: datetime | None = None
    operator: bool = False

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "name": self.name,
            "admin": self.admin,
            "operator": self.operator,
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
            cols = {str(r[1]) for r in self._db.execute("PRAGMA table_info(api_keys)")}
            if "operator" not in cols:  # a keys file from before operator keys
                self._db.execute("ALTER TABLE api_keys ADD COLUMN operator INTEGER NOT NULL"
                                 " DEFAULT 0")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open keys file {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, tenant: str, *, name: str = "", admin: bool = False,
               operator: bool = False) -> CreatedKey:
        """A new key of ``tenant``; an ``operator`` key is also an admin key."""
        check_id(tenant, "tenant")
        admin = admin or operator
        if len(name) > 200:
            raise InvalidInput("name must be at most 200 characters")
        key_id = secrets.token_hex(6)
        secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        at = now()
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO api_keys (id, tenant, name, admin, operator, key_hash,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (key_id, tenant, name, int(admin), int(operator), hash_key(secret),
                     format_dt(at)),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write keys file: {exc}") from exc
        return CreatedKey(ApiKey(key_id, tenant, name, admin, at, operator=operator), secret)

    def list(self, *, tenant: str | None = None, include_revoked: bool = True) -> list[ApiKey]:
        """Keys oldest first, of one ``tenant`` (None: every tenant)."""
        sql = f"SELECT {_COLUMNS} FROM api_keys"
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

    def revoke(self, key_id: str, *, tenant: str | None = None,
               keep_last_admin: bool = True) -> ApiKey:
        """Revoke a key (idempotent: revoking twice keeps the first time).

        NotFound if unknown, or if ``tenant`` is given and the key is another tenant's.
        With ``keep_last_admin`` (the API's way) an active admin key that is the last
        one of its tenant is kept and :class:`LastAdminKey` raised; nothing changes.
        The check and the update are one write transaction, so two concurrent
        revocations cannot both pass it.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    key = self._revoke_locked(key_id, tenant, keep_last_admin)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write keys file: {exc}") from exc
        return key

    def _revoke_locked(self, key_id: str, tenant: str | None, keep_last_admin: bool) -> ApiKey:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?",
                               (key_id,)).fetchone()
        if row is None or (tenant is not None and row[1] != tenant):
            raise NotFound(f"no API key {key_id!r}")
        key = _row(row)
        if not key.active:
            return key
        if keep_last_admin and key.admin:
            (others,) = self._db.execute(
                "SELECT COUNT(*) FROM api_keys WHERE tenant = ? AND admin = 1"
                " AND revoked_at IS NULL AND id != ?", (key.tenant, key.id)).fetchone()
            if not others:
                raise LastAdminKey(f"key {key.id!r} is the last admin key of tenant "
                                   f"{key.tenant!r}; create another admin key first")
        at = now()
        self._db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?",
                         (format_dt(at), key.id))
        return ApiKey(key.id, key.tenant, key.name, key.admin, key.created_at, at,
                      operator=key.operator)

    def verify(self, secret: str) -> ApiKey | None:
        """The active key whose secret is ``secret``, else None."""
        if not secret.startswith(PREFIX) or len(secret) > 200:
            return None
        digest = hash_key(secret)
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS}, key_hash FROM api_keys WHERE key_hash = ?", (digest,),
            ).fetchone()
        if row is None or not hmac.compare_digest(str(row[7]), digest):
            return None
        key = _row(row[:7])
        return key if key.active else None


def _row(r: tuple[object, ...]) -> ApiKey:
    revoked = parse_dt(str(r[5])) if r[5] is not None else None
    created = parse_dt(str(r[4]))
    assert created is not None
    return ApiKey(
        id=str(r[0]), tenant=str(r[1]), name=str(r[2]), admin=bool(r[3]),
        created_at=created, revoked_at=revoked, operator=bool(r[6]),
    )
