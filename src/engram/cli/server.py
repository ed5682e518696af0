"""``engram serve``, ``engram mcp`` and ``engram keys``: the server side of Engram.

These commands need the ``server`` extra (``pip install 'engramdb[server]'``);
it is imported only when one of them runs.
"""

from __future__ import annotations

from typing import Any

import click

from ._app import State, announce_new_store, missing_store, store_options

__all__ = ["register"]


def _need_server() -> None:
    try:
        import fastapi  # noqa: F401
        import mcp  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        from ..errors import MissingDependency

        raise MissingDependency(
            f"the server needs an optional dependency ({exc.name}); "
            "install it with: pip install 'engramdb[server]'"
        ) from None


def _keys_path(state: State, given: str | None) -> str:
    if given:
        return given
    from ..server.keys import keys_path_for

    return str(keys_path_for(state.config().store_url()))


def register(cli: click.Group) -> None:
    @cli.command("serve")
    @store_options
    @click.option("--host", default=None, help="Bind address [default: 127.0.0.1].")
    @click.option("--port", type=int, default=None, help="Port [default: 8420].")
    @click.option("--no-auth", is_flag=True,
                  help="No API keys: everyone is tenant 'default' (loopback binds only).")
    @click.option("--keys", "keys_file", default=None, metavar="PATH",
                  help="API keys file [default: <store>.keys.db beside the store].")
    @click.option("--no-mcp", is_flag=True, help="Do not mount the MCP endpoint at /mcp.")
    @click.option("--log-level", default="info",
                  type=click.Choice(["debug", "info", "warning", "error"]))
    @click.option("--log-format", default=None, type=click.Choice(["text", "json"]),
                  help="Log lines as escaped text or one JSON object each "
                       "[default: the log_format setting, else text].")
    @click.pass_obj
    def serve(state: State, host: str | None, port: int | None, no_auth: bool,
              keys_file: str | None, no_mcp: bool, log_level: str,
              log_format: str | None) -> None:
        """Run the REST API (/v1, OpenAPI at /docs) and MCP (/mcp) on one port."""
        _need_server()
        import uvicorn

        from ..server.app import create_app, is_loopback
        from ..server.keys import KeyStore
        from ..server.logs import configure_logging

        changes: dict[str, Any] = {}
        if host is not None:
            changes["host"] = host
        if port is not None:
            changes["port"] = port
        if log_format is not None:
            changes["log_format"] = log_format
        config = state.config().replace(**changes)
        if no_auth:
            if not is_loopback(config.host):
                from ..errors import ConfigError

                raise ConfigError(f"--no-auth is only allowed on a loopback address, "
                                  f"not {config.host}")
            click.secho("WARNING: --no-auth: anyone who can reach "
                        f"{config.host}:{config.port} can read and change every memory "
                        "(tenant 'default'). Use only for local development.",
                        fg="red", bold=True, err=True)
        keys_path = _keys_path(state, keys_file)
        if not no_auth:
            ks = KeyStore(keys_path)
            if not ks.list(include_revoked=False):
                click.echo(f"No API keys yet in {keys_path}: create one with "
                           "`engram keys create --tenant NAME` (add --admin for key "
                           "management).", err=True)
            ks.close()
        configure_logging(log_level, config.log_format)
        from ..limits import Quota

        quota = None
        if config.quota_max_items or config.quota_max_bytes:
            quota = Quota(max_items=config.quota_max_items or None,
                          max_bytes=config.quota_max_bytes or None)
        new_store = missing_store(config.store_url(), create=True)
        app = create_app(config, auth=not no_auth, keys_path=keys_path, mcp=not no_mcp,
                         quota=quota, freeze_gc=True)
        if new_store is not None:
            announce_new_store(new_store)
        click.echo(f"Engram listening on http://{config.host}:{config.port} "
                   f"(store {config.store_url()})", err=True)
        from ..server.protocol import MAX_HEADER_BYTES, ProblemH11Protocol

        # h11 always (its parse errors answered as problems by ProblemH11Protocol)
        uvicorn.run(app, host=config.host, port=config.port, log_level=log_level,
                    access_log=False, lifespan="on", log_config=None,  # our handler
                    http=ProblemH11Protocol, h11_max_incomplete_event_size=MAX_HEADER_BYTES)

    @cli.command("mcp")
    @store_options
    @click.option("--tenant", default="default", show_default=True,
                  help="Tenant whose data the tools read and write.")
    @click.pass_obj
    def mcp_stdio(state: State, tenant: str) -> None:
        """Run the MCP server on stdin/stdout (for Claude Desktop, IDEs and agents)."""
        _need_server()
        import anyio

        from ..server.mcp_tools import build_mcp
        from ..validation import check_id

        check_id(tenant, "tenant")
        config = state.config()
        engine = state.engine(create=True)
        server = build_mcp(engine, tenant_of=lambda _ctx: tenant,
                           max_query_chars=config.max_query_chars)
        engine.start_jobs()  # background derivation, as under `engram serve`
        anyio.run(server.run_stdio_async)

    @cli.group("keys")
    @store_options
    @click.option("--keys", "keys_file", default=None, metavar="PATH",
                  help="API keys file [default: <store>.keys.db beside the store].")
    @click.pass_context
    def keys(ctx: click.Context, keys_file: str | None) -> None:
        """Create, list and revoke API keys (each key belongs to one tenant)."""
        state: State = ctx.obj
        ctx.meta["engram.keys_path"] = _keys_path(state, keys_file)

    def _open(ctx: click.Context) -> Any:
        from ..server.keys import KeyStore

        return KeyStore(ctx.meta["engram.keys_path"])

    @keys.command("create")
    @click.option("--tenant", required=True, help="Tenant the key acts for.")
    @click.option("--name", default="", help="A label (who or what uses the key).")
    @click.option("--admin", is_flag=True, help="The key may also manage its tenant's keys.")
    @click.option("--operator", is_flag=True,
                  help="Store-wide key: every tenant's keys and whole-store stats through "
                       "the API (implies --admin; only this command mints one).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_context
    def create(ctx: click.Context, tenant: str, name: str, admin: bool, operator: bool,
               as_json: bool) -> None:
        """Create a key and print its secret (shown once; only a hash is stored)."""
        import json

        ks = _open(ctx)
        try:
            made = ks.create(tenant, name=name, admin=admin, operator=operator)
        finally:
            ks.close()
        if as_json:
            click.echo(json.dumps({"key": made.key.to_dict(), "secret": made.secret}))
        else:
            click.echo(made.secret)
            role = " (operator)" if operator else " (admin)" if admin else ""
            click.echo(f"key {made.key.id} for tenant {tenant!r}{role}: store the secret "
                       "now, it is not shown again.", err=True)

    @keys.command("list")
    @click.option("--tenant", default=None, help="Only this tenant's keys.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_context
    def list_(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
        """List keys (never their secrets)."""
        import json

        ks = _open(ctx)
        try:
            rows = ks.list(tenant=tenant)
        finally:
            ks.close()
        if as_json:
            click.echo(json.dumps([k.to_dict() for k in rows]))
            return
        for k in rows:
            d = k.to_dict()
            state = "revoked" if k.revoked_at else "active"
            role = "operator" if k.operator else "admin" if k.admin else "tenant"
            click.echo(f"{k.id}\t{k.tenant}\t{role}\t{state}\t{d['created_at']}\t{k.name}")

    @keys.command("revoke")
    @click.argument("key_id")
    @click.pass_context
    def revoke(ctx: click.Context, key_id: str) -> None:
        """Revoke a key; requests with it fail at once.

        Unlike the API, this may revoke a tenant's last admin key (it says so)."""
        ks = _open(ctx)
        try:
            k = ks.revoke(key_id, keep_last_admin=False)
            left = [x for x in ks.list(tenant=k.tenant, include_revoked=False) if x.admin]
        finally:
            ks.close()
        click.echo(f"revoked {k.id} (tenant {k.tenant!r})", err=True)
        if k.admin and not left:
            click.echo(f"tenant {k.tenant!r} has no admin key left; create one with "
                       f"`engram keys create --tenant {k.tenant} --admin`", err=True)
