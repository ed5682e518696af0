"""What a partition's row carries and what a search admits (:mod:`.partition`).

A row's filter attributes (:class:`RowAttrs`: item type, kind, status, agent, session,
event and record times) are evaluated inside a search as a boolean mask against a
:class:`RowFilter`, before ranking. :func:`hash64` keeps 64 bits of a vector's content
hash, so a search can read its head's stored vectors from the partition.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from ..models import ItemRef, Scope, SearchFilters
from ..timeutil import to_epoch

__all__ = ["INF", "STATUS_CODES", "TYPE_EPISODE", "TYPE_MEMORY", "RowAttrs", "RowFilter",
           "hash64"]

TYPE_EPISODE = 0
TYPE_MEMORY = 1
STATUS_CODES = {"active": 0, "superseded": 1, "deleted": 2}
INF = math.inf


def hash64(content_hash: str | None) -> int:
    """64 bits of a content hash (0: none given).

    The store contract does not require hex hashes: a hash whose first 16
    characters are not hex gets a BLAKE2b fingerprint of the whole string
    instead, so every string maps to the same number every time.
    """
    if not content_hash:
        return 0
    try:
        return int(content_hash[:16], 16)
    except ValueError:
        return int.from_bytes(
            hashlib.blake2b(content_hash.encode("utf-8"), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class RowAttrs:
    item_type: int  # TYPE_EPISODE | TYPE_MEMORY
    kind: str  # memory kind, or "episode"
    status: int  # STATUS_CODES; episodes are always active
    agent_id: str | None
    session_id: str | None
    event_ts: float  # episode occurred_at, memory valid_from or created_at
    created_ts: float
    expired_ts: float  # INF while active


@dataclass(frozen=True)
class RowFilter:
    """What a search admits; ``None`` fields do not filter."""

    agent_id: str | None = None
    session_id: str | None = None
    kinds: frozenset[str] | None = None  # includes "episode" to admit episodes
    start_ts: float | None = None
    end_ts: float | None = None
    as_of_ts: float | None = None
    include_inactive: bool = False
    allowed: frozenset[ItemRef] | None = None  # precomputed set (e.g. metadata filter)

    @classmethod
    def of(cls, scope: Scope, filters: SearchFilters,
           allowed: frozenset[ItemRef] | None = None) -> RowFilter:
        """The filter of a search of ``scope`` with ``filters`` in the scope's
        partition (a user's scope's agent and session are filters there);
        ``allowed``: the items a metadata filter admits."""
        return cls(
            agent_id=scope.agent_id if scope.user_id is not None else None,
            session_id=scope.session_id,
            kinds=filters.kinds,
            start_ts=to_epoch(filters.start),
            end_ts=to_epoch(filters.end),
            as_of_ts=to_epoch(filters.as_of),
            include_inactive=filters.include_inactive,
            allowed=allowed,
        )
