"""Linked, evolving notes (A-MEM): keywords, tags, a context and links per memory.

Every memory a write adds gets a *note* in its reserved metadata namespace
(``metadata["engram"]["note"]``, format in :mod:`engram.retrieval.links`):

* ``keywords`` (the memory's own, else its content words), ``tags`` (kind,
  attribute, names) and a short ``context`` ("preference about hiking, alps");
* ``links`` to up to :attr:`LinkSettings.max_links` active memories of the same
  user (or agent), any session: those whose vector is at least
  :attr:`LinkSettings.similar` cosine-similar to it, or
  :attr:`LinkSettings.with_name` when they share a name (a person, place or
  title that is not the memory's own subject). Each link records its score and
  ``via`` (``"similar"``, ``"name:<key>"``).

How it runs: :class:`Linker` is the :class:`~engram.ingest.commit.Committer`'s
hook. Before a batch that adds memories is written it searches the store with
the vectors the batch already holds (nothing is embedded twice) and writes the
new notes in the same batch (no extra version). After the write it *evolves*
each linked older note: one more version of it (one batch for the whole
write) records the back-link and a context naming the terms both notes share.
An older note only ever gains words it already contains, so forgetting the
newer note leaves nothing of its text in the older one. The evolution is
best-effort: a version race with another writer skips it (the link stays on
the new note) and a failed link search never fails the write.

Deleted, superseded and forgotten ends: :func:`links` returns only links whose
other end is an active memory visible in the caller's scope, the retrieval
signal (:mod:`engram.retrieval.links`) can only lift items a search found, and
:func:`unlink` removes a deleted memory from the notes that link to it.

Imports and re-embedding add no links (their memories keep the notes they
carry).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, EngramError, NotFound
from ..models import Memory, MemoryKind, MemoryStatus, Operation, Scope, SearchFilters
from ..recall.entities import extract_entities
from ..retrieval.links import NOTE_KEY, note_of
from ..store.base import Store, WriteBatch
from ..timeutil import now
from ..trust.provenance import RESERVED_KEY, is_flagged

if TYPE_CHECKING:
    from ..store.base import Job

__all__ = ["Link", "LinkSettings", "Linker", "describe", "links", "unlink"]

log = logging.getLogger("engram")

#: every memory kind: a link search never returns episodes
_MEMORIES = SearchFilters(kinds=frozenset(str(k) for k in MemoryKind))


@dataclass(frozen=True)
class LinkSettings:
    """When a new memory links to an older one (cosine of their vectors)."""

    #: similarity that links on its own
    similar: float = 0.6
    #: similarity that links when the two share a name
    with_name: float = 0.4
    #: links a new note makes at most
    max_links: int = 3
    #: nearest memories looked at per new note
    candidates: int = 10
    #: write back-links and evolved contexts on the older notes
    evolve: bool = True


@dataclass(frozen=True)
class Link:
    """One link of a note. ``direction``: ``"out"`` when this note made it (it is
    the newer one), ``"in"`` when a later note did."""

    memory_id: str
    score: float
    via: tuple[str, ...]
    direction: str
    memory: Memory

    def to_dict(self) -> dict[str, Any]:
        return {"memory_id": self.memory_id, "score": self.score, "via": list(self.via),
                "direction": self.direction, "memory": self.memory.to_dict()}


@dataclass
class _Described:
    keywords: list[str]
    names: list[str]
    tags: list[str]
    context: str
    shared: list[str] = field(default_factory=list)


def describe(mem: Memory) -> _Described:
    """Keywords, names (not the memory's own subject), tags and context of a memory."""
    mentions = extract_entities(mem.text)
    own = {e.lower() for e in mem.entities}
    names = list(dict.fromkeys(m.key for m in mentions
                               if m.kind in ("name", "title") and m.key not in own))
    keywords = list(dict.fromkeys(
        [k.lower() for k in mem.keywords] or [m.key for m in mentions if m.kind == "keyword"]))
    tags = list(dict.fromkeys([str(mem.kind), *([mem.attribute] if mem.attribute else []),
                               *names[:4]]))
    about = ", ".join([*names[:2], *[k for k in keywords if k not in names][:3]])
    context = f"{mem.kind} about {about}" if about else str(mem.kind)
    return _Described(keywords[:12], names, tags, context)


def _note(d: _Described, links: list[dict[str, Any]]) -> dict[str, Any]:
    context = d.context + (f"; linked through {', '.join(d.shared[:6])}" if d.shared else "")
    return {"keywords": d.keywords, "tags": d.tags, "context": context, "links": links}


def _with_note(mem: Memory, note: dict[str, Any]) -> dict[str, Any]:
    ns = mem.metadata.get(RESERVED_KEY)
    return {**mem.metadata, RESERVED_KEY: {**(ns if isinstance(ns, dict) else {}),
                                           NOTE_KEY: note}}


def _link_scope(mem: Memory) -> Scope:
    """Where a memory's links may point: its user's (or agent's) memories, any session."""
    return mem.scope.with_session(None)


def _linkable(mem: Memory) -> bool:
    return mem.status == MemoryStatus.ACTIVE and not is_flagged(mem.metadata)


#: what a hook wants done once its batch is written (given the committer's write)
AfterWrite = Callable[[Callable[[WriteBatch], Any]], None]


@dataclass
class _Evolution:
    """Back-links one older note gains from a write: ``(new id, score, via, shared)``."""

    note: Memory
    links: list[tuple[str, float, list[str], list[str]]] = field(default_factory=list)


class Linker:
    """The :class:`~engram.ingest.commit.Committer` hook that links new memories."""

    def __init__(self, store: Store, settings: LinkSettings | None = None) -> None:
        self.store = store
        self.settings = settings or LinkSettings()
        #: makes the job of the LLM's pass over a write's new links (:mod:`.links_llm`)
        self.refine: Callable[[Scope, list[str]], Job] | None = None

    def __call__(self, batch: WriteBatch) -> AfterWrite | None:
        """Write the notes of ``batch``'s new memories into it; returns the
        evolution of the older notes they link to (``None``: nothing to do)."""
        try:
            evolutions = self._prepare(batch)
        except EngramError as exc:  # linking is best-effort, the write is not
            log.warning("new memories left unlinked: %s", exc)
            return None
        linked = [m for m in batch.new_memories if note_of(m).get("links")]
        if self.refine is None or not linked:
            if not evolutions or not self.settings.evolve:
                return None
        return lambda write: self._after(write, evolutions, linked)

    def _after(self, write: Callable[[WriteBatch], Any], evolutions: dict[str, _Evolution],
               linked: list[Memory]) -> None:
        if evolutions and self.settings.evolve:
            self._evolve(write, evolutions)
        if self.refine is not None and linked:
            by_scope: dict[Scope, list[str]] = {}
            for m in linked:
                by_scope.setdefault(m.scope, []).append(m.id)
            try:
                write(WriteBatch(jobs=[self.refine(sc, ids) for sc, ids in by_scope.items()]))
            except EngramError as exc:
                log.warning("link refinement not queued: %s", exc)

    def _prepare(self, batch: WriteBatch) -> dict[str, _Evolution]:
        vectors = {r.ref.id: r for r in batch.vectors if r.ref.type == "memory"}
        new_ids = {m.id for m in batch.new_memories}
        busy = new_ids | {m.id for m, _ in batch.changed_memories}
        evolutions: dict[str, _Evolution] = {}
        for mem in batch.new_memories:
            if note_of(mem) or not _linkable(mem):
                continue
            d = describe(mem)
            made: list[dict[str, Any]] = []
            rec = vectors.get(mem.id)
            if rec is not None:
                for old, score, via, shared in self._neighbours(mem, d, rec.vector,
                                                                rec.model_id, new_ids):
                    made.append({"id": old.id, "score": round(score, 4), "via": via,
                                 "dir": "out"})
                    if old.id not in busy:
                        evolutions.setdefault(old.id, _Evolution(old)).links.append(
                            (mem.id, score, via, shared))
            d.shared = sorted({t for link in made for t in _shared_of(link)})
            mem.metadata = _with_note(mem, _note(d, made))  # in place: callers hold it
            _reversion(batch, mem)
        return evolutions

    def _neighbours(self, mem: Memory, d: _Described, vector: Any, model_id: str,
                    skip: set[str]) -> list[tuple[Memory, float, list[str], list[str]]]:
        s = self.settings
        found = self.store.vector_search(_link_scope(mem), vector, model_id, _MEMORIES,
                                         s.candidates + len(skip))
        scores = {c.ref.id: c.score for c in found if c.ref.id not in skip}
        olds = self.store.get_memories(_link_scope(mem), list(scores))
        names = set(d.names)
        words = set(d.keywords)
        out: list[tuple[Memory, float, list[str], list[str]]] = []
        for old in olds:
            score = scores[old.id]
            if not _linkable(old) or score < s.with_name:
                continue
            od = describe(old)
            common = sorted(names & set(od.names))
            if score < s.similar and not common:
                continue
            via = (["similar"] if score >= s.similar else []) + [f"name:{n}" for n in common]
            shared = common + sorted((words & set(od.keywords)) - set(common))
            out.append((old, score, via, shared))
        out.sort(key=lambda t: (-t[1], t[0].id))
        return out[: s.max_links]

    def _evolve(self, write: Callable[[WriteBatch], Any],
                evolutions: dict[str, _Evolution]) -> None:
        """One more version of each linked older note: its back-links and a context
        naming the terms it shares with the new notes. Skipped on a version race."""
        at = now()
        batch = WriteBatch()
        for ev in evolutions.values():
            latest = self.store.get_memories(ev.note.scope, [ev.note.id])
            if not latest or not _linkable(latest[0]):
                continue
            old = latest[0]
            note = note_of(old)
            d = describe(old)
            kept = [dict(x) for x in note.get("links") or () if isinstance(x, dict)]
            known = {x.get("id") for x in kept}
            shared = set(note.get("shared") or ())
            for new_id, score, via, terms in ev.links:
                if new_id not in known:
                    kept.append({"id": new_id, "score": round(score, 4), "via": via,
                                 "dir": "in"})
                shared.update(terms)
            d.shared = sorted(shared)
            new_note = {**_note(d, kept), "shared": d.shared}
            _replace_note(batch, old, new_note, at,
                          "linked from " + ", ".join(x[0] for x in ev.links))
        if batch.changed_memories:
            try:
                write(batch)
            except (Conflict, EngramError) as exc:
                log.info("older notes not evolved (%s): the new notes keep their links", exc)


def _shared_of(link: dict[str, Any]) -> list[str]:
    return [v.split(":", 1)[1] for v in link.get("via", ()) if v.startswith("name:")]


def _reversion(batch: WriteBatch, mem: Memory) -> None:
    """Make the batch's history entry of a new memory show it as written."""
    for i, (tenant, v) in enumerate(batch.versions):
        if v.memory_id == mem.id and v.version == mem.version:
            batch.versions[i] = (tenant, dataclasses.replace(v, after=mem.to_dict()))


def _replace_note(batch: WriteBatch, old: Memory, note: dict[str, Any], at: datetime,
                  reason: str) -> None:
    """A new version of ``old`` carrying ``note``. ``updated_at`` is kept: a note is
    Engram's bookkeeping, not a change by the memory's writer (a LangGraph item or a
    mem0 memory keeps its own last-put time); the version records ``at``."""
    from ..ingest.commit import version

    new = dataclasses.replace(old, metadata=_with_note(old, note), version=old.version + 1)
    batch.changed_memories.append((new, old.version))
    batch.versions.append((old.scope.tenant, version(new, Operation.UPDATE, old, reason, at)))


# -- reading and unlinking -----------------------------------------------------------------
def links(store: Store, scope: Scope, memory_id: str) -> list[Link]:
    """The links of a memory whose other end is an active memory in ``scope``, best
    first. :class:`~engram.errors.NotFound` when the memory is not in ``scope``."""
    found = store.get_memories(scope, [memory_id])
    if not found:
        raise NotFound(f"no memory {memory_id!r} in this scope")
    raw = [x for x in note_of(found[0]).get("links") or () if isinstance(x, dict)]
    ends = {m.id: m for m in store.get_memories(scope, [str(x.get("id")) for x in raw])
            if m.status == MemoryStatus.ACTIVE}
    out = [Link(str(x["id"]), float(x.get("score", 0.0)), tuple(x.get("via") or ()),
                str(x.get("dir", "out")), ends[str(x["id"])])
           for x in raw if str(x.get("id")) in ends]
    out.sort(key=lambda link: (-link.score, link.memory_id))
    return out


def unlink(store: Store, write: Callable[[WriteBatch], Any], gone: Iterable[Memory]) -> int:
    """Remove deleted (or erased) memories from the notes that link to them (one new
    version each, one batch); returns the notes changed. Best-effort like the
    evolution: a version race leaves the link to the read-time filter."""
    gone = list(gone)
    ids = {m.id for m in gone}
    at = now()
    batch = WriteBatch()
    seen: set[str] = set()
    for mem in gone:
        targets = [str(x.get("id")) for x in note_of(mem).get("links") or ()
                   if isinstance(x, dict) and x.get("id") not in ids]
        for other in store.get_memories(_link_scope(mem), [t for t in targets if t not in seen]):
            seen.add(other.id)
            note = note_of(other)
            kept = [x for x in note.get("links") or () if not (
                isinstance(x, dict) and x.get("id") in ids)]
            if len(kept) == len(note.get("links") or ()) or other.status != MemoryStatus.ACTIVE:
                continue
            _replace_note(batch, other, {**note, "links": kept}, at,
                          "unlinked from " + ", ".join(sorted(ids)))
    if not batch.changed_memories:
        return 0
    try:
        write(batch)
    except (Conflict, EngramError) as exc:
        log.info("links to deleted memories left to the read-time filter: %s", exc)
        return 0
    return len(batch.changed_memories)

