"""A text's facts made once with its partition card, read by the reranker (#21).

:func:`engram.index.rowfacts.facts` read back equals what a search would work
out from the text (its index terms, whether it says something about time, the
names it introduces), on texts of many kinds. A SQLite view made from a card holds its text's facts:
built from the tables, after a change of the text, after a restart from the
index file, and after loading a file whose cards were made in an older layout
(made once, at load). The reranker reads them: its features from views equal
its features from whole items, and a view's facts, not its text, decide the
coverage and time columns where the view holds them; multi-hop search reads a
view's introduced names, not its text.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from contract_helpers import (
    MODEL,
    add_episode,
    add_memory,
    at,
    change_memory,
    episode,
    memory,
    unit,
)

from engram import Engram
from engram.embed.base import Embedder
from engram.index.files import pack, unpack, write_atomically
from engram.index.lexical import term_set
from engram.index.rowfacts import TIMEY, TIMEY_PATTERN, facts, read_names, read_terms, timey
from engram.models import Episode, ItemRef, Scope, SearchFilters
from engram.recall.introductions import introduced_names
from engram.retrieval import hops, rerank
from engram.retrieval.fusion import Fused
from engram.retrieval.signals import Signal
from engram.store import open_store
from engram.store.base import Candidate, Store
from engram.store.sqlite_index_files import IndexFiles
from engram.store.sqlite_views import CARD_LAYOUT
from engram.store.views import FLAGS, NAMES, TERMS, kept_facts, kept_names
from engram.text import clear_text_caches

U = Scope(user_id="u", tenant="t")

TEXTS = [
    "", " ", "?", "ok", "The the THE of and", "We adopted a corgi puppy last week!",
    "my sister moved to Lisbon in 2019", "I'll see you on the 3rd, at 10:30",
    "Rescheduled: Monday's stand-up -> Tuesday 9am", "lastly, weekly meetings in 1850",
    "Ça va? J'ai déménagé à Montréal l'été dernier", "Ich bin gestern nach Berlin gezogen",
    "日本語のテキスト 2021年", "naïve café résumé — don't, won't, can’t", "C++ & C# vs. Rust_lang",
    "  multiple   spaces\tand\nnew lines  ", "e-mail me at ana@example.com re: the Q3 report",
    "Yesterday", "SUMMER", "1st 2nd 3rd 4th 21st 123rd", "it's 2024-05-01T10:00:00Z now",
    "Kelvin K and long ſ", "Arabic digits ٢٠١٩ and ١st", "under_score __init__ word_2020",
    "My sister Anna moved to Lisbon.", "Our dentist, Dr. Okafor, retired; I met Ben, my coach",
    "a kitten we named Pixel and a novel called The Glass Orchard", "we fly from Porto",
    "My wife's favourite band is Velvet\nLanterns", "I called her Mary-Jo O'Neil yesterday",
]


def _random_texts(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    words = " ".join(TEXTS).split() + ["month", "Monday", "fall", "since", "1999", "20th", "ago",
                                       "my", "named", "Anna", "Dr.", "the", ",", "is"]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(0, 30))) for _ in range(n)]


def test_facts_read_back_as_the_text_gives_them() -> None:
    for text in TEXTS + _random_texts(2000):
        terms, flags, names = facts(text)
        assert read_terms(terms) == term_set(text), text
        assert read_names(names) == introduced_names(text), text
        assert bool(flags & TIMEY) == timey(text) == (TIMEY_PATTERN.search(text) is not None)


def _store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'v.db'}")


def _fill(store: Store) -> None:
    add_episode(store, episode("e1", U.with_session("s1"), "we adopted a corgi last week", at(1)),
                unit(1))
    add_episode(store, episode("e2", U.with_session("s1"), "what pet did you get?", at(2)),
                unit(2))
    add_memory(store, memory("m1", U, "User has a corgi named Biscuit", when=at(4)), unit(4))
    assert introduced_names("User has a corgi named Biscuit") == {"biscuit"}


def _views(store: Store) -> list[object]:
    store.vector_search(U, unit(1), MODEL, SearchFilters(), 50)  # the partition finds the rows
    store._rows.clear()  # type: ignore[attr-defined]  # not from held rows: from cards
    episodes, memories = store.get_item_views(U, ["e1", "e2"], ["m1"])
    return [*episodes, *memories]


def _assert_facts_of_texts(views: list[object]) -> None:
    assert len(views) == 3
    for v in views:
        held = kept_facts(v)  # type: ignore[arg-type]
        assert held is not None, v
        assert read_terms(held[0]) == term_set(v.text)  # type: ignore[attr-defined]
        assert bool(held[1] & TIMEY) == timey(v.text)  # type: ignore[attr-defined]
        assert kept_names(v) == introduced_names(v.text)  # type: ignore[arg-type, attr-defined]


def test_views_from_cards_hold_their_texts_facts(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(IndexFiles, "min_rows", 2)
    store = _store(tmp_path)
    _fill(store)
    _assert_facts_of_texts(_views(store))  # cards built from the tables
    m1 = store.get_items(U, [], ["m1"])[1][0]
    change_memory(store, m1, at(9), text="User now has two corgis since Monday")
    views = _views(store)
    assert views[2].text == "User now has two corgis since Monday"  # type: ignore[attr-defined]
    assert kept_facts(views[2]) == facts(views[2].text)[:2]  # type: ignore[arg-type, attr-defined]
    assert kept_names(views[2]) == frozenset()  # type: ignore[arg-type]
    _assert_facts_of_texts(views)
    store.warm(U, MODEL)
    store.close()
    store = _store(tmp_path)  # loaded from the index file
    _assert_facts_of_texts(_views(store))
    store.close()
    # a file whose cards were made in the older layout (no facts): made once at load
    (path,) = Path(f"{tmp_path / 'v.db'}.index").glob("*.idx")
    header, arrays = unpack(path)
    arrays = {k: np.array(v) for k, v in arrays.items()}
    old = "sqlite 1: tenant user_id agent_id session_id role speaker occurred_at created_at"
    arrays["card_layout"] = np.frombuffer(old.encode() + b"\x00", dtype=np.uint8).copy()
    write_atomically(path, pack(header, arrays))
    store = _store(tmp_path)
    views = _views(store)
    part = next(iter(store._partitions.values()))  # type: ignore[attr-defined]
    assert part.card_layout == CARD_LAYOUT
    _assert_facts_of_texts(views)
    store.close()


def test_the_reranker_reads_the_facts(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _fill(store)
    views = {ItemRef("episode" if isinstance(v, Episode) else "memory",
                     v.id): v for v in _views(store)}  # type: ignore[attr-defined]
    whole_e, whole_m = store.get_items(U, ["e1", "e2"], ["m1"])
    whole = {**{ItemRef("episode", e.id): e for e in whole_e},
             **{ItemRef("memory", m.id): m for m in whole_m}}
    head = [Fused(r, 1.0 / (i + 1), {}) for i, r in enumerate(views)]
    raw = {Signal.BM25: [Candidate(r, 1.0) for r in views]}
    info = rerank.QueryInfo(frozenset(term_set("corgi week")), (), None, None, asks_when=True)

    def matrix(items: dict) -> np.ndarray:  # type: ignore[type-arg]
        clear_text_caches()  # nothing memoised: each text read afresh
        return rerank.features(info, head, items, raw, raw, set())

    cov, when = rerank._COL["coverage"], rerank._COL["when_time"]
    from_views, from_whole = matrix(views), matrix(whole)
    assert np.array_equal(from_views, from_whole)
    assert from_views[0, cov] == 1.0 and from_views[0, when] == 1.0  # e1
    # the facts, not the text, answer where a view holds them
    e1 = views[ItemRef("episode", "e1")]
    e1.__dict__[TERMS], e1.__dict__[FLAGS] = "pet", 0
    tampered = matrix(views)
    assert tampered[0, cov] == 0.0 and tampered[0, when] == 0.0
    store.close()


def test_multi_hop_reads_a_views_names(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _fill(store)
    m1 = next(v for v in _views(store) if v.id == "m1")  # type: ignore[attr-defined]
    assert hops.bridges((), [(1.0, m1)], ()) == {"biscuit": 1.0}  # type: ignore[list-item]
    m1.__dict__[NAMES] = "rex"  # the names the view holds answer, not its text
    assert hops.bridges((), [(1.0, m1)], ()) == {"rex": 1.0}  # type: ignore[list-item]
    store.close()


def test_the_facts_a_search_memoised_leave_with_a_forget(tmp_path: Path,
                                                         embedder: Embedder) -> None:
    """The reranker memoises each head text's terms as its card wrote them
    (``rerank._KEPT``, for the newer-first rule's look-ups): a forget empties it,
    and the partition's look-up by key (made for a neighbour turn's card) holds
    numbers only, no text."""
    clear_text_caches()
    secret = "my locker code at the zanzibarquokka gym is 4471"
    with Engram(tmp_path / "f.db", embedder=embedder) as eg:
        eg.add(secret, user_id="ana", speaker="Ana", session_id="s")
        eg.add("we had pizza on Friday", user_id="ana", speaker="Ana", session_id="s")
        assert eg.search("what is the locker code at the gym?", user_id="ana")
        assert any("zanzibarquokka" in t for t in rerank._KEPT.values())
        for part in eg.store._partitions.values():  # type: ignore[attr-defined]
            index = part._key_index
            assert index is None or all(a.dtype.kind in "iu" for a in index)
        eg.forget(user_id="ana")
        assert not rerank._KEPT and not rerank._ITEM_TERMS
        assert not any("zanzibarquokka" in t for t in rerank._KEPT.values())
