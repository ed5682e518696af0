"""Errors as ``application/problem+json`` (RFC 9457) with stable codes.

Every code is listed with its status in ``docs/server.md`` (a test keeps that table
complete):

* an :class:`~engram.errors.EngramError` maps by its ``status`` and ``code``; a 401
  carries ``WWW-Authenticate: Bearer``, a 429 ``Retry-After`` (:func:`problem_headers`);
* a body that is not JSON (bad syntax, not UTF-8): 400 ``invalid_json``;
* a body, path or query parameter that does not match the schema: 422 ``validation_error``
  with every failing field in ``errors``;
* an unknown path: 404 ``not_found``; a method the path does not have: 405
  ``method_not_allowed`` whose ``Allow`` lists every method of that path;
* anything unexpected: 500 ``internal``, without a traceback in the answer (it is logged).

Refusals before the app runs use the same format: 413 ``body_too_large``
(:mod:`.middleware`), 431 ``headers_too_large`` and 400 ``malformed_request``
(:mod:`.protocol`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from ..errors import AuthError, EngramError, Forbidden, RateLimited

__all__ = ["Forbidden", "RateLimited", "install_handlers", "problem_headers", "problem_response"]

log = logging.getLogger("engram.server")
PROBLEM = "application/problem+json"
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
           415: "Unsupported Media Type", 422: "Unprocessable Content", 429: "Too Many Requests",
           431: "Request Header Fields Too Large",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


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


def problem_headers(exc: EngramError) -> dict[str, str]:
    """``Retry-After`` for a rate limit, ``WWW-Authenticate`` for a missing or bad key."""
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, AuthError) and exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return headers


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allow(request: Request) -> str:
    """Every method some route of this path answers (Starlette names only the first route's)."""
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    allowed = [m for m in _METHODS
               if any(r.matches({**request.scope, "method": m})[0] is Match.FULL for r in routes)]
    return ", ".join(allowed)


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
        headers = problem_headers(exc)
        errors = None
        if getattr(exc, "errors", None):
            errors = [{"line": n, "msg": m} for n, m in exc.errors[:50]]  # type: ignore[attr-defined]
        if exc.status >= 500:
            log.error("request %s failed: %s: %s", _rid(request), exc.code, exc)
        return problem_response(exc.status, exc.code, str(exc), _rid(request), errors, headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        raw = list(exc.errors())
        bad_json = next((e for e in raw if e.get("type") == "json_invalid"), None)
        if bad_json is not None:
            why = (bad_json.get("ctx") or {}).get("error", "bad syntax")
            where = bad_json.get("loc", ("body", "?"))[-1]
            return problem_response(400, "invalid_json", f"request body is not valid JSON: "
                                    f"{why} at character {where}", _rid(request))
        errs = _clean(raw)
        first = errs[0] if errs else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'][1:]) or 'request'}: {first['msg']}"
        return problem_response(422, "validation_error", detail, _rid(request), errs)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        status, detail = exc.status_code, str(exc.detail)
        if status == 400:  # FastAPI's only 400: a JSON body it could not decode (not UTF-8)
            code, detail = "invalid_json", "request body is not valid JSON: not UTF-8 text"
        elif status == 405:
            code, headers["Allow"] = "method_not_allowed", _allow(request)
            detail = f"{request.method} is not allowed here; use {headers['Allow']}"
        else:
            code = {404: "not_found", 413: "body_too_large"}.get(status, "http_error")
        return problem_response(status, code, detail, _rid(request), headers=headers)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request %s: unexpected error", _rid(request))
        return problem_response(500, "internal", "internal error", _rid(request))

    app.add_exception_handler(EngramError, engram_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
