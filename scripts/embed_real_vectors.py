"""Real MiniLM vectors for the PostgreSQL recall benchmark (issue #21).

    nice -n 10 .venv/bin/python scripts/embed_real_vectors.py --data-dir /work/shared/data \\
        --n 78000 --out /tmp/real_sentences.npy --queries-out /tmp/real_queries.npy
    .venv/bin/python -m engram.bench.pgscale --real-vectors CACHE.sqlite /tmp/real_sentences.npy \\
        --real-queries /tmp/real_queries.npy --n 100000 --queries 500

Documents: sentences (25-300 characters) split from the data sets' turns longer
than 200 characters (LoCoMo, REALTALK, BEAM 100K and 500K, letta facts), none
equal to a whole turn, ``--n`` of them drawn at random (seed 7) and embedded
shortest first (less padding per batch) with the default embedder; the whole
turns' vectors come from a benchmark embedding cache (``--real-vectors`` reads
both). Queries: up to 500 of the data sets' questions, embedded as queries.
``--cache`` keeps the document vectors (a rerun embeds nothing). A measurement
helper, not a test.
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np

from engram.bench.diskcache import DiskCachedEmbedder
from engram.bench.suite import SETS, load_set
from engram.embed.registry import get_embedder

_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--n", type=int, default=78_000, help="sentences to embed")
    ap.add_argument("--out", required=True, help=".npy of the sentence vectors")
    ap.add_argument("--queries-out", required=True, help=".npy of the question vectors")
    ap.add_argument("--cache", help="embedding cache file (SQLite) to reuse and fill")
    a = ap.parse_args()
    turns: list[str] = []
    questions: list[str] = []
    for name in SETS:
        ds = load_set(name, a.data_dir, beam_sizes=("100K", "500K"))
        for c in ds.conversations:
            turns += [t.text for s in c.sessions for t in s.turns]
            questions += [q.text for q in c.questions]
    whole = set(turns)
    sentences = list(dict.fromkeys(
        s.strip() for t in dict.fromkeys(turns) if len(t) > 200 for s in _SPLIT.split(t)
        if len(s.strip()) >= 25 and s.strip() not in whole))
    rng = np.random.default_rng(7)
    rng.shuffle(sentences)
    docs = sorted([s for s in sentences if len(s) <= 300][: a.n], key=len)
    embedder = get_embedder("default")
    emb = DiskCachedEmbedder(embedder, a.cache) if a.cache else embedder
    print(f"{len(sentences):,} sentences, embedding {len(docs):,}", flush=True)
    out = np.empty((len(docs), emb.dim), dtype=np.float32)
    started = time.perf_counter()
    for i in range(0, len(docs), 1000):
        out[i:i + 1000] = emb.embed(docs[i:i + 1000], "document")
        print(f"{min(i + 1000, len(docs)):,}/{len(docs):,}"
              f" {time.perf_counter() - started:.0f} s", flush=True)
    np.save(a.out, out)
    asked = list(dict.fromkeys(q for q in questions if q.strip()))
    rng.shuffle(asked)
    np.save(a.queries_out, emb.embed(asked[:500], "query"))


if __name__ == "__main__":
    main()
