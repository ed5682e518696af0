"""Hand-labelled retrieval cases (``tests/fixtures/*.jsonl``) and how they are stored.

Each case is its own user. Its statements are said in short sessions of
small talk, one session per group of statements, so that a statement has
ordinary neighbours the way a real conversation's turns do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engram import Engram

__all__ = ["NOW", "SMALL_TALK", "add_in_small_talk", "load_cases"]

FIXTURES = Path(__file__).parent.parent / "fixtures"
#: the time questions are asked
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
SMALL_TALK = ["How was your weekend?", "Pretty relaxed, I read a book.",
              "Nice, anything else new?", "Not much, work has been busy."]


def load_cases(name: str) -> list[dict[str, Any]]:
    """The cases of ``tests/fixtures/<name>``, one JSON object a line."""
    text = (FIXTURES / name).read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def add_in_small_talk(
    eg: Engram, user_id: str, sessions: Sequence[tuple[Sequence[str], int]], id_prefix: str = ""
) -> None:
    """Store each ``(statements, days_before_NOW)`` as session ``s<n>``: two
    small-talk turns, the statements, two more. With ``id_prefix`` the turn
    ids are ``<prefix><n>:<i>`` (``i`` counts from 0 in the session)."""
    for n, (said, days_ago) in enumerate(sessions):
        t0 = NOW - timedelta(days=days_ago)
        turns = [*SMALL_TALK[:2], *said, *SMALL_TALK[2:]]
        eg.add(
            [{"text": t, "role": "user", "occurred_at": t0 + timedelta(seconds=i),
              **({"id": f"{id_prefix}{n}:{i}"} if id_prefix else {})}
             for i, t in enumerate(turns)],
            user_id=user_id, session_id=f"s{n}",
        )
