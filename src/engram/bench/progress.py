"""Progress bars for benchmark runs (rich, on stderr); a no-op when disabled."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as _RichProgress

__all__ = ["Progress"]


class Progress:
    """``with progress: with progress.task("ingest", n) as advance: advance(1)``."""

    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self._rich: _RichProgress | None = None
        if enabled:
            self._rich = _RichProgress(
                TextColumn("{task.description:<16}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console or Console(stderr=True),
                transient=False,
            )

    def __enter__(self) -> Progress:
        if self._rich is not None:
            self._rich.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._rich is not None:
            self._rich.stop()

    @contextmanager
    def task(self, name: str, total: int) -> Iterator[Callable[[int], None]]:
        """A bar of ``total`` steps; yields ``advance(n)``."""
        rich = self._rich
        if rich is None:
            yield lambda n: None
            return
        tid = rich.add_task(name, total=total)

        def advance(n: int) -> None:
            rich.advance(tid, n)

        yield advance
        rich.update(tid, completed=total)
