"""REST for a user's profile and answering as the user (issue #20; :mod:`engram.agents`).

Mounted under ``/v1`` next to :mod:`.routes`:

* ``GET /v1/profile?user_id=``: :meth:`engram.Engram.profile`, current preferences
  with confidence and the attributes the rules derived;
* ``POST /v1/form``: :meth:`engram.Engram.fill_form`, each field's value with the
  memories it came from, ``""`` where memory is silent;
* ``POST /v1/reply``: :meth:`engram.Engram.draft_reply`, a reply in the user's voice.

``use_llm: true`` without a configured LLM is 400 ``invalid_input``; an LLM
failure is not an error: the rules answer and ``llm_error`` names it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..errors import InvalidInput
from .routes import _ERRORS, Svc, UserQ, Who, _query, _scope
from .schemas import ScopeIn

__all__ = ["DraftOut", "FormOut", "FormRequest", "ProfileOut", "ReplyRequest", "router"]

router = APIRouter(prefix="/v1", responses=_ERRORS)


class PreferenceOut(BaseModel):
    topic: str
    value: str
    subject: str
    stance: str = Field(description="loves, likes, mixed, dislikes or hates")
    current: float = Field(description="the value to act on, -1 (dislikes) .. 1 (likes)")
    short: float = Field(description="short-term average of the statements")
    long: float = Field(description="long-term average of the statements")
    drift: float = Field(description="short - long")
    drifting: bool = Field(description="a drift not yet sustained: current is unchanged")
    confidence: float
    observations: int
    positive: int
    negative: int
    memory_id: str
    text: str
    tracked: bool
    since: str | None
    last_at: str | None


class AttributeOut(BaseModel):
    name: str = Field(description="lives_in, works_at, name, age, partner, diet, "
                                  "favourite:<what>, allergy, has, plan...")
    value: str
    subject: str
    memory_id: str
    text: str
    since: str | None


class ProfileOut(BaseModel):
    user_id: str | None
    subject: str | None = Field(description="the name most memories are about")
    preferences: list[PreferenceOut]
    attributes: list[AttributeOut]


class CitationOut(BaseModel):
    type: str
    id: str


class FieldOut(BaseModel):
    field: str
    value: str = Field(description="empty when memory is silent")
    source: str = Field(description="profile, search, llm, or empty")
    citations: list[CitationOut]


class FormOut(BaseModel):
    fields: list[FieldOut]
    model: str | None
    llm_error: str | None = Field(description="the LLM failure the rules answered for")


class DraftOut(BaseModel):
    text: str = Field(description="empty when memory is silent")
    citations: list[CitationOut]
    model: str | None
    llm_error: str | None


class FormRequest(ScopeIn):
    fields: list[str] = Field(min_length=1, max_length=100)
    use_llm: bool | None = Field(default=None, description="default: when one is configured")


class ReplyRequest(ScopeIn):
    message: str = Field(min_length=1)
    use_llm: bool | None = Field(default=None, description="default: when one is configured")


def _llm(svc: Any, use_llm: bool | None) -> bool | None:
    if use_llm and svc.engine.llm_settings is None:
        raise InvalidInput("use_llm needs an LLM: configure [llm] (see docs/server.md)")
    return use_llm


@router.get("/profile", response_model=ProfileOut, tags=["agents"], operation_id="profile")
def profile(who: Who, svc: Svc, user_id: UserQ = None, agent_id: UserQ = None) -> Any:
    """Current preferences with confidence (short/long averages, drift) and the
    attributes the rules derived, across the user's sessions."""
    return svc.engine.profile(scope=_scope(who, user_id=user_id, agent_id=agent_id)).to_dict()


@router.post("/form", response_model=FormOut, tags=["agents"], operation_id="fill_form")
def fill_form(body: FormRequest, who: Who, svc: Svc) -> Any:
    """Fill form fields as the user would: each value cites its memories, empty where
    memory is silent (rules; the LLM when configured)."""
    return svc.engine.fill_form(body.fields, scope=_scope(who, body).with_session(None),
                                use_llm=_llm(svc, body.use_llm)).to_dict()


@router.post("/reply", response_model=DraftOut, tags=["agents"], operation_id="draft_reply")
def draft_reply(body: ReplyRequest, who: Who, svc: Svc) -> Any:
    """A reply to ``message`` in the user's voice from their memories, citing them."""
    return svc.engine.draft_reply(_query(svc, body.message),
                                  scope=_scope(who, body).with_session(None),
                                  use_llm=_llm(svc, body.use_llm)).to_dict()
