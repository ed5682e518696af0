"""SQLite schema, as named migrations (see :mod:`engram.store.migrations`)."""

from __future__ import annotations

import sqlite3

from .migrations import Migration
from .sqlite_changes import create_change_log, log_row_updates

__all__ = ["MIGRATIONS"]



def _exec_all(conn: sqlite3.Connection, sql: str) -> None:
    # executescript() would COMMIT; run statement by statement inside the
    # migration's transaction instead.
    for stmt in sql.split(";\n"):
        if stmt.strip():
            conn.execute(stmt)


_0001_core = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE episodes (
    rid INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    session_id TEXT,
    role TEXT NOT NULL,
    speaker TEXT,
    text TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    occurred_ts REAL NOT NULL,
    created_at TEXT NOT NULL,
    created_ts REAL NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    UNIQUE (tenant, id)
);
CREATE INDEX episodes_user ON episodes (tenant, user_id, occurred_ts);
CREATE INDEX episodes_agent ON episodes (tenant, agent_id, occurred_ts);
CREATE TABLE memories (
    rid INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    session_id TEXT,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    entities TEXT NOT NULL DEFAULT '[]',
    keywords TEXT NOT NULL DEFAULT '[]',
    valid_from TEXT,
    valid_to TEXT,
    event_ts REAL NOT NULL,
    created_at TEXT NOT NULL,
    created_ts REAL NOT NULL,
    updated_at TEXT NOT NULL,
    expired_at TEXT,
    expired_ts REAL,
    importance REAL NOT NULL DEFAULT 0.5,
    access_count INTEGER NOT NULL DEFAULT 0,
    last_accessed_at TEXT,
    source_episode_ids TEXT NOT NULL DEFAULT '[]',
    version INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'active',
    attribute TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    UNIQUE (tenant, id)
);
CREATE INDEX memories_user ON memories (tenant, user_id, status, created_ts);
CREATE INDEX memories_agent ON memories (tenant, agent_id, status, created_ts);
CREATE INDEX memories_attribute ON memories (tenant, attribute) WHERE attribute IS NOT NULL;
CREATE TABLE memory_versions (
    rid INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    memory_id TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    session_id TEXT,
    version INTEGER NOT NULL,
    operation TEXT NOT NULL,
    before TEXT,
    after TEXT,
    reason TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL,
    recorded_ts REAL NOT NULL,
    UNIQUE (tenant, memory_id, version)
);
CREATE INDEX memory_versions_user ON memory_versions (tenant, user_id);
CREATE INDEX memory_versions_agent ON memory_versions (tenant, agent_id);
CREATE TABLE vectors (
    rid INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    item_type TEXT NOT NULL CHECK (item_type IN ('episode', 'memory')),
    item_rid INTEGER NOT NULL,
    model_id TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    content_hash TEXT NOT NULL,
    UNIQUE (item_type, item_rid)
);
CREATE INDEX vectors_hash ON vectors (model_id, content_hash);
CREATE VIRTUAL TABLE fts USING fts5(
    body,
    tags,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE jobs (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    user_id TEXT,
    agent_id TEXT,
    session_id TEXT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    run_after_ts REAL NOT NULL,
    lease_until_ts REAL
);
CREATE INDEX jobs_runnable ON jobs (status, kind, run_after_ts)
"""

#: when memories were derived from an episode (NULL: not yet); see ``store.base.Fence``
_0002_episode_derived = "ALTER TABLE episodes ADD COLUMN derived_at TEXT"

#: a finished job keeps when it ended and what it did (``GET /v1/jobs/{id}``)
_0004_job_result = """
ALTER TABLE jobs ADD COLUMN finished_at TEXT;
ALTER TABLE jobs ADD COLUMN result TEXT
"""

#: the memory browser's timeline (``Store.timeline``): memories by event time, and the
#: few flagged items of a user without a scan
_0005_browse = """
CREATE INDEX memories_user_event ON memories (tenant, user_id, event_ts);
CREATE INDEX episodes_flagged ON episodes (tenant, user_id, occurred_ts)
    WHERE json_extract(metadata, '$.engram.flags') IS NOT NULL;
CREATE INDEX memories_flagged ON memories (tenant, user_id, event_ts)
    WHERE json_extract(metadata, '$.engram.flags') IS NOT NULL
"""

MIGRATIONS: list[Migration] = [
    Migration("0001_core", lambda conn: _exec_all(conn, _0001_core)),
    Migration("0002_episode_derived", lambda conn: _exec_all(conn, _0002_episode_derived)),
    # the change log that keeps other processes' in-memory indexes current
    Migration("0003_change_log", create_change_log),
    Migration("0004_job_result", lambda conn: _exec_all(conn, _0004_job_result)),
    Migration("0005_browse", lambda conn: _exec_all(conn, _0005_browse)),
    # updates the index does not hold (access statistics...) logged for the row cache
    Migration("0006_row_log", log_row_updates),
]
