"""LangGraph's long-term memory store, backed by Engram: :class:`EngramStore`.

``EngramStore(engram, user_id=...)`` is a :class:`langgraph.store.base.BaseStore`:
pass it to ``graph.compile(store=...)`` or ``create_react_agent(..., store=...)``
and what the graph puts is an Engram memory of that scope, found again by
``store.search(query=...)`` and by ``Engram.search``/``context`` alike.

How the store contract maps onto Engram (``pip install 'engramdb[langgraph]'``):

* **Items.** One item is one active memory (kind ``note``) in the store's scope.
  Its namespace, key and value are kept verbatim in the memory's metadata; its
  text (what is embedded and ranked) is the item's indexed fields, one per line.
  ``created_at`` is the memory's, ``updated_at`` its latest version's.
* **put** on an existing key writes a new version of the same memory (history
  kept); **delete** (``put(value=None)``) is Engram's soft delete: the item
  leaves get/search, its history stays; deleting a missing key does nothing.
* **Indexing.** ``index={"fields": [...]}`` chooses the default fields (JSON
  paths as LangGraph writes them: ``"a.b"``, ``"list[*].text"``; default ``"$"``,
  the whole value: its strings, one per line);
  ``put(..., index=[...])`` overrides them per item; ``index=False`` stores the
  item without it taking part in ranked search.
  Embedding is Engram's own configured embedder: ``dims``/``embed`` in the
  index config are ignored (there is no second vector space).
* **search** without a query returns the prefix's items newest update first;
  with a query, Engram's ranking with its configured preset, minus the
  newest-first reordering of conflicting statements (each key is its own item;
  ``SearchItem.score``: higher is better, not a cosine), then items without an
  index fill a short page (as in LangGraph's ``InMemoryStore``). An empty query
  counts as none.
* **filter** follows LangGraph's semantics (equality on value keys, nested dicts
  and lists compared whole, ``$eq $ne $gt $gte $lt $lte``). The namespace prefix
  and string equalities on top-level keys are applied inside Engram's search;
  other conditions on a query search are applied to its best 1,000 hits.
* **batch** answers gets, searches and namespace listings from the state before
  the batch, then applies its puts (the last put of a key wins), like
  ``InMemoryStore``; ``abatch`` runs the same code in a worker thread.
* **Differences from LangGraph's reference stores.** An item is one text, so the
  several indexed fields of an item are ranked together, not each as its own
  vector with the best one counting; ``list_namespaces`` and a search without a
  query read every item under the prefix (fine for thousands of items, not for
  millions).
* TTLs are not supported (``supports_ttl = False``; a put with a ttl raises
  ``NotImplementedError``, as LangGraph's base class does).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..engine import MAX_LIMIT, Engram
from ..models import Memory, Scope, SearchFilters
from ..retrieval.config import RetrievalConfig, get_preset
from ..validation import make_scope
from . import require

require("langgraph.store.base", "langgraph")

from langgraph.store.base import (  # noqa: E402  (after the install check)
    BaseStore,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    get_text_at_path,
    tokenize_path,
    validate_op_namespace,
)

__all__ = ["EngramStore"]

#: metadata keys (top level, so Engram's search filters on them)
_MARK = "langgraph_store"  # "item": this memory is a store item
_NS = "langgraph_ns_"  # + level: one namespace label per key
_DEPTH = "langgraph_depth"
_KEY = "langgraph_key"
_INDEXED = "langgraph_index"  # "on" | "off"
_FIELD = "langgraph_v_"  # + name: top-level string values, for filter pushdown
_ITEM = "langgraph"  # {"namespace": [...], "key": k, "value": {...}}
_PUSHABLE_CHARS = 200


class EngramStore(BaseStore):
    """A LangGraph ``BaseStore`` over one Engram scope (see the module docstring).

    ``engram`` is an open :class:`~engram.Engram` (the caller closes it); the scope
    is ``scope`` or ``user_id``/``agent_id`` (at least one; default agent
    ``"langgraph"``). ``index`` takes LangGraph's ``IndexConfig`` (only
    ``fields`` is used).
    """

    supports_ttl = False

    def __init__(self, engram: Engram, *, user_id: str | None = None,
                 agent_id: str | None = None, scope: Scope | None = None,
                 index: IndexConfig | None = None) -> None:
        if scope is None and user_id is None and agent_id is None:
            agent_id = "langgraph"
        self.engram = engram
        self.scope = make_scope(scope, user_id, agent_id, None)
        fields = (index or {}).get("fields") or ["$"]
        self._fields = [(f, _tokens(f)) for f in fields]
        self._lock = threading.Lock()  # one writer per key lookup-then-write

    # -- BaseStore ---------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        for op in ops:
            validate_op_namespace(op)
        results: list[Result] = []
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for op in ops:
            if isinstance(op, GetOp):
                results.append(self._get(op.namespace, op.key))
            elif isinstance(op, SearchOp):
                results.append(self._search(op))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            elif isinstance(op, PutOp):
                if op.ttl is not None:
                    raise NotImplementedError("TTL is not supported by EngramStore")
                puts.pop((op.namespace, op.key), None)  # the last put of a key wins
                puts[(op.namespace, op.key)] = op
                results.append(None)
            else:
                raise ValueError(f"Unknown operation type: {type(op)}")
        for op in puts.values():
            self._put(op)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    # -- reads -------------------------------------------------------------------
    def _find_all(self, namespace: tuple[str, ...], key: str) -> list[Memory]:
        """The key's memories, newest first: one, unless two processes put a new key
        at the same time (then the newest is the item; the next put or delete
        settles it)."""
        meta = {**_prefix_meta(namespace), _DEPTH: len(namespace), _KEY: key}
        return list(self.engram.list(scope=self.scope, filters=_filters(meta), limit=100).items)

    def _get(self, namespace: tuple[str, ...], key: str) -> Item | None:
        found = self._find_all(namespace, key)
        return _item(found[0]) if found else None

    def _scan(self, prefix: tuple[str, ...]) -> Iterator[Memory]:
        """Every active item under ``prefix`` (all pages)."""
        cursor: str | None = None
        while True:
            page = self.engram.list(scope=self.scope, filters=_filters(_prefix_meta(prefix)),
                                    limit=MAX_LIMIT, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _search(self, op: SearchOp) -> list[SearchItem]:
        match = _matcher(op.filter)
        if not op.query:
            mems = [m for m in self._scan(op.namespace_prefix) if match(_value(m))]
            mems.sort(key=lambda m: (m.updated_at, m.created_at), reverse=True)
            return [_search_item(m, None) for m in mems[op.offset:op.offset + op.limit]]
        meta = {**_prefix_meta(op.namespace_prefix), _INDEXED: "on", **_pushdown(op.filter)}
        hits = self.engram.search(op.query, scope=self.scope, limit=MAX_LIMIT,
                                  filters=_filters(meta), preset=self._preset(),
                                  track_access=False)
        ranked = [(h.score, h.item) for h in hits
                  if isinstance(h.item, Memory) and match(_value(h.item))]
        kept = [_search_item(m, score) for score, m in ranked[op.offset:op.offset + op.limit]]
        if len(kept) < op.limit and len(ranked) <= op.offset + op.limit:
            unindexed = [m for m in self._scan(op.namespace_prefix)
                         if m.metadata.get(_INDEXED) == "off" and match(_value(m))]
            kept.extend(_search_item(m, None) for m in unindexed[:op.limit - len(kept)])
        return kept

    def _preset(self) -> RetrievalConfig:
        """The engine's retrieval preset without newest-first reordering of conflicting
        statements: two keys are two items, never one updating the other (a new
        value of a key is a new version of its memory)."""
        return dataclasses.replace(get_preset(self.engram.config.preset), update_depth=0)

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        found = {_namespace(m) for m in self._scan(())}
        conds = op.match_conditions or ()
        names = [ns for ns in found if all(_matches(c, ns) for c in conds)]
        if op.max_depth is not None:
            names = list({ns[:op.max_depth] for ns in names})
        return sorted(names)[op.offset:op.offset + op.limit]

    # -- writes ------------------------------------------------------------------
    def _put(self, op: PutOp) -> None:
        with self._lock:
            found = self._find_all(op.namespace, op.key)
            keep = found[0] if found and op.value is not None else None
            for extra in found[1:] if keep is not None else found:
                self.engram.delete(extra.id, scope=self.scope, reason="langgraph store delete")
            if op.value is None:
                return
            value = dict(op.value)
            text, indexed = self._text(value, op.index)
            meta = _metadata(op.namespace, op.key, value, indexed)
            if keep is None:
                self.engram.remember(text, scope=self.scope, kind="note", metadata=meta)
            else:
                self.engram.update(keep.id, text, scope=self.scope, metadata=meta,
                                   reason="langgraph store put")

    def _text(self, value: dict[str, Any], index: Any) -> tuple[str, bool]:
        """The text to rank by and whether the item takes part in ranked search."""
        if index is False:
            return _dump(value), False
        paths = self._fields if index is None else [(p, _tokens(p)) for p in index]
        texts = [t for path, tokens in paths
                 for t in ([_whole(value)] if path == "$" else get_text_at_path(value, tokens))]
        texts = [t for t in texts if t.strip()]
        if not texts:
            return _dump(value), False
        return "\n".join(texts), True


# -- helpers ---------------------------------------------------------------------
def _tokens(path: str) -> Any:
    return path if path == "$" else tokenize_path(path)


def _whole(value: dict[str, Any]) -> str:
    """The text of the whole value (the ``"$"`` field): its strings, nested ones
    included, one per line, in order; a value without strings as JSON. No key
    names: ``"text: ..."`` on every item would make unrelated items look like
    statements of one attribute to Engram's ranking."""
    strings = [s for s in _strings(value) if s.strip()]
    return "\n".join(strings) if strings else _dump(value)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _filters(meta: dict[str, Any]) -> SearchFilters:
    return SearchFilters(kinds=frozenset({"note"}), metadata=tuple(sorted(meta.items())))


def _prefix_meta(prefix: tuple[str, ...]) -> dict[str, Any]:
    return {_MARK: "item", **{f"{_NS}{i}": label for i, label in enumerate(prefix)}}


def _pushable(name: str, value: Any) -> bool:
    return (isinstance(name, str) and '"' not in name and isinstance(value, str)
            and len(value) <= _PUSHABLE_CHARS)


def _pushdown(flt: dict[str, Any] | None) -> dict[str, Any]:
    """The filter's plain string equalities on top-level keys, as metadata equalities."""
    out: dict[str, Any] = {}
    for name, want in (flt or {}).items():
        if isinstance(want, dict) and set(want) == {"$eq"}:
            want = want["$eq"]
        if _pushable(name, want):
            out[f"{_FIELD}{name}"] = want
    return out


def _metadata(namespace: tuple[str, ...], key: str, value: dict[str, Any],
              indexed: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {**_prefix_meta(namespace), _DEPTH: len(namespace), _KEY: key,
                            _INDEXED: "on" if indexed else "off",
                            _ITEM: {"namespace": list(namespace), "key": key, "value": value}}
    for name, v in value.items():
        if _pushable(name, v):
            meta[f"{_FIELD}{name}"] = v
    return meta


def _namespace(m: Memory) -> tuple[str, ...]:
    return tuple(m.metadata[_ITEM]["namespace"])


def _value(m: Memory) -> dict[str, Any]:
    return dict(m.metadata[_ITEM]["value"])


def _item(m: Memory) -> Item:
    return Item(value=_value(m), key=m.metadata[_ITEM]["key"], namespace=_namespace(m),
                created_at=m.created_at, updated_at=m.updated_at)


def _search_item(m: Memory, score: float | None) -> SearchItem:
    return SearchItem(namespace=_namespace(m), key=m.metadata[_ITEM]["key"], value=_value(m),
                      created_at=m.created_at, updated_at=m.updated_at, score=score)


def _matches(cond: MatchCondition, ns: tuple[str, ...]) -> bool:
    path = tuple(cond.path)
    if len(ns) < len(path):
        return False
    part = ns[:len(path)] if cond.match_type == "prefix" else ns[len(ns) - len(path):]
    return all(p == "*" or p == n for p, n in zip(path, part, strict=True))


_OPS = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: float(a) > float(b),
    "$gte": lambda a, b: float(a) >= float(b),
    "$lt": lambda a, b: float(a) < float(b),
    "$lte": lambda a, b: float(a) <= float(b),
}


def _compare(have: Any, want: Any) -> bool:
    if isinstance(want, dict):
        if any(k.startswith("$") for k in want):
            try:
                return all(_op(k)(have, v) for k, v in want.items())
            except (TypeError, ValueError):
                return False
        return isinstance(have, dict) and all(_compare(have.get(k), v) for k, v in want.items())
    if isinstance(want, (list, tuple)):
        return (isinstance(have, (list, tuple)) and len(have) == len(want)
                and all(_compare(h, w) for h, w in zip(have, want, strict=True)))
    return bool(have == want)


def _op(name: str) -> Any:
    if name not in _OPS:
        raise ValueError(f"Unsupported operator: {name}")
    return _OPS[name]


def _matcher(flt: Mapping[str, Any] | None) -> Any:
    if not flt:
        return lambda value: True
    for want in flt.values():  # an unknown operator is the caller's error, raised at once
        if isinstance(want, dict):
            for k in want:
                if k.startswith("$"):
                    _op(k)
    return lambda value: all(_compare(value.get(k), w) for k, w in flt.items())
