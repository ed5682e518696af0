"""OpenAI-compatible chat clients: :class:`LLMClient` (sync) and :class:`AsyncLLMClient`.

Both speak ``POST {base_url}/chat/completions`` as served by OpenAI, Azure
OpenAI (v1 API), Ollama, vLLM, llama.cpp server and LM Studio. All behaviour
lives in the I/O-free :class:`~engram.llm._core.ChatCore`; the two classes
here only perform its effects (HTTP with httpx, sleeping, cache access), so
they behave identically. See ``_core`` for the retry and fallback policy.

Example::

    client = LLMClient("http://localhost:11434/v1", "qwen2.5:7b")
    reply = client.chat(
        [{"role": "user", "content": "Name a colour."}],
        json_schema={"type": "object", "properties": {"colour": {"type": "string"}},
                     "required": ["colour"], "additionalProperties": False},
    )
    reply.data["colour"], reply.usage.total, client.usage.total.total_tokens
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from ._core import (
    CacheGet,
    CachePut,
    ChatCore,
    Effect,
    HTTPCall,
    HTTPResult,
    Plan,
    Sleep,
    TransportFailure,
)
from .cache import ResponseCache
from .types import LLMResponse, Price, UsageLedger, UsageTotals

__all__ = ["AsyncLLMClient", "LLMClient"]


class _BaseClient:
    """Construction and read-only state shared by both clients.

    Arguments (all but the first two are optional):

    * ``base_url``: the OpenAI-compatible root, e.g. ``https://api.openai.com/v1``;
      a query string (Azure ``api-version``) is sent with every request.
    * ``model``: model name sent in each request.
    * ``api_key``: sent as ``Authorization: Bearer``; omit for local servers
      (Azure keys go in ``extra_headers={"api-key": ...}``).
    * ``timeout``: seconds for connect, read and write, each.
    * ``max_retries``: retries of transient failures per HTTP exchange.
    * ``cache_dir``: directory of the response cache (``None``: no cache).
    * ``cache``: an open :class:`ResponseCache` to use instead (shared by
      several clients, one connection; the caller closes it).
    * ``backoff_base``: first retry wait in seconds (doubles, with jitter).
    * ``output_retries``: re-asks when the JSON is malformed or invalid.
    * ``max_retry_wait``: longest wait honoured (``Retry-After`` included).
    * ``prices``: ``{model: Price}`` in USD per million tokens, for ``cost``.
    * ``stage``: stage name used when ``chat`` gets none (usage is per stage).
    * ``ledger``: a :class:`UsageLedger` to share totals between clients.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        cache_dir: str | Path | None = None,
        backoff_base: float = 0.5,
        extra_headers: Mapping[str, str] | None = None,
        *,
        output_retries: int = 2,
        max_retry_wait: float = 60.0,
        prices: Mapping[str, Price] | None = None,
        stage: str = "default",
        ledger: UsageLedger | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        if cache is not None and cache_dir is not None:
            raise ValueError("pass cache_dir or cache, not both")
        self._owns_cache = cache is None and cache_dir is not None
        if self._owns_cache:
            cache = ResponseCache(cache_dir)  # type: ignore[arg-type]
        self._core = ChatCore(
            base_url,
            model,
            api_key=api_key,
            max_retries=max_retries,
            backoff_base=backoff_base,
            output_retries=output_retries,
            max_retry_wait=max_retry_wait,
            extra_headers=extra_headers,
            prices=prices,
            stage=stage,
            ledger=ledger,
            cache=cache,
        )
        self.timeout = timeout
        self._open_http()

    def _open_http(self) -> None:
        raise NotImplementedError

    def _tls(self) -> ssl.SSLContext | bool:
        """TLS context: none for a plain-http server (local Ollama, vLLM...: no CA
        bundle load), else one default verifying context shared by all clients."""
        return _tls_context() if self._core.base_url.startswith("https:") else False

    @property
    def model(self) -> str:
        return self._core.model

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def usage(self) -> UsageTotals:
        """Cumulative usage per stage (a snapshot); ``client.usage.total`` sums them."""
        return self._core.ledger.snapshot()

    @property
    def ledger(self) -> UsageLedger:
        return self._core.ledger

    def _plan(
        self,
        messages: Sequence[Mapping[str, Any]],
        json_schema: Mapping[str, Any] | None,
        schema_name: str,
        temperature: float | None,
        max_tokens: int | None,
        stage: str | None,
    ) -> Plan:
        return self._core.chat_plan(
            messages,
            json_schema=json_schema,
            schema_name=schema_name,
            temperature=temperature,
            max_tokens=max_tokens,
            stage=stage,
        )

    def _cache(self) -> ResponseCache:
        assert self._core.cache is not None  # a cache effect implies a cache
        return self._core.cache

    def _close_cache(self) -> None:
        if self._owns_cache and self._core.cache is not None:
            self._core.cache.close()


class LLMClient(_BaseClient):
    """Synchronous client; thread-safe (httpx pools connections across threads)."""

    _http: httpx.Client

    def _open_http(self) -> None:
        self._http = httpx.Client(
            headers=self._core.headers,
            params=self._core.params,
            timeout=self.timeout,
            verify=self._tls(),
        )

    def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        json_schema: Mapping[str, Any] | None = None,
        schema_name: str = "result",
        temperature: float | None = 0.0,
        max_tokens: int | None = None,
        stage: str | None = None,
    ) -> LLMResponse:
        """Send ``messages`` and return the reply.

        With ``json_schema``, ``LLMResponse.data`` is the parsed reply, valid
        against the schema, or :class:`LLMOutputError` is raised. Invalid
        arguments raise :class:`~engram.errors.InvalidInput` before any request.
        """
        plan = self._plan(messages, json_schema, schema_name, temperature, max_tokens, stage)
        outcome: Any = None
        try:
            while True:
                outcome = self._perform(plan.send(outcome))
        except StopIteration as done:
            result: LLMResponse = done.value
            return result
        finally:
            plan.close()

    def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, HTTPCall):
            try:
                return _result(self._http.post(effect.url, json=effect.body))
            except httpx.HTTPError as exc:
                return _failure(exc)
        if isinstance(effect, Sleep):
            self._sleep(effect.seconds)
            return None
        if isinstance(effect, CacheGet):
            return self._cache().get(effect.key)
        if isinstance(effect, CachePut):
            self._cache().put(effect.key, effect.value, model=effect.model)
            return None
        raise TypeError(f"unknown effect {effect!r}")

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> None:
        self._http.close()
        self._close_cache()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncLLMClient(_BaseClient):
    """Asynchronous client; same arguments and behaviour as :class:`LLMClient`.

    Use it from one event loop (httpx's async pool is bound to it); cache
    reads and writes run in a worker thread.
    """

    _http: httpx.AsyncClient

    def _open_http(self) -> None:
        self._http = httpx.AsyncClient(
            headers=self._core.headers,
            params=self._core.params,
            timeout=self.timeout,
            verify=self._tls(),
        )

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        json_schema: Mapping[str, Any] | None = None,
        schema_name: str = "result",
        temperature: float | None = 0.0,
        max_tokens: int | None = None,
        stage: str | None = None,
    ) -> LLMResponse:
        """See :meth:`LLMClient.chat`."""
        plan = self._plan(messages, json_schema, schema_name, temperature, max_tokens, stage)
        outcome: Any = None
        try:
            while True:
                outcome = await self._perform(plan.send(outcome))
        except StopIteration as done:
            result: LLMResponse = done.value
            return result
        finally:
            plan.close()

    async def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, HTTPCall):
            try:
                return _result(await self._http.post(effect.url, json=effect.body))
            except httpx.HTTPError as exc:
                return _failure(exc)
        if isinstance(effect, Sleep):
            await self._sleep(effect.seconds)
            return None
        if isinstance(effect, CacheGet):
            return await asyncio.to_thread(self._cache().get, effect.key)
        if isinstance(effect, CachePut):
            await asyncio.to_thread(self._cache().put, effect.key, effect.value, model=effect.model)
            return None
        raise TypeError(f"unknown effect {effect!r}")

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def aclose(self) -> None:
        await self._http.aclose()
        self._close_cache()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once (loading CA certificates is slow)."""
    return httpx.create_ssl_context()


def _result(response: httpx.Response) -> HTTPResult:
    return HTTPResult(
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        text=response.text,
    )


def _failure(exc: httpx.HTTPError) -> TransportFailure:
    """Map an httpx error to a retryable transport failure (the boundary)."""
    if isinstance(exc, httpx.TimeoutException):
        kind = "timeout"
    elif isinstance(exc, httpx.TransportError):
        kind = "connection"
    else:
        kind = "protocol"
    name = type(exc).__name__
    return TransportFailure(kind, f"{name}: {exc}" if str(exc) else name)
