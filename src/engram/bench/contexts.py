"""Benchmark turns and contexts of a run: the scope of a conversation, the turn
ids a hit stands for, the context blocks per token budget and the full-context
text. Shared by the runner and QA mode (:mod:`.qa`)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from ..models import ContextBlock, Episode, Hit
from ..retrieval.context import build_context
from .dataset import Conversation, Question

__all__ = ["context_blocks", "full_context_text", "hit_units", "scope_user"]


def scope_user(conv: Conversation) -> str:
    return f"bench:{conv.id}"


def _turn_id(ep: Episode, episode_turn: dict[str, str]) -> str | None:
    tid = ep.metadata.get("dia_id") if isinstance(ep.metadata, dict) else None
    return str(tid) if tid is not None else episode_turn.get(ep.id)


def hit_units(hit: Hit, episode_turn: dict[str, str]) -> list[str]:
    """The benchmark turn ids a hit stands for (see module docstring)."""
    if isinstance(hit.item, Episode):
        tid = _turn_id(hit.item, episode_turn)
        return [tid] if tid else []
    ids = [t for t in (_turn_id(s, episode_turn) for s in hit.sources) if t]
    if not ids:
        src = getattr(hit.item, "source_episode_ids", []) or []
        ids = [episode_turn[e] for e in src if e in episode_turn]
    return list(dict.fromkeys(ids))


def _context_candidates(eg: Any) -> int:
    try:
        default = inspect.signature(eg.context).parameters["candidates"].default
    except (KeyError, TypeError, ValueError):
        return 60
    return int(default) if isinstance(default, int) else 60


def context_blocks(
    eg: Any, q: Question, user: str, preset: str, budgets: Sequence[int],
    units_out: dict[Any, list[str]] | None = None,
    episode_turn: dict[str, str] | None = None,
) -> dict[int, ContextBlock]:
    """What ``eg.context(q.text, max_tokens=b, preset=preset, now=q.asked_at)`` returns per budget.

    Same hits (the search and the standing instructions, ``Engram._context_hits``)
    and the same packing as ``Engram.context``, but one search for
    all budgets and without access tracking (so methods cannot influence each
    other); a test checks the blocks equal ``Engram.context``'s. ``units_out``,
    when given, receives the benchmark turns of every candidate hit by ref.
    """
    rank = getattr(eg, "_context_hits", eg.search)  # an engine without standing instructions
    hits = rank(
        q.text,
        user_id=user,
        limit=max(_context_candidates(eg), 10),
        preset=preset,
        now=q.asked_at,
        track_access=False,
    )
    if units_out is not None:
        for h in hits:
            units_out[h.ref] = hit_units(h, episode_turn or {})
    counts: dict[str, int] = {}

    def count(text: str) -> int:  # the same line is counted once for all budgets
        if text not in counts:
            counts[text] = int(eg.count_tokens(text))
        return counts[text]

    wordpiece = eg.embedder().wordpiece
    return {b: build_context(hits, b, count, q.text, wordpiece=wordpiece) for b in budgets}


def full_context_text(conv: Conversation) -> str:
    """The whole conversation as dated lines, oldest first (the full-context baseline)."""
    lines = []
    for s in conv.sessions:
        for t in s.turns:
            who = t.speaker or t.role
            lines.append(f"- [{t.occurred_at:%Y-%m-%d %H:%M}] {who}: {t.text}")
    return "\n".join(lines)
