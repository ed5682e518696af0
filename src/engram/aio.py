"""``AsyncEngram``: the same engine as :class:`engram.Engram`, awaited.

There is one implementation. Each coroutine runs the synchronous method in a
worker thread (the store serialises access), so sync and async callers share
behaviour, validation and errors exactly.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .engine import Engram

__all__ = ["AsyncEngram"]

T = TypeVar("T")


def _awaitable(name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    sync = getattr(Engram, name)

    @functools.wraps(sync)
    async def method(self: AsyncEngram, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.sync, name), *args, **kwargs)

    return method


class _Awaited:
    """Every public method of a sync namespace object (``Engram.tasks``), awaited in a
    worker thread like the engine's own methods."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        sync = getattr(self._target, name)
        if name.startswith("_") or not callable(sync):
            raise AttributeError(name)

        @functools.wraps(sync)
        async def method(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(sync, *args, **kwargs)

        return method


class AsyncEngram:
    """Async facade; construct it exactly like :class:`Engram` (or wrap one)."""

    def __init__(self, *args: Any, engine: Engram | None = None, **kwargs: Any) -> None:
        self.sync = engine if engine is not None else Engram(*args, **kwargs)

    add = _awaitable("add")
    search = _awaitable("search")
    context = _awaitable("context")
    get = _awaitable("get")
    list = _awaitable("list")
    remember = _awaitable("remember")
    update = _awaitable("update")
    delete = _awaitable("delete")
    delete_episode = _awaitable("delete_episode")
    history = _awaitable("history")
    links = _awaitable("links")
    forget = _awaitable("forget")
    flag_review = _awaitable("flag_review")
    clear_flag = _awaitable("clear_flag")
    restore_flag = _awaitable("restore_flag")
    stats = _awaitable("stats")
    reembed = _awaitable("reembed")
    import_ = _awaitable("import_")
    process_pending = _awaitable("process_pending")
    pending = _awaitable("pending")
    job = _awaitable("job")
    answer = _awaitable("answer")
    remember_procedure = _awaitable("remember_procedure")
    procedures = _awaitable("procedures")
    feedback = _awaitable("feedback")

    @functools.cached_property
    def tasks(self) -> Any:
        """:attr:`Engram.tasks` with each method awaited (``await eg.tasks.create(...)``)."""
        return _Awaited(self.sync.tasks)
    profile = _awaitable("profile")
    fill_form = _awaitable("fill_form")
    draft_reply = _awaitable("draft_reply")
    close = _awaitable("close")

    async def export_records(self, **scope_args: Any) -> builtins.list[dict[str, Any]]:
        return await asyncio.to_thread(lambda: list(self.sync.export_records(**scope_args)))

    async def __aenter__(self) -> AsyncEngram:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
