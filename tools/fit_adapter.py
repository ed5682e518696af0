"""Fit the dense query adapter (:mod:`engram.retrieval.adapter`) on the development questions.

    python -m tools.fit_rerank_heads --work W          # once: the data sets' stores in W
    python -m tools.fit_adapter --work W               # the ridge grid, LODO, held
    python -m tools.fit_adapter --work W --ridge 0.3 --out src/engram/data/query_adapter.npz
    python -m tools.fit_adapter --work W --ridge 0.3 --exclude beam --out W/fold-beam.npz

Reads each data set's store as :mod:`tools.eval_sets` builds it (the episodes'
stored vectors through ``Store.iter_vectors``) and embeds the questions with the
default embedder (kept in ``W/adapter-<set>.npz``). For a question, the dense
signal's query is the ``recall`` preset's: adapted, centred on the user's mean
episode vector, moved towards a broad query's topic; its rank is the best gold
turn's among every episode of the conversation.

The fit: ``q' = q + A q`` (``q`` unit), a listwise softmax over the conversation's
episodes at temperature ``--tau`` (the evidence turns share the target), ridge
``--ridge * |A|^2``, Adam from ``A = 0`` for ``--epochs`` full passes over the dev
questions of ``--sets`` (never a held part). Without ``--ridge`` a grid is run:
each value fitted leave-one-data-set-out (on the other sets' dev parts, scored on
the left-out set's dev part) and on all dev parts (scored on every held part);
printed: the share of questions whose best gold turn is in the top 10 / 30 / 60.
``--out`` writes the fit on all dev parts of the sets left after ``--exclude`` as
the shipped file's format (float16 matrix and the model id).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engram.retrieval import topics

__all__ = ["fit", "load", "main", "ranks"]

SETS = ("locomo", "realtalk", "beam")
CENTRE = TOPIC = 0.5


def _unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return out


def load(work: Path, name: str, data_dir: str) -> list[dict[str, Any]]:
    """Per conversation of ``name``: its part, episode matrix ``E`` (unit rows), mean
    ``mu``, question matrix ``Q`` (unit rows), questions ``(text, gold rows, broad)`` and
    the embedder ``emb`` (the topic move's)."""
    from tools.eval_sets import _engine

    eg, ds, episode_turn = _engine(work, name, data_dir)
    part_of = {c.id: p for p in ("dev", "held") for c in ds.part(p).conversations}
    per: dict[str, tuple[list[str], list[np.ndarray]]] = {}
    for rec in eg.store.iter_vectors("default"):
        turn = episode_turn.get(rec.ref.id)
        if rec.ref.type != "episode" or turn is None:
            continue
        ids, vecs = per.setdefault(rec.ref.id[: -len(turn) - 1], ([], []))
        ids.append(turn)
        vecs.append(np.asarray(rec.vector, dtype=np.float64))
    emb = eg.embedder()
    convs: list[dict[str, Any]] = []
    texts: list[str] = []
    for conv in ds.conversations:
        if conv.id not in per:
            continue
        ids, vecs = per[conv.id]
        e = _unit(np.stack(vecs))
        row = {t: i for i, t in enumerate(ids)}
        qs = []
        for q in conv.questions:
            gold = [row[t] for t in q.evidence_turns if t in row] if q.scored else []
            if gold:
                qs.append((q.text, gold, topics.broad(q.text)))
                texts.append(q.text)
        convs.append({"part": part_of.get(conv.id, "dev"), "E": e, "mu": e.mean(axis=0),
                      "qs": qs, "emb": emb})
    cache = work / f"adapter-{name}.npz"
    saved = np.load(cache) if cache.exists() else None
    if saved is not None and json.loads(str(saved["texts"])) == texts:
        qm = saved["Q"]
    else:
        qm = np.asarray(emb.embed(texts, "query"), dtype=np.float64).reshape(len(texts), -1)
        np.savez(cache, Q=qm, texts=np.array(json.dumps(texts)))
    i = 0
    for c in convs:
        c["Q"], i = _unit(qm[i:i + len(c["qs"])]), i + len(c["qs"])
    eg.close()
    return convs


def _query(q: np.ndarray, a: np.ndarray | None, c: dict[str, Any], broad: bool) -> np.ndarray:
    v = q if a is None else q + a @ q
    v = v / np.linalg.norm(v) - CENTRE * c["mu"]
    v = v / np.linalg.norm(v)
    if broad:
        v = topics.expanded(v.astype(np.float32), c["emb"], TOPIC).astype(np.float64)
    return v


def ranks(convs: Sequence[dict[str, Any]], a: np.ndarray | None) -> np.ndarray:
    """The best gold turn's rank (1-based) per question, the dense signal alone."""
    out = []
    for c in convs:
        for q, (_, gold, broad) in zip(c["Q"], c["qs"], strict=True):
            s = c["E"] @ _query(q, a, c, broad)
            out.append(int((s > s[gold].max()).sum()) + 1)
    return np.array(out)


def _share(r: np.ndarray) -> str:
    return " / ".join(f"{(r <= k).mean():.3f}" for k in (10, 30, 60))


def fit(convs: Sequence[dict[str, Any]], ridge: float, tau: float = 0.05, epochs: int = 30,
        lr: float = 2e-3) -> np.ndarray:
    """``A`` minimising the mean listwise loss of ``convs``' questions + ``ridge |A|^2``."""
    d = convs[0]["E"].shape[1]
    a = np.zeros((d, d))
    m, v = np.zeros_like(a), np.zeros_like(a)
    nq = sum(len(c["qs"]) for c in convs)
    for step in range(1, epochs + 1):
        grad = np.zeros_like(a)
        for c in convs:
            if not c["qs"]:
                continue
            q, e = c["Q"], c["E"]
            qa = q + q @ a.T
            norm = np.linalg.norm(qa, axis=1, keepdims=True)
            u = qa / norm
            # centring subtracts a per-episode constant only after the final norm: the
            # softmax is taken over u . e (the order centring sees, up to that shift)
            s = (u @ e.T) / tau
            p = np.exp(s - s.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            r = np.zeros_like(p)
            for i, (_, gold, _) in enumerate(c["qs"]):
                r[i, gold] = p[i, gold] / p[i, gold].sum()
            h = ((p - r) / tau) @ e  # d loss / d u
            grad += ((h - (h * u).sum(axis=1, keepdims=True) * u) / norm).T @ q
        grad = grad / nq + ridge * a
        m = .9 * m + .1 * grad
        v = .999 * v + .001 * grad * grad
        a -= lr * (m / (1 - .9 ** step)) / (np.sqrt(v / (1 - .999 ** step)) + 1e-8)
    return a


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.fit_adapter", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--work", default="/tmp/engram-eval")
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--ridge", type=float, default=None, help="one value (default: the grid)")
    p.add_argument("--grid", default="0.03,0.1,0.3,1")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--tau", type=float, default=0.05)
    p.add_argument("--exclude", default="", help="a set left out of the --out fit")
    p.add_argument("--out", default="", help="write the fit on all dev parts here")
    args = p.parse_args(argv)
    work = Path(args.work)
    names = args.sets.split(",")
    data = {n: load(work, n, args.data_dir) for n in names}

    def dev(ns: Sequence[str]) -> list[dict[str, Any]]:
        return [c for n in ns for c in data[n] if c["part"] == "dev"]

    def held(n: str) -> list[dict[str, Any]]:
        return [c for c in data[n] if c["part"] == "held"]

    counts = ", ".join(f"{n} {sum(len(c['qs']) for c in data[n])}" for n in names)
    print(f"dense signal alone, best gold turn in the top 10 / 30 / 60 (questions: {counts})")
    for n in names:
        print(f"  no adapter    {n:9s} dev {_share(ranks(dev([n]), None))}"
              f"   held {_share(ranks(held(n), None))}")
    if args.ridge is None:
        for ridge in (float(x) for x in args.grid.split(",")):
            everything = fit(dev(names), ridge, args.tau, args.epochs)
            size = np.linalg.norm(everything)
            means = []
            for n in names:
                lodo = ranks(dev([n]), fit(dev([m for m in names if m != n]), ridge, args.tau,
                                           args.epochs))
                means.append((lodo <= 10).mean())
                print(f"  ridge {ridge:<6} {n:9s} LODO dev {_share(lodo)}   all-dev fit, held "
                      f"{_share(ranks(held(n), everything))}   |A| {size:.2f}", flush=True)
            print(f"  ridge {ridge:<6} LODO top 10, mean over sets {np.mean(means):.3f}")
    if args.out:
        ridge = 0.3 if args.ridge is None else args.ridge
        a = fit(dev([n for n in names if n != args.exclude]), ridge, args.tau, args.epochs)
        np.savez_compressed(args.out, matrix=a.astype(np.float16),
                            model_id=np.array(data[names[0]][0]["emb"].model_id))
        print(f"wrote {args.out} (ridge {ridge}, without {args.exclude or 'nothing'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
