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
