"""Read a SQLite database file from outside the store: full dumps and row counts."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def tables(path: str | Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        rows = con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
        return [r[0] for r in rows]
    finally:
        con.close()


def dump(path: str | Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (FTS shadow tables included), in rowid order."""
    con = sqlite3.connect(path)
    try:
        out: dict[str, list[tuple[Any, ...]]] = {}
        for name in tables(path):
            try:
                rows = con.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall()
            except sqlite3.OperationalError:  # WITHOUT ROWID shadow tables
                rows = sorted(con.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            out[name] = rows
        return out
    finally:
        con.close()


def counts(path: str | Path) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        return {
            name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in tables(path)
        }
    finally:
        con.close()
