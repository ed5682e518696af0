"""What the package's onnxruntime models share: a one-process, one-call-at-a-time CPU
session, and the packaged probes that check integer products at load.

A session runs ``threads`` intra-op threads (1: on the calling thread, so a thread's CPU
clock sees all of it), one inter-op thread, its nodes in sequence, every graph
optimisation on but ``disabled_optimizers``, and logs errors only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np

from ..errors import ProviderError

__all__ = ["mean_pooled", "probe", "session"]


def session(model: bytes | str, *, threads: int, what: str,
            disabled_optimizers: Sequence[str] = ()) -> Any:
    """An ``onnxruntime.InferenceSession`` of ``model`` (bytes or a path) on the CPU.
    Raises :class:`ProviderError` ("cannot load {what}: ...") when onnxruntime is missing
    or rejects the model."""
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ProviderError(f"cannot load {what}: onnxruntime is not installed") from exc
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # errors only; no per-initializer warnings on stderr
    try:
        return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"],
                                    disabled_optimizers=list(disabled_optimizers))
    except Exception as exc:  # onnxruntime raises its own non-exported types
        raise ProviderError(f"cannot load {what}: {exc}") from exc


def mean_pooled(sess: Any, rows: Sequence[Sequence[int]], *, what: str,
                types: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """One BERT-style pass over token id ``rows`` (padded with 0 to the longest; token
    types ``types``, else all 0): ``last_hidden_state`` averaged over each row's real
    tokens, float32 ``(len(rows), hidden)``. Raises :class:`ProviderError` ("{what}
    failed: ...") when onnxruntime fails."""
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    type_ids = np.zeros_like(ids)
    for i, seq in enumerate(rows):
        ids[i, : len(seq)] = seq
        mask[i, : len(seq)] = 1
        if types is not None:
            type_ids[i, : len(types[i])] = types[i]
    try:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": type_ids}
        (hidden,) = sess.run(["last_hidden_state"], feed)
    except Exception as exc:  # onnxruntime's own exception types
        raise ProviderError(f"{what} failed: {exc}") from exc
    weights = mask.astype(np.float32)
    return np.asarray(
        np.einsum("bs,bsd->bd", weights, hidden) / weights.sum(axis=1, keepdims=True),
        dtype=np.float32)


def probe(asset: str) -> tuple[str, np.ndarray]:
    """A packaged probe (``engram.embed`` resource ``asset``): its sentence and the vector
    the float products give it."""
    data = json.loads(resources.files("engram.embed").joinpath(asset).read_text("utf-8"))
    return str(data["text"]), np.asarray(data["vector"], dtype=np.float32)
