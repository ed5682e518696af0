"""The routes mem0's platform SDK calls (``mem0ai``: ``MemoryClient``/``AsyncMemoryClient``).

Point the SDK at ``engram serve`` (``MemoryClient(api_key=KEY, host="http://127.0.0.1:8420")``)
and it works unchanged. The API key is the tenant (``ping`` reports it as the project);
``Authorization: Token <key>`` is accepted as ``Bearer <key>``. What each operation means
in Engram is :mod:`engram.compat.mem0_core`'s (shared with the in-process shim);
docs/migrate-from-mem0.md has the table. Bodies are mem0's, read as JSON objects;
problems are Engram's problem+json (the SDK raises its exception for the status).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from ..compat.mem0_core import Mem0Core
from ..errors import InvalidInput
from .auth import Caller
from .routes import _ERRORS, IdPath, Svc, forget_scope

__all__ = ["router"]

router = APIRouter(tags=["mem0"], responses=_ERRORS)


def mem0_caller(svc: Svc, request: Request) -> Caller:
    """The caller, from ``Authorization: Token <key>`` (mem0's scheme) or ``Bearer <key>``."""
    return svc.auth.caller(request.headers.get("authorization"),
                           client=request.client.host if request.client else None)


def core(svc: Svc, who: Annotated[Caller, Depends(mem0_caller)]) -> Mem0Core:
    """mem0's operations for the caller's tenant, with the server's forget and quotas."""
    quota = svc.quota
    return Mem0Core(
        svc.engine, who.tenant, forget=lambda sc: forget_scope(svc, sc),
        admit=(lambda n, b: quota.admit(who.tenant, n, b)) if quota is not None else None,
        max_batch_items=svc.config.max_batch_items, max_query_chars=svc.config.max_query_chars)


Core = Annotated[Mem0Core, Depends(core)]


async def _json(request: Request) -> dict[str, Any]:
    if not await request.body():
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


Body = Annotated[dict[str, Any], Depends(_json)]
EntityQ = Annotated[str | None, Query(min_length=1, max_length=256)]


@router.get("/v1/ping/", operation_id="mem0_ping")
def ping(c: Core) -> dict[str, Any]:
    """mem0's key check: answers when the key is valid; the project is the key's tenant."""
    return {"status": "ok", "message": "engram", "org_id": "engram", "project_id": c.tenant,
            "user_email": None}


@router.post("/v3/memories/add/", operation_id="mem0_add")
def add(body: Body, c: Core) -> dict[str, Any]:
    """mem0 ``add``: messages become episodes; memories are derived unless ``infer`` is false."""
    return c.add(body)


@router.post("/v3/memories/", operation_id="mem0_get_all")
def get_all(body: Body, c: Core, request: Request,
            page: Annotated[int | None, Query(ge=1)] = None,
            page_size: Annotated[int | None, Query(ge=1, le=1000)] = None) -> dict[str, Any]:
    """mem0 ``get_all``: the memories matching ``filters``, newest first, paged."""
    p = page if page is not None else body.get("page", 1)
    n = page_size if page_size is not None else body.get("page_size", 100)
    if not isinstance(p, int) or not isinstance(n, int) or p < 1 or not 1 <= n <= 1000:
        raise InvalidInput("page must be >= 1 and page_size between 1 and 1000")
    recs = c.get_all(body)
    base = str(request.url.replace(query=""))
    return {"count": len(recs), "results": recs[(p - 1) * n: p * n],
            "next": f"{base}?page={p + 1}&page_size={n}" if p * n < len(recs) else None,
            "previous": f"{base}?page={p - 1}&page_size={n}" if p > 1 else None}


@router.post("/v3/memories/search/", operation_id="mem0_search")
def search(body: Body, c: Core) -> dict[str, Any]:
    """mem0 ``search``: memories and episodes ranked for ``query``, ``top_k`` of them."""
    return c.search(body)


@router.get("/v1/memories/{memory_id}/", operation_id="mem0_get")
def get(memory_id: IdPath, c: Core) -> dict[str, Any]:
    """mem0 ``get``: one memory (or episode) of the tenant by id."""
    return c.get(memory_id)


@router.put("/v1/memories/{memory_id}/", operation_id="mem0_update")
def update(memory_id: IdPath, body: Body, c: Core) -> dict[str, Any]:
    """mem0 ``update``: a new version of the memory (text, metadata, expiration_date)."""
    return c.records([c.update(memory_id, body)])[0]


@router.delete("/v1/memories/{memory_id}/", operation_id="mem0_delete")
def delete(memory_id: IdPath, c: Core) -> dict[str, Any]:
    """mem0 ``delete``: soft delete of one memory (its history stays)."""
    c.delete(memory_id)
    return {"message": "Memory deleted successfully!"}


@router.delete("/v1/memories/", operation_id="mem0_delete_all")
def delete_all(c: Core, user_id: EntityQ = None, agent_id: EntityQ = None,
               run_id: EntityQ = None, app_id: EntityQ = None) -> dict[str, Any]:
    """mem0 ``delete_all``: Engram's verified forget of the user's, agent's or run's data."""
    if app_id is not None:
        raise InvalidInput("delete_all by app_id is not supported; name the user_id or agent_id")
    c.delete_all(user_id, agent_id, run_id)
    return {"message": "Memories deleted successfully!"}


@router.get("/v1/memories/{memory_id}/history/", operation_id="mem0_history")
def history(memory_id: IdPath, c: Core) -> list[dict[str, Any]]:
    """mem0 ``history``: every version of the memory, oldest first."""
    return c.history(memory_id)


@router.get("/v1/entities/", operation_id="mem0_entities")
def entities(c: Core) -> dict[str, Any]:
    """mem0 ``users``: the tenant's users, agents and runs (sessions), most recent first."""
    results = c.entities()
    return {"count": len(results), "results": results}


@router.delete("/v2/entities/{entity_type}/{entity_id}/", operation_id="mem0_delete_entity")
def delete_entity(entity_type: str, entity_id: IdPath, c: Core) -> dict[str, Any]:
    """mem0 ``delete_users``: forget everything of one user, agent or run."""
    c.delete_entity(entity_type, entity_id)
    return {"message": "Entity deleted successfully!"}


@router.put("/v1/batch/", operation_id="mem0_batch_update")
def batch_update(body: Body, c: Core) -> dict[str, Any]:
    """mem0 ``batch_update``: each ``{memory_id, text?, metadata?}`` updated (all ids are
    checked first: an unknown one changes nothing)."""
    return {"message": f"Successfully updated {c.batch(body, 'update')} memories"}


@router.delete("/v1/batch/", operation_id="mem0_batch_delete")
def batch_delete(body: Body, c: Core) -> dict[str, Any]:
    """mem0 ``batch_delete``: soft delete of each ``{memory_id}`` (all checked first)."""
    return {"message": f"Successfully deleted {c.batch(body, 'delete')} memories"}
