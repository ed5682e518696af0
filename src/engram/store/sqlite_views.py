"""The SQLite store's views of its rows (:mod:`.views`) and the partition cards they come from.

A view is made from one of three sources, the cheapest first
(:meth:`~engram.store.sqlite.SQLiteStore.get_item_views`): a decoded row the
row cache holds (:mod:`.sqlite_rowcache`), the card the loaded partition keeps
for the row (:mod:`engram.index.cards`: the same stored values, kept current by
the change log), or the row read by :data:`EP_VIEW_COLS` / :data:`MEM_VIEW_COLS`.
All three give the same fields, decoded as ``episode_from_row`` and
``memory_from_row`` decode them.

A card holds stored column values only (stamps as their stored text), so a view
made from it equals one made from the row. The partition follows the columns
the change log's index triggers name; a card also holds columns only decoded
rows hold (``role``, ``speaker``, ``valid_from``, ``source_episode_ids``...),
so an update the log marks ``row_only`` drops the item's card
(:meth:`~engram.index.partition.PartitionIndex.drop_cards`) and its views are
read from the table until its next indexed change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..index.cards import make_card, read_card
from ..index.rowfacts import facts
from ..models import Episode, Memory, MemoryKind, MemoryStatus, Scope
from .sql_common import _KINDS, _STATUSES
from .sqlite_rowcache import Held, ScopeKey
from .sqlite_rows import SQLITE
from .views import FLAGS, NAMES, TERMS, Loader, episode_view, memory_view

__all__ = ["CARD_LAYOUT", "EP_CARD_COLS", "EP_VIEW_COLS", "MEM_CARD_COLS", "MEM_VIEW_COLS",
           "card_view", "episode_card", "held_view", "memory_card", "row_view"]

#: the columns of an episode's view, with the row number and scope that
#: :meth:`~engram.store.sqlite.SQLiteStore._get_many` checks
EP_VIEW_COLS = ("x.rid, x.id, x.tenant, x.user_id, x.agent_id, x.session_id, x.role,"
                " x.speaker, x.text, x.occurred_at, x.created_at")
#: the columns of a memory's view
MEM_VIEW_COLS = ("x.rid, x.id, x.tenant, x.user_id, x.agent_id, x.session_id, x.kind,"
                 " x.text, x.valid_from, x.created_at, x.source_episode_ids, x.status,"
                 " x.entities")

#: an episode card's fields (then its text), as columns of the partition's row query
_EP_CARD = ("tenant", "user_id", "agent_id", "session_id", "role", "speaker", "occurred_at",
            "created_at")
_MEM_CARD = ("tenant", "user_id", "agent_id", "session_id", "kind", "status", "valid_from",
             "created_at", "source_episode_ids", "entities")
#: then the text's facts (:func:`~engram.index.rowfacts.facts`: its terms, flags and
#: introduced names)
_EP_N, _MEM_N = len(_EP_CARD) + 3, len(_MEM_CARD) + 3
#: names the cards' fields (a partition whose cards were made otherwise drops them)
CARD_LAYOUT = f"sqlite 2: {' '.join(_EP_CARD)}; {' '.join(_MEM_CARD)}; facts 2: terms flags names"
EP_CARD_COLS = ", ".join("e." + c for c in _EP_CARD[4:])
MEM_CARD_COLS = ", ".join("x." + c for c in _MEM_CARD[6:])

#: a stored stamp (or ``None``) as the row decoders parse it
_stamp = SQLITE.load_stamp


def episode_card(r: Any) -> bytes | None:
    """The card of an episode row (its columns by name, the text as ``own_text``):
    the columns, the text's facts (:mod:`engram.index.rowfacts`), the text."""
    return _card([r[c] for c in _EP_CARD], r["own_text"])


def memory_card(r: Any) -> bytes | None:
    """The card of a memory row."""
    return _card([r[c] for c in _MEM_CARD], r["own_text"])


def _card(fields: list[Any], text: str) -> bytes | None:
    terms, flags, names = facts(text)
    fields += (terms, str(flags), names)
    return make_card(fields, text)


def card_view(card: bytes, item_id: str, parity: int, visible: Callable[[ScopeKey], bool],
              scope_of: Callable[[ScopeKey], Scope], load: Loader) -> Episode | Memory | None:
    """The view of ``item_id`` made from its card (as :func:`row_view` makes it from
    the row), or ``None`` when its scope is not ``visible``."""
    f = read_card(card, _EP_N if parity == 0 else _MEM_N)
    key: ScopeKey = (f[0] or "", f[1], f[2], f[3])
    if not visible(key):
        return None
    view: Episode | Memory
    if parity == 0:
        view = _episode(item_id, scope_of(key), f[4], f[5], f[-1], f[6], f[7], load)
    else:
        view = _memory(item_id, scope_of(key), f[4], f[5], f[-1], f[6], f[7], f[8], f[9], load)
    held = view.__dict__  # the text's facts: made with the card, read by the ranking
    held[TERMS], held[FLAGS], held[NAMES] = f[-4], int(f[-3] or 0), f[-2]
    return view


def _list(stored: str | None) -> list[Any]:
    """A stored JSON list as ``memory_from_row`` decodes it."""
    return list(SQLITE.load_json(stored) or []) if stored and stored != "[]" else []


def row_view(r: dict[str, Any], item_id: str, scope: Scope, parity: int,
             load: Loader) -> Episode | Memory:
    """The view of a row read by :data:`EP_VIEW_COLS` or :data:`MEM_VIEW_COLS`, as
    the row decoders decode it (its stamps parsed on first read)."""
    if parity == 0:
        return _episode(item_id, scope, r["role"], r["speaker"], r["text"], r["occurred_at"],
                        r["created_at"], load)
    return _memory(item_id, scope, r["kind"], r["status"], r["text"], r["valid_from"],
                   r["created_at"], r["source_episode_ids"], r["entities"], load)


def _episode(item_id: str, scope: Scope, role: Any, speaker: Any, text: Any,
             occurred_at: Any, created_at: Any, load: Loader) -> Episode:
    """An episode's view from its stored values (stamps parsed on first read)."""
    return episode_view({"id": item_id, "scope": scope, "role": role, "speaker": speaker,
                         "text": text, "_raw_occurred_at": occurred_at,
                         "_raw_created_at": created_at, "_parse": _stamp}, load)


def _memory(item_id: str, scope: Scope, kind: str | None, status: str | None, text: Any,
            valid_from: Any, created_at: Any, sources: str | None, entities: str | None,
            load: Loader) -> Memory:
    """A memory's view from its stored values, decoded as ``memory_from_row`` does."""
    kind, status = kind or "", status or ""
    return memory_view({
        "id": item_id, "scope": scope,
        "kind": _KINDS.get(kind) or MemoryKind(kind or "note"), "text": text,
        "_raw_valid_from": valid_from, "_raw_created_at": created_at, "_parse": _stamp,
        "source_episode_ids": _list(sources), "entities": _list(entities),
        "status": _STATUSES.get(status) or MemoryStatus(status or "active"),
    }, load)


def held_view(h: Held, scope: Scope, load: Loader) -> Episode | Memory:
    """The view of a held row (:data:`~engram.store.sqlite_rowcache.Held`)."""
    if len(h) == 8:  # an episode's
        return episode_view({"id": h[0], "scope": scope, "role": h[2], "speaker": h[3],
                             "text": h[4], "occurred_at": h[5], "created_at": h[6]}, load)
    return memory_view({"id": h[0], "scope": scope, "kind": _KINDS[h[2]], "text": h[3],
                        "valid_from": h[8], "created_at": h[4],
                        "source_episode_ids": list(h[14]), "status": _STATUSES[h[16]],
                        "entities": list(h[6])}, load)
