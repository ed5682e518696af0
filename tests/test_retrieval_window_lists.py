"""A signal's windowed list (:func:`windows.windowed`) in one pass is the list the
steps make one by one: scale, spread the seeds, the unspread tail after them, sort."""

from __future__ import annotations

import random

from engram.models import ItemRef
from engram.retrieval.windows import normalised, spread, windowed
from engram.store.base import Candidate, Neighbour


def _step_by_step(cands: list[Candidate], nb: dict[str, list[Neighbour]], seeds: int,
                  from_zero: bool, **kw: float) -> list[Candidate]:
    norm = normalised(cands, from_zero=from_zero)
    scaled = [Candidate(c.ref, norm[c.ref]) for c in cands]
    top = spread(scaled[:seeds], nb, from_zero=True, **kw)  # type: ignore[arg-type]
    seen = {c.ref for c in top}
    tail = [c for c in scaled[seeds:] if c.ref not in seen]
    return sorted(top + tail, key=lambda c: (-c.score, c.ref.type, c.ref.id))


def _case(rnd: random.Random) -> tuple[list[Candidate], dict[str, list[Neighbour]]]:
    n = rnd.randint(1, 40)
    refs = [ItemRef(rnd.choice(["episode", "episode", "memory"]), f"x{i:02d}") for i in range(n)]
    # ties, zeros, negative cosines, all equal: the scales' edge cases
    pool = rnd.choice([[0.0, 0.5, 1.0, 2.5], [-0.3, 0.1, 0.7], [1.0], [0.0]])
    scores = sorted((rnd.choice(pool) * rnd.choice([1, 1, 3]) for _ in refs), reverse=True)
    cands = [Candidate(r, s) for r, s in zip(refs, scores, strict=True)]
    nb = {r.id: [Neighbour(f"x{rnd.randint(0, 60):02d}", o)
                 for o in rnd.sample([-3, -2, -1, 1, 2, 3], rnd.randint(0, 6))]
          for r in refs if r.type == "episode" and rnd.random() < 0.7}
    return cands, nb


def test_the_windowed_list_is_the_steps_list() -> None:
    rnd = random.Random(21)
    for _ in range(500):
        cands, nb = _case(rnd)
        kw = {"weight": rnd.choice([0.0, 0.5, 1.0]), "decay": rnd.choice([0.5, 0.8]),
              "radius": rnd.choice([0, 1, 3]), "self_weight": rnd.choice([1.0, 2.0])}
        seeds, zero = rnd.choice([1, 5, 30]), rnd.random() < 0.5
        want = _step_by_step(cands, nb, seeds, zero, **kw)
        got = windowed(cands, nb, seeds=seeds, from_zero=zero, **kw)  # type: ignore[arg-type]
        assert [(c.ref, repr(c.score)) for c in got] == [(c.ref, repr(c.score)) for c in want]


def _spread_as_written(cands: list[Candidate], nb: dict[str, list[Neighbour]], weight: float,
                       decay: float, radius: int, self_weight: float,
                       from_zero: bool) -> list[tuple[ItemRef, str]]:
    """:func:`spread` as its docstring writes it: each neighbour adds
    ``weight * decay ** |offset| * s``, a memory is scaled by a full window's gain."""
    base = normalised(cands, from_zero=from_zero)
    out = {r: s * self_weight for r, s in base.items()}
    if weight > 0 and radius > 0:
        gain = 1.0 + weight * 2.0 * sum(decay**k for k in range(1, radius + 1))
        out.update((r, s * gain) for r, s in base.items() if r.type == "memory")
    for r, s in base.items():
        if weight > 0 and r.type == "episode" and s > 0:
            for n in nb.get(r.id, ()):
                key = ItemRef("episode", n.id)
                out[key] = out.get(key, 0.0) + weight * decay ** abs(n.offset) * s
    return [(r, repr(s)) for r, s in sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))]


def test_spread_adds_what_its_formula_says_bit_for_bit() -> None:
    rnd = random.Random(22)
    for _ in range(500):
        cands, nb = _case(rnd)
        kw = {"weight": rnd.choice([0.0, 0.3, 1.0]), "decay": rnd.choice([0.5, 0.8, 0.9]),
              "radius": rnd.choice([0, 1, 3]), "self_weight": rnd.choice([1.0, 2.0])}
        zero = rnd.random() < 0.5
        got = spread(cands, nb, from_zero=zero, **kw)  # type: ignore[arg-type]
        assert all(type(c.ref) is ItemRef for c in got)
        assert [(c.ref, repr(c.score)) for c in got] == _spread_as_written(
            cands, nb, from_zero=zero, **kw)  # type: ignore[arg-type]
