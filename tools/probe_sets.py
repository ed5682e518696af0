"""Blind probe sets: small chats, one question each, ranked by several presets.

    python -m tools.probe_sets tests/fixtures/probe_s52.jsonl --work /tmp/probe \
        --variants recall,bm25,dense,recall-expand --part dev

A probe set (session 52) is written by a helper who read no source, test or rule of
the engine: each line is a case of three or four dated sessions of chat (``"assistant"``
style: a user and the assistant; ``"friends"``: two named people), a question asked
after them and the turns that answer it (``evidence``: ``[session, turn]`` pairs). Its
``kind`` says how the question relates to its answer: ``category`` (a category asked, an
instance told), ``paraphrase``, ``indirect`` (the answer inferred) or ``control`` (words
shared). Every case also holds turns that share the question's words and do not answer it.

Each case is its own user in one SQLite store (``--work/<file stem>.db``, kept: later runs
only search). The part of a case is fixed by its id: ``held`` when
``sha256(id) % 5 < 2``, else ``dev``. Prints, per variant (:func:`tools.eval_sets.variant`)
and kind, the answering turn's R@1, R@5, R@10 and MRR over the chosen part, and with
``--evidence`` whether it is in a 1,024-token ``context()`` block. ``--show ID`` prints one
development case's top 10 (never a held one's); ``--dump F`` keeps each case's ranks.
``--pool`` stores every friends-style case under one user (a store of some 2,000 turns by
120 people), so a question meets every other chat's turns too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engram.bench.contexts import context_blocks, hit_units
from engram.bench.dataset import Question
from engram.bench.runner import default_engine
from tools.eval_sets import variant

__all__ = ["POOL", "add_case", "load", "main", "part_of", "ranks", "user_of"]

KINDS = ("category", "paraphrase", "indirect", "control")


def part_of(case_id: str) -> str:
    """``held`` for two ids in five (by ``sha256(id)``), else ``dev``."""
    return "held" if int(hashlib.sha256(case_id.encode()).hexdigest(), 16) % 5 < 2 else "dev"


def load(paths: Sequence[str]) -> list[dict[str, Any]]:
    """The cases of the JSONL files ``paths``, in order."""
    return [json.loads(line) for p in paths
            for line in Path(p).read_text().splitlines() if line.strip()]


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def turn_id(case: dict[str, Any], s: int, t: int) -> str:
    return f"{case['id']}:{s}:{t}"


#: the one user every friends-style case is stored under with ``--pool``
POOL = "pool-friends"


def user_of(case: dict[str, Any], pool: bool = False) -> str:
    """The user a case is stored under: its own id, or with ``pool`` (friends style
    only) :data:`POOL`."""
    return POOL if pool and case.get("style") == "friends" else str(case["id"])


def add_case(eg: Any, case: dict[str, Any], pool: bool = False) -> None:
    """Stores ``case`` as user ``case["id"]``: session ``s<n>`` at its date (9:00, a
    minute a turn), turn ids ``<id>:<session>:<turn>``; in the assistant style the
    assistant's turns have the role ``assistant``, in the friends style every turn is
    a user's with its speaker's name. With ``pool`` a friends-style case is stored
    under :data:`POOL` instead, session ``<id>:s<n>``: every pair of friends in one store,
    each question asked of all of them (their names differ, so only the named person's
    turns can answer)."""
    friends = case.get("style") == "friends"
    for s, session in enumerate(case["sessions"]):
        t0 = _day(session["date"]) + timedelta(hours=9)
        msgs = []
        for t, turn in enumerate(session["turns"]):
            who = turn["speaker"]
            msg: dict[str, Any] = {"id": turn_id(case, s, t), "text": turn["text"],
                                   "occurred_at": t0 + timedelta(minutes=t)}
            if friends:
                msg |= {"role": "user", "speaker": who}
            else:
                msg["role"] = "assistant" if who == "assistant" else "user"
            msgs.append(msg)
        eg.add(msgs, user_id=user_of(case, pool),
               session_id=f"{case['id']}:s{s}" if pool and friends else f"s{s}")


def _question(case: dict[str, Any]) -> Question:
    """``case``'s question as a benchmark question (its answering turns as evidence),
    asked at noon on its day."""
    return Question(id=case["id"], conversation_id=case["id"], text=case["question"],
                    answer="", category=case["kind"],
                    evidence_turns=tuple(turn_id(case, s, t) for s, t in case["evidence"]),
                    evidence_sessions=(), asked_at=_day(case["asked"]) + timedelta(hours=12))


def _answers(hit: Any, wanted: set[str]) -> bool:
    """Whether ``hit`` is an answering turn or a memory citing one (a turn's id is its
    episode's: :func:`add_case`)."""
    return bool(wanted.intersection(hit_units(hit, {w: w for w in wanted})))


def ranks(eg: Any, case: dict[str, Any], preset: str, evidence: bool = False,
          pool: bool = False) -> dict[str, Any]:
    """The 0-based rank of the first answering turn (or a memory citing it) among 50
    hits (``None`` beyond), and with ``evidence`` whether a 1,024-token block holds it
    (the block ``context()`` packs, :func:`engram.bench.contexts.context_blocks`)."""
    q, cfg, user = _question(case), variant(preset), user_of(case, pool)
    wanted = set(q.evidence_turns)
    hits = eg.search(q.text, user_id=user, limit=50, preset=cfg, now=q.asked_at,
                     track_access=False)
    out: dict[str, Any] = {"rank": next(
        (r for r, h in enumerate(hits) if _answers(h, wanted)), None)}
    if evidence:
        units: dict[Any, list[str]] = {}
        block = context_blocks(eg, q, user, cfg, [1024], units,  # type: ignore[arg-type]
                               {w: w for w in wanted})[1024]
        out["block"] = any(wanted.intersection(units.get(i.ref, ())) for i in block.items)
    return out


def _row(name: str, got: list[dict[str, Any]], evidence: bool) -> str:
    n = len(got)
    if not n:
        return f"{name:28s} n=0"
    rs = [g["rank"] for g in got]
    at = [sum(1 for r in rs if r is not None and r < k) / n for k in (1, 5, 10)]
    mrr = sum(1 / (r + 1) for r in rs if r is not None) / n
    line = (f"{name:28s} n={n:3d} R@1 {at[0]:.3f} R@5 {at[1]:.3f} R@10 {at[2]:.3f}"
            f" MRR {mrr:.3f}")
    if evidence:
        line += f" ev@1024 {sum(g['block'] for g in got) / n:.3f}"
    return line


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--variants", default="recall,bm25,dense")
    ap.add_argument("--part", choices=("dev", "held", "all"), default="dev")
    ap.add_argument("--evidence", action="store_true")
    ap.add_argument("--show", default="")
    ap.add_argument("--dump", default="")
    ap.add_argument("--pool", action="store_true",
                    help="the friends-style cases in one store (one user), asked there")
    args = ap.parse_args(argv)

    from engram.bench.diskcache import DiskCachedEmbedder
    from engram.embed.registry import get_embedder

    cases = load(args.files)
    args.work.mkdir(parents=True, exist_ok=True)
    stem = "_".join(Path(f).stem for f in args.files) + ("_pool" if args.pool else "")
    db = args.work / f"{stem}.db"
    fresh = not db.exists()
    emb = DiskCachedEmbedder(get_embedder("default"), args.work / "embed-cache.sqlite")
    eg = default_engine(db, emb)
    try:
        if fresh:
            for case in cases:
                add_case(eg, case, args.pool)
        if args.show:
            case = next(c for c in cases if c["id"] == args.show)
            if part_of(case["id"]) != "dev":
                raise SystemExit("a held case is never shown")
            _show(eg, case, args.variants.split(",")[0], args.pool)
            return
        chosen = [c for c in cases if args.part == "all" or part_of(c["id"]) == args.part]
        dump: dict[str, dict[str, Any]] = defaultdict(dict)
        for v in args.variants.split(","):
            by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for case in chosen:
                got = ranks(eg, case, v, args.evidence, args.pool)
                by_kind[case["kind"]].append(got)
                by_kind["all"].append(got)
                by_kind["no shared word"].extend([got] if case["kind"] != "control" else [])
                dump[v][case["id"]] = got
            for kind in ("all", "no shared word", *KINDS):
                print(_row(f"{v} {kind}", by_kind[kind], args.evidence))
        if args.dump:
            Path(args.dump).write_text(json.dumps(dump, indent=1))
    finally:
        eg.close()


def _show(eg: Any, case: dict[str, Any], preset: str, pool: bool = False) -> None:
    turns = {turn_id(case, s, t): tt for s, sess in enumerate(case["sessions"])
             for t, tt in enumerate(sess["turns"])}
    q = _question(case)
    wanted = set(q.evidence_turns)
    print("Q:", q.text, f"({case['kind']})")
    for w in sorted(wanted):
        print("  ev", w, turns[w]["speaker"], turns[w]["text"][:160])
    hits = eg.search(q.text, user_id=user_of(case, pool), limit=10, preset=variant(preset),
                     now=q.asked_at, track_access=False)
    for h in hits:
        mark = "*" if _answers(h, wanted) else " "
        print(f" {mark} {h.score:6.3f} {h.item.id[-8:]:>8s} {h.text[:140]!r}")


if __name__ == "__main__":
    main()
