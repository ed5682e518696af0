"""Does the dense signal lose what a long text says past its first 256 tokens?

    python -m tools.eval_long_texts --data-dir ../shared/data --counts
    python -m tools.eval_long_texts --data-dir ../shared/data --beam 100K --part dev \
        --width 254 --stride 127 --work /tmp/long-texts

``--counts``: per data set (its ``--part``), how many turns (as the embedder sees them,
``[date] speaker: text``) exceed one pass of the default embedder (254 word pieces
plus ``[CLS]``/``[SEP]``) and half of one, and how many evidence turns do.

Otherwise, on the BEAM chats of ``--beam`` (dense signal only, no reranker, every
turn of the chat searched, the query embedded as the engine does): R_any@10 of

* ``trunc``: each turn's vector from its first window (what the engine stores);
* ``mean``: the normalised mean of the vectors of all its windows (``width``
  tokens every ``stride`` tokens, the last one ending at the end);
* ``mean-noov``: the same over windows that do not overlap (every other window
  when ``stride`` is half of ``width``);
* ``maxsim``: a turn scores its best window (several vectors per turn);

each raw and with the query centred on the chat's mean turn vector (the ``recall``
preset's ``centre_weight`` .5), split by whether the question's longest evidence
turn is longer than one window; and, for the truncated signal's misses, how many
have long evidence whose best-matching window lies past the cut. The window
vectors of each chat are kept in ``--work`` (reruns only score).
"""

from __future__ import annotations

import argparse
import pickle
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

import numpy as np

from engram.bench.dataset import Turn
from engram.bench.suite import load_set
from engram.embed.onnx_minilm import OnnxMiniLM, tokenizer_path

ONE_PASS = 254
SETS = ("locomo", "realtalk", "letta_read", "letta_update", "beam:100K", "beam:500K")


def _text(t: Turn) -> str:
    """What the indexer embeds (:func:`engram.ingest.index.embedding_text`)."""
    return f"[{t.occurred_at.day} {t.occurred_at:%B %Y}] {t.speaker or t.role}: {t.text}"


def _starts(n: int, width: int, stride: int) -> list[int]:
    if n <= width:
        return [0]
    return [*range(0, n - width, stride), n - width]


def counts(data_dir: str, part: Literal["dev", "held"], emb: OnnxMiniLM) -> None:
    for spec in SETS:
        name, _, size = spec.partition(":")
        ds = load_set(name, data_dir, beam_sizes=(size,) if size else ("100K",))
        p = ds.part(part)
        lens: dict[tuple[str, str], int] = {}
        for c in p.conversations:
            turns = [t for s in c.sessions for t in s.turns]
            for t, n in zip(turns, emb.count_tokens_batch([_text(t) for t in turns]),
                            strict=True):
                lens[(c.id, t.id)] = n
        ev = {(c.id, e) for c in p.conversations for q in c.questions if q.scored
              for e in q.evidence_turns if (c.id, e) in lens}
        n = len(lens)
        over = sum(v > ONE_PASS for v in lens.values())
        half = sum(v > ONE_PASS // 2 for v in lens.values())
        ev_over = sum(lens[e] > ONE_PASS for e in ev)
        print(f"{spec:12} {part:4} turns {n:5}  >256 {over:5} ({over / n:5.1%})  "
              f">128 {half:5} ({half / n:5.1%})  longest {max(lens.values()):5}  "
              f"evidence turns {len(ev):4}, >256 {ev_over} ({ev_over / max(1, len(ev)):.1%})",
              flush=True)


def windows(data_dir: str, size: str, part: Literal["dev", "held"], width: int, stride: int,
            work: Path, emb: OnnxMiniLM, chats: int | None = None) -> dict[str, Any]:
    """Every chat's window vectors and question vectors (kept in ``work``).

    A window is the decoded text of ``width`` word pieces, embedded as a document
    (re-tokenized, it is the same pieces but for rare spellings)."""
    from tokenizers import Tokenizer

    out = work / f"beam-{size}-{part}-w{width}-s{stride}.pkl"
    data: dict[str, Any] = pickle.loads(out.read_bytes()) if out.exists() else {}
    tok = Tokenizer.from_file(str(tokenizer_path()))
    tok.no_padding()
    tok.no_truncation()
    convs = load_set("beam", data_dir, beam_sizes=(size,)).part(part).conversations[:chats]
    for c in convs:
        if c.id in data:
            continue
        turns = [t for s in c.sessions for t in s.turns]
        encs = tok.encode_batch([_text(t) for t in turns], add_special_tokens=False)
        ids = [e.ids for e in encs]
        texts, owner = [], []
        for i, x in enumerate(ids):
            for st in _starts(len(x), width, stride):
                texts.append(tok.decode(x[st:st + width]))
                owner.append((i, st))
        qs = [q for q in c.questions if q.scored and q.evidence_turns]
        data[c.id] = {
            "turns": [t.id for t in turns], "lens": [len(x) for x in ids], "owner": owner,
            "vecs": emb.embed(texts, "document"),
            "qs": [(q.id, q.category, q.evidence_turns) for q in qs],
            "qv": emb.embed([q.text for q in qs], "query"),
        }
        out.write_bytes(pickle.dumps(data))
        print(f"{c.id}: {len(turns)} turns, {len(texts)} windows", flush=True)
    return {c.id: data[c.id] for c in convs}


def _unit(v: np.ndarray) -> np.ndarray:
    out: np.ndarray = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
    return out


def score(data: dict[str, Any], width: int) -> None:
    hits: dict[str, list[tuple[bool, bool]]] = defaultdict(list)  # (found, long evidence)
    misses = {"trunc misses": 0, "with long evidence": 0, "best window past the cut": 0}
    for d in data.values():
        turns, vecs, owner, lens = d["turns"], d["vecs"], d["owner"], d["lens"]
        n = len(turns)
        by_turn: dict[int, list[int]] = defaultdict(list)
        for j, (i, _) in enumerate(owner):
            by_turn[i].append(j)
        noov = [[j for k, j in enumerate(js) if k % 2 == 0 or k == len(js) - 1]
                for i, js in sorted(by_turn.items())]
        mats = {
            "trunc": np.stack([vecs[by_turn[i][0]] for i in range(n)]),
            "mean": _unit(np.stack([vecs[by_turn[i]].mean(0) for i in range(n)])),
            "mean-noov": _unit(np.stack([vecs[js].mean(0) for js in noov])),
        }
        win_turn = np.array([i for i, _ in owner])
        index = {t: k for k, t in enumerate(turns)}
        for (_, _, ev), qv in zip(d["qs"], d["qv"], strict=True):
            gold = [index[e] for e in ev if e in index]
            if not gold:
                continue
            long_ev = max(lens[k] for k in gold) > width
            for centre in (0.0, 0.5):
                tag = "" if centre == 0 else " +centre"
                q = _unit(qv) - centre * mats["trunc"].mean(0)
                scores = {name: m @ (_unit(qv) - centre * m.mean(0)) for name, m in mats.items()}
                best = np.full(n, -9.0)
                np.maximum.at(best, win_turn, vecs @ q)
                scores["maxsim"] = best
                for name, s in scores.items():
                    top = set(np.argsort(-s, kind="stable")[:10].tolist())
                    hits[name + tag].append((bool(top.intersection(gold)), long_ev))
            top = set(np.argsort(-(mats["trunc"] @ _unit(qv)), kind="stable")[:10].tolist())
            if not top.intersection(gold):
                misses["trunc misses"] += 1
                misses["with long evidence"] += long_ev
                ws = vecs @ _unit(qv)
                past = any(owner[max(by_turn[k], key=lambda j: ws[j])][1] > 0 for k in gold)
                misses["best window past the cut"] += past
    for name, rows in hits.items():
        r = np.array(rows)
        lg = r[:, 1]
        print(f"{name:18} n={len(r):4} R_any@10 {r[:, 0].mean():.3f}   long evidence "
              f"{r[lg, 0].mean():.3f} (n={lg.sum()})   short {r[~lg, 0].mean():.3f}")
    print(misses)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--counts", action="store_true")
    ap.add_argument("--beam", default="100K", help="BEAM chat size: 100K or 500K")
    ap.add_argument("--part", default="dev", choices=("dev", "held"))
    ap.add_argument("--width", type=int, default=ONE_PASS, help="window tokens (<= 254)")
    ap.add_argument("--stride", type=int, default=ONE_PASS // 2)
    ap.add_argument("--work", default="/tmp/engram-long-texts")
    ap.add_argument("--chats", type=int, default=None, help="only the first N chats")
    args = ap.parse_args(argv)
    emb = OnnxMiniLM()
    if args.counts:
        counts(args.data_dir, args.part, emb)
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    score(windows(args.data_dir, args.beam, args.part, args.width, args.stride, work, emb,
                  args.chats), args.width)


if __name__ == "__main__":
    main()
