"""The write side has one home: ``engram.ingest.commit`` builds and writes every batch.

Read from the source text (like ``test_layers.py``): outside the store
implementations, ``ingest/commit.py`` alone calls ``Store.write``, builds a
``MemoryVersion`` or an ``Indexer``, and stamps provenance (``provenance(``);
the only exceptions are named below with their reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "engram"
HOME = "ingest/commit.py"

#: (what, pattern, files besides HOME allowed to match, and why)
RULES = [
    ("a store write", re.compile(r"\bstore\.write\(|\binner\.write\("), {
        "trust/encryption.py": "the encrypting store forwards to the store it wraps",
        "bench/scale.py": "measures the store's own write throughput",
        "bench/pgscale.py": "measures the store's own write throughput",
    }),
    ("a history entry", re.compile(r"\bMemoryVersion\("), {}),
    ("an indexer", re.compile(r"\bIndexer\("), {
        "bench/scale.py": "makes vector rows as ingest does, keyed as a search asks",
    }),
    ("provenance", re.compile(r"(?<![\w.])provenance\("), {
        "trust/provenance.py": "defines it",
    }),
]


def _sources() -> dict[str, str]:
    return {p.relative_to(PACKAGE).as_posix(): p.read_text(encoding="utf-8")
            for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "store"}


@pytest.mark.parametrize(("what", "pattern", "allowed"), RULES, ids=[r[0] for r in RULES])
def test_only_ingest_commit_does_it(what: str, pattern: re.Pattern[str],
                                    allowed: dict[str, str]) -> None:
    found = {name for name, text in _sources().items() if pattern.search(text)}
    assert HOME in found, f"{HOME} no longer makes {what}: update this test"
    assert found - {HOME} - set(allowed) == set(), f"{what} made outside {HOME}"
