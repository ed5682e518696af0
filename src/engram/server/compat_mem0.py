"""The routes mem0's platform SDK calls (``mem0ai``: ``MemoryClient``/``AsyncMemoryClient``).

Point the SDK at ``engram serve`` (``MemoryClient(api_key=KEY, host="http://127.0.0.1:8420")``)
and it works unchanged. The mapping (docs/migrate-from-mem0.md has the full table):

* the API key is the tenant; ``Authorization: Token <key>`` is accepted as ``Bearer <key>``;
* ``user_id``/``agent_id`` are Engram's; ``run_id`` is ``session_id``; ``app_id`` is kept in
  the memory's metadata (``"app_id"``) and filtered there;
* ``add`` stores the messages as episodes (verbatim) and, unless ``infer=False``, derives
  memories at once; its ``results`` are the memory operations (``infer=False``: the
  episodes). ``search`` ranks memories and episodes; ``get_all`` lists memories;
* ``delete`` of one memory is Engram's soft delete (history kept, gone from reads);
  ``delete_all`` and entity deletion are Engram's verified ``forget`` of the scope
  (episodes too). ``delete_all`` without an entity is refused (``scope_required``);
* ``filters``: entity keys at the top level or in a top-level ``AND`` choose the scope; the
  rest (``metadata``, ``created_at``, ``categories``, ``OR``/``NOT``, operators ``in, gte,
  contains, ...``) is evaluated by :mod:`engram.filtering` on the mem0-shaped records.

Every request needs ``user_id`` or ``agent_id`` somewhere (``run_id`` alone works for
``delete_all`` and entity deletion, which act on every owner of the run).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from ..errors import InvalidInput, NotFound, ScopeRequired
from ..filtering import parse_filter
from ..models import Episode, Memory, MemoryStatus, MemoryVersion, Scope
from ..timeutil import format_dt, parse_dt
from ..trust.provenance import strip_reserved
from .auth import Caller
from .routes import _ERRORS, IdPath, Services, Svc, forget_scope
from .subjects import iter_items, subjects

__all__ = ["router"]

router = APIRouter(tags=["mem0"], responses=_ERRORS)
ENTITY_KEYS = ("user_id", "agent_id", "run_id", "app_id")
MAX_BATCH = 1000
_EVENTS = {"ADD": "ADD", "UPDATE": "UPDATE", "SUPERSEDE": "UPDATE", "DELETE": "DELETE"}


def mem0_caller(svc: Svc, request: Request) -> Caller:
    """The caller, from ``Authorization: Token <key>`` (mem0's scheme) or ``Bearer <key>``."""
    return svc.auth.caller(request.headers.get("authorization"),
                           client=request.client.host if request.client else None)


Who = Annotated[Caller, Depends(mem0_caller)]


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


# -- entities and filters --------------------------------------------------------------
@dataclass
class Target:
    """The entities a request names and the filter left once they are taken out."""

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    app_id: str | None = None
    rest: dict[str, Any] = field(default_factory=dict)

    def set(self, key: str, value: Any) -> None:
        if not isinstance(value, str) or not value or len(value) > 256:
            raise InvalidInput(f"{key} must be a string of 1 to 256 characters")
        old = getattr(self, key)
        if old is not None and old != value:
            raise InvalidInput(f"{key} is given twice with different values")
        setattr(self, key, value)

    def scope(self, tenant: str) -> Scope:
        if self.user_id is None and self.agent_id is None:
            raise ScopeRequired("name a user_id or agent_id (in filters or as a parameter)")
        return Scope(user_id=self.user_id, agent_id=self.agent_id, session_id=self.run_id,
                     tenant=tenant)

    def keep(self, record: dict[str, Any]) -> bool:
        if self.app_id is not None and record.get("app_id") != self.app_id:
            return False
        return parse_filter(self.rest).matches(record) if self.rest else True


def _is_entity(key: str, value: Any) -> bool:
    return key in ENTITY_KEYS and isinstance(value, str) and value != "*"


def target(top: dict[str, Any], filters: Any) -> Target:
    """Entities from the body's top level and from ``filters`` (its top level and a
    top-level ``AND``); everything else stays as a filter on the records."""
    t = Target()
    for key in ENTITY_KEYS:
        if top.get(key) is not None:
            t.set(key, top[key])
    if filters is None:
        return t
    if not isinstance(filters, dict):
        raise InvalidInput("filters must be an object")
    rest: dict[str, Any] = {}
    for key, value in filters.items():
        if _is_entity(key, value):
            t.set(key, value)
        elif key == "AND" and isinstance(value, list):
            kept = []
            for cond in value:
                pair = next(iter(cond.items())) if isinstance(cond, dict) and cond else None
                if pair is not None and len(cond) == 1 and _is_entity(*pair):
                    t.set(*pair)
                else:
                    kept.append(cond)
            if kept:
                rest["AND"] = kept
        else:
            rest[key] = value
    parse_filter(rest)  # malformed filters fail before anything runs
    t.rest = rest
    return t


# -- shapes ----------------------------------------------------------------------------
def records(svc: Services, tenant: str, items: Iterable[Memory | Episode]
            ) -> list[dict[str, Any]]:
    """``items`` in mem0's shape; a memory shows the metadata given to ``add`` with the
    messages it was derived from (kept on those episodes), under its own metadata."""
    items = list(items)
    sources = sorted({i for x in items if isinstance(x, Memory) for i in x.source_episode_ids})
    eps = {e.id: e.metadata for e in
           svc.engine.store.get_episodes(Scope(tenant=tenant), sources)} if sources else {}
    out = []
    for x in items:
        inherited: dict[str, Any] = {}
        if isinstance(x, Memory):
            for i in x.source_episode_ids:
                inherited.update(strip_reserved(eps.get(i)))
        out.append(mem0_record(x, inherited))
    return out


def mem0_record(x: Memory | Episode, inherited: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    """A memory or episode in mem0's memory shape (episodes: ``categories: ["episode"]``)."""
    meta = {**(inherited or {}), **strip_reserved(x.metadata)}
    app_id = meta.pop("app_id", None)
    is_mem = isinstance(x, Memory)
    expires = x.valid_to if isinstance(x, Memory) else None
    return {
        "id": x.id, "memory": x.text, "hash": hashlib.md5(x.text.encode()).hexdigest(),
        "user_id": x.scope.user_id, "agent_id": x.scope.agent_id,
        "run_id": x.scope.session_id, "app_id": app_id, "metadata": meta or None,
        "categories": [str(x.kind)] if isinstance(x, Memory) else ["episode"],
        "created_at": format_dt(x.created_at),
        "updated_at": format_dt(x.updated_at if isinstance(x, Memory) else x.created_at),
        "expiration_date": expires.date().isoformat() if expires is not None else None,
        "immutable": False, "type": "memory" if is_mem else "episode",
    }


def _history(v: MemoryVersion) -> dict[str, Any]:
    after, before = v.after or {}, v.before or {}
    state = after or before
    return {
        "id": f"{v.memory_id}:{v.version}", "memory_id": v.memory_id, "input": [],
        "old_memory": before.get("text"),
        "new_memory": after.get("text") if str(v.operation) != "DELETE" else None,
        "user_id": state.get("user_id"), "agent_id": state.get("agent_id"),
        "run_id": state.get("session_id"),
        "categories": [state["kind"]] if state.get("kind") else [],
        "event": _EVENTS.get(str(v.operation), str(v.operation)),
        "metadata": strip_reserved(state.get("metadata")) or None,
        "created_at": format_dt(v.recorded_at), "updated_at": format_dt(v.recorded_at),
    }


def _date(value: Any, what: str) -> datetime:
    """A unix timestamp, ``YYYY-MM-DD`` (UTC midnight) or ISO 8601 date-time."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidInput(f"{what} is not a valid unix timestamp") from None
    if isinstance(value, str) and len(value) == 10:
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            raise InvalidInput(f"{what} must be YYYY-MM-DD or ISO 8601") from None
    if isinstance(value, str):
        return parse_dt(value, what)
    raise InvalidInput(f"{what} must be a unix timestamp or a date")


def _metadata(value: Any, app_id: str | None) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise InvalidInput("metadata must be an object")
    if app_id is None:
        return value
    return {**(value or {}), "app_id": app_id}


# -- lookups ---------------------------------------------------------------------------
def _find(svc: Services, who: Caller, item_id: str) -> Memory | Episode:
    """A live memory or an episode of the caller's tenant, whoever it belongs to."""
    sc = Scope(tenant=who.tenant)
    mems = svc.engine.store.get_memories(sc, [item_id])
    if mems and mems[0].status == MemoryStatus.ACTIVE:
        return mems[0]
    eps = svc.engine.store.get_episodes(sc, [item_id])
    if eps:
        return eps[0]
    raise NotFound(f"no memory {item_id!r}")


def _memory(svc: Services, who: Caller, memory_id: str) -> Memory:
    item = _find(svc, who, memory_id)
    if not isinstance(item, Memory):
        raise InvalidInput(f"{memory_id!r} is an episode (stored verbatim, e.g. with "
                           "infer=False); episodes are not edited one by one")
    return item


def _owner(x: Memory | Episode) -> Scope:
    return Scope(user_id=x.scope.user_id, agent_id=x.scope.agent_id, tenant=x.scope.tenant)


def _memories(svc: Services, t: Target, tenant: str) -> Iterator[dict[str, Any]]:
    batch: list[Memory | Episode] = []
    for m in iter_items(svc.engine.store, t.scope(tenant), "memory"):
        batch.append(m)
        if len(batch) == 500:
            yield from (r for r in records(svc, tenant, batch) if t.keep(r))
            batch = []
    yield from (r for r in records(svc, tenant, batch) if t.keep(r))


def _forget_run(svc: Services, tenant: str, run_id: str, agent_id: str | None) -> int:
    """Forget every owner's part of session ``run_id``; the number of scopes forgotten."""
    owners: set[tuple[str | None, str | None]] = set()
    for s in subjects(svc.engine.store, tenant):
        if s.type == "session" and s.id == run_id:
            owners = s.owners
    scopes = {Scope(user_id=u, agent_id=None if u else a, session_id=run_id, tenant=tenant)
              for u, a in owners if agent_id is None or a == agent_id}
    for sc in scopes:
        forget_scope(svc, sc)
    return len(scopes)


# -- routes ----------------------------------------------------------------------------
@router.get("/v1/ping/", operation_id="mem0_ping")
def ping(who: Who) -> dict[str, Any]:
    """mem0's key check: answers when the key is valid; the project is the key's tenant."""
    return {"status": "ok", "message": "engram", "org_id": "engram",
            "project_id": who.tenant, "user_email": None}


@router.post("/v3/memories/add/", operation_id="mem0_add")
def add(body: Body, who: Who, svc: Svc) -> dict[str, Any]:
    """mem0 ``add``: messages become episodes; memories are derived unless ``infer`` is false."""
    messages = body.get("messages")
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    if not isinstance(messages, list) or not messages:
        raise InvalidInput("messages must be a non-empty list of {role, content}")
    if len(messages) > svc.config.max_batch_items:
        raise InvalidInput(f"{len(messages)} messages; at most {svc.config.max_batch_items}")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            raise InvalidInput(f"messages[{i}] must be an object with a text 'content'")
    t = target(body, body.get("filters"))
    sc = t.scope(who.tenant)
    infer = body.get("infer", True)
    if not isinstance(infer, bool):
        raise InvalidInput("infer must be true or false")
    at = _date(body["timestamp"], "timestamp") if body.get("timestamp") is not None else None
    msgs = [{"text": m["content"], "role": m.get("role") or "user", "speaker": m.get("name")}
            for m in messages]
    if svc.quota is not None:
        svc.quota.admit(who.tenant, len(msgs), sum(len(m["text"].encode()) for m in msgs))
    result = svc.engine.add(msgs, scope=sc, occurred_at=at, derive=infer,
                            metadata=_metadata(body.get("metadata"), t.app_id))
    if infer:
        results = [{"id": op.memory_id, "memory": op.text, "event": _EVENTS[str(op.op)]}
                   for op in result.operations if str(op.op) in _EVENTS and op.memory_id]
    else:
        results = [{"id": e.id, "memory": m["text"], "event": "ADD", "type": "episode"}
                   for e, m in zip(result.episodes, msgs, strict=True)]
    pending = infer and svc.engine.llm_settings is not None
    return {"results": results, "status": "PENDING" if pending else "SUCCEEDED",
            "event_id": result.job_id or (result.episodes[0].id if result.episodes else None),
            "message": "memories are derived in the background" if pending
            else "memories added"}


def _page_args(body: dict[str, Any], page: int | None, page_size: int | None
               ) -> tuple[int, int]:
    p = page if page is not None else body.get("page", 1)
    n = page_size if page_size is not None else body.get("page_size", 100)
    if not isinstance(p, int) or not isinstance(n, int) or p < 1 or not 1 <= n <= 1000:
        raise InvalidInput("page must be >= 1 and page_size between 1 and 1000")
    return p, n


def _date_filters(body: dict[str, Any]) -> dict[str, Any]:
    rng: dict[str, Any] = {}
    for key, op in (("start_date", "gte"), ("end_date", "lte")):
        if body.get(key) is not None:
            rng[op] = format_dt(_date(body[key], key))
    return {"created_at": rng} if rng else {}


@router.post("/v3/memories/", operation_id="mem0_get_all")
def get_all(body: Body, who: Who, svc: Svc, request: Request,
            page: Annotated[int | None, Query(ge=1)] = None,
            page_size: Annotated[int | None, Query(ge=1, le=1000)] = None) -> dict[str, Any]:
    """mem0 ``get_all``: the memories matching ``filters``, newest first, paged."""
    p, n = _page_args(body, page, page_size)
    t = target(body, body.get("filters"))
    dates = parse_filter(_date_filters(body))
    recs = [r for r in _memories(svc, t, who.tenant)
            if dates.matches(r) and _in_categories(r, body.get("categories"))]
    chunk = recs[(p - 1) * n: p * n]
    base = str(request.url.replace(query=""))
    return {"count": len(recs), "results": chunk,
            "next": f"{base}?page={p + 1}&page_size={n}" if p * n < len(recs) else None,
            "previous": f"{base}?page={p - 1}&page_size={n}" if p > 1 else None}


def _in_categories(rec: dict[str, Any], categories: Any) -> bool:
    if not categories:
        return True
    if not isinstance(categories, list):
        raise InvalidInput("categories must be a list")
    return bool(set(rec["categories"]) & set(categories))


@router.post("/v3/memories/search/", operation_id="mem0_search")
def search(body: Body, who: Who, svc: Svc) -> dict[str, Any]:
    """mem0 ``search``: memories and episodes ranked for ``query``, ``top_k`` of them."""
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("query must be a non-empty string")
    if len(query) > svc.config.max_query_chars:
        raise InvalidInput(f"query is {len(query)} characters; the limit is "
                           f"{svc.config.max_query_chars}")
    top_k = body.get("top_k", 10)
    threshold = body.get("threshold")
    if not isinstance(top_k, int) or not 1 <= top_k <= 1000:
        raise InvalidInput("top_k must be between 1 and 1000")
    if threshold is not None and not isinstance(threshold, int | float):
        raise InvalidInput("threshold must be a number")
    t = target(body, body.get("filters"))
    filtered = bool(t.rest or t.app_id or body.get("categories"))
    hits = svc.engine.search(query, scope=t.scope(who.tenant),
                             limit=min(1000, top_k * 5) if filtered else top_k)
    out = []
    for h, base in zip(hits, records(svc, who.tenant, (h.item for h in hits)), strict=True):
        rec = {**base, "score": h.score}
        if threshold is not None and h.score < threshold:
            continue
        if t.keep(rec) and _in_categories(rec, body.get("categories")):
            out.append(rec)
    return {"results": out[:top_k]}


@router.get("/v1/memories/{memory_id}/", operation_id="mem0_get")
def get(memory_id: IdPath, who: Who, svc: Svc) -> dict[str, Any]:
    """mem0 ``get``: one memory (or episode) of the tenant by id."""
    return records(svc, who.tenant, [_find(svc, who, memory_id)])[0]


@router.put("/v1/memories/{memory_id}/", operation_id="mem0_update")
def update(memory_id: IdPath, body: Body, who: Who, svc: Svc) -> dict[str, Any]:
    """mem0 ``update``: a new version of the memory (text, metadata, expiration_date)."""
    return records(svc, who.tenant, [_update(svc, who, memory_id, body)])[0]


def _update(svc: Services, who: Caller, memory_id: str, body: dict[str, Any]) -> Memory:
    mem = _memory(svc, who, memory_id)
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise InvalidInput("text must be a string")
    app_id = strip_reserved(mem.metadata).get("app_id")
    meta = _metadata(body["metadata"], app_id) if body.get("metadata") is not None else None
    expires = body.get("expiration_date")
    return svc.engine.update(
        memory_id, text, scope=_owner(mem), metadata=meta,
        valid_to=_date(expires, "expiration_date") if expires is not None else None,
        reason="updated through the mem0 API")


@router.delete("/v1/memories/{memory_id}/", operation_id="mem0_delete")
def delete(memory_id: IdPath, who: Who, svc: Svc) -> dict[str, Any]:
    """mem0 ``delete``: soft delete of one memory (its history stays)."""
    mem = _memory(svc, who, memory_id)
    svc.engine.delete(memory_id, scope=_owner(mem), reason="deleted through the mem0 API")
    return {"message": "Memory deleted successfully!"}


EntityQ = Annotated[str | None, Query(min_length=1, max_length=256)]


@router.delete("/v1/memories/", operation_id="mem0_delete_all")
def delete_all(who: Who, svc: Svc, user_id: EntityQ = None, agent_id: EntityQ = None,
               run_id: EntityQ = None, app_id: EntityQ = None) -> dict[str, Any]:
    """mem0 ``delete_all``: Engram's verified forget of the user's, agent's or run's data."""
    if user_id is None and agent_id is None and run_id is not None:
        _forget_run(svc, who.tenant, run_id, None)
        return {"message": "Memories deleted successfully!"}
    if app_id is not None:
        raise InvalidInput("delete_all by app_id is not supported; name the user_id or agent_id")
    t = Target(user_id=user_id, agent_id=agent_id, run_id=run_id)
    forget_scope(svc, t.scope(who.tenant))
    return {"message": "Memories deleted successfully!"}


@router.get("/v1/memories/{memory_id}/history/", operation_id="mem0_history")
def history(memory_id: IdPath, who: Who, svc: Svc) -> list[dict[str, Any]]:
    """mem0 ``history``: every version of the memory, oldest first."""
    sc = Scope(tenant=who.tenant)
    mems = svc.engine.store.get_memories(sc, [memory_id])
    if not mems:
        raise NotFound(f"no memory {memory_id!r}")
    return [_history(v) for v in svc.engine.history(memory_id, scope=_owner(mems[0]))]


_MEM0_TYPE = {"user": "user", "agent": "agent", "session": "run"}


@router.get("/v1/entities/", operation_id="mem0_entities")
def entities(who: Who, svc: Svc) -> dict[str, Any]:
    """mem0 ``users``: the tenant's users, agents and runs (sessions), most recent first."""
    results = [{"id": s.id, "name": s.id, "type": _MEM0_TYPE[s.type],
                "total_memories": s.memories, "total_episodes": s.episodes,
                "owner": who.tenant, "organization": None, "metadata": None,
                "created_at": format_dt(s.first_at), "updated_at": format_dt(s.last_at)}
               for s in subjects(svc.engine.store, who.tenant)]
    return {"count": len(results), "results": results}


@router.delete("/v2/entities/{entity_type}/{entity_id}/", operation_id="mem0_delete_entity")
def delete_entity(entity_type: str, entity_id: IdPath, who: Who, svc: Svc) -> dict[str, Any]:
    """mem0 ``delete_users``: forget everything of one user, agent or run."""
    if entity_type == "run":
        _forget_run(svc, who.tenant, entity_id, None)
    elif entity_type == "user":
        forget_scope(svc, Scope(user_id=entity_id, tenant=who.tenant))
    elif entity_type == "agent":
        forget_scope(svc, Scope(agent_id=entity_id, tenant=who.tenant))
    else:
        raise InvalidInput(f"entity type must be user, agent or run, not {entity_type!r}")
    return {"message": "Entity deleted successfully!"}


def _batch(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("memories")
    if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
        raise InvalidInput(f"memories must be a list of 1 to {MAX_BATCH} objects")
    for i, m in enumerate(items):
        if not isinstance(m, dict) or not isinstance(m.get("memory_id"), str):
            raise InvalidInput(f"memories[{i}] needs a memory_id")
    return items


def _check_all(svc: Services, who: Caller, ids: Iterable[str]) -> None:
    for memory_id in ids:
        _memory(svc, who, memory_id)  # every id exists before anything changes


@router.put("/v1/batch/", operation_id="mem0_batch_update")
def batch_update(body: Body, who: Who, svc: Svc) -> dict[str, Any]:
    """mem0 ``batch_update``: each ``{memory_id, text?, metadata?}`` updated (all ids are
    checked first: an unknown one changes nothing)."""
    items = _batch(body)
    _check_all(svc, who, (m["memory_id"] for m in items))
    for m in items:
        _update(svc, who, m["memory_id"], m)
    return {"message": f"Successfully updated {len(items)} memories"}


@router.delete("/v1/batch/", operation_id="mem0_batch_delete")
def batch_delete(body: Body, who: Who, svc: Svc) -> dict[str, Any]:
    """mem0 ``batch_delete``: soft delete of each ``{memory_id}`` (all checked first)."""
    items = _batch(body)
    _check_all(svc, who, (m["memory_id"] for m in items))
    for m in items:
        mem = _memory(svc, who, m["memory_id"])
        svc.engine.delete(mem.id, scope=_owner(mem), reason="deleted through the mem0 API")
    return {"message": f"Successfully deleted {len(items)} memories"}
