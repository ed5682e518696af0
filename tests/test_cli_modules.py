"""``engram.cli`` has one module per command group, each listed once in
``_COMMAND_MODULES`` (the registration point) and exposing ``register(cli)``."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from engram import cli as cli_package

CLI_DIR = Path(cli_package.__file__).resolve().parent


def test_every_command_module_is_registered_once() -> None:
    modules = sorted(f"engram.cli.{p.stem}" for p in CLI_DIR.glob("*.py")
                     if not p.stem.startswith("_"))
    listed = cli_package._COMMAND_MODULES
    assert sorted(listed) == modules, "list each cli/<group>.py in _COMMAND_MODULES"
    assert len(set(listed)) == len(listed)
    for name in listed:
        assert callable(importlib.import_module(name).register), name


def test_each_command_comes_from_one_module() -> None:
    seen: dict[str, str] = {}
    for name in cli_package._COMMAND_MODULES:
        group = click.Group("probe")
        importlib.import_module(name).register(group)
        assert group.commands, f"{name} registers no command"
        for command in group.commands:
            assert command not in seen, f"{command} is defined by {seen[command]} and {name}"
            seen[command] = name
    assert set(seen) <= set(cli_package.cli.commands)
