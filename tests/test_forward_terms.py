"""Each partition row's own-text term set, kept from indexing (#21).

The reranker reads it instead of splitting and stemming a head item's text
again: it must be exactly ``term_set`` of that very text, be given for no other
text, and leave nothing of a removed row (in memory, in the saved state, in the
index file on disk).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from contract_helpers import MODEL, add_episode, at, episode, unit

from engram.index.forward import ForwardTerms
from engram.index.lexical import term_set
from engram.index.partition import PartitionIndex
from engram.index.rows import INF, TYPE_EPISODE, RowAttrs, RowFilter
from engram.models import ItemRef, Scope, SearchFilters
from engram.retrieval import rerank
from engram.retrieval.fusion import Fused
from engram.store import open_store
from engram.store.sqlite_index_files import IndexFiles
from engram.store.sqlite_search import SQLiteSearch

TEXTS = [
    "We adopted a corgi puppy last weekend!",
    "Caroline's sister moved to Lisbon; she's thrilled.",
    "the THE The tHe",  # stopwords only: an empty set
    "",
    "Tromsø in März, naïve café — 東京 too 🎉",
    "It's 3:30pm, meet me at gate B12 (terminal 2).",
    "don't won't can't shouldn't",
    "running runs ran runner's",
    "a\tb\nc  d__e--f",
    "K is the Kelvin sign; İstanbul too",
]
ATTRS = RowAttrs(TYPE_EPISODE, "episode", 0, None, None, 0.0, 0.0, INF)


def test_the_kept_set_is_term_set_of_that_very_text() -> None:
    fwd = ForwardTerms()
    fwd.grow(len(TEXTS))
    for row, text in enumerate(TEXTS):
        fwd.set(row, text)
    for row, text in enumerate(TEXTS):
        assert fwd.get(row, text) == term_set(text)
        assert fwd.get(row, text + " ") is None  # another text: not vouched for
        assert fwd.get(row, text.upper() + "x") is None
    loaded = ForwardTerms.from_state(fwd.state(np.ones(len(TEXTS), bool)), len(TEXTS))
    assert [loaded.get(r, t) for r, t in enumerate(TEXTS)] == [term_set(t) for t in TEXTS]


def test_a_removed_row_leaves_no_term() -> None:
    part = PartitionIndex(8)
    refs = [ItemRef("episode", f"e{i}") for i in range(len(TEXTS))]
    for i, (ref, text) in enumerate(zip(refs, TEXTS, strict=True)):
        part.upsert(ref, unit(i), ATTRS, text, key=2 * i, own_text=text)
    part.remove(refs[1])  # "Lisbon"
    assert part.own_terms(refs[1], TEXTS[1]) is None
    state = part.state()
    assert b"lisbon" not in state["fwd_terms"].tobytes()
    loaded = PartitionIndex.from_state(state)
    assert loaded.own_terms(refs[0], TEXTS[0]) is None  # not returned by a search yet
    loaded.search(unit(0), len(TEXTS), RowFilter())
    assert loaded.own_terms(refs[0], TEXTS[0]) == term_set(TEXTS[0])
    loaded.remove(refs[0])  # a row loaded from a state: blanked in the shared buffer
    assert b"corgi" not in loaded._fwd._base[0].tobytes()  # type: ignore[index]
    assert loaded.own_terms(refs[0], TEXTS[0]) is None
    # a state saved before the term sets were kept: nothing is vouched for
    old = PartitionIndex.from_state({k: v for k, v in state.items() if not k.startswith("fwd")})
    old.search(unit(0), len(TEXTS), RowFilter())
    assert old.own_terms(refs[0], TEXTS[0]) is None


def test_features_are_the_same_with_kept_sets() -> None:
    """The reranker's matrix with the store's kept sets equals the one it splits."""
    scope = Scope(user_id="u")
    items = {ItemRef("episode", f"e{i}"): episode(f"e{i}", scope, t, at(i))
             for i, t in enumerate(TEXTS)}
    head = [Fused(r, 1.0 / (i + 1), {}) for i, r in enumerate(items)]
    info = rerank.query_info("When did the corgi puppy move to Lisbon?", at(20))
    plain = rerank.features(info, head, items, {}, {}, set())
    rerank._ITEM_TERMS.clear()
    asked: list[str] = []

    def kept(ref: ItemRef, text: str) -> frozenset[str]:
        asked.append(text)
        return term_set(text)

    assert np.array_equal(rerank.features(info, head, items, {}, {}, set(), None, kept), plain)
    assert sorted(asked) == sorted(TEXTS)
    asked.clear()  # memoised now: the store is not asked again
    assert np.array_equal(rerank.features(info, head, items, {}, {}, set(), None, kept), plain)
    assert asked == []


U = Scope(user_id="u", tenant="t")


def test_sqlite_keeps_them_through_a_restart_and_drops_deleted_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IndexFiles, "min_rows", 5)
    db = tmp_path / "engram.db"
    store = open_store(f"sqlite:///{db}")
    texts = [f"{t} number{i}" for i, t in enumerate(TEXTS * 2)] + ["zanzibarquokka visited"]
    for i, t in enumerate(texts):
        add_episode(store, episode(f"e{i}", U, t, at(i)), unit(100 + i))
    refs = [c.ref for c in store.vector_search(U, unit(100), MODEL, SearchFilters(), 50)]
    text_of = {ItemRef("episode", f"e{i}"): t for i, t in enumerate(texts)}
    assert all(store.kept_terms(U, MODEL, r, text_of[r]) == term_set(text_of[r]) for r in refs)
    assert store.kept_terms(U, MODEL, refs[0], "some other text") is None
    store.close()

    again = open_store(f"sqlite:///{db}")

    def no_rebuild(*_: object) -> None:
        raise AssertionError("the partition was rebuilt from the tables, not loaded")

    try:
        with monkeypatch.context() as m:
            m.setattr(SQLiteSearch, "_load_tables", no_rebuild)
            refs = [c.ref for c in again.vector_search(U, unit(100), MODEL, SearchFilters(), 50)]
        assert len(refs) == len(texts)
        assert all(again.kept_terms(U, MODEL, r, text_of[r]) == term_set(text_of[r])
                   for r in refs)
        gone = ItemRef("episode", f"e{len(texts) - 1}")
        files = list(Path(f"{db}.index").glob("*.idx"))
        assert files and any(b"zanzibarquokka" in p.read_bytes() for p in files)
        part = next(iter(again._partitions.values()))  # type: ignore[attr-defined]
        again.delete_episodes("t", [gone.id])
        again.vector_search(U, unit(100), MODEL, SearchFilters(), 50)
        assert again.kept_terms(U, MODEL, gone, text_of[gone]) is None
        assert b"zanzibarquokka" not in part.state()["fwd_terms"].tobytes()
        assert b"zanzibarquokka" not in part._fwd._base[0].tobytes()  # nor in memory
        again.close()  # saves the partition without the deleted row
        for path in Path(f"{db}.index").glob("*.idx"):
            assert b"zanzibarquokka" not in path.read_bytes()
    finally:
        again.close()
