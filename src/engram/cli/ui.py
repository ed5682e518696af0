"""``engram ui``: the memory browser (:mod:`engram.ui`) in a web browser.

The same server as ``engram serve`` (same pages at ``/ui``, same API keys, same
``--no-auth`` rule: loopback only), started for a person rather than for agents: the
MCP endpoint stays off, and the URL of the browser is printed (and opened with
``--open``). Log in with an API key, or start it with ``--no-auth`` on your own machine.
"""

from __future__ import annotations

import click

from ._app import store_options

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.command("ui")
    @store_options
    @click.option("--host", default=None, help="Bind address [default: 127.0.0.1].")
    @click.option("--port", type=int, default=None, help="Port [default: 8420].")
    @click.option("--no-auth", is_flag=True,
                  help="No login: you are tenant 'default' (loopback binds only).")
    @click.option("--keys", "keys_file", default=None, metavar="PATH",
                  help="API keys file [default: <store>.keys.db beside the store].")
    @click.option("--open", "open_browser", is_flag=True,
                  help="Open the browser at the UI once the server is up.")
    @click.option("--log-level", default="warning",
                  type=click.Choice(["debug", "info", "warning", "error"]))
    @click.pass_context
    def ui(ctx: click.Context, host: str | None, port: int | None, no_auth: bool,
           keys_file: str | None, open_browser: bool, log_level: str) -> None:
        """Browse memories in a web browser: users, timelines, sources, history, Ask, Health."""
        serve = cli.get_command(ctx, "serve")
        if serve is None:  # pragma: no cover - registered by engram.cli.server
            raise click.UsageError("engram serve is not available")
        config = ctx.obj.config()
        url = f"http://{host or config.host}:{port or config.port}/ui"
        click.echo(f"Memory browser: {url}" + ("" if no_auth else
                   "  (log in with an API key: engram keys create --tenant NAME)"), err=True)
        if open_browser:
            import threading
            import webbrowser

            threading.Timer(2.0, webbrowser.open, [url]).start()
        ctx.invoke(serve, host=host, port=port, no_auth=no_auth, keys_file=keys_file,
                   no_mcp=True, log_level=log_level, log_format=None)
