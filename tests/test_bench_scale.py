"""`engram bench scale`: progress on stderr while it runs, a table within 80 columns (#21).

Behaviour only (tiny sizes); the figures themselves come from running the command.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from rich.console import Console

from engram.bench.cli import bench
from engram.bench.scale import RandomEmbedder, _ingest, _kept, _kept_ingest, print_report
from engram.engine import Engram
from engram.ingest.index import embedding_text
from engram.models import Scope, SearchFilters
from engram.text import content_hash


def test_scale_reports_every_stage_and_prints_a_narrow_table(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    result = CliRunner().invoke(bench, [
        "scale", "--n", "100,2500", "--queries", "20", "--real-turns", "20", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    err = result.stderr.splitlines()
    # every stage is announced, in order
    stages = [line for line in err if not line.rstrip().endswith("s")]
    assert stages == [
        "bench scale: query embedding (20 queries)",
        "bench scale: real ingest (Engram.add) (20 messages)",
        "bench scale: n=100: ingest (100 memories)",
        "bench scale: n=100: index build",
        "bench scale: n=100: cold start",
        "bench scale: n=100: search (20 queries)",
        "bench scale: n=100: recall@10 vs exact (20 queries)",
        "bench scale: n=2,500: ingest (2,500 memories)",
        "bench scale: n=2,500: index build",
        "bench scale: n=2,500: cold start",
        "bench scale: n=2,500: search (20 queries)",
        "bench scale: n=2,500: recall@10 vs exact (20 queries)",
    ]
    # off a terminal: a line per tenth crossed, never one per step
    search = [line for line in err if line.startswith("bench scale: n=2,500: search: ")]
    assert 5 <= len(search) <= 10
    assert search[0].startswith("bench scale: n=2,500: search: 2/20 queries (10%), ")
    assert any(line.startswith("bench scale: n=2,500: ingest: 1000/2500 memories (40%)")
               for line in err)
    # the last lines name the files written, as long as the path asked for
    table = [ln for ln in result.stdout.splitlines()
             if not ln.startswith(("JSON report: ", "chart: "))]
    assert max(len(line) for line in table) <= 80, [ln for ln in table if len(ln) > 80]
    assert "…" not in result.stdout
    assert any(line.split()[:1] == ["2,500"] for line in table)
    report = json.loads(out.read_text())
    assert [r["n"] for r in report["results"]] == [100, 2500]
    assert all(r["cold_start_s"] > 0 for r in report["results"])
    # CPU time beside the wall time (a loaded machine inflates the latter)
    assert all(r["extra"]["search_cpu_p50_ms"] > 0 and r["extra"]["index_build_cpu_s"] > 0
               for r in report["results"])
    assert "CPU time" in result.stdout and "search p50/p95" in result.stdout
    # below the graph's threshold both searches are exact: every hit found
    assert all(r["extra"]["recall_at_10"] == 1.0 for r in report["results"])
    assert "recall@10 vs exact 1.000" in result.stdout
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")  # the growth chart


def test_scale_quiet_prints_no_progress(tmp_path: Path) -> None:
    result = CliRunner().invoke(bench, [
        "scale", "--n", "100", "--queries", "3", "--real-turns", "1", "--quiet",
        "--out", str(tmp_path / "s.json"),
    ])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_table_fits_80_columns_even_at_a_million() -> None:
    big = {
        "n": 1_000_000, "ingest_per_s_no_embed": 123_456.7, "store_ms_per_turn": 12.345,
        "index_build_s": 1234.5, "search_p50_ms": 123.4, "search_p95_ms": 1234.5,
        "search_embed_p50_ms": 1234.5, "search_embed_p95_ms": 12_345.6,
        "search_p99_ms": 1234.5, "search_embed_p99_ms": 12_345.6, "cold_start_s": 123.45,
        "peak_rss_mb": 123_456, "bytes_per_memory": 123_456,
    }
    report = {"embedder": "onnx:all-MiniLM-L6-v2-int8", "query_embed_p50_ms": 4.0,
              "query_embed_p95_ms": 6.1, "real_ingest_turns_per_s": 31.0, "results": [big]}
    buf = io.StringIO()
    print_report(report, None, Console(file=buf, width=200))
    lines = buf.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "1,000,000" in buf.getvalue() and "123/1234/1234" in buf.getvalue()
    assert "123.45" in buf.getvalue()


def test_scale_ingest_keys_each_vector_where_a_search_looks_for_it(tmp_path: Path) -> None:
    """A bench memory is embedded and stored as real ingest stores it (the dated
    ``embedding_text``, under its content hash), so the search's vector lookup finds
    every one, from the vectors table and from the loaded partition alike."""
    db = tmp_path / "scale.db"
    scope = Scope(user_id="bench-user")
    eg = Engram(db, embedder=RandomEmbedder())
    _ingest(eg, scope, 120, random.Random(3), 50, lambda _: None)
    eg.close()
    eg = Engram(db, embedder=RandomEmbedder())
    try:
        mems = eg.store.list_memories(scope, SearchFilters(), 200).items
        assert len(mems) == 120
        model = eg.embedder().model_id
        hashes = [content_hash(embedding_text(m)) for m in mems]
        stored = eg.store.vectors_by_hash(model, hashes)  # SQL, no partition loaded
        assert set(stored) == set(hashes)
        want = RandomEmbedder().embed([embedding_text(m) for m in mems], "document")
        assert all(np.array_equal(stored[h], v) for h, v in zip(hashes, want, strict=True))
        eg.store.warm(scope, model)  # type: ignore[attr-defined]
        found = eg.searcher._vectors(scope, list(mems))
        assert sorted(found) == list(range(120))
    finally:
        eg.close()


def test_a_kept_database_is_reused_only_when_keyed_as_the_bench_keys_it(tmp_path: Path) -> None:
    """``--keep``: a database an older bench kept (vectors keyed by the bare text, its
    mark says nothing of keying), or one whose ingest was stopped (no mark), is
    deleted and ingested afresh; one this bench finished is reused as it is."""
    db = tmp_path / "scale-100.db"
    scope = Scope(user_id="bench-user")
    mark = tmp_path / "scale-100.db.ingest.json"

    def ingest() -> float:
        eg = Engram(db, embedder=RandomEmbedder())
        try:
            return _kept_ingest(eg, db, scope, 100, random.Random(1), 40, lambda _: None)
        finally:
            eg.close()

    assert not _kept(db, 100)
    ingest()
    assert _kept(db, 100) and db.exists()
    secs = json.loads(mark.read_text())["secs"]
    assert ingest() == secs  # reused: nothing written again
    mark.write_text(json.dumps({"n": 100, "secs": 1.0}))  # an older bench's mark
    assert not _kept(db, 100)
    assert not db.exists() and not mark.exists()
    mark.write_text(json.dumps({"n": 100, "secs": 1.0, "keyed": "embedding_text"}))
    assert not _kept(db, 100) and not mark.exists()  # a mark without its database
    ingest()
    eg = Engram(db, embedder=RandomEmbedder())
    try:
        assert len(eg.store.list_memories(scope, SearchFilters(), 500).items) == 100
    finally:
        eg.close()
