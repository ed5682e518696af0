"""The embedding layer: the real MiniLM ONNX model, the cache, the registry and
the OpenAI-compatible provider against a real HTTP server on loopback."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engram import Engram
from engram.bench.diskcache import DiskCachedEmbedder
from engram.embed import (
    DEFAULT_SPEC,
    CachedEmbedder,
    Embedder,
    InputType,
    OnnxMiniLM,
    OpenAICompatEmbedder,
    content_hash,
    get_embedder,
    known_providers,
    register_provider,
    resolve_spec,
)
from engram.embed import registry as registry_mod
from engram.embed._onnx_rewrite import int8_matmul_model
from engram.embed.base import WrappedEmbedder
from engram.embed.onnx_minilm import MODEL_ID, MODEL_ID_INT8_MATMUL, tokenizer_path
from engram.errors import (
    ConfigError,
    InvalidInput,
    MissingDependency,
    ModelMismatch,
    ProviderError,
)
from tools.bench_embed import chat_turns, compare_matmul, measure, queries


@pytest.fixture
def minilm(raw_embedder: Embedder) -> OnnxMiniLM:
    """The session's shared default embedder (tests/conftest.py), loaded once."""
    assert isinstance(raw_embedder, OnnxMiniLM)
    return raw_embedder


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _assert_same_rows(a: np.ndarray, b: np.ndarray) -> None:
    """Row i of ``a`` is row i of ``b`` up to the integer products' rounding (the
    default ``matmul="int8x2"`` rounds each pass's activations on a scale of that
    pass, so a text's vector moves by ~1e-4 with its batch); another text's row
    would be far below the bar."""
    assert a.shape == b.shape
    cos = np.sum(a * b, axis=1)
    assert cos.min() >= 0.9999, cos


# -- the default ONNX model ------------------------------------------------------


def test_shape_dtype_and_unit_length(minilm: OnnxMiniLM) -> None:
    vecs = minilm.embed(["hello world", "", "A much longer sentence about a camping trip."])
    assert vecs.shape == (3, 384)
    assert vecs.dtype == np.float32
    assert vecs.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert minilm.model_id == MODEL_ID == "onnx:all-MiniLM-L6-v2-int8"
    assert minilm.dim == 384


def test_empty_batch(minilm: OnnxMiniLM) -> None:
    out = minilm.embed([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_lazy_load_and_close() -> None:
    emb = OnnxMiniLM(warmup=False)
    assert not emb.loaded
    assert emb.count_tokens("hello world") == 2
    assert not emb.loaded  # counting tokens does not need the model
    emb.embed_one("load now")
    assert emb.loaded
    emb.close()
    assert not emb.loaded
    assert emb.embed(["loads again"]).shape == (1, 384)


TEXTS = [
    "Hi!",
    "I went to a LGBTQ support group yesterday and it was so powerful.",
    "ok",
    "We took the kids camping at the beach last weekend; they loved roasting marshmallows "
    "and we stayed up late looking at the stars, which was the best part of the trip.",
    "My dentist moved my appointment to Tuesday.",
    "",
    "Melanie painted a sunrise over the lake. " * 12,
    "Yes",
]


def test_batches_keep_input_order_and_match_single_results(minilm: OnnxMiniLM) -> None:
    singles = np.stack([minilm.embed([t])[0] for t in TEXTS])
    batched = minilm.embed(TEXTS)
    _assert_same_rows(batched, singles)
    # many small passes (tiny limits) give the same rows in the same order
    small = OnnxMiniLM(batch_size=3, max_batch_tokens=40)
    try:
        assert len(small._batches([[1] * len(t.split()) for t in TEXTS])) > 2
        _assert_same_rows(small.embed(TEXTS), singles)
        _assert_same_rows(small.embed(TEXTS[::-1]), singles[::-1])
    finally:
        small.close()


def test_workers_run_passes_at_once_and_change_no_vector() -> None:
    one = OnnxMiniLM(batch_size=3, max_batch_tokens=40)
    two = OnnxMiniLM(batch_size=3, max_batch_tokens=40, workers=2)
    try:
        texts = TEXTS * 3
        assert np.array_equal(two.embed(texts), one.embed(texts))  # the same passes
        assert two.embed(["Yes"]).shape == (1, 384)  # one pass: no pool needed
        two.close()
        np.testing.assert_array_equal(two.embed(TEXTS), one.embed(TEXTS))  # reopens
    finally:
        one.close()
        two.close()


def test_a_batch_of_fewer_passes_than_workers_is_spread_over_them() -> None:
    """A search embeds its question and the question without its names in one call: with
    two workers that is two passes at once, not one pass of two rows (session 54)."""
    one = OnnxMiniLM()
    two = OnnxMiniLM(workers=2)
    try:
        assert two._spread([[0, 1]]) == [[0], [1]]
        assert two._spread([[0, 1, 2, 3, 4]]) == [[0, 1], [2, 3, 4]]
        assert two._spread([[0], [1, 2]]) == [[0], [1, 2]]  # as many as workers already
        assert two._spread([[0]]) == [[0]]  # one text: one pass
        assert one._spread([[0, 1]]) == [[0, 1]]  # one worker: as it was
        two.load()  # its probes at load are passes of their own
        passes: list[int] = []
        run = two._run
        two._run = lambda session, batch: passes.append(len(batch)) or run(session, batch)
        pair = ["What sports does Paola watch these days?", "What sports does watch these days?"]
        got = two.embed(pair)
        assert passes == [1, 1]
        _assert_same_rows(got, one.embed(pair))
    finally:
        one.close()
        two.close()


def test_the_calling_thread_runs_passes_beside_the_pool() -> None:
    """With two workers a pair of passes runs one on the calling thread and one on the
    pool's single thread; a batch of many passes is shared out the same way; a pass
    that fails stops the others from starting and fails the call once the passes in
    flight have ended; a pool closed meanwhile leaves every pass to the caller."""
    one = OnnxMiniLM(batch_size=2, max_batch_tokens=40)
    two = OnnxMiniLM(batch_size=2, max_batch_tokens=40, workers=2)
    try:
        two.load()
        ran: list[str] = []
        run = two._run
        two._run = lambda session, batch: ran.append(threading.current_thread().name) or run(
            session, batch)
        pair = ["What sports does Paola watch these days?", "What sports does watch these days?"]
        _assert_same_rows(two.embed(pair), one.embed(pair))
        assert sorted(ran) == sorted([threading.current_thread().name, "engram-embed_0"])
        assert two._pool is not None and two._pool._max_workers == 1
        ran.clear()
        texts = TEXTS * 3
        np.testing.assert_array_equal(two.embed(texts), one.embed(texts))
        passes = two._spread(two._batches([e.ids for e in two._tok.encode_batch(texts)]))
        assert len(ran) == len(passes) > 2  # each pass once, by one of the two threads
        assert set(ran) <= {threading.current_thread().name, "engram-embed_0"}

        started: list[int] = []
        ended: list[int] = []

        def failing(session: object, batch: list[list[int]]) -> np.ndarray:
            if threading.current_thread().name != "engram-embed_0":
                raise ProviderError("embedding model failed: boom")
            started.append(len(batch))
            time.sleep(0.05)
            ended.append(len(batch))
            return run(session, batch)
        two._run = failing
        with pytest.raises(ProviderError, match="boom"):
            two.embed(texts)
        # the pool's pass in flight ended before the error came back, and no thread
        # started another pass after the failure (of the many passes, at most one ran)
        assert started == ended and len(ended) <= 1
        two._run = run
        pool = two._get_pool()
        assert pool is not None
        pool.shutdown()  # as a close() between the pool's look-up and its use would
        np.testing.assert_array_equal(two.embed(texts), one.embed(texts))  # the caller runs all
    finally:
        one.close()
        two.close()


def test_callers_embedding_at_once_share_the_pool_and_get_their_own_vectors() -> None:
    """Several threads embedding at once (a server's searches) each run their own passes
    and the one pool thread helps whoever asked first: no call waits on another's, and
    every call gets the vectors a lone call gets."""
    one = OnnxMiniLM(batch_size=2, max_batch_tokens=40)
    two = OnnxMiniLM(batch_size=2, max_batch_tokens=40, workers=2)
    try:
        batches = [TEXTS[k:] + TEXTS[:k] for k in range(4)]
        want = [one.embed(b) for b in batches]
        got: dict[int, np.ndarray] = {}

        def call(k: int) -> None:
            for _ in range(3):
                got[k] = two.embed(batches[k])

        threads = [threading.Thread(target=call, args=(k,)) for k in range(len(batches))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        for k, vecs in enumerate(want):
            np.testing.assert_array_equal(got[k], vecs)
    finally:
        one.close()
        two.close()


def test_query_and_document_encode_alike(minilm: OnnxMiniLM) -> None:
    text = "Where did Melanie go camping?"
    q = minilm.embed([text], "query")
    d = minilm.embed([text], "document")
    np.testing.assert_allclose(q, d, atol=1e-6)
    np.testing.assert_allclose(minilm.embed_one(text), q[0], atol=1e-6)


def test_similar_sentences_score_higher_than_unrelated(minilm: OnnxMiniLM) -> None:
    pairs = [
        (
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "A monkey is playing drums.",
        ),
        (
            "I adopted a puppy last month.",
            "We got a new dog a few weeks ago.",
            "The quarterly revenue grew by 12 percent.",
        ),
        (
            "When is my dentist appointment?",
            "The dentist moved my appointment to Tuesday at 3pm.",
            "I love hiking in the mountains.",
        ),
    ]
    for anchor, similar, unrelated in pairs:
        a, s, u = minilm.embed([anchor, similar, unrelated])
        assert a @ s > a @ u + 0.3, (anchor, float(a @ s), float(a @ u))
    # the known reference value of the float model for the first pair is ~0.755
    a, s = minilm.embed(["A man is eating food.", "A man is eating a piece of bread."])
    assert 0.70 < float(a @ s) < 0.80


def test_query_retrieves_the_right_turn(minilm: OnnxMiniLM) -> None:
    docs = [
        "I'm planning a trip to Sweden to see my grandmother's hometown.",
        "We took the kids camping at the beach last weekend.",
        "I play the violin in a small orchestra.",
        "My car broke down on the highway again.",
    ]
    d = minilm.embed(docs, "document")
    q = minilm.embed(["Where did they go camping with the kids?"], "query")[0]
    assert int(np.argmax(d @ q)) == 1


def test_long_text_is_truncated_to_256_tokens(minilm: OnnxMiniLM) -> None:
    long = "alpha beta gamma delta " * 100  # 400 words, far over 256 tokens
    assert minilm.count_tokens(long) == 400
    a, b = minilm.embed([long, long + " completely different words about volcanoes"])
    np.testing.assert_allclose(a, b, atol=1e-6)


class _Shared(WrappedEmbedder):
    """The session's embedder under a wrapper that does not close it."""

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        return self.inner.embed(texts, input_type)

    def close(self) -> None:
        pass


def test_a_shorter_pass_has_its_own_model_id(tmp_path: Path, minilm: OnnxMiniLM) -> None:
    assert OnnxMiniLM(max_length=256).model_id == MODEL_ID
    short = OnnxMiniLM(max_length=128)
    assert short.model_id == MODEL_ID + "@128"
    assert OnnxMiniLM(max_length=128, matmul="int8").model_id == MODEL_ID_INT8_MATMUL + "@128"
    text = "alpha beta gamma delta " * 50  # 200 tokens: its vector depends on the pass
    first = DiskCachedEmbedder(_Shared(minilm), tmp_path / "cache.sqlite")
    second = DiskCachedEmbedder(short, tmp_path / "cache.sqlite")
    try:
        a, b = first.embed([text])[0], second.embed([text])[0]
        assert second.misses == 1  # the full pass's cached vector is not served
        assert float(a @ b) < 0.9999
        np.testing.assert_array_equal(second.embed([text])[0], b)
    finally:
        first.close()
        second.close()
    with Engram(tmp_path / "s.db", embedder=_Shared(minilm)) as eg:
        eg.add(text, user_id="u", derive=False)
    with Engram(tmp_path / "s.db", embedder=short) as eg2, pytest.raises(ModelMismatch):
        eg2.search("alpha", user_id="u")


def test_count_tokens(minilm: OnnxMiniLM) -> None:
    assert minilm.count_tokens("hello world") == 2  # no [CLS]/[SEP]
    assert minilm.count_tokens("") == 0
    assert minilm.count_tokens("Caroline's adoption") > 2  # WordPiece splits
    texts = ["hello world", "", "unbelievably long wordpieces"]
    assert minilm.count_tokens_batch(texts) == [minilm.count_tokens(t) for t in texts]
    assert minilm.count_tokens_batch([]) == []


def test_bad_input_is_rejected(minilm: OnnxMiniLM) -> None:
    with pytest.raises(InvalidInput):
        minilm.embed("a single string")
    with pytest.raises(InvalidInput):
        minilm.embed(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(InvalidInput):
        minilm.embed(["ok"], "passage")  # type: ignore[arg-type]


def test_bad_settings_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        OnnxMiniLM(threads=0)
    with pytest.raises(ConfigError):
        OnnxMiniLM(workers=0)
    with pytest.raises(ConfigError):
        OnnxMiniLM(max_length=1000)
    with pytest.raises(ConfigError, match="matmul"):
        OnnxMiniLM(matmul="bf16")
    emb = OnnxMiniLM(model_path=tmp_path / "missing.onnx")
    with pytest.raises(ConfigError, match="not found"):
        emb.embed(["x"])
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    with pytest.raises(ProviderError):
        OnnxMiniLM(model_path=broken).embed(["x"])


def test_concurrent_first_use_loads_once() -> None:
    emb = OnnxMiniLM()
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(emb.embed(TEXTS[:4]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], atol=1e-6)
    emb.close()


def test_int8_matmul_variant_is_close_but_has_its_own_id(minilm: OnnxMiniLM) -> None:
    fast = OnnxMiniLM(matmul="int8")
    try:
        assert fast.model_id == MODEL_ID_INT8_MATMUL != minilm.model_id
        a = fast.embed(TEXTS)
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        b = minilm.embed(TEXTS)
        cos = np.sum(a * b, axis=1)
        assert cos.min() > 0.95, cos
    finally:
        fast.close()


def _fixture_turns(limit: int) -> list[str]:
    """Chat turns and questions from the test fixtures (hand-written, many
    phrasings and lengths), half in the episode form the indexer embeds."""
    def strings(obj: Any) -> Iterator[str]:
        if isinstance(obj, str):
            yield obj
        elif isinstance(obj, dict):
            for v in obj.values():
                yield from strings(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from strings(v)

    fixtures = Path(__file__).parent / "fixtures"
    seen: dict[str, None] = {}
    for name in ("category_paraphrase.jsonl", "knowledge_updates_more.jsonl",
                 "multi_hop.jsonl", "timeexpr_labelled.jsonl"):
        for line in (fixtures / name).read_text().splitlines():
            for text in strings(json.loads(line) if line.strip() else []):
                if len(text.split()) >= 3:
                    seen.setdefault(text)
    for item in json.loads((fixtures / "longmemeval_small.json").read_text()):
        for session in item["haystack_sessions"]:
            for msg in session:
                seen.setdefault(msg["content"])
    texts = list(seen)[:: max(1, len(seen) // limit)][:limit]
    return [f"[8 May 2023] Ana: {t}" if i % 2 else t for i, t in enumerate(texts)]


def test_integer_products_give_the_float_vectors(minilm: OnnxMiniLM) -> None:
    """The default ``matmul="int8x2"`` is a faster way to the same vectors: on a few
    hundred real turns, in one call (length-sorted passes) and one text at a time,
    every vector is within cosine .9999 of the float products' (bar .999; measured
    .99999 on the 4,124 LoCoMo dev turns), so it keeps the model id."""
    texts = _fixture_turns(300)
    assert len(texts) >= 250
    reference = OnnxMiniLM(matmul="float")
    try:
        assert minilm.matmul == "int8x2" and reference.model_id == minilm.model_id == MODEL_ID
        want = reference.embed(texts)
        _assert_same_rows(minilm.embed(texts), want)
        alone = np.stack([minilm.embed([t])[0] for t in texts[:40]])
        _assert_same_rows(alone, want[:40])
    finally:
        reference.close()


def test_the_probe_is_the_float_products_vector_of_its_sentence() -> None:
    """The packaged probe (assets/probe.json) is what the float products give."""
    from importlib import resources

    from engram.embed.onnx_minilm import PROBE, PROBE_COSINE

    probe = json.loads(resources.files("engram.embed").joinpath(PROBE).read_text("utf-8"))
    ref = OnnxMiniLM(matmul="float")
    try:
        got = ref.embed([probe["text"]])[0]
        assert float(got @ np.asarray(probe["vector"], dtype=np.float32)) >= PROBE_COSINE
        assert ref.running == "float"
    finally:
        ref.close()


def test_integer_products_that_miss_the_probe_run_in_float(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the integer kernel is not exact (x86-64 without VNNI saturates), the
    default ``matmul="int8x2"`` runs the float products instead: same model id, the
    float vectors, whatever the batch; where it is exact, it stays integer."""
    import engram.embed.onnx_minilm as om

    texts = [t for t in TEXTS if t.strip()][:6]
    ref = OnnxMiniLM(matmul="float")
    monkeypatch.setattr(om, "PROBE_COSINE", 1.01)  # no session can meet it
    fell = OnnxMiniLM()
    try:
        assert fell.running is None
        got = fell.embed(texts)
        assert fell.running == "float" and fell.matmul == "int8x2"
        assert fell.model_id == MODEL_ID
        np.testing.assert_array_equal(got, ref.embed(texts))
        monkeypatch.setattr(om, "PROBE_COSINE", -1.0)  # any session meets it
        kept = OnnxMiniLM()
        try:
            kept.load()
            assert kept.running == "int8x2"
        finally:
            kept.close()
    finally:
        ref.close()
        fell.close()


def test_rewrite_leaves_foreign_bytes_alone() -> None:
    for residual in (False, True):
        assert int8_matmul_model(b"", residual=residual).rewritten == 0
        # a message with only an unrelated varint field: no graph, unchanged
        assert int8_matmul_model(b"\x08\x07", residual=residual).model == b"\x08\x07"


def test_both_rewrites_replace_every_weight_product() -> None:
    from engram.embed.onnx_minilm import default_model_path

    model = default_model_path().read_bytes()
    one = int8_matmul_model(model)
    two = int8_matmul_model(model, residual=True)
    assert one.rewritten == two.rewritten == 36  # 6 layers x (q, k, v, out, ffn in, ffn out)
    assert b"MatMulIntegerToFloat" in two.model and b"MatMulIntegerToFloat" not in one.model
    # the exact GELU's five nodes become one Gelu node, in both rewrites
    for result in (one, two):
        assert b"Erf" not in result.model and b"Gelu" in result.model


def test_tokenizer_ships_with_its_notice() -> None:
    path = tokenizer_path()
    assert path.is_file()
    assert (path.parent / "NOTICE").is_file()
    assert "Apache" in (path.parent / "NOTICE").read_text()


# -- cache -----------------------------------------------------------------------


class Recording(Embedder):
    """Delegates to a real embedder and records every batch it receives."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.calls: list[tuple[list[str], str]] = []

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        self.calls.append((list(texts), input_type))
        return self.inner.embed(texts, input_type)


def test_content_hash() -> None:
    h = content_hash("Hello  world\n")
    assert re.fullmatch(r"[0-9a-f]{64}", h)
    assert h == content_hash(" Hello world")
    assert h != content_hash("hello world")
    expected = hashlib.sha256(b"Hello world").hexdigest()
    assert h == expected


def test_cached_embedder_skips_known_text(minilm: OnnxMiniLM) -> None:
    rec = Recording(minilm)
    cached = CachedEmbedder(rec, maxsize=3)
    assert cached.model_id == minilm.model_id and cached.dim == 384
    first = cached.embed(["a cat", "a dog", "a cat"])
    assert rec.calls == [(["a cat", "a dog"], "document")]  # duplicates embedded once
    np.testing.assert_allclose(first, minilm.embed(["a cat", "a dog", "a cat"]), atol=1e-6)
    second = cached.embed(["a dog", "a  cat ", "a bird"])
    assert rec.calls[-1] == (["a bird"], "document")
    np.testing.assert_allclose(second[1], first[0], atol=0)
    info = cached.cache_info()
    assert (info.hits, info.misses, info.size, info.maxsize) == (2, 4, 3, 3)
    # returned rows are copies: changing them does not poison the cache
    second[:] = 0
    assert np.linalg.norm(cached.embed(["a dog"])[0]) == pytest.approx(1.0, abs=1e-5)
    # queries are cached apart from documents
    cached.embed(["a dog"], "query")
    assert rec.calls[-1] == (["a dog"], "query")


def test_cached_embedder_evicts_least_recently_used(minilm: OnnxMiniLM) -> None:
    rec = Recording(minilm)
    cached = CachedEmbedder(rec, maxsize=2)
    cached.embed(["one", "two"])
    cached.embed(["one"])  # "one" is now the most recent
    cached.embed(["three"])  # evicts "two"
    n = len(rec.calls)
    cached.embed(["one", "three"])
    assert len(rec.calls) == n
    cached.embed(["two"])
    assert rec.calls[-1] == (["two"], "document")
    cached.cache_clear()
    assert cached.cache_info().size == 0
    off = CachedEmbedder(rec, maxsize=0)
    off.embed(["x"])
    off.embed(["x"])
    assert rec.calls[-2:] == [(["x"], "document")] * 2


# -- registry --------------------------------------------------------------------


def test_registry_resolves_the_default_and_aliases() -> None:
    assert DEFAULT_SPEC == "onnx:all-MiniLM-L6-v2-int8"
    for spec in ("default", "minilm", "onnx", "onnx:all-MiniLM-L6-v2-int8"):
        emb = get_embedder(spec)
        assert isinstance(emb, OnnxMiniLM)
        assert emb.model_id == MODEL_ID
        assert not emb.loaded  # building an embedder loads nothing
    emb = get_embedder("onnx:all-MiniLM-L6-v2-int8-dynamic", threads=2)
    assert isinstance(emb, OnnxMiniLM)
    assert emb.model_id == MODEL_ID_INT8_MATMUL and emb.threads == 2
    assert {"onnx", "openai"} <= set(known_providers())
    assert resolve_spec("default") == resolve_spec(" onnx ") == DEFAULT_SPEC
    assert resolve_spec("openai:m") == "openai:m" and resolve_spec("zzz") == "zzz"


def test_registry_errors() -> None:
    with pytest.raises(ConfigError, match="onnx, openai") as info:
        get_embedder("nope:model")
    assert not isinstance(info.value, MissingDependency)
    with pytest.raises(ConfigError, match="all-MiniLM-L6-v2-int8"):
        get_embedder("onnx:bge-small")
    with pytest.raises(ConfigError, match="threads"):
        get_embedder("onnx", thread=2)
    with pytest.raises(ConfigError, match="needs a model"):
        get_embedder("openai")


def test_missing_optional_package_names_the_pip_command() -> None:
    @register_provider("needs-pkg", install="pip install 'engramdb[imaginary]'")
    def _factory(model: str, **options: Any) -> Embedder:
        import engram_imaginary_backend  # noqa: F401

        raise AssertionError("unreachable")

    try:
        with pytest.raises(MissingDependency) as info:
            get_embedder("needs-pkg:any")
        assert "pip install 'engramdb[imaginary]'" in str(info.value)
        assert "engram_imaginary_backend" in str(info.value)
    finally:
        del registry_mod._PROVIDERS["needs-pkg"]


def test_registry_builds_openai_provider() -> None:
    emb = get_embedder("openai:nomic-embed-text:latest", base_url="http://localhost:11434/v1")
    assert isinstance(emb, OpenAICompatEmbedder)
    assert emb.model == "nomic-embed-text:latest"
    assert emb.model_id == "openai:nomic-embed-text:latest@localhost:11434"
    with pytest.raises(ConfigError):
        get_embedder("openai:m", base_url="ftp://example.com")


# -- OpenAI-compatible provider against a loopback server ------------------------


STUB_DIM = 16


def stub_vector(text: str) -> list[float]:
    """Bag of hashed words: texts sharing words get similar (unnormalised) vectors."""
    vec = np.zeros(STUB_DIM)
    for word in re.findall(r"\w+", text.lower()) or [""]:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        vec += np.random.default_rng(seed).standard_normal(STUB_DIM)
    return [float(x) * 3.0 for x in vec]


@dataclass
class StubState:
    """Script and log of the stub server: ``plan`` holds responses to give first."""

    plan: list[tuple[int, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.requests.append(body)
                state.headers.append(dict(self.headers))
                step = state.plan.pop(0) if state.plan else None
            if state.delay:
                time.sleep(state.delay)
            if self.path != "/v1/embeddings":
                self._send(404, {"error": {"message": "no such route"}})
            elif step is not None:
                self._send(*step)
            else:
                dims = body.get("dimensions")
                data = [
                    {"object": "embedding", "index": i, "embedding": stub_vector(t)[: dims or None]}
                    for i, t in enumerate(body["input"])
                ]
                self._send(200, {"object": "list", "data": data[::-1], "model": body["model"]})

        def _send(self, status: int, payload: Any) -> None:
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    return Handler


@pytest.fixture
def stub() -> Iterator[tuple[str, StubState]]:
    state = StubState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    server.shutdown()
    server.server_close()


def _client(base_url: str, **options: Any) -> OpenAICompatEmbedder:
    options.setdefault("backoff", 0.001)
    return OpenAICompatEmbedder("stub-embed", base_url=base_url, **options)


def test_openai_embeds_in_order_normalised_and_batched(stub: tuple[str, StubState]) -> None:
    url, state = stub
    emb = _client(url, api_key="sk-test", batch_size=2)
    texts = ["the cat sat", "a dog barked", "", "the cat sat down", "stocks fell"]
    vecs = emb.embed(texts)
    assert vecs.shape == (5, STUB_DIM) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    for text, vec in zip(texts, vecs, strict=True):
        assert _cos(vec, np.array(stub_vector(text or " "))) == pytest.approx(1.0, abs=1e-5)
    assert [len(r["input"]) for r in state.requests] == [2, 2, 1]
    assert state.requests[1]["input"][0] == " "  # empty text sent as one space
    assert state.headers[0]["Authorization"] == "Bearer sk-test"
    assert vecs[0] @ vecs[3] > vecs[0] @ vecs[4]
    assert emb.dim == STUB_DIM
    assert emb.model_id == f"openai:stub-embed@127.0.0.1:{url.split(':')[2].split('/')[0]}"
    emb.close()


def test_openai_dimensions_prefixes_and_probe(stub: tuple[str, StubState]) -> None:
    url, state = stub
    emb = _client(url, dimensions=8, query_prefix="search_query: ")
    assert emb.dim == 8 and not state.requests  # known without a request
    assert emb.model_id.endswith("#8")
    vec = emb.embed_one("where is my cat")
    assert vec.shape == (8,)
    assert state.requests[-1]["input"] == ["search_query: where is my cat"]
    assert state.requests[-1]["dimensions"] == 8
    probing = _client(url)
    assert probing.dim == STUB_DIM  # one probe request
    assert probing.embed([]).shape == (0, STUB_DIM)


def test_openai_retries_429_then_succeeds(stub: tuple[str, StubState]) -> None:
    url, state = stub
    state.plan = [(429, {"error": {"message": "slow down"}}), (503, b"busy")]
    emb = _client(url, max_retries=3)
    vecs = emb.embed(["hello there"])
    assert len(state.requests) == 3
    assert _cos(vecs[0], np.array(stub_vector("hello there"))) == pytest.approx(1.0, abs=1e-5)


def test_openai_persistent_500_becomes_provider_error(stub: tuple[str, StubState]) -> None:
    url, state = stub
    state.plan = [(500, {"error": {"message": "model crashed"}})] * 10
    emb = _client(url, max_retries=2)
    with pytest.raises(ProviderError, match="3 attempts.*HTTP 500.*model crashed"):
        emb.embed(["x"])
    assert len(state.requests) == 3


@pytest.mark.parametrize(
    ("status", "payload", "message"),
    [
        (400, {"error": {"message": "bad model"}}, "HTTP 400: bad model"),
        (401, {"error": "invalid api key"}, "HTTP 401: invalid api key"),
        (200, b"{not json", "invalid JSON"),
        (200, {"data": []}, "0 embeddings for 1 inputs"),
        (200, {"data": [{"index": 0, "embedding": "oops"}]}, "malformed|uneven"),
        (200, {"data": [{"index": 0, "embedding": [0.0, 0.0]}]}, "zero"),
    ],
)
def test_openai_bad_answers_are_not_retried(
    stub: tuple[str, StubState], status: int, payload: Any, message: str
) -> None:
    url, state = stub
    state.plan = [(status, payload)]
    with pytest.raises(ProviderError, match=message):
        _client(url, max_retries=3).embed(["x"])
    assert len(state.requests) == 1


def test_openai_dimension_change_is_an_error(stub: tuple[str, StubState]) -> None:
    url, state = stub
    emb = _client(url)
    emb.embed(["first"])
    state.plan = [(200, {"data": [{"index": 0, "embedding": [1.0, 2.0]}]})]
    with pytest.raises(ProviderError, match="2-d vectors, expected 16"):
        emb.embed(["second"])


def test_openai_timeout_and_refused_connection(stub: tuple[str, StubState]) -> None:
    url, state = stub
    state.delay = 0.5
    with pytest.raises(ProviderError, match="2 attempts: timed out"):
        _client(url, timeout=0.1, max_retries=1).embed(["slow"])
    assert len(state.requests) == 2
    with pytest.raises(ProviderError, match="404"):
        _client(url.replace("/v1", "/v2"), timeout=2).embed(["x"])
    with pytest.raises(ProviderError, match="ConnectError"):
        _client("http://127.0.0.1:9/v1", max_retries=1).embed(["x"])


def test_openai_settings_are_checked() -> None:
    with pytest.raises(ConfigError):
        OpenAICompatEmbedder("", base_url="http://localhost/v1")
    with pytest.raises(ConfigError):
        OpenAICompatEmbedder("m", base_url="localhost:11434")
    with pytest.raises(ConfigError):
        OpenAICompatEmbedder("m", dimensions=0)


# -- bench -----------------------------------------------------------------------


def test_bench_measure_reports_figures(minilm: OnnxMiniLM) -> None:
    assert len(set(queries(20))) > 5 and len(chat_turns(64)) == 64
    result = measure(minilm, n=5, warmup=1, batch_size=8)
    data = result.to_dict()
    assert data["model_id"] == MODEL_ID and data["queries"] == 5
    assert data["docs"] == 16 and data["doc_mean_tokens"] > 5
    assert 0 < data["query_p50_ms"] <= data["query_p95_ms"]
    assert data["docs_per_s"] > 0


def test_bench_compares_the_matmul_modes() -> None:
    rows = compare_matmul(chat_turns(12), ["float", "int8x2", "int8"], chunk=5)
    assert [r.matmul for r in rows] == ["float", "int8x2", "int8"]
    assert [r.model_id for r in rows] == [MODEL_ID, MODEL_ID, MODEL_ID_INT8_MATMUL]
    assert rows[0].min_cos > 0.99999 and rows[1].min_cos > 0.9999 > rows[2].min_cos > 0.9
    assert all(r.texts == 12 and r.texts_per_cpu_s > 0 for r in rows)
