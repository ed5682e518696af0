"""Fit the cross-encoder's adapter (:mod:`engram.embed.minilm_cross`) on the development heads.

    pip install torch==2.13.0        # the CPU build this machine keeps on disk; tool only
    python -m tools.eval_cross heads --data-dir ../shared/data --work W --depth 30
    python -m tools.train_cross folds --work W            # out-of-fold scores: W/cross_oof.json
    python -m tools.train_cross fit --work W              # every dev row: W/cross.pt, held scores
    python -m tools.train_cross export --work W           # engram/embed/assets/cross_adapter.npz
    python -m tools.train_cross probe                     # engram/embed/assets/cross_probe.json
    python -m tools.train_cross mix --work W --scores W/cross_oof.json  # weight, LODO

The model is the default embedder's all-MiniLM-L6-v2, rebuilt in torch from its ONNX
file (dequantised int8; the rebuilt model gives the embedder's vectors), read as a
cross-encoder: ``[CLS] question [SEP] text [SEP]`` -> mean pool -> a linear head. The
training rows are ``tools.eval_cross heads`` rows of the development parts of LoCoMo,
REALTALK and BEAM (letta's are left out: its facts are one short sentence each and its
update questions turn on time, which one pair cannot see). Each step takes one
question: one evidence text of its head and ``--negs`` other texts of the same head,
and a softmax loss over them (the evidence first). With ``--lora R`` (the default, 16)
the weights stay and only low-rank factors of the 36 weight products, their biases,
the layer norms and the head are fitted; that is what ``export`` writes (about 1.4 MB).

``folds`` fits two models, each on half the development conversations (by a hash of
set and conversation), and scores the other half and every held question (the mean of
the two): the out-of-fold scores ``mix`` uses to choose the weight of
:mod:`engram.retrieval.crossrank` by leaving one data set out. ``fit`` fits one model
on every development row. Torch is needed by this tool only; Engram runs the result
on onnxruntime.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - the tool's own dependency
    sys.exit("tools.train_cross needs torch: pip install torch==2.13.0")

from engram.embed.minilm_cross import KINDS, initializers, pair_ids
from engram.embed.onnx_minilm import default_model_path, tokenizer_path

H, HEADS, INTER, LAYERS = 384, 12, 1536, 6
TRAIN_SETS = {"locomo", "realtalk", "beam"}
_ALPHA = 32.0  # LoRA's alpha: the factors' product is scaled by alpha / rank
_ATTRS = ("q", "k", "v", "o", "i", "out")  # the torch modules of KINDS, in order
ASSETS = Path(__file__).resolve().parent.parent / "src" / "engram" / "embed" / "assets"


def load_weights() -> dict[str, np.ndarray]:
    """The embedder's weights by Hugging Face name (float32; products as (out, in))."""
    init = initializers(default_model_path().read_bytes())
    out: dict[str, np.ndarray] = {}
    for name, arr in init.items():
        if name.startswith("inner.") and not name.endswith(("_q", "_scale")):
            out[name[len("inner."):]] = arr.astype(np.float32)
    for base in ("embeddings.word_embeddings", "embeddings.position_embeddings"):
        out[f"{base}.weight"] = (init[f"inner.{base}.weight_q"].astype(np.float32)
                                 * init[f"inner.{base}.weight_scale"])
    mats = sorted((n[:-2] for n in init if n.startswith("val_") and n.endswith("_q")),
                  key=lambda n: int(n.split("_")[1]))
    hf = ["attention.self.query", "attention.self.key", "attention.self.value",
          "attention.output.dense", "intermediate.dense", "output.dense"]
    for i, n in enumerate(mats):
        w = init[n + "_q"].astype(np.float32) * init[n + "_scale"]
        layer, kind = divmod(i, 6)
        out[f"encoder.layer.{layer}.{hf[kind]}.weight"] = np.ascontiguousarray(w.T)
    return out


class Layer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(H, H)
        self.k = nn.Linear(H, H)
        self.v = nn.Linear(H, H)
        self.o = nn.Linear(H, H)
        self.ln1 = nn.LayerNorm(H, eps=1e-12)
        self.i = nn.Linear(H, INTER)
        self.out = nn.Linear(INTER, H)
        self.ln2 = nn.LayerNorm(H, eps=1e-12)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        d = H // HEADS

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, HEADS, d).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
        c = (a @ v).transpose(1, 2).reshape(b, t, H)
        x = self.ln1(x + self.o(c))
        h = self.i(x)
        h = 0.5 * h * (1.0 + torch.erf(h / math.sqrt(2.0)))
        return self.ln2(x + self.out(h))


class MiniLM(nn.Module):
    def __init__(self, layers: int = LAYERS) -> None:
        super().__init__()
        self.word = nn.Embedding(30522, H)
        self.pos = nn.Embedding(512, H)
        self.typ = nn.Embedding(2, H)
        self.ln = nn.LayerNorm(H, eps=1e-12)
        self.layers = nn.ModuleList(Layer() for _ in range(layers))

    def load(self, w: dict[str, np.ndarray]) -> None:
        def put(p: torch.Tensor, name: str) -> None:
            arr = torch.from_numpy(w[name])
            assert p.shape == arr.shape, (name, p.shape, arr.shape)
            p.data.copy_(arr)
        put(self.word.weight, "embeddings.word_embeddings.weight")
        put(self.pos.weight, "embeddings.position_embeddings.weight")
        put(self.typ.weight, "embeddings.token_type_embeddings.weight")
        put(self.ln.weight, "embeddings.LayerNorm.weight")
        put(self.ln.bias, "embeddings.LayerNorm.bias")
        names = {"q": "attention.self.query", "k": "attention.self.key",
                 "v": "attention.self.value", "o": "attention.output.dense",
                 "ln1": "attention.output.LayerNorm", "i": "intermediate.dense",
                 "out": "output.dense", "ln2": "output.LayerNorm"}
        for li, layer in enumerate(self.layers):
            for attr, nm in names.items():
                mod = getattr(layer, attr)
                put(mod.weight, f"encoder.layer.{li}.{nm}.weight")
                put(mod.bias, f"encoder.layer.{li}.{nm}.bias")

    def forward(self, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        pos = torch.arange(t).unsqueeze(0)
        x = self.ln(self.word(ids) + self.pos(pos) + self.typ(types))
        bias = (1.0 - mask[:, None, None, :].float()) * -1e9
        for layer in self.layers:
            x = layer(x, bias)
        return x


def mean_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).float()
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


def fold_of(row: dict) -> int:
    return hashlib.blake2b(f"{row['set']}|{row['conv']}".encode(), digest_size=4).digest()[0] % 2


class LoRA(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        for q in base.parameters():
            q.requires_grad_(False)
        base.bias.requires_grad_(True)
        self.a = nn.Parameter(torch.randn(r, base.in_features) / base.in_features ** 0.5)
        self.b = nn.Parameter(torch.zeros(base.out_features, r))
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.a.T @ self.b.T) * self.scale

    def merged(self) -> torch.Tensor:
        return self.base.weight + self.b @ self.a * self.scale


def add_lora(model: CE, r: int) -> None:
    for q in model.enc.parameters():
        q.requires_grad_(False)
    for layer in model.enc.layers:
        for attr in ("q", "k", "v", "o", "i", "out"):
            setattr(layer, attr, LoRA(getattr(layer, attr), r, _ALPHA))
        for ln in (layer.ln1, layer.ln2):
            for q in ln.parameters():
                q.requires_grad_(True)


class CE(nn.Module):
    """MiniLM read as a cross-encoder: mean pool, then a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = MiniLM()
        w = load_weights()
        self.enc.load(w)
        self.head = nn.Linear(384, 1)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, ids, types, mask):
        return self.head(mean_pool(self.enc(ids, types, mask), mask)).squeeze(-1)


def batch(tok: Tokenizer, q: str, texts: list[str]):
    """The runtime's pairs (:func:`engram.embed.minilm_cross.pair_ids`) as tensors."""
    pairs = pair_ids(tok, q, texts)
    n = max(len(ids) for ids, _ in pairs)
    ids = torch.zeros(len(pairs), n, dtype=torch.long)
    ty = torch.zeros_like(ids)
    mk = torch.zeros_like(ids)
    for i, (seq, types) in enumerate(pairs):
        ids[i, : len(seq)] = torch.tensor(seq)
        ty[i, : len(types)] = torch.tensor(types)
        mk[i, : len(seq)] = 1
    return ids, ty, mk


def labels(row: dict) -> list[bool]:
    ev = set(row["evidence"])
    return [bool(ev & set(u)) for u in row["units"]]


def train(rows: list[dict], args, tok: Tokenizer, seed: int) -> CE:
    random.seed(seed)
    torch.manual_seed(seed)
    model = CE()
    if args.lora:
        add_lora(model, args.lora)
    model.train()
    params = [
        {"params": [q for q in model.enc.parameters() if q.requires_grad], "lr": args.lr},
        {"params": model.head.parameters(), "lr": args.head_lr},
    ]
    opt = torch.optim.AdamW(params, weight_decay=0.01)
    items = []
    for r in rows:
        lab = labels(r)[: args.depth]
        pos = [i for i, x in enumerate(lab) if x]
        neg = [i for i, x in enumerate(lab) if not x]
        if pos and neg:
            items.append((r, pos, neg))
    steps = args.epochs * len(items)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / steps))
    t0 = time.time()
    step = 0
    loss_acc = 0.0
    for _ in range(args.epochs):
        random.shuffle(items)
        for r, pos, neg in items:
            p = random.choice(pos)
            ns = random.sample(neg, min(args.negs, len(neg)))
            texts = [r["texts"][p]] + [r["texts"][i] for i in ns]
            ids, ty, mk = batch(tok, r["text"], texts)
            s = model(ids, ty, mk)
            loss = nn.functional.cross_entropy(s.unsqueeze(0), torch.zeros(1, dtype=torch.long))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            loss_acc += loss.item()
            if step % 100 == 0:
                print(f"  step {step}/{steps} loss {loss_acc / 100:.3f} {time.time() - t0:.0f}s",
                      flush=True)
                loss_acc = 0.0
    model.eval()
    return model


@torch.no_grad()
def score(model: CE, tok: Tokenizer, row: dict, depth: int) -> list[float]:
    texts = row["texts"][:depth]
    if not texts:
        return []
    ids, ty, mk = batch(tok, row["text"], texts)
    return model(ids, ty, mk).tolist()


def _tokenizer() -> Tokenizer:
    tok = Tokenizer.from_file(str(tokenizer_path()))
    tok.no_padding()
    tok.no_truncation()
    return tok


def _rows(work: Path) -> list[dict]:
    return [json.loads(line) for line in (work / "heads.jsonl").open() if line.endswith("\n")]


def _scored(args: argparse.Namespace, folds: tuple[int, ...], out_name: str) -> None:
    """Fit one model per fold (-1: every dev row) and score the rows it did not see."""
    torch.set_num_threads(args.threads)
    work = Path(args.work)
    tok = _tokenizer()
    rows = _rows(work)
    out: dict[int, list[float]] = {}
    held: dict[int, list[list[float]]] = {}
    for fold in folds:
        tr = [r for r in rows if r["part"] == "dev" and r["set"] in TRAIN_SETS
              and fold_of(r) != fold]
        print(f"fold {fold}: training on {len(tr)} rows", flush=True)
        model = train(tr, args, tok, seed=fold)
        name = "cross.pt" if fold < 0 else f"cross.fold{fold}.pt"
        torch.save(model.state_dict(), work / name)
        for i, r in enumerate(rows):
            if r["part"] == "dev" and fold_of(r) == fold:
                out[i] = score(model, tok, r, args.depth)
            elif r["part"] == "held":
                held.setdefault(i, []).append(score(model, tok, r, args.depth))
    for i, ss in held.items():
        out[i] = [float(x) for x in np.mean(np.asarray(ss), axis=0)] if ss and ss[0] else []
    (work / out_name).write_text(json.dumps({str(k): v for k, v in out.items()}))
    print(f"scores: {work / out_name}")


def export(args: argparse.Namespace) -> None:
    """``W/cross.pt`` (a ``--lora`` model) -> the packaged adapter."""
    sd = torch.load(Path(args.work) / "cross.pt")
    arr: dict[str, np.ndarray] = {}
    for layer in range(LAYERS):
        for attr, kind in zip(_ATTRS, KINDS, strict=True):
            p = f"enc.layers.{layer}.{attr}."
            r = sd[p + "a"].shape[0]
            arr[f"l{layer}.{kind}.a"] = sd[p + "a"].numpy().astype(np.float16)
            arr[f"l{layer}.{kind}.b"] = (sd[p + "b"].numpy() * _ALPHA / r).astype(np.float16)
            arr[f"l{layer}.{kind}.bias"] = sd[p + "base.bias"].numpy().astype(np.float32)
        for ln in ("ln1", "ln2"):
            for part in ("weight", "bias"):
                arr[f"l{layer}.{ln}.{part}"] = sd[f"enc.layers.{layer}.{ln}.{part}"].numpy()
    arr["head_w"] = sd["head.weight"].numpy().reshape(-1).astype(np.float32)
    arr["head_b"] = sd["head.bias"].numpy().reshape(-1).astype(np.float32)
    np.savez_compressed(ASSETS / "cross_adapter.npz", **arr)
    print(f"wrote {ASSETS / 'cross_adapter.npz'}")


PROBE_QUERY = "What pet did Caroline adopt last year?"
PROBE_TEXT = "We adopted a little corgi called Max from the shelter in the spring."


def probe(args: argparse.Namespace) -> None:
    """The packaged adapter's score of one pair with the float products."""
    from engram.embed.minilm_cross import MiniLMCross

    score_ = float(MiniLMCross(matmul="float").scores(PROBE_QUERY, [PROBE_TEXT])[0])
    (ASSETS / "cross_probe.json").write_text(json.dumps(
        {"query": PROBE_QUERY, "text": PROBE_TEXT, "score": round(score_, 6)}, indent=1) + "\n")
    print(f"probe score {score_:.6f}")


def mix(args: argparse.Namespace) -> None:
    """The weight of :mod:`engram.retrieval.crossrank` over scored heads, chosen by
    leaving one data set out (``tools.eval_cross``'s grid and objective)."""
    from collections import defaultdict

    import tools.eval_cross as ec

    rows = _rows(Path(args.work))
    sc = json.loads(Path(args.scores).read_text())
    dev: dict[str, list[dict]] = defaultdict(list)
    held: dict[str, list[dict]] = defaultdict(list)
    for i, r in enumerate(rows):
        s = sc.get(str(i))
        if s is None or len(s) < min(args.depth, len(r["texts"])):
            continue
        r["cos"] = np.asarray(s[: args.depth], float)
        (dev if r["part"] == "dev" else held)[r["set"]].append(r)
    for w in ec.GRID:
        per = "  ".join(
            f"{s} {ec._mean(r, w, args.depth, 'rank').get(ec._KEY[s.startswith('letta')], 0):.3f}"
            for s, r in dev.items())
        print(f"  w={w:4.1f} {ec._objective(dev, w, args.depth, 'rank'):.4f}  {per}")
    for name in sorted(set(dev) | set(held)):
        others = {s: r for s, r in dev.items() if s != name}
        w = ec._best_w(others, args.depth, "rank") if others else 0.0
        for part, src in (("dev", dev), ("held", held)):
            if not src.get(name):
                continue
            base = ec._mean(src[name], 0.0, args.depth, "rank")
            new = ec._mean(src[name], w, args.depth, "rank")
            print(f"  {name:12} {part:4} w={w:4.1f} n={int(base['n']):4}  recall: {ec._fmt(base)}"
                  f"  | +cross: {ec._fmt(new)}")
    print(f"w on all dev sets: {ec._best_w(dev, args.depth, 'rank')}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("folds", "fit"):
        p = sub.add_parser(name)
        p.add_argument("--work", required=True)
        p.add_argument("--epochs", type=int, default=2)
        p.add_argument("--negs", type=int, default=15)
        p.add_argument("--depth", type=int, default=30)
        p.add_argument("--lora", type=int, default=16, help="0: fit every weight (not exportable)")
        p.add_argument("--lr", type=float, default=3e-4)
        p.add_argument("--head-lr", type=float, default=9e-4)
        p.add_argument("--threads", type=int, default=2)
    e = sub.add_parser("export")
    e.add_argument("--work", required=True)
    sub.add_parser("probe")
    m = sub.add_parser("mix")
    m.add_argument("--work", required=True)
    m.add_argument("--scores", required=True)
    m.add_argument("--depth", type=int, default=20)
    args = ap.parse_args(argv)
    if args.cmd == "folds":
        _scored(args, (0, 1), "cross_oof.json")
    elif args.cmd == "fit":
        _scored(args, (-1,), "cross_held.json")
    else:
        {"export": export, "probe": probe, "mix": mix}[args.cmd](args)


if __name__ == "__main__":
    main()
