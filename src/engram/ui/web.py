"""Rendering and the request plumbing every UI page shares.

:func:`page` runs a page function for an authenticated caller and turns what can go
wrong into a page: not logged in -> a redirect to ``/ui/login``; an
:class:`~engram.errors.EngramError` -> the error page with its HTTP status and
message (never a traceback). Templates are Jinja2 with autoescaping on for every
file, so stored text (attacker-controlled: HTML, poisoning payloads) is shown as text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import __version__
from ..errors import EngramError, InvalidInput
from ..server.auth import Caller
from ..server.routes import Services
from .session import ANON_COOKIE, SECURITY_HEADERS, UISession, current, set_cookie
from .views import when

__all__ = ["Form", "PageFn", "env", "form_of", "page", "render", "services"]

_HERE = Path(__file__).parent
env = Environment(loader=FileSystemLoader(_HERE / "templates"),
                  autoescape=select_autoescape(default=True, default_for_string=True),
                  trim_blocks=True, lstrip_blocks=True)
env.filters["when"] = when
env.filters["q"] = lambda v: quote(str(v), safe="")
env.filters["pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False, sort_keys=True,
                                             default=str)
env.globals["version"] = __version__
env.globals["qs"] = lambda **kw: urlencode({k: v for k, v in kw.items() if v not in (None, "")})

PageFn = Callable[[UISession, Caller], Response]


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def render(request: Request, session: UISession | None, template: str, status: int = 200,
           **ctx: Any) -> Response:
    who = session.caller if session is not None else None
    html = env.get_template(template).render(
        request=request, who=who, csrf=session.csrf if session else "",
        auth=services(request).auth.auth, path=request.url.path, **ctx)
    return finish(request, session, HTMLResponse(html, status_code=status))


def finish(request: Request, session: UISession | None, response: Response) -> Response:
    """Security headers, and the anonymous CSRF cookie when the session made one."""
    response.headers.update(SECURITY_HEADERS)
    if session is not None and session.new_anon is not None:
        set_cookie(request, response, ANON_COOKIE, session.new_anon)
    return response


def error_page(request: Request, session: UISession | None, exc: EngramError) -> Response:
    return render(request, session, "error.html", status=exc.status, code=exc.code,
                  message=str(exc))


def page(request: Request, fn: PageFn) -> Response:
    """Authenticate, then ``fn(session, caller)``; see the module docstring."""
    svc = services(request)
    try:
        session = current(request, svc)
    except EngramError as exc:
        return error_page(request, None, exc)
    if session.caller is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return finish(request, session, RedirectResponse(
            "/ui/login?" + urlencode({"next": target}), status_code=303))
    try:
        return finish(request, session, fn(session, session.caller))
    except EngramError as exc:
        return error_page(request, session, exc)


class Form(Mapping[str, str]):
    """A url-encoded form body: the last value of each field."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._d = dict(pairs)

    def __getitem__(self, key: str) -> str:
        return self._d[key]

    def __iter__(self) -> Any:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def text(self, key: str, what: str | None = None, *, required: bool = True) -> str:
        value = self._d.get(key, "").strip()
        if required and not value:
            raise InvalidInput(f"{what or key} is required")
        return value


async def form_of(request: Request) -> Form:
    """The request's url-encoded form (InvalidInput when it is not UTF-8)."""
    raw = await request.body()
    try:
        return Form(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise InvalidInput("the form is not UTF-8") from None
