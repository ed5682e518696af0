"""Quick retrieval sweeps over the four data sets, for developing ranking rules.

    python -m tools.eval_sets --data-dir ../shared/data --sets letta_update,beam \
        --variants recall,no-updates,no-floors --part dev

Each set is ingested once into ``--work/<set>.db`` (kept: later sweeps only
search) with the on-disk embedding cache of ``engram bench all``; the set
``beam500k`` is BEAM 100K+500K (``engram bench all --beam-500k``). A variant is
the ``recall`` preset with some fields changed (see :data:`VARIANTS`). Prints,
per set and variant, R_any@10, MRR, knowledge-update accuracy on the chosen
part and search latency p50/p95 (query embedding included). In a fresh
process the first search of each conversation also loads its lexical index;
``--warm`` searches each conversation once before timing, so p95 measures
searching, not loading (BEAM has 20 questions a conversation, letta one).
``--dump FILE`` keeps each question's figures; ``python -m tools.eval_diff A B``
lists the questions two dumps (two trees, or two variants) rank differently.
``engram bench all`` is the instrument of record; this is the workbench.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from engram.bench.contexts import context_blocks, hit_units, scope_user
from engram.bench.metrics import distinct_ranking, score_ranking
from engram.bench.progress import Progress
from engram.bench.runner import default_engine, ingest_dataset
from engram.bench.suite import load_set, update_correct
from engram.config import Config
from engram.retrieval.config import RetrievalConfig, get_preset

#: name -> changes to the recall preset
VARIANTS: dict[str, dict[str, Any]] = {
    "overview": {"overview": True},
    "recall": {},
    # session 30: the cross-encoder (embed/minilm_cross.py) re-scores the top 20
    "cross": {"cross_model": "minilm-cross", "cross_depth": 20, "cross_weight": 3.0,
              "cross_stage": "ranked"},
    "cross-last": {"cross_model": "minilm-cross", "cross_depth": 20, "cross_weight": 3.0},
    "cross-1.5": {"cross_model": "minilm-cross", "cross_depth": 20, "cross_weight": 1.5,
                  "cross_stage": "ranked"},
    "old": {"floors": {}, "keep_top": 0, "update_depth": 0},
    "no-updates": {"update_depth": 0},
    "no-floors": {"floors": {}, "keep_top": 0},
    "floors-bm25": {"floors": {"dense": 3, "bm25": 3}},
    "updates-20": {"update_depth": 20},
    "p0": {"present_weight": 0.0},
    "p1": {"present_weight": 1.0},
    "p2": {"present_weight": 2.0},
    # session 11: the lexical feedback's weight around recall's .2 (0: "recall-s10")
    "feedback-0.1": {"feedback_weight": 0.1},
    "feedback-0.3": {"feedback_weight": 0.3},
    # session 12: question -> statement rewrite of the dense query (retrieval/reformulate.py);
    # "dense+<name>" applies one of these to the dense preset instead of recall
    # session 53: the question without its names mixed into the dense query (retrieval/unnamed.py)
    "unnamed-0.5": {"unnamed_weight": 0.5},
    # session 55: a day named by its date also searched by its holiday's name
    "holiday-0.5": {"holiday_weight": 0.5},
    "holiday-1": {"holiday_weight": 1.0},
    "unnamed-1": {"unnamed_weight": 1.0},
    "unnamed-2": {"unnamed_weight": 2.0},
    "restate-0.5": {"restate_weight": 0.5},
    "restate-1": {"restate_weight": 1.0},
    "restate-2": {"restate_weight": 2.0},
    "restate-sp-0.5": {"restate_weight": 0.5, "restate_form": "speaker"},
    "restate-sp-1": {"restate_weight": 1.0, "restate_form": "speaker"},
    "restate-sp-2": {"restate_weight": 2.0, "restate_form": "speaker"},
    "restate-named-0.5": {"restate_weight": 0.5, "restate_form": "named"},
    "restate-named-1": {"restate_weight": 1.0, "restate_form": "named"},
    "restate-sp-4": {"restate_weight": 4.0, "restate_form": "speaker"},
    "restate-merge": {"restate_merge": True},
    "restate-sp-merge": {"restate_merge": True, "restate_form": "speaker"},
    # session 49: a query term's derivations also search the lexical signal
    "variants-0.5": {"variant_weight": 0.5},
    "variants-0.3": {"variant_weight": 0.3},
    "variants-1": {"variant_weight": 1.0},
    # session 50: category -> instance expansion measured again on today's pipeline
    "expand-0.5": {"expand_weight": 0.5},
    "expand-1": {"expand_weight": 1.0},
    "adapted": {"adapter_weight": 1.0},
    # session 42: no standing instruction carried into a context block
    "no-standing": {"standing": -1},
    # session 9: the dense query moved towards its topic with the recall weights
    # (the refitted weights are the preset "recall-topics")
    "topic-0.5": {"topic_weight": 0.5},
    # session 6's all-sets weights (before dense_nolex / session_nolex), to compare
    "s6-weights": {"rerank": {
        "fused": -0.3258, "bm25": 0.2797, "bm25_top": 0.768, "dense": 0.4333,
        "dense_gap": 0.2995, "dense_top": 0.2321, "window": 2.2351, "dense_window": 1.2499,
        "coverage": 1.6586, "names": 0.2904, "speaker": 1.7385, "session": 0.753,
        "time_in": 1.057, "time_out": -0.5214, "when_time": 2.0696, "question": -0.3923,
        "prev_coverage": 0.4644, "length": 1.5574, "assistant": -2.9887, "memory": 3.0835}},
    # the reranker weights fitted on LoCoMo dev alone (before session 6), to compare
    "locomo-weights": {"rerank": {
        "fused": 1.8751, "bm25": -0.8267, "bm25_top": 0.9317, "dense": -0.4144,
        "dense_gap": 0.5509, "dense_top": 0.0563, "window": 2.363, "dense_window": 1.1146,
        "coverage": 1.2236, "names": 0.2796, "speaker": 2.1027, "session": 1.0328,
        "time_in": 0.7849, "time_out": -0.5228, "when_time": 2.1587, "question": -0.4562,
        "prev_coverage": 1.3061, "length": 1.9945, "memory": 3.6809, "assistant": -3.0}},
}


def _pct(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


def variant(name: str) -> RetrievalConfig:
    if name in ("bm25", "dense", "hybrid") or name.startswith("recall-"):
        return get_preset(name)
    if name.startswith("dense+"):
        return get_preset("dense").replace(name=name, **VARIANTS[name[len("dense+"):]])
    if name.startswith("s52+"):  # a variant of the default of sessions 32-52
        return get_preset("recall-s52").replace(name=name, **VARIANTS[name[len("s52+"):]])
    return get_preset("recall").replace(name=f"recall:{name}", **VARIANTS[name])


def _engine(work: Path, name: str, data_dir: str, workers: int = Config.embed_workers
            ) -> tuple[Any, Any, dict[str, str]]:
    from engram.bench.diskcache import DiskCachedEmbedder
    from engram.embed.registry import get_embedder

    ds = (load_set("beam", data_dir, beam_sizes=("100K", "500K")) if name == "beam500k"
          else load_set(name, data_dir))
    # passes at once, as the engine's embedder
    emb = DiskCachedEmbedder(get_embedder("default", workers=workers),
                             work / "embed-cache.sqlite")
    db = work / f"{name}.db"
    fresh = not db.exists()
    eg = default_engine(db, emb)
    turns_file = work / f"{name}.turns.json"
    if fresh or not turns_file.exists():
        _, episode_turn = ingest_dataset(eg, ds, Progress(enabled=False))
        turns_file.write_text(json.dumps(episode_turn))
    return eg, ds, json.loads(turns_file.read_text())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--sets", default="letta_update,beam,realtalk,locomo,letta_read")
    ap.add_argument("--variants", default="old,recall,dense")
    ap.add_argument("--part", default="dev", choices=("dev", "held", "all"))
    ap.add_argument("--work", default="/tmp/engram-eval")
    ap.add_argument("--limit", type=int, default=None, help="questions per set")
    ap.add_argument("--workers", type=int, default=Config.embed_workers,
                    help="embedding passes at once (the engine's embed_workers)")
    ap.add_argument("--warm", action="store_true",
                    help="search each conversation once before timing (loads its index)")
    ap.add_argument("--evidence", action="store_true",
                    help="also evidence in a 1,024-token context() (one more search a question)")
    ap.add_argument("--dump", default=None, metavar="FILE",
                    help="write each question's figures (set -> variant -> question key -> "
                         "R_any@10, R_all@10, MRR, update) as JSON, for tools.eval_diff")
    args = ap.parse_args(argv)
    dump: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    for name in args.sets.split(","):
        eg, ds, episode_turn = _engine(work, name, args.data_dir, args.workers)
        part = ds if args.part == "all" else ds.part(args.part)
        qs = [(c, q) for c in part.conversations for q in c.questions if q.scored]
        qs = qs[: args.limit] if args.limit else qs
        if args.warm:
            for conv in {scope_user(c): c for c, _ in qs}.values():
                eg.search("hello", user_id=scope_user(conv), limit=1, preset="bm25",
                          track_access=False)
        keys = {id(q): f"{c.id}#{k}" for c in part.conversations
                for k, q in enumerate(c.questions)}
        for v in args.variants.split(","):
            cfg = variant(v)
            rows = dump.setdefault(name, {}).setdefault(v, {})
            r10: list[float] = []
            rall: list[float] = []
            mrr: list[float] = []
            ku: list[float] = []
            ev: list[float] = []
            ms: list[float] = []
            for conv, q in qs:
                t0 = time.perf_counter()
                hits = eg.search(q.text, user_id=scope_user(conv), limit=20, preset=cfg,
                                 now=q.asked_at, track_access=False)
                ms.append((time.perf_counter() - t0) * 1000)
                ranked = [hit_units(h, episode_turn) for h in hits]
                s = score_ranking(distinct_ranking(ranked), q.evidence_turns, (10,))
                if s is not None:
                    flat = s.flat()
                    r10.append(flat["recall_any@10"])
                    rall.append(flat["recall_all@10"])
                    mrr.append(flat["mrr"])
                ev_q: float | None = None
                if args.evidence and s is not None and not q.abstention:  # as the bench
                    units: dict[Any, list[str]] = {}
                    block = context_blocks(eg, q, scope_user(conv), cfg,  # type: ignore[arg-type]
                                           (1024,), units, episode_turn)[1024]
                    gold = set(q.evidence_turns)
                    ev_q = float(any(gold.intersection(units.get(i.ref, ()))
                                     for i in block.items))
                    ev.append(ev_q)
                k = update_correct(q, ranked)
                if k is not None:
                    ku.append(float(k))
                row: dict[str, Any] = {"question": q.text, "update": k}
                if s is not None:
                    row.update(r10=flat["recall_any@10"], rall=flat["recall_all@10"],
                               mrr=flat["mrr"])
                if ev_q is not None:
                    row["ev"] = ev_q
                rows[keys[id(q)]] = row
            avg = lambda xs: f"{sum(xs) / len(xs):.3f}" if xs else "-"  # noqa: E731
            ms.sort()
            p50, p95 = (_pct(ms, p) for p in (0.5, 0.95))
            print(f"{name:13} {args.part:4} {v:14} n={len(r10):4} R@10 {avg(r10)} "
                  f"Rall {avg(rall)} MRR {avg(mrr)} KU {avg(ku)} ({len(ku)}) "
                  + (f"ev@1024 {avg(ev)} ({len(ev)}) " if args.evidence else "")
                  + f"ms p50 {p50:.1f} p95 {p95:.1f}", flush=True)
        eg.close()
    if args.dump:
        Path(args.dump).write_text(json.dumps(dump, indent=0))


if __name__ == "__main__":
    main()
