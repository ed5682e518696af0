"""REST resources beyond the core: who has data in a tenant, a session's last messages,
and answers. Mounted under ``/v1`` next to :mod:`.routes`.

* ``GET /v1/users``, ``/v1/agents``, ``/v1/sessions``: the tenant's subjects with their
  memory and episode counts and last activity (record time), most recent first (sessions
  can be narrowed to a user or agent); users and sessions come from the store's indexed
  :meth:`~engram.store.base.Store.users`/``sessions``;
* ``GET /v1/sessions/{session_id}/messages``: the session's episodes, ``order=asc``
  (oldest first) or ``desc`` (newest first), at most ``limit``;
* ``DELETE /v1/episodes/{episode_id}``: :meth:`engram.Engram.delete_episode`, the hard
  delete of one message (memories derived only from it go too; 404 when not in scope);
* ``POST /v1/answer``: :meth:`engram.Engram.answer` (needs a configured LLM, else 400).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from ..errors import InvalidInput, ScopeRequired
from ..models import Scope
from ..store.base import Store
from ..store.browse import ScopeSummary
from ..subjects import iter_items, subjects
from ..timeutil import format_dt
from .routes import _ERRORS, Svc, UserQ, Who, _query, _scope
from .schemas import EpisodeOut, IsoTime, ScopeIn

__all__ = ["AnswerOut", "AnswerRequest", "EpisodeDeletionOut", "SubjectOut", "SubjectsOut",
           "router", "sessions_of", "users_of"]

router = APIRouter(prefix="/v1", responses=_ERRORS)


class SubjectOut(BaseModel):
    type: Literal["user", "agent", "session"]
    id: str
    memories: int = Field(description="active memories")
    episodes: int
    first_activity_at: str | None = Field(description="earliest record time (agents only)")
    last_activity_at: str | None = Field(description="latest record time of its items")


class SubjectsOut(BaseModel):
    subjects: list[SubjectOut]


class MessagesOut(BaseModel):
    session_id: str
    order: Literal["asc", "desc"]
    messages: list[EpisodeOut]


class AnswerRequest(ScopeIn):
    question: str = Field(min_length=1)
    max_tokens: int = Field(default=2048, ge=32, le=200_000)
    as_of: IsoTime | None = None


class CitationOut(BaseModel):
    type: Literal["episode", "memory"]
    id: str


class AnswerOut(BaseModel):
    answer: str
    known: bool
    citations: list[CitationOut]
    usage: dict[str, int]
    cost: float | None
    model: str | None


class EpisodeDeletionOut(BaseModel):
    episode_id: str
    deleted_memory_ids: list[str] = Field(
        description="memories hard-deleted with their history (the episode was their only"
                    " source)")
    updated_memory_ids: list[str] = Field(
        description="memories kept, as a new version without the episode in their sources")
    counts: dict[str, int] = Field(description="rows removed per table")


def _summary(kind: str, key: str | None, s: ScopeSummary) -> dict[str, Any]:
    return {"type": kind, "id": key, "memories": s.memories, "episodes": s.episodes,
            "first_activity_at": None, "last_activity_at": format_dt(s.last_activity)}


def users_of(store: Store, tenant: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The tenant's users as :class:`SubjectOut` dicts, most recently active first."""
    return [_summary("user", s.user_id, s) for s in store.users(tenant, limit) if s.user_id]


def sessions_of(store: Store, scope: Scope, limit: int = 1000) -> list[dict[str, Any]]:
    """The sessions in ``scope`` (a tenant, user or agent) as :class:`SubjectOut` dicts."""
    return [_summary("session", s.session_id, s) for s in store.sessions(scope, limit)
            if s.session_id]


@router.get("/users", response_model=SubjectsOut, tags=["scopes"], operation_id="list_users")
def list_users(who: Who, svc: Svc,
               limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Any:
    """The tenant's users with counts and last activity, most recently active first."""
    return {"subjects": users_of(svc.engine.store, who.tenant, limit)}


@router.get("/agents", response_model=SubjectsOut, tags=["scopes"], operation_id="list_agents")
def list_agents(who: Who, svc: Svc) -> Any:
    """The tenant's agents with counts and last activity, most recently active first."""
    return {"subjects": [s.to_dict() for s in subjects(svc.engine.store, who.tenant)
                         if s.type == "agent"]}


@router.get("/sessions", response_model=SubjectsOut, tags=["scopes"],
            operation_id="list_sessions")
def list_sessions(who: Who, svc: Svc, user_id: UserQ = None, agent_id: UserQ = None,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Any:
    """The tenant's sessions (of one user or agent, when named), most recent first."""
    sc = Scope(user_id=user_id, agent_id=agent_id, tenant=who.tenant)
    return {"subjects": sessions_of(svc.engine.store, sc, limit)}


@router.get("/sessions/{session_id}/messages", response_model=MessagesOut, tags=["memories"],
            operation_id="list_session_messages")
def session_messages(
    session_id: Annotated[str, Path(min_length=1, max_length=256)], who: Who, svc: Svc,
    user_id: UserQ = None, agent_id: UserQ = None,
    order: Literal["asc", "desc"] = "asc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Any:
    """The session's messages (episodes) by event time; ``order=desc`` with ``limit=N``
    gives the last N, newest first."""
    sc: Scope = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    if sc.user_id is None and sc.agent_id is None:
        raise ScopeRequired("name the session's user_id or agent_id")
    eps = list(iter_items(svc.engine.store, sc, "episode"))
    picked = eps[-limit:][::-1] if order == "desc" else eps[:limit]
    return {"session_id": session_id, "order": order,
            "messages": [e.to_dict() for e in picked]}


@router.delete("/episodes/{episode_id}", response_model=EpisodeDeletionOut, tags=["memories"],
               operation_id="delete_episode")
def delete_episode(
    episode_id: Annotated[str, Path(min_length=1, max_length=256)], who: Who, svc: Svc,
    user_id: UserQ = None, agent_id: UserQ = None, session_id: UserQ = None,
) -> Any:
    """Hard delete of one message (episode): gone from the store, every index and the LLM
    cache. Memories derived only from it are hard-deleted with their history; memories
    with other sources get a new version without it. 404 ``not_found`` when not in scope."""
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    out = svc.engine.delete_episode(episode_id, scope=sc)
    if svc.quota is not None:
        svc.quota.forget_usage(who.tenant)
    return out.to_dict()


@router.post("/answer", response_model=AnswerOut, tags=["retrieval"], operation_id="answer")
def answer(body: AnswerRequest, who: Who, svc: Svc) -> Any:
    """An answer from the scope's context, citing memory and episode ids (needs an LLM)."""
    if svc.engine.llm_settings is None:
        raise InvalidInput("answer needs an LLM: configure [llm] (see docs/server.md)")
    return svc.engine.answer(_query(svc, body.question), scope=_scope(who, body),
                             max_tokens=body.max_tokens, as_of=body.as_of).to_dict()
