"""Verified forgetting: the audit record of a hard delete, and the proof behind it.

:func:`verified_forget` wraps :meth:`Store.forget` with a verification pass:

1. Before deleting, it collects the subject: ids and texts of every episode,
   memory and memory version in the scope (kept in memory only, never logged).
2. ``store.forget(scope)`` deletes rows, vectors (the embedding cache is the
   vectors table, keyed by content hash, so the subject's vectors go with their
   items), FTS entries and queued jobs, drops the in-memory partition indexes
   and checkpoints the WAL.
3. The LLM response cache (``llm_cache_dir``) is purged: ``"scoped"`` deletes
   every entry whose stored response mentions one of the subject's ids or
   texts (the request prompts are only stored as a SHA-256 key), ``"all"``
   empties it, ``"keep"`` leaves it. Deletes use ``secure_delete`` and a WAL
   checkpoint so the bytes are overwritten.
4. Verification: ``store.remaining(scope)`` must be all zero; ``list`` and a
   lexical+vector search in the scope must return nothing; and, for a SQLite
   store no larger than ``scan_limit`` bytes, the raw bytes of the database
   file and its ``-wal`` must not contain any of the subject's texts (or the
   caller's ``markers``) unless another live row still holds that same text.

The :class:`ForgetAudit` record holds no personal content: the scope is a
salted SHA-256 (a random per-store salt kept in the store's ``meta`` table),
the rest are counts and booleans.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import InvalidInput
from .models import Scope, SearchFilters
from .timeutil import format_dt, now

if TYPE_CHECKING:
    from .engine import Engram
    from .store.base import Store

__all__ = ["ForgetAudit", "Subject", "purge_llm_cache", "scan_bytes", "scope_digest",
           "verified_forget"]

SALT_KEY = "audit_salt"
MIN_NEEDLE = 8  # shorter texts are too common to prove anything about a raw file
DEFAULT_SCAN_LIMIT = 256 * 1024 * 1024

CacheMode = Literal["scoped", "all", "keep"]


@dataclass
class ForgetAudit:
    """The audit record of one ``forget``. No ids or text in the clear.

    ``scope_hash`` is ``sha256(salt || canonical scope JSON)``; ``counts`` are
    rows removed per table/index; ``remaining`` rows still found per
    table/index (all zero when verified); ``caches`` entries dropped per cache;
    ``raw_scan`` is ``True`` (file bytes clean), ``False`` (a leftover was
    found) or ``None`` (not a SQLite file, or larger than the scan limit).
    """

    scope_hash: str
    counts: dict[str, int]
    remaining: dict[str, int]
    caches: dict[str, int]
    search_hits: int
    raw_scan: bool | None
    raw_leftovers: int
    verified: bool
    at: datetime = field(default_factory=now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope_hash": self.scope_hash,
            "counts": dict(self.counts),
            "remaining": dict(self.remaining),
            "caches": dict(self.caches),
            "search_hits": self.search_hits,
            "raw_scan": self.raw_scan,
            "raw_leftovers": self.raw_leftovers,
            "verified": self.verified,
            "at": format_dt(self.at),
        }


@dataclass
class Subject:
    """What a scope holds before it is forgotten (in memory only)."""

    ids: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)

    def needles(self, extra: Iterable[str] = ()) -> list[str]:
        """Distinct strings worth looking for in raw bytes, longest first."""
        found = {t for t in (*self.texts, *extra) if len(t.encode("utf-8")) >= MIN_NEEDLE}
        return sorted(found, key=len, reverse=True)


def scope_digest(store: Store, scope: Scope) -> str:
    """Salted SHA-256 of the scope; the salt is created once per store."""
    salt = store.get_meta(SALT_KEY)
    if salt is None:
        salt = secrets.token_hex(16)
        store.set_meta(SALT_KEY, salt)
    canonical = json.dumps(scope.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((salt + canonical).encode("utf-8")).hexdigest()


def collect_subject(store: Store, scope: Scope) -> Subject:
    """Ids and texts of every episode, memory and version in ``scope``."""
    sub = Subject()
    for rec in store.iter_records(scope):
        for key in ("id", "memory_id"):
            if isinstance(rec.get(key), str):
                sub.ids.add(rec[key])
        if isinstance(rec.get("text"), str):
            sub.texts.add(rec["text"])
        for key in ("before", "after"):
            snap = rec.get(key)
            if isinstance(snap, dict) and isinstance(snap.get("text"), str):
                sub.texts.add(snap["text"])
    return sub


def purge_llm_cache(path: str | Path, needles: Sequence[str], mode: CacheMode) -> int:
    """Delete LLM-cache entries that mention any of ``needles`` (or all of them).

    ``path`` is the cache directory or file (see :class:`engram.llm.cache.
    ResponseCache`); a missing cache counts 0. Returns entries deleted."""
    if mode == "keep":
        return 0
    target = Path(path)
    if target.suffix not in {".sqlite3", ".sqlite", ".db"}:
        from .llm.cache import FILENAME

        target = target / FILENAME
    if not target.exists():
        return 0
    con = sqlite3.connect(target, isolation_level=None, timeout=5.0)
    try:
        con.execute("PRAGMA secure_delete=ON")
        if mode == "all":
            deleted = con.execute("DELETE FROM llm_responses").rowcount
        else:
            doomed = [
                key for key, value in con.execute("SELECT key, value FROM llm_responses")
                if any(n in value or json.dumps(n)[1:-1] in value for n in needles)
            ]
            deleted = 0
            for i in range(0, len(doomed), 500):
                chunk = doomed[i : i + 500]
                deleted += con.execute(
                    f"DELETE FROM llm_responses WHERE key IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).rowcount
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted
    except sqlite3.Error:
        return 0
    finally:
        con.close()


def scan_bytes(paths: Iterable[Path], needles: Sequence[str]) -> set[str]:
    """Needles found (UTF-8) in the raw bytes of any of ``paths``."""
    found: set[str] = set()
    for p in paths:
        if not p.exists():
            continue
        data = p.read_bytes()
        for n in needles:
            if n not in found and n.encode("utf-8") in data:
                found.add(n)
    return found


def _live_elsewhere(db: Path, text: str) -> bool:
    """Whether a live row (any scope) still holds ``text``: then its bytes are legitimate."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        for table, col in (("episodes", "text"), ("memories", "text"),
                           ("memory_versions", "after"), ("memory_versions", "before")):
            row = con.execute(
                f"SELECT 1 FROM {table} WHERE instr({col}, ?) > 0 LIMIT 1", (text,)
            ).fetchone()
            if row:
                return True
        return False
    finally:
        con.close()


def _sqlite_path(store: Store) -> Path | None:
    path = getattr(store, "path", None)
    if not isinstance(path, str | Path) or str(path) == ":memory:":
        return None
    return Path(path)


def verified_forget(
    engine: Engram,
    scope: Scope,
    *,
    markers: Sequence[str] = (),
    llm_cache: CacheMode = "scoped",
    scan_limit: int = DEFAULT_SCAN_LIMIT,
) -> ForgetAudit:
    """Hard-delete ``scope`` and prove it; see the module docstring.

    ``markers`` are extra strings (e.g. a unique word only the subject used)
    that must be absent from the raw file afterwards."""
    if llm_cache not in ("scoped", "all", "keep"):
        raise InvalidInput("llm_cache must be 'scoped', 'all' or 'keep'")
    store = engine.store
    digest = scope_digest(store, scope)
    subject = collect_subject(store, scope)
    counts = store.forget(scope)

    caches: dict[str, int] = {}
    cache_dir = engine.llm_settings.cache_dir if engine.llm_settings is not None else None
    if cache_dir is not None:
        needles = sorted(subject.ids) + subject.needles(markers)
        caches["llm_responses"] = purge_llm_cache(cache_dir, needles, llm_cache)

    remaining = store.remaining(scope)
    left = sum(v for k, v in remaining.items() if k != "orphan_vectors")
    hits = _search_hits(engine, scope, subject)

    raw: bool | None = None
    leftovers = 0
    db = _sqlite_path(store)
    if db is not None and db.exists() and db.stat().st_size <= scan_limit:
        files = [db, db.with_name(db.name + "-wal")]
        found = scan_bytes(files, subject.needles(markers))
        leftovers = sum(1 for t in found if not _live_elsewhere(db, t))
        raw = leftovers == 0
    verified = left == 0 and hits == 0 and raw is not False
    return ForgetAudit(digest, counts, remaining, caches, hits, raw, leftovers, verified)


def _search_hits(engine: Engram, scope: Scope, subject: Subject) -> int:
    """Hits of a lexical+vector search in the (now empty) scope."""
    probe = max(subject.texts, key=len, default="memory")[:200] or "memory"
    inactive = SearchFilters(include_inactive=True)
    n = len(engine.search(probe, scope=scope, filters=inactive, limit=10))
    for kind in ("memory", "episode"):
        n += len(engine.list(scope=scope, type=kind, limit=10, include_inactive=True).items)
    return n
