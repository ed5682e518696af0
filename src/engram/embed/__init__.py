"""Text embedders: the contract, the built-in providers and their registry.

``get_embedder("default")`` gives the offline all-MiniLM-L6-v2 int8 ONNX
embedder; ``get_embedder("openai:<model>", base_url=..., api_key=...)`` any
OpenAI-compatible server. Heavy imports (onnxruntime, httpx) happen on first use.
"""

from __future__ import annotations

from .base import Embedder, InputType
from .cache import CachedEmbedder, CacheInfo, content_hash
from .onnx_minilm import OnnxMiniLM
from .openai_compat import OpenAICompatEmbedder
from .registry import (
    DEFAULT_SPEC,
    Provider,
    get_embedder,
    known_providers,
    register_provider,
    resolve_spec,
)

__all__ = [
    "DEFAULT_SPEC",
    "CacheInfo",
    "CachedEmbedder",
    "Embedder",
    "InputType",
    "OnnxMiniLM",
    "OpenAICompatEmbedder",
    "Provider",
    "content_hash",
    "get_embedder",
    "known_providers",
    "register_provider",
    "resolve_spec",
]
