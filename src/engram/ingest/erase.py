"""Hard delete of one episode and of what was derived from it only.

"Forget means forgotten", for one message as for a whole scope:

1. The episode is hard-deleted (:meth:`~engram.store.base.Store.delete_episodes`):
   row, vector, lexical entry, in one transaction the SQLite change log records,
   so every process's in-memory index drops it at its next search. From that
   commit on, no derivation can cite it: the store's
   :class:`~engram.store.base.Fence` drops the derived rows of a write that
   claims a missing episode (a job still queued reads only the episodes left).
2. Only then are the memories citing it looked up (nothing can add one any
   more), among the episode owner's memories of any status:

   * a memory whose only source was this episode is hard-deleted with its whole
     history: its text came from that message;
   * a memory with other sources stays, as a new version (``UPDATE``, reason
     ``"source episode <id> deleted"``) whose ``source_episode_ids`` no longer
     name it. Its text and earlier versions stay as they are: they are also
     supported by the other sources (a session summary keeps what it said);
   * a tracked preference (:mod:`engram.agents.preferences`) is the exception:
     each of its versions is one statement, so its history would keep what the
     deleted message said. It is hard-deleted with its whole history and written
     again under the same id as version 1, folded from the statements left
     (reason ``"source episode <id> deleted; folded again ..."``). The statements
     left are still episodes, so nothing acknowledged is lost.

3. ``purge`` (when given) removes LLM-cache entries holding the deleted texts or
   citing the episode's id.

An interrupted delete (a crash between 1 and 2) is finished by deleting the
same id again: a missing episode that memories in scope still cite is not
:class:`~engram.errors.NotFound`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..agents.preferences import METADATA_KEY, refold
from ..errors import NotFound
from ..models import Memory, Operation, Scope
from ..timeutil import now
from .pipeline import Ingest

__all__ = ["EpisodeDeletion", "delete_episode"]


@dataclass
class EpisodeDeletion:
    """What deleting one episode did (ids and counts only, no text)."""

    episode_id: str
    #: memories hard-deleted with their history (the episode was their only source)
    deleted_memory_ids: list[str] = field(default_factory=list)
    #: memories kept as a new version without the episode among their sources
    updated_memory_ids: list[str] = field(default_factory=list)
    #: rows removed per table (``episodes``, ``memories``, ``memory_versions``,
    #: ``vectors``, ``fts``; ``llm_responses`` when the LLM cache was purged)
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EpisodeDeletion:
        return cls(episode_id=str(d["episode_id"]),
                   deleted_memory_ids=list(d.get("deleted_memory_ids") or []),
                   updated_memory_ids=list(d.get("updated_memory_ids") or []),
                   counts=dict(d.get("counts") or {}))


def _owner(scope: Scope, tenant: str) -> Scope:
    """The scope whose memories may cite an episode of ``scope``: its user
    (or, without one, its agent), every session."""
    if scope.user_id is not None:
        return Scope(user_id=scope.user_id, tenant=tenant)
    return Scope(agent_id=scope.agent_id, tenant=tenant)


def delete_episode(ingest: Ingest, scope: Scope, episode_id: str,
                   purge: Callable[[list[str]], int] | None = None,
                   erased: Callable[[list[Memory]], object] | None = None) -> EpisodeDeletion:
    """Hard-delete ``episode_id`` visible in ``scope`` (module docstring).
    ``erased`` receives the memories hard-deleted with it, as they stood (their links
    are then removed from the notes that name them).

    :class:`~engram.errors.NotFound` when no such episode is visible in ``scope``
    (and no memory there still cites that id)."""
    store = ingest.store
    found = store.get_episodes(scope, [episode_id])
    owner = _owner(found[0].scope if found else scope, scope.tenant)
    if not found and not store.memories_citing(scope, [episode_id]):
        raise NotFound(f"no episode {episode_id!r} in this scope")
    out = EpisodeDeletion(episode_id)
    # the LLM cache holds prompts with the text and responses citing the id (as JSON)
    needles = [found[0].text, f'"{episode_id}"'] if found else []
    counts = store.delete_episodes(scope.tenant, [episode_id] if found else [])
    orphans: list[Memory] = []
    tracked: list[Memory] = []
    for m in store.memories_citing(owner, [episode_id]):
        rest = [s for s in m.source_episode_ids if s != episode_id]
        if not rest:
            orphans.append(m)
        elif isinstance(m.metadata.get(METADATA_KEY), dict):
            tracked.append(m)
        else:
            ingest.change(owner, m.id, Operation.UPDATE, _without(episode_id),
                          f"source episode {episode_id} deleted", None)
            out.updated_memory_ids.append(m.id)
    gone_ids = [m.id for m in orphans + tracked]
    if gone_ids:
        kept = {m.id: m for m in tracked}
        needles += [m.text for m in orphans]  # with every text of their history
        needles += [snap["text"] for mid in gone_ids for v in store.history(owner, mid)
                    for snap in (v.before, v.after) if snap and isinstance(snap.get("text"), str)]
        gone = store.delete_episodes(scope.tenant, [], gone_ids)
        counts = {k: counts.get(k, 0) + gone.get(k, 0) for k in {*counts, *gone}}
        out.deleted_memory_ids = [m.id for m in orphans]
        if erased is not None and orphans:
            erased(orphans)
        for m in kept.values():
            at = now()
            fresh = dataclasses.replace(
                m, source_episode_ids=[s for s in m.source_episode_ids if s != episode_id],
                version=1, updated_at=at)
            ingest.commit.memory(refold(store, owner, fresh),
                                 f"source episode {episode_id} deleted; folded again from "
                                 "the statements left", at)
            out.updated_memory_ids.append(m.id)
    if purge is not None and needles:
        counts["llm_responses"] = purge(list(dict.fromkeys(needles)))
    out.counts = dict(sorted(counts.items()))
    return out


def _without(episode_id: str) -> Callable[[Memory, datetime], Memory | None]:
    """The change that drops ``episode_id`` from a memory's sources (``None`` when
    the latest version no longer names it)."""

    def change(old: Memory, at: datetime) -> Memory | None:
        if episode_id not in old.source_episode_ids:
            return None
        rest = [s for s in old.source_episode_ids if s != episode_id]
        new = dataclasses.replace(old, source_episode_ids=rest, updated_at=at,
                                  version=old.version + 1)
        return new

    return change
