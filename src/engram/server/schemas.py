"""Request and response bodies of the REST API (published in the OpenAPI document).

Responses mirror the ``to_dict()`` form of :mod:`engram.models`. Limits that
depend on the configuration (batch size, query length) are checked in the
handlers; the static bounds here only stop absurd input early.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "AddRequest", "AddResponse", "ContextItemOut", "ContextOut", "ContextRequest",
    "CreatedKeyOut", "EpisodeOut", "ForgetOut", "HistoryOut", "HitOut", "ImportOut", "ItemOut",
    "JobOut", "KeyCreate", "KeyOut", "KeysOut", "MemoryOpOut", "MemoryOut", "MessageIn",
    "PageOut", "Problem", "RememberRequest", "ScopeIn", "SearchRequest", "SearchResponse",
    "StatsOut", "UpdateRequest", "VersionOut",
]

Id = Field(default=None, min_length=1, max_length=256)
Kind = Literal["fact", "preference", "event", "plan", "procedure", "summary", "note"]
Role = Literal["user", "assistant", "system", "tool", "observation"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """An RFC 9457 problem detail; ``code`` is stable (``EngramError.code``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None


class ScopeIn(_In):
    """Whose data: at least ``user_id`` or ``agent_id``. The tenant comes from the API key."""

    user_id: str | None = Id
    agent_id: str | None = Id
    session_id: str | None = Id


class MessageIn(_In):
    text: str = Field(min_length=1, description="the message text, stored verbatim")
    role: Role = "user"
    speaker: str | None = Field(default=None, max_length=256)
    occurred_at: AwareDatetime | None = None
    id: str | None = Field(default=None, min_length=1, max_length=256,
                           description="client id; re-sending it stores nothing new")
    metadata: dict[str, Any] = Field(default_factory=dict)


class AddRequest(ScopeIn):
    messages: list[MessageIn] = Field(min_length=1, max_length=10_000)
    occurred_at: AwareDatetime | None = None
    metadata: dict[str, Any] | None = None
    derive: Literal["background", "sync", "none"] = Field(
        default="background",
        description="background: return when episodes are durable, derive memories in a job; "
                    "sync: derive before returning; none: store episodes only",
    )


class EpisodeResultOut(BaseModel):
    id: str
    created: bool


class MemoryOpOut(BaseModel):
    op: str
    memory_id: str | None
    text: str
    reason: str
    previous_id: str | None


class AddResponse(BaseModel):
    episodes: list[EpisodeResultOut]
    operations: list[MemoryOpOut]
    job_id: str | None = None


class SearchRequest(ScopeIn):
    query: str = Field(min_length=1)
    limit: int = Field(default=10, ge=1, le=1000)
    kinds: list[Kind | Literal["episode"]] | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    metadata: dict[str, Any] | None = None
    as_of: AwareDatetime | None = None
    preset: str | None = Field(default=None, max_length=64)


class ContextRequest(ScopeIn):
    query: str = Field(min_length=1)
    max_tokens: int = Field(default=1024, ge=32, le=200_000)
    as_of: AwareDatetime | None = None
    preset: str | None = Field(default=None, max_length=64)
    include_flagged: bool = Field(
        default=False,
        description="also include items flagged as possible prompt injection (quoted as data)",
    )


class EpisodeOut(BaseModel):
    id: str
    tenant: str
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    role: str
    speaker: str | None
    text: str
    occurred_at: str | None
    created_at: str | None
    metadata: dict[str, Any]


class MemoryOut(BaseModel):
    id: str
    tenant: str
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    kind: str
    text: str
    entities: list[str]
    keywords: list[str]
    valid_from: str | None
    valid_to: str | None
    created_at: str | None
    updated_at: str | None
    expired_at: str | None
    importance: float
    access_count: int
    last_accessed_at: str | None
    source_episode_ids: list[str]
    version: int
    status: str
    attribute: str | None
    metadata: dict[str, Any]


class HitOut(BaseModel):
    type: Literal["episode", "memory"]
    id: str
    score: float
    scores: dict[str, float]
    item: MemoryOut | EpisodeOut
    sources: list[EpisodeOut]


class SearchResponse(BaseModel):
    hits: list[HitOut]


class ContextItemOut(BaseModel):
    type: Literal["episode", "memory"]
    id: str
    date: str | None
    text: str
    tokens: int
    score: float


class ContextOut(BaseModel):
    text: str
    tokens: int
    max_tokens: int
    items: list[ContextItemOut]


class ItemOut(BaseModel):
    type: Literal["episode", "memory"]
    item: MemoryOut | EpisodeOut


class PageOut(BaseModel):
    type: Literal["episode", "memory"]
    items: list[MemoryOut | EpisodeOut]
    next_cursor: str | None


class RememberRequest(ScopeIn):
    text: str = Field(min_length=1)
    kind: Kind = "note"
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    metadata: dict[str, Any] | None = None


class UpdateRequest(ScopeIn):
    text: str | None = Field(default=None, min_length=1)
    metadata: dict[str, Any] | None = None
    importance: float | None = Field(default=None, ge=0.0, le=1.0)
    valid_to: AwareDatetime | None = None
    reason: str = Field(default="updated by caller", max_length=500)


class VersionOut(BaseModel):
    memory_id: str
    version: int
    operation: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    recorded_at: str | None


class HistoryOut(BaseModel):
    versions: list[VersionOut]


class ForgetOut(BaseModel):
    scope: dict[str, Any]
    counts: dict[str, int]
    verified: bool
    at: str | None


class ImportOut(BaseModel):
    lines: int
    episodes_created: int
    episodes_existing: int
    memories_created: int
    memories_existing: int
    versions: int


class StatsOut(BaseModel):
    episodes: int
    memories: int
    memories_by_status: dict[str, int]
    memories_by_kind: dict[str, int]
    versions: int
    vectors: int
    embedding_model: str | None
    schema_version: str | None
    db_bytes: int | None = None


class JobOut(BaseModel):
    id: str
    status: Literal["pending", "running", "done", "failed"]
    episode_ids: list[str]
    created_at: str | None
    finished_at: str | None
    operations: list[MemoryOpOut]
    error: str | None


class KeyCreate(_In):
    tenant: str | None = Field(default=None, min_length=1, max_length=256,
                               description="default: the caller's tenant (only an operator "
                                           "key may name another)")
    name: str = Field(default="", max_length=200)
    admin: bool = False


class KeyOut(BaseModel):
    id: str
    tenant: str
    name: str
    admin: bool
    operator: bool = False
    created_at: str | None
    revoked_at: str | None


class CreatedKeyOut(BaseModel):
    key: KeyOut
    secret: str = Field(description="the bearer token; shown once, never stored")


class KeysOut(BaseModel):
    keys: list[KeyOut]

