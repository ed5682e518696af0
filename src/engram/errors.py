"""Every error Engram raises on purpose derives from :class:`EngramError`.

Hierarchy::

    EngramError
    ├── InvalidInput            the caller sent something unusable (HTTP 400 / CLI exit 2)
    │   ├── ScopeRequired       no user_id or agent_id
    │   ├── TextTooLong         text over the configured limit
    │   ├── NaiveDatetime       a datetime without a timezone (or not ISO 8601 text)
    │   ├── DateOutOfRange      a datetime outside 0001-01-01..9999-12-31 once in UTC
    │   └── ImportFormatError   malformed JSONL; carries the bad line numbers
    ├── NotFound                an id that does not exist in this scope (HTTP 404)
    ├── Conflict                a concurrent change won; retry (HTTP 409)
    ├── ModelMismatch           vectors of another embedding model; run ``reembed``
    ├── ConfigError             a setting that cannot be used (unknown provider, bad URL)
    │   └── StoreNotFound       a read-only command named a SQLite file that does not exist
    ├── MissingDependency       an optional extra is not installed; names the pip command
    ├── StoreError              the storage backend failed (server gone, I/O error)
    │   ├── DiskFull            no space left (or a size limit hit); nothing written (HTTP 507)
    │   └── ReadOnlyStore       the store cannot be written (read-only file, directory, mount)
    ├── ProviderError           an embedding or LLM provider failed (timeout, 5xx, bad JSON)
    ├── AuthError               missing, unknown or revoked API key (HTTP 401/403)
    │   └── Forbidden           a valid key that may not do this (HTTP 403)
    ├── RateLimited             too many requests for this key; ``retry_after`` s (HTTP 429)
    ├── ServerUnavailable       engram.Client could not reach the server (connect error, timeout)
    └── QuotaExceeded           a tenant's memory or byte quota is full (HTTP 403)

Third-party exceptions are mapped at the boundary where they occur
(``sqlite3.Error`` -> :class:`StoreError`, ``httpx.HTTPError`` -> :class:`ProviderError`).
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "Conflict",
    "DateOutOfRange",
    "DiskFull",
    "EngramError",
    "Forbidden",
    "ImportFormatError",
    "InvalidInput",
    "MissingDependency",
    "MetaMoved",
    "ModelMismatch",
    "NaiveDatetime",
    "NotFound",
    "ProviderError",
    "QuotaExceeded",
    "RateLimited",
    "ReadOnlyStore",
    "ScopeRequired",
    "ServerUnavailable",
    "StoreError",
    "StoreNotFound",
    "TextTooLong",
]


class EngramError(Exception):
    """Root of every error Engram raises on purpose.

    ``code`` is a stable machine-readable identifier used by the REST API and
    ``--json`` CLI output; ``status`` is the matching HTTP status.
    """

    code = "engram_error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(EngramError):
    code = "invalid_input"
    status = 400


class ScopeRequired(InvalidInput):
    code = "scope_required"


class TextTooLong(InvalidInput):
    code = "text_too_long"
    status = 413


class NaiveDatetime(InvalidInput):
    code = "naive_datetime"


class DateOutOfRange(InvalidInput):
    """A datetime Engram cannot store: its UTC instant falls outside
    ``0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z`` (e.g.
    ``0001-01-01T00:00:00+05:00``), or ISO text names year 0 or a year past 9999.
    Every instant inside that range is accepted and reads back unchanged."""

    code = "date_out_of_range"


class ImportFormatError(InvalidInput):
    """Malformed import data. ``errors`` lists ``(line_number, reason)``; nothing was written."""

    code = "import_format"

    def __init__(self, message: str, errors: list[tuple[int, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class NotFound(EngramError):
    code = "not_found"
    status = 404


class Conflict(EngramError):
    code = "conflict"
    status = 409


class MetaMoved(Conflict):
    """A store-wide setting a write's content depends on (``WriteBatch.meta_expect``,
    e.g. the wrapped data key its rows were sealed with) changed before the write
    committed: nothing was written. Retryable: re-read the setting and write again."""


class ModelMismatch(EngramError):
    code = "model_mismatch"
    status = 409


class ConfigError(EngramError):
    code = "config_error"
    status = 500


class MissingDependency(ConfigError):
    code = "missing_dependency"


class StoreNotFound(ConfigError):
    """A command that only reads (or edits what exists) named a SQLite store file
    that does not exist, e.g. a mistyped ``--db``; nothing was created."""

    code = "store_not_found"
    status = 404


class StoreError(EngramError):
    code = "store_error"
    status = 503


class DiskFull(StoreError):
    """The disk (or the database's size limit) is full. The failed call wrote
    nothing; the store stays usable and the call can be retried once space returns."""

    code = "disk_full"
    status = 507


class ReadOnlyStore(StoreError):
    """The store cannot be written: a read-only file, directory or mount (reads work)."""

    code = "read_only"
    status = 503


class ProviderError(EngramError):
    code = "provider_error"
    status = 502


class AuthError(EngramError):
    code = "unauthorized"
    status = 401


class Forbidden(AuthError):
    """A valid key that may not do this (e.g. a tenant key on an admin endpoint)."""

    code = "forbidden"
    status = 403


class RateLimited(EngramError):
    """Too many requests for this key in the current minute; retry after ``retry_after`` s."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerUnavailable(EngramError):
    """:class:`engram.Client` could not get an answer: the connection failed or timed
    out (after its retries). A write may or may not have happened; re-sending messages
    with client ``id`` values is safe."""

    code = "server_unavailable"
    status = 503


class QuotaExceeded(EngramError):
    """The write would take a tenant over its quota (items or bytes); nothing was written.

    ``limit`` names the quota (``"items"`` or ``"bytes"``); ``used`` and ``maximum``
    are the tenant's usage before the write and the configured ceiling."""

    code = "quota_exceeded"
    status = 403

    def __init__(self, message: str, *, limit: str = "", used: int = 0, maximum: int = 0) -> None:
        super().__init__(message)
        self.limit = limit
        self.used = used
        self.maximum = maximum
