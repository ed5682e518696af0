"""Pooled relevance judging: blind inputs for a reader, and the reader's verdicts as judgments.

    python -m tools.judge_pool inputs --set realtalk --part held --work W --out F.jsonl
    python -m tools.judge_pool inputs --set locomo --part dev --work W --out C.jsonl \
        --calibration 30
    python -m tools.judge_pool judgments --inputs F.jsonl --verdicts V.jsonl --set realtalk \
        --pool "held: recall misses at 10" --into tools/judged/realtalk.jsonl

``inputs`` searches every question of the part with the preset (as the bench does:
``now`` the question's time, 20 hits, distinct units) and writes, for each question it
misses at 10 by the labels, the first 10 units as the turns they are (speaker, date,
text), without the labels; ``F.units.json`` keeps which turn each shown rank is. With
``--calibration N`` it writes instead N questions the preset *answers*, their 10 units
and two random turns of the chat, shuffled, and a key (``F.key.json``: which ranks are
labelled, which random), to measure the reader: how many labelled turns they call
relevant, how many random ones.

The reader (a person or a helper who has seen no labels and no rule) writes one line
per question, ``{"qid": ..., "relevant": [ranks], "why": "..."}``, to the brief in
``tools/judged/README.md``. ``judgments`` turns those lines into
:mod:`engram.bench.judged` rows (turn ids, every shown turn judged), which
``engram bench all --judged tools/judged`` reads.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

from engram.bench.contexts import hit_units, scope_user
from engram.bench.metrics import distinct_ranking
from tools.eval_sets import _engine


def _shown(turn: Any, chars: int) -> dict[str, Any]:
    return {"type": "episode", "speaker": turn.speaker or turn.role,
            "date": str(turn.occurred_at)[:16], "text": turn.text[:chars]}


def inputs(args: argparse.Namespace) -> None:
    eg, ds, episode_turn = _engine(Path(args.work), args.set, args.data_dir)
    part = ds.part(args.part)
    rnd = random.Random(args.seed)
    rows, units, keys = [], {}, {}
    for conv in part.conversations:
        turns = {t.id: t for s in conv.sessions for t in s.turns}
        speakers = sorted({t.speaker for t in turns.values() if t.speaker})
        for q in conv.questions:
            if not q.scored or not q.evidence_turns:
                continue
            hits = eg.search(q.text, user_id=scope_user(conv), limit=20, preset=args.preset,
                             now=q.asked_at, track_access=False)
            # the turns of the first 10 distinct hits, as R_any@10 counts them (a memory
            # hit stands for every turn it came from)
            top = [u for g in distinct_ranking([hit_units(h, episode_turn) for h in hits])[:10]
                   for u in g if u in turns]
            found = bool(set(q.evidence_turns) & set(top))
            if found != bool(args.calibration):
                continue
            shown = list(top)
            if args.calibration:
                others = [t for t in turns if t not in top and t not in q.evidence_turns]
                shown += rnd.sample(others, min(2, len(others)))
                rnd.shuffle(shown)
                keys[q.id] = {"labelled": [k + 1 for k, u in enumerate(shown)
                                           if u in q.evidence_turns],
                              "random": [k + 1 for k, u in enumerate(shown) if u not in top]}
            units[q.id] = shown
            rows.append({"qid": q.id, "question": q.text, "speakers": speakers,
                         **({"type": q.category} if args.types else {}),
                         "hits": [{"rank": k + 1, **_shown(turns[u], args.chars)}
                                  for k, u in enumerate(shown)]})
    if args.calibration:
        picked = {r["qid"] for r in rnd.sample(rows, min(args.calibration, len(rows)))}
        rows = [r for r in rows if r["qid"] in picked]
        units = {k: v for k, v in units.items() if k in picked}
        keys = {k: v for k, v in keys.items() if k in picked}
        Path(args.out).with_suffix(".key.json").write_text(json.dumps(keys))
    Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in rows))
    Path(args.out).with_suffix(".units.json").write_text(json.dumps(units))
    print(f"{args.set} {args.part}: {len(rows)} questions", file=sys.stderr)


def judgments(args: argparse.Namespace) -> None:
    """The verdicts as judgment rows, printed; with ``--into FILE``, merged into that
    file instead: a question judged again keeps every turn either reader saw, and a turn
    is relevant when a reader who saw it said so (the turns two readers disagree on are
    counted on stderr)."""
    units = json.loads(Path(args.inputs).with_suffix(".units.json").read_text())
    rows: dict[str, dict[str, Any]] = {}
    into = Path(args.into) if args.into else None
    if into is not None and into.exists():
        for line in into.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                rows[row["question"]] = row
    disagree = 0
    for line in Path(args.verdicts).read_text().splitlines():
        if not line.strip():
            continue
        v = json.loads(line)
        shown = units[v["qid"]]
        judged, relevant = set(shown), {shown[r - 1] for r in v["relevant"]}
        old = rows.get(v["qid"])
        if old is not None:
            before, was = set(old["judged"]), set(old["relevant"])
            disagree += len((before & judged) & (was ^ relevant))
            judged, relevant = judged | before, relevant | was
            pool = old["pool"] if args.pool in old["pool"] else f"{old['pool']}; {args.pool}"
        else:
            pool = args.pool
        rows[v["qid"]] = {"set": args.set, "question": v["qid"], "judged": sorted(judged),
                          "relevant": sorted(relevant), "pool": pool}
    text = "".join(json.dumps(r) + "\n" for r in rows.values())
    if into is None:
        sys.stdout.write(text)
    else:
        into.write_text(text)
    print(f"{len(rows)} questions; {disagree} turns two readers judged apart", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("inputs")
    a.add_argument("--set", required=True)
    a.add_argument("--part", choices=("dev", "held"), required=True)
    a.add_argument("--work", required=True, help="tools.eval_sets' store folder")
    a.add_argument("--data-dir", default="../shared/data")
    a.add_argument("--preset", default="recall")
    a.add_argument("--out", required=True)
    a.add_argument("--calibration", type=int, default=0)
    a.add_argument("--seed", type=int, default=50)
    a.add_argument("--chars", type=int, default=700, help="a turn's text shown, at most")
    a.add_argument("--types", action="store_true", help="show each question's type (BEAM)")
    a.set_defaults(run=inputs)
    j = sub.add_parser("judgments")
    j.add_argument("--inputs", required=True)
    j.add_argument("--verdicts", required=True)
    j.add_argument("--set", required=True)
    j.add_argument("--pool", required=True)
    j.add_argument("--into", default=None, help="merge into this judgments file")
    j.set_defaults(run=judgments)
    args = ap.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
