"""The UI's pages (GET): users, a user's timeline, a memory, an episode, Ask, Health.

Every page acts as the caller's key (tenant from the key, as the REST API) and reads
through the public :class:`~engram.Engram` API and the store's browsing contract
(:mod:`engram.store.browse`). Ids travel in query strings, never in paths.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from ..errors import InvalidInput
from ..models import Episode, Memory, MemoryKind, Scope
from ..server.auth import Caller
from ..store.browse import STATUSES, TimelineFilters
from ..timeutil import ensure_aware
from .session import UISession
from .views import trust_info, version_rows
from .web import page, render, services

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)

_STATIC = {"ui.css": "text/css; charset=utf-8", "ui.js": "text/javascript; charset=utf-8",
           "favicon.svg": "image/svg+xml"}
KINDS = [k.value for k in MemoryKind]
PAGE_SIZES = (25, 50, 100, 200)


def _user(request: Request) -> str:
    user = request.query_params.get("user", "").strip()
    if not user:
        raise InvalidInput("name a user (?user=...)")
    return user


def _scope(who: Caller, user: str, session: str | None = None) -> Scope:
    return Scope(user_id=user, session_id=session or None, tenant=who.tenant)


def _date(value: str | None, what: str) -> datetime | None:
    """A ``YYYY-MM-DD`` or ISO date-time form value (UTC when no zone) or None."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a date like 2026-03-01 or 2026-03-01T14:00") from None
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return ensure_aware(dt, what)


@router.get("")
def home() -> Response:
    return RedirectResponse("/ui/users", status_code=303)


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in _STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    body = resources.files("engram.ui").joinpath("static", name).read_bytes()
    return Response(body, media_type=_STATIC[name],
                    headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})


@router.get("/login")
def login_form(request: Request) -> Response:
    svc = services(request)
    if not svc.auth.auth:
        return RedirectResponse("/ui/users", status_code=303)
    nxt = request.query_params.get("next", "")
    return render(request, None, "login.html", next=nxt if nxt.startswith("/ui") else "")


@router.get("/users")
def users(request: Request) -> Response:
    def show(s: UISession, who: Caller) -> Response:
        rows = services(request).engine.store.users(who.tenant)
        return render(request, s, "users.html", users=rows)

    return page(request, show)


@router.get("/timeline")
def timeline(request: Request) -> Response:
    def show(s: UISession, who: Caller) -> Response:
        q = request.query_params
        user = _user(request)
        kind, status, kind_type = q.get("kind") or None, q.get("status") or None, q.get("type")
        if kind is not None and kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
        if kind_type not in (None, "", "episode", "memory"):
            raise InvalidInput("type must be episode or memory")
        try:
            limit = int(q.get("limit") or 50)
        except ValueError:
            raise InvalidInput("limit must be a number") from None
        if limit not in PAGE_SIZES:
            raise InvalidInput(f"limit must be one of {PAGE_SIZES}")
        f = TimelineFilters(types=frozenset({kind_type} if kind_type else {"episode", "memory"}),
                            kinds=frozenset({kind}) if kind else None,
                            speaker=q.get("speaker") or None, status=status)
        store = services(request).engine.store
        sc = _scope(who, user, q.get("session"))
        pg = store.timeline(sc, f, limit, q.get("cursor") or None)
        sessions = store.sessions(_scope(who, user))
        rows = [_row(x) for x in pg.items]
        return render(request, s, "timeline.html", user=user, sessions=sessions, rows=rows,
                      next_cursor=pg.next_cursor, kinds=KINDS, statuses=STATUSES,
                      sizes=PAGE_SIZES, f={"kind": kind or "", "status": status or "",
                                           "type": kind_type or "", "limit": limit,
                                           "session": q.get("session") or "",
                                           "speaker": q.get("speaker") or "",
                                           "cursor": q.get("cursor") or ""})

    return page(request, show)


def _row(x: Episode | Memory) -> dict[str, Any]:
    level, flags = trust_info(x)
    if isinstance(x, Episode):
        return {"type": "episode", "id": x.id, "at": x.occurred_at, "text": x.text,
                "label": x.speaker or x.role, "session": x.session_id, "trust": level,
                "flags": flags, "status": ""}
    return {"type": "memory", "id": x.id, "at": x.valid_from or x.created_at, "text": x.text,
            "label": str(x.kind), "session": x.scope.session_id, "trust": level, "flags": flags,
            "status": str(x.status)}


@router.get("/memory")
def memory(request: Request) -> Response:
    def show(s: UISession, who: Caller) -> Response:
        user, mid = _user(request), request.query_params.get("id", "")
        eg = services(request).engine
        sc = _scope(who, user)
        item = eg.get(mid, scope=sc)
        if isinstance(item, Episode):
            return RedirectResponse(f"/ui/episode?user={_q(user)}&id={_q(mid)}", 303)
        sources = eg.store.get_episodes(sc, item.source_episode_ids)
        level, flags = trust_info(item)
        return render(request, s, "memory.html", user=user, m=item, sources=sources,
                      missing=len(item.source_episode_ids) - len(sources),
                      versions=version_rows(eg.history(mid, scope=sc)), trust=level,
                      flags=flags)

    return page(request, show)


@router.get("/episode")
def episode(request: Request) -> Response:
    def show(s: UISession, who: Caller) -> Response:
        user, eid = _user(request), request.query_params.get("id", "")
        eg = services(request).engine
        item = eg.get(eid, scope=_scope(who, user))
        if isinstance(item, Memory):
            return RedirectResponse(f"/ui/memory?user={_q(user)}&id={_q(eid)}", 303)
        level, flags = trust_info(item)
        return render(request, s, "episode.html", user=user, e=item, trust=level, flags=flags)

    return page(request, show)


@router.get("/ask")
def ask(request: Request) -> Response:
    def show(s: UISession, who: Caller) -> Response:
        q = request.query_params
        eg = services(request).engine
        query, user = (q.get("q") or "").strip(), (q.get("user") or "").strip()
        as_of = _date(q.get("as_of"), "as_of")
        try:
            budget = int(q.get("budget") or 600)
        except ValueError:
            raise InvalidInput("the token budget must be a number") from None
        hits, block, signals = [], None, []
        users = eg.store.users(who.tenant, limit=200)
        if query and user:
            sc = _scope(who, user)
            hits = eg.search(query, scope=sc, limit=20, as_of=as_of)
            block = eg.context(query, scope=sc, max_tokens=budget, as_of=as_of)
            signals = sorted({k for h in hits for k in h.scores})
        return render(request, s, "ask.html", q=query, user=user, as_of=q.get("as_of") or "",
                      budget=budget, hits=hits, block=block, signals=signals, users=users,
                      trust_info=trust_info)

    return page(request, show)


@router.get("/health")
def health(request: Request) -> Response:
    def show(s: UISession, who: Caller) -> Response:
        svc = services(request)
        eg, store = svc.engine, svc.engine.store
        tenant = Scope(tenant=who.tenant)
        mine = store.stats(tenant)  # the tenant's counts, vectors included
        whole = eg.stats() if (who.operator or not svc.auth.auth) else None
        return render(
            request, s, "health.html", users=len(store.users(who.tenant, limit=100_000)),
            mine=mine, whole=whole, jobs=store.job_counts(tenant),
            failed=store.failed_jobs(tenant), model=eg.embedder().model_id,
            stored_model=store.get_meta("embedding_model"), store_url=_safe_url(store.url),
            migrations=store.applied_migrations(), llm=eg.llm_settings is not None,
            ann=next((m for m in ("faiss", "voyager") if importlib.util.find_spec(m)), None))

    return page(request, show)


def _safe_url(url: str) -> str:
    """The store URL without a password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _q(v: str) -> str:
    from urllib.parse import quote

    return quote(v, safe="")

