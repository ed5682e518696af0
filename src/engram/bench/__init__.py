"""Benchmark harness: LoCoMo and LongMemEval retrieval, coverage and QA evaluation.

    from engram.bench import BenchConfig, run_locomo
    report = run_locomo(config=BenchConfig(presets=("hybrid",)))
    report.method("hybrid").turn.overall["recall_any@10"]

Loaders (:mod:`.locomo`, :mod:`.longmemeval`) and metrics (:mod:`.metrics`)
need no engine. The CLI is :mod:`.cli` (``engram bench locomo|longmemeval``).
Importing this package loads no plotting or LLM code.
"""

from __future__ import annotations

from .dataset import BenchDataset, DatasetError
from .locomo import load_locomo
from .longmemeval import load_longmemeval
from .qa import QAConfig
from .results import BenchReport
from .runner import BenchConfig, run_benchmark, run_locomo, run_longmemeval

__all__ = [
    "BenchConfig",
    "BenchDataset",
    "BenchReport",
    "DatasetError",
    "QAConfig",
    "load_locomo",
    "load_longmemeval",
    "run_benchmark",
    "run_locomo",
    "run_longmemeval",
]
