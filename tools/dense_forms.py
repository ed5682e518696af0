"""The dense signal alone, raw cosines: what the store embeds and what the query embeds.

    python -m tools.dense_forms --data-dir ../shared/data --sets locomo,realtalk --part dev
    python -m tools.dense_forms --sets realtalk --queries      # the query's readings

Reads each data set with the bench's loaders and ranks every turn of a conversation
by the cosine with the question (no store, no fusion, no reranker), with the default
embedder behind ``--embed-cache`` (the cache of ``engram bench all``). Prints R_any@10,
R@5 and MRR per set for each form:

- default: the text each turn is embedded as (``[date] Name: text``, as
  :func:`engram.ingest.index.embedding_text`), ``Name: text``, ``text`` and
  ``[date] text``;
- ``--queries``: the turns as stored, the question as asked, without its names
  (:func:`engram.retrieval.unnamed.unnamed`) and the two mixed at weights .5, 1 and 2,
  each also centred on the conversation's mean turn vector at .5 as the search centres.

Session 53 measured with it (docs/recall.md, "Session 53").
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from engram.bench.dataset import Turn
from engram.bench.suite import load_set
from engram.retrieval.unnamed import unnamed


def _day(turn: Turn) -> str:
    return f"{turn.occurred_at.day} {turn.occurred_at:%B %Y}"


#: name -> the text a turn is embedded as
FORMS: dict[str, Callable[[Turn], str]] = {
    "[date] Name: text": lambda t: f"[{_day(t)}] {t.speaker or t.role}: {t.text}",
    "Name: text": lambda t: f"{t.speaker or t.role}: {t.text}",
    "text": lambda t: t.text,
    "[date] text": lambda t: f"[{_day(t)}] {t.text}",
}


def _unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return out


def _query_forms(q: np.ndarray, u: np.ndarray, mean: np.ndarray) -> dict[str, np.ndarray]:
    forms = {"question": q, "without names": u}
    for w in (0.5, 1.0, 2.0):
        forms[f"mixed {w:g}"] = _unit(q + w * u)
    for name in ("question", "mixed 0.5", "mixed 1", "mixed 2"):
        forms[f"{name}, centred"] = _unit(forms[name] - 0.5 * mean)
    return forms


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--sets", default="locomo,realtalk,beam,letta_read")
    ap.add_argument("--part", default="dev", choices=("dev", "held"))
    ap.add_argument("--embed-cache", default="", help="the bench's on-disk embedding cache")
    ap.add_argument("--queries", action="store_true", help="the query's readings instead")
    args = ap.parse_args(argv)

    from engram.embed.registry import get_embedder

    emb = get_embedder("default")
    if args.embed_cache:
        from engram.bench.diskcache import DiskCachedEmbedder

        emb = DiskCachedEmbedder(emb, args.embed_cache)
    for name in args.sets.split(","):
        ds = load_set(name, args.data_dir).part(args.part)
        scores: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        for conv in ds.conversations:
            turns = [t for s in conv.sessions for t in s.turns]
            ids = [t.id for t in turns]
            asked = [q for q in conv.questions if q.scored and q.evidence_turns]
            if not asked:
                continue
            q = _unit(np.asarray(emb.embed([x.text for x in asked], "query"), dtype=np.float64))
            if args.queries:
                docs = _unit(np.asarray(emb.embed([FORMS["[date] Name: text"](t) for t in turns]),
                                        dtype=np.float64))
                u = _unit(np.asarray(emb.embed([unnamed(x.text) or x.text for x in asked],
                                               "query"), dtype=np.float64))
                mean = docs.mean(axis=0, keepdims=True)
                runs = {k: (m, docs) for k, m in _query_forms(q, u, mean).items()}
            else:
                runs = {k: (q, _unit(np.asarray(emb.embed([f(t) for t in turns]),
                                                dtype=np.float64)))
                        for k, f in FORMS.items()}
            for form, (queries, docs) in runs.items():
                sims = queries @ docs.T
                for i, question in enumerate(asked):
                    gold = set(question.evidence_turns)
                    order = np.argsort(-sims[i], kind="stable")
                    rank = next((r for r, j in enumerate(order) if ids[j] in gold), len(ids))
                    scores[form].append((float(rank < 10), float(rank < 5), 1.0 / (rank + 1)))
        n = len(next(iter(scores.values()), []))
        print(f"{name} {args.part} ({n} questions)")
        for form, rows in scores.items():
            a = np.asarray(rows)
            print(f"  {form:26s} R_any@10 {a[:, 0].mean():.3f}  R@5 {a[:, 1].mean():.3f}  "
                  f"MRR {a[:, 2].mean():.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
