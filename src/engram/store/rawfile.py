"""The one sanctioned way to read the raw bytes of a live database file.

SQLite coordinates processes with POSIX advisory (``fcntl``) locks, and POSIX
releases *every* lock a process holds on a file as soon as that process closes
*any* descriptor on the file (https://sqlite.org/howtocorrupt.html, section
2.2). A plain ``open(db).read()`` in a process that also holds a SQLite
connection on ``db`` therefore silently drops that connection's locks: the
next process to close the store believes it is the last user, checkpoints and
deletes ``-wal``/``-shm`` under the first one, whose later commits go to an
unlinked WAL (acknowledged, then lost after a restart or for every other
process).

:func:`raw_file_scan` reads the files in a short-lived child process: a
descriptor another process opens and closes never touches this process's
locks. Nothing else in ``src/engram`` opens a database file, its ``-wal``,
``-shm`` or ``-journal`` outside SQLite (``tests/test_rawfile_guard.py`` keeps
it so); ``os.stat`` (sizes) opens no descriptor and is fine anywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import StoreError

__all__ = ["CHUNK", "database_files", "raw_file_scan"]

#: bytes read per step in the child; memory use stays near two chunks
CHUNK = 8 * 1024 * 1024

# Runs in the child (``python -I -S``: no site, no environment, stdlib only).
# stdin: {"paths": [...], "needles": [...], "chunk": n}; stdout: {"found": [index, ...]}.
_CHILD = r"""
import json, sys
req = json.load(sys.stdin)
needles = [n.encode("utf-8") for n in req["needles"]]
todo = set(range(len(needles)))
keep = max((len(n) for n in needles), default=1) - 1
for path in req["paths"]:
    try:
        fp = open(path, "rb")
    except FileNotFoundError:
        continue
    with fp:
        tail = b""
        while todo:
            block = fp.read(req["chunk"])
            if not block:
                break
            buf = tail + block
            for i in [i for i in todo if needles[i] in buf]:
                todo.discard(i)
            tail = buf[-keep:] if keep else b""
json.dump({"found": sorted(set(range(len(needles))) - todo)}, sys.stdout)
"""


def database_files(path: str | Path) -> list[Path]:
    """The main file of a SQLite database and the side files that may hold its bytes."""
    p = Path(path)
    return [p, *(p.with_name(p.name + s) for s in ("-wal", "-journal"))]


def raw_file_scan(paths: Iterable[str | Path], needles: Sequence[str]) -> set[str]:
    """The ``needles`` found (as UTF-8 bytes) in the raw bytes of any of ``paths``.

    Missing files are skipped. The read happens in a child process (see the
    module docstring), so it is safe while this process holds connections on
    the files. Raises :class:`StoreError` when the child cannot run or fails.
    """
    todo = list(dict.fromkeys(n for n in needles if n))
    files = [str(p) for p in paths]
    if not todo or not files:
        return set()
    if not sys.executable:
        raise StoreError("raw file scan needs a Python executable (sys.executable is empty)")
    request = json.dumps({"paths": files, "needles": todo, "chunk": CHUNK})
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _CHILD],
            input=request.encode("utf-8"),
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        raise StoreError(f"raw file scan could not start: {exc}") from exc
    if done.returncode != 0:
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["?"])[-1]
        raise StoreError(f"raw file scan failed (exit {done.returncode}): {last}")
    try:
        found = json.loads(done.stdout)["found"]
        return {todo[i] for i in found}
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise StoreError(f"raw file scan returned bad output: {exc}") from exc
