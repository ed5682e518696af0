"""The I/O-free core shared by :class:`LLMClient` and :class:`AsyncLLMClient`.

A chat call is a *plan*: a generator that yields effects and is sent back
their outcomes, so all decisions (request building, fallbacks, retries,
parsing, validation, caching, accounting) are written once and the sync and
async clients only perform the effects::

    HTTPCall   -> HTTPResult | TransportFailure
    Sleep      -> None
    CacheGet   -> dict | None
    CachePut   -> None

The plan returns an :class:`LLMResponse` or raises :class:`InvalidInput`
(before any effect), :class:`ConfigError`, or an :class:`LLMError`.

Policy, pinned:

* Transient failures (timeout, connection error, 408, 409, 429, 5xx) are
  retried up to ``max_retries`` times, waiting ``backoff_base * 2**(n-1)``
  seconds scaled by a random factor in [0.5, 1) ("equal jitter"), or exactly
  what ``Retry-After``/``retry-after-ms`` asks. A wait longer than
  ``max_retry_wait`` is not attempted: the call fails at once.
* A 400/422 naming an unsupported request feature makes the request
  simpler, without counting as a retry, and the client remembers it:
  ``response_format`` json_schema -> json_object -> prompt instructions;
  ``max_tokens`` -> ``max_completion_tokens``; a refused ``temperature`` is
  dropped. Other 4xx raise :class:`LLMRequestError` at once.
* With a schema, the first JSON value in the reply that fits it is used
  (fences, prose and quoted examples around it are tolerated). A reply
  with none is sent back with the problems of its first JSON value, up to
  ``output_retries`` times, then :class:`LLMOutputError`. A refusal or a
  reply cut by ``max_tokens`` fails at once (asking again would not help).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from ..errors import ConfigError, InvalidInput
from ._wire import (
    Completion,
    check_messages,
    error_message,
    feedback,
    parse_completion,
    refusal_text,
    retry_after,
    with_instruction,
)
from .cache import ResponseCache, request_key
from .errors import LLMError, LLMOutputError, LLMRequestError
from .parsing import JSONNotFound, iter_json
from .schema import check_schema, is_strict_compatible, validate
from .types import LLMResponse, Price, Usage, UsageLedger, lookup_price

__all__ = [
    "CacheGet",
    "CachePut",
    "ChatCore",
    "Effect",
    "HTTPCall",
    "HTTPResult",
    "Plan",
    "Sleep",
    "TransportFailure",
    "set_remote_requests_allowed",
]

FormatMode = Literal["json_schema", "json_object", "none"]
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_CANDIDATES = 8  # JSON values tried per reply before reporting the first one's errors
_RETRYABLE = frozenset({408, 409, 429})
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_remote_allowed = True


def set_remote_requests_allowed(allowed: bool) -> bool:
    """Allow or forbid requests to non-loopback hosts; returns the previous setting.

    Test suites call ``set_remote_requests_allowed(False)`` so that no test
    can reach a real, paid LLM: a call to any host but localhost then raises
    :class:`ConfigError` before sending anything.
    """
    global _remote_allowed
    previous, _remote_allowed = _remote_allowed, allowed
    return previous


@dataclass(frozen=True)
class HTTPCall:
    """POST ``body`` as JSON to ``url`` (headers/params/timeout are the client's)."""

    url: str
    body: dict[str, Any]


@dataclass(frozen=True)
class HTTPResult:
    status: int
    headers: Mapping[str, str]  # lower-case names
    text: str


@dataclass(frozen=True)
class TransportFailure:
    """No HTTP response: ``kind`` is ``"timeout"``, ``"connection"`` or ``"protocol"``."""

    kind: str
    detail: str


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class CacheGet:
    key: str


@dataclass(frozen=True)
class CachePut:
    key: str
    value: dict[str, Any]
    model: str


Effect = HTTPCall | Sleep | CacheGet | CachePut
Plan = Generator[Effect, Any, LLMResponse]


@dataclass
class _Call:
    """Mutable state of one chat call."""

    stage: str
    schema: dict[str, Any] | None
    schema_name: str
    temperature: float | None
    max_tokens: int | None
    format: FormatMode
    token_param: str
    send_temperature: bool
    attempts: int = 0
    status: int | None = None
    usage: Usage = field(default_factory=Usage)
    model: str | None = None


class ChatCore:
    """Settings, sticky server quirks and the plan of a chat call; no I/O."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None,
        max_retries: int,
        backoff_base: float,
        output_retries: int,
        max_retry_wait: float,
        extra_headers: Mapping[str, str] | None,
        prices: Mapping[str, Price] | None,
        stage: str,
        ledger: UsageLedger | None,
        cache: ResponseCache | None,
        rng: random.Random | None = None,
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(f"LLM base_url must be an http(s) URL, got {base_url!r}")
        if not model or not model.strip():
            raise ConfigError("LLM model name is empty")
        if max_retries < 0 or output_retries < 0 or backoff_base < 0 or max_retry_wait < 0:
            raise ConfigError("LLM retry settings must be non-negative")
        path = parts.path.rstrip("/")
        self.base_url = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self.path = path + "/chat/completions"
        self.url = self.base_url + "/chat/completions"
        self.host = parts.hostname
        self.params = dict(parse_qsl(parts.query))
        self.headers = {"Accept": "application/json", **(extra_headers or {})}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.model = model.strip()
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.output_retries = output_retries
        self.max_retry_wait = max_retry_wait
        self.prices: dict[str, Price] = dict(prices or {})
        self.stage = stage
        self.ledger = ledger if ledger is not None else UsageLedger()
        self.cache = cache
        self._rng = rng or random.Random()
        # Server quirks learnt from 400 answers; shared by later calls.
        self._format: FormatMode = "json_schema"
        self._token_param = "max_tokens"
        self._send_temperature = True

    # -- the plan ---------------------------------------------------------

    def chat_plan(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        json_schema: Mapping[str, Any] | None,
        schema_name: str,
        temperature: float | None,
        max_tokens: int | None,
        stage: str | None,
    ) -> Plan:
        """Check the arguments now, then return the plan (see the module docstring)."""
        base = check_messages(messages)
        schema = dict(json_schema) if json_schema is not None else None
        if schema is not None:
            check_schema(schema)
            if not _SCHEMA_NAME.match(schema_name):
                raise InvalidInput("schema_name must be 1-64 letters, digits, '_' or '-'")
        if temperature is not None and (
            isinstance(temperature, bool) or not isinstance(temperature, int | float)
        ):
            raise InvalidInput("temperature must be a number or None")
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
        ):
            raise InvalidInput("max_tokens must be a positive integer or None")
        try:
            json.dumps([base, schema], allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"messages and schema must be plain JSON data: {exc}") from None
        if not _remote_allowed and self.host not in _LOOPBACK and not self.host.startswith("127."):
            raise ConfigError(f"requests to {self.host} are disabled (remote requests forbidden)")
        call = _Call(
            stage=stage or self.stage,
            schema=schema,
            schema_name=schema_name,
            temperature=temperature,
            max_tokens=max_tokens,
            format=self._format,
            token_param=self._token_param,
            send_temperature=self._send_temperature,
        )
        return self._plan(base, call)

    def _plan(self, base: list[dict[str, Any]], call: _Call) -> Plan:
        key = None
        if self.cache is not None:
            key = request_key(
                {
                    "path": self.path,
                    "model": self.model,
                    "messages": base,
                    "schema": call.schema,
                    "schema_name": call.schema_name if call.schema is not None else None,
                    "temperature": call.temperature,
                    "max_tokens": call.max_tokens,
                }
            )
            hit = self._from_cache((yield CacheGet(key)), call)
            if hit is not None:
                self.ledger.record(call.stage, Usage(), 0.0, requests=0, cached=True)
                return hit
        try:
            response = yield from self._converse(base, call)
        except LLMError:
            cost = self._cost(call.usage, call.model)
            self.ledger.record(call.stage, call.usage, cost, requests=call.attempts, failed=True)
            raise
        self.ledger.record(call.stage, response.usage, response.cost, requests=call.attempts)
        if key is not None:
            value = {
                "text": response.text,
                "data": response.data,
                "model": response.model,
                "finish_reason": response.finish_reason,
            }
            yield CachePut(key, value, response.model)
        return response

    def _converse(self, base: list[dict[str, Any]], call: _Call) -> Plan:
        turns: list[dict[str, Any]] = []
        problems_seen: list[str] = []
        while True:
            result = yield from self._send(call, base, turns)
            reply = parse_completion(result.text, status=result.status, attempts=call.attempts)
            call.usage = call.usage + reply.usage
            call.model = reply.model or call.model
            if call.schema is None:
                return self._response(call, reply, None)
            if reply.refusal:
                raise LLMOutputError(
                    f"the model refused: {reply.refusal}",
                    last_text=reply.refusal,
                    errors=[*problems_seen, "refusal"],
                    status=call.status,
                    attempts=call.attempts,
                )
            want: Literal["object", "array"] = (
                "array" if call.schema.get("type") == "array" else "object"
            )
            problems: list[str] | None = None
            try:
                for candidate in islice(iter_json(reply.text, want), _MAX_CANDIDATES):
                    errors = validate(candidate, call.schema)
                    if not errors:
                        return self._response(call, reply, candidate)
                    problems = problems or errors
            except JSONNotFound as exc:
                problems = [str(exc)]
            summary = "; ".join((problems or ["no JSON value"])[:8])
            problems_seen.append(summary)
            if reply.finish_reason == "length":
                raise LLMOutputError(
                    f"the reply was cut at max_tokens before the JSON was complete ({summary})",
                    last_text=reply.text,
                    errors=problems_seen,
                    status=call.status,
                    attempts=call.attempts,
                )
            if len(problems_seen) > self.output_retries:
                raise LLMOutputError(
                    f"no valid JSON after {len(problems_seen)} replies; last: {summary}",
                    last_text=reply.text,
                    errors=problems_seen,
                    status=call.status,
                    attempts=call.attempts,
                )
            turns = [
                *turns,
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": feedback(summary, call.schema)},
            ]

    def _send(
        self, call: _Call, base: list[dict[str, Any]], turns: list[dict[str, Any]]
    ) -> Generator[Effect, Any, HTTPResult]:
        """One accepted HTTP exchange: adapts to refused features, retries transients."""
        failures = 0
        while True:
            call.attempts += 1
            outcome = yield HTTPCall(self.url, self._body(call, base, turns))
            wait_hint: float | None = None
            if isinstance(outcome, TransportFailure):
                call.status = None
                reason = f"{outcome.kind} error: {outcome.detail}"
            else:
                call.status = outcome.status
                if 200 <= outcome.status < 300:
                    accepted: HTTPResult = outcome
                    return accepted
                message = error_message(outcome.text)
                if outcome.status in (400, 422) and self._adapt(call, message):
                    continue
                if outcome.status in _RETRYABLE or outcome.status >= 500:
                    reason = f"HTTP {outcome.status}: {message}"
                    wait_hint = retry_after(outcome.headers)
                else:
                    raise LLMRequestError(
                        refusal_text(outcome.status, message, self.url, self.model),
                        status=outcome.status,
                        attempts=call.attempts,
                    )
            if failures >= self.max_retries:
                raise LLMError(
                    f"LLM request failed after {call.attempts} attempts: {reason}",
                    status=call.status,
                    attempts=call.attempts,
                )
            failures += 1
            if wait_hint is not None and wait_hint > self.max_retry_wait:
                raise LLMError(
                    f"LLM server asks to wait {wait_hint:.0f}s before retrying "
                    f"(more than max_retry_wait={self.max_retry_wait:.0f}s): {reason}",
                    status=call.status,
                    attempts=call.attempts,
                )
            yield Sleep(wait_hint if wait_hint is not None else self._backoff(failures))

    # -- helpers ----------------------------------------------------------

    def _body(
        self, call: _Call, base: list[dict[str, Any]], turns: list[dict[str, Any]]
    ) -> dict[str, Any]:
        messages = base
        if call.schema is not None and call.format != "json_schema":
            messages = with_instruction(base, call.schema)
        body: dict[str, Any] = {"model": self.model, "messages": [*messages, *turns]}
        if call.temperature is not None and call.send_temperature:
            body["temperature"] = call.temperature
        if call.max_tokens is not None:
            body[call.token_param] = call.max_tokens
        if call.schema is not None and call.format == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": call.schema_name,
                    "schema": call.schema,
                    "strict": is_strict_compatible(call.schema),
                },
            }
        elif call.schema is not None and call.format == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    def _adapt(self, call: _Call, message: str) -> bool:
        """Simplify the request after a 400/422 naming a feature; False if none applies."""
        text = message.lower()
        if (
            call.max_tokens is not None
            and call.token_param == "max_tokens"
            and "max_completion_tokens" in text
        ):
            call.token_param = self._token_param = "max_completion_tokens"
            return True
        if (
            call.temperature is not None
            and call.send_temperature
            and "temperature" in text
            and any(w in text for w in ("unsupported", "not support", "only the default"))
        ):
            call.send_temperature = self._send_temperature = False
            return True
        if (
            call.schema is not None
            and call.format != "none"
            and ("response_format" in text or "json_schema" in text or "json_object" in text)
        ):
            call.format = "json_object" if call.format == "json_schema" else "none"
            self._format = call.format
            return True
        return False

    def _backoff(self, failures: int) -> float:
        delay = self.backoff_base * 2.0 ** (failures - 1)
        return min(self.max_retry_wait, delay * (0.5 + self._rng.random() / 2))

    def _cost(self, usage: Usage, served: str | None) -> float | None:
        price = lookup_price(self.prices, self.model, served)
        return price.cost(usage) if price is not None else None

    def _response(self, call: _Call, reply: Completion, data: Any) -> LLMResponse:
        return LLMResponse(
            text=reply.text,
            data=data,
            usage=call.usage,
            cost=self._cost(call.usage, call.model),
            model=call.model or self.model,
            cached=False,
            attempts=call.attempts,
            finish_reason=reply.finish_reason,
            stage=call.stage,
        )

    def _from_cache(self, value: dict[str, Any] | None, call: _Call) -> LLMResponse | None:
        if value is None or not isinstance(value.get("text"), str):
            return None
        data = value.get("data")
        if call.schema is not None and (data is None or validate(data, call.schema)):
            return None
        return LLMResponse(
            text=value["text"],
            data=data if call.schema is not None else None,
            usage=Usage(),
            cost=0.0,
            model=str(value.get("model") or self.model),
            cached=True,
            attempts=0,
            finish_reason=value.get("finish_reason"),
            stage=call.stage,
        )
