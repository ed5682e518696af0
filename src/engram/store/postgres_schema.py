"""PostgreSQL schema, as named migrations (see :mod:`engram.store.migrations`).

Names follow the SQLite ones (``0001_core``...). Each migration runs inside one
transaction, under an advisory lock, so two processes migrating the same
database at once apply every migration exactly once.

Layout notes (see ``docs/postgres.md``):

* Every table is keyed by ``tenant`` first (the Citus distribution column);
  every B-tree index starts with ``tenant`` then the scope column. The
  exceptions are the GIN full-text index and the per-model HNSW indexes
  (single-column access methods) and the cross-tenant lookups the contract
  asks for (embedding cache by content hash, job queue, a job by id).
  Every primary key starts with ``tenant`` (``jobs`` since ``0005``).
* Lexical search uses a ``tsvector`` column per item (``english`` config)
  with a GIN index; ``index_text`` keeps the text it was made from when that
  differs from ``text`` (so a store move can rebuild it); vectors live in
  ``vectors`` (untyped ``vector`` column, so several models/dimensions can
  coexist) with one partial HNSW expression
  index per ``(model_id, dim)``, created on first use (see ``vector_spaces``).
"""

from __future__ import annotations

from typing import Any

from .migrations import Migration

__all__ = ["FENCE_LOCK_CLASS", "MIGRATIONS", "MIGRATION_LOCK_ID"]

#: ``pg_advisory_xact_lock`` key taken by every migration transaction
MIGRATION_LOCK_ID = 7_401_223_001
#: class of the per-tenant ``(class, hashtext(tenant))`` advisory lock that orders
#: ``forget`` (exclusive) against fenced writes (shared); see ``store.base.Fence``
FENCE_LOCK_CLASS = 740_122_301

_0001_core = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE episodes (
    tenant text NOT NULL,
    id text NOT NULL,
    rid bigint GENERATED ALWAYS AS IDENTITY,
    user_id text,
    agent_id text,
    session_id text,
    role text NOT NULL,
    speaker text,
    text text NOT NULL,
    occurred_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    index_text text,
    tsv tsvector NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX episodes_user ON episodes (tenant, user_id, occurred_at, rid);
CREATE INDEX episodes_agent ON episodes (tenant, agent_id, occurred_at, rid);
CREATE INDEX episodes_tsv ON episodes USING gin (tsv);
CREATE TABLE memories (
    tenant text NOT NULL,
    id text NOT NULL,
    rid bigint GENERATED ALWAYS AS IDENTITY,
    user_id text,
    agent_id text,
    session_id text,
    kind text NOT NULL,
    text text NOT NULL,
    entities jsonb NOT NULL DEFAULT '[]',
    keywords jsonb NOT NULL DEFAULT '[]',
    valid_from timestamptz,
    valid_to timestamptz,
    event_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    expired_at timestamptz,
    importance double precision NOT NULL DEFAULT 0.5,
    access_count integer NOT NULL DEFAULT 0,
    last_accessed_at timestamptz,
    source_episode_ids jsonb NOT NULL DEFAULT '[]',
    version integer NOT NULL DEFAULT 1,
    status text NOT NULL DEFAULT 'active',
    attribute text,
    metadata jsonb NOT NULL DEFAULT '{}',
    index_text text,
    tsv tsvector NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX memories_user ON memories (tenant, user_id, status, created_at, rid);
CREATE INDEX memories_agent ON memories (tenant, agent_id, status, created_at, rid);
CREATE INDEX memories_attribute ON memories (tenant, user_id, attribute)
    WHERE attribute IS NOT NULL;
CREATE INDEX memories_tsv ON memories USING gin (tsv);
CREATE TABLE memory_versions (
    tenant text NOT NULL,
    memory_id text NOT NULL,
    version integer NOT NULL,
    rid bigint GENERATED ALWAYS AS IDENTITY,
    user_id text,
    agent_id text,
    session_id text,
    operation text NOT NULL,
    before jsonb,
    after jsonb,
    reason text NOT NULL DEFAULT '',
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, memory_id, version)
);
CREATE INDEX memory_versions_user ON memory_versions (tenant, user_id);
CREATE INDEX memory_versions_agent ON memory_versions (tenant, agent_id);
CREATE TABLE vectors (
    tenant text NOT NULL,
    item_type text NOT NULL CHECK (item_type IN ('episode', 'memory')),
    item_id text NOT NULL,
    model_id text NOT NULL,
    dim integer NOT NULL,
    embedding vector NOT NULL,
    content_hash text NOT NULL,
    PRIMARY KEY (tenant, item_type, item_id)
);
CREATE INDEX vectors_hash ON vectors (model_id, content_hash);
CREATE TABLE vector_spaces (
    model_id text NOT NULL,
    dim integer NOT NULL,
    index_name text,
    PRIMARY KEY (model_id, dim)
);
CREATE TABLE jobs (
    id text PRIMARY KEY,
    rid bigint GENERATED ALWAYS AS IDENTITY,
    tenant text NOT NULL,
    user_id text,
    agent_id text,
    session_id text,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL,
    run_after timestamptz NOT NULL,
    lease_until timestamptz
);
CREATE INDEX jobs_runnable ON jobs (status, kind, run_after, rid);
CREATE INDEX jobs_scope ON jobs (tenant, user_id);
"""


def _run(sql: str) -> Any:
    def apply(conn: Any) -> None:
        # no parameters: psycopg sends the script with the simple query
        # protocol, inside the caller's transaction
        conn.execute(sql)

    return apply


#: when memories were derived from an episode (NULL: not yet); see ``store.base.Fence``
_0002_episode_derived = "ALTER TABLE episodes ADD COLUMN derived_at timestamptz"

#: a finished job keeps when it ended and what it did (``GET /v1/jobs/{id}``)
_0003_job_result = ("ALTER TABLE jobs ADD COLUMN finished_at timestamptz,"
                    " ADD COLUMN result jsonb")

#: the memory browser's timeline (``Store.timeline``): memories by event time, and the
#: few flagged items of a user without a scan
_0004_browse = """
CREATE INDEX memories_user_event ON memories (tenant, user_id, event_at, rid);
CREATE INDEX episodes_flagged ON episodes (tenant, user_id, occurred_at, rid)
    WHERE (metadata -> 'engram' -> 'flags') IS NOT NULL;
CREATE INDEX memories_flagged ON memories (tenant, user_id, event_at, rid)
    WHERE (metadata -> 'engram' -> 'flags') IS NOT NULL
"""

#: ready for Citus (``docs/postgres.md``): the job queue is keyed by ``tenant`` first,
#: like every other distributed table (Citus requires the distribution column in
#: every primary/unique key); ``jobs_id`` serves ``finish_job``'s lookup of a
#: job's tenant by id, ``vectors_tenant_hash`` a search's embedding-cache lookup
#: within its tenant (``vectors_by_hash(..., tenant=)``)
_0005_distribution = """
ALTER TABLE jobs DROP CONSTRAINT jobs_pkey;
ALTER TABLE jobs ADD PRIMARY KEY (tenant, id);
CREATE INDEX jobs_id ON jobs (id);
CREATE INDEX vectors_tenant_hash ON vectors (tenant, model_id, content_hash)
"""

#: the job runner's running totals (``Store.add_counters``), keyed by ``tenant``
#: so a finished job increments one row of its own tenant (one shard on Citus)
#: instead of rewriting a store-wide ``meta`` row; totals recorded before this
#: migration stay in ``meta`` and are added in by ``counters()``
_0007_job_counters = """
CREATE TABLE job_counters (
    tenant text NOT NULL,
    key text NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (tenant, key)
)
"""

#: the change feed that keeps every process's in-memory user indexes current
#: (:mod:`engram.store.postgres_index`): triggers on ``episodes``, ``memories`` and
#: ``vectors`` add one row per changed item of a user, inside the writing
#: transaction, by any code path. A row holds numbers only: ``owner`` is
#: ``hashtext(user_id)``, ``item`` the store key ``rid * 2`` (episode) or
#: ``rid * 2 + 1`` (memory), ``xid`` the writing transaction (a reader asks for the
#: rows its last snapshot did not see, so commit order never hides a change).
#: Rows of ``owner`` 0 with a negative ``item`` are the pruning's markers (``at``
#: set). Keyed by ``tenant`` first (co-located on Citus); ``*_rid`` let a reader
#: fetch a changed item's current row by its key
_0008_change_feed = """
CREATE TABLE item_changes (
    tenant text NOT NULL,
    owner integer NOT NULL,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq bigint GENERATED ALWAYS AS IDENTITY,
    item bigint NOT NULL,
    at timestamptz,
    PRIMARY KEY (tenant, owner, xid, seq)
);
CREATE INDEX episodes_rid ON episodes (tenant, rid);
CREATE INDEX memories_rid ON memories (tenant, rid);
CREATE FUNCTION engram_item_changed() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.user_id IS NOT NULL THEN
        INSERT INTO item_changes (tenant, owner, item)
        VALUES (OLD.tenant, hashtext(OLD.user_id), OLD.rid * 2 + TG_ARGV[0]::int);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.user_id IS NOT NULL AND (TG_OP = 'INSERT'
            OR NEW.user_id IS DISTINCT FROM OLD.user_id OR NEW.tenant <> OLD.tenant) THEN
        INSERT INTO item_changes (tenant, owner, item)
        VALUES (NEW.tenant, hashtext(NEW.user_id), NEW.rid * 2 + TG_ARGV[0]::int);
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION engram_vector_changed() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    t text := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant ELSE NEW.tenant END;
    kind text := CASE WHEN TG_OP = 'DELETE' THEN OLD.item_type ELSE NEW.item_type END;
    name text := CASE WHEN TG_OP = 'DELETE' THEN OLD.item_id ELSE NEW.item_id END;
BEGIN
    IF kind = 'episode' THEN
        INSERT INTO item_changes (tenant, owner, item) SELECT x.tenant, hashtext(x.user_id),
            x.rid * 2 FROM episodes x WHERE x.tenant = t AND x.id = name
            AND x.user_id IS NOT NULL;
    ELSE
        INSERT INTO item_changes (tenant, owner, item) SELECT x.tenant, hashtext(x.user_id),
            x.rid * 2 + 1 FROM memories x WHERE x.tenant = t AND x.id = name
            AND x.user_id IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER episodes_changed AFTER INSERT OR DELETE OR UPDATE OF tenant, user_id,
    agent_id, session_id, text, index_text, occurred_at, created_at ON episodes
    FOR EACH ROW EXECUTE FUNCTION engram_item_changed('0');
CREATE TRIGGER memories_changed AFTER INSERT OR DELETE OR UPDATE OF tenant, user_id,
    agent_id, session_id, kind, text, index_text, event_at, created_at, expired_at, status
    ON memories FOR EACH ROW EXECUTE FUNCTION engram_item_changed('1');
CREATE TRIGGER vectors_changed AFTER INSERT OR DELETE OR UPDATE ON vectors
    FOR EACH ROW EXECUTE FUNCTION engram_vector_changed()
"""

#: a tenant-wide record of deletions, so a process learns of a forget or delete
#: of any user of a tenant at its next search of anyone in it
#: (:mod:`engram.store.postgres_index`): a statement that deletes episodes or
#: memories adds, inside its transaction, one row per user it deleted from
#: (``owner`` the user's ``hashtext``, 0 for agent-only rows; ``item`` -3), read
#: through the partial index by ``(tenant, xid)``. Numbers only, like the feed;
#: pruned with it
_0009_gone_marker = """
CREATE INDEX item_changes_gone ON item_changes (tenant, xid) WHERE item = -3;
CREATE FUNCTION engram_items_gone() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO item_changes (tenant, owner, item)
    SELECT DISTINCT g.tenant, coalesce(hashtext(g.user_id), 0), -3 FROM gone g;
    RETURN NULL;
END $$;
CREATE TRIGGER episodes_gone AFTER DELETE ON episodes REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION engram_items_gone();
CREATE TRIGGER memories_gone AFTER DELETE ON memories REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION engram_items_gone()
"""

#: updates of the columns only decoded rows hold (the in-process row cache,
#: :mod:`engram.store.postgres_rows`), not the search index: access statistics,
#: metadata, entities, importance, version... add a **row-only** feed row, ``item``
#: ``-4 - key`` (below the markers' -1..-3), so a search's catch-up drops the row
#: it holds and the index skips it (``item >= 0`` reads only index changes)
_0010_row_feed = """
CREATE FUNCTION engram_row_changed() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.user_id IS NOT NULL THEN
        INSERT INTO item_changes (tenant, owner, item)
        VALUES (NEW.tenant, hashtext(NEW.user_id), -4 - (NEW.rid * 2 + TG_ARGV[0]::int));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER episodes_row_changed AFTER UPDATE OF role, speaker, metadata ON episodes
    FOR EACH ROW EXECUTE FUNCTION engram_row_changed('0');
CREATE TRIGGER memories_row_changed AFTER UPDATE OF entities, keywords, valid_from, valid_to,
    updated_at, importance, access_count, last_accessed_at, source_episode_ids, version,
    attribute, metadata ON memories FOR EACH ROW EXECUTE FUNCTION engram_row_changed('1')
"""

MIGRATIONS: list[Migration] = [
    Migration("0001_core", _run(_0001_core)),
    Migration("0002_episode_derived", _run(_0002_episode_derived)),
    Migration("0003_job_result", _run(_0003_job_result)),
    Migration("0004_browse", _run(_0004_browse)),
    Migration("0005_distribution", _run(_0005_distribution)),
    Migration("0007_job_counters", _run(_0007_job_counters)),
    Migration("0008_change_feed", _run(_0008_change_feed)),
    Migration("0009_gone_marker", _run(_0009_gone_marker)),
    Migration("0010_row_feed", _run(_0010_row_feed)),
]
