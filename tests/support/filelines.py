"""``--file-lines``: a line per finished test file instead of a character per test.

What ``.ci/run`` prints while the suite runs, with or without ``pytest-xdist``::

    tests/test_cli.py  48 passed  8.1s  [gw1]

A file is finished when the worker that ran it reports a test of another file (``-n``
runs with ``--dist loadfile``: a file's tests run on one worker, in order), or when the
session ends. Its time is the span from its first test's start to its last test's end
on that worker; the counts are its tests' outcomes (a test that fails in its teardown
counts once, as failed). The failures themselves are reported as usual, after the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--file-lines", action="store_true", default=False,
                     help="print a line per finished test file (its outcomes and time) "
                          "instead of a character per test")


@dataclass
class _File:
    path: str
    worker: str
    start: float
    stop: float
    outcomes: dict[str, str] = field(default_factory=dict)  # test id -> worst outcome


_RANK = {"passed": 0, "skipped": 1, "xfailed": 1, "xpassed": 1, "failed": 2, "error": 3}


class FileLines:
    """The reporter: one open file per worker, printed when it is done."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.open: dict[str, _File] = {}

    def _write(self, f: _File) -> None:
        counts: dict[str, int] = {}
        for outcome in f.outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        said = ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        where = f"  [{f.worker}]" if f.worker != "-" else ""
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        line = f"{f.path}  {said}  {f.stop - f.start:.1f}s{where}"
        if tr is not None:
            tr.write_line(line)

    def pytest_sessionstart(self) -> None:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.showfspath = False  # no file name before its characters: the line says it

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        # no progress character; the category and word stay pytest's own
        if report.when == "call" or (report.when == "setup" and not report.passed) or (
                report.when == "teardown" and report.failed):
            category = "error" if report.when != "call" and report.failed else report.outcome
            if hasattr(report, "wasxfail"):
                category = "xfailed" if report.skipped else "xpassed"
            return category, "", category.upper()
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        path = report.nodeid.split("::", 1)[0]
        worker = getattr(report, "node", None)
        worker_id = getattr(worker, "gateway", None)
        worker_id = getattr(worker_id, "id", "-")
        f = self.open.get(worker_id)
        if f is None or f.path != path:
            if f is not None:
                self._write(f)
            f = self.open[worker_id] = _File(path, worker_id, report.start, report.stop)
        f.start, f.stop = min(f.start, report.start), max(f.stop, report.stop)
        if report.when == "call" or not report.passed:
            outcome = report.outcome
            if report.when != "call" and report.failed:
                outcome = "error"
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            before = f.outcomes.get(report.nodeid)
            if before is None or _RANK.get(outcome, 0) >= _RANK.get(before, 0):
                f.outcomes[report.nodeid] = outcome

    @pytest.hookimpl(tryfirst=True)  # before the terminal's summary
    def pytest_sessionfinish(self) -> None:
        for f in self.open.values():
            self._write(f)
        self.open.clear()


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--file-lines") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(FileLines(config), "engram-file-lines")
