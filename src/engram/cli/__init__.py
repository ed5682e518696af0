"""The ``engram`` command line.

``cli`` is the click group; :func:`main` is the console-script entry point.
Each area adds its commands from its own module listed in
``_COMMAND_MODULES``: the module exposes ``register(cli: click.Group) -> None``.
The ``bench`` group (:mod:`engram.bench.cli`) is mounted lazily, so a missing
optional dependency never breaks ``engram --help``.

Error contract: an :class:`~engram.errors.EngramError` or a usage mistake
prints exactly one line on stderr (``Error: ...``, or a JSON object with
``--json``) and exits with status 2; an unexpected failure prints one line and
exits 1 (``engram --traceback ...`` shows the full traceback).

Nothing heavy is imported here: the engine and the embedder load only when a
command needs them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from typing import Any

import click

from ._app import State, echo_error

__all__ = ["cli", "main"]

#: THE registration point: one module per command group, each exposing
#: ``register(cli: click.Group) -> None``. To add a group, write ``cli/<group>.py``
#: (data commands use :func:`engram.cli._app.data_command` for the shared
#: --db/--config/scope/--json options) and append one line here.
_COMMAND_MODULES: list[str] = [
    "engram.cli.add",
    "engram.cli.browse",
    "engram.cli.delete",
    "engram.cli.flags",
    "engram.cli.notes",
    "engram.cli.persona",
    "engram.cli.demo",
    "engram.cli.procedures",
    "engram.cli.search",
    "engram.cli.server",
    "engram.cli.store_admin",
    "engram.cli.transfer",
    "engram.cli.ui",
]

#: lazily mounted sub-groups: command name -> (module, attribute, one-line help)
_LAZY_GROUPS: dict[str, tuple[str, str, str]] = {
    "bench": ("engram.bench.cli", "bench", "Run the memory benchmarks (LoCoMo, LongMemEval)."),
}

USER_ERROR_EXIT = 2
INTERNAL_ERROR_EXIT = 1


class _LazyGroup(click.Group):
    """A click group that mounts optional sub-groups on first use and owns error display."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        for name, (module, _, _) in _LAZY_GROUPS.items():
            if _module_exists(module):
                names.add(name)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None or cmd_name not in _LAZY_GROUPS:
            return cmd
        module, attr, short = _LAZY_GROUPS[cmd_name]
        if not _module_exists(module):
            return None
        try:
            loaded = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            return _broken(cmd_name, short, exc)
        assert isinstance(loaded, click.Command)
        return loaded

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands; lazy groups show their one-line help without being imported."""
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            if name in _LAZY_GROUPS and name not in self.commands:
                rows.append((name, _LAZY_GROUPS[name][2]))
                continue
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            rows.append((name, cmd.get_short_help_str(limit=formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI, turning every error into one line on stderr and an exit code."""
        argv = list(sys.argv[1:] if args is None else args)
        as_json = "--json" in argv
        show_tb = "--traceback" in argv
        try:
            rv = super().main(
                argv, prog_name=prog_name or "engram", complete_var=complete_var,
                standalone_mode=False, **extra,
            )
        except click.exceptions.Abort:
            echo_error("aborted; nothing was changed", "aborted", as_json)
            code = 1
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "engram"
            echo_error(f"{exc.format_message()} (see `{where} --help`)", "usage", as_json)
            code = USER_ERROR_EXIT
        except click.ClickException as exc:
            echo_error(exc.format_message(), "usage", as_json)
            code = exc.exit_code
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except BrokenPipeError:
            code = 1
        except Exception as exc:  # noqa: BLE001 - the CLI boundary: never a traceback
            from ..errors import EngramError

            if isinstance(exc, EngramError):
                echo_error(str(exc), exc.code, as_json)
                code = USER_ERROR_EXIT
            else:
                if show_tb:
                    raise
                echo_error(
                    f"internal error: {type(exc).__name__}: {exc} "
                    "(rerun with `engram --traceback ...` for details)",
                    "internal", as_json,
                )
                code = INTERNAL_ERROR_EXIT
        else:
            code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _module_exists(name: str) -> bool:
    """Whether an ``engram.*`` module is installed, without importing it or its
    parent packages (``find_spec`` would run ``engram/bench/__init__.py``)."""
    from pathlib import Path

    parts = name.split(".")
    if parts[0] != "engram":
        try:
            return importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            return False
    target = Path(__file__).resolve().parent.parent.joinpath(*parts[1:])
    return target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()


def _broken(name: str, short: str, exc: ImportError) -> click.Command:
    def run() -> None:
        from ..errors import MissingDependency

        raise MissingDependency(
            f"`engram {name}` needs an optional dependency ({exc}); "
            "install it with: pip install 'engramdb[bench]'"
        )

    return click.Command(
        name, callback=run, help=short, short_help=short, context_settings={
            "ignore_unknown_options": True, "allow_extra_args": True,
        },
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("engramdb")
    except PackageNotFoundError:
        return "unknown"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the installed version, looked up only when asked for."""
    if value and not ctx.resilient_parsing:
        click.echo(f"engram {_version()}")
        ctx.exit()


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--db", "db", metavar="PATH|URL", default=None,
    help="Store: a SQLite file path or a URL (default: engram.db under the user data dir).",
)
@click.option(
    "--config", "config_file", metavar="PATH", default=None,
    type=click.Path(dir_okay=False), help="TOML config file (default: $ENGRAM_CONFIG, "
    "else engram.toml under the user config dir).",
)
@click.option("--traceback", is_flag=True, hidden=True, help="Show tracebacks of internal errors.")
@click.option(
    "--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
    help="Show the version and exit.",
)
@click.pass_context
def cli(ctx: click.Context, db: str | None, config_file: str | None, traceback: bool) -> None:
    """Engram: long-term memory for LLM agents.

    Episodes are kept verbatim; memories derived from them are versioned, so
    you can ask what was true when. Every command that reads or writes data
    takes a scope: --user and/or --agent (and optionally --session).

    Try `engram demo` for a tour on a sample conversation (offline, a few seconds).
    """
    state = ctx.ensure_object(State)
    state.db = state.db or db
    state.config_file = state.config_file or config_file
    ctx.call_on_close(state.close)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # a listed area that is not there yet
            raise
        module.register(cli)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``engram``)."""
    cli.main(args=argv, prog_name="engram")


_register_all()
