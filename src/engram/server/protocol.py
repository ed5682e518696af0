"""The HTTP/1.1 protocol ``engram serve`` runs: uvicorn's h11 protocol, with problem answers.

uvicorn answers a request that h11 cannot parse with a plain-text 400 before any app
runs. :class:`ProblemH11Protocol` sends the same refusal as ``application/problem+json``,
like every other error of the server:

* request line and headers over :data:`MAX_HEADER_BYTES` (16 KiB, h11's default):
  431 ``headers_too_large``;
* anything else h11 refuses (a malformed request line or header): 400 ``malformed_request``.

The connection is closed afterwards, as uvicorn does. Use it with
``uvicorn.run(app, http=ProblemH11Protocol, h11_max_incomplete_event_size=MAX_HEADER_BYTES)``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

__all__ = ["MAX_HEADER_BYTES", "ProblemH11Protocol"]

#: largest request line plus headers the server reads before answering 431
MAX_HEADER_BYTES = 16 * 1024


class _Connection(h11.Connection):
    """An h11 server connection that remembers the protocol error it raised last."""

    error: h11.RemoteProtocolError | None = None

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as exc:
            self.error = exc
            raise


class ProblemH11Protocol(H11Protocol):
    """uvicorn's h11 protocol whose parse-error answers are problem details."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_header_bytes = config.h11_max_incomplete_event_size or MAX_HEADER_BYTES
        self.conn = _Connection(h11.SERVER, self.max_header_bytes)

    def send_400_response(self, msg: str) -> None:
        error = self.conn.error if isinstance(self.conn, _Connection) else None
        if error is not None and error.error_status_hint == 431:
            status, code = 431, "headers_too_large"
            detail = f"request line and headers over {self.max_header_bytes} bytes"
        else:
            status, code = 400, "malformed_request"
            detail = "the request is not valid HTTP/1.1"
        rid = secrets.token_hex(8)
        title = "Request Header Fields Too Large" if status == 431 else "Bad Request"
        body = json.dumps({"type": "about:blank", "title": title, "status": status,
                           "detail": detail, "code": code, "request_id": rid}).encode()
        headers = [(b"content-type", b"application/problem+json"),
                   (b"content-length", str(len(body)).encode()),
                   (b"x-request-id", rid.encode()), (b"connection", b"close")]
        self.transport.write(self.conn.send(h11.Response(status_code=status, headers=headers,
                                                         reason=title.encode())))
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()
