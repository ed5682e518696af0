"""The dense query adapter (:mod:`engram.retrieval.adapter`, ``adapter_weight``): shipped
for the default model only, a small move of the query, off at weight 0, and used by a
search for its embedder's model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from stores import STORE_KINDS, make_store

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import ConfigError
from engram.retrieval import adapter
from engram.retrieval.config import get_preset


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from engram.embed.registry import get_embedder

    return get_embedder("default")


@pytest.fixture
def restore(embedder: Embedder) -> Iterator[None]:
    shipped = adapter.matrix(embedder.model_id)
    yield
    adapter.register(embedder.model_id, shipped)


def test_the_shipped_adapter_is_the_default_models_and_moves_a_question_a_little(
    embedder: Embedder,
) -> None:
    a = adapter.matrix(embedder.model_id)
    assert a is not None and a.shape == (384, 384) and a.dtype == np.float32
    for question in ("What does Kate do to unwind after work?", "Which city did Sam move to?",
                     "Did Priya ever adopt a pet?", "hello"):
        q = embedder.embed_one(question, "query")
        out = adapter.adapted(q, embedder.model_id, 1.0)
        assert out.dtype == np.float32 and abs(float(np.linalg.norm(out)) - 1.0) < 1e-5
        cos = float(out @ q) / float(np.linalg.norm(q))
        assert 0.6 < cos < 0.9999  # moved, not replaced


def test_weight_zero_another_model_a_zero_vector_and_other_dimensions_leave_it(
    embedder: Embedder,
) -> None:
    q = embedder.embed_one("What is Maya's dog called?", "query")
    assert adapter.adapted(q, embedder.model_id, 0.0) is q
    assert adapter.matrix("onnx:some-other-model") is None
    assert adapter.adapted(q, "onnx:some-other-model", 1.0) is q
    zero = np.zeros(384, dtype=np.float32)
    assert adapter.adapted(zero, embedder.model_id, 1.0) is zero
    short = np.ones(8, dtype=np.float32)
    assert adapter.adapted(short, embedder.model_id, 1.0) is short


def test_register_replaces_the_adapter_and_none_removes_it(embedder: Embedder,
                                                           restore: None) -> None:
    q = np.zeros(384, dtype=np.float32)
    q[0] = 2.0
    adapter.register(embedder.model_id, 3.0 * np.eye(384))
    np.testing.assert_allclose(adapter.adapted(q, embedder.model_id, 1.0), q / 2, atol=1e-6)
    adapter.register(embedder.model_id, None)
    assert adapter.adapted(q, embedder.model_id, 1.0) is q
    with pytest.raises(ValueError):
        adapter.register(embedder.model_id, np.ones((3, 4)))


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_a_search_sends_its_dense_query_through_its_models_adapter(
    kind: str, tmp_path: Path, embedder: Embedder, restore: None,
) -> None:
    eg = Engram(store=make_store(kind, tmp_path), embedder=embedder)
    try:
        texts = ["We adopted a corgi puppy last week", "My flight to Oslo leaves at six",
                 "I finally fixed the leaking kitchen tap"]
        eg.add([{"text": t} for t in texts], user_id="u")
        target = embedder.embed_one(f"[x] user: {texts[2]}", "document").astype(np.float64)
        target /= np.linalg.norm(target)
        # q + A q = 10 (t . q) t: every query with t . q > 0 becomes the target's direction
        adapter.register(embedder.model_id, 10.0 * np.outer(target, target) - np.eye(384))
        dense = get_preset("dense")
        query = "Tell me about the new puppy"
        assert eg.search(query, user_id="u", preset=dense, limit=1)[0].text == texts[0]
        hits = eg.search(query, user_id="u", preset=dense.replace(adapter_weight=1.0), limit=1)
        assert hits[0].text == texts[2]
    finally:
        eg.close()


def test_a_negative_weight_is_refused() -> None:
    with pytest.raises(ConfigError):
        get_preset("recall").replace(adapter_weight=-0.5)


def test_the_adapted_preset_is_opt_in() -> None:
    assert get_preset("recall").adapter_weight == 0.0
    adapted = get_preset("recall-adapted")
    assert adapted.adapter_weight == 1.0 and adapted.centre_weight == 0.5
    assert adapted.feedback_weight == get_preset("recall").feedback_weight
