"""MemoryBank-style forgetting: a memory's strength fades with time and grows with recall.

Following the Ebbinghaus curve used by MemoryBank (Zhong et al., 2023)::

    retention = exp(-t / S),   S = strength_days * (1 + access_count)

``t`` is the time since the memory was last recalled (``last_accessed_at``),
or since it was recorded when never recalled. Each recall both resets ``t``
and makes the memory fade more slowly. The search multiplies a memory's
score by ``(1 - weight) + weight * retention``; episodes (the raw record) do
not fade.
"""

from __future__ import annotations

import math
from datetime import datetime

from ..models import Memory

__all__ = ["decay_factor", "retention"]


def retention(memory: Memory, now: datetime, strength_days: float) -> float:
    """``exp(-t / S)`` in ``(0, 1]``; a memory recalled "in the future" counts as fresh."""
    since = memory.last_accessed_at or memory.created_at
    t = max(0.0, (now - since).total_seconds() / 86400.0)
    strength = strength_days * (1 + max(0, memory.access_count))
    return math.exp(-t / strength)


def decay_factor(memory: Memory, now: datetime, weight: float, strength_days: float) -> float:
    """The multiplier on a memory's score: ``1`` when ``weight`` is 0."""
    if weight <= 0:
        return 1.0
    return (1.0 - weight) + weight * retention(memory, now, strength_days)
