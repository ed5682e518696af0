"""Who is calling: a bearer API key -> :class:`Caller` (tenant, admin, operator), plus limits.

The tenant comes *only* from the key; request bodies cannot name one. With
``auth=False`` (loopback only, see :func:`engram.server.app.create_app`) every
request is the admin of tenant ``default`` (not an operator).

Two limits, both token buckets refilled continuously (0 disables either):

* :class:`RateLimiter`: requests per minute per key, checked after authentication.
* :class:`FailureLimiter`: *failed* authentications (a key that is unknown or revoked)
  per client address. Once an address has used up its failures, every request from it
  gets 429 ``rate_limited`` with ``Retry-After`` before its key is even looked at, until
  the bucket refills. Successful requests never take from it; a request without any key
  is a plain 401 and takes nothing either (it guesses nothing).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ..errors import AuthError
from .keys import KeyStore
from .problems import Forbidden, RateLimited

__all__ = ["Authenticator", "Caller", "FailureLimiter", "RateLimiter", "managed_tenant"]


@dataclass(frozen=True)
class Caller:
    """The authenticated caller. ``operator`` implies ``admin``."""

    tenant: str
    key_id: str | None
    admin: bool
    operator: bool = False


class _Buckets:
    """Token buckets by name: ``per_minute`` tokens at most, refilled at that rate."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, name: str, *, only_check: bool = False) -> int:
        """0 if ``name`` has a token (taken unless ``only_check``), else seconds to wait."""
        if self.per_minute <= 0:
            return 0
        rate = self.per_minute / 60.0
        t = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(name, (float(self.per_minute), t))
            tokens = min(float(self.per_minute), tokens + (t - last) * rate)
            if tokens < 1.0:
                self._buckets[name] = (tokens, t)
                return max(1, int((1.0 - tokens) / rate + 0.999))
            self._buckets[name] = (tokens if only_check else tokens - 1.0, t)
            if len(self._buckets) > 100_000:  # forget names idle for a minute (full again)
                self._buckets = {k: v for k, v in self._buckets.items() if t - v[1] < 60.0}
        return 0


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests, refilled continuously. 0 disables it."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets = _Buckets(per_minute)

    def check(self, key: str) -> None:
        wait = self._buckets.take(key)
        if wait:
            raise RateLimited(f"rate limit of {self.per_minute} requests per minute "
                              f"reached; retry in {wait} s", wait)


class FailureLimiter:
    """Failed authentications per client address: ``per_minute`` of them, refilled
    continuously. 0 disables it. See the module docstring."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets = _Buckets(per_minute)

    def check(self, address: str) -> None:
        """Raise :class:`RateLimited` if ``address`` has no failure left; take nothing."""
        wait = self._buckets.take(address, only_check=True)
        if wait:
            raise RateLimited(f"too many failed authentications from this address "
                              f"({self.per_minute} per minute); retry in {wait} s", wait)

    def failed(self, address: str) -> None:
        """Count one failed authentication of ``address``."""
        self._buckets.take(address)


class Authenticator:
    """Turns an ``Authorization`` header (and the client's address) into a :class:`Caller`."""

    def __init__(self, keys: KeyStore | None, *, auth: bool, limiter: RateLimiter,
                 failures: FailureLimiter | None = None) -> None:
        self.keys = keys
        self.auth = auth
        self.limiter = limiter
        self.failures = failures or FailureLimiter(0)

    def caller(self, authorization: str | None, *, admin: bool = False,
               client: str | None = None) -> Caller:
        """The caller of a request. ``client`` is its address (None: unknown, which is
        limited as one address of its own)."""
        if not self.auth:
            who = Caller(tenant="default", key_id=None, admin=True)
        else:
            token = _bearer(authorization)
            if token is None:
                raise AuthError("missing API key: send 'Authorization: Bearer <key>'")
            address = client or "unknown"
            self.failures.check(address)
            key = self.keys.verify(token) if self.keys is not None else None
            if key is None:
                self.failures.failed(address)
                raise AuthError("unknown or revoked API key")
            who = Caller(tenant=key.tenant, key_id=key.id, admin=key.admin or key.operator,
                         operator=key.operator)
        if admin and not who.admin:
            raise Forbidden("this endpoint needs an admin key")
        self.limiter.check(who.key_id or "anonymous")
        return who


def managed_tenant(who: Caller, tenant: str | None) -> str | None:
    """Whose keys ``who`` may manage when a request names ``tenant``.

    A tenant admin: only its own tenant (naming another raises :class:`Forbidden`).
    An operator: the tenant named, or every tenant (None) when none is named.
    """
    if who.operator:
        return tenant
    if tenant is not None and tenant != who.tenant:
        raise Forbidden(f"an admin key manages only the keys of its own tenant "
                        f"({who.tenant!r}); store-wide key management needs an operator key")
    return who.tenant


def _bearer(header: str | None) -> str | None:
    """The key of `Bearer <key>` (or `Token <key>`, as mem0's SDK sends it)."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("bearer", "token") or not token.strip():
        return None
    return token.strip()
