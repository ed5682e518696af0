"""``engram.Client`` and ``engram.AsyncClient``: the :class:`engram.Engram` API over REST.

>>> eg = Client("http://127.0.0.1:8420", api_key="ek_...")           # doctest: +SKIP
>>> eg.add("I moved to Lisbon in March.", user_id="alice")           # doctest: +SKIP
>>> eg.search("where does alice live?", user_id="alice")[0].item.text  # doctest: +SKIP

Same method names, arguments and return types as :class:`~engram.Engram` (``AddResult``,
``list[Hit]``, ``ContextBlock``, ``Memory``/``Episode``, ``Page``, ``MemoryVersion``,
``ForgetReport``, ``ImportReport``, ``Stats``, ``Answer``); the API key decides the
tenant (a ``Scope``'s ``tenant`` is ignored). Errors come back as the classes of
:mod:`engram.errors`, chosen by the problem's ``code`` (``scope_required`` ->
:class:`~engram.errors.ScopeRequired`, ``not_found`` -> :class:`~engram.errors.NotFound`,
...; a code only the server knows falls back to its status's class and keeps the code).

There is one implementation: :class:`_Protocol` turns arguments into a :class:`Call`
(method, path, body) and a parser of the answer, without any I/O; the sync and async
clients only send calls. Each retries a 429 or 503 (and a refused connection) up to
``max_retries`` times, waiting ``Retry-After`` when the server sends it, else
``backoff * 2**attempt`` with jitter (never over ``max_wait``). ``timeout`` bounds each
request; a timeout or a connection that never succeeds is
:class:`~engram.errors.ServerUnavailable`.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import itertools
import json
import random
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Generic, TypeVar

import httpx

from . import errors
from .errors import EngramError, InvalidInput, RateLimited, ServerUnavailable
from .ingest.erase import EpisodeDeletion
from .models import (
    AddResult,
    ContextBlock,
    ContextItem,
    Episode,
    EpisodeResult,
    ForgetReport,
    Hit,
    ItemRef,
    Memory,
    MemoryOp,
    MemoryVersion,
    Message,
    Operation,
    Page,
    Scope,
    Stats,
)
from .timeutil import format_dt, parse_dt
from .transfer import ImportReport

__all__ = ["AsyncClient", "Call", "Client", "RetryPolicy"]

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how to read its answer (JSON, or text when ``text`` is set)."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: str | None = None
    text: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: float = 0.5
    max_wait: float = 30.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based)."""
        if retry_after is not None:
            try:
                return min(self.max_wait, max(0.0, float(retry_after)))
            except ValueError:
                pass
        return min(self.max_wait, self.backoff * 2.0 ** attempt * (0.5 + random.random() / 2))

    def next_wait(self, attempt: int, outcome: httpx.Response | httpx.HTTPError
                  ) -> float | None:
        """After try ``attempt`` (0-based): seconds to wait before the next, or ``None``
        when ``outcome`` is the answer. A timeout, or a refused connection on the last
        try, raises :class:`~engram.errors.ServerUnavailable`."""
        last = attempt >= self.max_retries
        if isinstance(outcome, httpx.ConnectError) and not last:
            return self.delay(attempt, None)
        if isinstance(outcome, httpx.HTTPError):
            raise ServerUnavailable(f"no answer from the server: {outcome!r}") from None
        if outcome.status_code in RETRY_STATUSES and not last:
            return self.delay(attempt, outcome.headers.get("retry-after"))
        return None


# -- answers -> Engram's types ---------------------------------------------------------
def _item(d: dict[str, Any], kind: str) -> Memory | Episode:
    return Memory.from_dict(d) if kind == "memory" else Episode.from_dict(d)


def _add_result(d: dict[str, Any]) -> AddResult:
    return AddResult(
        episodes=[EpisodeResult(e["id"], e["created"]) for e in d["episodes"]],
        operations=[MemoryOp(Operation(o["op"]), o["memory_id"], o["text"], o["reason"],
                             o["previous_id"]) for o in d["operations"]],
        job_id=d.get("job_id"))


def _hits(d: dict[str, Any]) -> list[Hit]:
    return [Hit(ref=ItemRef(h["type"], h["id"]), item=_item(h["item"], h["type"]),
                score=h["score"], scores=h["scores"],
                sources=[Episode.from_dict(s) for s in h["sources"]]) for h in d["hits"]]


def _context(d: dict[str, Any]) -> ContextBlock:
    return ContextBlock(text=d["text"], tokens=d["tokens"], max_tokens=d["max_tokens"], items=[
        ContextItem(ItemRef(i["type"], i["id"]), parse_dt(i["date"]), i["text"], i["tokens"],
                    i["score"], i.get("label", 0)) for i in d["items"]])


def _page(d: dict[str, Any]) -> Page:
    return Page([_item(x, d["type"]) for x in d["items"]], d["next_cursor"])


def _forget(d: dict[str, Any]) -> ForgetReport:
    return ForgetReport(scope=d["scope"], counts=d["counts"], verified=d["verified"],
                        at=parse_dt(d["at"]))


def _records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _answer(d: dict[str, Any]) -> Any:
    from .llm.types import Usage
    from .retrieval.answer import Answer

    u = d.get("usage") or {}
    return Answer(text=d["answer"], known=d["known"],
                  citations=[ItemRef(c["type"], c["id"]) for c in d["citations"]],
                  usage=Usage(u.get("prompt_tokens", 0), u.get("completion_tokens", 0),
                              u.get("total_tokens", 0)),
                  cost=d.get("cost"), model=d.get("model"))


def _profile(d: dict[str, Any]) -> Any:
    from .agents.profile import Profile

    return Profile.from_dict(d)


def _form(d: dict[str, Any]) -> Any:
    from .agents.persona import FormFill

    return FormFill.from_dict(d)


def _draft(d: dict[str, Any]) -> Any:
    from .agents.persona import Draft

    return Draft.from_dict(d)


def _codes() -> dict[str, type[EngramError]]:
    found: dict[str, type[EngramError]] = {}
    todo: list[type[EngramError]] = [EngramError]
    while todo:
        cls = todo.pop()
        if cls.__module__ == errors.__name__:
            found.setdefault(cls.code, cls)
        todo.extend(cls.__subclasses__())
    return found


_BY_STATUS: dict[int, type[EngramError]] = {
    400: InvalidInput, 401: errors.AuthError, 403: errors.Forbidden, 404: errors.NotFound,
    409: errors.Conflict, 413: errors.TextTooLong, 422: InvalidInput, 429: RateLimited,
    502: errors.ProviderError, 503: errors.StoreError, 507: errors.DiskFull,
}


def error_from(status: int, body: Any, headers: dict[str, str]) -> EngramError:
    """The :mod:`engram.errors` exception for a problem+json answer."""
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code") or "")
    detail = str(body.get("detail") or f"HTTP {status}")
    cls = _codes().get(code) or _BY_STATUS.get(status, EngramError)
    exc: EngramError
    if cls is RateLimited:
        exc = RateLimited(detail, int(float(headers.get("retry-after", "1") or 1)))
    elif cls is errors.ImportFormatError:
        exc = errors.ImportFormatError(detail, [(int(e.get("line", 0)), str(e.get("reason", "")))
                                                for e in body.get("errors") or []
                                                if isinstance(e, dict)])
    else:
        try:
            exc = cls(detail)
        except TypeError:
            exc = EngramError(detail)
    if code and code != exc.code:
        exc.code = code
    exc.status = status
    return exc


# -- arguments -> calls (no I/O) -------------------------------------------------------
def _scope(scope: Scope | None, user_id: str | None, agent_id: str | None,
           session_id: str | None) -> dict[str, str]:
    if scope is not None:
        user_id, agent_id, session_id = scope.user_id, scope.agent_id, scope.session_id
    return {k: v for k, v in (("user_id", user_id), ("agent_id", agent_id),
                              ("session_id", session_id)) if v is not None}


def _dt(value: datetime | None) -> str | None:
    return format_dt(value) if value is not None else None


def _message(m: Any, speaker: str | None, role: str | None) -> dict[str, Any]:
    if isinstance(m, str):
        m = {"text": m}
    elif isinstance(m, Message):
        m = {"text": m.text, "role": m.role, "speaker": m.speaker, "id": m.id,
             "occurred_at": m.occurred_at, "metadata": m.metadata}
    elif not isinstance(m, dict):
        raise InvalidInput("a message is a string, a dict or an engram.Message")
    out = {"text": m.get("text", m.get("content")), "role": m.get("role") or role,
           "speaker": m.get("speaker", m.get("name")) or speaker, "id": m.get("id"),
           "occurred_at": _dt(m["occurred_at"]) if isinstance(m.get("occurred_at"), datetime)
           else m.get("occurred_at"), "metadata": m.get("metadata") or None}
    return {k: v for k, v in out.items() if v is not None}


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class _Protocol:
    """Engram's methods as calls: arguments in, :class:`Call` out, nothing sent."""

    def add(self, messages: Any, *, scope: Scope | None = None, user_id: str | None = None,
            agent_id: str | None = None, session_id: str | None = None,
            occurred_at: datetime | None = None, metadata: dict[str, Any] | None = None,
            speaker: str | None = None, role: str | None = None,
            derive: bool | str = True) -> Call[AddResult]:
        msgs = messages if isinstance(messages, list) else [messages]
        mode = "sync" if derive is True else "none" if derive is False else derive
        return Call("POST", "/v1/messages", _add_result, json=_clean({
            **_scope(scope, user_id, agent_id, session_id),
            "messages": [_message(m, speaker, role) for m in msgs],
            "occurred_at": _dt(occurred_at), "metadata": metadata, "derive": mode}))

    def search(self, query: str, *, scope: Scope | None = None, user_id: str | None = None,
               agent_id: str | None = None, session_id: str | None = None, limit: int = 10,
               kinds: Iterable[str] | None = None, start: datetime | None = None,
               end: datetime | None = None, metadata: dict[str, Any] | None = None,
               as_of: datetime | None = None, preset: str | None = None) -> Call[list[Hit]]:
        return Call("POST", "/v1/search", _hits, json=_clean({
            **_scope(scope, user_id, agent_id, session_id), "query": query, "limit": limit,
            "kinds": [kinds] if isinstance(kinds, str) else
            builtins.list(kinds) if kinds is not None else None,
            "start": _dt(start), "end": _dt(end), "metadata": metadata,
            "as_of": _dt(as_of), "preset": preset}))

    def context(self, query: str, *, scope: Scope | None = None, user_id: str | None = None,
                agent_id: str | None = None, session_id: str | None = None,
                max_tokens: int = 1024, as_of: datetime | None = None,
                preset: str | None = None, include_flagged: bool = False
                ) -> Call[ContextBlock]:
        return Call("POST", "/v1/context", _context, json=_clean({
            **_scope(scope, user_id, agent_id, session_id), "query": query,
            "max_tokens": max_tokens, "as_of": _dt(as_of), "preset": preset,
            "include_flagged": include_flagged}))

    def get(self, item_id: str, *, scope: Scope | None = None, user_id: str | None = None,
            agent_id: str | None = None, session_id: str | None = None,
            as_of: datetime | None = None) -> Call[Memory | Episode]:
        return Call("GET", f"/v1/items/{_path(item_id)}",
                    lambda d: _item(d["item"], d["type"]),
                    params=_clean({**_scope(scope, user_id, agent_id, session_id),
                                   "as_of": _dt(as_of)}))

    def list(self, *, scope: Scope | None = None, user_id: str | None = None,
             agent_id: str | None = None, session_id: str | None = None,
             type: str = "memory", kinds: Iterable[str] | None = None, limit: int = 50,
             cursor: str | None = None, as_of: datetime | None = None,
             include_inactive: bool = False) -> Call[Page]:
        params: dict[str, Any] = _clean({**_scope(scope, user_id, agent_id, session_id),
                                         "type": type, "limit": limit, "as_of": _dt(as_of)})
        if kinds is not None:
            params["kinds"] = [kinds] if isinstance(kinds, str) else builtins.list(kinds)
        if cursor is not None:
            params["cursor"] = cursor
        if include_inactive:
            params["include_inactive"] = "true"
        return Call("GET", "/v1/memories", _page, params=params)

    def remember(self, text: str, *, scope: Scope | None = None, user_id: str | None = None,
                 agent_id: str | None = None, session_id: str | None = None,
                 kind: str = "note", valid_from: datetime | None = None,
                 valid_to: datetime | None = None, importance: float = 0.5,
                 metadata: dict[str, Any] | None = None) -> Call[Memory]:
        return Call("POST", "/v1/memories", Memory.from_dict, json=_clean({
            **_scope(scope, user_id, agent_id, session_id), "text": text, "kind": kind,
            "valid_from": _dt(valid_from), "valid_to": _dt(valid_to),
            "importance": importance, "metadata": metadata}))

    def update(self, memory_id: str, text: str | None = None, *, scope: Scope | None = None,
               user_id: str | None = None, agent_id: str | None = None,
               session_id: str | None = None, metadata: dict[str, Any] | None = None,
               importance: float | None = None, valid_to: datetime | None = None,
               reason: str = "updated by caller", expected_version: int | None = None
               ) -> Call[Memory]:
        return Call("PATCH", f"/v1/memories/{_path(memory_id)}", Memory.from_dict, json=_clean({
            **_scope(scope, user_id, agent_id, session_id), "text": text,
            "metadata": metadata, "importance": importance, "valid_to": _dt(valid_to),
            "reason": reason, "expected_version": expected_version}))

    def delete(self, memory_id: str, *, scope: Scope | None = None, user_id: str | None = None,
               agent_id: str | None = None, session_id: str | None = None,
               reason: str = "deleted by caller", expected_version: int | None = None
               ) -> Call[Memory]:
        return Call("DELETE", f"/v1/memories/{_path(memory_id)}", Memory.from_dict,
                    params=_clean({**_scope(scope, user_id, agent_id, session_id),
                                   "reason": reason, "expected_version": expected_version}))

    def delete_episode(self, episode_id: str, *, scope: Scope | None = None,
                       user_id: str | None = None, agent_id: str | None = None,
                       session_id: str | None = None) -> Call[EpisodeDeletion]:
        return Call("DELETE", f"/v1/episodes/{_path(episode_id)}", EpisodeDeletion.from_dict,
                    params=_scope(scope, user_id, agent_id, session_id))

    def history(self, memory_id: str, *, scope: Scope | None = None,
                user_id: str | None = None, agent_id: str | None = None,
                session_id: str | None = None) -> Call[builtins.list[MemoryVersion]]:
        return Call("GET", f"/v1/memories/{_path(memory_id)}/history",
                    lambda d: [MemoryVersion.from_dict(v) for v in d["versions"]],
                    params=_scope(scope, user_id, agent_id, session_id))

    def forget(self, *, scope: Scope | None = None, user_id: str | None = None,
               agent_id: str | None = None, session_id: str | None = None
               ) -> Call[ForgetReport]:
        return Call("POST", "/v1/forget", _forget,
                    json=_scope(scope, user_id, agent_id, session_id))

    def export_records(self, *, scope: Scope | None = None, user_id: str | None = None,
                       agent_id: str | None = None, session_id: str | None = None
                       ) -> Call[builtins.list[dict[str, Any]]]:
        return Call("GET", "/v1/export", _records, text=True,
                    params=_scope(scope, user_id, agent_id, session_id))

    def import_(self, source: IO[str] | Iterable[str], *, scope: Scope | None = None,
                user_id: str | None = None, agent_id: str | None = None
                ) -> Call[ImportReport]:
        lines = [line.rstrip("\n") for line in source]
        target = _scope(scope, user_id, agent_id, None)
        target.pop("session_id", None)
        return Call("POST", "/v1/import", lambda d: ImportReport(**d), params=target,
                    content="".join(line + "\n" for line in lines if line.strip()))

    def stats(self, *, scope: Scope | None = None, user_id: str | None = None,
              agent_id: str | None = None, session_id: str | None = None) -> Call[Stats]:
        return Call("GET", "/v1/stats", lambda d: Stats(**d),
                    params=_scope(scope, user_id, agent_id, session_id))

    def answer(self, question: str, *, scope: Scope | None = None, user_id: str | None = None,
               agent_id: str | None = None, session_id: str | None = None,
               max_tokens: int = 2048, as_of: datetime | None = None) -> Call[Any]:
        return Call("POST", "/v1/answer", _answer, json=_clean({
            **_scope(scope, user_id, agent_id, session_id), "question": question,
            "max_tokens": max_tokens, "as_of": _dt(as_of)}))


    def profile(self, *, scope: Scope | None = None, user_id: str | None = None,
                agent_id: str | None = None) -> Call[Any]:
        return Call("GET", "/v1/profile", _profile, params=_scope(scope, user_id, agent_id, None))

    def fill_form(self, fields: builtins.list[str], *, scope: Scope | None = None,
                  user_id: str | None = None, agent_id: str | None = None,
                  use_llm: bool | None = None) -> Call[Any]:
        return Call("POST", "/v1/form", _form, json=_clean({
            **_scope(scope, user_id, agent_id, None), "fields": fields, "use_llm": use_llm}))

    def draft_reply(self, message: str, *, scope: Scope | None = None,
                    user_id: str | None = None, agent_id: str | None = None,
                    use_llm: bool | None = None) -> Call[Any]:
        return Call("POST", "/v1/reply", _draft, json=_clean({
            **_scope(scope, user_id, agent_id, None), "message": message, "use_llm": use_llm}))


def _path(item_id: str) -> str:
    from urllib.parse import quote

    return quote(item_id, safe="")


_PROTO = _Protocol()


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _request_args(call: Call[Any]) -> dict[str, Any]:
    args: dict[str, Any] = {"params": call.params or None}
    if call.content is not None:
        args["content"] = call.content.encode("utf-8")
        args["headers"] = {"Content-Type": "application/x-ndjson"}
    elif call.json is not None:
        args["json"] = call.json
    return args


def _result(call: Call[T], resp: httpx.Response) -> T:
    if resp.status_code >= 400:
        try:
            body = resp.json()
        except ValueError:
            body = {"detail": resp.text[:500]}
        raise error_from(resp.status_code, body, dict(resp.headers))
    return call.parse(resp.text if call.text else resp.json())


def _sync(name: str) -> Callable[..., Any]:
    build = getattr(_Protocol, name)

    @functools.wraps(build)
    def method(self: Client, *args: Any, **kwargs: Any) -> Any:
        return self._send(build(_PROTO, *args, **kwargs))

    method.__annotations__ = {**build.__annotations__, "return": Any}
    return method


def _async(name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    build = getattr(_Protocol, name)

    @functools.wraps(build)
    async def method(self: AsyncClient, *args: Any, **kwargs: Any) -> Any:
        return await self._send(build(_PROTO, *args, **kwargs))

    method.__annotations__ = {**build.__annotations__, "return": Any}
    return method


class Client:
    """:class:`engram.Engram`'s API on a server: ``Client(url, api_key=...)``."""

    def __init__(self, url: str = "http://127.0.0.1:8420", api_key: str | None = None, *,
                 timeout: float = 60.0, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=_headers(api_key),
                                  timeout=timeout, transport=transport)

    add = _sync("add")
    search = _sync("search")
    context = _sync("context")
    get = _sync("get")
    list = _sync("list")
    remember = _sync("remember")
    update = _sync("update")
    delete = _sync("delete")
    delete_episode = _sync("delete_episode")
    history = _sync("history")
    forget = _sync("forget")
    export_records = _sync("export_records")
    import_ = _sync("import_")
    stats = _sync("stats")
    answer = _sync("answer")
    profile = _sync("profile")
    fill_form = _sync("fill_form")
    draft_reply = _sync("draft_reply")

    def _send(self, call: Call[T]) -> T:
        for attempt in itertools.count():
            outcome: httpx.Response | httpx.HTTPError
            try:
                outcome = self._http.request(call.method, call.path, **_request_args(call))
            except httpx.HTTPError as exc:
                outcome = exc
            wait = self.retry.next_wait(attempt, outcome)
            if wait is None:
                return _result(call, outcome)  # type: ignore[arg-type]
            time.sleep(wait)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """The same as :class:`Client`, awaited: ``async with AsyncClient(url, api_key=...)``."""

    def __init__(self, url: str = "http://127.0.0.1:8420", api_key: str | None = None, *,
                 timeout: float = 60.0, retry: RetryPolicy | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(base_url=url.rstrip("/"), headers=_headers(api_key),
                                       timeout=timeout, transport=transport)

    add = _async("add")
    search = _async("search")
    context = _async("context")
    get = _async("get")
    list = _async("list")
    remember = _async("remember")
    update = _async("update")
    delete = _async("delete")
    delete_episode = _async("delete_episode")
    history = _async("history")
    forget = _async("forget")
    export_records = _async("export_records")
    import_ = _async("import_")
    stats = _async("stats")
    answer = _async("answer")
    profile = _async("profile")
    fill_form = _async("fill_form")
    draft_reply = _async("draft_reply")

    async def _send(self, call: Call[T]) -> T:
        for attempt in itertools.count():
            outcome: httpx.Response | httpx.HTTPError
            try:
                outcome = await self._http.request(call.method, call.path,
                                                   **_request_args(call))
            except httpx.HTTPError as exc:
                outcome = exc
            wait = self.retry.next_wait(attempt, outcome)
            if wait is None:
                return _result(call, outcome)  # type: ignore[arg-type]
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
