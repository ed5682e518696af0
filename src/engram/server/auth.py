"""Who is calling: a bearer API key -> :class:`Caller` (tenant, admin), plus rate limits.

The tenant comes *only* from the key; request bodies cannot name one. With
``auth=False`` (loopback only, see :func:`engram.server.app.create_app`) every
request is the admin of tenant ``default``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ..errors import AuthError
from .keys import KeyStore
from .problems import Forbidden, RateLimited

__all__ = ["Authenticator", "Caller", "RateLimiter"]


@dataclass(frozen=True)
class Caller:
    tenant: str
    key_id: str | None
    admin: bool


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests, refilled continuously. 0 disables it."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        if self.per_minute <= 0:
            return
        rate = self.per_minute / 60.0
        t = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), t))
            tokens = min(float(self.per_minute), tokens + (t - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, t)
                wait = max(1, int((1.0 - tokens) / rate + 0.999))
                raise RateLimited(f"rate limit of {self.per_minute} requests per minute "
                                  f"reached; retry in {wait} s", wait)
            self._buckets[key] = (tokens - 1.0, t)
            if len(self._buckets) > 100_000:  # forget idle keys
                self._buckets = {k: v for k, v in self._buckets.items() if t - v[1] < 120}


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Caller`."""

    def __init__(self, keys: KeyStore | None, *, auth: bool, limiter: RateLimiter) -> None:
        self.keys = keys
        self.auth = auth
        self.limiter = limiter

    def caller(self, authorization: str | None, *, admin: bool = False) -> Caller:
        if not self.auth:
            who = Caller(tenant="default", key_id=None, admin=True)
        else:
            token = _bearer(authorization)
            if token is None:
                raise AuthError("missing API key: send 'Authorization: Bearer <key>'")
            key = self.keys.verify(token) if self.keys is not None else None
            if key is None:
                raise AuthError("unknown or revoked API key")
            who = Caller(tenant=key.tenant, key_id=key.id, admin=key.admin)
        if admin and not who.admin:
            raise Forbidden("this endpoint needs an admin key")
        self.limiter.check(who.key_id or "anonymous")
        return who


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
