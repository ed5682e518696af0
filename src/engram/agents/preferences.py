"""Preferences that evolve: a short-term and a long-term average per topic.

A preference the rules derive from a user's own words ("I love sushi", "I
really don't like horror films", "I prefer tea") is an *observation* of one
topic (``sushi``), signed (likes > 0, dislikes < 0) with an intensity read
from the wording (:func:`wording_strength`: "adore"/"love" 1.0, "like" 0.6,
"prefer" 0.5, "hate"/"can't stand" -1.0, "don't like"/"dislike" -0.6; "really"
strengthens, "kind of" weakens).

Each topic of a subject is ONE memory (kind ``preference``, attribute
``<subject>:preference:<topic>``) whose metadata ``preference`` holds a
:class:`PreferenceState`. Every observation is folded in by :func:`observe`:

* ``short`` and ``long`` are exponential moving averages of the observations
  (``alpha_short`` fast, ``alpha_long`` slow); ``drift = short - long``;
* while ``|drift| < drift_threshold`` the current value follows ``long``;
* a drift is *visible* (``drifting``, ``drift_run`` observations in a row in
  the same direction) but leaves the current value where it was until it is
  *sustained* for ``sustain`` observations: then the current value, ``short``
  and ``long`` all move to the mean of the drifting observations (the
  preference changed to what those statements said);
* every observation is a new version of the memory (its text follows the
  current value: "Ana likes sushi" / "Ana dislikes sushi"), so contradicting
  statements stay in :meth:`engram.Engram.history`, each with its reason.

The write side calls :func:`track_preferences` on the rule consolidator's
decisions (one line in :mod:`engram.ingest.pipeline`): preference decisions
are replaced by one ADD or UPDATE per topic and batch; everything else passes
through. An older untracked memory with the very same text (written before
tracking) is adopted: it becomes the topic's memory. Observations are folded
in event order: a statement older than the last one folded (an import of old
messages) makes the topic fold all its statements again, oldest first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from ..ingest.consolidate import Decision
from ..ingest.derive import Candidate
from ..models import Episode, Memory, MemoryKind, Operation, Scope
from ..store.base import Store
from ..text import normalize
from ..timeutil import format_dt

__all__ = [
    "METADATA_KEY",
    "PreferenceState",
    "TrackerConfig",
    "is_tracked",
    "label",
    "observe",
    "parse_statement",
    "refold",
    "topic_key",
    "track_preferences",
    "wording_strength",
]

#: the metadata key of a tracked preference's state
METADATA_KEY = "preference"
#: the attribute of a topic: ``<subject key>:preference:<topic>``
ATTRIBUTE_PREFIX = "preference:"


def is_tracked(memory: Memory) -> bool:
    """Whether ``memory`` is a topic's tracked preference (its attribute
    ``<subject key>:preference:<topic>``): one memory per topic whose value gathers
    observations."""
    return ATTRIBUTE_PREFIX in (memory.attribute or "")


@dataclass(frozen=True)
class TrackerConfig:
    """How fast the averages move and when a drift counts as sustained.

    Defaults: see ``docs/agents.md`` (``engram bench prefs`` measures them
    against "last statement wins" and a single average)."""

    alpha_short: float = 0.5
    alpha_long: float = 0.1
    drift_threshold: float = 0.5
    sustain: int = 2


DEFAULT_CONFIG = TrackerConfig()


@dataclass
class PreferenceState:
    """The tracked strength of one topic, each value in [-1, 1].

    ``current`` is the value to act on; ``short``/``long`` the fast and slow
    averages; ``drift_run`` how many observations in a row drifted the same
    way; ``n`` observations, ``positive``/``negative`` how many of each sign;
    ``last`` the latest observation; times are ISO strings."""

    topic: str
    current: float
    short: float
    long: float
    n: int = 1
    positive: int = 0
    negative: int = 0
    drift_run: int = 0
    #: the sum of the observations of the current drift run
    drift_sum: float = 0.0
    last: float = 0.0
    first_at: str | None = None
    last_at: str | None = None
    changed_at: str | None = None

    @property
    def drift(self) -> float:
        return self.short - self.long

    def drifting(self, config: TrackerConfig = DEFAULT_CONFIG) -> bool:
        return abs(self.drift) >= config.drift_threshold

    def confidence(self, config: TrackerConfig = DEFAULT_CONFIG) -> float:
        """Evidence (``n / (n + 1)``) x strength (``|current|``) x agreement
        (``1 - |drift| / 2``), in [0, 1]."""
        agreement = 1.0 - min(1.0, abs(self.drift)) / 2
        return round(self.n / (self.n + 1) * abs(self.current) * agreement, 3)

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PreferenceState | None:
        """The state stored in a memory's metadata; ``None`` when absent or malformed."""
        try:
            return cls(
                topic=str(d["topic"]), current=float(d["current"]), short=float(d["short"]),
                long=float(d["long"]), n=int(d.get("n", 1)), positive=int(d.get("positive", 0)),
                negative=int(d.get("negative", 0)), drift_run=int(d.get("drift_run", 0)),
                drift_sum=float(d.get("drift_sum", 0.0)),
                last=float(d.get("last", d["current"])), first_at=d.get("first_at"),
                last_at=d.get("last_at"), changed_at=d.get("changed_at"))
        except (KeyError, TypeError, ValueError):
            return None


def _sign(x: float) -> int:
    return 0 if abs(x) < 0.15 else (1 if x > 0 else -1)


def observe(state: PreferenceState | None, x: float, at: datetime | None, topic: str,
            config: TrackerConfig = DEFAULT_CONFIG) -> tuple[PreferenceState, str]:
    """Fold observation ``x`` (in [-1, 1]) into ``state`` (``None``: the first).

    Returns the new state and what happened: ``"first"``, ``"steady"``,
    ``"drift"`` (visible, current value kept) or ``"changed"`` (sustained drift,
    the current value moved)."""
    x = max(-1.0, min(1.0, x))
    when = format_dt(at) if at is not None else None
    if state is None:
        return PreferenceState(
            topic=topic, current=x, short=x, long=x, n=1, positive=int(x > 0),
            negative=int(x < 0), last=x, first_at=when, last_at=when, changed_at=when), "first"
    short = state.short + config.alpha_short * (x - state.short)
    long = state.long + config.alpha_long * (x - state.long)
    drift = short - long
    new = replace(state, short=short, long=long, n=state.n + 1,
                  positive=state.positive + int(x > 0), negative=state.negative + int(x < 0),
                  last=x, last_at=when or state.last_at)
    if abs(drift) < config.drift_threshold:
        new.drift_run, new.drift_sum = 0, 0.0
        new.current = long
        event = "steady"
    else:
        same_way = state.drift_run > 0 and math.copysign(1, state.drift) == math.copysign(1, drift)
        new.drift_run = state.drift_run + 1 if same_way else 1
        new.drift_sum = (state.drift_sum if same_way else 0.0) + x
        event = "drift"
        if new.drift_run >= config.sustain:
            # the new preference is what the sustained statements said
            new.current = new.long = new.short = new.drift_sum / new.drift_run
            new.drift_run, new.drift_sum = 0, 0.0
            event = "changed"
    if _sign(new.current) != _sign(state.current):
        new.changed_at = when or state.changed_at
    return new, event


def label(value: float, *, prefers: bool = False) -> str:
    """The verb of a current value in a memory's text, as the rules write it:
    likes (or prefers) / has mixed feelings about / dislikes; the intensity is
    in the state, not the text, so a first statement reads as it always did."""
    if value >= 0.15:
        return "prefers" if prefers else "likes"
    if value <= -0.15:
        return "dislikes"
    return "has mixed feelings about"


# -- reading a statement -----------------------------------------------------------------
_STATEMENT = re.compile(
    r"^(?P<subject>.+?) (?P<verb>likes|prefers|dislikes|has mixed feelings about) (?P<value>.+)$")
_ARTICLE = re.compile(r"^(?:the|a|an|some|my|your)\s+", re.IGNORECASE)

_VERBS: list[tuple[re.Pattern[str], float]] = [
    (re.compile(r"\b(?:can't|cannot|can not) stand\b|\b(?:hate|loathe|detest|despise)s?\b"),
     -1.0),
    (re.compile(r"\b(?:don't|do not|dont) (?:really )?like\b|\bdislikes?\b"), -0.6),
    (re.compile(r"\b(?:love|adore)s?\b"), 1.0),
    (re.compile(r"\b(?:like|enjoy)s?\b"), 0.6),
    (re.compile(r"\bprefers?\b"), 0.5),
]
_STRONGER = re.compile(r"\b(?:really|absolutely|totally|truly|so much|genuinely|just)\b")
_WEAKER = re.compile(r"\b(?:kind of|kinda|sort of|a bit|a little|somewhat|slightly|"
                     r"don't really|do not really)\b")
_TRAILING = re.compile(r"(?:\s+(?:any ?more|now|either|too|as well|at all|a lot|so much|"
                       r"very much|these days|nowadays|lately))+$", re.IGNORECASE)
_CLAUSE = re.compile(r"[.!?;,\n]|\b(?:but|and|although|though|while)\b")


def parse_statement(cand: Candidate) -> tuple[str, str] | None:
    """``(verb, value)`` of a rule-derived like/prefer/dislike statement
    ("Ana likes sushi" -> ``("likes", "sushi")``); ``None`` for anything else
    (favourites and diets are single-valued attributes, not tracked here)."""
    if cand.kind != MemoryKind.PREFERENCE or cand.attribute is not None or not cand.value:
        return None
    m = _STATEMENT.match(cand.text)
    if m is None or m.group("value").lower() != cand.value.lower():
        return None
    value = _TRAILING.sub("", normalize(cand.value)).strip()
    return (m.group("verb"), value) if value else None


def topic_key(value: str) -> str:
    """The topic of a value: lower-cased, whitespace collapsed, a leading article
    and trailing "anymore"/"now"/"too" dropped, trailing punctuation stripped
    ("The Beatles anymore!" -> "beatles")."""
    topic = _TRAILING.sub("", normalize(value).lower().strip(" .!?\"'"))
    return _ARTICLE.sub("", topic).strip() or topic


def wording_strength(text: str, value: str, verb: str) -> float:
    """The signed intensity of the statement of ``value`` in ``text``.

    Reads the clause before the value (from the last sentence break, comma or
    conjunction): the strongest verb found sets the base ("love" 1.0, "like"
    0.6, "prefer" 0.5, "don't like" -0.6, "hate" -1.0); "really"/"absolutely"
    add a quarter, "kind of"/"a bit" halve it. The sign is always the
    derived ``verb``'s (``dislikes`` negative); without a readable clause the
    verb's default (0.6, 0.5, -0.6) is returned."""
    negative = verb == "dislikes"
    default = -0.6 if negative else (0.5 if verb == "prefers" else 0.6)
    lower = text.lower()
    at = lower.find(value.lower())
    if at < 0:
        return default
    before = lower[:at]
    breaks = [m.end() for m in _CLAUSE.finditer(before)]
    # the clause holding the verb: skip a conjunction right before the value ("X and Y")
    clause = before[breaks[-2] if len(breaks) > 1 and not before[breaks[-1]:].strip()
                    else (breaks[-1] if breaks else 0):]
    base = None
    for pattern, strength in _VERBS:
        if pattern.search(clause):
            base = abs(strength)
            break
    if base is None:
        return default
    if _WEAKER.search(clause):
        base *= 0.5
    elif _STRONGER.search(clause):
        base = min(1.0, base + 0.25)
    return -base if negative else base


# -- the write-side hook -----------------------------------------------------------------
@dataclass
class _Topic:
    key: str  # the attribute key
    topic: str
    value: str  # as said last
    observations: list[tuple[Candidate, float, str]] = field(default_factory=list)
    legacy: Memory | None = None


def track_preferences(store: Store, scope: Scope, episodes: Sequence[Episode],
                      decisions: Sequence[Decision],
                      config: TrackerConfig = DEFAULT_CONFIG) -> list[Decision]:
    """Replace the decisions on like/prefer/dislike candidates by one ADD or
    UPDATE of each topic's memory (module docstring); other decisions are
    returned unchanged, in order. Reads the topics' memories from ``store``;
    a race with another writer is the usual version :class:`~engram.errors.Conflict`."""
    texts = {e.id: e.text for e in episodes}
    topics: dict[str, _Topic] = {}
    out: list[Decision] = []
    for d in decisions:
        parsed = parse_statement(d.candidate) if d.candidate is not None else None
        if parsed is None or d.candidate is None:
            out.append(d)
            continue
        cand = d.candidate
        verb, value = parsed
        topic = topic_key(value)
        tracked = replace(cand, attribute=ATTRIBUTE_PREFIX + topic)
        key = tracked.attribute_key or ""
        source = " ".join(texts.get(i, "") for i in cand.source_episode_ids)
        entry = topics.setdefault(key, _Topic(key, topic, value))
        entry.value = value
        entry.observations.append((tracked, wording_strength(source, value, verb), verb))
        if d.op == Operation.NOOP and entry.legacy is None:
            entry.legacy = next((m for m in d.targets if m.attribute is None
                                 and m.kind == MemoryKind.PREFERENCE), None)
    owner = scope.with_session(None)
    for entry in topics.values():
        out.append(_decide(store, owner, entry, episodes, config))
    return out


def _in_event_order(store: Store, owner: Scope, target: Memory | None,
                    state: PreferenceState | None, entry: _Topic, batch: Sequence[Episode],
                    config: TrackerConfig) -> tuple[PreferenceState, str, bool] | None:
    """The topic folded again from all its statements (stored and new) in event
    order, when a new one is older than the last one folded; else ``None``."""
    if target is None or state is None or state.last_at is None:
        return None
    last_at = state.last_at
    if not any((format_dt(c.valid_from) or last_at) < last_at for c, _, _ in entry.observations):
        return None
    new_ids = {i for c, _, _ in entry.observations for i in c.source_episode_ids}
    episodes = [*store.get_episodes(owner, target.source_episode_ids),
                *(e for e in batch if e.id in new_ids)]
    folded, value, prefers = _fold(store, episodes, entry.topic, config)
    if folded is None or value is None:
        return None
    return folded, value, prefers


def _decide(store: Store, owner: Scope, entry: _Topic, batch: Sequence[Episode],
            config: TrackerConfig) -> Decision:
    current = store.active_memories_with_attribute(owner, entry.key)
    target = current[0] if current else entry.legacy
    state: PreferenceState | None = None
    if target is not None:
        stored = target.metadata.get(METADATA_KEY)
        state = PreferenceState.from_dict(stored) if isinstance(stored, dict) else None
        if state is None:  # adopted, or its state was removed: its text is one observation
            m = _STATEMENT.match(target.text)
            verb = m.group("verb") if m else "likes"
            state, _ = observe(None, wording_strength(target.text, "", verb), target.valid_from,
                               entry.topic, config)
    reasons: list[str] = []
    last = entry.observations[-1][0]
    prefers = False
    value = entry.value
    refolded = _in_event_order(store, owner, target, state, entry, batch, config)
    if refolded is not None:  # an older statement arrived late: all of them in event order
        state, value, prefers = refolded
        reasons.append("a statement older than the last one arrived: folded again in event "
                       "order")
    else:
        for cand, x, verb in entry.observations:
            state, event = observe(state, x, cand.valid_from, entry.topic, config)
            prefers = verb == "prefers" if x > 0 else prefers
            reasons.append(f"said {verb} ({x:+.2f}): {event}")
    assert state is not None
    subject = last.subject or "the user"
    text = f"{subject} {label(state.current, prefers=prefers)} {value}"
    text = text[0].upper() + text[1:]
    reason = (f"preference {entry.topic!r}: " + "; ".join(reasons)
              + f"; short {state.short:+.2f}, long {state.long:+.2f},"
                f" current {state.current:+.2f}")
    changes: dict[str, Any] = {"metadata": {METADATA_KEY: state.to_dict()},
                               "importance": round(0.4 + 0.5 * abs(state.current), 3)}
    if target is None:
        return Decision(Operation.ADD, replace(last, text=text), reason=reason, changes=changes)
    if target.attribute != entry.key:
        changes["attribute"] = entry.key
    merged = replace(last, source_episode_ids=[
        i for c, _, _ in entry.observations for i in c.source_episode_ids])
    return Decision(Operation.UPDATE, merged, targets=[target], reason=reason, new_text=text,
                    changes=changes)


def _fold(store: Store, episodes: Sequence[Episode], topic: str, config: TrackerConfig,
          ) -> tuple[PreferenceState | None, str | None, bool]:
    """The state of ``topic`` folded from the statements of ``episodes`` in event
    order (oldest first); also the value as said last and whether it was a
    "prefer". ``None`` state: no statement of the topic among them."""
    from ..ingest.derive import RuleDeriver

    ordered = sorted(episodes, key=lambda e: e.occurred_at)
    state: PreferenceState | None = None
    prefers = False
    value: str | None = None
    for cand in RuleDeriver(store).derive(ordered):
        parsed = parse_statement(cand)
        if parsed is None or topic_key(parsed[1]) != topic:
            continue
        verb, value = parsed
        x = wording_strength(" ".join(e.text for e in ordered
                                      if e.id in cand.source_episode_ids), value, verb)
        state, _ = observe(state, x, cand.valid_from, topic, config)
        prefers = verb == "prefers" if x > 0 else prefers
    return state, value, prefers


def refold(store: Store, scope: Scope, memory: Memory,
           config: TrackerConfig = DEFAULT_CONFIG) -> Memory:
    """``memory`` with its tracked state folded again from the source episodes it
    still cites (oldest first): after one of them was deleted, nothing that episode
    said is left in the averages or the text ("forget means forgotten"). A memory
    that is not a tracked preference is returned as it is."""
    raw = memory.metadata.get(METADATA_KEY)
    old = PreferenceState.from_dict(raw) if isinstance(raw, dict) else None
    if old is None:
        return memory
    episodes = store.get_episodes(scope.with_session(None), memory.source_episode_ids)
    state, value, prefers = _fold(store, episodes, old.topic, config)
    value = value or old.topic
    if state is None:  # no statement left: the text alone, as one observation
        m = _STATEMENT.match(memory.text)
        verb = m.group("verb") if m else "likes"
        state, _ = observe(None, wording_strength(memory.text, "", verb), memory.valid_from,
                           old.topic, config)
        value = m.group("value") if m else value
    said = _STATEMENT.match(memory.text)
    subject = said.group("subject") if said else memory.text.split(" ", 1)[0]
    return replace(memory, text=f"{subject} {label(state.current, prefers=prefers)} {value}",
                   metadata={**memory.metadata, METADATA_KEY: state.to_dict()})
