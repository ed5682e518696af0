"""REST for linked notes and the semantic cache (:mod:`engram.agents.links`,
:mod:`engram.agents.cache`). Mounted under ``/v1`` next to :mod:`.routes`.

* ``GET /v1/memories/{memory_id}/links``: :meth:`engram.Engram.links`, the memory's
  links to active memories in the scope, best first (404 when it is not in scope);
* ``GET /v1/cache``: whether the semantic cache is on, and its counters.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from .routes import _ERRORS, IdPath, Svc, UserQ, Who, _scope
from .schemas import MemoryOut

__all__ = ["CacheOut", "LinkOut", "LinksOut", "router"]

router = APIRouter(prefix="/v1", responses=_ERRORS)


class LinkOut(BaseModel):
    memory_id: str
    score: float = Field(description="cosine similarity of the two memories when linked")
    via: list[str] = Field(description='why: "similar", "name:<shared name>"')
    direction: Literal["out", "in"] = Field(
        description="out: this memory made the link (it is the newer); in: a later one did")
    memory: MemoryOut


class LinksOut(BaseModel):
    memory_id: str
    links: list[LinkOut]


class CacheOut(BaseModel):
    enabled: bool
    hits: int = 0
    misses: int = 0
    invalidations: int = 0
    expired: int = 0
    size: int = 0
    hits_by_category: dict[str, int] = Field(default_factory=dict)


@router.get("/memories/{memory_id}/links", response_model=LinksOut, tags=["memories"],
            operation_id="memory_links")
def memory_links(memory_id: IdPath, who: Who, svc: Svc, user_id: UserQ = None,
                 agent_id: UserQ = None, session_id: UserQ = None) -> Any:
    """A memory's links to related active memories in the scope, best first."""
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    return {"memory_id": memory_id,
            "links": [link.to_dict() for link in svc.engine.links(memory_id, scope=sc)]}


@router.get("/cache", response_model=CacheOut, tags=["retrieval"], operation_id="cache_stats")
def cache_stats(who: Who, svc: Svc) -> Any:
    """The semantic cache's counters (``enabled: false`` when the setting is off)."""
    cache = svc.engine.cache
    if cache is None:
        return {"enabled": False}
    return {"enabled": True, **cache.stats().to_dict()}
