"""Per-tenant quotas: how many items (episodes + memories) and text bytes a tenant may hold.

:class:`QuotaGuard` is checked *before* a write: :meth:`QuotaGuard.admit`
raises :class:`~engram.errors.QuotaExceeded` (HTTP 403) when the write would
take the tenant over a ceiling, so a refused write changes nothing. Usage is
read from the store (:func:`tenant_usage`) and cached for ``refresh_seconds``;
between refreshes admitted writes are added to the cached figure, so a burst
cannot slip past the ceiling. Memories derived later (in the background) are
counted at the next refresh: the ceiling is exact for what callers send and
approximate (by one refresh period) for what Engram derives.

Usage is counted per tenant over every user and agent: items are rows of
``episodes`` plus ``memories`` (superseded ones included: they are kept as
history), bytes are the UTF-8 length of their texts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ConfigError, QuotaExceeded
from .store.base import Store, Usage

__all__ = ["Quota", "QuotaGuard", "Usage", "tenant_usage"]


@dataclass(frozen=True)
class Quota:
    """Ceilings per tenant; ``None`` means unlimited."""

    max_items: int | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_items", "max_bytes"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ConfigError(f"{name} must be a non-negative integer or None")


def tenant_usage(store: Store, tenant: str) -> Usage:
    """Items and text bytes ``tenant`` holds in ``store`` (:meth:`Store.tenant_usage`)."""
    return store.tenant_usage(tenant)


class QuotaGuard:
    """Admits or refuses writes against a :class:`Quota`; thread-safe."""

    def __init__(self, store: Store, quota: Quota, *, refresh_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.quota = quota
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Usage]] = {}

    def usage(self, tenant: str) -> Usage:
        """The tenant's usage as the guard sees it (refreshed when stale)."""
        with self._lock:
            return self._current(tenant)

    def _current(self, tenant: str) -> Usage:
        t = self._clock()
        hit = self._cache.get(tenant)
        if hit is None or t - hit[0] >= self.refresh_seconds:
            hit = (t, tenant_usage(self.store, tenant))
            self._cache[tenant] = hit
            if len(self._cache) > 10_000:  # forget the oldest tenants
                for key in sorted(self._cache, key=lambda k: self._cache[k][0])[:1000]:
                    del self._cache[key]
        return hit[1]

    def admit(self, tenant: str, items: int, nbytes: int) -> None:
        """Reserve room for a write of ``items`` items and ``nbytes`` text bytes.

        Raises :class:`QuotaExceeded` (and reserves nothing) when either ceiling
        would be passed."""
        if self.quota.max_items is None and self.quota.max_bytes is None:
            return
        with self._lock:
            used = self._current(tenant)
            q = self.quota
            if q.max_items is not None and used.items + items > q.max_items:
                raise QuotaExceeded(
                    f"tenant quota of {q.max_items} items reached ({used.items} held, "
                    f"{items} more asked)", limit="items", used=used.items, maximum=q.max_items)
            if q.max_bytes is not None and used.bytes + nbytes > q.max_bytes:
                raise QuotaExceeded(
                    f"tenant quota of {q.max_bytes} bytes reached ({used.bytes} held, "
                    f"{nbytes} more asked)", limit="bytes", used=used.bytes, maximum=q.max_bytes)
            self._cache[tenant] = (self._cache[tenant][0],
                                   Usage(used.items + items, used.bytes + nbytes))

    def forget_usage(self, tenant: str) -> None:
        """Drop the cached figure (after a delete or forget) so the next check re-reads it."""
        with self._lock:
            self._cache.pop(tenant, None)
