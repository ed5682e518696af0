"""Who is looking at the UI, and that a form really came from the UI.

* **The key never goes into a URL.** ``POST /ui/login`` checks an API key exactly as the
  REST API does (same key store, same failure limiter) and keeps it in the
  ``engram_ui_key`` cookie: ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no
  other site's page sends it), ``Path=/ui``, ``Secure`` on HTTPS. Each page request
  authenticates the key again, so a revoked key stops working at once.
* **No key under --no-auth.** Then every page is the admin of tenant ``default``, as the
  API; the server only runs that way on a loopback address, and pages answer only
  requests whose ``Host`` is a loopback name (a DNS-rebinding page gets 403).
* **CSRF.** Every state-changing form carries ``csrf``: an HMAC (a per-process secret)
  of the session cookie (the key cookie, or a random ``engram_ui_csrf`` cookie when
  there is no key). A POST whose token does not match, or whose ``Origin`` is another
  site, is refused with 403 before anything changes.
* **Headers.** Every page sends a Content-Security-Policy that allows scripts and
  styles only from ``/ui/static`` (no inline script), ``frame-ancestors 'none'``,
  ``nosniff`` and ``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request, Response

from ..errors import AuthError
from ..server.auth import Caller
from ..server.net import is_loopback
from ..server.problems import Forbidden
from ..server.routes import Services

__all__ = [
    "ANON_COOKIE",
    "KEY_COOKIE",
    "SECURITY_HEADERS",
    "UISession",
    "check_csrf",
    "csrf_token",
    "current",
    "login",
    "set_cookie",
]

KEY_COOKIE = "engram_ui_key"
ANON_COOKIE = "engram_ui_csrf"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_SECRET = secrets.token_bytes(32)


@dataclass(frozen=True)
class UISession:
    """The caller of a page, or None when it must log in; ``csrf`` for its forms;
    ``new_anon``: a fresh anonymous CSRF cookie value to set on the response."""

    caller: Caller | None
    csrf: str
    new_anon: str | None = None


def csrf_token(session_value: str) -> str:
    return hmac.new(_SECRET, session_value.encode("utf-8"), hashlib.sha256).hexdigest()


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _loopback_host(request: Request) -> bool:
    host = urlsplit(f"//{request.headers.get('host', '')}").hostname or ""
    return is_loopback(host)


def current(request: Request, svc: Services) -> UISession:
    """Authenticate the page request (see the module docstring). A bad or revoked key
    cookie counts as logged out; rate limits raise as in the API."""
    if not svc.auth.auth:
        if not _loopback_host(request):
            raise Forbidden("the UI without API keys answers only loopback host names")
        anon = request.cookies.get(ANON_COOKIE)
        fresh = None
        if not anon or len(anon) != 43:
            anon = fresh = secrets.token_urlsafe(32)
        return UISession(svc.auth.caller(None, client=_client(request)), csrf_token(anon), fresh)
    key = request.cookies.get(KEY_COOKIE)
    if not key:
        return UISession(None, "")
    try:
        who = svc.auth.caller(f"Bearer {key}", client=_client(request))
    except AuthError as exc:
        if exc.status != 401:  # 429: rate limited, shown as such
            raise
        return UISession(None, "")
    return UISession(who, csrf_token(key))


def login(request: Request, svc: Services, key: str) -> Caller:
    """The caller of ``key`` (AuthError when unknown or revoked, counted as a failure)."""
    if not key.strip():
        raise AuthError("enter an API key")
    return svc.auth.caller(f"Bearer {key.strip()}", client=_client(request))


def check_csrf(request: Request, session: UISession, token: str) -> None:
    """Refuse a state-changing request that did not come from one of our forms."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            raise Forbidden("cross-site form submission refused")
    if not session.csrf or not hmac.compare_digest(session.csrf, token or ""):
        raise Forbidden("the form is stale or did not come from this page (CSRF check "
                        "failed): reload the page and try again")


def set_cookie(request: Request, response: Response, name: str, value: str | None) -> None:
    """Set (or with None, delete) a UI cookie with the attributes above."""
    secure = request.url.scheme == "https"
    if value is None:
        response.delete_cookie(name, path="/ui", secure=secure, httponly=True,
                               samesite="strict")
    else:
        response.set_cookie(name, value, path="/ui", secure=secure, httponly=True,
                            samesite="strict")
