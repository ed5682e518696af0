"""Request and response bodies of the REST API (published in the OpenAPI document).

Responses mirror the ``to_dict()`` form of :mod:`engram.models`. Limits that
depend on the configuration (batch size, query length) are checked in the
handlers; the static bounds here only stop absurd input early.

Request bodies are strict, so what the schema says is what is accepted: an integer
field takes no ``true`` or ``5.0``, a number field no ``false``, a flag no ``1``, a
string no number, and a date-time only ISO 8601 text with a timezone (never a Unix
time such as ``0``). Unknown fields are refused. Any mismatch is a 422
``validation_error`` naming the field.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from ..retrieval.config import PRESETS

__all__ = [
    "AddRequest", "AddResponse", "ContextItemOut", "ContextOut", "ContextRequest",
    "CreatedKeyOut", "EpisodeOut", "ForgetOut", "HistoryOut", "HitOut", "ImportOut", "ItemOut",
    "JobOut", "KeyCreate", "KeyOut", "KeysOut", "MemoryOpOut", "MemoryOut", "MessageIn",
    "PageOut", "Problem", "RememberRequest", "ScopeIn", "SearchRequest", "SearchResponse",
    "StatsOut", "UpdateRequest", "VersionOut",
]

Kind = Literal["fact", "preference", "event", "plan", "procedure", "summary", "note"]
Role = Literal["user", "assistant", "system", "tool", "observation"]

_ISO = re.compile(r"^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d")


def _iso_text(value: object) -> object:
    # a lax datetime would take 0 or "1700000000" as Unix time: only ISO text passes
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO.match(value)):
        return value
    raise ValueError("must be an ISO 8601 date-time with a timezone, e.g. 2024-05-08T13:56:00Z")


#: an aware date-time given as ISO 8601 text; years 1..9999 once in UTC, else 400
#: ``date_out_of_range``
IsoTime = Annotated[AwareDatetime, Field(strict=False), BeforeValidator(_iso_text)]


def _known_preset(name: str) -> str:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; use one of {sorted(PRESETS)}")
    return name


def _preset_enum(schema: dict[str, Any]) -> None:
    # the presets registered when the OpenAPI document is built (at the first request)
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            branch["enum"] = sorted(PRESETS)


PresetName = Annotated[str, Field(max_length=64), AfterValidator(_known_preset)]
_PRESET_DOC = "a named retrieval configuration; default: the server's"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


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
    """Whose data: at least ``user_id`` or ``agent_id`` (else 400 ``scope_required``).
    The tenant comes from the API key."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["user_id"], "properties": {"user_id": {"type": "string"}}},
        {"required": ["agent_id"], "properties": {"agent_id": {"type": "string"}}},
    ]})

    user_id: str | None = Field(default=None, min_length=1, max_length=256,
                                description="the end user; this or agent_id is required")
    agent_id: str | None = Field(default=None, min_length=1, max_length=256,
                                 description="the agent; this or user_id is required")
    session_id: str | None = Field(default=None, min_length=1, max_length=256,
                                   description="narrows the scope to one conversation")


class MessageIn(_In):
    text: str = Field(min_length=1, description="the message text, stored verbatim")
    role: Role = "user"
    speaker: str | None = Field(default=None, max_length=256)
    occurred_at: IsoTime | None = None
    id: str | None = Field(default=None, min_length=1, max_length=256,
                           description="client id; re-sending it stores nothing new")
    metadata: dict[str, Any] = Field(default_factory=dict)


class AddRequest(ScopeIn):
    messages: list[MessageIn] = Field(min_length=1, max_length=10_000)
    occurred_at: IsoTime | None = None
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
    start: IsoTime | None = None
    end: IsoTime | None = None
    metadata: dict[str, Any] | None = None
    where: dict[str, Any] | None = Field(
        default=None, description="a metadata filter with comparisons and AND/OR/NOT, e.g. "
        '{"AND": [{"year": {"gte": 2020}}, {"tag": {"in": ["a", "b"]}}]}; ops eq, ne, gt, '
        "gte, lt, lte, in, nin, contains, icontains")
    as_of: IsoTime | None = None
    preset: PresetName | None = Field(default=None, json_schema_extra=_preset_enum,
                                      description=_PRESET_DOC)


class ContextRequest(ScopeIn):
    query: str = Field(min_length=1)
    max_tokens: int = Field(default=1024, ge=32, le=200_000)
    as_of: IsoTime | None = None
    preset: PresetName | None = Field(default=None, json_schema_extra=_preset_enum,
                                      description=_PRESET_DOC)
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
    label: int = Field(description="the item's line in `text` starts with `[label]`")


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


class FlagDecisionIn(ScopeIn):
    """An operator's decision on a poisoning flag (see engram.trust.review)."""

    reason: str = Field(min_length=1, max_length=2000)
    by: str | None = Field(default=None, max_length=200)
    #: the review version the operator saw (0: no decision yet); stale -> 409 conflict
    expected_version: int | None = Field(default=None, ge=0)


class FlagDecisionOut(BaseModel):
    version: int
    state: Literal["cleared", "flagged"]
    reason: str
    by: str | None
    at: str


class FlagReviewOut(BaseModel):
    """Why an episode was flagged (flag -> evidence) and every decision on it."""

    episode_id: str
    flags: list[str]
    why: dict[str, str]
    state: Literal["unflagged", "flagged", "cleared"]
    version: int
    history: list[FlagDecisionOut]


class RememberRequest(ScopeIn):
    text: str = Field(min_length=1)
    kind: Kind = "note"
    valid_from: IsoTime | None = None
    valid_to: IsoTime | None = None
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    metadata: dict[str, Any] | None = None


class UpdateRequest(ScopeIn):
    text: str | None = Field(default=None, min_length=1)
    metadata: dict[str, Any] | None = None
    importance: float | None = Field(default=None, ge=0.0, le=1.0)
    valid_to: IsoTime | None = None
    reason: str = Field(default="updated by caller", max_length=500)
    expected_version: int | None = Field(
        default=None, ge=1, description="the version read; another one: 409 conflict")


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

