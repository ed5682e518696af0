"""A large partition's index survives a restart, and never outlives what was forgotten (#21).

Several :class:`~engram.store.sqlite.SQLiteStore` objects on one file stand
for processes (each has its own connection and partitions). The thresholds are
lowered so a few rows get a persisted file and an HNSW graph. SQLite only: the
PostgreSQL store keeps its indexes in the database.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from contract_helpers import (
    MODEL,
    add_episode,
    add_memory,
    at,
    change_memory,
    episode,
    ids,
    memory,
    unit,
)

from engram.index.ann import AnnGraph
from engram.index.partition import PartitionIndex
from engram.index.rows import INF, RowAttrs, RowFilter
from engram.models import ItemRef, Operation, Scope, SearchFilters
from engram.store import open_store
from engram.store.base import Store
from engram.store.rawfile import database_files, raw_file_scan
from engram.store.sqlite_changes import prune_trigger_sql
from engram.store.sqlite_index_files import IndexFiles
from engram.store.sqlite_search import SQLiteSearch

U = Scope(user_id="u", tenant="t")
V = Scope(user_id="v", tenant="t")
ANY = SearchFilters()
N = 40


@pytest.fixture(autouse=True)
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(IndexFiles, "min_rows", 10)
    monkeypatch.setattr(PartitionIndex, "ann_threshold", 20)
    monkeypatch.setattr(PartitionIndex, "exact_limit", 5)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "engram.db"


@pytest.fixture
def opened() -> Iterator[list[Store]]:
    stores: list[Store] = []
    yield stores
    for s in stores:
        s.close()


@pytest.fixture
def rebuilds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Partitions built from the tables (not loaded from a file), in order."""
    calls: list[tuple[str, ...]] = []
    real = SQLiteSearch._load_tables

    def spy(self: SQLiteSearch, key: tuple[str, str, str, str]) -> PartitionIndex:
        calls.append(key)
        return real(self, key)

    monkeypatch.setattr(SQLiteSearch, "_load_tables", spy)
    return calls


def store(db: Path, opened: list[Store]) -> Store:
    s = open_store(f"sqlite:///{db}")
    opened.append(s)
    s.set_meta("embedding_model", MODEL)  # lexical search goes through the partition too
    return s


def fill(s: Store, scope: Scope = U, prefix: str = "m", word: str = "zebra") -> None:
    for i in range(N):
        add_memory(s, memory(f"{prefix}{i}", scope, f"{word} number {prefix}{i}", when=at(i)),
                   unit(1000 * ord(prefix[0]) + i))


def found(s: Store, scope: Scope = U, seed: int = 7) -> list[str]:
    return ids(s.vector_search(scope, unit(seed), MODEL, ANY, 10))


def words(s: Store, query: str, scope: Scope = U) -> set[str]:
    return set(ids(s.lexical_search(scope, query, ANY, 100)))


def index_files(db: Path) -> list[Path]:
    d = db.with_name(db.name + ".index")
    return sorted(d.iterdir()) if d.is_dir() else []


def test_a_restart_loads_the_saved_index(
    db: Path, opened: list[Store], rebuilds: list[tuple[str, ...]]
) -> None:
    a = store(db, opened)
    fill(a)
    a.warm(U, MODEL)  # type: ignore[attr-defined]
    assert [p.suffix for p in index_files(db)] == [".ann", ".idx"]
    assert len(rebuilds) == 1
    before = [found(a, seed=s) for s in range(5)]
    b = store(db, opened)
    assert [found(b, seed=s) for s in range(5)] == before
    assert words(b, "zebra") == {f"m{i}" for i in range(N)}
    part = b._partitions[("t", "u", "u", MODEL)]  # type: ignore[attr-defined]
    assert part.graph is not None and len(part.graph) == N  # loaded, not rebuilt
    assert len(rebuilds) == 1  # b loaded the file


def test_changes_after_the_save_are_applied_on_load(
    db: Path, opened: list[Store], rebuilds: list[tuple[str, ...]]
) -> None:
    a = store(db, opened)
    fill(a)
    a.warm(U, MODEL)  # type: ignore[attr-defined]
    m1 = memory("m1", U, "zebra number m1", when=at(1))
    change_memory(a, m1, at(50), vec=unit(7), text="okapi instead")  # text and vector
    m2 = memory("m2", U, "zebra number m2", when=at(2))
    change_memory(a, m2, at(50), Operation.DELETE)  # soft delete: out of search
    add_memory(a, memory("new", U, "zebra newcomer"), unit(7))
    a.delete_episodes("t", [], ["m3"])  # hard delete
    b = store(db, opened)
    assert set(found(b)[:2]) == {"m1", "new"}
    assert words(b, "okapi") == {"m1"}
    assert words(b, "zebra") == {f"m{i}" for i in range(4, N)} | {"m0", "new"}
    assert len(rebuilds) == 1 + 1  # the hard delete dropped the file: b rebuilt


def test_a_store_never_closed_leaves_the_index_it_rebuilt_for_the_next_start(
    db: Path, opened: list[Store], rebuilds: list[tuple[str, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(PartitionIndex, "ann_threshold", 1000)  # no graph to save it
    fill(store(db, opened))
    b = store(db, opened)  # a process that searches, then is killed: never closed
    before = [found(b, seed=s) for s in range(5)]
    assert len(rebuilds) == 1 and [p.suffix for p in index_files(db)] == [".idx"]
    c = store(db, opened)  # the next start
    assert [found(c, seed=s) for s in range(5)] == before
    assert words(c, "zebra") == {f"m{i}" for i in range(N)}
    assert len(rebuilds) == 1  # loaded from the file b left


def test_few_long_messages_are_worth_a_file_and_few_short_ones_are_not(
    db: Path, opened: list[Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IndexFiles, "min_rows", 1000)
    monkeypatch.setattr(IndexFiles, "min_terms", 300)
    a = store(db, opened)
    long_text = " ".join(f"word{j}" for j in range(100))  # 100 index terms
    for i in range(5):
        add_memory(a, memory(f"l{i}", U, f"{long_text} item{i}", when=at(i)), unit(i))
        add_memory(a, memory(f"s{i}", V, f"short note {i}", when=at(i)), unit(50 + i))
    b = store(db, opened)
    assert found(b, U) and found(b, V)
    saved = b.index_files  # type: ignore[attr-defined]
    assert [p.name for p in index_files(db)] == [saved.name(("t", "u", "u", MODEL))]


def test_a_file_the_database_does_not_name_is_never_used(
    tmp_path: Path, opened: list[Store], rebuilds: list[tuple[str, ...]]
) -> None:
    x, y = tmp_path / "x.db", tmp_path / "y.db"
    a = store(x, opened)
    fill(a, word="zebra")
    a.warm(U, MODEL)  # type: ignore[attr-defined]
    b = store(y, opened)
    fill(b, word="okapi")
    b.warm(U, MODEL)  # type: ignore[attr-defined]
    # x's file planted under y's name (same partition, so the same file name)
    for src in index_files(x):
        dst = y.with_name("y.db.index") / src.name
        dst.write_bytes(src.read_bytes())
    c = store(y, opened)
    assert words(c, "okapi") == {f"m{i}" for i in range(N)}
    assert words(c, "zebra") == set()
    # a corrupt file under the right name and token: refused, rebuilt, no error
    d = store(y, opened)
    d.warm(U, MODEL)  # type: ignore[attr-defined]  # (rebuilt: the planted file is no use)
    rebuilt = len(rebuilds)
    idx = next(p for p in index_files(y) if p.suffix == ".idx")
    idx.write_bytes(idx.read_bytes()[:200] + b"\xff" * 64)
    e = store(y, opened)
    assert words(e, "okapi") == {f"m{i}" for i in range(N)}
    assert len(rebuilds) == rebuilt + 1


def test_a_file_older_than_the_change_log_is_rebuilt(
    db: Path, opened: list[Store], rebuilds: list[tuple[str, ...]]
) -> None:
    a = store(db, opened)
    with sqlite3.connect(db) as con:  # a tiny log: keep 8 rows, prune every 4
        con.execute("DROP TRIGGER changes_prune")
        con.execute(prune_trigger_sql(keep=8, every=4))
    fill(a)
    a.warm(U, MODEL)  # type: ignore[attr-defined]
    for i in range(20):
        add_memory(a, memory(f"late{i}", U, f"zebra late {i}"), unit(5000 + i))
    b = store(db, opened)
    assert len(words(b, "zebra")) == N + 20
    assert len(rebuilds) == 2


def test_forget_deletes_the_files_of_that_user_only(db: Path, opened: list[Store]) -> None:
    a = store(db, opened)
    fill(a, U, "m", "platypus")
    fill(a, V, "k", "zebra")
    b = store(db, opened)  # another process, holding both partitions
    for s in (a, b):
        s.warm(U, MODEL)  # type: ignore[attr-defined]
        s.warm(V, MODEL)  # type: ignore[attr-defined]
    assert len(index_files(db)) == 4
    vec = unit(1000 * ord("m") + 3).tobytes()
    a.forget(U)
    left = index_files(db)
    assert len(left) == 2
    b.close()  # b's copy of u is empty now: nothing of u is written back
    left = index_files(db)
    assert len(left) == 2
    assert raw_file_scan(left, ["platypus", "m3"]) == set()
    assert all(vec not in p.read_bytes() for p in left)
    assert raw_file_scan(left, ["zebra", "k3"]) == {"zebra", "k3"}


def test_a_hard_deleted_item_leaves_every_saved_file(db: Path, opened: list[Store]) -> None:
    a = store(db, opened)
    fill(a)
    add_episode(a, episode("e-secret", U, "platypus confession"), unit(99))
    b = store(db, opened)
    b.warm(U, MODEL)  # type: ignore[attr-defined]  # b holds the episode, saved and in memory
    assert raw_file_scan(index_files(db), ["e-secret", "platypus"]) == {"e-secret", "platypus"}
    a.delete_episodes("t", ["e-secret"])
    assert index_files(db) == []  # dropped in the deleting transaction
    b.close()  # b saves again after catching up: without the episode
    files = index_files(db)
    assert [p.suffix for p in files] == [".ann", ".idx"]
    assert raw_file_scan(files, ["e-secret", "platypus"]) == set()
    assert all(unit(99).tobytes() not in p.read_bytes() for p in files)
    c = store(db, opened)
    assert "e-secret" not in found(c, seed=99)


def test_the_forget_audit_scans_the_index_files(db: Path, opened: list[Store]) -> None:
    a = store(db, opened)
    fill(a, V, "k", "zebra")
    a.warm(V, MODEL)  # type: ignore[attr-defined]
    a.forget(U)
    (db.with_name(db.name + ".index") / "stray.tmp").write_bytes(b"..platypus-marker..")
    res = a.forget_residue(["platypus-marker"], scan_limit=1 << 30)  # type: ignore[attr-defined]
    assert res.checks["raw_file"] == "failed" and res.leftovers == 1
    # index files too large for the limit: the database is still scanned, the gap is named
    db_size = sum(p.stat().st_size for p in database_files(db) if p.exists())
    res = a.forget_residue(["platypus-marker"], scan_limit=db_size)  # type: ignore[attr-defined]
    assert res.checks["raw_file"] == "passed" and "unscanned_files" in res.exposure


def test_an_encrypted_store_persists_no_index(
    db: Path, opened: list[Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    saves: list[object] = []
    real = IndexFiles.save

    def spy(self: IndexFiles, *args: object) -> bool:
        saves.append(args)
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(IndexFiles, "save", spy)
    a = store(db, opened)
    a.set_meta("encryption", "aes-256-gcm-v1")
    fill(a)
    a.warm(U, MODEL)  # type: ignore[attr-defined]
    for seed in range(5):
        found(a, seed=seed)
    assert len(saves) == 1  # declined once, not tried again on every search
    a.close()
    assert index_files(db) == []


def test_removed_rows_leave_nothing_in_the_partition_state() -> None:
    part = PartitionIndex(8)
    for i in range(30):
        part.upsert(ItemRef("memory", f"m{i}"), unit(i),
                    RowAttrs(1, "fact", 0, None, f"s{i % 3}", float(i), float(i), INF),
                    f"word{i} common", key=i)
    part.warm()
    part.remove(ItemRef("memory", "m4"))
    state = part.state()
    blob = b"".join(np.ascontiguousarray(a).tobytes() for a in state.values())
    assert unit(4).tobytes() not in blob and unit(5).tobytes() in blob
    packed = b"\x00" + state["ids"].tobytes() + b"\x00"
    assert b"\x00m4\x00" not in packed and b"\x00m5\x00" in packed
    assert b"word4" not in state["lex_terms"].tobytes()
    assert b"s1" in state["codes"].tobytes()
    graph = part.graph
    assert graph is not None and unit(4).tobytes() not in graph.dump()
    assert unit(5).tobytes() in graph.dump()


def test_rows_changed_while_the_graph_loads_reach_it() -> None:
    part = PartitionIndex(8)
    attrs = RowAttrs(1, "fact", 0, None, None, 0.0, 0.0, INF)
    for i in range(30):
        part.upsert(ItemRef("memory", f"m{i}"), unit(i), attrs, f"word{i}", key=i)
    part.warm()
    saved = part.graph
    assert saved is not None
    loaded = PartitionIndex.from_state(part.state())
    gate = threading.Event()

    def load() -> AnnGraph | None:
        gate.wait(10)
        return saved

    loaded.attach_graph(load)
    loaded.upsert(ItemRef("memory", "late"), unit(500), attrs, "late", key=99)
    loaded.remove(ItemRef("memory", "m3"))
    # while loading, searches are exact (and already see both changes)
    assert ids_of(loaded.search(unit(500), 1, RowFilter())) == ["late"]
    assert "m3" not in ids_of(loaded.search(unit(3), 30, RowFilter()))
    gate.set()
    graph = loaded.graph
    assert graph is not None and len(graph) == 30
    assert graph.query(unit(500), 1, 64).tolist() == [30]  # the new row's label
    assert 3 not in graph.query(unit(3), 29, 64).tolist()
    assert ids_of(loaded.search(unit(500), 1, RowFilter())) == ["late"]


def ids_of(hits: list[tuple[ItemRef, float]]) -> list[str]:
    return [ref.id for ref, _ in hits]


_EXIT_DURING_LOAD = """
import sys, time
from pathlib import Path
import numpy as np
from engram.index.partition import PartitionIndex
from engram.models import Scope, SearchFilters
from engram.store import open_store, sqlite_index_files
from engram.store.sqlite_index_files import IndexFiles
IndexFiles.min_rows, PartitionIndex.ann_threshold, PartitionIndex.exact_limit = 10, 20, 5
real = sqlite_index_files.load_graph
def slow(*args):
    time.sleep(0.5)  # the process ends while this load runs
    graph = real(*args)
    Path(sys.argv[2]).write_text("loaded")
    return graph
sqlite_index_files.load_graph = slow
s = open_store("sqlite:///" + sys.argv[1])
v = np.zeros(8, dtype=np.float32); v[0] = 1.0
s.vector_search(Scope(user_id="u", tenant="t"), v, sys.argv[3], SearchFilters(), 5)
"""


def test_a_process_ending_while_its_graph_loads_lets_the_load_finish(
    db: Path, opened: list[Store], tmp_path: Path
) -> None:
    """A daemon loader would be cut off mid-read: the graph library aborts the
    process ("terminate called without an active exception")."""
    a = store(db, opened)
    fill(a)
    a.warm(U, MODEL)  # type: ignore[attr-defined]
    a.close()
    marker = tmp_path / "loaded"
    done = subprocess.run([sys.executable, "-c", _EXIT_DURING_LOAD, str(db), str(marker),
                           MODEL], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "loaded"
