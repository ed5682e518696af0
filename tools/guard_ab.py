"""Scan time and verdicts of the trust package side by side with an earlier commit's.

    python tools/guard_ab.py <commit> [set] [step] [--once]

loads ``src/engram/trust`` of ``<commit>`` (``git archive``, into a temporary folder) beside
the working tree's, times ``scan`` on every ``step``-th turn of the chat ``set`` of
:mod:`guard_corpus` (default ``beam_user``, every turn): CPU time of the scanning thread,
best of 3 per message, the two packages alternating per message; then prints mean / p50 /
p95 / p99 in ms for each and how many of those turns get a different verdict, evidence
or score. A speed change should print 0 differences. ``--once``: what a write sees
instead, each message scanned once, in order, each package's memos emptied before each
of three passes (each quantile: the best pass). Each package's rule pattern set, when it
has one, is compiled first (a process that has scanned a few hundred messages has it).
"""

from __future__ import annotations

import importlib
import io
import math
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guard_corpus as corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def previous(commit: str, folder: Path) -> tuple[ModuleType, ModuleType]:
    """``poisoning`` and ``classifier`` of ``commit``'s trust package, loaded from that
    commit's whole ``src/engram`` as ``engram_prev`` (the trust package imports its
    neighbours, e.g. ``..text``, relatively)."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src/engram"],
                         check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(folder, filter="data")
    (folder / "src" / "engram").rename(folder / "engram_prev")
    sys.path.insert(0, str(folder))
    return (importlib.import_module("engram_prev.trust.poisoning"),
            importlib.import_module("engram_prev.trust.classifier"))


def compiled(poisoning: ModuleType) -> str:
    """Compile a package's rule pattern set now, as a process has it after its first
    messages (``engram.trust.patternset``; packages before it have none): its state."""
    pattern_set = getattr(poisoning, "pattern_set", None)
    if pattern_set is None:
        return "none"
    patterns = pattern_set()
    patterns.build()
    return str(patterns.state)


def _best(fn: object, text: str) -> float:
    best = math.inf
    for _ in range(3):
        a = time.thread_time_ns()
        fn(text)  # type: ignore[operator]
        best = min(best, time.thread_time_ns() - a)
    return best / 1e6


def _once(scan: object, text: str) -> float:
    a = time.thread_time_ns()
    scan(text)  # type: ignore[operator]
    return (time.thread_time_ns() - a) / 1e6


def main(argv: list[str]) -> int:
    once = "--once" in argv
    argv = [a for a in argv if a != "--once"]
    commit, name = argv[0], argv[1] if len(argv) > 1 else "beam_user"
    turns = corpus.chat(name)[::int(argv[2]) if len(argv) > 2 else 1]
    from engram.trust import cascade, classifier, poisoning
    with tempfile.TemporaryDirectory() as tmp:
        old_p, old_c = previous(commit, Path(tmp))
        # the scan lives in ``cascade`` since session 24, in ``poisoning`` before
        old_scan = (getattr(old_p, "scan", None)
                    or importlib.import_module("engram_prev.trust.cascade").scan)
        print(f"pattern set: previous {compiled(old_p)}, now {compiled(poisoning)}")
        differ = sum(
            (a.flags, a.evidence, oa.probability) != (b.flags, b.evidence, ob.probability)
            for t in turns
            for a, b, oa, ob in [(old_scan(t), cascade.scan(t), old_c.score(t),
                                  classifier.score(t))])
        passes: dict[str, list[list[float]]] = {"previous": [], "now": []}
        for _ in range(3 if once else 1):
            if once:
                importlib.import_module("engram_prev.text").clear_text_caches()
                importlib.import_module("engram.text").clear_text_caches()
            times: dict[str, list[float]] = {"previous": [], "now": []}
            for t in turns:
                times["previous"].append((_once if once else _best)(old_scan, t))
                times["now"].append((_once if once else _best)(cascade.scan, t))
            for key, per in times.items():
                per.sort()
                passes[key].append([statistics.fmean(per), per[len(per) // 2],
                                    per[int(len(per) * .95)], per[int(len(per) * .99)]])
    for key, rows in passes.items():
        mean, p50, p95, p99 = (min(r[i] for r in rows) for i in range(4))
        print(f"{name} {key}: mean {mean:.3f} p50 {p50:.3f} p95 {p95:.3f} p99 {p99:.3f} ms"
              + (" (once per message, best of 3 passes)" if once else ""))
    print(f"{len(turns)} turns, {differ} with a different verdict, evidence or score")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
