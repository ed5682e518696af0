"""BM25 scores of the in-memory lexical index (#21 speed paths) are exactly the
textbook sum, one term at a time, however the index changed since the last query.

The index adds each term's weights into one array (np.add.at) and keeps them
between searches; these tests pin that the floats are the same as adding one
array per term in the query's order, and that an add or a removal is seen at once.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import numpy as np

from engram.index.lexical import LexicalIndex, best_k, tokens
from engram.index.partition import PartitionIndex
from engram.index.rows import RowAttrs, RowFilter
from engram.models import ItemRef

_WORDS = tuple("tea coffee garden hiking lisbon sister painting concert budget apartment"
               " dentist recipe marathon novel camera".split())


def _reference(idx: LexicalIndex, texts: dict[int, str], live_rows: set[int], query: str,
               n: int) -> np.ndarray | None:
    """BM25 the plain way: one float64 array per query term, added in order (a
    removed row keeps its postings, scored and masked later by the partition)."""
    every = {r: tokens(t) for r, t in texts.items()}
    live = {r: t for r, t in every.items() if r in live_rows}
    if not live:
        return None
    avgdl = max(sum(len(t) for t in live.values()) / len(live), 1e-9)
    out: np.ndarray | None = None
    for term in dict.fromkeys(tokens(query)):
        rows = np.array(sorted(r for r, t in every.items() if term in t), dtype=np.int64)
        df = sum(1 for r in rows if r in live_rows)
        if df == 0:
            continue
        tf = np.array([every[r].count(term) for r in rows], dtype=np.float32)
        doclen = np.array([len(every[r]) for r in rows], dtype=np.float32)
        idf = math.log(1.0 + (len(live) - df + 0.5) / (df + 0.5))
        norm = idx.k1 * (1.0 - idx.b + idx.b * doclen / avgdl)
        w = idf * tf * (idx.k1 + 1.0) / (tf + norm)
        part = np.bincount(rows, weights=w, minlength=n)[:n]
        out = part if out is None else out + part
    return out


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.dtype == b.dtype and np.array_equal(a, b)


def _changes(rng: random.Random, steps: int, *indexes: LexicalIndex,
             ) -> Iterator[tuple[int, dict[int, str], set[int], int]]:
    """Random adds (four in five) and removals applied to every one of ``indexes``; after
    each, ``(step, every row's text, the live rows, the rows added so far)``."""
    texts: dict[int, str] = {}
    live: set[int] = set()
    row = 0
    for step in range(steps):
        if live and rng.random() < 0.2:
            gone = rng.choice(sorted(live))
            for idx in indexes:
                idx.remove(gone)
            live.discard(gone)
        else:
            text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 9)))
            for idx in indexes:
                idx.add(row, text)
            texts[row] = text
            live.add(row)
            row += 1
        yield step, texts, live, row


def _query(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS + ("unknownword",)) for _ in range(rng.randint(1, 5)))


def test_scores_equal_the_per_term_sum_through_adds_and_removals() -> None:
    rng = random.Random(3)
    idx = LexicalIndex()
    for step, texts, live, row in _changes(rng, 300, idx):
        if step % 7 == 0:
            for _ in range(3):  # a query repeated: the kept weights must still be right
                q = _query(rng)
                assert _same(idx.scores(q, row), _reference(idx, texts, live, q, row)), q


def test_folded_postings_score_the_live_rows_as_the_lists_did() -> None:
    """An index that folds its postings into arrays as it grows (a small ``COMPACT_AT``,
    and at a few arbitrary points by hand) scores every live row as one that never folds,
    through adds and removals (a removed row's score is the partition's to mask)."""
    rng = random.Random(11)
    plain, folded = LexicalIndex(), LexicalIndex()
    folded.COMPACT_AT = 40
    for step, _, live, row in _changes(rng, 400, plain, folded):
        if step % 97 == 0:
            folded.compact()
        if step % 7 == 0:
            mask = np.zeros(row, dtype=bool)
            mask[sorted(live)] = True
            for _ in range(3):
                q = _query(rng)
                want, got = plain.scores(q, row), folded.scores(q, row)
                if want is None or not want[mask].any():
                    assert got is None or not got[mask].any(), q
                    continue
                assert got is not None and np.array_equal(got[mask], want[mask]), q


def test_a_partition_loaded_from_its_rows_is_folded_and_answers_alike() -> None:
    rng = random.Random(13)
    part, grown = PartitionIndex(4), PartitionIndex(4)
    for i in range(80):
        text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 8)))
        vec = np.array([rng.gauss(0, 1) for _ in range(4)], dtype=np.float32)
        attrs = RowAttrs(0, "episode", 0, None, "s", float(i), float(i), math.inf)
        for p in (part, grown):
            p.upsert(ItemRef("episode", f"e{i}"), vec / np.linalg.norm(vec), attrs, text)
    part.compact()
    for q in ("tea garden", "sister painting tea", "budget", "nothing here"):
        assert part.lexical_search(q, 20, RowFilter()) == grown.lexical_search(q, 20, RowFilter())
    part.upsert(ItemRef("episode", "late"), np.ones(4, dtype=np.float32) / 2,
                RowAttrs(0, "episode", 0, None, "s", 99.0, 99.0, math.inf), "zebra")
    assert part.lexical_search("zebra", 5, RowFilter())[0][0] == ItemRef("episode", "late")


def test_a_term_seen_absent_is_found_once_a_row_has_it() -> None:
    idx = LexicalIndex()
    idx.add(0, "green tea")
    assert idx.scores("marathon", 1) is None
    idx.add(1, "ran a marathon in lisbon")
    got = idx.scores("marathon", 2)
    assert got is not None and got[0] == 0 and got[1] > 0
    idx.remove(1)
    assert idx.scores("marathon", 2) is None


def test_a_loaded_partition_answers_as_the_one_it_was_saved_from() -> None:
    rng = random.Random(5)
    part = PartitionIndex(4)
    for i in range(60):
        text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 8)))
        vec = np.array([rng.gauss(0, 1) for _ in range(4)], dtype=np.float32)
        kind = "episode" if i % 3 else "memory"  # refs of both types come back
        part.upsert(ItemRef(kind, f"e{i}"), vec / np.linalg.norm(vec),
                    RowAttrs(0 if i % 3 else 1, kind, 0, None, "s", float(i), float(i),
                             math.inf), text)
    for i in range(0, 60, 6):
        part.remove(ItemRef("episode" if i % 3 else "memory", f"e{i}"))
    loaded = PartitionIndex.from_state(part.state())
    for q in ("tea garden", "sister painting tea", "budget", "nothing here"):
        assert loaded.lexical_search(q, 20, RowFilter()) == part.lexical_search(q, 20, RowFilter())
    for seed in range(5):
        q = np.random.default_rng(seed).standard_normal(4).astype(np.float32)
        for f in (RowFilter(), RowFilter(kinds=frozenset({"episode"}))):
            got = loaded.search(q, 7, f)
            assert got == part.search(q, 7, f) and len(got) == 7
            assert all(type(s) is float for _, s in got)


def test_best_k_is_the_set_argpartition_keeps_with_or_without_ties() -> None:
    rng = np.random.default_rng(5)
    for size, k, levels in ((10, 3, 0), (5000, 100, 0), (62_000, 100, 0), (62_000, 100, 40),
                            (9000, 1, 0), (9000, 9000, 0), (20_000, 100, 3), (4096, 512, 0)):
        for _ in range(5):
            scores = rng.random(size) * 10
            if levels:  # few distinct values: ties at the k-th place
                scores = np.round(scores * levels / 10) + 1.0
            got = best_k(scores, k)
            want = np.argpartition(-scores, k - 1)[:k]
            assert got.size == k == np.unique(got).size
            assert np.array_equal(np.sort(scores[got]), np.sort(scores[want]))
            kth = np.sort(scores)[::-1][k - 1]
            if np.count_nonzero(scores >= kth) == k:  # one set: exactly argpartition's
                assert set(got.tolist()) == set(want.tolist())
            else:  # tied: argpartition's own choice, as before
                assert np.array_equal(got, want)


def test_rows_of_one_score_rank_by_id_whatever_order_they_were_written_in() -> None:
    """Session 36: a store a process has just written and the same file opened afresh
    hold their rows in other orders; ties (one text said many times: "lol", "Sounds
    good!") were broken by row order, so the two ranked a chat's near-ties differently.
    Rows of one score now rank by id, and of the rows tied at the ``k``-th place the first
    by id are kept, for BM25 and for vectors, as PostgreSQL's ``ORDER BY score, id``."""
    said = ([("sounds good to me", np.array([1.0, 0, 0, 0]))] * 12
            + [("good morning", np.array([0.6, 0.8, 0, 0]))] * 3
            + [("a tea garden", np.array([0, 0, 1.0, 0]))] * 5)
    rows = [(ItemRef("episode", f"e{k:02d}"), text, vec) for k, (text, vec) in enumerate(said)]

    def written(order: list[int]) -> PartitionIndex:
        part = PartitionIndex(4)
        for i in order:
            ref, text, vec = rows[i]
            part.upsert(ref, vec.astype(np.float32),
                        RowAttrs(0, "episode", 0, None, "s", float(i), float(i), math.inf), text)
        return part

    forward = written(list(range(len(rows))))
    backward = written(list(reversed(range(len(rows)))))
    shuffled = list(range(len(rows)))
    random.Random(3).shuffle(shuffled)
    mixed = written(shuffled)
    query = np.array([1.0, 0, 0, 0], dtype=np.float32)
    for k in (1, 5, 12, 14, 20):
        lexical = forward.lexical_search("sounds good", k, RowFilter())
        assert lexical == backward.lexical_search("sounds good", k, RowFilter())
        assert lexical == mixed.lexical_search("sounds good", k, RowFilter())
        dense = forward.search(query, k, RowFilter())
        assert dense == backward.search(query, k, RowFilter()) == mixed.search(
            query, k, RowFilter())
    # the 12 tied best, by id, then the next score
    assert [r.id for r, _ in forward.search(query, 5, RowFilter())] == [
        "e00", "e01", "e02", "e03", "e04"]
    assert [r.id for r, _ in backward.lexical_search("sounds good", 14, RowFilter())][:12] == [
        f"e{k:02d}" for k in range(12)]
