"""REST for procedures with learned utility and task memory trees (issue #20).

Mounted under ``/v1`` next to :mod:`.routes`; each handler is one call to the engine
(:mod:`engram.agents.procedures`, :mod:`engram.agents.tasks`):

* ``POST /v1/procedures``: :meth:`engram.Engram.remember_procedure`;
* ``POST /v1/procedures/search``: :meth:`engram.Engram.procedures` (ranked for a task);
* ``POST /v1/memories/{memory_id}/feedback``: :meth:`engram.Engram.feedback`;
* ``POST /v1/tasks``, ``GET``/``PATCH /v1/tasks/{node_id}``,
  ``GET /v1/tasks/{node_id}/tree``, ``GET /v1/tasks/{node_id}/context``: ``Engram.tasks``.

Errors as everywhere: 400 ``invalid_input``/``scope_required``, 404 ``not_found`` (also
for an id of another tenant or user), 409 ``conflict`` with ``expected_version``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from ..agents.procedures import UtilityPolicy
from .routes import _ERRORS, Svc, UserQ, Who, _admit, _query, _scope
from .schemas import ScopeIn

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=_ERRORS)

Text = Annotated[str, Field(min_length=1)]
Id = Annotated[str, Path(min_length=1, max_length=256)]
Status = Literal["open", "done", "failed", "blocked"]
Outcome = Literal["success", "partial", "failure", "unknown"]


class ProcedureIn(ScopeIn):
    task: Text = Field(description="the task the strategy solved (abstracted when stored)")
    steps: list[Text] | None = Field(default=None, max_length=100)
    insight: Text | None = None
    outcome: Outcome | Annotated[float, Field(ge=0, le=1)] = Field(
        default="success", description="how the task went: a name or a reward in [0, 1]")
    metadata: dict[str, Any] | None = None


class ProcedureQuery(ScopeIn):
    task: Text
    limit: int = Field(default=5, ge=1, le=100)
    exploration: Literal["ucb", "thompson", "none"] = "ucb"
    weight: float = Field(default=0.5, ge=0, le=1, description="share of utility in the score")
    min_relevance: float = Field(default=0.35, ge=-1, le=1)
    min_utility: float = Field(default=0.0, ge=0, le=2)
    seed: int | None = Field(default=None, description="seed of Thompson draws")


class FeedbackIn(ScopeIn):
    reward: Annotated[float, Field(ge=0, le=1)] | Outcome = Field(
        description="how useful the procedure was: 0..1, or a named outcome")
    learning_rate: float | None = Field(default=None, gt=0, le=1)
    expected_version: int | None = None


class UtilityOut(BaseModel):
    value: float
    count: int
    successes: int
    failures: int
    last_reward: float | None
    last_used_at: str | None


class ProcedureOut(BaseModel):
    id: str
    task: str
    steps: list[str]
    insight: str | None
    outcome: str
    utility: UtilityOut
    text: str
    version: int
    status: str


class RankedOut(BaseModel):
    score: float
    relevance: float
    bonus: float
    procedure: ProcedureOut


class RankedListOut(BaseModel):
    procedures: list[RankedOut]


class TaskIn(ScopeIn):
    title: Text
    parent_id: str | None = Field(default=None, min_length=1, max_length=256)
    notes: list[Text] | None = Field(default=None, max_length=200)
    status: Status = "open"


class TaskPatch(ScopeIn):
    status: Status | None = None
    note: Text | None = None
    result: Text | None = None
    blocker: Text | None = None
    expected_version: int | None = None


class TaskOut(BaseModel):
    id: str
    tree: str
    parent_id: str | None
    title: str
    status: str
    notes: list[str]
    result: str | None
    blocker: str | None
    created_at: str | None
    updated_at: str | None
    version: int


class TreeOut(BaseModel):
    nodes: list[TaskOut]


class TaskContextOut(BaseModel):
    node_id: str
    text: str
    tokens: int
    max_tokens: int
    path: list[str]
    blockers: list[str]
    siblings: list[str]
    omitted: int


def _size(*texts: str | None) -> int:
    return sum(len(t.encode("utf-8")) for t in texts if t)


@router.post("/procedures", response_model=ProcedureOut, status_code=201, tags=["agents"],
             operation_id="remember_procedure")
def remember_procedure(body: ProcedureIn, who: Who, svc: Svc) -> Any:
    """Store a reusable strategy (steps and/or an insight) abstracted from ``task``; the
    same strategy again reinforces the stored one."""
    _admit(svc, who, 1, _size(body.task, body.insight, *(body.steps or [])))
    return svc.engine.remember_procedure(
        body.task, steps=body.steps, insight=body.insight, outcome=body.outcome,
        metadata=body.metadata, scope=_scope(who, body)).to_dict()


@router.post("/procedures/search", response_model=RankedListOut, tags=["agents"],
             operation_id="find_procedures")
def find_procedures(body: ProcedureQuery, who: Who, svc: Svc) -> Any:
    """Procedures for ``task``, best first: relevance blended with learned utility and
    an exploration bonus. Reads only."""
    policy = UtilityPolicy(weight=body.weight, exploration=body.exploration,
                           min_relevance=body.min_relevance, min_utility=body.min_utility,
                           seed=body.seed)
    ranked = svc.engine.procedures(_query(svc, body.task), limit=body.limit, policy=policy,
                                   scope=_scope(who, body))
    return {"procedures": [r.to_dict() for r in ranked]}


@router.post("/memories/{memory_id}/feedback", response_model=ProcedureOut, tags=["agents"],
             operation_id="feedback")
def feedback(memory_id: Id, body: FeedbackIn, who: Who, svc: Svc) -> Any:
    """Reward a procedure's use (0..1): its utility moves toward the reward, as a new
    version (``GET /v1/memories/{id}/history`` lists every change)."""
    return svc.engine.feedback(memory_id, body.reward, learning_rate=body.learning_rate,
                               expected_version=body.expected_version,
                               scope=_scope(who, body)).to_dict()


@router.post("/tasks", response_model=TaskOut, status_code=201, tags=["agents"],
             operation_id="create_task")
def create_task(body: TaskIn, who: Who, svc: Svc) -> Any:
    """A task, or with ``parent_id`` a subtask."""
    _admit(svc, who, 1, _size(body.title, *(body.notes or [])))
    return svc.engine.tasks.create(body.title, parent_id=body.parent_id, notes=body.notes,
                                   status=body.status, scope=_scope(who, body)).to_dict()


@router.get("/tasks/{node_id}", response_model=TaskOut, tags=["agents"],
            operation_id="get_task")
def get_task(node_id: Id, who: Who, svc: Svc, user_id: UserQ = None,
             agent_id: UserQ = None, session_id: UserQ = None) -> Any:
    """One task node."""
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    return svc.engine.tasks.get(node_id, scope=sc).to_dict()


@router.patch("/tasks/{node_id}", response_model=TaskOut, tags=["agents"],
              operation_id="update_task")
def update_task(node_id: Id, body: TaskPatch, who: Who, svc: Svc) -> Any:
    """Set the status, add a note, set the result or the blocker (a new version)."""
    return svc.engine.tasks.update(node_id, status=body.status, note=body.note,
                                   result=body.result, blocker=body.blocker,
                                   expected_version=body.expected_version,
                                   scope=_scope(who, body)).to_dict()


@router.get("/tasks/{node_id}/tree", response_model=TreeOut, tags=["agents"],
            operation_id="task_tree")
def task_tree(node_id: Id, who: Who, svc: Svc, user_id: UserQ = None,
              agent_id: UserQ = None, session_id: UserQ = None) -> Any:
    """Every node of the tree ``node_id`` belongs to, oldest first."""
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    return {"nodes": [n.to_dict() for n in svc.engine.tasks.nodes(node_id, scope=sc)]}


@router.get("/tasks/{node_id}/context", response_model=TaskContextOut, tags=["agents"],
            operation_id="task_context")
def task_context(node_id: Id, who: Who, svc: Svc, user_id: UserQ = None,
                 agent_id: UserQ = None, session_id: UserQ = None,
                 max_tokens: Annotated[int, Query(ge=32, le=200_000)] = 512) -> Any:
    """The node's prompt-ready context: itself, its path from the root, open blockers and
    finished siblings' results, within ``max_tokens``."""
    sc = _scope(who, user_id=user_id, agent_id=agent_id, session_id=session_id)
    return svc.engine.tasks.context(node_id, max_tokens, scope=sc).to_dict()
