"""Named, ordered schema migrations, each applied in its own transaction.

A backend declares a list of :class:`Migration`; :func:`pending` tells which
ones a database still needs. Names are permanent: a released migration is
never edited or renamed, only followed by a new one. Names start with a
zero-padded number (``0004_job_result``), so they sort in declaration order
and the greatest applied name is the schema version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Migration", "pending"]


@dataclass(frozen=True)
class Migration:
    """``apply`` receives a DB-API connection/cursor inside an open transaction."""

    name: str
    apply: Callable[[Any], None]


def pending(migrations: Sequence[Migration], applied: Sequence[str]) -> list[Migration]:
    """Migrations not yet applied, in declaration order.

    Raises ``ValueError`` when the database knows a migration this code does not
    (a newer Engram wrote it) — running on would risk corrupting it.
    """
    names = [m.name for m in migrations]
    if len(set(names)) != len(names):
        raise ValueError("duplicate migration names")
    if names != sorted(names):
        raise ValueError("migration names must sort in declaration order (NNNN_name)")
    unknown = [a for a in applied if a not in names]
    if unknown:
        raise ValueError(
            f"database has migrations this Engram does not know: {', '.join(unknown)} "
            "(upgrade engramdb)"
        )
    done = set(applied)
    return [m for m in migrations if m.name not in done]
