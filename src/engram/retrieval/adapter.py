"""A query adapter: a linear map of the dense query learnt from questions and their evidence.

The embedder was trained to place a text near its paraphrases; a memory search asks a
*question* ("What does Kate do to unwind?") whose evidence is a *chat turn* ("took my
first Pilates class today"). An adapter moves the query's vector so that it lands
nearer the turns that answer such questions::

    q' = q/|q| + weight * A @ (q/|q|)          (then unit length)

``A`` (``d x d``) is fitted by ``tools/fit_adapter.py`` on the development questions of
the shared data sets (LoCoMo, REALTALK, BEAM): a listwise softmax over each question's
conversation, its evidence turns the positives, ridge ``|A|^2``; chosen and measured
leave-one-data-set-out (docs/recall.md, "Session 18: a query adapter"). Documents and
stored vectors do not change: an old store gains it as it is, and ``weight`` 0 is the
plain query.

Adapters are kept per embedder ``model_id``: one fitted for another model is never
applied (vectors of two models are not comparable). The shipped one
(``data/query_adapter.npz``: the matrix in float16 and the model id it was fitted for)
is read on first use, nothing at import; :func:`register` installs another for a model
id (the fitting tools try a fold's adapter that way).
"""

from __future__ import annotations

import threading
from importlib import resources

import numpy as np

__all__ = ["SHIPPED", "adapted", "matrix", "register"]

#: the file in ``engram/data`` holding the shipped adapter
SHIPPED = "query_adapter.npz"

_LOCK = threading.Lock()
#: model id -> matrix (float32) or None (no adapter for that model); filled on first use
_ADAPTERS: dict[str, np.ndarray | None] = {}
_LOADED: list[bool] = []


def _load_shipped() -> None:
    """Read :data:`SHIPPED` into the registry once (an absent file: no adapter)."""
    if _LOADED:
        return
    with _LOCK:
        if _LOADED:
            return
        path = resources.files("engram").joinpath("data", SHIPPED)
        if path.is_file():
            with path.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
                _ADAPTERS.setdefault(str(z["model_id"]), np.asarray(z["matrix"], np.float32))
        _LOADED.append(True)


def register(model_id: str, a: np.ndarray | None) -> None:
    """Use ``a`` (a square matrix of the model's dimension; ``None``: none) for every
    query embedded by ``model_id`` from now on, in place of the shipped one."""
    _load_shipped()
    if a is not None:
        a = np.asarray(a, dtype=np.float32)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"an adapter is a square matrix, not {a.shape}")
    with _LOCK:
        _ADAPTERS[model_id] = a


def matrix(model_id: str) -> np.ndarray | None:
    """The adapter for ``model_id``'s query vectors, or ``None`` when it has none."""
    _load_shipped()
    return _ADAPTERS.get(model_id)


def adapted(vec: np.ndarray, model_id: str, weight: float) -> np.ndarray:
    """``vec/|vec| + weight * A @ vec/|vec|``, unit length, float32, with ``A`` the
    adapter of ``model_id``; ``vec`` itself when ``weight`` is 0, the model has no
    adapter, the dimensions differ or the vector is zero."""
    if weight <= 0:
        return vec
    a = matrix(model_id)
    q = np.asarray(vec, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(q))
    if a is None or a.shape[1] != q.shape[0] or norm == 0:
        return vec
    q = q / norm
    out = q + weight * (a @ q)
    n = float(np.linalg.norm(out))
    return vec if n == 0 else (out / n).astype(np.float32)
