"""The whole-store reads of the contract (moves, quotas, audits), on every backend:
``meta_items``, ``tenants``, ``tenant_usage``, ``iter_vectors``, ``lexical_texts``,
``forget_residue`` and ``finish_bulk_load``."""

from __future__ import annotations

import numpy as np
from contract_helpers import MODEL, add_episode, add_memory, at, episode, memory, unit

from engram.models import ItemRef, Scope
from engram.store.base import Store, Usage, WriteBatch
from engram.trust.encryption import EncryptedStore

A = Scope(user_id="u1", tenant="t-a")
B = Scope(agent_id="bot", tenant="t-b")


def test_meta_items_lists_every_setting(store: Store) -> None:
    before = store.meta_items()
    store.set_meta("zz_test", "1")
    store.set_meta("zz_test", "2")
    assert store.meta_items() == {**before, "zz_test": "2"}
    assert all(store.get_meta(k) == v for k, v in store.meta_items().items())


def test_tenants_are_sorted_and_forget_removes_them(store: Store) -> None:
    assert store.tenants() == []
    add_memory(store, memory("m1", B, "the bot likes tea"))
    add_episode(store, episode("e1", A, "hello there", at(1)))
    assert store.tenants() == ["t-a", "t-b"]
    store.forget(Scope(tenant="t-a"))
    assert store.tenants() == ["t-b"]


def test_tenant_usage_counts_items_and_utf8_bytes_per_tenant(store: Store) -> None:
    assert store.tenant_usage("t-a") == Usage(0, 0)
    add_episode(store, episode("e1", A, "naïve café", at(1)))  # 10 characters, 12 bytes
    add_memory(store, memory("m1", A, "likes tea"))
    add_memory(store, memory("m2", B, "elsewhere"))
    got = store.tenant_usage("t-a")
    plain = len("naïve café".encode()) + len("likes tea")
    assert got.items == 2
    # bytes as stored: ciphertext (longer) under encryption
    assert got.bytes > plain if isinstance(store, EncryptedStore) else got.bytes == plain
    assert store.tenant_usage("nobody") == Usage(0, 0)


def test_iter_vectors_returns_each_vector_as_stored(store: Store) -> None:
    e = episode("e1", A, "hello there", at(1))
    add_episode(store, e, unit(1))
    add_memory(store, memory("m1", A, "likes tea"), unit(2))
    add_memory(store, memory("m2", B, "other tenant"), unit(3))
    add_episode(store, episode("e2", A, "no vector", at(2)))
    got = {v.ref: v for v in store.iter_vectors("t-a")}
    assert set(got) == {ItemRef("episode", "e1"), ItemRef("memory", "m1")}
    v = got[ItemRef("episode", "e1")]
    assert (v.tenant, v.model_id, v.vector.dtype) == ("t-a", MODEL, np.float32)
    assert np.allclose(v.vector, unit(1))
    assert list(store.iter_vectors("nobody")) == []


def test_lexical_texts_are_the_index_text_or_the_item_text(store: Store) -> None:
    e1 = episode("e1", A, "see you tomorrow", at(1))
    e2 = episode("e2", A, "plain text", at(2))
    ref1, ref2 = ItemRef("episode", "e1"), ItemRef("episode", "e2")
    store.write(WriteBatch(episodes=[e1, e2],
                           index_texts={ref1: "Ann: see you tomorrow (2024-01-03)"}))
    got = store.lexical_texts("t-a", [ref1, ref2, ItemRef("memory", "nope")])
    assert got == {ref1: "Ann: see you tomorrow (2024-01-03)", ref2: "plain text"}
    assert store.lexical_texts("t-b", [ref1]) == {}


def test_forget_residue_reports_checks_and_never_raises_for_clean_stores(store: Store) -> None:
    add_episode(store, episode("e1", A, "a sentence only this subject wrote", at(1)))
    store.forget(A)
    res = store.forget_residue(["a sentence only this subject wrote"], 256 * 1024 * 1024)
    assert res.backend == store.backend
    assert res.checks and all(v in ("passed", "failed", "skipped") for v in res.checks.values())
    assert res.raw_scan is not False
    store.finish_bulk_load()  # a hook: safe on any backend, any time
    store.finish_bulk_load()


def test_forget_twice_removes_nothing_the_second_time(store: Store) -> None:
    add_episode(store, episode("e1", A, "hello there", at(1)), unit(1))
    first = store.forget(A)
    assert first["episodes"] == 1
    second = store.forget(A)
    assert set(second) >= {"episodes", "memories", "memory_versions", "vectors", "jobs"}
    assert all(v == 0 for v in second.values())
    assert store.job_counts(A) == {} and store.job_counts(None) == {}
