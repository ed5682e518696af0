"""Per-(tenant, user) data keys wrapped by a master key, for encryption at rest.

* The **master key** is 32 random bytes, given as URL-safe base64 (setting
  ``encryption_key`` / ``$ENGRAM_ENCRYPTION_KEY``; make one with
  :func:`generate_master_key`). It never touches the store.
* A **data key** (AES-256-GCM) is made on first write for each ``(tenant, user_id)``
  (``user_id`` ``None`` counts as ``""``), wrapped with AES-GCM under the master key
  (the meta key name is the associated data), and kept with
  :meth:`Store.set_meta_if <engram.store.base.Store.set_meta_if>` under ``enc.dk.<id>``.
* :meth:`Keyring.destroy` overwrites a wrapped key with a tombstone: everything
  encrypted with it is unreadable from then on (crypto-shredding).
* **Blind index**: metadata values are replaced by a keyed hash (HMAC-SHA256 under
  a per-tenant key derived from the master key), so exact-match metadata filters
  still run inside the store without the values being stored.

All cryptography is from the ``cryptography`` package (``pip install 'engramdb[crypto]'``).
Data keys are created under a lock, so one process may write concurrently. A
write names the wrapped key text it sealed with (``WriteBatch.meta_expect``) and
the store checks it inside the write's transaction, so a key destroyed (forget)
or replaced by another process before the write commits fails the write, which
:class:`~engram.trust.encryption.EncryptedStore` seals again with the live key.
A data key (and the tenant's user list) is written by compare-and-set
(:meth:`Store.set_meta_if <engram.store.base.Store.set_meta_if>`): when two
processes make the first key of the same user at the same instant, one wins and
the other adopts the winner's key, so neither seals rows with a key that is
then overwritten.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, Conflict, MissingDependency, StoreError
from ..text import TextMemo

if TYPE_CHECKING:
    from ..store.base import Store

__all__ = ["DecryptionFailed", "Keyring", "generate_master_key"]

ENVELOPE_PREFIX = "enc1:"
_TOMBSTONE = "destroyed"
_CHECK_KEY = "enc.check"
#: a slot not held in the key memo (a held slot may be ``None``: destroyed)
_MISSING = object()
#: compare-and-set rounds before a meta value that keeps moving is a Conflict
_CAS_ROUNDS = 8


class DecryptionFailed(StoreError):
    """Ciphertext that does not open with its key (tampered, moved, or wrong master key)."""


def _aesgcm() -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependency("encryption needs: pip install 'engramdb[crypto]'") from exc
    return AESGCM


def generate_master_key() -> str:
    """A fresh random master key as URL-safe base64 (32 bytes)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Keyring:
    """Master key + the store's wrapped data keys (see the module docstring)."""

    def __init__(self, master_key: str, store: Store) -> None:
        try:
            master = _unb64(master_key.strip())
        except (ValueError, TypeError) as exc:
            raise ConfigError("encryption_key must be URL-safe base64 of 32 bytes") from exc
        if len(master) != 32:
            raise ConfigError("encryption_key must be URL-safe base64 of 32 bytes")
        self._aead = _aesgcm()
        self._master = master
        self._store = store
        #: unwrapped data keys; a TextMemo, so a delete or forget this process
        #: learns of (its own, or another process's at its next search) empties it
        #: and a key another process destroyed is read again, not kept
        self._keys: TextMemo[tuple[str, str], bytes | None] = TextMemo()
        #: the stored (wrapped) text each held key was read from or written as;
        #: :meth:`verify` compares it with the store before a write seals
        self._stored: TextMemo[tuple[str, str], str] = TextMemo()
        self._lock = threading.Lock()
        self._check_master()

    # -- master key check -----------------------------------------------------
    def _check_master(self) -> None:
        """A keyed check value in meta: a wrong master key fails fast, not per row."""
        check = _b64(hmac.new(self._master, b"engram-master-check", hashlib.sha256).digest())
        stored = self._store.get_meta(_CHECK_KEY)
        if stored is None and not self._store.set_meta_if(_CHECK_KEY, None, check):
            stored = self._store.get_meta(_CHECK_KEY)  # another process set it first
        if stored is not None and not hmac.compare_digest(stored, check):
            raise ConfigError("encryption_key does not match the key this store was encrypted with")

    # -- data keys --------------------------------------------------------------
    @staticmethod
    def _meta_name(tenant: str, user: str | None) -> str:
        return "enc.dk." + _b64(json.dumps([tenant, user or ""]).encode())

    @staticmethod
    def _users_name(tenant: str) -> str:
        return "enc.users." + _b64(tenant.encode())

    def data_key(self, tenant: str, user: str | None, *, create: bool) -> bytes | None:
        """The data key of ``(tenant, user)``; made when missing and ``create``.

        ``None`` when it was destroyed (or never made and not ``create``)."""
        slot = (tenant, user or "")
        held = self._keys.get(slot, _MISSING)
        if held is not _MISSING and (held is not None or not create):
            return held  # type: ignore[return-value]
        with self._lock:
            name = self._meta_name(tenant, user)
            stored = self._store.get_meta(name)
            for _ in range(_CAS_ROUNDS):
                if stored and stored != _TOMBSTONE:
                    raw = _unb64(stored)
                    try:
                        key: bytes | None = self._aead(self._master).decrypt(
                            raw[:12], raw[12:], name.encode())
                    except Exception as exc:  # cryptography's InvalidTag
                        raise DecryptionFailed(f"cannot unwrap data key {name}") from exc
                    break
                if not create:
                    key = None
                    break
                # make one; written only if the slot still holds what was read
                # (missing, or a tombstone): the loser of two processes making
                # the same user's key at once adopts the winner's key
                self._add_user(tenant, slot[1])
                key = self._aead.generate_key(bit_length=256)
                nonce = os.urandom(12)
                wrapped = _b64(nonce + self._aead(self._master).encrypt(
                    nonce, key, name.encode()))
                if self._store.set_meta_if(name, stored, wrapped):
                    stored = wrapped
                    break
                stored = self._store.get_meta(name)
            else:  # pragma: no cover - the slot moved at every round
                raise Conflict(f"data key {name} kept moving while it was made")
            self._keys[slot] = key
            self._stored[slot] = stored or ""
            return key

    def _add_user(self, tenant: str, user: str) -> None:
        """Record ``user`` in the tenant's user list (what :meth:`destroy_tenant`
        shreds) by compare-and-set, so two processes adding users at once both
        land."""
        name = self._users_name(tenant)
        for _ in range(_CAS_ROUNDS):
            text = self._store.get_meta(name)
            users = json.loads(text or "[]")
            if user in users or self._store.set_meta_if(
                    name, text, json.dumps([*users, user])):
                return
        raise Conflict(f"the user list {name} kept moving")  # pragma: no cover

    def verify(self, slots: Iterable[tuple[str, str | None]]) -> None:
        """Drop each held key of ``slots`` (tenant, user) whose stored text moved.

        A key another process destroyed (forget) or replaced since this one read
        it is then read again (or made anew). One ``get_meta`` per held user;
        an unheld user is read by :meth:`data_key` anyway. The write itself does
        not rely on this: it names the wrapped key text each seal used (the
        ``expect`` of :meth:`seal`) and the store checks it inside the write's
        transaction (``WriteBatch.meta_expect``)."""
        for tenant, user in set(slots):
            slot = (tenant, user or "")
            if self._keys.get(slot, _MISSING) is _MISSING:
                continue
            now = self._store.get_meta(self._meta_name(tenant, user)) or ""
            if self._stored.get(slot) != now:
                with self._lock:
                    self._keys.pop(slot, None)
                    self._stored.pop(slot, None)

    def destroy(self, tenant: str, user: str | None) -> int:
        """Crypto-shred one user's data key (``user=None`` with ``all_users`` see
        :meth:`destroy_tenant`); returns 1 when a live key was destroyed."""
        with self._lock:
            name = self._meta_name(tenant, user)
            stored = self._store.get_meta(name)
            had = stored not in (None, _TOMBSTONE)
            if had:
                stored = _TOMBSTONE
                self._store.set_meta(name, stored)
            self._keys[(tenant, user or "")] = None
            self._stored[(tenant, user or "")] = stored or ""
            return int(had)

    def destroy_tenant(self, tenant: str) -> int:
        """Crypto-shred every data key of ``tenant``; returns how many were live."""
        users = json.loads(self._store.get_meta(self._users_name(tenant)) or "[]")
        return sum(self.destroy(tenant, u or None) for u in users)

    # -- envelopes ----------------------------------------------------------------
    def seal(self, tenant: str, user: str | None, item_id: str, payload: dict[str, Any],
             expect: dict[str, str] | None = None) -> str:
        """Encrypt ``payload`` (JSON) for this item; the item identity is the AAD.

        ``expect`` (when given) gets the meta name of the data key used and the
        wrapped text it was read from or written as: a write passes it as
        ``WriteBatch.meta_expect``, so a key destroyed or replaced before the
        write commits fails the write (:class:`~engram.errors.MetaMoved`) rather
        than leaving acknowledged rows sealed with a dead key."""
        key, stored = self._sealing_key(tenant, user)
        if expect is not None:
            expect[self._meta_name(tenant, user)] = stored
        nonce = os.urandom(12)
        aad = f"{tenant}\x1f{user or ''}\x1f{item_id}".encode()
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return ENVELOPE_PREFIX + _b64(nonce + self._aead(key).encrypt(nonce, body, aad))

    def _sealing_key(self, tenant: str, user: str | None) -> tuple[bytes, str]:
        """A live data key and the wrapped text it was read from or written as
        (both read under the lock, so they belong together); a destroyed key is
        replaced by a new one (a forgotten user writing again)."""
        slot = (tenant, user or "")
        for _ in range(3):
            key = self.data_key(tenant, user, create=True)
            if key is None:  # pragma: no cover - data_key(create=True) makes one
                self._keys.pop(slot, None)
                continue
            with self._lock:
                held, stored = self._keys.get(slot, _MISSING), self._stored.get(slot)
            if held is key and stored is not None:
                return key, stored
        # the memo kept being emptied under us: a text no store holds fails the
        # write with MetaMoved, and the caller seals again
        return key, "\x00unknown"  # type: ignore[return-value]

    def open(self, tenant: str, user: str | None, item_id: str, envelope: str) -> dict[str, Any]:
        """Decrypt an envelope made by :meth:`seal`; raises :class:`DecryptionFailed`."""
        raw = _unb64(envelope[len(ENVELOPE_PREFIX):])
        aad = f"{tenant}\x1f{user or ''}\x1f{item_id}".encode()
        slot = (tenant, user or "")
        for again in (False, True):  # a held key that fails is read again once
            if again:  # (another process destroyed it and then made a new one)
                self.verify([slot])
            key = self.data_key(tenant, user, create=False)
            if key is None:
                if again:
                    raise DecryptionFailed(
                        "the data key of this item was destroyed or never existed")
                continue
            try:
                body = self._aead(key).decrypt(raw[:12], raw[12:], aad)
            except Exception as exc:  # cryptography's InvalidTag
                if again:
                    raise DecryptionFailed(f"cannot decrypt item {item_id}") from exc
                continue
            result: dict[str, Any] = json.loads(body)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    # -- blind index ----------------------------------------------------------------
    def blind(self, tenant: str, value: Any) -> Any:
        """Keyed hash of a metadata value (``None`` stays ``None`` so "missing" filters work)."""
        if value is None:
            return None
        tkey = hmac.new(self._master, b"blind-index\x1f" + tenant.encode(), hashlib.sha256).digest()
        canon = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "h:" + _b64(hmac.new(tkey, canon.encode(), hashlib.sha256).digest()[:18])
