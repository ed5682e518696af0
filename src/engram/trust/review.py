"""Operator decisions on poisoning flags: clear a false flag, or put it back.

A flagged episode (see :mod:`.poisoning`) is kept verbatim, never derived from, and
left out of context. When an operator judges the flag false, :func:`decide` records
the decision in the episode's reserved namespace::

    metadata["engram"]["review"] = {
        "state": "cleared",          # or "flagged": the flag put back
        "version": 2,                # 1 for the first decision, +1 for each next one
        "history": [                 # every decision, oldest first, none dropped
            {"version": 1, "state": "cleared", "reason": "...", "by": "ops", "at": "..."},
            {"version": 2, "state": "flagged", "reason": "...", "by": "ops", "at": "..."},
        ],
    }

The flags and their evidence stay as scanned; :func:`~.provenance.is_flagged` is
false while the latest decision is ``cleared``, so the episode is then derived from
and shown in context like any other (its trust level still decides quoting).
Putting a flag back stops later derivation; memories already derived from the
episode stay (delete them if needed). A decision is a compare-and-set on the
episode's metadata: ``expected_version`` (the review version the operator saw, 0
for none) makes a stale decision fail with :class:`~engram.errors.Conflict`.
Callers can never write the namespace (:func:`~.provenance.strip_reserved`), and
import re-scans text, so a decision is not carried by an export file.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict, InvalidInput, NotFound
from ..models import Episode, Scope
from ..store.base import Store
from ..timeutil import format_dt, now
from .provenance import RESERVED_KEY, flags_of

__all__ = ["FlagDecision", "FlagReview", "decide", "review", "review_of"]

STATES = ("cleared", "flagged")
MAX_REASON = 2000
_ATTEMPTS = 5


@dataclass(frozen=True)
class FlagDecision:
    """One operator decision (a version of the review)."""

    version: int
    state: str
    reason: str
    by: str | None
    at: str

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "state": self.state, "reason": self.reason,
                "by": self.by, "at": self.at}


@dataclass(frozen=True)
class FlagReview:
    """Why an episode was flagged and what operators decided.

    ``state``: ``"unflagged"`` (the scan found nothing), ``"flagged"`` (a flag is
    in force) or ``"cleared"`` (an operator cleared it). ``why`` maps each flag to
    its evidence (the matched snippet; for ``classifier``, the probability and the
    features that weighed most).
    """

    episode_id: str
    flags: tuple[str, ...]
    why: dict[str, str]
    state: str
    version: int
    history: tuple[FlagDecision, ...]

    @property
    def flagged(self) -> bool:
        return self.state == "flagged"

    def to_dict(self) -> dict[str, Any]:
        return {"episode_id": self.episode_id, "flags": list(self.flags), "why": dict(self.why),
                "state": self.state, "version": self.version,
                "history": [d.to_dict() for d in self.history]}


def _ns(metadata: Mapping[str, Any] | None) -> Mapping[str, Any]:
    ns = (metadata or {}).get(RESERVED_KEY)
    return ns if isinstance(ns, Mapping) else {}


def review_of(episode_id: str, metadata: Mapping[str, Any] | None) -> FlagReview:
    """The review recorded in an item's metadata."""
    ns = _ns(metadata)
    flags = tuple(flags_of(metadata))
    why = ns.get("why")
    rv = ns.get("review")
    rv = rv if isinstance(rv, Mapping) else {}
    history = tuple(FlagDecision(int(d.get("version", 0)), str(d.get("state", "")),
                                 str(d.get("reason", "")), d.get("by"), str(d.get("at", "")))
                    for d in rv.get("history") or [] if isinstance(d, Mapping))
    state = "unflagged" if not flags else (
        "cleared" if rv.get("state") == "cleared" else "flagged")
    return FlagReview(episode_id, flags,
                      {str(k): str(v) for k, v in why.items()} if isinstance(why, Mapping) else {},
                      state, int(rv.get("version") or 0), history)


def _episode(store: Store, scope: Scope, episode_id: str) -> Episode:
    found = store.get_episodes(scope, [episode_id])
    if not found:
        raise NotFound(f"no episode {episode_id!r} in this scope")
    return found[0]


def review(store: Store, scope: Scope, episode_id: str) -> FlagReview:
    """The flags and decisions of one episode (:class:`~engram.errors.NotFound` if none)."""
    return review_of(episode_id, _episode(store, scope, episode_id).metadata)


def decide(store: Store, scope: Scope, episode_id: str, state: str, *, reason: str,
           by: str | None = None, expected_version: int | None = None) -> FlagReview:
    """Record a decision (``"cleared"`` or ``"flagged"``) on a flagged episode.

    Raises :class:`~engram.errors.InvalidInput` for an empty or overlong reason, an
    unknown state, an episode the scan never flagged, or a decision that changes
    nothing (clearing a cleared flag); :class:`~engram.errors.NotFound` for an unknown
    episode; :class:`~engram.errors.Conflict` when ``expected_version`` is not the
    current review version. Concurrent deciders are serialised by compare-and-set.
    """
    if state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a reason is required")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"reason is longer than {MAX_REASON} characters")
    if by is not None and (not isinstance(by, str) or len(by) > 200):
        raise InvalidInput("by must be a string of at most 200 characters")
    for _ in range(_ATTEMPTS):
        ep = _episode(store, scope, episode_id)
        current = review_of(episode_id, ep.metadata)
        if current.state == "unflagged":
            raise InvalidInput(f"episode {episode_id!r} is not flagged")
        if expected_version is not None and expected_version != current.version:
            raise Conflict(f"review of {episode_id!r} is at version {current.version}, "
                           f"not {expected_version}")
        if current.state == state:
            raise InvalidInput(f"episode {episode_id!r} is already {state}")
        decision = FlagDecision(current.version + 1, state, reason.strip(), by,
                                str(format_dt(now())))
        meta = copy.deepcopy(dict(ep.metadata))
        ns = dict(meta.get(RESERVED_KEY) or {})
        ns["review"] = {"state": state, "version": decision.version,
                        "history": [*(d.to_dict() for d in current.history), decision.to_dict()]}
        meta[RESERVED_KEY] = ns
        new = dataclasses.replace(ep, metadata=meta)
        if store.replace_episode_metadata(new, ep.metadata):
            return review_of(episode_id, meta)
    raise Conflict(f"review of {episode_id!r} kept changing; try again")
