"""Engram: long-term memory for LLM agents.

>>> from engram import Engram
>>> with Engram("memory.db") as eg:                       # doctest: +SKIP
...     eg.add("I moved to Lisbon in March", user_id="ana")
...     eg.search("where does ana live?", user_id="ana")
"""

from __future__ import annotations

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
