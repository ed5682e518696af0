"""The change log that keeps every process's in-memory indexes current.

Every process holding a SQLite store keeps in-memory partitions (vectors and
BM25 per user or agent, :mod:`engram.index.partition`). They must reflect
every committed write, whichever process or connection made it.

Triggers on ``episodes``, ``memories`` and ``vectors`` append one row to
``changes`` for each item a statement inserts, deletes or updates in a column
the index holds, inside the writing transaction: a write and its log rows
commit together or not at all, by any code path (``write``, ``forget``,
re-embedding, an older Engram's raw SQL), and ``changes.seq``
(``AUTOINCREMENT``) only grows. A log row names the item by its store key
``rid * 2`` (episode) or ``rid * 2 + 1`` (memory), the same number as its FTS
rowid: no id, scope or text, so forgetting a user leaves nothing of theirs in
the log.

A process records the last sequence number its partitions reflect. Before a
search it reads the log after it (:func:`read_changes`) and re-reads the
current row of each item named there, which it upserts into, or removes
from, every loaded partition. It skips that read while ``PRAGMA
data_version`` (other connections' commits) and its connection's
``total_changes`` (its own rows, trigger rows included) are what they were
just before its last read outside a transaction
(:meth:`~engram.store.sqlite_search.SQLiteSearch._catch_up`). Applying the
current state is idempotent, so a change read twice (a process's own write
included) is harmless, and no write can hide another: there is no single
counter that a process's own commit could advance past somebody else's.

Since migration ``0006`` a second kind of log row tells of an update of a
column the index does not hold but a decoded row does (access statistics,
entities, metadata...): ``row_only = 1``. The partitions skip those; the
cache of decoded rows (:mod:`~engram.store.sqlite_rowcache`) drops the item
for either kind, so it never serves a row older than the log.

The log keeps the last :data:`KEEP` rows (a trigger prunes older ones every
1024 rows). A process further behind than that is told so
(:func:`read_changes` returns ``None``) and reloads its partitions from the
tables instead.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

__all__ = ["KEEP", "Changes", "create_change_log", "log_row_updates", "prune_trigger_sql",
           "read_changes"]

#: how many log rows are kept (older ones are pruned)
KEEP = 100_000

#: item columns the in-memory index holds; an update of other columns
#: (access counts, ``derived_at``) is not a change for the index
_EPISODE_COLS = "user_id, agent_id, session_id, text, occurred_ts, created_ts"
_MEMORY_COLS = (
    "user_id, agent_id, session_id, kind, text, event_ts, created_ts, expired_ts, status"
)

_LOG_SQL = [
    "CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, item INTEGER NOT NULL)",
    "CREATE TRIGGER changes_episode_insert AFTER INSERT ON episodes"
    " BEGIN INSERT INTO changes (item) VALUES (NEW.rid * 2); END",
    f"CREATE TRIGGER changes_episode_update AFTER UPDATE OF {_EPISODE_COLS} ON episodes"
    " BEGIN INSERT INTO changes (item) VALUES (NEW.rid * 2); END",
    "CREATE TRIGGER changes_episode_delete AFTER DELETE ON episodes"
    " BEGIN INSERT INTO changes (item) VALUES (OLD.rid * 2); END",
    "CREATE TRIGGER changes_memory_insert AFTER INSERT ON memories"
    " BEGIN INSERT INTO changes (item) VALUES (NEW.rid * 2 + 1); END",
    f"CREATE TRIGGER changes_memory_update AFTER UPDATE OF {_MEMORY_COLS} ON memories"
    " BEGIN INSERT INTO changes (item) VALUES (NEW.rid * 2 + 1); END",
    "CREATE TRIGGER changes_memory_delete AFTER DELETE ON memories"
    " BEGIN INSERT INTO changes (item) VALUES (OLD.rid * 2 + 1); END",
    "CREATE TRIGGER changes_vector_insert AFTER INSERT ON vectors BEGIN INSERT INTO changes"
    " (item) VALUES (NEW.item_rid * 2 + (NEW.item_type = 'memory')); END",
    "CREATE TRIGGER changes_vector_update AFTER UPDATE ON vectors BEGIN INSERT INTO changes"
    " (item) VALUES (NEW.item_rid * 2 + (NEW.item_type = 'memory')); END",
    "CREATE TRIGGER changes_vector_delete AFTER DELETE ON vectors BEGIN INSERT INTO changes"
    " (item) VALUES (OLD.item_rid * 2 + (OLD.item_type = 'memory')); END",
]


#: columns of an episode or memory row that a decoded item holds and the index does not
#: (the index columns are logged by the triggers above); ``derived_at`` is neither
_EPISODE_ROW_COLS = "id, tenant, role, speaker, occurred_at, created_at, metadata"
_MEMORY_ROW_COLS = (
    "id, tenant, entities, keywords, valid_from, valid_to, created_at, updated_at, expired_at,"
    " importance, access_count, last_accessed_at, source_episode_ids, version, attribute,"
    " metadata"
)


def log_row_updates(conn: sqlite3.Connection) -> None:
    """Migration ``0006``: log updates of the columns only decoded rows hold, as
    ``row_only`` log rows (inside the caller's transaction)."""
    conn.execute("ALTER TABLE changes ADD COLUMN row_only INTEGER NOT NULL DEFAULT 0")
    for table, cols, key in (("episodes", _EPISODE_ROW_COLS, "NEW.rid * 2"),
                             ("memories", _MEMORY_ROW_COLS, "NEW.rid * 2 + 1")):
        conn.execute(
            f"CREATE TRIGGER changes_{table}_row AFTER UPDATE OF {cols} ON {table}"
            f" BEGIN INSERT INTO changes (item, row_only) VALUES ({key}, 1); END")


def prune_trigger_sql(keep: int = KEEP, every: int = 1024) -> str:
    """The trigger that, every ``every`` log rows, deletes all but the last ``keep``."""
    return (
        f"CREATE TRIGGER changes_prune AFTER INSERT ON changes WHEN NEW.seq % {int(every)} = 0"
        f" BEGIN DELETE FROM changes WHERE seq <= NEW.seq - {int(keep)}; END"
    )


def create_change_log(conn: sqlite3.Connection) -> None:
    """Migration: the ``changes`` table and its triggers (inside the caller's transaction)."""
    for stmt in [*_LOG_SQL, prune_trigger_sql()]:
        conn.execute(stmt)


@dataclass(frozen=True)
class Changes:
    """What :func:`read_changes` found: the log's head and the items changed after
    the asked sequence number up to it (``None``: the log no longer reaches back).

    ``items`` are those changed in a column the index holds; ``rows`` every item
    whose row changed at all (``items`` plus the ``row_only`` ones)."""

    head: int
    items: list[int] | None
    rows: list[int] | None = None


def read_changes(conn: sqlite3.Connection, after: int | None) -> Changes:
    """Items changed after sequence number ``after`` (``None``: only the head).

    Reads in one read transaction, so pruning cannot interleave. ``items`` is
    ``None`` when rows after ``after`` were pruned, or when the head went back
    (the file was replaced by an older copy): the caller must reload; ``rows`` is
    ``None`` exactly when ``items`` is.
    """
    own_tx = not conn.in_transaction
    if own_tx:
        conn.execute("BEGIN")
    try:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        head = int(row[0]) if row is not None else 0
        if after is None or head == after:
            return Changes(head, None) if after is None else Changes(head, [], [])
        if head < after:
            return Changes(head, None)
        first = conn.execute("SELECT min(seq) FROM changes").fetchone()[0]
        if first is None or int(first) > after + 1:
            return Changes(head, None)
        rows = conn.execute(
            "SELECT item, min(row_only) FROM changes WHERE seq > ? AND seq <= ? GROUP BY item",
            (after, head),
        ).fetchall()
        return Changes(head, [int(r[0]) for r in rows if not r[1]], [int(r[0]) for r in rows])
    finally:
        if own_tx:
            conn.execute("COMMIT")
