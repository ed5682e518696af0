"""A scripted OpenAI-compatible chat completions server on loopback.

The one stand-in Engram's tests may use: a real HTTP server (stdlib
``http.server``, one thread per connection, HTTP/1.1 keep-alive) on
``127.0.0.1`` at a random port, speaking the OpenAI wire format, including
its failures. Nothing is mocked inside the client: requests go through
httpx, sockets and JSON like with OpenAI, Ollama, vLLM or llama.cpp.

Endpoints: ``POST /v1/chat/completions`` and ``GET /v1/models``; any other
path answers 404 with an OpenAI error body.

What the server enforces on every request, like real servers (these answers
do not consume the script):

* a JSON body with ``model`` and a non-empty ``messages`` list (else 400);
* ``stream: true`` is refused (400);
* ``response_format.type`` must be in ``response_formats`` (else the 400
  OpenAI sends for an unsupported ``response_format``);
* with ``api_key`` set, ``Authorization: Bearer <key>`` (else 401).

What it answers is scripted, first match wins:

1. rules added with :meth:`ScriptedLLMServer.on` (a substring of the last
   user message, or a predicate on the request), optionally ``times=n``;
2. the FIFO queue filled by :meth:`ScriptedLLMServer.script`;
3. ``default`` (a reply or a function of the request);
4. otherwise HTTP 500 "no scripted reply", and the request is listed in
   :attr:`ScriptedLLMServer.unmatched`.

A reply is one of :func:`ok`, :func:`malformed`, :func:`refusal`,
:func:`truncated`, :func:`status` (also :func:`rate_limited`,
:func:`server_error`, :func:`reject_response_format`), :func:`raw` (any
status and body, e.g. a proxy's HTML page), :func:`delay` and :func:`drop`,
or a function ``request -> reply``.
Every request received is recorded in :attr:`ScriptedLLMServer.requests`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

__all__ = [
    "Delay",
    "Drop",
    "Ok",
    "Raw",
    "RecordedRequest",
    "Reply",
    "ScriptedLLMServer",
    "Status",
    "delay",
    "drop",
    "malformed",
    "ok",
    "rate_limited",
    "raw",
    "refusal",
    "reject_response_format",
    "server_error",
    "status",
    "truncated",
]


# -- recorded requests ------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as received. ``body`` is the parsed JSON (``None`` if not JSON)."""

    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: Any
    raw: bytes = b""
    query: str = ""

    @property
    def messages(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict) and isinstance(self.body.get("messages"), list):
            return list(self.body["messages"])
        return []

    @property
    def last_user(self) -> str:
        """Text of the last user message ('' when none)."""
        for message in reversed(self.messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return _text(message.get("content"))
        return ""

    @property
    def response_format(self) -> dict[str, Any] | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("response_format"), dict):
            return dict(self.body["response_format"])
        return None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


# -- replies ------------------------------------------------------------------


class Reply:
    """Base of the scripted replies."""


@dataclass(frozen=True)
class Ok(Reply):
    """A 200 chat completion. ``usage`` is ``(prompt, completion)``; estimated if None."""

    content: str | None
    finish_reason: str = "stop"
    usage: tuple[int, int] | None = None
    model: str | None = None
    refusal: str | None = None


@dataclass(frozen=True)
class Status(Reply):
    """An error status with an OpenAI error body and optional extra headers."""

    code: int
    message: str = ""
    error_type: str = "server_error"
    param: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delay(Reply):
    """Wait ``seconds`` (interrupted by server stop), then answer ``then``."""

    seconds: float
    then: Reply


@dataclass(frozen=True)
class Raw(Reply):
    """Any status with a verbatim body (an HTML error page from a proxy, say)."""

    code: int
    body: str
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Drop(Reply):
    """Close the connection after reading the request, without any response."""


Responder = Reply | Callable[[RecordedRequest], Reply]


def ok(
    content: str | Mapping[str, Any] | list[Any],
    *,
    usage: tuple[int, int] | None = None,
    finish_reason: str = "stop",
    model: str | None = None,
) -> Ok:
    """A normal answer; a dict or list is sent as its JSON text."""
    text = content if isinstance(content, str) else json.dumps(content)
    return Ok(text, finish_reason=finish_reason, usage=usage, model=model)


def malformed(content: str = '{"result": "unfinished", ') -> Ok:
    """A 200 answer whose content is not valid JSON."""
    return Ok(content)


def truncated(content: str = '{"result": "cut sh') -> Ok:
    """An answer cut by ``max_tokens`` (``finish_reason: "length"``)."""
    return Ok(content, finish_reason="length")


def refusal(text: str = "I can't help with that.") -> Ok:
    """A structured-output refusal: ``content: null`` and ``message.refusal`` set."""
    return Ok(None, refusal=text)


def status(
    code: int,
    message: str | None = None,
    *,
    retry_after: float | str | None = None,
    headers: Mapping[str, str] | None = None,
    error_type: str | None = None,
    param: str | None = None,
) -> Status:
    """Any HTTP error; ``retry_after`` sets the ``Retry-After`` header."""
    extra = dict(headers or {})
    if retry_after is not None:
        extra["Retry-After"] = str(retry_after)
    kind = error_type or ("server_error" if code >= 500 else "invalid_request_error")
    return Status(code, message or f"scripted HTTP {code}", kind, param, extra)


def rate_limited(retry_after: float | str | None = 1) -> Status:
    return status(
        429,
        "Rate limit reached for requests. Please try again later.",
        retry_after=retry_after,
        error_type="requests",
    )


def server_error(code: int = 500) -> Status:
    return status(code, "The server had an error while processing your request.")


def reject_response_format(kind: str = "json_schema") -> Status:
    """The 400 OpenAI sends when a model does not support a ``response_format``."""
    return status(
        400,
        f"Invalid parameter: 'response_format' of type '{kind}' is not supported with this model.",
        param="response_format",
    )


def raw(code: int, body: str, content_type: str = "text/plain") -> Raw:
    return Raw(code, body, content_type)


def delay(seconds: float, then: Reply | None = None) -> Delay:
    return Delay(seconds, then if then is not None else ok("late reply"))


def drop() -> Drop:
    return Drop()


# -- the server ---------------------------------------------------------------


@dataclass
class _Rule:
    match: Callable[[RecordedRequest], bool]
    reply: Responder
    times: int | None


class ScriptedLLMServer:
    """See the module docstring. Use as a context manager or ``start()``/``stop()``."""

    def __init__(
        self,
        *,
        model: str = "scripted-model",
        response_formats: tuple[str, ...] = ("json_schema", "json_object", "text"),
        api_key: str | None = None,
        default: Responder | None = None,
    ) -> None:
        self.model = model
        self.response_formats = response_formats
        self.api_key = api_key
        self.default = default
        self._lock = threading.Lock()
        self._queue: deque[Responder] = deque()
        self._rules: list[_Rule] = []
        self._requests: list[RecordedRequest] = []
        self._unmatched: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Self:
        handler = type("_BoundHandler", (_Handler,), {"owner": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible root, ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # scripting

    def script(self, *replies: Responder) -> Self:
        """Queue replies, answered in order, one per request (after the rules)."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def on(
        self,
        match: str | Callable[[RecordedRequest], bool],
        reply: Responder,
        *,
        times: int | None = None,
    ) -> Self:
        """Answer ``reply`` to requests whose last user message contains ``match``
        (or for which ``match(request)`` is true); ``times`` limits the uses."""
        predicate = (lambda r, s=match: s in r.last_user) if isinstance(match, str) else match
        with self._lock:
            self._rules.append(_Rule(predicate, reply, times))
        return self

    def reset(self) -> None:
        """Forget the script, the rules and the recorded requests."""
        with self._lock:
            self._queue.clear()
            self._rules.clear()
            self._requests.clear()
            self._unmatched.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def unmatched(self) -> list[RecordedRequest]:
        """Chat requests that found no scripted reply (answered 500)."""
        with self._lock:
            return list(self._unmatched)

    @property
    def pending(self) -> int:
        """Replies still queued."""
        with self._lock:
            return len(self._queue)

    def settings(self, **overrides: Any) -> Any:
        """An :class:`engram.llm.LLMSettings` for this server (fast retries by default)."""
        from engram.llm import LLMSettings

        values: dict[str, Any] = {
            "base_url": self.base_url,
            "model": self.model,
            "api_key": self.api_key,
            "backoff_base": 0.0,
            "timeout": 5.0,
        }
        values.update(overrides)
        return LLMSettings(**values)

    # request handling (called from handler threads)

    def _choose(self, request: RecordedRequest) -> Reply | None:
        with self._lock:
            chosen: Responder | None = None
            for rule in self._rules:
                if rule.times != 0 and rule.match(request):
                    if rule.times is not None:
                        rule.times -= 1
                    chosen = rule.reply
                    break
            if chosen is None and self._queue:
                chosen = self._queue.popleft()
            if chosen is None:
                chosen = self.default
            if chosen is None:
                self._unmatched.append(request)
                return None
        return chosen(request) if callable(chosen) else chosen

    def _check(self, request: RecordedRequest) -> Status | None:
        """The refusals every real server makes before looking at the script."""
        if self.api_key is not None:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return status(401, "Incorrect API key provided.", error_type="invalid_api_key")
        body = request.body
        if not isinstance(body, dict):
            return status(400, "We could not parse the JSON body of your request.")
        if not isinstance(body.get("model"), str) or not body["model"]:
            return status(400, "you must provide a model parameter", param="model")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return status(400, "'messages' must be a non-empty array", param="messages")
        if body.get("stream"):
            return status(400, "streaming is not supported by this server", param="stream")
        fmt = request.response_format
        if fmt is not None and fmt.get("type") not in self.response_formats:
            return reject_response_format(str(fmt.get("type")))
        return None

    def _completion(self, request: RecordedRequest, reply: Ok) -> dict[str, Any]:
        if reply.usage is not None:
            prompt, completion = reply.usage
        else:
            prompt = sum(4 + len(_text(m.get("content")).split()) for m in request.messages)
            completion = max(1, len((reply.content or "").split()))
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.refusal is not None:
            message["refusal"] = reply.refusal
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": reply.model or request.body.get("model") or self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # one write per response and no Nagle: keep-alive replies without 40 ms stalls
    wbufsize = -1
    disable_nagle_algorithm = True
    owner: ScriptedLLMServer

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        with self.owner._lock:
            self.owner._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Silence the default stderr access log."""

    def _record(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path, _, query = self.path.partition("?")
        request = RecordedRequest(
            self.command, path, {k.lower(): v for k, v in self.headers.items()}, body, raw, query
        )
        with self.owner._lock:
            self.owner._requests.append(request)
        return request

    def do_GET(self) -> None:
        request = self._record()
        if request.path.rstrip("/") == "/v1/models":
            created = int(time.time())
            model = {"id": self.owner.model, "object": "model", "created": created}
            self._send_json(200, {"object": "list", "data": [{**model, "owned_by": "scripted"}]})
        else:
            self._send_status(status(404, f"Unknown path {request.path}"))

    def do_POST(self) -> None:
        request = self._record()
        if request.path.rstrip("/") != "/v1/chat/completions":
            self._send_status(status(404, f"Unknown path {request.path}"))
            return
        refused = self.owner._check(request)
        if refused is not None:
            self._send_status(refused)
            return
        reply = self.owner._choose(request)
        if reply is None:
            self._send_status(status(500, "ScriptedLLMServer: no scripted reply for this request"))
            return
        self._answer(request, reply)

    def _answer(self, request: RecordedRequest, reply: Reply) -> None:
        while isinstance(reply, Delay):
            if self.owner._stopping.wait(reply.seconds):
                reply = Drop()
                break
            reply = reply.then
        try:
            if isinstance(reply, Drop):
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif isinstance(reply, Status):
                self._send_status(reply)
            elif isinstance(reply, Ok):
                self._send_json(200, self.owner._completion(request, reply))
            elif isinstance(reply, Raw):
                self._send_bytes(reply.code, reply.body.encode("utf-8"), reply.content_type)
            else:
                raise TypeError(f"not a scripted reply: {reply!r}")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout)

    def _send_status(self, reply: Status) -> None:
        error = {"message": reply.message, "type": reply.error_type, "param": reply.param}
        self._send_json(reply.code, {"error": {**error, "code": None}}, reply.headers)

    def _send_json(self, code: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send_bytes(code, json.dumps(payload).encode("utf-8"), "application/json", headers)

    def _send_bytes(
        self, code: int, data: bytes, content_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
