"""Progress of long CLI operations (``add --file``, ``import``, ``reembed``) on stderr.

On a terminal: a transient rich progress bar. Anywhere else (a log file, a
pipe, CI): plain lines such as ``engram add: 300/1000 messages (30%), 4.1s``,
one whenever the count crosses another tenth of the total or ``every`` seconds
have passed since the previous line, so a long run shows where it is (and an
interrupted one how far it got) without flooding the log: at most about ten
lines plus one per ``every`` seconds. Nothing is printed for an operation that
finishes in a single step, nor when disabled (``--json``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click

__all__ = ["Progress"]


class Progress:
    """Context manager yielding ``advance(n)``; see the module docstring."""

    def __init__(self, label: str, total: int, *, unit: str = "records", enabled: bool = True,
                 every: float = 10.0) -> None:
        self.label, self.total, self.unit, self.every = label, total, unit, every
        self.enabled = enabled and total > 0
        self.done = 0
        self._bar: Any = None
        self._start = self._last = 0.0
        self._tenth = 0

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        self._start = self._last = time.monotonic()
        if sys.stderr.isatty():
            return self._enter_bar()
        return self._line

    def _enter_bar(self) -> Callable[[int], None]:
        from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        from ._app import stderr_console

        self._bar = Bar("[progress.description]{task.description}", BarColumn(),
                        MofNCompleteColumn(), TimeRemainingColumn(),
                        console=stderr_console(), transient=True)
        self._bar.__enter__()
        task = self._bar.add_task(self.label, total=self.total)
        return lambda n: self._bar.update(task, advance=n)

    def _line(self, n: int) -> None:
        self.done += n
        if self.done >= self.total:
            return  # the command's own summary line reports the end
        tenth = self.done * 10 // self.total
        now = time.monotonic()
        if tenth > self._tenth or now - self._last >= self.every:
            self._tenth, self._last = tenth, now
            pct = self.done * 100 // self.total
            click.echo(f"{self.label}: {self.done}/{self.total} {self.unit} ({pct}%), "
                       f"{now - self._start:.1f}s", err=True)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
