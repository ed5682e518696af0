"""Embeddings from any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint.

Works with OpenAI, Ollama (``http://localhost:11434/v1``), vLLM, llama.cpp
server and Hugging Face TEI. Requests go out in batches; 429, 5xx, timeouts
and connection failures are retried with exponential backoff (honouring
``Retry-After``); every failure that is left becomes
:class:`~engram.errors.ProviderError`. Returned vectors are L2-normalised
here, whatever the server sends.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from ..errors import ConfigError, ProviderError
from .base import Embedder, InputType
from .onnx_minilm import _check_texts

if TYPE_CHECKING:
    import httpx

__all__ = ["OpenAICompatEmbedder"]

_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAICompatEmbedder(Embedder):
    """Embedder backed by an OpenAI-compatible HTTP API.

    * ``model``: the server's model name (``text-embedding-3-small``,
      ``nomic-embed-text``...).
    * ``base_url``: the API root including ``/v1``; requests go to
      ``{base_url}/embeddings``.
    * ``api_key``: sent as ``Authorization: Bearer``; never read from the
      environment here (configuration resolves it).
    * ``dimensions``: asks the server for shorter vectors (only some support it).
    * ``timeout``: seconds per request; ``max_retries`` extra attempts after
      the first, waiting ``backoff * 2**attempt`` seconds (at most
      ``max_backoff``, or the server's ``Retry-After`` within that cap).
    * ``query_prefix`` / ``document_prefix``: prepended to the text per
      ``input_type`` (e.g. ``"search_query: "`` for nomic-embed-text).
    * ``transport``: an ``httpx`` transport (tests, proxies).

    ``model_id`` is ``"openai:<model>@<host[:port]>"`` plus ``"#<dimensions>"``
    when ``dimensions`` is set. ``dim`` is ``dimensions`` when given, otherwise
    learnt from the first response (reading it before any call sends one
    probe request). Empty strings are sent as a single space (OpenAI rejects
    empty input). Token counts are estimates.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        dimensions: int | None = None,
        timeout: float = 30.0,
        batch_size: int = 64,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        query_prefix: str = "",
        document_prefix: str = "",
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not model:
            raise ConfigError(
                "an embedding model name is required (e.g. 'openai:nomic-embed-text')"
            )
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"base_url must be an http(s) URL, got {base_url!r}")
        if dimensions is not None and dimensions < 1:
            raise ConfigError(f"dimensions must be >= 1, got {dimensions}")
        if batch_size < 1 or max_retries < 0 or timeout <= 0 or backoff < 0:
            raise ConfigError("batch_size >= 1, max_retries >= 0, timeout > 0, backoff >= 0")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.dimensions = dimensions
        self.timeout = timeout
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.prefixes = {"query": query_prefix, "document": document_prefix}
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.model_id = f"openai:{model}@{host}" + (f"#{dimensions}" if dimensions else "")
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._transport = transport
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self._dim: int | None = dimensions
        self._sleep: Callable[[float], None] = time.sleep

    @property
    def dim(self) -> int:  # type: ignore[override]
        if self._dim is None:
            self.embed(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        """Embed ``texts`` in batches of ``batch_size`` requests, in input order."""
        items = _check_texts(texts, input_type)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = self.prefixes[input_type]
        items = [(prefix + t) or " " for t in items]
        parts = [
            self._embed_batch(items[i : i + self.batch_size])
            for i in range(0, len(items), self.batch_size)
        ]
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def _embed_batch(self, batch: list[str]) -> np.ndarray:
        payload: dict[str, Any] = {"model": self.model, "input": batch}
        if self.dimensions is not None:
            payload["dimensions"] = self.dimensions
        body = self._post(payload)
        return self._parse(body, len(batch))

    def _post(self, payload: dict[str, Any]) -> Any:
        import httpx

        client = self._get_client()
        url = f"{self.base_url}/embeddings"
        last = ""
        for attempt in range(self.max_retries + 1):
            wait = min(self.max_backoff, self.backoff * 2**attempt)
            try:
                resp = client.post(url, json=payload)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout:g}s"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code < 400:
                    try:
                        return resp.json()
                    except ValueError as exc:
                        raise ProviderError(f"{self._where()} returned invalid JSON") from exc
                detail = _error_detail(resp)
                if resp.status_code not in _RETRY_STATUS:
                    raise ProviderError(f"{self._where()} answered HTTP {resp.status_code}{detail}")
                last = f"HTTP {resp.status_code}{detail}"
                wait = _retry_after(resp, wait, self.max_backoff)
            if attempt < self.max_retries:
                self._sleep(wait)
        raise ProviderError(f"{self._where()} failed after {self.max_retries + 1} attempts: {last}")

    def _parse(self, body: Any, expected: int) -> np.ndarray:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or len(data) != expected:
            got = len(data) if isinstance(data, list) else "no"
            raise ProviderError(f"{self._where()} returned {got} embeddings for {expected} inputs")
        try:
            rows = sorted(data, key=lambda d: int(d.get("index", 0)))
            if len({int(d.get("index", 0)) for d in data}) != expected:
                rows = data  # servers without distinct indexes answer in order
            vecs = np.asarray([d["embedding"] for d in rows], dtype=np.float32)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"{self._where()} returned malformed embeddings: {exc}") from exc
        if vecs.ndim != 2 or vecs.shape[1] == 0:
            raise ProviderError(f"{self._where()} returned embeddings of uneven length")
        if self._dim is None:
            self._dim = int(vecs.shape[1])
        if vecs.shape[1] != self._dim:
            raise ProviderError(
                f"{self._where()} returned {vecs.shape[1]}-d vectors, expected {self._dim}"
            )
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0):
            raise ProviderError(f"{self._where()} returned a zero or non-finite vector")
        unit: np.ndarray = vecs / norms
        return unit

    def _get_client(self) -> httpx.Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import httpx

                    self._client = httpx.Client(
                        headers=self._headers,
                        timeout=self.timeout,
                        transport=self._transport,
                        trust_env=False,
                    )
        return self._client

    def _where(self) -> str:
        return f"embedding provider {self.model_id}"

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __repr__(self) -> str:
        return f"OpenAICompatEmbedder(model_id={self.model_id!r})"


def _error_detail(resp: httpx.Response) -> str:
    """A short server message from an error response, for the exception text."""
    try:
        body = resp.json()
    except ValueError:
        text = resp.text.strip()
        return f": {text[:200]}" if text else ""
    err = body.get("error") if isinstance(body, dict) else None
    msg = err.get("message") if isinstance(err, dict) else err
    return f": {str(msg)[:200]}" if msg else ""


def _retry_after(resp: httpx.Response, default: float, cap: float) -> float:
    value = resp.headers.get("Retry-After")
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    return min(cap, seconds) if math.isfinite(seconds) and seconds >= 0 else default
