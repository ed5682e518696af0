"""``engram bench cache``: the semantic cache's hit rate, wrong-hit rate and latency saved.

For each data set (LoCoMo, REALTALK dev conversations) a store is built with the real
write path, then every question becomes a small stream of queries:

* ``first``: the question as written (must miss: nothing is cached yet);
* ``repeat``: the same text again; ``surface``: lower case, no punctuation;
* ``paraphrase``: a polite frame ("Can you tell me ...", "Do you remember ...") or
  common-synonym rewording, each keeping the question's names, numbers and time words;
* ``near_miss``: the question about *another* speaker, another number or the opposite
  time word (last/next, before/after): a different question that looks the same.

Each distinct query is searched once without the cache (``fresh``, timed). The stream
(shuffled, fixed seed) then goes through the real :class:`~engram.agents.cache.SemanticCache`
under each similarity threshold swept (one for all categories) and under the default
per-category policies. A **hit** is a lookup answered from the cache; a **wrong hit**
one whose cached answer is worse than the fresh one: it finds fewer of the question's
evidence turns in its top 5 (questions with evidence), or shares fewer than 3 of the
fresh top 5 (questions without). A near miss served from the cache is wrong unless
its cached top 5 is the fresh top 5.

**Latency**: a fresh search against the cached path (the query embedded, then the
lookup), mean and p95, in milliseconds. **Stale answers**: the engine with
``semantic_cache=True`` answers exact repeats while new messages are written between
them; a served answer that differs from a fresh search at that moment is stale (the
change marker makes it 0 by construction; this checks it end to end).
"""

from __future__ import annotations

import functools
import json
import random
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..agents.cache import DEFAULT_POLICIES, CachePolicy, SemanticCache, categorize
from ..models import Hit, Memory
from .contexts import scope_user
from .dataset import BenchDataset

__all__ = ["CacheBenchReport", "cache_command", "query_stream", "run_cache_bench"]

_FRAMES = ["Can you tell me {q}", "Do you remember {q}", "I'd like to know {q}",
           "Quick question: {q}", "Remind me, {q}"]
_SYNONYMS = [(r"\bfavorite\b", "favourite"), (r"\bmovies?\b", "film"), (r"\bkids\b", "children"),
             (r"\bjob\b", "work"), (r"\bbought\b", "purchased"), (r"\bbuy\b", "purchase"),
             (r"\bstarted\b", "began"), (r"\bstart\b", "begin"), (r"\bhelp\b", "assist"),
             (r"\bhobbies\b", "pastimes"), (r"\bwent to\b", "visited"), (r"\bgo to\b", "visit"),
             (r"\blikes\b", "enjoys"), (r"\blike\b", "enjoy"), (r"\bpets?\b", "animal"),
             (r"\bcar\b", "vehicle"), (r"\bbook\b", "novel"), (r"\bmade\b", "created"),
             (r"\bthink\b", "believe"), (r"\btalk about\b", "discuss")]
_OPPOSITES = [("last", "next"), ("before", "after"), ("first", "last"), ("earliest", "latest")]


@dataclass(frozen=True)
class StreamQuery:
    text: str
    question: int
    kind: str


@dataclass
class PolicyResult:
    policy: str
    lookups: int = 0
    hits: int = 0
    wrong: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [n, hits, wrong]
    by_category: dict[str, list[int]] = field(default_factory=dict)

    def rates(self) -> dict[str, Any]:
        def r(a: int, b: int) -> float:
            return round(a / b, 4) if b else 0.0
        return {"policy": self.policy, "hit_rate": r(self.hits, self.lookups),
                "wrong_hit_rate": r(self.wrong, self.hits), "lookups": self.lookups,
                "by_kind": {k: {"n": n, "hit_rate": r(h, n), "wrong": w}
                            for k, (n, h, w) in sorted(self.by_kind.items())},
                "by_category": {k: {"n": n, "hit_rate": r(h, n), "wrong": w}
                                for k, (n, h, w) in sorted(self.by_category.items())}}


@dataclass
class CacheBenchReport:
    dataset: str
    questions: int
    queries: int
    policies: list[dict[str, Any]]
    fresh_ms: dict[str, float]
    cached_ms: dict[str, float]
    stale: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _surface(q: str) -> str:
    return re.sub(r"[^\w\s']", "", q).lower().strip()


def _lower_first(q: str) -> str:
    return q[:1].lower() + q[1:] if q[:2] not in ("I ", "I'") else q


def query_stream(questions: Sequence[str], speakers: Sequence[str],
                 rng: random.Random) -> list[StreamQuery]:
    """The stream of one conversation's questions (module docstring), shuffled so a
    question's variants come after its first asking."""
    out: list[StreamQuery] = []
    later: list[StreamQuery] = []
    for i, q in enumerate(questions):
        out.append(StreamQuery(q, i, "first"))
        later.append(StreamQuery(q, i, "repeat"))
        later.append(StreamQuery(_surface(q), i, "surface"))
        later.append(StreamQuery(rng.choice(_FRAMES).format(q=_lower_first(q)), i,
                                 "paraphrase"))
        worded = q
        for pattern, repl in _SYNONYMS:
            worded = re.sub(pattern, repl, worded, count=1)
        if worded != q:
            later.append(StreamQuery(worded, i, "paraphrase"))
        near = _near_miss(q, speakers)
        if near is not None:
            later.append(StreamQuery(near, i, "near_miss"))
        swapped = _topic_swap(q, questions[i - 1] if i else questions[-1])
        if swapped is not None:
            later.append(StreamQuery(swapped, i, "topic_swap"))
    rng.shuffle(later)
    # each variant goes after its question's first asking, the rest interleaved
    merged: list[StreamQuery] = []
    pending = list(later)
    for first in out:
        merged.append(first)
        take = [s for s in pending if s.question <= first.question][: 4]
        for s in take:
            pending.remove(s)
        merged.extend(take)
    return merged + pending


def _near_miss(q: str, speakers: Sequence[str]) -> str | None:
    for s in speakers:
        if s and re.search(rf"\b{re.escape(s)}\b", q):
            others = [o for o in speakers if o and o != s]
            if others:
                return re.sub(rf"\b{re.escape(s)}\b", others[0], q)
    m = re.search(r"\b(\d+)\b", q)
    if m:
        return q[: m.start()] + str(int(m.group(1)) + 1) + q[m.end():]
    for a, b in _OPPOSITES:
        if re.search(rf"\b{a}\b", q, re.I):
            return re.sub(rf"\b{a}\b", b, q, count=1, flags=re.I)
    return None


_CONTENT = re.compile(r"[A-Za-z][a-z]{3,}")
_STOP = frozenset("what when where which who whom whose does did have has been were would "
                  "could should about with from that this they their there your like".split())


def _topic_swap(q: str, other: str) -> str | None:
    """``q`` with its last lower-case content word replaced by ``other``'s: another
    question worded the same way ("What did Anna paint?" -> "What did Anna bake?")."""
    mine = [m for m in _CONTENT.finditer(q) if m.group(0).lower() not in _STOP]
    theirs = [str(w) for w in _CONTENT.findall(other) if w.lower() not in _STOP]
    if not mine or not theirs or theirs[-1].lower() == mine[-1].group(0).lower():
        return None
    m = mine[-1]
    return q[: m.start()] + theirs[-1].lower() + q[m.end():]


def _turns(hits: Sequence[Hit], episode_turn: dict[str, str], k: int = 5) -> set[str]:
    out: set[str] = set()
    for h in hits[:k]:
        if isinstance(h.item, Memory):
            out.update(episode_turn.get(e, "") for e in h.item.source_episode_ids)
        else:
            out.add(episode_turn.get(h.ref.id, ""))
    return out - {""}


def _ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "p50": 0.0, "p95": 0.0}
    s = sorted(values)
    return {"mean": round(statistics.fmean(s), 3), "p50": round(s[len(s) // 2], 3),
            "p95": round(s[min(len(s) - 1, int(0.95 * len(s)))], 3)}


def _policies(thresholds: Sequence[float]) -> list[tuple[str, dict[Any, CachePolicy]]]:
    out: list[tuple[str, dict[Any, CachePolicy]]] = [("default", dict(DEFAULT_POLICIES))]
    for t in thresholds:
        out.append((f"all>={t:g}", {c: CachePolicy(t, p.ttl_seconds)
                                    for c, p in DEFAULT_POLICIES.items()}))
    out.append(("exact", {c: CachePolicy(1.0, p.ttl_seconds)
                          for c, p in DEFAULT_POLICIES.items()}))
    return out


def run_cache_bench(ds: BenchDataset, embedder: Any, thresholds: Sequence[float],
                    limit: int = 10, seed: int = 7, writes: int = 20) -> CacheBenchReport:
    """Measure the cache on ``ds`` (module docstring)."""
    from ..engine import Engram
    from .progress import Progress
    from .runner import default_engine, ingest_dataset

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="engram-cache-bench-") as tmp:
        eg = default_engine(Path(tmp) / "bench.db", embedder)
        try:
            _, episode_turn = ingest_dataset(eg, ds, Progress(enabled=False))
            streams: list[tuple[str, Any, list[StreamQuery]]] = []
            questions: list[Any] = []
            for conv in ds.conversations:
                qs = list(conv.questions)
                base = len(questions)
                questions.extend(qs)
                stream = query_stream([q.text for q in qs], conv.speakers, rng)
                streams.append((scope_user(conv), conv, [
                    StreamQuery(s.text, s.question + base, s.kind) for s in stream]))
            fresh: dict[tuple[str, str], list[Hit]] = {}
            vectors: dict[str, np.ndarray] = {}
            fresh_ms: list[float] = []
            embed_ms: list[float] = []
            for user, _conv, stream in streams:
                for s in stream:
                    if (user, s.text) in fresh:
                        continue
                    asked = questions[s.question].asked_at
                    t0 = time.perf_counter()
                    fresh[(user, s.text)] = eg.search(s.text, user_id=user, limit=limit,
                                                      now=asked, track_access=False)
                    fresh_ms.append((time.perf_counter() - t0) * 1000)
                    t0 = time.perf_counter()
                    v = np.asarray(eg.embedder().embed_one(s.text, "query"), dtype=np.float32)
                    embed_ms.append((time.perf_counter() - t0) * 1000)
                    vectors[s.text] = v / max(float(np.linalg.norm(v)), 1e-12)
            results: list[dict[str, Any]] = []
            lookup_ms: list[float] = []
            for name, policy in _policies(thresholds):
                res = PolicyResult(name)
                cache = SemanticCache(lambda: "bench", policy, max_entries=100_000)
                for user, _conv, stream in streams:
                    for s in stream:
                        q = questions[s.question]
                        t0 = time.perf_counter()
                        answer = fresh[(user, s.text)]
                        got = cache.search(user, s.text, functools.partial(vectors.__getitem__,
                                                                           s.text),
                                           functools.partial(_given, answer))
                        spent = (time.perf_counter() - t0) * 1000
                        hit = got is not fresh[(user, s.text)]
                        if name == "default" and hit:
                            lookup_ms.append(spent)
                        wrong = hit and _worse(got, fresh[(user, s.text)], q, s.kind,
                                               episode_turn)
                        res.lookups += 1
                        res.hits += hit
                        res.wrong += wrong
                        for table, key in ((res.by_kind, s.kind),
                                           (res.by_category, str(categorize(s.text)))):
                            row = table.setdefault(key, [0, 0, 0])
                            row[0] += 1
                            row[1] += hit
                            row[2] += wrong
                results.append(res.rates())
            embed_mean = statistics.fmean(embed_ms) if embed_ms else 0.0
            cached = [embed_mean + lk for lk in lookup_ms]
            stale = _stale_check(eg, Engram, streams, questions, limit, writes)
            return CacheBenchReport(ds.benchmark, len(questions),
                                    sum(len(s) for _, _, s in streams), results,
                                    _ms(fresh_ms), _ms(cached), stale)
        finally:
            eg.close()


def _given(hits: list[Hit], _vector: object) -> list[Hit]:
    return hits


def _worse(got: Sequence[Hit], fresh: Sequence[Hit], q: Any, kind: str,
           episode_turn: dict[str, str]) -> bool:
    top_got = [h.ref for h in got[:5]]
    top_fresh = [h.ref for h in fresh[:5]]
    if kind in ("near_miss", "topic_swap"):
        return set(top_got) != set(top_fresh)
    if q.evidence_turns:
        want = set(q.evidence_turns)
        return len(_turns(got, episode_turn) & want) < len(_turns(fresh, episode_turn) & want)
    return len(set(top_got) & set(top_fresh)) < 3


def _stale_check(eg: Any, engram_cls: Any, streams: Any, questions: Sequence[Any], limit: int,
                 writes: int) -> dict[str, int]:
    """Exact repeats through an engine with the cache on, a message written before
    every other one: ``after_write`` counts answers served from the cache right after a
    write (0: every write ends them), ``stale`` served answers that differ from a fresh
    search at that moment."""
    served = stale = after_write = 0
    cached = engram_cls(config=eg.config.replace(semantic_cache=True), embedder=eg.embedder())
    try:
        for user, _conv, stream in streams:
            firsts = [s for s in stream if s.kind == "first"][: max(writes, 1)]
            for i, s in enumerate(firsts):
                asked = questions[s.question].asked_at
                cached.search(s.text, user_id=user, limit=limit, now=asked, track_access=False)
                wrote = i % 2 == 0
                if wrote:  # a message on the question's subject, then the same question
                    cached.add(f"Update: {s.text.rstrip('?')} - noted again today.",
                               user_id=user, session_id="cache-bench")
                before = cached.cache.stats().hits
                again = cached.search(s.text, user_id=user, limit=limit, now=asked,
                                      track_access=False)
                if cached.cache.stats().hits > before:
                    served += 1
                    after_write += wrote
                    now_fresh = _uncached(cached, s.text, user, limit, asked)
                    stale += [h.ref for h in again] != [h.ref for h in now_fresh]
    finally:
        cached._embedder = None  # shared with the bench engine: not closed here
        cached.close()
    return {"served": served, "after_write": after_write, "stale": stale}


def _uncached(eg: Any, query: str, user: str, limit: int, asked: Any) -> list[Hit]:
    """A fresh search by the same engine (its own index: an approximate index of
    another process may rank ties otherwise), the cache set aside."""
    cache, eg.cache = eg.cache, None
    try:
        return list(eg.search(query, user_id=user, limit=limit, now=asked, track_access=False))
    finally:
        eg.cache = cache


def _load(name: str, data_dir: Path) -> BenchDataset:
    if name == "locomo":
        from .locomo import load_locomo

        return load_locomo(data_dir / "locomo")
    if name == "realtalk":
        from .realtalk import load_realtalk

        return load_realtalk(data_dir / "realtalk")
    raise click.BadParameter(f"unknown data set {name!r} (locomo, realtalk)")


@click.command("cache")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("../shared/data"), show_default=True,
              help="Directory holding locomo/ and realtalk/.")
@click.option("--sets", default="locomo,realtalk", show_default=True,
              help="Data sets, comma-separated.")
@click.option("--conversations", type=int, default=2, show_default=True,
              help="Conversations per data set.")
@click.option("--questions", type=int, default=40, show_default=True,
              help="Questions per conversation.")
@click.option("--thresholds", default="0.9,0.92,0.94,0.96,0.97", show_default=True,
              help="Similarity thresholds swept (one for every category).")
@click.option("--limit", default=10, show_default=True, help="Hits per search.")
@click.option("--part", type=click.Choice(["dev", "held"]), default="dev", show_default=True,
              help="Which conversations: the dev split or the held-apart one.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the report as JSON here.")
def cache_command(data_dir: Path, sets: str, conversations: int, questions: int,
                  thresholds: str, limit: int, part: str, out: Path | None) -> None:
    """Semantic cache: hit rate, wrong-hit rate and latency saved on query streams with
    repeats, paraphrases and near misses (see engram.bench.cache)."""
    from ..embed.registry import get_embedder

    try:
        ts = [float(t) for t in thresholds.split(",") if t.strip()]
    except ValueError:
        raise click.BadParameter(f"thresholds: expected numbers, got {thresholds!r}") from None
    embedder = get_embedder("default")
    reports = []
    try:
        for name in [s.strip() for s in sets.split(",") if s.strip()]:
            ds = _load(name, data_dir).part(part).subset(  # type: ignore[arg-type]
                conversations=conversations, questions=questions)
            rep = run_cache_bench(ds, embedder, ts, limit)
            reports.append(rep)
            _print(rep)
    finally:
        embedder.close()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"cache-{time.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(json.dumps([r.to_dict() for r in reports], indent=1), encoding="utf-8")
        click.echo(f"report: {path}")


def _print(rep: CacheBenchReport) -> None:
    click.echo(f"\n{rep.dataset}: {rep.questions} questions, {rep.queries} queries; fresh "
               f"search {rep.fresh_ms['mean']:.1f} ms mean (p95 {rep.fresh_ms['p95']:.1f}), "
               f"cached path {rep.cached_ms['mean']:.2f} ms (p95 {rep.cached_ms['p95']:.2f})")
    kinds = ["repeat", "surface", "paraphrase", "near_miss", "topic_swap"]
    click.echo(f"{'policy':<12} {'hit':>6} {'wrong':>6}  " + "  ".join(
        f"{k[:10]:>10}" for k in kinds))
    for p in rep.policies:
        cells = "  ".join(f"{p['by_kind'].get(k, {}).get('hit_rate', 0):>6.2f}/"
                          f"{p['by_kind'].get(k, {}).get('wrong', 0):<3d}" for k in kinds)
        click.echo(f"{p['policy']:<12} {p['hit_rate']:>6.3f} {p['wrong_hit_rate']:>6.3f}  "
                   f"{cells}")
    click.echo(f"engine with writes between repeats: {rep.stale['served']} served from the "
               f"cache, {rep.stale['after_write']} right after a write, "
               f"{rep.stale['stale']} stale")
