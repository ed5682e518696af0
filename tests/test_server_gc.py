"""``engram serve`` freezes the objects alive after start-up out of full garbage
collections and makes young collections rarer (``create_app(freeze_gc=True)``);
the library and other apps never change the collector."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engram import Engram
from engram.config import resolve_config
from engram.server.app import GC_YOUNG, create_app


@pytest.mark.parametrize("freeze", [True, False])
def test_the_server_freezes_start_up_objects_only_when_asked(
    tmp_path: Path, embedder: Any, freeze: bool
) -> None:
    db = tmp_path / "gc.db"
    eg = Engram(db, embedder=embedder)
    gc.unfreeze()
    threshold = gc.get_threshold()
    try:
        app = create_app(resolve_config(store=str(db)), auth=False, mcp=False, engine=eg,
                         freeze_gc=freeze)
        assert gc.get_freeze_count() == 0  # nothing at construction
        with TestClient(app, base_url="http://127.0.0.1:8420") as client:
            frozen = gc.get_freeze_count()
            assert client.get("/healthz").status_code == 200
        assert (frozen > 0) is freeze
        assert gc.get_threshold() == ((GC_YOUNG, *threshold[1:]) if freeze else threshold)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_serve_asks_for_the_freeze(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from click.testing import CliRunner

    import engram.server.app as server_app
    from engram.cli import cli

    asked: dict[str, Any] = {}
    real = server_app.create_app

    def spy(*args: Any, **kwargs: Any) -> Any:
        asked.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(server_app, "create_app", spy)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)  # not listening
    result = CliRunner().invoke(cli, ["serve", "--no-auth", "--no-mcp",
                                      "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 0, result.output
    assert asked["freeze_gc"] is True
