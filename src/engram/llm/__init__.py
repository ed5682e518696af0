"""OpenAI-compatible LLM access: clients, settings, usage accounting, response cache.

Engram works without an LLM; when one is configured it is reached through
:class:`LLMClient` / :class:`AsyncLLMClient` (built from :class:`LLMSettings`
by :func:`build_client`). Errors are :class:`~engram.errors.ProviderError`
subclasses (see :mod:`engram.llm.errors`).
"""

from __future__ import annotations

from ._core import set_remote_requests_allowed
from .cache import ResponseCache
from .client import AsyncLLMClient, LLMClient
from .config import STAGES, LLMSettings, build_async_client, build_client, settings_from_config
from .errors import LLMError, LLMOutputError, LLMRequestError
from .types import LLMResponse, Price, StageUsage, Usage, UsageLedger, UsageTotals

__all__ = [
    "STAGES",
    "AsyncLLMClient",
    "LLMClient",
    "LLMError",
    "LLMOutputError",
    "LLMRequestError",
    "LLMResponse",
    "LLMSettings",
    "Price",
    "ResponseCache",
    "StageUsage",
    "Usage",
    "UsageLedger",
    "UsageTotals",
    "build_async_client",
    "build_client",
    "set_remote_requests_allowed",
    "settings_from_config",
]
