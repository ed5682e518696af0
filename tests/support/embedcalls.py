"""What an engine asks its embedder: the texts of each call, in order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest


def record_embed_calls(monkeypatch: pytest.MonkeyPatch, embedder: Any) -> list[list[str]]:
    """Record the texts of every ``embedder.embed`` call (``embed_one`` goes through it)
    into the returned list until the test ends; the vectors are the embedder's own."""
    calls: list[list[str]] = []
    inner = embedder.embed

    def embed(texts: Any, input_type: str = "document") -> np.ndarray:
        calls.append(list(texts))
        return inner(texts, input_type)  # type: ignore[no-any-return]

    monkeypatch.setattr(embedder, "embed", embed)
    return calls
