"""PostgreSQL scale benchmark: ``python -m engram.bench.pgscale --n 1000000 --users 1000``.

Loads ``n`` memories over ``users`` users of one tenant through
:meth:`~engram.store.base.Store.write` (batches of ``--batch`` memories with
their vectors, HNSW deferred), builds the HNSW index, then measures vector
search through the store for a user holding ~1k memories (the exact path) and
for one holding ``min(100k, n/2)`` (the HNSW path): p50/p95/p99 and recall@10
against exact search of the same user. Prints ingest rate, build time, peak
RSS of this process and of the PostgreSQL server processes, and bytes on disk
per memory (tables with their indexes and TOAST).

Vectors are **synthetic** (no embedder: a million real embeddings would take
hours here): unit vectors drawn around ``--clusters`` random centres
(``--spread`` noise), so neighbourhoods exist as in real embeddings; queries
are drawn the same way. ``--spread 0`` is not allowed; a large spread gives
near-uniform random vectors, the worst case for any ANN index.

Uses ``--url`` (a database it may fill; tables land in a new schema that is
dropped afterwards unless ``--keep``) or, without it, a pgserver in ``--data``
(a temporary directory by default). ``--schema S --skip-load`` measures again
on a kept load. ``--vs-sqlite K`` instead puts the first K LoCoMo conversations
through :class:`~engram.Engram` on SQLite and on PostgreSQL (random embedder,
adds of 10 turns, interleaved so both share the machine's load) and compares
ingest and search (:func:`compare`). A command, not a test: it measures, it
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ..models import ItemRef, Memory, MemoryKind, Scope, SearchFilters
from ..store.base import VectorRecord, WriteBatch

__all__ = [
    "Comparison", "PgScaleResult", "SearchStats", "compare", "main", "real_vectors",
    "recall_real", "run",
]

MODEL = "bench:random"
TABLES = ("memories", "vectors", "episodes", "memory_versions")


@dataclass(frozen=True)
class SearchStats:
    """Latency (ms) and recall@10 against exact search of one user's searches."""

    memories: int
    p50: float
    p95: float
    p99: float
    recall: float


@dataclass
class PgScaleResult:
    n: int
    users: int
    dim: int
    ingest_seconds: float
    index_seconds: float
    search: dict[str, SearchStats] = field(default_factory=dict)
    table_bytes: dict[str, int] = field(default_factory=dict)
    client_rss_mb: float = 0.0
    server_rss_mb: float = 0.0

    def render(self) -> str:
        disk = sum(self.table_bytes.values())
        lines = [
            f"memories {self.n:,} over {self.users:,} users, dim {self.dim} (synthetic vectors)"]
        if self.ingest_seconds:
            lines += [f"ingest   {self.n / self.ingest_seconds:,.0f} memories/s"
                      f" ({self.ingest_seconds:.1f} s, HNSW deferred)",
                      f"build    HNSW {self.index_seconds:.1f} s"]
        for label, s in self.search.items():
            lines.append(f"search   {label} ({s.memories:,}): p50 {s.p50:.1f} ms, p95 {s.p95:.1f}"
                         f" ms, p99 {s.p99:.1f} ms, recall@10 {s.recall:.3f}")
        lines.append(f"RSS      bench {self.client_rss_mb:,.0f} MB peak;"
                     f" PostgreSQL processes {self.server_rss_mb:,.0f} MB now")
        lines.append(f"disk     {disk / max(self.n, 1):,.0f} B/memory ({disk / 1e6:,.0f} MB: "
                     + ", ".join(f"{t} {b / 1e6:,.0f}" for t, b in self.table_bytes.items())
                     + ")")
        return "\n".join(lines)


def _user_sizes(n: int, users: int) -> list[int]:
    big = min(100_000, n // 2)
    small = min(1_000, max(1, (n - big) // max(1, users - 1)))
    rest = n - big - small
    others = max(1, users - 2)
    sizes = [big, small] + [rest // others] * others
    sizes[-1] += n - sum(sizes)
    return sizes


class _Vectors:
    """Unit vectors around fixed random centres (see the module docstring)."""

    def __init__(self, dim: int, clusters: int, spread: float, seed: int = 1) -> None:
        self.rng = np.random.default_rng(seed)
        centres = self.rng.normal(size=(clusters, dim)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        self.spread = spread / np.sqrt(dim)

    def draw(self, k: int) -> np.ndarray:
        pick = self.centres[self.rng.integers(0, len(self.centres), size=k)]
        v = pick + self.rng.normal(scale=self.spread, size=pick.shape).astype(np.float32)
        out: np.ndarray = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
        return out


def _say(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def _server_pids(store: Any) -> list[int]:
    """The PostgreSQL server's processes (postmaster and children), from /proc;
    empty where they cannot be read (a remote server)."""
    try:
        row = store._q("SELECT pg_backend_pid() AS pid")[0]
        with open(f"/proc/{row['pid']}/stat") as f:
            postmaster = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return []
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if int(pid) == postmaster or ppid == postmaster:
            out.append(int(pid))
    return out


def _backend_pids(store: Any) -> list[int]:
    """The server processes of the store's open connections (its pool)."""
    return [int(r["pid"]) for r in store._q(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'"
        " AND application_name = current_setting('application_name')"
        " AND usename = current_user AND datname = current_database()")]


def _server_cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes ``pids`` have used so far."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def _server_rss_mb(store: Any) -> float:
    """Resident memory of the PostgreSQL server's processes, from /proc; 0 where
    it cannot be read (remote server)."""
    total = 0
    for pid in _server_pids(store):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1024.0


def _load(store: Any, sizes: list[int], vectors: _Vectors, batch: int) -> float:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    n = sum(sizes)
    started = time.perf_counter()
    pending = WriteBatch()
    i, step = 0, max(1, n // 10)
    for u, size in enumerate(sizes):
        scope = Scope(user_id=f"user{u}")
        vecs = vectors.draw(size)
        for j in range(size):
            when = t0 + timedelta(seconds=i)
            mem = Memory(id=f"m{i}", scope=scope, kind=MemoryKind.FACT,
                         text=f"memory {i} of user {u}", created_at=when, updated_at=when)
            pending.new_memories.append(mem)
            pending.vectors.append(VectorRecord(ItemRef("memory", mem.id), scope.tenant,
                                                MODEL, vecs[j], f"h{i}"))
            i += 1
            if len(pending.new_memories) >= batch:
                store.write(pending)
                pending = WriteBatch()
            if i % step == 0:
                el = time.perf_counter() - started
                _say(f"ingest {i:,}/{n:,} ({i / el:,.0f}/s)")
    if not pending.is_empty():
        store.write(pending)
    return time.perf_counter() - started


def _measure(store: Any, user: int, memories: int, vectors: _Vectors, queries: int,
             recall_queries: int) -> SearchStats:
    from ..store.postgres_vector import exact_search

    scope, times, hits, wanted = Scope(user_id=f"user{user}"), [], 0, 0
    qs = vectors.draw(queries)
    for k, q in enumerate(qs):
        s = time.perf_counter()
        got = store.vector_search(scope, q, MODEL, SearchFilters(), 10)
        times.append((time.perf_counter() - s) * 1000)
        if k < recall_queries:
            with store._conn() as conn:
                truth = exact_search(conn, scope, q, MODEL, q.size, SearchFilters(), 10)
            hits += len({c.ref for c in got} & {c.ref for c in truth})
            wanted += len(truth)
    times.sort()

    def pct(p: float) -> float:
        return times[min(len(times) - 1, int(p * len(times)))]

    return SearchStats(memories, pct(0.5), pct(0.95), pct(0.99), hits / max(1, wanted))


def run(url: str, n: int, users: int, dim: int, queries: int, batch: int, *, m: int = 16,
        ef_construction: int = 64, clusters: int = 2_000, spread: float = 1.0,
        recall_queries: int = 20, skip_load: bool = False,
        exact_limit: int = 10_000) -> PgScaleResult:
    from ..store.postgres import PostgresStore

    store = PostgresStore(url, auto_index=False, hnsw_m=m, hnsw_ef_construction=ef_construction,
                          exact_limit=exact_limit)
    try:
        store.migrate()
        sizes = _user_sizes(n, users)
        vectors = _Vectors(dim, clusters, spread)
        ingest = index = 0.0
        if not skip_load:
            _say(f"ingest {n:,} memories over {len(sizes):,} users")
            ingest = _load(store, sizes, vectors, batch)
            _say(f"build HNSW over {n:,} vectors")
            started = time.perf_counter()
            store.create_vector_indexes()
            index = time.perf_counter() - started
        result = PgScaleResult(n, users, dim, ingest, index)
        for label, u in (("small user", 1), ("big user", 0)):
            _say(f"search {label} ({sizes[u]:,} memories), {queries} queries")
            result.search[label] = _measure(store, u, sizes[u], vectors, queries, recall_queries)
        result.table_bytes = store.relation_bytes(TABLES)
        result.client_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        result.server_rss_mb = _server_rss_mb(store)
        return result
    finally:
        store.close()


@dataclass
class Comparison:
    """The same LoCoMo adds and questions through :class:`~engram.Engram` on SQLite
    and on PostgreSQL, interleaved (so both see the same machine load)."""

    messages: int
    adds: int
    ingest_s: dict[str, float] = field(default_factory=dict)
    search_ms: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    #: ``SELECT 1`` through the PostgreSQL store's pool, between the searches
    round_trip_ms: list[float] = field(default_factory=list)
    #: full searches: CPU seconds of this process, and of the PostgreSQL server's
    #: processes (PostgreSQL only; 0 for a remote server), per store
    search_cpu_s: dict[str, float] = field(default_factory=dict)
    server_cpu_s: float = 0.0
    #: of that, the store's own backends (the rest: autovacuum, WAL writer and
    #: checkpointer catching up with the ingest, not caused by the searches)
    backend_cpu_s: float = 0.0

    def render(self) -> str:
        sq, pg = self.ingest_s["sqlite"], self.ingest_s["postgresql"]
        lines = [f"{self.messages:,} LoCoMo turns in {self.adds:,} adds (random embedder)",
                 f"ingest   SQLite {self.messages / sq:,.0f} msg/s, PostgreSQL"
                 f" {self.messages / pg:,.0f} msg/s: PostgreSQL {pg / sq:.2f}x the time"]
        for what, by in self.search_ms.items():
            sq_t, pg_t = sorted(by["sqlite"]), sorted(by["postgresql"])

            def p(t: list[float], q: float) -> float:
                return t[min(len(t) - 1, int(q * len(t)))]

            lines.append(
                f"{what:<8} SQLite p50/p95 {p(sq_t, .5):.2f}/{p(sq_t, .95):.2f} ms, PostgreSQL"
                f" {p(pg_t, .5):.2f}/{p(pg_t, .95):.2f} ms: {p(pg_t, .5) / p(sq_t, .5):.2f}x"
                f" at p50, {p(pg_t, .95) / p(sq_t, .95):.2f}x at p95")
        n = len(self.search_ms.get("search", {}).get("sqlite", ()))
        if n and self.search_cpu_s:
            sq, pgc = (self.search_cpu_s[k] * 1000 / n for k in ("sqlite", "postgresql"))
            srv, own = (x * 1000 / n for x in (self.server_cpu_s, self.backend_cpu_s))
            lines.append(f"search CPU per query (load-free cost): SQLite {sq:.1f} ms, PostgreSQL"
                         f" {pgc:.1f} ms client + {own:.1f} ms its backends:"
                         f" {(pgc + own) / sq:.2f}x"
                         f" ({srv:.1f} ms with every server process: {(pgc + srv) / sq:.2f}x)")
        rt = sorted(self.round_trip_ms)
        if rt:
            lines.append(f"round trip (SELECT 1) p50 {rt[len(rt) // 2]:.2f} ms,"
                         f" p95 {rt[min(len(rt) - 1, int(.95 * len(rt)))]:.2f} ms")
        return "\n".join(lines)


def _ask(what: str, eg: Any, store: Any, scope: Scope, text: str, vec: np.ndarray,
         model_id: str) -> None:
    if what == "search":
        eg.search(text, scope=scope)
    elif what == "vector":
        store.vector_search(scope, vec, model_id, SearchFilters(), 50)
    else:
        store.lexical_search(scope, text, SearchFilters(), 50)


def compare(url: str, conversations: int, per_add: int = 10) -> Comparison:
    """Ingest ``conversations`` LoCoMo conversations (adds of ``per_add`` turns of
    one session) into a new SQLite file and a PostgreSQL store, then ask their
    questions: full search, and the store's vector and lexical search."""
    from ..engine import Engram
    from ..store import open_store
    from ..store.postgres import PostgresStore
    from .locomo import load_locomo
    from .paths import default_locomo_path
    from .scale import RandomEmbedder

    path = default_locomo_path()
    if path is None:
        raise SystemExit("LoCoMo data not found (see engram bench locomo --help)")
    convs = load_locomo(path).conversations[:conversations]
    embedder = RandomEmbedder()
    tmp = tempfile.mkdtemp(prefix="engram-pgcompare-")
    pg = PostgresStore(url)
    pg.migrate()
    stores = {"sqlite": open_store(f"sqlite:///{tmp}/e.db"), "postgresql": pg}
    engines = {k: Engram(store=v, embedder=embedder) for k, v in stores.items()}
    out = Comparison(0, 0, dict.fromkeys(engines, 0.0))
    try:
        for conv in convs:
            scope = Scope(user_id=conv.id)
            for session in conv.sessions:
                turns = list(session.turns)
                for i in range(0, len(turns), per_add):
                    chunk = [{"role": t.role, "content": t.text, "name": t.speaker,
                              "occurred_at": t.occurred_at} for t in turns[i:i + per_add]]
                    for name, eg in engines.items():
                        s = time.perf_counter()
                        eg.add(chunk, scope=Scope(user_id=conv.id, session_id=session.id))
                        out.ingest_s[name] += time.perf_counter() - s
                    out.messages += len(chunk)
                    out.adds += 1
            _say(f"ingested {conv.id}: {out.messages:,} turns so far")
            questions = [q.text for q in conv.questions]
            qvecs = embedder.embed(questions, "query")
            pids = _server_pids(pg)
            for what in ("search", "vector", "lexical"):
                times = out.search_ms.setdefault(what, {k: [] for k in engines})
                for text, vec in zip(questions, qvecs, strict=True):
                    for name, eg in engines.items():
                        pg_side = what == "search" and name != "sqlite"
                        own = _backend_pids(pg) if pg_side else []
                        srv, bck = ((_server_cpu_s(pids), _server_cpu_s(own)) if pg_side
                                    else (0.0, 0.0))
                        c, s = time.process_time(), time.perf_counter()
                        _ask(what, eg, stores[name], scope, text, vec, embedder.model_id)
                        times[name].append((time.perf_counter() - s) * 1000)
                        if what == "search":
                            out.search_cpu_s[name] = (out.search_cpu_s.get(name, 0.0)
                                                      + time.process_time() - c)
                            if pg_side:
                                out.server_cpu_s += _server_cpu_s(pids) - srv
                                out.backend_cpu_s += _server_cpu_s(own) - bck
                    s = time.perf_counter()
                    pg._q("SELECT 1")  # one round trip, same load
                    out.round_trip_ms.append((time.perf_counter() - s) * 1000)
        return out
    finally:
        for eg in engines.values():
            eg.close()


def real_vectors(paths: list[str], model: str) -> np.ndarray:
    """Distinct document vectors of ``model`` from embedding-cache files (the
    SQLite files :class:`~engram.bench.diskcache.DiskCachedEmbedder` keeps) and
    ``.npy`` files (float32 rows of that model, e.g. from
    ``scripts/embed_real_vectors.py``), in the order given."""
    import sqlite3

    seen: dict[str, bytes] = {}
    arrays: list[np.ndarray] = []
    for path in paths:
        if path.endswith(".npy"):
            arrays.append(np.load(path).astype(np.float32))
            continue
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for h, blob in db.execute("SELECT hash, v FROM vec WHERE model = ?", (model,)):
                seen.setdefault(h, blob)
        finally:
            db.close()
    if seen:
        arrays.insert(0, np.stack([np.frombuffer(b, dtype=np.float32)
                                   for _, b in sorted(seen.items())]))
    if not arrays:
        raise SystemExit(f"no vectors of {model} in {paths}")
    out = np.vstack(arrays)
    # exact duplicates (one text embedded twice) would tie in the exact ranking
    _, first = np.unique(out, axis=0, return_index=True)
    return out[np.sort(first)]


def recall_real(url: str, real: np.ndarray, n: int, queries: int,
                ef_values: list[int], query_vectors: np.ndarray | None = None) -> list[str]:
    """Recall@10 of :meth:`PostgresStore.vector_search` against exact search for
    one user holding ``n`` vectors: the real ones (minus ``queries`` held out as
    queries, unless ``query_vectors`` are given: real query embeddings, e.g. the
    data sets' questions), topped up to ``n`` with normalised mixtures of two
    random real vectors (said in the output). One line per ``ef_search``:
    recall, p50/p95."""
    from ..store.postgres import PostgresStore
    from ..store.postgres_vector import exact_search

    rng = np.random.default_rng(5)
    real = real[rng.permutation(len(real))]
    if query_vectors is not None:
        qs, data = query_vectors[:queries].astype(np.float32), real
    else:
        qs, data = real[:queries], real[queries:]
    real_n = min(len(data), n)
    if n > len(data):
        a = rng.uniform(0.2, 0.8, size=(n - len(data), 1)).astype(np.float32)
        i, j = rng.integers(0, len(data), size=(2, n - len(data)))
        mix = a * data[i] + (1 - a) * data[j]
        data = np.vstack([data, mix / np.linalg.norm(mix, axis=1, keepdims=True)])
    data = data[:n]
    scope, t0 = Scope(user_id="u"), datetime(2024, 1, 1, tzinfo=UTC)
    store = PostgresStore(url, auto_index=False)
    lines = [f"one user, {n:,} vectors: {real_n:,} real, {n - real_n:,} mixtures of two;"
             f" {len(qs)} " + ("real query embeddings" if query_vectors is not None
                               else "held-out real vectors") + " as queries"]
    try:
        store.migrate()
        _say(f"load {n:,} vectors")
        for start in range(0, n, 2_000):
            batch = WriteBatch()
            for k in range(start, min(n, start + 2_000)):
                when = t0 + timedelta(seconds=k)
                mem = Memory(id=f"m{k}", scope=scope, kind=MemoryKind.FACT, text=f"m {k}",
                             created_at=when, updated_at=when)
                batch.new_memories.append(mem)
                batch.vectors.append(VectorRecord(ItemRef("memory", mem.id), scope.tenant,
                                                  MODEL, data[k], f"h{k}"))
            store.write(batch)
        _say("build HNSW")
        started = time.perf_counter()
        store.create_vector_indexes()
        lines.append(f"HNSW build {time.perf_counter() - started:.1f} s")
        with store._conn() as conn:
            truth = [{c.ref for c in exact_search(conn, scope, q, MODEL, q.size,
                                                  SearchFilters(), 10)} for q in qs]
    finally:
        store.close()
    for ef in ef_values:
        st = PostgresStore(url, ef_search=ef)
        try:
            times, hits = [], 0
            for q, want in zip(qs, truth, strict=True):
                s = time.perf_counter()
                got = st.vector_search(scope, q, MODEL, SearchFilters(), 10)
                times.append((time.perf_counter() - s) * 1000)
                hits += len({c.ref for c in got} & want)
        finally:
            st.close()
        times.sort()
        lines.append(f"ef_search {ef:>4}: recall@10 {hits / (10 * len(qs)):.3f},"
                     f" p50 {times[len(times) // 2]:.1f} ms,"
                     f" p95 {times[min(len(times) - 1, int(.95 * len(times)))]:.1f} ms")
        _say(lines[-1])
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="engram-bench-pgscale", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--users", type=int, default=1_000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--recall-queries", type=int, default=20)
    p.add_argument("--batch", type=int, default=2_000)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=64)
    p.add_argument("--clusters", type=int, default=2_000)
    p.add_argument("--exact-limit", type=int, default=10_000,
                   help="PostgresStore(exact_limit=): scopes up to this size are searched exactly")
    p.add_argument("--spread", type=float, default=1.0)
    p.add_argument("--url", help="postgresql:// URL (default: a pgserver in --data)")
    p.add_argument("--data", help="pgserver data directory (default: a temporary one)")
    p.add_argument("--schema", help="schema to load into (default: a new bench_* schema)")
    p.add_argument("--keep", action="store_true", help="keep the schema (and pgserver running)")
    p.add_argument("--skip-load", action="store_true", help="measure a kept --schema again")
    p.add_argument("--real-vectors", nargs="+", metavar="CACHE",
                   help="instead: recall@10 on the real vectors of these embedding-cache"
                        " files (one user of --n vectors, --ef-values)")
    p.add_argument("--real-queries", metavar="NPY",
                   help="with --real-vectors: query vectors (.npy) instead of held-out ones")
    p.add_argument("--model", default="onnx:all-MiniLM-L6-v2-int8",
                   help="model id of --real-vectors")
    p.add_argument("--ef-values", default="40,64,100,200")
    p.add_argument("--vs-sqlite", type=int, metavar="K", default=0,
                   help="instead: ingest and search the first K LoCoMo conversations on"
                        " SQLite and on PostgreSQL, interleaved, and compare")
    a = p.parse_args(argv)
    if a.spread <= 0:
        p.error("--spread must be positive")
    import psycopg

    url = a.url
    if url is None:
        import pgserver

        data = a.data or tempfile.mkdtemp(prefix="engram-pgscale-")
        server = pgserver.get_server(  # type: ignore[attr-defined]
            data, cleanup_mode=None if a.keep else ("stop" if a.data else "delete"))
        url = str(server.get_uri())
        with psycopg.connect(url, autocommit=True) as conn:
            for k, v in (("maintenance_work_mem", "'4GB'"), ("synchronous_commit", "off"),
                         ("max_parallel_maintenance_workers", "2")):
                conn.execute(f"ALTER SYSTEM SET {k} = {v}")
            conn.execute("SELECT pg_reload_conf()")
    schema = a.schema or "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    _say(f"schema {schema} at {url}")
    sep = "&" if "?" in url else "?"
    try:
        store_url = f"{url}{sep}options=-csearch_path%3D{schema},public"
        if a.real_vectors:
            efs = [int(x) for x in a.ef_values.split(",")]
            qv = np.load(a.real_queries) if a.real_queries else None
            lines = recall_real(store_url, real_vectors(a.real_vectors, a.model), a.n,
                                min(a.queries, 500), efs, qv)
            print("\n".join(lines), flush=True)
            return
        if a.vs_sqlite:
            print(compare(store_url, a.vs_sqlite).render(), flush=True)
            return
        result = run(f"{url}{sep}options=-csearch_path%3D{schema},public", a.n, a.users, a.dim,
                     a.queries, a.batch, m=a.m, ef_construction=a.ef_construction,
                     clusters=a.clusters, spread=a.spread, recall_queries=a.recall_queries,
                     skip_load=a.skip_load, exact_limit=a.exact_limit)
        print(result.render(), flush=True)
    finally:
        if not a.keep:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
