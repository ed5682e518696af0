"""``--file-lines``: a line per finished test file instead of a character per test.

What ``.ci/run`` prints while the suite runs, with or without ``pytest-xdist``::

    tests/test_cli.py  48 passed  8.1s  [gw1]

A file is finished when the worker that ran it reports a test of another file (``-n``
runs with ``--dist loadfile``: a file's tests run on one worker, in order), or when the
session ends. Its time is the span from its first test's start to its last test's end
on that worker; the counts are its tests' outcomes (a test that fails in its teardown
counts once, as an error). The failures themselves are reported as usual, after the run.
"""

from __future__ import annotations

from collections import Counter
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


def _outcome(report: pytest.TestReport) -> str | None:
    """What a report says of its test: the call's outcome, a setup's that did not pass, a
    failing teardown's ("error" for a setup or teardown that failed); ``None`` otherwise."""
    if not (report.when == "call" or (report.when == "setup" and not report.passed)
            or (report.when == "teardown" and report.failed)):
        return None
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    return "error" if report.when != "call" and report.failed else report.outcome


class FileLines:
    """The reporter: one open file per worker, printed when it is done."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.open: dict[str, _File] = {}

    def _write(self, f: _File) -> None:
        said = ", ".join(f"{n} {k}" for k, n in Counter(f.outcomes.values()).most_common())
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
        outcome = _outcome(report)
        return None if outcome is None else (outcome, "", outcome.upper())

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        path = report.nodeid.split("::", 1)[0]
        # the xdist worker that ran it ("-": this process)
        worker_id = getattr(getattr(getattr(report, "node", None), "gateway", None), "id", "-")
        f = self.open.get(worker_id)
        if f is None or f.path != path:
            if f is not None:
                self._write(f)
            f = self.open[worker_id] = _File(path, worker_id, report.start, report.stop)
        f.start, f.stop = min(f.start, report.start), max(f.stop, report.stop)
        outcome = _outcome(report)
        if outcome is not None:
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
