"""Encryption at rest: raw database bytes, crypto-shredding, key checks, lexical-off mode.

The Store contract itself runs against EncryptedStore as the ``sqlite-encrypted``
backend of tests/test_store_contract.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.errors import ConfigError
from engram.models import Scope
from engram.store import open_store
from engram.trust.encryption import EncryptedStore
from engram.trust.keyring import DecryptionFailed, generate_master_key

MARKER = "Zanzibarquux"


def raw_bytes(db: Path) -> bytes:
    """Every byte SQLite has on disk for this database (main file, WAL, journal)."""
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def open_eg(db: Path | str, embedder: Embedder, key: str | None, **kw: object) -> Engram:
    return Engram(db, embedder=embedder, encryption_key=key, **kw)


def test_marker_is_absent_from_the_database_file_without_lexical_index(
    tmp_path: Path, embedder: Embedder
) -> None:
    db, key = tmp_path / "e.db", generate_master_key()
    with open_eg(db, embedder, key, encryption_lexical=False) as eg:
        res = eg.add(f"I keep my {MARKER} collection in Lisbon",
                     user_id="u", metadata={"note": MARKER})
        mem = eg.remember(f"{MARKER} is my cat", user_id="u", metadata={"tag": MARKER})
        eg.update(mem.id, f"{MARKER} is my old cat", user_id="u")
        hits = eg.search("my cat", user_id="u")
        assert any(MARKER in h.item.text for h in hits)  # vector search still finds it
        assert eg.get(res.episodes[0].id, user_id="u").metadata["note"] == MARKER
        assert eg.history(mem.id, user_id="u")[-1].after["text"] == f"{MARKER} is my old cat"
        assert eg.search("cat", user_id="u", metadata={"tag": MARKER})  # blind-index filter
    assert MARKER.encode() not in raw_bytes(db)
    assert MARKER.lower().encode() not in raw_bytes(db)


def test_lexical_index_mode_keeps_keyword_search(tmp_path: Path, embedder: Embedder) -> None:
    db, key = tmp_path / "e.db", generate_master_key()
    with open_eg(db, embedder, key) as eg:
        eg.add(f"My locker code word is {MARKER}", user_id="u")
        assert eg.search(MARKER, user_id="u", preset="bm25")


def test_wrong_or_missing_key_is_refused(tmp_path: Path, embedder: Embedder) -> None:
    db, key = tmp_path / "e.db", generate_master_key()
    with open_eg(db, embedder, key) as eg:
        eg.add("I like green tea", user_id="u")
    with pytest.raises(ConfigError):
        open_eg(db, embedder, generate_master_key())
    with pytest.raises(ConfigError):
        open_eg(db, embedder, None)
    with pytest.raises(ConfigError):
        open_eg(db, embedder, "not-a-key")


def test_forgetting_a_user_destroys_its_key(tmp_path: Path) -> None:
    key = generate_master_key()
    store = EncryptedStore(open_store(f"sqlite:///{tmp_path / 's.db'}"), key)
    sealed = store.keyring.seal("default", "u", "ep1", {"t": "secret"})
    other = store.keyring.seal("default", "v", "ep2", {"t": "kept"})
    counts = store.forget(Scope(user_id="u"))
    assert counts["data_keys"] == 1
    with pytest.raises(DecryptionFailed):  # a copy of the ciphertext (backup) is now dead
        store.keyring.open("default", "u", "ep1", sealed)
    store.close()
    reopened = EncryptedStore(open_store(f"sqlite:///{tmp_path / 's.db'}"), key)
    with pytest.raises(DecryptionFailed):
        reopened.keyring.open("default", "u", "ep1", sealed)
    assert reopened.keyring.open("default", "v", "ep2", other) == {"t": "kept"}
    # forgetting the tenant shreds every remaining key
    assert reopened.forget(Scope())["data_keys"] == 1
    with pytest.raises(DecryptionFailed):
        reopened.keyring.open("default", "v", "ep2", other)
    reopened.close()


def test_forgotten_user_can_start_again(tmp_path: Path, embedder: Embedder) -> None:
    db, key = tmp_path / "e.db", generate_master_key()
    with open_eg(db, embedder, key) as eg:
        eg.add("I live in Porto", user_id="u")
        eg.forget(user_id="u")
        eg.add("I live in Faro", user_id="u")
        assert [h.item.text for h in eg.search("where do I live", user_id="u",
                                               kinds=["episode"])] == ["I live in Faro"]


def test_ciphertext_moved_to_another_item_does_not_open(tmp_path: Path) -> None:
    store = EncryptedStore(open_store(f"sqlite:///{tmp_path / 's.db'}"), generate_master_key())
    sealed = store.keyring.seal("default", "u", "ep1", {"t": "secret"})
    with pytest.raises(DecryptionFailed):
        store.keyring.open("default", "u", "ep2", sealed)
    store.close()


def _two_stores(kind: str, tmp_path: Path, key: str) -> tuple[EncryptedStore, EncryptedStore]:
    """Two encrypted stores on one SQLite file or one PostgreSQL database."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'k.db'}"
    else:
        from pg_fixtures import fresh_pg_url
        url = fresh_pg_url()
    return EncryptedStore(open_store(url), key), EncryptedStore(open_store(url), key)


def _two_stores_any(kind: str, tmp_path: Path,
                    key: str) -> tuple[EncryptedStore, EncryptedStore]:
    """:func:`_two_stores`, plus ``memory``: two key rings over one memory:// store."""
    if kind != "memory":
        return _two_stores(kind, tmp_path, key)
    inner = open_store("memory://")
    return EncryptedStore(inner, key), EncryptedStore(inner, key)


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "memory"])
def test_a_forget_committing_between_a_writes_seal_and_its_commit_loses_nothing(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another store's forget destroys the user's key after this write sealed its
    rows (and after any check before sealing) but before the write's transaction:
    the store's ``meta_expect`` check fails the write with nothing written, and it
    is sealed again with a live key. The acknowledged rows open everywhere, as an
    unencrypted store keeps a write that commits after a forget."""
    from contract_helpers import episode, memory

    from engram.store.base import WriteBatch

    key = generate_master_key()
    here, there = _two_stores_any(kind, tmp_path, key)
    ana = Scope(user_id="ana")
    real_write = here.inner.write
    calls: list[int] = []

    def forget_first(batch: WriteBatch) -> object:
        calls.append(len(batch.meta_expect))
        if len(calls) == 1:
            there.forget(ana)  # lands between the seal and the transaction
        return real_write(batch)

    try:
        here.write(WriteBatch(episodes=[episode("e0", ana, "I live in Porto")]))
        monkeypatch.setattr(here.inner, "write", forget_first)
        here.write(WriteBatch(episodes=[episode("e1", ana, "I moved to Faro")],
                              new_memories=[memory("m1", ana, "Ana lives in Faro")]))
        assert calls == [1, 1]  # one data key named; sealed twice
        for store in (here, there):
            assert [e.text for e in store.get_episodes(ana, ["e0", "e1"])] == [
                "I moved to Faro"]
            assert [m.text for m in store.get_memories(ana, ["m1"])] == ["Ana lives in Faro"]
    finally:
        here.close()
        there.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "memory"])
def test_a_key_destroyed_between_a_metadata_reseal_and_its_commit_loses_nothing(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The metadata compare-and-set re-seals the episode: a key destroyed (a
    forget's first step) after that seal fails it with nothing changed, and it
    is sealed again with a live key."""
    from contract_helpers import episode

    from engram.store.base import WriteBatch

    key = generate_master_key()
    here, there = _two_stores_any(kind, tmp_path, key)
    ana = Scope(user_id="ana")
    real = here.inner.replace_episode_metadata
    calls: list[int] = []

    def destroy_first(*args: object, **kw: object) -> bool:
        calls.append(1)
        if len(calls) == 1:
            there.keyring.destroy("default", "ana")
        return real(*args, **kw)  # type: ignore[arg-type]

    try:
        ep = episode("e1", ana, "My dog is Rex", tag="pet")
        here.write(WriteBatch(episodes=[ep]))
        monkeypatch.setattr(here.inner, "replace_episode_metadata", destroy_first)
        flagged = episode("e1", ana, "My dog is Rex", tag="pet", flag="x")
        assert here.replace_episode_metadata(flagged, {"tag": "pet"})
        assert len(calls) == 2
        for store in (here, there):
            got = store.get_episodes(ana, ["e1"])
            assert [(e.text, e.metadata) for e in got] == [
                ("My dog is Rex", {"tag": "pet", "flag": "x"})]
    finally:
        here.close()
        there.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("step", ["destroy", "delete"])
def test_a_write_committing_inside_another_stores_forget_is_forgotten_whole(
        step: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A forget is two commits: the key is destroyed, then the rows are deleted.
    A write committing just before either step commits before the delete, so it
    is deleted with the rest; it is never left behind sealed with the destroyed
    key (deleting first and destroying second would shred a write committing
    between the two). The next write is readable everywhere."""
    from contract_helpers import episode

    from engram.store.base import WriteBatch

    key = generate_master_key()
    here, there = _two_stores(kind, tmp_path, key)
    ana = Scope(user_id="ana")
    owner, name = (there.keyring, "destroy") if step == "destroy" else (there.inner, "forget")
    real_step = getattr(owner, name)

    def write_first(*args: object) -> object:
        here.write(WriteBatch(episodes=[episode("e1", ana, "I moved to Faro")]))
        return real_step(*args)

    try:
        here.write(WriteBatch(episodes=[episode("e0", ana, "I live in Porto")]))
        monkeypatch.setattr(owner, name, write_first)
        assert there.forget(ana)["data_keys"] == 1
        monkeypatch.undo()
        for store in (here, there):
            assert store.get_episodes(ana, ["e0", "e1"]) == []
            assert store.inner.get_episodes(ana, ["e0", "e1"]) == []
        here.write(WriteBatch(episodes=[episode("e2", ana, "I live in Faro")]))
        for store in (here, there):
            assert [e.text for e in store.get_episodes(ana, ["e2"])] == ["I live in Faro"]
    finally:
        here.close()
        there.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_write_after_another_stores_forget_is_sealed_with_a_live_key(
        kind: str, tmp_path: Path) -> None:
    """Crypto-shredding elsewhere: this store still held the user's data key. The
    write names the key it sealed with and the store checks it (no search in
    between), so what it acknowledges opens in every store, not with a destroyed key."""
    from contract_helpers import episode, memory

    from engram.store.base import WriteBatch

    key = generate_master_key()
    here, there = _two_stores(kind, tmp_path, key)
    try:
        ana = Scope(user_id="ana")
        here.write(WriteBatch(episodes=[episode("e1", ana, "I live in Porto")]))
        there.forget(ana)  # destroys ana's key; `here` still holds its copy
        here.write(WriteBatch(episodes=[episode("e2", ana, "I moved to Faro")]))
        there.forget(ana)  # and again: the new key goes too
        here.write(WriteBatch(new_memories=[memory("m1", ana, "Ana lives in Faro")]))
        ep = episode("e3", ana, "My dog is Rex", tag="pet")
        there.write(WriteBatch(episodes=[ep]))  # `there` makes the next key ...
        here.replace_episode_metadata(ep, {"tag": "pet"})  # ... `here` seals with it
        for store in (here, there):
            assert [m.text for m in store.get_memories(ana, ["m1"])] == ["Ana lives in Faro"]
            assert [e.text for e in store.get_episodes(ana, ["e2", "e3"])] == ["My dog is Rex"]
    finally:
        here.close()
        there.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("path", ["add", "add-no-derive", "remember", "import"])
def test_every_write_path_after_another_processs_forget_stays_readable(
        path: str, kind: str, tmp_path: Path, embedder: Embedder) -> None:
    """The engine's write paths, each with no search of the user before it seals."""
    import io
    import json

    key = generate_master_key()
    if kind == "sqlite":
        db: Path | str = tmp_path / "e.db"
    else:
        from pg_fixtures import fresh_pg_url
        db = fresh_pg_url()
    text = "My locker code is 4417"
    with open_eg(db, embedder, key) as here, open_eg(db, embedder, key) as there:
        here.remember("I like green tea", user_id="ana")  # `here` holds ana's key
        there.forget(user_id="ana")
        if path == "import":
            rec = {"type": "memory", "id": "m-imp", "kind": "note", "text": text,
                   "user_id": "ana", "created_at": "2024-01-01T00:00:00+00:00",
                   "updated_at": "2024-01-01T00:00:00+00:00"}
            here.import_(io.StringIO(json.dumps(rec) + "\n"))
        elif path == "remember":
            here.remember(text, user_id="ana")
        else:
            here.add(text, user_id="ana", derive=path == "add")
    with open_eg(db, embedder, key) as fresh:
        assert text in {i.text for t in ("episode", "memory")
                        for i in fresh.list(user_id="ana", type=t).items}


def _read_then(store: EncryptedStore, prefix: str, step: object,
               monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make ``store``'s first read of a meta name starting with ``prefix`` read the
    value, then run ``step`` (another process's whole write), then return what it
    read: ``store`` acts on a value that is stale by the time it writes."""
    inner, fired = store.inner, []
    real = inner.get_meta

    def hooked(name: str) -> str | None:
        value = real(name)
        if name.startswith(prefix) and not fired:
            fired.append(name)
            step()  # type: ignore[operator]
        return value

    monkeypatch.setattr(inner, "get_meta", hooked)
    return fired


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "memory"])
def test_two_stores_making_a_users_first_data_key_at_once_lose_nothing(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Store B reads that ana has no data key; store A then makes one, seals and
    commits ana's first episode; only then does B write the key it made. B's
    write is a compare-and-set (``set_meta_if``) that fails, so B adopts A's key
    instead of overwriting it: both episodes open in A, in B and in a store
    opened afterwards (which reads the one stored key)."""
    from contract_helpers import episode

    from engram.store.base import WriteBatch

    key = generate_master_key()
    if kind == "memory":
        inner = open_store("memory://")
        here, there, later = (EncryptedStore(inner, key) for _ in range(3))
    else:
        from pg_fixtures import fresh_pg_url
        url = f"sqlite:///{tmp_path / 'k.db'}" if kind == "sqlite" else fresh_pg_url()
        here, there, later = (EncryptedStore(open_store(url), key) for _ in range(3))
    ana = Scope(user_id="ana")
    fired = _read_then(there, "enc.dk.", lambda: here.write(
        WriteBatch(episodes=[episode("e-a", ana, "I live in Porto")])), monkeypatch)
    try:
        there.write(WriteBatch(episodes=[episode("e-b", ana, "My sister is Rita")]))
        assert fired  # the interleaving happened
        for store in (here, there, later):
            assert sorted(e.text for e in store.get_episodes(ana, ["e-a", "e-b"])) == [
                "I live in Porto", "My sister is Rita"]
    finally:
        for store in (here, there, later):
            store.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "memory"])
def test_two_stores_adding_users_of_a_tenant_at_once_both_get_shredded(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Store B reads the tenant's user list, store A adds bob's first key, then B
    adds ana: the list is written by compare-and-set, so bob is not dropped from
    it and forgetting the whole tenant destroys both users' keys."""
    from contract_helpers import episode

    from engram.store.base import WriteBatch

    key = generate_master_key()
    here, there = _two_stores_any(kind, tmp_path, key)
    ana, bob = Scope(user_id="ana"), Scope(user_id="bob")
    fired = _read_then(there, "enc.users.", lambda: here.write(
        WriteBatch(episodes=[episode("e-b", bob, "I live in Porto")])), monkeypatch)
    try:
        there.write(WriteBatch(episodes=[episode("e-a", ana, "My sister is Rita")]))
        assert fired
        assert there.forget(Scope())["data_keys"] == 2
        for user in ("ana", "bob"):
            here.keyring.verify([("default", user)])  # as its next write does
            assert here.keyring.data_key("default", user, create=False) is None
    finally:
        here.close()
        there.close()
