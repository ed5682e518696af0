"""The ``/v1`` REST endpoints: a thin layer over :class:`engram.Engram`.

Every handler builds its :class:`~engram.models.Scope` with the caller's
tenant (from the API key) and passes it to the engine, which matches the
tenant on every read and write. Handlers are plain ``def`` functions, so
FastAPI runs them in its thread pool; the store serialises writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..config import Config
from ..engine import Engram
from ..errors import ImportFormatError, InvalidInput, NotFound, ScopeRequired
from ..filtering import parse_filter
from ..limits import QuotaGuard
from ..models import Episode, ForgetReport, Message, Scope
from ..timeutil import format_dt
from ..trust.provenance import strip_reserved
from .auth import Authenticator, Caller, managed_tenant
from .keys import KeyStore
from .schemas import (
    AddRequest,
    AddResponse,
    ContextOut,
    ContextRequest,
    CreatedKeyOut,
    FlagDecisionIn,
    FlagReviewOut,
    ForgetOut,
    HistoryOut,
    ImportOut,
    ItemOut,
    JobOut,
    KeyCreate,
    KeyOut,
    KeysOut,
    MemoryOut,
    PageOut,
    Problem,
    RememberRequest,
    ScopeIn,
    SearchRequest,
    SearchResponse,
    StatsOut,
    UpdateRequest,
)

__all__ = ["Services", "forget_scope", "operation_id", "router"]

_bearer = HTTPBearer(auto_error=False, description="an API key from `engram keys create`")


@dataclass
class Services:
    """What the handlers need, kept on ``app.state.services``."""

    engine: Engram
    auth: Authenticator
    keys: KeyStore | None
    config: Config
    #: per-tenant quotas (engram.limits); None: unlimited
    quota: QuotaGuard | None = None


def _admit(svc: Services, who: Caller, items: int, nbytes: int) -> None:
    if svc.quota is not None:
        svc.quota.admit(who.tenant, items, nbytes)


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description,
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}}


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _problem("invalid input"), 401: _problem("missing or unknown API key"),
    403: _problem("the key may not do this"), 404: _problem("no such item in this scope"),
    409: _problem("a concurrent change won; retry"), 413: _problem("body or text too large"),
    422: _problem("request does not match the schema"), 429: _problem("rate limited"),
    503: _problem("storage unavailable"),
}


def operation_id(route: APIRoute) -> str:
    """The OpenAPI ``operationId`` of a route: its handler's name (``add_messages``,
    ``search``, ``import`` ...), so generated SDKs read well."""
    return route.name.rstrip("_")


router = APIRouter(prefix="/v1", responses=_ERRORS, generate_unique_id_function=operation_id)


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]
Creds = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def caller(svc: Svc, creds: Creds, request: Request) -> Caller:
    header = f"{creds.scheme} {creds.credentials}" if creds is not None else None
    return svc.auth.caller(header, client=request.client.host if request.client else None)


def admin(svc: Svc, creds: Creds, request: Request) -> Caller:
    header = f"{creds.scheme} {creds.credentials}" if creds is not None else None
    return svc.auth.caller(header, admin=True,
                           client=request.client.host if request.client else None)


Who = Annotated[Caller, Depends(caller)]
Admin = Annotated[Caller, Depends(admin)]


def _scope(who: Caller, s: ScopeIn | None = None, *, user_id: str | None = None,
           agent_id: str | None = None, session_id: str | None = None) -> Scope:
    if s is not None:
        user_id, agent_id, session_id = s.user_id, s.agent_id, s.session_id
    return Scope(user_id=user_id, agent_id=agent_id, session_id=session_id, tenant=who.tenant)


def _query(svc: Services, text: str) -> str:
    if len(text) > svc.config.max_query_chars:
        raise InvalidInput(f"query is {len(text)} characters; the limit is "
                           f"{svc.config.max_query_chars}")
    return text


def _item(x: Any) -> ItemOut:
    kind = "episode" if isinstance(x, Episode) else "memory"
    return ItemOut.model_validate({"type": kind, "item": x.to_dict()})


UserQ = Annotated[str | None, Query(
    min_length=1, max_length=256,
    description="scope: every call names a user_id or an agent_id (or both), else 400 "
                "scope_required; session_id narrows it to one conversation")]
WHERE_DOC = ("a metadata filter (JSON): {\"year\": {\"gte\": 2020}}, {\"OR\": [{\"tag\": "
             "\"a\"}, {\"tag\": {\"in\": [\"b\"]}}]}; ops eq, ne, gt, gte, lt, lte, in, "
             "nin, contains, icontains; AND/OR/NOT (engram.filtering)")
AsOfQ = Annotated[datetime | None, Query(
    description="record time: as the store held it then (ISO 8601 with a timezone)")]
#: a memory, episode, job or key id in the path
IdPath = Annotated[str, Path(min_length=1, max_length=256)]


_DERIVE: dict[str, bool | Literal["background"]] = {
    "sync": True, "background": "background", "none": False}


@router.post("/messages", response_model=AddResponse, tags=["memories"])
def add_messages(body: AddRequest, who: Who, svc: Svc) -> Any:
    """Store messages verbatim as episodes; derive memories (in the background by default).

    Returns once the episodes are durable and searchable. With ``derive=background`` the
    response carries a ``job_id``: poll ``GET /v1/jobs/{job_id}`` for the derived memories.
    Nothing is written unless every message is valid.
    """
    if len(body.messages) > svc.config.max_batch_items:
        raise InvalidInput(f"{len(body.messages)} messages; at most "
                           f"{svc.config.max_batch_items} per request")
    sc = _scope(who, body)
    msgs = [Message(text=m.text, role=m.role, speaker=m.speaker, occurred_at=m.occurred_at,
                    id=m.id, metadata=m.metadata) for m in body.messages]
    _admit(svc, who, len(msgs), sum(len(m.text.encode("utf-8")) for m in msgs))
    # background: a durable job (rules or LLM) written with the episodes; see GET /v1/jobs
    result = svc.engine.add(msgs, scope=sc, occurred_at=body.occurred_at,
                            metadata=body.metadata, derive=_DERIVE[body.derive])
    return result.to_dict()


@router.post("/search", response_model=SearchResponse, tags=["retrieval"])
def search(body: SearchRequest, who: Who, svc: Svc) -> Any:
    """Ranked episodes and memories, each with its per-signal score breakdown."""
    where = parse_filter(body.where, where="where") if body.where else None
    hits = svc.engine.search(
        _query(svc, body.query), scope=_scope(who, body),
        limit=min(1000, body.limit * 5) if where else body.limit, kinds=body.kinds,
        start=body.start, end=body.end, metadata=body.metadata, as_of=body.as_of,
        preset=body.preset,
    )
    if where is not None:
        hits = [h for h in hits if where.matches(strip_reserved(h.item.metadata))][:body.limit]
    return {"hits": [h.to_dict() for h in hits]}


@router.post("/context", response_model=ContextOut, tags=["retrieval"])
def context(body: ContextRequest, who: Who, svc: Svc) -> Any:
    """A prompt-ready block of the most useful items that fits ``max_tokens``."""
    block = svc.engine.context(_query(svc, body.query), scope=_scope(who, body),
                               max_tokens=body.max_tokens, as_of=body.as_of,
                               preset=body.preset,
                               include_flagged=body.include_flagged)
    return block.to_dict()


@router.get("/items/{item_id}", response_model=ItemOut, tags=["memories"])
def get_item(item_id: IdPath, who: Who, svc: Svc,
             user_id: UserQ = None, agent_id: UserQ = None, session_id: UserQ = None,
             as_of: AsOfQ = None) -> Any:
    """One memory or episode by id, if it is in the caller's scope (``as_of``: as the
    store held it then)."""
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    return _item(svc.engine.get(item_id, scope=sc, as_of=as_of))


@router.get("/memories", response_model=PageOut, tags=["memories"])
def list_items(
    who: Who, svc: Svc, user_id: UserQ = None, agent_id: UserQ = None, session_id: UserQ = None,
    type: Literal["memory", "episode"] = "memory",
    kinds: Annotated[list[Literal["fact", "preference", "event", "plan", "procedure", "summary",
                                  "note"]] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    include_inactive: bool = False,
    where: Annotated[str | None, Query(max_length=4096, description=WHERE_DOC)] = None,
    as_of: AsOfQ = None,
) -> Any:
    """A page of memories (newest first) or episodes (oldest first); follow ``next_cursor``.

    With ``where`` (a metadata filter as JSON), a page holds only the matching items of
    the ``limit`` read, so it may hold fewer (even none) before the last page."""
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    match = None
    if where is not None:
        try:
            match = parse_filter(json.loads(where), where="where")
        except ValueError:
            raise InvalidInput("where must be a JSON object") from None
    page = svc.engine.list(scope=sc, type=type, kinds=kinds, limit=limit, cursor=cursor,
                           include_inactive=include_inactive, as_of=as_of)
    items = [x for x in page.items if match is None or match.matches(strip_reserved(x.metadata))]
    return {"type": type, "items": [x.to_dict() for x in items],
            "next_cursor": page.next_cursor}


@router.post("/memories", response_model=MemoryOut, status_code=201, tags=["memories"])
def remember(body: RememberRequest, who: Who, svc: Svc) -> Any:
    """Write a memory directly (no episode), e.g. an agent's own note."""
    _admit(svc, who, 1, len(body.text.encode("utf-8")))
    mem = svc.engine.remember(body.text, scope=_scope(who, body), kind=body.kind,
                              valid_from=body.valid_from, valid_to=body.valid_to,
                              importance=body.importance, metadata=body.metadata)
    return mem.to_dict()


@router.patch("/memories/{memory_id}", response_model=MemoryOut, tags=["memories"])
def update(memory_id: IdPath, body: UpdateRequest, who: Who, svc: Svc) -> Any:
    """A new version of an active memory; the old one stays in its history."""
    mem = svc.engine.update(memory_id, body.text, scope=_scope(who, body),
                            metadata=body.metadata, importance=body.importance,
                            valid_to=body.valid_to, reason=body.reason,
                            expected_version=body.expected_version)
    return mem.to_dict()


@router.delete("/memories/{memory_id}", response_model=MemoryOut, tags=["memories"])
def delete(memory_id: IdPath, who: Who, svc: Svc, user_id: UserQ = None,
           agent_id: UserQ = None, session_id: UserQ = None,
           reason: Annotated[str, Query(max_length=500)] = "deleted by caller",
           expected_version: Annotated[int | None, Query(ge=1)] = None) -> Any:
    """Soft delete: the memory leaves search, its history stays. Idempotent.
    ``expected_version``: 409 ``conflict`` when the memory is at another version."""
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    return svc.engine.delete(memory_id, scope=sc, reason=reason,
                             expected_version=expected_version).to_dict()


@router.get("/memories/{memory_id}/history", response_model=HistoryOut, tags=["memories"])
def history(memory_id: IdPath, who: Who, svc: Svc, user_id: UserQ = None,
            agent_id: UserQ = None, session_id: UserQ = None) -> Any:
    """Every version of a memory, oldest first."""
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    return {"versions": [v.to_dict() for v in svc.engine.history(memory_id, scope=sc)]}


@router.get("/episodes/{episode_id}/flag", response_model=FlagReviewOut, tags=["memories"])
def flag_review(episode_id: IdPath, who: Who, svc: Svc, user_id: UserQ = None,
                agent_id: UserQ = None, session_id: UserQ = None) -> Any:
    """Why an episode was flagged as possible memory poisoning, and every decision on it."""
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    return svc.engine.flag_review(episode_id, scope=sc).to_dict()


@router.post("/episodes/{episode_id}/flag/clear", response_model=FlagReviewOut,
             tags=["memories"])
def clear_flag(episode_id: IdPath, body: FlagDecisionIn, who: Who, svc: Svc) -> Any:
    """Clear a false poisoning flag (kept as a versioned decision); the episode is then
    derived from. 400 if it is not flagged or already cleared, 409 on a stale version."""
    return svc.engine.clear_flag(episode_id, scope=_scope(who, body), reason=body.reason,
                                 by=body.by, expected_version=body.expected_version).to_dict()


@router.post("/episodes/{episode_id}/flag/restore", response_model=FlagReviewOut,
             tags=["memories"])
def restore_flag(episode_id: IdPath, body: FlagDecisionIn, who: Who, svc: Svc) -> Any:
    """Put a cleared poisoning flag back (a new version of the decision)."""
    return svc.engine.restore_flag(episode_id, scope=_scope(who, body), reason=body.reason,
                                   by=body.by, expected_version=body.expected_version).to_dict()


@router.post("/forget", response_model=ForgetOut, tags=["scopes"])
def forget(body: ScopeIn, who: Who, svc: Svc) -> Any:
    """Hard delete of everything in the scope (e.g. a user's right to erasure), verified."""
    return forget_scope(svc, _scope(who, body)).to_dict()


def forget_scope(svc: Services, sc: Scope) -> ForgetReport:
    """Forget ``sc`` (verified hard delete), its pending derive jobs and its quota usage."""
    report = svc.engine.forget(scope=sc)
    if svc.quota is not None:
        svc.quota.forget_usage(sc.tenant)
    return report


@router.get("/export", tags=["scopes"], responses={200: {
    "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
    "description": "one JSON record per line"}})
def export(who: Who, svc: Svc, user_id: UserQ = None, agent_id: UserQ = None,
           session_id: UserQ = None) -> Response:
    """The scope as JSONL (the format of ``engram export``)."""
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
             for r in svc.engine.export_records(scope=sc)]
    return Response("".join(lines), media_type="application/x-ndjson")


@router.post("/import", response_model=ImportOut, tags=["scopes"], openapi_extra={
    "requestBody": {"required": True, "content": {
        "application/x-ndjson": {"schema": {"type": "string", "minLength": 1}}}}})
async def import_(request: Request, who: Who, svc: Svc, user_id: UserQ = None,
                  agent_id: UserQ = None) -> Any:
    """Import JSONL into the caller's tenant (every record's tenant is replaced), and into
    ``user_id``/``agent_id`` instead of the records' own when given.

    Every line is validated first; one bad line writes nothing (400 with line numbers).
    """
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("import body is not UTF-8") from None
    if not text.strip():
        raise ImportFormatError("the import body has no records: send the JSONL that "
                                "GET /v1/export writes")
    lines = [_retenant(line, who.tenant) for line in text.splitlines()]
    if svc.quota is not None:
        _admit(svc, who, *_import_size(lines))
    target = None  # the records' own owners; else these, always in the caller's tenant
    if user_id is not None or agent_id is not None:
        target = _scope(who, user_id=user_id, agent_id=agent_id)
    report = await run_in_threadpool(lambda: svc.engine.import_(lines, scope=target))
    return report.to_dict()


def _import_size(lines: list[str]) -> tuple[int, int]:
    """Episodes + memories and their text bytes in an import body (an upper bound)."""
    items = size = 0
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("type") in ("episode", "memory"):
            items += 1
            if isinstance(rec.get("text"), str):
                size += len(rec["text"].encode("utf-8"))
    return items, size


def _retenant(line: str, tenant: str) -> str:
    try:
        rec = json.loads(line)
    except ValueError:
        return line  # reported by the importer with its line number
    if isinstance(rec, dict):
        rec["tenant"] = tenant
        for side in ("before", "after"):
            if isinstance(rec.get(side), dict):
                rec[side]["tenant"] = tenant
    return json.dumps(rec)


@router.get("/stats", response_model=StatsOut, tags=["scopes"])
def stats(who: Who, svc: Svc, user_id: UserQ = None, agent_id: UserQ = None,
          session_id: UserQ = None) -> Any:
    """Counts for a scope (a user or agent). Whole-store figures need an operator key."""
    if user_id is None and agent_id is None:
        if not who.operator:
            raise ScopeRequired("name a user_id or agent_id (store-wide stats need an "
                                "operator key: `engram keys create --operator`)")
        return svc.engine.stats().to_dict()
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    return svc.engine.stats(scope=sc).to_dict()


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["memories"])
def job(job_id: IdPath, who: Who, svc: Svc) -> Any:
    """Status of a background derive job started by ``POST /v1/messages``."""
    j = svc.engine.job(job_id, tenant=who.tenant)
    if j is None:
        raise NotFound(f"no job {job_id!r}")
    return {"id": j.id, "status": j.status, "episode_ids": j.episode_ids,
            "created_at": format_dt(j.created_at), "finished_at": format_dt(j.finished_at),
            "operations": [o.to_dict() for o in j.operations], "error": j.error}


def _keys(svc: Services) -> KeyStore:
    if svc.keys is None:
        raise InvalidInput("this server runs without API keys (--no-auth)")
    return svc.keys


@router.post("/keys", response_model=CreatedKeyOut, status_code=201, tags=["admin"])
def create_key(body: KeyCreate, who: Admin, svc: Svc) -> Any:
    """Create an API key of the caller's tenant (admin only; an operator key may name any
    tenant). The secret is returned once. Operator keys are minted only on the CLI."""
    tenant = managed_tenant(who, body.tenant) or who.tenant
    made = _keys(svc).create(tenant, name=body.name, admin=body.admin)
    return {"key": made.key.to_dict(), "secret": made.secret}


@router.get("/keys", response_model=KeysOut, tags=["admin"])
def list_keys(who: Admin, svc: Svc, tenant: Annotated[str | None, Query(
        min_length=1, max_length=256, description="only this tenant's keys (operator keys)")
        ] = None) -> Any:
    """The keys of the caller's tenant, never their secrets (admin only; an operator key
    sees every tenant's, or those of ``tenant``)."""
    return {"keys": [k.to_dict() for k in _keys(svc).list(tenant=managed_tenant(who, tenant))]}


@router.delete("/keys/{key_id}", response_model=KeyOut, tags=["admin"])
def revoke_key(key_id: IdPath, who: Admin, svc: Svc) -> Any:
    """Revoke a key of the caller's tenant at once (admin only; an operator: any tenant's).
    Idempotent. 409 ``last_admin_key``: it is its tenant's last active admin key."""
    return _keys(svc).revoke(key_id, tenant=managed_tenant(who, None)).to_dict()
