"""Build the Engram server: REST (``/v1``), health, metrics and MCP (``/mcp``) in one ASGI app.

``/docs`` (Swagger UI) and ``/redoc`` load their scripts and styles from the server itself
(the ``fastapi-offline`` package ships them), never from a CDN.

>>> app = create_app(resolve_config(store="memory.db"))      # doctest: +SKIP
>>> uvicorn.run(app, host="127.0.0.1", port=8420)             # doctest: +SKIP

``auth=False`` is refused unless ``host`` is a loopback address.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi_offline import FastAPIOffline

from .. import __version__
from ..config import Config
from ..engine import Engram
from ..errors import ConfigError, EngramError, StoreError
from ..limits import Quota, QuotaGuard
from ..trust import poisoning
from .agents_procedures import router as procedures_router
from .auth import Authenticator, FailureLimiter, RateLimiter
from .compat_mem0 import router as mem0_router
from .keys import KeyStore, keys_path_for
from .metrics import CONTENT_TYPE, Metrics
from .middleware import ASGIApp, EngramASGI, Receive, Scope, Send
from .net import is_loopback
from .notes import router as notes_router
from .persona import router as persona_router
from .problems import install_handlers, problem_headers, problem_response
from .protocol import MAX_HEADER_BYTES
from .resources import router as resources_router
from .routes import Services, router

__all__ = ["ServerApp", "create_app", "is_loopback"]

log = logging.getLogger("engram.server")

#: new objects between young collections under ``create_app(freeze_gc=True)``
GC_YOUNG = 20_000


class ServerApp(EngramASGI):
    """The ASGI app ``engram serve`` runs; ``services`` exposes the engine and key store."""

    services: Services


def create_app(
    config: Config, *, auth: bool = True, keys_path: str | Path | None = None,
    engine: Engram | None = None, mcp: bool = True, quota: Quota | None = None,
    freeze_gc: bool = False,
) -> ServerApp:
    """The server for ``config``'s store. Keys live in ``keys_path`` (default: beside the store).

    ``freeze_gc`` (``engram serve`` sets it): once started, with the model loaded,
    the objects alive so far move to the garbage collector's permanent generation
    (:func:`gc.freeze`), which full collections no longer walk, and a young
    collection waits for :data:`GC_YOUNG` new objects (not 700: a search at 100k
    holds more than 700 at once, so it triggered one or two each time). At 100k
    memories a full collection takes ~12 ms instead of ~45 ms (the search p99) and
    a search ~0.4 ms less on average (docs/bench.md). The process's own choice:
    the library never changes the collector."""
    if not auth and not is_loopback(config.host):
        raise ConfigError(f"--no-auth is only allowed on a loopback address, not {config.host!r}")
    eg = engine or Engram(config=config)
    keys = KeyStore(keys_path or keys_path_for(config.store_url())) if auth else None
    authn = Authenticator(keys, auth=auth, limiter=RateLimiter(config.rate_limit_per_minute),
                          failures=FailureLimiter(config.auth_failures_per_minute))
    svc = Services(engine=eg, auth=authn, keys=keys, config=config,
                   quota=QuotaGuard(eg.store, quota) if quota is not None else None)
    metrics = Metrics()

    mcp_server = None
    mcp_asgi: ASGIApp | None = None
    if mcp:
        from .mcp_tools import build_mcp, http_tenant

        mcp_server = build_mcp(eg, tenant_of=http_tenant(),
                               max_query_chars=config.max_query_chars)
        mcp_asgi = _mcp_http(mcp_server, authn, config.host)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        eg.start_jobs()  # the durable job queue: rule derivation, LLM extraction, summaries
        await run_in_threadpool(eg.embedder)  # load the model before the first request
        # every write is scanned: compile the guard rules' pattern set now, on its thread
        poisoning.pattern_set().start()
        if freeze_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
        async with contextlib.AsyncExitStack() as stack:
            if mcp_server is not None:
                await stack.enter_async_context(mcp_server.session_manager.run())
            try:
                yield
            finally:
                await run_in_threadpool(eg.jobs.stop)
                await run_in_threadpool(eg.close)
                if keys is not None:
                    keys.close()

    # /docs and /redoc with Swagger UI and ReDoc served from the package (no CDN), so they
    # work offline; the validator badge would call validator.swagger.io, so it is off
    rest = FastAPIOffline(
        title="Engram", version=__version__, lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},
        description="Long-term memory for LLM agents. Authenticate with "
                    "`Authorization: Bearer <key>`; the key decides the tenant.",
    )
    rest.state.services = svc
    install_handlers(rest)
    rest.include_router(router)
    from ..ui import router as ui_router  # the memory browser at /ui (engram.ui)

    rest.include_router(ui_router)
    rest.include_router(resources_router)  # users, sessions, answer (server/resources.py)
    rest.include_router(mem0_router)  # mem0's SDK paths (server/compat_mem0.py)
    rest.include_router(notes_router)  # links, semantic cache (server/notes.py)
    rest.include_router(procedures_router)  # procedures, feedback, task trees
    rest.include_router(persona_router)  # profile, form, reply (server/persona.py)

    @rest.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @rest.get("/readyz", tags=["ops"], responses={503: {"description": "not ready"}})
    def readyz(request: Request) -> Any:
        """Readiness: the store answers and the embedder is loaded."""
        try:
            eg.store.get_meta("embedding_model")
            eg.embedder()
        except EngramError as exc:
            raise StoreError(f"not ready: {exc}") from exc
        return {"status": "ready", "derive_jobs_pending": eg.jobs.pending()}

    @rest.get("/metrics", tags=["ops"], responses={200: {
        "content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus"}})
    def prometheus() -> Response:
        """Prometheus text exposition."""
        metrics.derive_pending.set(eg.jobs.pending())
        metrics.derive_failed.set(eg.jobs.failed)
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    app = ServerApp(_header_limit(rest), _header_limit(mcp_asgi) if mcp_asgi else None,
                    metrics, config.max_body_bytes)
    app.services = svc
    return app


def _header_limit(app: ASGIApp) -> ASGIApp:
    """Answer 431 ``headers_too_large`` when the request line and headers pass
    :data:`~.protocol.MAX_HEADER_BYTES`. (:class:`~.protocol.ProblemH11Protocol` refuses
    the same, larger blocks that h11 stops reading, before any app runs.)"""

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            size += sum(len(k) + len(v) + 4 for k, v in scope.get("headers", []))
            if size > MAX_HEADER_BYTES:
                rid = scope.get("state", {}).get("request_id")
                await problem_response(431, "headers_too_large", f"request line and headers "
                                       f"over {MAX_HEADER_BYTES} bytes", rid)(scope, receive, send)
                return
        await app(scope, receive, send)

    return limited


def _mcp_http(server: Any, authn: Authenticator, host: str) -> ASGIApp:
    """The streamable-HTTP MCP app at ``/mcp``, refusing requests without a valid key."""
    from mcp.server.transport_security import TransportSecuritySettings

    from .mcp_tools import remember_caller

    security = None
    if not is_loopback(host):  # bearer keys protect the endpoint; allow any Host header
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    inner = server.streamable_http_app(streamable_http_path="/mcp", host=host,
                                       transport_security=security)

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        value = None
        for k, v in scope.get("headers", []):
            if bytes(k).lower() == b"authorization":
                value = bytes(v).decode("latin-1")
        try:
            client = scope.get("client")
            who = authn.caller(value, client=client[0] if client else None)
        except EngramError as exc:  # 401 with WWW-Authenticate, 429 with Retry-After
            rid = scope.get("state", {}).get("request_id")
            await problem_response(exc.status, exc.code, str(exc), rid,
                                   headers=problem_headers(exc))(scope, receive, send)
            return
        remember_caller(scope, who)  # the tools' tenant: one check per request, not two
        await inner(scope, receive, send)

    return guarded
