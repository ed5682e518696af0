"""mem0's operations on an :class:`~engram.Engram`, in mem0's shapes: one core for the
mem0-compatible server routes (:mod:`engram.server.compat_mem0`) and the in-process
``Memory`` shim (:mod:`engram.compat.mem0`).

The mapping (docs/migrate-from-mem0.md has the table):

* ``user_id``/``agent_id`` are Engram's; ``run_id`` is ``session_id``; ``app_id`` is kept in
  the metadata (``"app_id"``) and filtered there;
* ``add`` stores the messages as episodes (verbatim) and, unless ``infer=False``, derives
  memories at once; its ``results`` are the memory operations (``infer=False``: the
  episodes). ``search`` ranks memories and episodes; ``get_all`` lists memories. A
  memory shows the metadata given to ``add`` with its source messages, under its own;
* ``delete`` of one memory is Engram's soft delete (history kept, gone from reads);
  ``delete_all`` and entity deletion are Engram's verified ``forget`` of the scope
  (episodes too). ``delete_all`` without an entity is refused (``scope_required``);
* ``filters``: entity keys at the top level or in a top-level ``AND`` choose the scope; the
  rest (``metadata``, ``created_at``, ``categories``, ``OR``/``NOT``, operators ``in, gte,
  contains, ...``) is evaluated by :mod:`engram.filtering` on the mem0-shaped records.

Every call needs ``user_id`` or ``agent_id`` (``run_id`` alone works for ``delete_all`` and
entity deletion, which act on every owner of the run). Ids are looked up in the whole
tenant, as mem0 does, whoever they belong to.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..engine import Engram
from ..errors import InvalidInput, NotFound, ScopeRequired
from ..filtering import parse_filter
from ..models import Episode, Memory, MemoryStatus, MemoryVersion, Scope
from ..subjects import iter_items, subjects
from ..timeutil import format_dt, parse_dt
from ..trust.provenance import strip_reserved

__all__ = ["ENTITY_KEYS", "Mem0Core", "Target", "mem0_record", "target"]

ENTITY_KEYS = ("user_id", "agent_id", "run_id", "app_id")
MAX_BATCH = 1000
EVENTS = {"ADD": "ADD", "UPDATE": "UPDATE", "SUPERSEDE": "UPDATE", "DELETE": "DELETE"}
_MEM0_TYPE = {"user": "user", "agent": "agent", "session": "run"}


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
        """Whether ``record`` passes; a field that is not one of the record's is looked
        up in its metadata (mem0 OSS filters metadata by bare key: ``{"category": ...}``)."""
        if self.app_id is not None and record.get("app_id") != self.app_id:
            return False
        if not self.rest:
            return True
        return parse_filter(self.rest).matches({**(record.get("metadata") or {}), **record})


def _is_entity(key: str, value: Any) -> bool:
    return key in ENTITY_KEYS and isinstance(value, str) and value != "*"


def target(top: dict[str, Any], filters: Any) -> Target:
    """Entities from ``top`` (the request's own fields) and from ``filters`` (its top
    level and a top-level ``AND``); everything else stays as a filter on the records."""
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


def history_entry(v: MemoryVersion) -> dict[str, Any]:
    after, before = v.after or {}, v.before or {}
    state = after or before
    return {
        "id": f"{v.memory_id}:{v.version}", "memory_id": v.memory_id, "input": [],
        "old_memory": before.get("text"),
        "new_memory": after.get("text") if str(v.operation) != "DELETE" else None,
        "user_id": state.get("user_id"), "agent_id": state.get("agent_id"),
        "run_id": state.get("session_id"),
        "categories": [state["kind"]] if state.get("kind") else [],
        "event": EVENTS.get(str(v.operation), str(v.operation)),
        "is_deleted": str(v.operation) == "DELETE",
        "metadata": strip_reserved(state.get("metadata")) or None,
        "created_at": format_dt(v.recorded_at), "updated_at": format_dt(v.recorded_at),
    }


def to_datetime(value: Any, what: str) -> datetime:
    """A unix timestamp, ``YYYY-MM-DD`` (UTC midnight) or ISO 8601 date-time."""
    if isinstance(value, datetime):
        return value
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


def _in_categories(rec: dict[str, Any], categories: Any) -> bool:
    if not categories:
        return True
    if not isinstance(categories, list):
        raise InvalidInput("categories must be a list")
    return bool(set(rec["categories"]) & set(categories))


def _owner(x: Memory | Episode) -> Scope:
    return Scope(user_id=x.scope.user_id, agent_id=x.scope.agent_id, tenant=x.scope.tenant)


@dataclass
class Mem0Core:
    """mem0's operations for one tenant of ``engine``. ``forget`` hard-deletes a scope
    (the server also drops the scope's jobs and quota usage); ``admit(items, bytes)``
    checks a quota before ``add`` writes."""

    engine: Engram
    tenant: str = "default"
    forget: Callable[[Scope], Any] | None = None
    admit: Callable[[int, int], None] | None = None
    max_batch_items: int = 10_000
    max_query_chars: int = 10_000

    # -- lookups -------------------------------------------------------------------
    def find(self, item_id: str) -> Memory | Episode:
        """A live memory or an episode of the tenant, whoever it belongs to."""
        sc = Scope(tenant=self.tenant)
        mems = self.engine.store.get_memories(sc, [item_id])
        if mems and mems[0].status == MemoryStatus.ACTIVE:
            return mems[0]
        eps = self.engine.store.get_episodes(sc, [item_id])
        if eps:
            return eps[0]
        raise NotFound(f"no memory {item_id!r}")

    def memory(self, memory_id: str) -> Memory:
        item = self.find(memory_id)
        if not isinstance(item, Memory):
            raise InvalidInput(f"{memory_id!r} is an episode (stored verbatim, e.g. with "
                               "infer=False); episodes are not edited one by one")
        return item

    def records(self, items: Iterable[Memory | Episode]) -> list[dict[str, Any]]:
        """``items`` in mem0's shape, each memory with its source messages' metadata."""
        items = list(items)
        sources = sorted({i for x in items if isinstance(x, Memory)
                          for i in x.source_episode_ids})
        eps = {e.id: e.metadata for e in self.engine.store.get_episodes(
            Scope(tenant=self.tenant), sources)} if sources else {}
        out = []
        for x in items:
            inherited: dict[str, Any] = {}
            if isinstance(x, Memory):
                for i in x.source_episode_ids:
                    inherited.update(strip_reserved(eps.get(i)))
            out.append(mem0_record(x, inherited))
        return out

    def memories(self, t: Target) -> Iterator[dict[str, Any]]:
        """The target's active memories in mem0's shape, newest first, filtered."""
        batch: list[Memory | Episode] = []
        for m in iter_items(self.engine.store, t.scope(self.tenant), "memory"):
            batch.append(m)
            if len(batch) == 500:
                yield from (r for r in self.records(batch) if t.keep(r))
                batch = []
        yield from (r for r in self.records(batch) if t.keep(r))

    def _forget(self, sc: Scope) -> None:
        if self.forget is not None:
            self.forget(sc)
        else:
            self.engine.forget(scope=sc)

    # -- operations ----------------------------------------------------------------
    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages")
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        elif isinstance(messages, dict):
            messages = [messages]
        if not isinstance(messages, list) or not messages:
            raise InvalidInput("messages must be a non-empty list of {role, content}")
        if len(messages) > self.max_batch_items:
            raise InvalidInput(f"{len(messages)} messages; at most {self.max_batch_items}")
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("content"), str):
                raise InvalidInput(f"messages[{i}] must be an object with a text 'content'")
        t = target(body, body.get("filters"))
        sc = t.scope(self.tenant)
        infer = body.get("infer", True)
        if not isinstance(infer, bool):
            raise InvalidInput("infer must be true or false")
        at = to_datetime(body["timestamp"], "timestamp") if body.get("timestamp") else None
        msgs = [{"text": m["content"], "role": m.get("role") or "user",
                 "speaker": m.get("name")} for m in messages]
        if self.admit is not None:
            self.admit(len(msgs), sum(len(m["text"].encode()) for m in msgs))
        result = self.engine.add(msgs, scope=sc, occurred_at=at, derive=infer,
                                 metadata=_metadata(body.get("metadata"), t.app_id))
        if infer:
            # a memory superseded with no new one in its place was ended ("I sold the
            # Honda"; or written already replaced, from a backfill): mem0 says DELETE
            replaced = {op.previous_id for op in result.operations if op.previous_id}
            results = [{"id": op.memory_id, "memory": op.text,
                        "event": "DELETE" if (str(op.op) == "SUPERSEDE"
                                              and op.memory_id not in replaced)
                        else EVENTS[str(op.op)]}
                       for op in result.operations if str(op.op) in EVENTS and op.memory_id]
        else:
            results = [{"id": e.id, "memory": m["text"], "event": "ADD", "type": "episode"}
                       for e, m in zip(result.episodes, msgs, strict=True)]
        pending = infer and self.engine.llm_settings is not None
        return {"results": results, "status": "PENDING" if pending else "SUCCEEDED",
                "event_id": result.job_id or (result.episodes[0].id if result.episodes
                                              else None),
                "message": "memories are derived in the background" if pending
                else "memories added"}

    def get_all(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Every matching memory (``start_date``/``end_date``/``categories`` honoured)."""
        t = target(body, body.get("filters"))
        rng: dict[str, Any] = {}
        for key, op in (("start_date", "gte"), ("end_date", "lte")):
            if body.get(key) is not None:
                rng[op] = format_dt(to_datetime(body[key], key))
        dates = parse_filter({"created_at": rng} if rng else None)
        return [r for r in self.memories(t)
                if dates.matches(r) and _in_categories(r, body.get("categories"))]

    def search(self, body: dict[str, Any], default_top_k: int = 10) -> dict[str, Any]:
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("query must be a non-empty string")
        if len(query) > self.max_query_chars:
            raise InvalidInput(f"query is {len(query)} characters; the limit is "
                               f"{self.max_query_chars}")
        top_k = body.get("top_k", body.get("limit", default_top_k))
        threshold = body.get("threshold")
        if not isinstance(top_k, int) or not 1 <= top_k <= 1000:
            raise InvalidInput("top_k must be between 1 and 1000")
        if threshold is not None and not isinstance(threshold, int | float):
            raise InvalidInput("threshold must be a number")
        t = target(body, body.get("filters"))
        filtered = bool(t.rest or t.app_id or body.get("categories"))
        hits = self.engine.search(query, scope=t.scope(self.tenant),
                                  limit=min(1000, top_k * 5) if filtered else top_k)
        out = []
        for h, base in zip(hits, self.records(h.item for h in hits), strict=True):
            rec = {**base, "score": h.score}
            if threshold is not None and h.score < threshold:
                continue
            if t.keep(rec) and _in_categories(rec, body.get("categories")):
                out.append(rec)
        return {"results": out[:top_k]}

    def get(self, memory_id: str) -> dict[str, Any]:
        return self.records([self.find(memory_id)])[0]

    def update(self, memory_id: str, body: dict[str, Any]) -> Memory:
        """A new version: ``text``, ``metadata`` (replaces the caller's), ``expiration_date``."""
        mem = self.memory(memory_id)
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            raise InvalidInput("text must be a string")
        app_id = strip_reserved(mem.metadata).get("app_id")
        meta = _metadata(body["metadata"], app_id) if body.get("metadata") is not None else None
        expires = body.get("expiration_date")
        return self.engine.update(
            memory_id, text, scope=_owner(mem), metadata=meta,
            valid_to=to_datetime(expires, "expiration_date") if expires is not None else None,
            reason="updated through the mem0 API")

    def delete(self, memory_id: str) -> None:
        mem = self.memory(memory_id)
        self.engine.delete(memory_id, scope=_owner(mem), reason="deleted through the mem0 API")

    def delete_all(self, user_id: str | None = None, agent_id: str | None = None,
                   run_id: str | None = None) -> None:
        """Verified forget of the user's, agent's or run's data (a run: every owner's)."""
        if user_id is None and agent_id is None and run_id is not None:
            self.forget_run(run_id)
            return
        t = Target()
        for key, value in (("user_id", user_id), ("agent_id", agent_id), ("run_id", run_id)):
            if value is not None:
                t.set(key, value)
        self._forget(t.scope(self.tenant))

    def forget_run(self, run_id: str) -> int:
        """Forget every owner's part of session ``run_id``; the number of scopes forgotten."""
        owners: set[tuple[str | None, str | None]] = set()
        for s in subjects(self.engine.store, self.tenant):
            if s.type == "session" and s.id == run_id:
                owners = s.owners
        scopes = {Scope(user_id=u, agent_id=None if u else a, session_id=run_id,
                        tenant=self.tenant) for u, a in owners}
        for sc in scopes:
            self._forget(sc)
        return len(scopes)

    def delete_entity(self, entity_type: str, entity_id: str) -> None:
        if entity_type == "run":
            self.forget_run(entity_id)
        elif entity_type == "user":
            self._forget(Scope(user_id=entity_id, tenant=self.tenant))
        elif entity_type == "agent":
            self._forget(Scope(agent_id=entity_id, tenant=self.tenant))
        else:
            raise InvalidInput(f"entity type must be user, agent or run, not {entity_type!r}")

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        mems = self.engine.store.get_memories(Scope(tenant=self.tenant), [memory_id])
        if not mems:
            raise NotFound(f"no memory {memory_id!r}")
        return [history_entry(v) for v in self.engine.history(memory_id,
                                                              scope=_owner(mems[0]))]

    def entities(self) -> list[dict[str, Any]]:
        return [{"id": s.id, "name": s.id, "type": _MEM0_TYPE[s.type],
                 "total_memories": s.memories, "total_episodes": s.episodes,
                 "owner": self.tenant, "organization": None, "metadata": None,
                 "created_at": format_dt(s.first_at), "updated_at": format_dt(s.last_at)}
                for s in subjects(self.engine.store, self.tenant)]

    def batch(self, body: dict[str, Any], op: str) -> int:
        """``op`` ("update" or "delete") each of ``body["memories"]``; every id is checked
        first, so an unknown one changes nothing."""
        items = body.get("memories")
        if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
            raise InvalidInput(f"memories must be a list of 1 to {MAX_BATCH} objects")
        for i, m in enumerate(items):
            if not isinstance(m, dict) or not isinstance(m.get("memory_id"), str):
                raise InvalidInput(f"memories[{i}] needs a memory_id")
        for m in items:
            self.memory(m["memory_id"])
        for m in items:
            if op == "update":
                self.update(m["memory_id"], m)
            else:
                self.delete(m["memory_id"])
        return len(items)
