"""The UI's state-changing requests: log in/out, edit, delete, forget, and export.

Every POST but the login checks the CSRF token first (:func:`~.session.check_csrf`).
Edits and deletes go through :meth:`Engram.update` / :meth:`Engram.delete` with the
version the page showed (``expected_version``: a change made meanwhile is a 409 page,
nothing is overwritten) and a reason, which is recorded in the new version. Forget
and export call the REST handlers themselves, so the UI and ``/v1`` cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from ..errors import EngramError, InvalidInput
from ..models import Scope
from ..server import routes
from ..server.auth import Caller
from ..server.problems import Forbidden
from ..server.schemas import ScopeIn
from .pages import router
from .session import KEY_COOKIE, UISession, check_csrf, current, login, set_cookie
from .web import Form, error_page, finish, form_of, page, render, services

__all__ = ["router"]


def _q(v: str) -> str:
    return quote(v, safe="")


async def _post(request: Request, act: Callable[[UISession, Caller, Form], Response]
                ) -> Response:
    """Authenticate, check the CSRF token, then ``act`` in the thread pool."""
    svc = services(request)
    session: UISession | None = None
    try:
        session = current(request, svc)
        form = await form_of(request)
        if session.caller is None:
            return RedirectResponse("/ui/login", status_code=303)
        check_csrf(request, session, form.get("csrf", ""))
        who = session.caller
        ses = session
        return finish(request, session, await run_in_threadpool(lambda: act(ses, who, form)))
    except EngramError as exc:
        return error_page(request, session, exc)


@router.post("/login")
async def login_submit(request: Request) -> Response:
    svc = services(request)
    nxt = ""
    try:
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
            raise Forbidden("cross-site form submission refused")
        form = await form_of(request)
        nxt = form.get("next", "")
        key = form.get("key", "").strip()
        await run_in_threadpool(login, request, svc, key)
    except EngramError as exc:
        return render(request, None, "login.html", status=exc.status, error=str(exc),
                      next=nxt if nxt.startswith("/ui/") else "")
    resp = RedirectResponse(nxt if nxt.startswith("/ui/") else "/ui/users", status_code=303)
    set_cookie(request, resp, KEY_COOKIE, key)
    return finish(request, None, resp)


@router.post("/logout")
async def logout(request: Request) -> Response:
    def act(s: UISession, who: Caller, form: Form) -> Response:
        resp = RedirectResponse("/ui/login", status_code=303)
        set_cookie(request, resp, KEY_COOKIE, None)
        return resp

    return await _post(request, act)


def _version(form: Form) -> int:
    try:
        return int(form.text("version", "the version"))
    except ValueError:
        raise InvalidInput("version must be a number") from None


@router.post("/memory/edit")
async def edit(request: Request) -> Response:
    def act(s: UISession, who: Caller, form: Form) -> Response:
        user, mid = form.text("user"), form.text("id")
        text = form.text("text", "the new text")
        reason = form.text("reason", "a reason for the change")
        services(request).engine.update(
            mid, text, scope=Scope(user_id=user, tenant=who.tenant), reason=reason,
            expected_version=_version(form))
        return RedirectResponse(f"/ui/memory?user={_q(user)}&id={_q(mid)}&done=edited", 303)

    return await _post(request, act)


@router.post("/memory/delete")
async def delete(request: Request) -> Response:
    def act(s: UISession, who: Caller, form: Form) -> Response:
        user, mid = form.text("user"), form.text("id")
        reason = form.text("reason", "a reason for the deletion")
        services(request).engine.delete(
            mid, scope=Scope(user_id=user, tenant=who.tenant), reason=reason,
            expected_version=_version(form))
        return RedirectResponse(f"/ui/memory?user={_q(user)}&id={_q(mid)}&done=deleted", 303)

    return await _post(request, act)


@router.post("/forget")
async def forget(request: Request) -> Response:
    def act(s: UISession, who: Caller, form: Form) -> Response:
        user = form.text("user")
        session = form.text("session", required=False) or None
        if form.text("confirm", "the confirmation") != user:
            raise InvalidInput("type the user id exactly to confirm the forget")
        report = routes.forget(ScopeIn(user_id=user, session_id=session), who,
                               services(request))
        return render(request, s, "forgotten.html", user=user, forgot_session=session,
                      report=report)

    return await _post(request, act)


@router.get("/export")
def export(request: Request) -> Response:
    def show(s: UISession, who: Caller) -> Response:
        user = request.query_params.get("user", "").strip()
        if not user:
            raise InvalidInput("name a user (?user=...)")
        session = request.query_params.get("session") or None
        resp = routes.export(who, services(request), user_id=user, session_id=session)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in user)[:64]
        resp.headers["Content-Disposition"] = f'attachment; filename="engram-{name}.jsonl"'
        return resp

    return page(request, show)
