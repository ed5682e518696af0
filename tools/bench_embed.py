"""Embedder speed figures: single-query latency and document throughput.

``python -m tools.bench_embed [--n 200] [--threads 1] [--workers 1] [--spec default]``
(from the repository root) prints the figures; :func:`measure` returns them.

``python -m tools.bench_embed --locomo PATH [--modes float,int8x2,int8]`` compares
the ways the default model can run its products (``OnnxMiniLM(matmul=...)``) on
every LoCoMo turn, in the text the indexer embeds: texts per CPU-second of each
(chunks of 200 texts cycle through the modes, so every mode meets the same
machine load) and the lowest / mean cosine of its vectors to the first mode's
(:func:`compare_matmul`).
This measures, it does not test: nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engram.embed.base import Embedder

__all__ = ["EmbedBenchResult", "MatmulFigures", "chat_turns", "compare_matmul", "locomo_texts",
           "main", "measure", "queries"]

_NAMES = ["Caroline", "Melanie", "Jon", "Gina", "Tim", "John", "Maria", "Joanna", "Nate", "Evan"]
_QUERIES = [
    "What did {a} say about her adoption plans?",
    "When did {a} go to the support group?",
    "Where did {a} go camping with the kids?",
    "What instrument does {a} play?",
    "How long has {a} been married?",
    "Which book did {a} recommend to {b}?",
    "what is my dentist appointment time",
    "Did {a} ever mention a trip to Sweden?",
    "What are {a}'s favourite foods?",
    "Who painted the sunset picture {b} liked?",
]
_TURNS = [
    "Hey {b}! Good to see you. How have you been?",
    "I went to a LGBTQ support group yesterday and it was so powerful.",
    "That sounds amazing, {a}! I'm really proud of you for going.",
    "Thanks! The stories people shared were so inspiring, I felt really accepted.",
    "I've been painting a lot lately. Last week I finished a sunrise over the lake.",
    "We took the kids camping at the beach last weekend; they loved roasting marshmallows.",
    "I'm thinking about adoption. I've been researching agencies that support single parents.",
    "Work has been hectic, but I started running again in the mornings before it gets hot.",
    "Do you remember the name of that Italian place near the station? I want to book it "
    "for {b}'s birthday next Friday.",
    "My dentist moved my appointment to Tuesday at 3pm, so I can't make the meeting.",
    "I finally read the book you recommended. The ending made me cry, honestly.",
    "We adopted a puppy named Luna! She chews everything, including my favourite sneakers.",
    "I'm planning a trip to Sweden in the summer to visit my grandmother's hometown. "
    "She grew up near a lake, and I want to see the house where she lived before the war.",
    "Can you remind me what we decided about the budget for the community garden project?",
    "I play the violin in a small orchestra; we have a concert next month at the library.",
    "Ugh, my car broke down again on the highway. Third time this year.",
    "Yes! Totally agree.",
    "I've been volunteering at the shelter every Saturday, mostly helping with the dogs "
    "and sometimes doing the paperwork for new adoptions. It's tiring but it feels good "
    "to give something back, and I met a lot of kind people there.",
]


def queries(k: int, seed: int = 0) -> list[str]:
    """``k`` short, varied memory-search queries (deterministic for ``seed``)."""
    rng = random.Random(seed)
    out = []
    for _ in range(k):
        a, b = rng.sample(_NAMES, 2)
        out.append(rng.choice(_QUERIES).format(a=a, b=b))
    return out


def chat_turns(k: int, seed: int = 0) -> list[str]:
    """``k`` typical chat turns (3-60 words, some two sentences long)."""
    rng = random.Random(seed)
    out = []
    for _ in range(k):
        a, b = rng.sample(_NAMES, 2)
        text = rng.choice(_TURNS).format(a=a, b=b)
        if rng.random() < 0.3:
            text += " " + rng.choice(_TURNS).format(a=a, b=b)
        out.append(text)
    return out


@dataclass(frozen=True)
class EmbedBenchResult:
    """Figures from :func:`measure` (times in milliseconds unless named ``_s``)."""

    model_id: str
    threads: int | None
    load_s: float
    queries: int
    query_p50_ms: float
    query_p95_ms: float
    query_mean_ms: float
    query_cpu_p50_ms: float
    doc_batch_size: int
    docs: int
    doc_mean_tokens: float
    docs_per_s: float
    docs_per_cpu_s: float
    doc_batch_ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(
    embedder: Embedder, n: int = 200, *, warmup: int = 20, batch_size: int = 64
) -> EmbedBenchResult:
    """Time ``n`` single queries and ``max(2, n // 40)`` batches of ``batch_size`` turns.

    ``load_s`` is the time of the first call (model load included) when the
    embedder was not used before, else that call's plain latency. The
    ``cpu`` figures count the calling thread's CPU time: on a busy machine
    they stay close to the uncontended latency of a one-thread embedder
    (they miss work done on other threads, e.g. with ``threads > 1``).
    """
    qs = queries(n + warmup, seed=1)
    t0 = time.perf_counter()
    embedder.embed(["warm up"], "query")
    load_s = time.perf_counter() - t0
    for q in qs[:warmup]:
        embedder.embed([q], "query")
    lat = np.empty(n)
    cpu = np.empty(n)
    for i, q in enumerate(qs[warmup:]):
        c = time.thread_time()
        t = time.perf_counter()
        embedder.embed([q], "query")
        lat[i] = time.perf_counter() - t
        cpu[i] = time.thread_time() - c
    lat_ms = lat * 1000.0

    batches = max(2, n // 40)
    docs = chat_turns(batches * batch_size, seed=2)
    embedder.embed(docs[:batch_size], "document")  # warm the larger shapes
    c = time.thread_time()
    t = time.perf_counter()
    for i in range(batches):
        embedder.embed(docs[i * batch_size : (i + 1) * batch_size], "document")
    doc_s = time.perf_counter() - t
    doc_cpu_s = time.thread_time() - c
    tokens = embedder.count_tokens_batch(docs)
    return EmbedBenchResult(
        model_id=embedder.model_id,
        threads=getattr(embedder, "threads", None),
        load_s=round(load_s, 4),
        queries=n,
        query_p50_ms=round(float(np.percentile(lat_ms, 50)), 3),
        query_p95_ms=round(float(np.percentile(lat_ms, 95)), 3),
        query_mean_ms=round(float(lat_ms.mean()), 3),
        query_cpu_p50_ms=round(float(np.percentile(cpu, 50)) * 1000.0, 3),
        doc_batch_size=batch_size,
        docs=len(docs),
        doc_mean_tokens=round(float(np.mean(tokens)), 1),
        docs_per_s=round(len(docs) / doc_s, 1),
        docs_per_cpu_s=round(len(docs) / max(doc_cpu_s, 1e-9), 1),
        doc_batch_ms=round(doc_s / batches * 1000.0, 2),
    )


@dataclass(frozen=True)
class MatmulFigures:
    """One mode of :func:`compare_matmul`: CPU seconds of the calling thread for
    all texts, and the lowest / mean cosine to the reference (first) mode."""

    matmul: str
    model_id: str
    texts: int
    cpu_s: float
    texts_per_cpu_s: float
    min_cos: float
    mean_cos: float


def locomo_texts(path: str) -> list[str]:
    """Every LoCoMo turn as the indexer embeds it (``[8 May 2023] Caroline: ...``)."""
    from engram.bench.locomo import load_locomo
    from engram.ingest.index import memory_text

    ds = load_locomo(path)
    return [memory_text(f"{t.speaker or t.role}: {t.text}", t.occurred_at)
            for conv in ds.conversations for session in conv.sessions for t in session.turns]


def compare_matmul(texts: list[str], modes: list[str], chunk: int = 200) -> list[MatmulFigures]:
    """Embed ``texts`` with ``OnnxMiniLM(matmul=m)`` for each mode, interleaved by
    ``chunk`` (module docstring); cosines against ``modes[0]``."""
    from engram.embed.onnx_minilm import OnnxMiniLM

    embedders = [OnnxMiniLM(matmul=m) for m in modes]
    for e in embedders:
        e.load()
    cpu = [0.0] * len(modes)
    out = [np.empty((len(texts), e.dim), dtype=np.float32) for e in embedders]
    for start in range(0, len(texts), chunk):
        part = texts[start : start + chunk]
        for i, e in enumerate(embedders):
            c = time.thread_time()
            out[i][start : start + len(part)] = e.embed(part)
            cpu[i] += time.thread_time() - c
    figures = []
    for i, e in enumerate(embedders):
        cos = np.sum(out[i] * out[0], axis=1)
        figures.append(MatmulFigures(
            matmul=modes[i], model_id=e.model_id, texts=len(texts), cpu_s=round(cpu[i], 3),
            texts_per_cpu_s=round(len(texts) / max(cpu[i], 1e-9), 1),
            min_cos=round(float(cos.min()), 7), mean_cos=round(float(cos.mean()), 7)))
        e.close()
    return figures


def main(argv: list[str] | None = None) -> None:
    from engram.embed.registry import get_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--spec", default="default", help="embedder spec (default: %(default)s)")
    parser.add_argument("--n", type=int, default=200, help="timed single queries")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    parser.add_argument("--workers", type=int, default=1,
                        help="passes of one batch run at once (OnnxMiniLM workers)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--locomo", default=None,
                        help="LoCoMo file: compare the --modes on its turns instead")
    parser.add_argument("--modes", default="float,int8x2,int8",
                        help="OnnxMiniLM matmul modes for --locomo, the first is the "
                             "reference (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.locomo:
        rows = compare_matmul(locomo_texts(args.locomo), args.modes.split(","))
        for row in rows:
            print(json.dumps(asdict(row)) if args.json else
                  f"{row.matmul:8s} {row.texts_per_cpu_s:7.1f} texts/CPU-s  "
                  f"min cos {row.min_cos:.7f}  mean cos {row.mean_cos:.7f}  ({row.model_id})")
        return
    options: dict[str, Any] = {}
    if args.spec.split(":")[0] in ("onnx", "default", "minilm"):
        options["threads"] = args.threads
        options["workers"] = args.workers
    result = measure(get_embedder(args.spec, **options), args.n)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        for key, value in result.to_dict().items():
            print(f"{key:16s} {value}")


if __name__ == "__main__":
    main()
