"""Errors as ``application/problem+json`` (RFC 9457) with stable codes.

Every :class:`~engram.errors.EngramError` maps by its ``status`` and ``code``;
request validation errors become 422 ``validation_error``; anything unexpected
becomes a 500 ``internal`` problem without a traceback (and is logged).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import AuthError, EngramError

__all__ = ["Forbidden", "RateLimited", "install_handlers", "problem_response"]

log = logging.getLogger("engram.server")
PROBLEM = "application/problem+json"
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
           415: "Unsupported Media Type", 422: "Unprocessable Content", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class Forbidden(AuthError):
    """A valid key that may not do this (e.g. a tenant key on an admin endpoint)."""

    code = "forbidden"
    status = 403


class RateLimited(EngramError):
    """Too many requests for this key in the current minute; retry after ``retry_after`` s."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def problem_response(
    status: int, code: str, detail: str, request_id: str | None,
    errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status,
        "detail": detail, "code": code, "request_id": request_id,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _clean(errors: Any) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        out.append({"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                    "type": str(e.get("type", ""))})
    return out[:50]


def install_handlers(app: FastAPI) -> None:
    async def engram_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, EngramError)
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, AuthError) and exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        errors = None
        if getattr(exc, "errors", None):
            errors = [{"line": n, "msg": m} for n, m in exc.errors[:50]]  # type: ignore[attr-defined]
        if exc.status >= 500:
            log.error("request %s failed: %s: %s", _rid(request), exc.code, exc)
        return problem_response(exc.status, exc.code, str(exc), _rid(request), errors, headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errs = _clean(exc.errors())
        first = errs[0] if errs else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'][1:]) or 'request'}: {first['msg']}"
        return problem_response(422, "validation_error", detail, _rid(request), errs)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, code, str(exc.detail), _rid(request),
                                headers=dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request %s: unexpected error", _rid(request))
        return problem_response(500, "internal", "internal error", _rid(request))

    app.add_exception_handler(EngramError, engram_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
