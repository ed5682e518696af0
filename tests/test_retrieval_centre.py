"""Per-user centring of the dense query (``RetrievalConfig.centre_weight``): the
store's centroid is the mean unit vector of the user's episodes, forget and
deletes drop it, and the ``recall-centred`` preset runs on every backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stores import STORE_KINDS, make_store

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import ConfigError
from engram.ingest.index import embedding_text
from engram.models import Scope
from engram.retrieval.config import get_preset
from engram.retrieval.search import _centred

MAYA = [
    ("s1", None, "I moved to Lisbon in 2021 for a job at a bakery"),
    ("s1", None, "My dog Biscuit hates the rain"),
    ("s2", "coach", "I ran my first half marathon last spring"),
    ("s2", "coach", "Knees are sore after long runs, so I stretch every morning"),
    ("s3", None, "My sister Ana is visiting from Porto next week"),
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from engram.embed.registry import get_embedder

    return get_embedder("default")


def _unit_mean(vecs: np.ndarray) -> np.ndarray:
    m = np.asarray(vecs, dtype=np.float64)
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).mean(0)


def _same(got: np.ndarray | None, want: np.ndarray) -> None:
    """Equal up to the embedder's batch-to-batch float noise (~4e-5 a component)."""
    assert got is not None
    np.testing.assert_allclose(got, want, atol=2e-4)
    assert float(got @ want) / np.linalg.norm(got) / np.linalg.norm(want) > 0.99999


def _episodes(eg: Engram, user: str) -> list:  # type: ignore[type-arg]
    return list(eg.list(user_id=user, type="episode", limit=100).items)


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_the_centroid_is_the_mean_of_the_users_episode_vectors_and_forget_drops_it(
    kind: str, tmp_path: Path, embedder: Embedder
) -> None:
    store = make_store(kind, tmp_path)
    eg = Engram(store=store, embedder=embedder)
    try:
        for session, agent, text in MAYA:  # memories are derived too: they do not count
            eg.add(text, scope=Scope(user_id="maya", agent_id=agent, session_id=session))
        eg.add("I work as a nurse in Boston", scope=Scope(user_id="li", session_id="x"))
        maya, model = Scope(user_id="maya"), embedder.model_id
        eg.search("where does maya live", scope=maya, preset="recall-centred")
        got = store.scope_centroid(Scope(user_id="maya", session_id="s1"), model)
        if kind == "postgres" and got is None:
            pytest.fail("PostgreSQL centres users its in-process index holds")
        eps = _episodes(eg, "maya")
        assert len(eps) == len(MAYA)
        want = _unit_mean(embedder.embed([embedding_text(e) for e in eps], "document"))
        assert got is not None and got.dtype == np.float32
        _same(got, want)

        gone = next(e for e in eps if "Biscuit" in e.text)
        eg.delete_episode(gone.id, scope=maya)
        rest = [e for e in eps if e.id != gone.id]
        want = _unit_mean(embedder.embed([embedding_text(e) for e in rest], "document"))
        _same(store.scope_centroid(maya, model), want)

        eg.forget(user_id="maya")
        assert store.scope_centroid(maya, model) is None
        assert store.scope_centroid(Scope(user_id="li"), model) is not None
        hits = eg.search("where does li work", user_id="li", preset="recall-centred")
        assert hits and "Boston" in hits[0].text
    finally:
        eg.close()


def test_centring_moves_the_query_away_from_what_every_turn_shares() -> None:
    q = np.array([3.0, 4.0, 0.0], dtype=np.float32)
    mu = np.array([0.6, 0.8, 0.0])
    assert _centred(q, None, 0.5) is q  # a store without a centroid: unchanged
    out = _centred(q, np.array([0.0, 0.0, 1.0]), 0.5)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out), 1.0, atol=1e-6)
    np.testing.assert_allclose(out, np.array([0.6, 0.8, -0.5]) / np.sqrt(1.25), atol=1e-6)
    assert _centred(q, mu, 1.0) is q  # cancels out: unchanged rather than NaN


def test_the_preset_centres_and_a_negative_weight_is_refused() -> None:
    preset = get_preset("recall-centred")
    assert preset.centre_weight == 0.5 and preset.topic_weight == 0.5
    # the default since session 9 (session 32: its memory lift only near the question);
    # the previous default stays reachable, uncentred
    assert get_preset("recall-s31") == preset.replace(name="recall-s31")
    assert get_preset("recall-s52") == preset.replace(
        name="recall-s52", keep_top=30, rerank=get_preset("recall-s52").rerank, standing=5,
        standing_cos=0.15, overview=True, present_weight=0.0)
    # session 53: the question also read without its names; session 55: a holiday's date
    # also searched by its name
    assert get_preset("recall") == get_preset("recall-s52").replace(
        name="recall", unnamed_weight=0.5, holiday_weight=1.0)
    assert get_preset("recall-s8").centre_weight == 0.0
    assert get_preset("recall-s8").topic_weight == 0.0
    with pytest.raises(ConfigError):
        preset.replace(centre_weight=-0.1)


def test_the_partition_keeps_its_centroid_through_upserts_and_removals() -> None:
    """The running sum after adds, replaced vectors and removals equals a centroid
    computed afresh (a partition rebuilt from the same rows)."""
    from engram.index.partition import PartitionIndex
    from engram.index.rows import TYPE_EPISODE, TYPE_MEMORY, RowAttrs
    from engram.models import ItemRef

    rng = np.random.default_rng(7)
    part = PartitionIndex(8)
    assert part.episode_centroid() is None

    def put(i: int, kind: int = TYPE_EPISODE) -> None:
        attrs = RowAttrs(kind, "episode" if kind == TYPE_EPISODE else "fact", 0, None, "s",
                         float(i), float(i), float("inf"))
        ref = ItemRef("episode" if kind == TYPE_EPISODE else "memory", f"x{i}")
        part.upsert(ref, rng.normal(size=8).astype(np.float32) * (i + 1), attrs)

    for i in range(6):
        put(i)
    put(99, TYPE_MEMORY)  # a memory never counts
    assert part.episode_centroid() is not None  # computed now, kept from here on
    for i in range(6, 40):
        put(i)
    put(3)  # a new vector for an episode already there
    for i in (0, 5, 17):
        part.remove(ItemRef("episode", f"x{i}"))
    fresh = PartitionIndex.from_state(part.state())
    got, want = part.episode_centroid(), fresh.episode_centroid()
    assert got is not None and want is not None
    np.testing.assert_allclose(got, want, atol=1e-6)
    live = [part._vecs[r] for r in range(part._n)
            if part._alive[r] and part._type[r] == TYPE_EPISODE]
    np.testing.assert_allclose(got, _unit_mean(np.stack(live)), atol=1e-6)
    for i in range(40):
        part.remove(ItemRef("episode", f"x{i}"))
    assert part.episode_centroid() is None
