"""Generate ``docs/cli.md`` from the commands' own ``--help``.

    python -m engram.cli._docs            # print
    python -m engram.cli._docs --write    # rewrite docs/cli.md in the checkout

``tests/test_cli.py`` fails when docs/cli.md is out of date or a command has no
section, so the reference can never drift from the code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

__all__ = ["WIDTH", "command_paths", "render"]

WIDTH = 100
HEADER = """# `engram` command line

Generated from each command's `--help` by `python -m engram.cli._docs --write`; do not edit
by hand (`tests/test_cli.py` checks that it is up to date).

Every command that reads or writes data takes a scope: `--user/-u` and/or `--agent/-a`
(one of them is required) and optionally `--session/-s`. `--db PATH|URL` and `--config PATH`
may be given before the command name or after it. `--json` prints JSON for machines.
A user error prints one line on stderr and exits with status 2; nothing is written.
"""


def _help(cmd: click.Command, path: list[str], parent: click.Context | None) -> tuple[
        str, click.Context]:
    settings = {**cmd.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    ctx = click.Context(cmd, info_name=path[-1], parent=parent, **settings)
    return cmd.get_help(ctx), ctx


def _walk(cmd: click.Command, path: list[str], parent: click.Context | None
          ) -> Iterator[tuple[str, str]]:
    text, ctx = _help(cmd, path, parent)
    yield " ".join(path), text
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, [*path, name], ctx)


def sections() -> list[tuple[str, str]]:
    """``(command path, help text)`` for the group and every (sub)command."""
    from . import cli

    return list(_walk(cli, ["engram"], None))


def command_paths() -> list[str]:
    return [path for path, _ in sections()]


def render() -> str:
    parts = [HEADER]
    for path, text in sections():
        level = "##" if path.count(" ") <= 1 else "###"
        parts.append(f"{level} {path}\n\n```\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


def main(argv: list[str]) -> None:
    text = render()
    if "--write" in argv:
        target = Path(__file__).resolve().parents[3] / "docs" / "cli.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
