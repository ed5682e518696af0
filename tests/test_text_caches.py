"""Memos of stored texts (``engram.text.text_cache``) are emptied by forget and deletes.

The reranker, newer-first and multi-hop code memoise functions of message and
memory texts; those memos hold whole texts in the process's memory. The stemmer
and the injection detector memoise per word. After a forget, a memory delete or
an episode delete none of them may still hold a text or a word of one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engram import Engram
from engram.embed.base import Embedder
from engram.index import lexical
from engram.ingest import supersede
from engram.recall import entities
from engram.retrieval import hops, rerank
from engram.text import _TEXT_CACHES, _TEXT_MEMOS, clear_text_caches
from engram.trust import cascade, classifier, poisoning

SECRET = "My locker code at the climbing gym is 4471 and I moved to Tromsø last spring"


def _held() -> int:
    return (sum(c.cache_info().currsize for c in _TEXT_CACHES)
            + sum(len(m) for m in list(_TEXT_MEMOS)))


def test_the_retrieval_memos_are_registered() -> None:
    for fn in (rerank._terms, supersede.words, supersede.states_change, supersede.tells_event,
               supersede.corrects, hops.introduced_names, classifier._word_features,
               entities._known_pattern):
        assert fn in _TEXT_CACHES


def test_the_word_memos_are_registered() -> None:
    """The stemmer's, the rules' and the model's per-word memos are emptied too."""
    for memo in (lexical._STEMS, poisoning._LITERAL_SET.run_memo, classifier.load()._memo):
        assert memo in _TEXT_MEMOS
    lexical.stem("tromsø")
    cascade.scan("I moved to Tromsø last spring")
    runs = poisoning._LITERAL_SET.run_memo
    assert "tromsø" in lexical._STEMS and runs and classifier.load()._memo
    clear_text_caches()
    assert not lexical._STEMS and not runs and not classifier.load()._memo


def _check(tmp_path: Path, embedder: Embedder, erase: Callable[[Engram, str], None]) -> None:
    clear_text_caches()
    with Engram(tmp_path / "c.db", embedder=embedder) as eg:
        res = eg.add(SECRET, user_id="ana", speaker="Ana")
        eg.add("We had pizza on Friday with friends", user_id="ana", speaker="Ana")
        assert eg.search("where did Ana move?", user_id="ana")
        assert _held() > 0  # the search memoised texts
        erase(eg, res.episodes[0].id)
        assert _held() == 0


def test_forget_empties_the_text_memos(tmp_path: Path, embedder: Embedder) -> None:
    _check(tmp_path, embedder, lambda eg, _: eg.forget(user_id="ana"))


def test_deleting_an_episode_empties_the_text_memos(tmp_path: Path, embedder: Embedder) -> None:
    _check(tmp_path, embedder, lambda eg, eid: eg.delete_episode(eid, user_id="ana"))


def test_deleting_a_memory_empties_the_text_memos(tmp_path: Path, embedder: Embedder) -> None:
    def delete_one(eg: Engram, _: str) -> None:
        eg.delete(eg.list(user_id="ana").items[0].id, user_id="ana")

    _check(tmp_path, embedder, delete_one)


def test_a_forget_by_another_store_empties_the_memos_at_the_next_search(
        tmp_path: Path, embedder: Embedder) -> None:
    """The memos are per process: a forget made through another connection to the
    file (another process, here a second store that bypasses this engine) empties
    them when this process next reads the change log, before its search answers."""
    from engram.models import Scope

    db = tmp_path / "two.db"
    clear_text_caches()
    with Engram(db, embedder=embedder) as here, Engram(db, embedder=embedder) as there:
        here.add(SECRET, user_id="ana", speaker="Ana")
        here.add("We had pizza on Friday with friends", user_id="bob", speaker="Bob")
        assert here.search("where did Ana move?", user_id="ana")
        assert here.search("pizza", user_id="bob")
        assert "tromsø" in lexical._STEMS and _held() > 0
        there.store.forget(Scope(user_id="ana"))  # the store alone: no engine clears memos
        assert "tromsø" in lexical._STEMS  # still held until this process catches up
        assert here.search("pizza", user_id="bob")  # another user's search reads the log
        assert "tromsø" not in lexical._STEMS
        # nor does this process keep the forgotten user's (emptied) partition or streams
        held = [*here.store._partitions, *here.store._streams]  # type: ignore[attr-defined]
        assert held and "ana" not in {k[2] if len(k) == 4 else k[1] for k in held}


def test_a_cached_embedders_vectors_are_emptied_with_the_memos(embedder: Embedder) -> None:
    """An in-process embedding cache holds vectors of stored texts: a forget empties it."""
    from engram.embed import CachedEmbedder

    cached = CachedEmbedder(embedder, maxsize=2)
    cached.embed([SECRET, "pizza on Friday", "a third text"])
    assert cached.cache_info().size == 2  # the bound holds
    cached.embed([SECRET])
    clear_text_caches()
    assert cached.cache_info().size == 0


def test_the_embed_queue_keeps_no_text_or_vector_after_its_batch(
        tmp_path: Path, embedder: Embedder) -> None:
    """The queue's batch memo (episodes read, vectors made) goes with its last job."""
    with Engram(tmp_path / "q.db", embedder=embedder, embed_queue=True) as eg:
        eg.add(SECRET, user_id="ana", derive=False)
        eg.ingest.embeds.drain()
        assert eg.ingest.embeds._indexer is None and eg.ingest.embeds._read == {}
        assert eg.search("locker code", user_id="ana")


def test_a_forget_by_another_process_drops_this_processs_copy_of_the_data_key(
        tmp_path: Path, embedder: Embedder) -> None:
    """Crypto-shredding: another process destroyed the user's data key; this
    process's copy of it goes at its next search (of anyone), with the memos."""
    from engram.trust.encryption import EncryptedStore
    from engram.trust.keyring import generate_master_key

    db, key = tmp_path / "e.db", generate_master_key()
    with Engram(db, embedder=embedder, encryption_key=key) as here, \
            Engram(db, embedder=embedder, encryption_key=key) as there:
        here.add(SECRET, user_id="ana", speaker="Ana")
        here.add("We had pizza on Friday with friends", user_id="bob", speaker="Bob")
        assert here.search("where did Ana move?", user_id="ana")
        store = here.store
        assert isinstance(store, EncryptedStore)
        assert store.keyring._keys.get(("default", "ana"))
        there.forget(user_id="ana")
        assert here.search("pizza", user_id="bob")
        assert store.keyring._keys.get(("default", "ana")) is None
        # a key held here, destroyed there: what the user writes next here is
        # sealed with a new key, so another process reads it (an acknowledged
        # write stays readable)
        here.add("I moved again, to Bergen", user_id="ana", speaker="Ana")
        assert store.keyring._keys.get(("default", "ana"))
        there.forget(user_id="ana")
        here.add("My new number is 555-0199", user_id="ana", speaker="Ana")
    with Engram(db, embedder=embedder, encryption_key=key) as fresh:
        assert [e.text for e in fresh.list(user_id="ana", type="episode").items] == [
            "My new number is 555-0199"]


def test_a_delete_by_another_process_leaves_no_word_or_id_of_it_in_the_partition(
        tmp_path: Path, embedder: Embedder) -> None:
    """SQLite: a partition that only marked a deleted row removed would keep its
    words (BM25 postings) and id; the catch-up rebuilds it without them, and
    searches answer as from a partition loaded afresh."""
    db = tmp_path / "two.db"
    with Engram(db, embedder=embedder) as here, Engram(db, embedder=embedder) as there:
        res = here.add(SECRET, user_id="ana", speaker="Ana")
        here.add(["We had pizza on Friday with friends", "The climbing gym opens at nine"],
                 user_id="ana", speaker="Ana")
        gone = res.episodes[0].id
        assert here.search("locker code Tromsø", user_id="ana")
        there.delete_episode(gone, user_id="ana")
        hits = here.search("climbing gym locker", user_id="ana")
        assert gone not in [h.item.id for h in hits]
        parts = list(here.store._partitions.values())  # type: ignore[attr-defined]
        assert parts
        for part in parts:
            part._materialize()
            assert "tromsø" not in part._lex._post_rows and "tromsø" not in part._lex._base
            assert gone not in {r.id for r in part._refs}
    with Engram(db, embedder=embedder) as fresh:
        again = fresh.search("climbing gym locker", user_id="ana")
        assert [(h.item.id, h.score) for h in again] == [(h.item.id, h.score) for h in hits]
