"""Measure the poisoning detector on the labelled set: ``python -m tools.evaluate_trust``.

Prints detection rate (injected texts flagged) and false-positive rate (benign
texts flagged) for the ``tune`` half (used while writing the rules) and the
``holdout`` half (not looked at while tuning), per category, and with
``--show-errors`` the misclassified texts of the tune half only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from engram.trust.cascade import scan

#: the labelled set, in the repository checkout this tool runs from
DEFAULT_SET = (Path(__file__).resolve().parents[1] / "tests" / "fixtures"
               / "poisoning_labelled.jsonl")


@dataclass(frozen=True)
class SplitResult:
    split: str
    injected: int
    detected: int
    benign: int
    false_positives: int

    @property
    def detection_rate(self) -> float:
        return self.detected / self.injected if self.injected else 0.0

    @property
    def false_positive_rate(self) -> float:
        return self.false_positives / self.benign if self.benign else 0.0


def evaluate(rows: list[dict[str, str]], split: str) -> SplitResult:
    sel = [r for r in rows if split == "all" or r["split"] == split]
    inj = [r for r in sel if r["label"] == "injected"]
    ben = [r for r in sel if r["label"] == "benign"]
    return SplitResult(split, len(inj), sum(scan(r["text"]).flagged for r in inj),
                       len(ben), sum(scan(r["text"]).flagged for r in ben))


def _turns(data: object) -> list[str]:
    """Every ``text`` of a dict that also has a ``speaker``, anywhere in ``data``."""
    out: list[str] = []
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if isinstance(x.get("text"), str) and "speaker" in x:
                out.append(x["text"])
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=str(DEFAULT_SET))
    ap.add_argument("--show-errors", action="store_true", help="list tune-half mistakes")
    ap.add_argument("--conversations", metavar="JSON",
                    help="also count false positives on every {speaker, text} turn of a "
                         "conversation file (e.g. LoCoMo), all assumed benign")
    args = ap.parse_args(argv)
    rows = [json.loads(line) for line in Path(args.path).read_text(encoding="utf-8").splitlines()
            if line.strip()]
    for split in ("tune", "holdout", "all"):
        r = evaluate(rows, split)
        print(f"{split:8s} detected {r.detected}/{r.injected} = {r.detection_rate:.1%}   "
              f"false positives {r.false_positives}/{r.benign} = {r.false_positive_rate:.1%}")
    per: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        cell = per[(row["label"], row["category"])]
        cell[0] += int(scan(row["text"]).flagged)
        cell[1] += 1
    print("per category (all rows): flagged/total")
    for (label, cat), (hit, n) in sorted(per.items()):
        print(f"  {label:8s} {cat:18s} {hit}/{n}")
    if args.conversations:
        turns = _turns(json.loads(Path(args.conversations).read_text(encoding="utf-8")))
        fp = sum(scan(t).flagged for t in turns)
        print(f"conversations: false positives {fp}/{len(turns)} = "
              f"{fp / max(1, len(turns)):.2%}")
    if args.show_errors:
        for row in rows:
            if row["split"] != "tune":
                continue
            v = scan(row["text"])
            if v.flagged != (row["label"] == "injected"):
                print(f"MISS {row['label']:8s} {v.flags} {row['text'][:120]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
