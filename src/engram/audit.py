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
   lexical+vector search in the scope must return nothing.
5. The backend's physical clean-up and raw check (``store.forget_residue``,
   see :mod:`engram.store.residue`): SQLite truncates the WAL and scans the
   raw bytes of the database file and its ``-wal`` (in a child process: a
   read in this process would drop its SQLite locks, see
   :mod:`engram.store.rawfile`); PostgreSQL runs ``VACUUM`` on the touched
   tables and, with the privilege to read server files, scans their raw files
   (then ``VACUUM FULL`` on a table whose free space still holds the text).
   A text found counts only if no live row of another scope holds it.

What was verified is explicit: ``checks`` names every check and its outcome
(``"passed"``, ``"failed"``, ``"skipped"``), ``exposure`` names where copies
may remain that the store cannot reach or did not verify (codes in
:data:`engram.store.residue.EXPOSURE`: backups, WAL archives, replicas...).
``verified`` is true when no check failed.

The :class:`ForgetAudit` record holds no personal content: the scope is a
salted SHA-256 (a random per-store salt kept in the store's ``meta`` table),
the rest are counts and booleans.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .errors import InvalidInput, StoreError
from .models import ForgetAudit, Scope
from .store.rawfile import raw_file_scan
from .store.residue import Residue

if TYPE_CHECKING:
    from .store.base import Store

__all__ = ["ForgetAudit", "Subject", "purge_llm_cache", "scan_bytes", "scope_digest",
           "verified_forget"]

SALT_KEY = "audit_salt"
MIN_NEEDLE = 8  # shorter texts are too common to prove anything about a raw file
DEFAULT_SCAN_LIMIT = 256 * 1024 * 1024

CacheMode = Literal["scoped", "all", "keep"]

log = logging.getLogger(__name__)


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
    ResponseCache`); a missing cache counts 0, and so does a cache that cannot
    be read (logged). Returns entries deleted."""
    try:
        return _purge_llm_cache(path, needles, mode)
    except sqlite3.Error as exc:
        log.warning("LLM cache purge failed: %s", exc)
        return 0


def _purge_llm_cache(path: str | Path, needles: Sequence[str], mode: CacheMode) -> int:
    """:func:`purge_llm_cache` that lets ``sqlite3.Error`` through."""
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
    finally:
        con.close()


def scan_bytes(paths: Iterable[Path], needles: Sequence[str]) -> set[str]:
    """Needles found (UTF-8) in the raw bytes of any of ``paths``.

    Reads in a child process (:func:`engram.store.rawfile.raw_file_scan`), so
    it is safe on a database this process has open."""
    return raw_file_scan(paths, needles)


def _residue(store: Store, needles: Sequence[str], scan_limit: int) -> Residue:
    """The backend's clean-up and raw check (:meth:`Store.forget_residue`); a
    store error there is a failed check, not a failed forget."""
    try:
        return store.forget_residue(needles, scan_limit)
    except StoreError as exc:
        log.warning("forget audit: raw check failed: %s", exc.message)
        return Residue(store.backend, checks={"raw_file": "failed"},
                       exposure=["backups", "unscanned_files"])


#: what a search and a list in ``scope`` still show for a probe text (the caller's
#: own read path, so in-memory indexes are checked too); must be 0 after forget
VisibleCount = Callable[[Scope, str], int]


def verified_forget(
    store: Store,
    scope: Scope,
    *,
    visible: VisibleCount,
    llm_cache_dir: str | Path | None = None,
    markers: Sequence[str] = (),
    llm_cache: CacheMode = "scoped",
    scan_limit: int = DEFAULT_SCAN_LIMIT,
) -> ForgetAudit:
    """Hard-delete ``scope`` and prove it; see the module docstring.

    ``markers`` are extra strings (e.g. a unique word only the subject used)
    that must be absent from the raw file afterwards. ``visible(scope, probe)``
    counts what the caller's search and list still return in ``scope`` for a
    probe text (the subject's longest text); ``llm_cache_dir`` is the LLM
    response cache to purge (``None``: none configured)."""
    if llm_cache not in ("scoped", "all", "keep"):
        raise InvalidInput("llm_cache must be 'scoped', 'all' or 'keep'")
    digest = scope_digest(store, scope)
    subject = collect_subject(store, scope)
    counts = store.forget(scope)

    checks: dict[str, str] = {}
    caches: dict[str, int] = {}
    cache_dir = llm_cache_dir
    checks["llm_cache"] = "skipped"
    if cache_dir is not None:
        needles = sorted(subject.ids) + subject.needles(markers)
        try:
            caches["llm_responses"] = _purge_llm_cache(cache_dir, needles, llm_cache)
            checks["llm_cache"] = "skipped" if llm_cache == "keep" else "passed"
        except sqlite3.Error as exc:
            log.warning("forget audit: LLM cache purge failed: %s", exc)
            caches["llm_responses"] = 0
            checks["llm_cache"] = "failed"

    remaining = store.remaining(scope)
    left = sum(v for k, v in remaining.items() if k != "orphan_vectors")
    checks["rows"] = "passed" if left == 0 else "failed"
    probe = max(subject.texts, key=len, default="memory")[:200] or "memory"
    hits = visible(scope, probe)
    checks["search"] = "passed" if hits == 0 else "failed"

    res = _residue(store, subject.needles(markers), scan_limit)
    checks.update(res.checks)
    verified = all(v != "failed" for v in checks.values())
    return ForgetAudit(digest, counts, remaining, caches, hits, res.raw_scan, res.leftovers,
                       verified, backend=res.backend, checks=checks,
                       exposure=list(dict.fromkeys(res.exposure)))
