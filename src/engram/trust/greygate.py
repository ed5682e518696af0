"""The gate before the grey look: which grey-zone turns are worth the e5 encoder.

The grey look of :mod:`.crosslingual` reads English text the n-gram model is unsure of
with multilingual-e5-small, about 1.4 ms of one core per token: a 30-word turn costs tens
of milliseconds, and 1-3% of ordinary chat turns are in the zone, which made the grey look
most of the scan's mean time. The gate reads those turns first with the default embedder
(all-MiniLM-L6-v2 int8, about a tenth of the cost per token) and a head of the same shape
(:class:`.crosslingual.Head`, ``"gate"`` in ``crosslingual.json``, fitted by
``tools/guard_crosslingual.py fit --grey-gate``) on the same rows and the training texts in
the zone. Only a turn it scores above its threshold goes on to e5; the threshold lets on
about a third of the training negatives in the zone (its ``share`` in the file), and the
grey look's own threshold was set on the ones it lets on. Measured on nine held-out
sources, the gated look caught a few more attacks than the ungated one at fewer false
positives on held-out chat (docs/trust.md, "Twenty-first pass").

A file without ``"gate"``, or a process without the default embedder (onnxruntime
missing), lets every grey-zone turn on: the grey look as before, dearer. Nothing here
keeps a text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from . import crosslingual

__all__ = ["MODEL", "available", "load_gate_head", "passes"]

#: the vectors the gate's head was fitted on: the default embedder's (all-MiniLM-L6-v2
#: int8 on onnxruntime, one thread), of the text as a document
MODEL = "onnx all-MiniLM-L6-v2-int8 document"


def _load() -> Any:
    """The default embedder, one thread, loaded; ``None`` without onnxruntime or its model
    (the gate then lets every turn on)."""
    try:
        from ..embed.onnx_minilm import OnnxMiniLM

        model = OnnxMiniLM(threads=1)
        model.load()
    except Exception:  # noqa: BLE001 - no onnxruntime or no model: no gate
        return None
    return model


#: the gate's one embedder (the default embedder, not the one an engine is configured
#: with: the head was fitted on its vectors)
_ENCODER = crosslingual.LazyEncoder(_load, lambda model, text: model.embed([text])[0])


def available() -> bool:
    """Whether the gate can read here (the default embedder loads)."""
    return _ENCODER.available()


@lru_cache(maxsize=1)
def load_gate_head() -> crosslingual.Head | None:
    """The shipped gate head (``"gate"`` in ``crosslingual.json``), or ``None`` when the
    file has none."""
    data = crosslingual._shipped().get("gate")
    return None if data is None else crosslingual.Head.from_json(data)


def passes(text: str) -> bool:
    """Whether the grey look should read ``text``, a grey-zone turn: its gate score (of
    the part the head's window reads, :func:`.crosslingual.read`) is above the gate head's
    threshold. True when there is no gate head or no embedder."""
    head = load_gate_head()
    if head is None or not _ENCODER.available():
        return True
    extra = crosslingual.hybrid_inputs(text, head) if head.extra_inputs else ()
    vector = _ENCODER.encode(crosslingual.read(text, head.window))
    return head.probability(vector, extra) > head.threshold
