"""LLM settings and the factory that turns them into a client for a stage.

Stages are the places Engram calls a model: ``"extract"`` (memories from
episodes), ``"consolidate"`` (add/update/supersede decisions) and
``"answer"``. Each may use its own model (``stage_models``); everything else
is shared. Nothing here reads the environment: the caller resolves settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import ConfigError
from .client import AsyncLLMClient, LLMClient
from .types import Price, UsageLedger

__all__ = [
    "STAGES",
    "LLMSettings",
    "build_async_client",
    "build_client",
    "settings_from_config",
]

STAGES = ("extract", "consolidate", "answer")


@dataclass(frozen=True)
class LLMSettings:
    """Where and how to reach an OpenAI-compatible chat completions server.

    ``stage_models`` maps a stage name to the model it uses instead of
    ``model``, e.g. ``{"answer": "gpt-4o"}``. ``api_key`` is kept out of
    ``repr``.
    """

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    stage_models: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    max_retries: int = 3
    output_retries: int = 2
    backoff_base: float = 0.5
    max_retry_wait: float = 60.0
    cache_dir: str | Path | None = None
    extra_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    prices: Mapping[str, Price] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.base_url:
            raise ConfigError("LLM base_url is empty")
        if not self.model:
            raise ConfigError("LLM model is empty")
        for stage, name in self.stage_models.items():
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"LLM model for stage {stage!r} is empty")
        if self.timeout <= 0:
            raise ConfigError("LLM timeout must be positive")

    def model_for(self, stage: str) -> str:
        """The model of ``stage``: its override, else ``model``."""
        return self.stage_models.get(stage, self.model)


def settings_from_config(config: Config) -> LLMSettings | None:
    """The LLM settings of an Engram :class:`~engram.config.Config`.

    ``None`` when no LLM is configured (``llm_base_url`` or ``llm_model``
    unset): Engram then runs without one. Half a configuration (a URL
    without a model, or the reverse) raises :class:`ConfigError`.
    """
    if not config.llm_base_url and not config.llm_model:
        return None
    if not config.llm_base_url or not config.llm_model:
        missing = "llm_model" if config.llm_base_url else "llm_base_url"
        raise ConfigError(f"LLM configuration incomplete: {missing} is not set")
    return LLMSettings(
        base_url=config.llm_base_url,
        model=config.llm_model,
        api_key=config.llm_api_key,
        stage_models=dict(config.llm_stage_models),
        timeout=config.llm_timeout,
        cache_dir=config.llm_cache_dir,
    )


def build_client(
    settings: LLMSettings, stage: str = "default", *, ledger: UsageLedger | None = None
) -> LLMClient:
    """A sync client using ``stage``'s model; its calls count under ``stage``."""
    return LLMClient(**_client_args(settings, stage, ledger))


def build_async_client(
    settings: LLMSettings, stage: str = "default", *, ledger: UsageLedger | None = None
) -> AsyncLLMClient:
    """The async twin of :func:`build_client`."""
    return AsyncLLMClient(**_client_args(settings, stage, ledger))


def _client_args(settings: LLMSettings, stage: str, ledger: UsageLedger | None) -> dict[str, Any]:
    return {
        "base_url": settings.base_url,
        "model": settings.model_for(stage),
        "api_key": settings.api_key,
        "timeout": settings.timeout,
        "max_retries": settings.max_retries,
        "cache_dir": settings.cache_dir,
        "backoff_base": settings.backoff_base,
        "extra_headers": settings.extra_headers,
        "output_retries": settings.output_retries,
        "max_retry_wait": settings.max_retry_wait,
        "prices": settings.prices,
        "stage": stage,
        "ledger": ledger,
    }
