"""Engram: long-term memory for LLM agents.

>>> from engram import Engram
>>> with Engram("memory.db") as eg:                       # doctest: +SKIP
...     eg.add("I moved to Lisbon in March", user_id="ana")
...     eg.search("where does ana live?", user_id="ana")

Names are imported on first access (PEP 562 ``__getattr__``), so ``import engram``
(and so ``engram --version``) loads neither numpy nor the engine; ``from engram
import Engram`` works as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .aio import AsyncEngram
    from .client import AsyncClient, Client
    from .config import Config, resolve_config
    from .engine import Engram
    from .errors import (
        AuthError,
        ConfigError,
        Conflict,
        DateOutOfRange,
        EngramError,
        ImportFormatError,
        InvalidInput,
        MissingDependency,
        ModelMismatch,
        NaiveDatetime,
        NotFound,
        ProviderError,
        ScopeRequired,
        StoreError,
        TextTooLong,
    )
    from .ingest.erase import EpisodeDeletion
    from .models import (
        AddResult,
        ContextBlock,
        Episode,
        ForgetReport,
        Hit,
        Memory,
        MemoryKind,
        MemoryStatus,
        MemoryVersion,
        Message,
        Operation,
        Page,
        Scope,
        SearchFilters,
        Stats,
    )
    from .retrieval.config import PRESETS, RetrievalConfig

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    "AsyncEngram": ".aio",
    "AsyncClient": ".client",
    "Client": ".client",
    "Config": ".config",
    "resolve_config": ".config",
    "Engram": ".engine",
    "AuthError": ".errors",
    "ConfigError": ".errors",
    "Conflict": ".errors",
    "DateOutOfRange": ".errors",
    "EngramError": ".errors",
    "ImportFormatError": ".errors",
    "InvalidInput": ".errors",
    "MissingDependency": ".errors",
    "ModelMismatch": ".errors",
    "NaiveDatetime": ".errors",
    "NotFound": ".errors",
    "ProviderError": ".errors",
    "ScopeRequired": ".errors",
    "StoreError": ".errors",
    "TextTooLong": ".errors",
    "EpisodeDeletion": ".ingest.erase",
    "AddResult": ".models",
    "ContextBlock": ".models",
    "Episode": ".models",
    "ForgetReport": ".models",
    "Hit": ".models",
    "Memory": ".models",
    "MemoryKind": ".models",
    "MemoryStatus": ".models",
    "MemoryVersion": ".models",
    "Message": ".models",
    "Operation": ".models",
    "Page": ".models",
    "Scope": ".models",
    "SearchFilters": ".models",
    "Stats": ".models",
    "PRESETS": ".retrieval.config",
    "RetrievalConfig": ".retrieval.config",
}


__all__ = [
    "PRESETS",
    "AddResult",
    "AsyncClient",
    "AsyncEngram",
    "AuthError",
    "Client",
    "Config",
    "ConfigError",
    "Conflict",
    "ContextBlock",
    "DateOutOfRange",
    "Engram",
    "EngramError",
    "Episode",
    "EpisodeDeletion",
    "ForgetReport",
    "Hit",
    "ImportFormatError",
    "InvalidInput",
    "Memory",
    "MemoryKind",
    "MemoryStatus",
    "MemoryVersion",
    "Message",
    "MissingDependency",
    "ModelMismatch",
    "NaiveDatetime",
    "NotFound",
    "Operation",
    "Page",
    "ProviderError",
    "RetrievalConfig",
    "Scope",
    "ScopeRequired",
    "SearchFilters",
    "Stats",
    "StoreError",
    "TextTooLong",
    "__version__",
    "resolve_config",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and cache the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
