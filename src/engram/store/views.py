"""Items decoded only as far as ranking reads them (:meth:`Store.get_item_views`).

A search ranks a head of about 70 items and returns 10: decoding every column
of every head row (metadata JSON, lists, stamps nobody reads) cost a tenth of a
search at 100k memories. A *view* is an :class:`~engram.models.Episode` or
:class:`~engram.models.Memory` (``isinstance`` holds) made from the few
columns the ranking stages read (:data:`EPISODE_FIELDS`, :data:`MEMORY_FIELDS`).
Every other field is *deferred*: its first read loads the whole item from the
store (one ``get_items`` of that id) and fills the view with it, so a view
answers every field as the decoded item would, only some later. An item gone
from the store meanwhile keeps its fields' defaults (``metadata`` ``{}``).

Views are for reading inside a search: the hits a search returns are decoded
in full (:meth:`~engram.retrieval.search.Searcher.search`). They never hold a
store lock, and hold no more than the decoded item would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Any

from ..index.rowfacts import read_names
from ..models import Episode, Memory

__all__ = ["EPISODE_FIELDS", "FLAGS", "MEMORY_FIELDS", "NAMES", "STAMPS", "TERMS", "Loader",
           "episode_view", "is_view", "kept_facts", "kept_names", "memory_view"]

#: the fields a view of an episode holds from the start (the rest: ``metadata``)
EPISODE_FIELDS = ("id", "scope", "role", "speaker", "text", "occurred_at", "created_at")
#: the fields a view of a memory holds from the start
MEMORY_FIELDS = ("id", "scope", "kind", "text", "valid_from", "created_at",
                 "source_episode_ids", "status", "entities")

#: loads the whole item of a view by its id (``None``: gone from the store)
Loader = Callable[[str], "Episode | Memory | None"]
#: the time fields a view may hold as stored (parsed on first read)
STAMPS = ("occurred_at", "created_at", "valid_from")
#: where a view may hold its text's facts made at write time
#: (:func:`engram.index.rowfacts.facts`: the terms as written, the flags, and the
#: introduced names as written)
TERMS, FLAGS, NAMES = "_terms", "_flags", "_names"


class _Deferred:
    """A field read from the whole item on first access (a non-data descriptor:
    once the view holds the field, the instance's own value answers)."""

    def __init__(self, name: str, default: Callable[[], Any]) -> None:
        self.name = name
        self.default = default

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        slots = obj.__dict__
        load = slots.pop("_load", None)
        if load is not None:
            full = load(slots["id"])
            if full is not None:
                for name, value in vars(full).items():
                    slots.setdefault(name, value)
        if self.name not in slots:  # gone meanwhile: what the field defaults to
            slots[self.name] = self.default()
        return slots[self.name]


class _Stamp:
    """A time field a view holds as stored (``_raw_<name>``), parsed on first read
    by the view's ``_parse``; else (no such raw value) a :class:`_Deferred` field."""

    def __init__(self, name: str, deferred: _Deferred) -> None:
        self.name = name
        self.raw = "_raw_" + name
        self.deferred = deferred

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        slots = obj.__dict__
        if self.raw in slots:
            value = slots[self.name] = slots["_parse"](slots.pop(self.raw))
            return value
        return self.deferred.__get__(obj, owner)


class _EpisodeView(Episode):
    """An :class:`Episode` whose fields beyond :data:`EPISODE_FIELDS` load on first read."""


class _MemoryView(Memory):
    """A :class:`Memory` whose fields beyond :data:`MEMORY_FIELDS` load on first read."""


def _defer(view: type, base: type) -> None:
    for f in dataclasses.fields(base):
        if f.default_factory is not dataclasses.MISSING:
            make: Callable[[], Any] = f.default_factory
        else:
            make = partial(_same, f.default if f.default is not dataclasses.MISSING else None)
        deferred = _Deferred(f.name, make)
        setattr(view, f.name, _Stamp(f.name, deferred) if f.name in STAMPS else deferred)


def _same(value: Any) -> Any:
    return value


_defer(_EpisodeView, Episode)
_defer(_MemoryView, Memory)


def episode_view(fields: dict[str, Any], load: Loader) -> Episode:
    """A view of an episode holding ``fields`` (:data:`EPISODE_FIELDS`; the dict
    becomes the view's own); ``load(id)`` gives the whole episode when another
    field is read. A time field may be given as stored instead, as
    ``_raw_<name>``, with the parser as ``_parse``: it is parsed on first read."""
    fields["_load"] = load
    view = object.__new__(_EpisodeView)
    view.__dict__ = fields  # taken as given: the caller made it for this view
    return view


def memory_view(fields: dict[str, Any], load: Loader) -> Memory:
    """A view of a memory holding ``fields`` (:data:`MEMORY_FIELDS`; the dict
    becomes the view's own), as :func:`episode_view`."""
    fields["_load"] = load
    view = object.__new__(_MemoryView)
    view.__dict__ = fields
    return view


def kept_facts(item: Episode | Memory) -> tuple[str, int] | None:
    """The facts of ``item``'s text a view holds (the terms as
    :func:`~engram.index.rowfacts.facts` wrote them, and the flags), made when its
    store wrote the row; ``None`` for any other item (work them out from the text)."""
    held = item.__dict__
    terms = held.get(TERMS)
    return None if terms is None else (terms, held[FLAGS])


def kept_names(item: Episode | Memory) -> frozenset[str] | None:
    """The names ``item``'s text introduces as its view holds them
    (:func:`~engram.recall.introductions.introduced_names`, made when its store wrote
    the row); ``None`` for any other item (work them out from the text)."""
    names = item.__dict__.get(NAMES)
    return None if names is None else read_names(names)


def is_view(item: object) -> bool:
    """Whether ``item`` is a view (not a whole decoded item)."""
    return isinstance(item, _EpisodeView | _MemoryView)
