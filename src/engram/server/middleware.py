"""The outer ASGI layer: request id, body size limit, metrics and one log line per request.

* ``X-Request-ID``: taken from the request when it is a short token
  (``[A-Za-z0-9._-]{1,128}``), else generated; echoed on every response and
  put in the log line and in problem bodies (``request.state.request_id``).
* Bodies larger than ``max_body_bytes`` get a 413 problem before the app runs
  (checked on ``Content-Length`` and on the bytes actually received).
* Paths under ``/mcp`` go to the MCP app, everything else to the REST app.
* The log line escapes what the client sent (the path arrives URL-decoded, so
  ``%0D%0A`` is a real line break): see :mod:`engram.server.logs`.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .logs import escape
from .metrics import Metrics

__all__ = ["EngramASGI"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("engram.server")
_RID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class _TooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k.lower() == name:
            return bytes(v).decode("latin-1")
    return None


async def _problem(send: Send, status: int, code: str, detail: str, rid: str) -> None:
    title = {413: "Content Too Large", 400: "Bad Request"}.get(status, "Error")
    body = json.dumps({"type": "about:blank", "title": title, "status": status,
                       "detail": detail, "code": code, "request_id": rid}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()), (b"x-request-id", rid.encode()),
    ]})
    await send({"type": "http.response.body", "body": body})


class EngramASGI:
    """Dispatch to the REST or MCP app with the per-request bookkeeping around both."""

    def __init__(self, rest: ASGIApp, mcp: ASGIApp | None, metrics: Metrics,
                 max_body_bytes: int) -> None:
        self.rest = rest
        self.mcp = mcp
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.rest(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and _RID.match(given) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        path: str = scope.get("path", "")
        is_mcp = self.mcp is not None and (path == "/mcp" or path.startswith("/mcp/"))
        start = time.perf_counter()
        status_box = [500]

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", [])
                           if bytes(k).lower() != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            body_receive = await self._limited_body(scope, receive)
        except _TooLarge:
            status_box[0] = 413
            await _problem(send, 413, "body_too_large",
                           f"request body over {self.max_body_bytes} bytes", rid)
        else:
            app = self.mcp if is_mcp and self.mcp is not None else self.rest
            try:
                await app(scope, body_receive, send_wrapped)
            except Exception:  # already answered with a 500 problem by the app
                log.debug("request %s raised after responding", rid)
        elapsed = time.perf_counter() - start
        route = "/mcp" if is_mcp else _route(scope)
        self.metrics.observe(scope.get("method", "?"), route, status_box[0], elapsed)
        method = escape(scope.get("method", "?"))
        client = scope.get("client")
        log.info("%s %s %s %d %.1fms", rid, method, escape(path), status_box[0],
                 elapsed * 1000, extra={
                     "request_id": rid, "method": method, "path": path,
                     "status": status_box[0], "duration_ms": round(elapsed * 1000, 1),
                     "client": client[0] if client else None})

    async def _limited_body(self, scope: Scope, receive: Receive) -> Receive:
        if scope.get("method") not in ("POST", "PUT", "PATCH", "DELETE"):
            return receive
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            raise _TooLarge()
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return _replay([message], receive)
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}],
                       receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
