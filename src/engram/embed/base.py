"""The embedder contract.

An :class:`Embedder` turns text into unit-length float32 vectors. Queries and
documents may be encoded differently (``input_type``); vectors made by two
different ``model_id`` values are never compared (the store refuses them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = ["Embedder", "InputType", "WrappedEmbedder"]

InputType = Literal["query", "document"]


class Embedder(ABC):
    """Batch text embedder.

    * ``model_id``: a stable identifier stored next to every vector
      (e.g. ``"onnx:all-MiniLM-L6-v2-int8"``). Two embedders with the same
      ``model_id`` must produce interchangeable vectors.
    * ``dim``: vector dimension.
    * :meth:`embed` returns an ``(n, dim)`` float32 C-contiguous array of
      L2-normalised rows, in input order; an empty input gives ``(0, dim)``.
    * :meth:`count_tokens` counts tokens with the model's own tokenizer
      (used for context budgets); providers without one estimate.
    * ``wordpiece``: true when :meth:`count_tokens` is a BERT WordPiece count
      (context building then costs lines from their parts, see
      :func:`engram.retrieval.context.build_context`).
    """

    model_id: str
    dim: int
    wordpiece: bool = False

    @abstractmethod
    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        """Embed a batch of texts."""

    def embed_one(self, text: str, input_type: InputType = "query") -> np.ndarray:
        row: np.ndarray = self.embed([text], input_type)[0]
        return row

    def count_tokens(self, text: str) -> int:
        """Token count of ``text`` (default: a words-based estimate)."""
        return max(1, int(len(text.split()) * 1.3) + 1)

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        return [self.count_tokens(t) for t in texts]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (sessions, HTTP clients)."""


class WrappedEmbedder(Embedder):
    """An embedder over another one (``inner``): caches and other wrappers.

    ``model_id``, ``dim`` and token counting are the inner embedder's, so vectors
    from the wrapper and from ``inner`` are interchangeable; :meth:`close` closes
    ``inner``. Subclasses implement :meth:`embed`.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    @property
    def model_id(self) -> str:  # type: ignore[override]
        return self.inner.model_id

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.inner.dim

    @property
    def wordpiece(self) -> bool:  # type: ignore[override]
        return self.inner.wordpiece

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens_batch(texts)

    def close(self) -> None:
        self.inner.close()
