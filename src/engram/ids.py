"""Identifiers: time-sortable ULIDs with a type prefix (``ep_``, ``mem_``, ``job_``).

Ids made in one process sort in the order they were made (monotonic ULIDs): within a
millisecond, or when the clock steps back, an id takes the last one's time and its
random part plus one. A search that breaks a tie of scores by id (two memories derived
from one message, a cut of equal lexical scores) then ranks the same way whenever the
same messages are stored in the same order, not by the luck of the random bits.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_id"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_RANDOM_BITS = 80
_lock = threading.Lock()
_last = (-1, 0)  # the last id's milliseconds and random part


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id(prefix: str) -> str:
    """``prefix_`` + 26 characters: 48-bit milliseconds then 80 random bits; greater
    than every id this process made before (see the module docstring)."""
    global _last
    with _lock:
        ms = time.time_ns() // 1_000_000
        last_ms, last_rand = _last
        if ms > last_ms:
            # a fresh random part, its top bit clear: room to count up within the ms
            rand = int.from_bytes(os.urandom(10), "big") >> 1
        elif last_rand + 1 < 1 << _RANDOM_BITS:
            ms, rand = last_ms, last_rand + 1
        else:  # the random part ran out within one millisecond: borrow the next one
            ms, rand = last_ms + 1, int.from_bytes(os.urandom(10), "big") >> 1
        _last = (ms, rand)
    return f"{prefix}_{_b32(ms, 10)}{_b32(rand, 16)}"
