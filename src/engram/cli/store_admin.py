"""``engram migrate``, ``migrate-store`` and ``reembed``: schema upgrades, backend moves
and a change of embedding model."""

from __future__ import annotations

import click

from ._app import (
    announce_new_store,
    data_command,
    get_state,
    json_option,
    missing_store,
    print_json,
    store_options,
)
from ._progress import Progress

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.command("migrate")
    @store_options
    @json_option
    @click.pass_context
    def migrate(ctx: click.Context, as_json: bool) -> None:
        """Apply pending schema migrations (each in its own transaction)."""
        url = get_state(ctx).config().store_url()
        new_store = missing_store(url, create=True)
        from ..store import open_unmigrated

        store = open_unmigrated(url)
        if new_store is not None:
            announce_new_store(new_store)
        try:
            applied = store.migrate()
            all_names = store.applied_migrations()
        finally:
            store.close()
        if as_json:
            print_json({"applied": applied, "schema": all_names})
            return
        for name in applied:
            click.echo(f"applied {name}")
        click.echo(f"schema at {all_names[-1] if all_names else '(empty)'}"
                   + ("" if applied else " (nothing to do)"))

    @cli.command("migrate-store")
    @click.option("--from", "source", required=True, metavar="URL",
                  help="Store to copy from (sqlite:///a.db or postgresql://...).")
    @click.option("--to", "target", required=True, metavar="URL",
                  help="Store to copy into (migrated first; empty or a partial copy).")
    @json_option
    def migrate_store(source: str, target: str, as_json: bool) -> None:
        """Move a whole store between backends, history and vectors included.

        Verifies counts and content hashes per tenant afterwards; exits 2 when
        they differ."""
        from ..errors import StoreError
        from ..store.migrate_store import move_store

        missing_store(source, create=False)  # a mistyped --from must not copy an empty store
        new_store = missing_store(target, create=True)
        report = move_store(source, target)
        if new_store is not None:
            announce_new_store(new_store)
        if as_json:
            print_json(report.to_dict())
        else:
            for tenant, fp in sorted(report.source.items()):
                got = report.target.get(tenant)
                mark = "ok" if got == fp else "MISMATCH"
                click.echo(
                    f"{tenant}: {fp.episodes} episodes, {fp.memories} memories,"
                    f" {fp.versions} versions, {fp.vectors} vectors, sha256 {fp.sha256[:16]} {mark}"
                )
        if not report.verified:
            raise StoreError("target does not match source after the copy (see above)")

    @data_command(cli, "reembed", scope=False)
    @click.option("--model", default=None, metavar="SPEC",
                  help="Embedder 'provider:model' (default: the configured one).")
    @click.pass_context
    def reembed(ctx: click.Context, model: str | None, as_json: bool) -> None:
        """Re-embed every stored item with --model and make it the store's model."""
        eg = get_state(ctx).engine()
        st = eg.stats()
        with Progress("engram reembed", st.episodes + st.memories, unit="items",
                      enabled=not as_json) as advance:
            n = eg.reembed(model, progress=advance)
        model_id = eg.store.get_meta("embedding_model")
        if as_json:
            print_json({"embedded": n, "embedding_model": model_id})
            return
        click.echo(f"embedded {n} items with {model_id}")
