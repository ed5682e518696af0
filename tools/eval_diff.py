"""The questions two ``tools.eval_sets --dump`` files rank differently.

    python -m tools.eval_sets ... --dump before.json     # on one tree
    python -m tools.eval_sets ... --dump after.json      # on another
    python -m tools.eval_diff before.json after.json [--mrr 0.05]

Prints, per set and variant found in both, each question whose R_any@10, R_all@10 or
knowledge-update result differs, or whose MRR moved by more than ``--mrr``, then a line
of totals (questions gained and lost at R_any@10, updates gained and lost, MRR before
and after). Two variants of one dump compare with ``--variants A,B`` on one file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

Rows = dict[str, dict[str, Any]]


def differences(before: Rows, after: Rows, mrr: float = 0.05) -> list[str]:
    """One line per question of both whose figures differ (module docstring)."""
    out = []
    for key, a in before.items():
        b = after.get(key)
        if b is None:
            continue
        moved = [f"{m} {a.get(m)} -> {b.get(m)}" for m in ("r10", "rall", "update")
                 if a.get(m) != b.get(m)]
        ma, mb = a.get("mrr") or 0.0, b.get("mrr") or 0.0
        if moved or abs(ma - mb) > mrr:
            out.append(f"{key}  {'; '.join(moved) or '-'}  mrr {ma:.2f} -> {mb:.2f}  "
                       f"{str(a.get('question', ''))[:90]}")
    return out


def totals(before: Rows, after: Rows) -> str:
    """Gains and losses at R_any@10 and in updates, and the mean MRR of each side."""
    both = [k for k in before if k in after]
    gained = sum(1 for k in both if before[k].get("r10") == 0.0 and after[k].get("r10") == 1.0)
    lost = sum(1 for k in both if before[k].get("r10") == 1.0 and after[k].get("r10") == 0.0)
    up = sum(1 for k in both if before[k].get("update") is False and after[k].get("update"))
    down = sum(1 for k in both if before[k].get("update") and after[k].get("update") is False)
    scored = [k for k in both if "mrr" in before[k] and "mrr" in after[k]]
    mean = (lambda rows: sum(rows[k]["mrr"] for k in scored) / len(scored)) if scored else None
    mrr = f"MRR {mean(before):.3f} -> {mean(after):.3f}" if mean else "MRR -"
    return (f"{len(both)} questions: R_any@10 +{gained} -{lost}, updates +{up} -{down}, {mrr}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after", nargs="?", default=None)
    ap.add_argument("--variants", default=None, help="A,B: two variants of one dump")
    ap.add_argument("--mrr", type=float, default=0.05)
    args = ap.parse_args(argv)
    first = json.loads(Path(args.before).read_text())
    second = json.loads(Path(args.after).read_text()) if args.after else first
    for name, variants in first.items():
        if args.variants:
            va, vb = args.variants.split(",")
            pairs = [(f"{va} -> {vb}", variants.get(va), second.get(name, {}).get(vb))]
        else:
            pairs = [(v, rows, second.get(name, {}).get(v)) for v, rows in variants.items()]
        for label, a, b in pairs:
            if a is None or b is None:
                continue
            for line in differences(a, b, args.mrr):
                print(f"{name} {line}")
            print(f"{name} {label}: {totals(a, b)}")


if __name__ == "__main__":
    main()
