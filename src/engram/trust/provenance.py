"""Trust levels and poisoning flags, kept in a reserved metadata namespace.

No schema change: every episode and memory written by the engine carries
``metadata["engram"] = {"trust": <level>, "origin": <how it was made>, "flags": [...],
"why": {flag: evidence}}`` (``flags`` and ``why`` only when the poisoning scan found
something; ``review`` once an operator decided on the flag, see :mod:`.review`).
The namespace belongs to Engram: :func:`strip_reserved` removes it from caller
metadata on every add, remember, update and import, so a caller can neither forge
a trust level nor clear a flag.

Trust levels, from the episode role or how the memory was made:

============  =====================================================  ==========
level         source                                                 in context
============  =====================================================  ==========
``user``      a ``user`` message, or rules applied to user messages  plain
``system``    a ``system`` message given by the caller                plain
``agent``     an ``assistant`` message or an agent's own note          quoted
``tool``      a ``tool`` or ``observation`` message                    quoted
``imported``  imported records that carry no trust level of their own     quoted
============  =====================================================  ==========

Import keeps a trust level already recorded in a record (so export -> import is
the identity) and re-computes flags from the text, so a crafted import file can
clear no flag; treat an import file as operator input, like a backup.

A derived memory takes the weakest level among its source episodes. Items
without the namespace (written before this existed, or by a pipeline that does
not set it) are treated as ``user`` for display and as unflagged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .cascade import scan

__all__ = [
    "RESERVED_KEY",
    "TRUSTED",
    "TRUST_LEVELS",
    "derived_from",
    "flags_of",
    "is_flagged",
    "provenance",
    "restamped",
    "strip_reserved",
    "trust_of",
    "trust_of_role",
    "weakest",
]

RESERVED_KEY = "engram"
#: levels whose text goes into context as plain lines; everything else is quoted data
TRUSTED = frozenset({"user", "system"})
TRUST_LEVELS = frozenset({"user", "system", "agent", "tool", "imported"})
_RANK = {"user": 0, "system": 0, "agent": 1, "tool": 2, "imported": 2}
_ROLE_TRUST = {"user": "user", "system": "system", "assistant": "agent", "tool": "tool",
               "observation": "tool"}


def trust_of_role(role: str) -> str:
    """Trust level of an episode with this role (unknown roles count as ``tool``)."""
    return _ROLE_TRUST.get(role, "tool")


def weakest(levels: Iterable[str]) -> str:
    """The least trusted of ``levels`` (``user`` when empty)."""
    return max(levels, key=lambda lv: _RANK.get(lv, 2), default="user")


def strip_reserved(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of caller ``metadata`` without the reserved ``"engram"`` key."""
    return {k: v for k, v in (metadata or {}).items() if k != RESERVED_KEY}


def provenance(text: str, trust: str, origin: str) -> dict[str, Any]:
    """The reserved namespace value for an item with this text and source."""
    ns: dict[str, Any] = {"trust": trust, "origin": origin}
    verdict = scan(text)
    if verdict.flagged:
        ns["flags"] = list(verdict.flags)
        ns["why"] = dict(zip(verdict.flags, verdict.evidence, strict=True))
    return ns


def restamped(old: Mapping[str, Any], trust: str, origin: str) -> dict[str, Any]:
    """:func:`provenance` for an unchanged text: this source, and the flags (with their
    evidence) the ``old`` namespace holds, not scanned again."""
    ns: dict[str, Any] = {"trust": trust, "origin": origin}
    ns.update({k: old[k] for k in ("flags", "why") if k in old})
    return ns


def derived_from(sources: Iterable[Any], origin: str) -> Callable[[Any], dict[str, Any]]:
    """Metadata of memories derived from the episodes ``sources``.

    For a candidate (``.text``, ``.source_episode_ids``, ``.said``): the weakest
    trust level among the episodes it cites (``user`` for one not in ``sources``),
    ``origin`` (``"rules"``, ``"llm"``), and the flags of a scan. A model's memory is
    scanned as written (its words are new); a rule's memory on the words it was read
    from (``.said``, when known): a rule only fills a fixed template ("When Ana asks
    about recipes: give metric units") with the sender's words, and the template's own
    words ("asks about", a "Name:" head) look like a prompt to the scanner. What those
    words were is what a scan can judge; a message flagged as a whole is never derived
    from at all.
    """
    trust = {e.id: trust_of(e.metadata) for e in sources}

    def metadata(candidate: Any) -> dict[str, Any]:
        level = weakest(trust.get(i, "user") for i in candidate.source_episode_ids)
        said = getattr(candidate, "said", "") if origin == "rules" else ""
        return {RESERVED_KEY: provenance(said or candidate.text, level, origin)}

    return metadata


def _ns(metadata: Mapping[str, Any] | None) -> Mapping[str, Any]:
    ns = (metadata or {}).get(RESERVED_KEY)
    return ns if isinstance(ns, Mapping) else {}


def flags_of(metadata: Mapping[str, Any] | None) -> list[str]:
    """Poisoning flags recorded on an item (``[]`` when none)."""
    flags = _ns(metadata).get("flags") or []
    return [str(f) for f in flags] if isinstance(flags, list) else []


def is_flagged(metadata: Mapping[str, Any] | None) -> bool:
    """Flagged and not cleared by an operator (see :mod:`.review`): such an item is
    never derived from and is left out of context."""
    if not flags_of(metadata):
        return False
    review = _ns(metadata).get("review")
    return not (isinstance(review, Mapping) and review.get("state") == "cleared")


def trust_of(metadata: Mapping[str, Any] | None) -> str:
    """Recorded trust level (``user`` when the item has none)."""
    return str(_ns(metadata).get("trust") or "user")
