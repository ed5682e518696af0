"""Shared CLI plumbing: the per-invocation state, common options and error output.

Every data command takes the same options, added by :func:`store_options`,
:func:`scope_options` and :func:`json_option` (:func:`data_command` adds all
three). The engine is opened on first use by :meth:`State.engine` and closed
when the command ends.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

    from ..config import Config
    from ..embed.base import Embedder
    from ..engine import Engram

__all__ = [
    "DATETIME",
    "State",
    "announce_new_store",
    "data_command",
    "echo_error",
    "json_option",
    "missing_store",
    "need_scope",
    "print_json",
    "scope_kwargs",
    "scope_options",
    "stdout_console",
    "store_options",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    """What one ``engram`` invocation knows: where the store is and the open engine."""

    db: str | None = None
    config_file: str | None = None
    #: an embedder to share (tests, embedding hosts); it is never closed here
    embedder: Embedder | None = field(default=None, repr=False)
    _engine: Engram | None = field(default=None, repr=False)

    def config(self) -> Config:
        from ..config import resolve_config

        return resolve_config(config_file=self.config_file, store=self.db)

    def engine(self, *, create: bool = False, announce: bool = True) -> Engram:
        """The engine for this invocation, opened (and the store migrated) on first call.

        A SQLite store file that does not exist is created only with ``create``
        (commands that write: add, import, demo, serve, mcp), saying so in one
        line on stderr (unless not ``announce``: a throwaway store); any other
        command raises
        :class:`~engram.errors.StoreNotFound` naming the path, so a mistyped
        ``--db`` never yields an empty answer from a new empty store.
        """
        if self._engine is None:
            from ..engine import Engram

            config = self.config()
            missing = missing_store(config.store_url(), create=create)
            self._engine = Engram(config=config, embedder=self.embedder)
            if missing is not None and announce:
                announce_new_store(missing)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            if self.embedder is not None:
                # Engram.close() also closes the embedder; a shared one must stay loaded
                engine._embedder = None
            engine.close()


def missing_store(url: str, *, create: bool) -> str | None:
    """The path of a SQLite store file that does not exist yet, else ``None``.

    Without ``create`` a missing file raises :class:`~engram.errors.StoreNotFound`
    (one line naming the path, exit 2) and nothing is created. PostgreSQL and
    in-memory stores are never "missing" here.
    """
    from pathlib import Path

    from ..errors import StoreNotFound
    from ..store import sqlite_path

    path = sqlite_path(url)
    if path is None or Path(path).expanduser().exists():
        return None
    if not create:
        raise StoreNotFound(
            f"no store at {path} (check --db; commands that write, like `engram add`, "
            "create it)"
        )
    return path


def announce_new_store(path: str) -> None:
    """One line on stderr after a write command created the store file."""
    click.echo(f"created a new store at {path}", err=True)


def echo_error(message: str, code: str, as_json: bool) -> None:
    """Exactly one line on stderr: ``Error: message`` or ``{"error": {...}}``."""
    one_line = " ".join(str(message).split())
    if as_json:
        line = json.dumps({"error": {"code": code, "message": one_line}}, ensure_ascii=False)
    else:
        line = f"Error: {one_line}"
    click.echo(line, err=True)


class _DateTime(click.ParamType[datetime, Any]):
    """An ISO 8601 date-time with a timezone (``Z`` or ``+02:00``); naive values are refused."""

    name = "ISO-DATETIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> datetime:
        if isinstance(value, datetime):
            return value
        from ..errors import EngramError
        from ..timeutil import parse_dt

        try:
            parsed = parse_dt(str(value), "value")
        except EngramError as exc:
            self.fail(str(exc).replace("value ", "", 1), param, ctx)
        assert parsed is not None
        return parsed


DATETIME = _DateTime()


def _state(ctx: click.Context) -> State:
    return ctx.ensure_object(State)


def _set_db(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    if value is not None:
        _state(ctx).db = value


def _set_config(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    if value is not None:
        _state(ctx).config_file = value


def store_options(f: F) -> F:
    """``--db`` and ``--config`` (also accepted before the command name)."""
    f = click.option(
        "--config", metavar="PATH", expose_value=False, callback=_set_config,
        type=click.Path(dir_okay=False), help="TOML config file.",
    )(f)
    f = click.option(
        "--db", metavar="PATH|URL", expose_value=False, callback=_set_db,
        help="SQLite file or store URL (default: under the user data dir).",
    )(f)
    return f


def scope_options(f: F) -> F:
    """``--user/-u``, ``--agent/-a``, ``--session/-s``: whose memory (user or agent required)."""
    f = click.option("--session", "-s", "session_id", metavar="ID", default=None,
                     help="Session id (narrows the scope).")(f)
    f = click.option("--agent", "-a", "agent_id", metavar="ID", default=None,
                     help="Agent id.")(f)
    f = click.option("--user", "-u", "user_id", metavar="ID", default=None,
                     help="User id (give --user or --agent).")(f)
    return f


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print JSON for machines instead of tables.")(f)


def scope_kwargs(user_id: str | None, agent_id: str | None, session_id: str | None
                 ) -> dict[str, Any]:
    return {"user_id": user_id, "agent_id": agent_id, "session_id": session_id}


def print_json(obj: Any) -> None:
    """Pretty JSON on stdout (UTF-8, stable key order as produced)."""
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, file=sys.stdout)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, stderr=True)


def get_state(ctx: click.Context) -> State:
    return _state(ctx)


#: parameters added by :func:`data_command`, listed after a command's own options
_SHARED = {"db", "config", "user_id", "agent_id", "session_id", "as_json"}


def data_command(cli: click.Group, name: str, *, scope: bool = True, json_out: bool = True,
                 **kwargs: Any) -> Callable[[Callable[..., None]], click.Command]:
    """``cli.command(name)`` plus the shared options of a data command.

    Adds ``--db``/``--config``, the scope options (``--user/-u``, ``--agent/-a``,
    ``--session/-s``; unless not ``scope``) and ``--json`` (unless not
    ``json_out``). In ``--help`` the command's own options come first, the
    shared ones after.
    """
    def deco(f: Callable[..., None]) -> click.Command:
        if json_out:
            f = json_option(f)
        if scope:
            f = scope_options(f)
        f = store_options(f)
        cmd = cli.command(name, **kwargs)(f)
        own = [p for p in cmd.params if p.name not in _SHARED]
        cmd.params = own + [p for p in cmd.params if p.name in _SHARED]
        return cmd
    return deco


def need_scope(user_id: str | None, agent_id: str | None) -> None:
    """Raise :class:`~engram.errors.ScopeRequired` unless a user or an agent is given."""
    if not user_id and not agent_id:
        from ..errors import ScopeRequired

        raise ScopeRequired("give --user/-u or --agent/-a: whose memory is this?")
