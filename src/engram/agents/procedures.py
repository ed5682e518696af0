"""Procedural and strategy memory with learned utility (issue #20, item 1).

A *procedure* is a memory of kind ``procedure`` holding a reusable strategy: the
task it solves as a template (instance specifics stripped by :func:`abstract`),
its steps and/or an insight, and a *utility* estimate learned from feedback. No
new table: the strategy lives in the memory's text and ``metadata["procedure"]``,
the utility in ``metadata["utility"]``, and every change is a memory version, so
``history(memory_id)`` shows each utility change with its reward.

Utility (:class:`Utility`): ``value`` in [0, 1] moves toward each reward ``r`` in
[0, 1] by ``alpha = max(learning_rate, 1 / count)``: a sample average while few
rewards are known, then an exponential average that follows a strategy whose
usefulness changes. The outcome of the task a procedure came from is its first
observation (``count = 1``).

Ranking for a task (:meth:`ProcedureMemory.rank`): candidates come from the
search restricted to kind ``procedure``; each one's *relevance* is the cosine
similarity of its task template and the task's (both abstracted); below
``min_relevance`` it is dropped. The score blends relevance with utility plus an
exploration term::

    score = (1 - weight) * relevance + weight * (value + bonus)

``bonus`` is UCB1's ``c * sqrt(ln(1 + N) / (1 + n))`` (``n``: the procedure's
count, ``N``: the candidates' total), or with ``exploration="thompson"`` a draw
from ``Beta(1 + value * n, 1 + (1 - value) * n)`` minus ``value`` (seeded), or 0
with ``"none"``. A strategy that keeps failing sinks below its rivals; a new one
(small ``n``) gets a bonus, so it is still tried.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

from ..embed.base import Embedder
from ..errors import EngramError, InvalidInput
from ..ingest.derive import Candidate
from ..ingest.pipeline import Ingest
from ..models import Hit, Memory, MemoryKind, MemoryStatus, Operation, Scope
from ..timeutil import format_dt, now, parse_dt
from ..validation import check_metadata, check_text

__all__ = [
    "OUTCOMES",
    "Procedure",
    "ProcedureMemory",
    "RankedProcedure",
    "Utility",
    "UtilityPolicy",
    "abstract",
]

log = logging.getLogger("engram")

PROCEDURE_KEY = "procedure"
UTILITY_KEY = "utility"
#: named outcomes and the reward each stands for
OUTCOMES: dict[str, float] = {"success": 1.0, "partial": 0.5, "unknown": 0.5, "failure": 0.0}
MAX_STEPS = 100
Exploration = Literal["ucb", "thompson", "none"]

# -- abstraction: instance specifics -> placeholders ---------------------------------------
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("<url>", re.compile(r"\b(?:https?|ftp)://[^\s,;]+")),
    ("<email>", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("<path>", re.compile(r"(?<![\w<])(?:~|\.{1,2})?(?:/[\w.-]+){2,}/?|"
                          r"\b[A-Za-z]:\\[\w\\. -]+")),
    ("<host>", re.compile(r"\b(?:[a-z0-9-]+\.)+(?:internal|local|lan|com|org|net|io|dev|"
                          r"cloud|corp)\b", re.IGNORECASE)),
    ("<file>", re.compile(r"\b[\w-]+\.(?:csv|json|txt|md|py|js|ts|html|xml|yaml|yml|toml|pdf|"
                          r"png|jpg|log|sql|db|zip|tar|gz|docx?|xlsx?)\b", re.IGNORECASE)),
    ("<text>", re.compile(r"\"[^\"\n]{1,200}\"|'[^'\n]{1,200}'|`[^`\n]{1,200}`")),
    ("<date>", re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b")),
    ("<id>", re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|"
                        r"\b(?=[a-z]*\d)(?=\d*[a-z])[0-9a-z]{12,}\b", re.IGNORECASE)),
    ("<time>", re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]m)?\b", re.IGNORECASE)),
    ("<version>", re.compile(r"\bv\d+(?:\.\d+)*\b|\b\d+\.\d+\.\d+\b")),
    ("<number>", re.compile(r"(?<![\w<])[-+]?\d+(?:[.,]\d+)*(?:\.\d+)?%?")),
]
_WORD = re.compile(r"[A-Za-z][\w'-]*")
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*$")
#: capitalised words that are not names
_NOT_NAMES = frozenset({"I", "A", "An", "The", "If", "Then", "When", "Use", "Do", "Don't",
                        "Step", "Task", "Insight", "Note", "Always", "Never", "First", "Next",
                        "Finally", "OK", "Monday", "Tuesday", "Wednesday", "Thursday",
                        "Friday", "Saturday", "Sunday"})


def abstract(text: str) -> str:
    """``text`` with instance specifics replaced by placeholders, rules only.

    URLs, e-mail addresses, paths, host names, file names, quoted strings, dates, long ids,
    times, versions and numbers become ``<url>``, ``<email>``, ``<path>``,
    ``<host>``, ``<file>``, ``<text>``, ``<date>``, ``<id>``, ``<time>``, ``<version>``,
    ``<number>``; a capitalised word that does not start a sentence (a name:
    "Alice", "Berlin") becomes ``<name>``, and a run of them one ``<name>``.
    Acronyms (all capitals: "CSV", "API") and sentence-initial words are kept.
    Deterministic: the same text always gives the same template.

    >>> abstract("Email bob@example.com the 3 files from /srv/data/in by 2024-05-01")
    'Email <email> the <number> files from <path> by <date>'
    >>> abstract("Ask Alice Smith to convert report_7.csv to JSON")
    'Ask <name> to convert <file> to JSON'
    """
    out = text
    for placeholder, pattern in _PATTERNS:
        out = pattern.sub(placeholder, out)
    pieces: list[str] = []
    last = 0
    for m in _WORD.finditer(out):
        word = m.group(0)
        before = out[:m.start()]
        starts_sentence = not before.strip() or bool(_SENTENCE_END.search(before)) or \
            before.rstrip().endswith(("1.", "2.", "3.", "-", "*"))
        is_name = (word[0].isupper() and not word.isupper() and word not in _NOT_NAMES
                   and not starts_sentence and not (before.endswith("<")))
        pieces.append(out[last:m.start()])
        pieces.append("<name>" if is_name else word)
        last = m.end()
    pieces.append(out[last:])
    joined = "".join(pieces)
    return re.sub(r"<name>(?:\s+<name>)+", "<name>", joined)


# -- utility ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Utility:
    """What feedback taught about a procedure. ``value`` in [0, 1]; ``count``
    rewards observed (the origin outcome included); ``successes`` those above 0.5,
    ``failures`` those below (0.5 is neither)."""

    value: float = 0.5
    count: int = 0
    successes: int = 0
    failures: int = 0
    last_reward: float | None = None
    last_used_at: datetime | None = None

    def observe(self, reward: float, at: datetime, learning_rate: float) -> Utility:
        """This utility after ``reward``: ``value += alpha * (reward - value)`` with
        ``alpha = max(learning_rate, 1 / (count + 1))``."""
        n = self.count + 1
        alpha = max(learning_rate, 1.0 / n)
        value = min(1.0, max(0.0, self.value + alpha * (reward - self.value)))
        return Utility(value=round(value, 6), count=n, successes=self.successes + (reward > 0.5),
                       failures=self.failures + (reward < 0.5), last_reward=reward,
                       last_used_at=at)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "count": self.count, "successes": self.successes,
                "failures": self.failures, "last_reward": self.last_reward,
                "last_used_at": format_dt(self.last_used_at)}

    @classmethod
    def from_dict(cls, d: Any) -> Utility:
        if not isinstance(d, dict):
            return cls()
        try:
            last = d.get("last_reward")
            return cls(value=float(d.get("value", 0.5)), count=int(d.get("count", 0)),
                       successes=int(d.get("successes", 0)), failures=int(d.get("failures", 0)),
                       last_reward=None if last is None else float(last),
                       last_used_at=parse_dt(d.get("last_used_at")))
        except (TypeError, ValueError):
            return cls()


@dataclass(frozen=True)
class UtilityPolicy:
    """How procedures are ranked for a task and how feedback moves utility (see the
    module docstring). A bad value raises :class:`~engram.errors.InvalidInput`."""

    learning_rate: float = 0.3
    weight: float = 0.5
    exploration: Exploration = "ucb"
    c: float = 0.5
    min_relevance: float = 0.35
    #: procedures whose optimistic utility (``value + bonus``) is below this are left
    #: out: a strategy that keeps failing drops out of the list altogether
    min_utility: float = 0.0
    #: seed of Thompson draws (``None``: a fresh draw each call)
    seed: int | None = None

    def __post_init__(self) -> None:
        for name, lo, hi in (("learning_rate", 1e-6, 1.0), ("weight", 0.0, 1.0),
                             ("c", 0.0, 10.0), ("min_relevance", -1.0, 1.0),
                             ("min_utility", 0.0, 2.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
                raise InvalidInput(f"{name} must be a number between {lo:g} and {hi:g}")
        if self.exploration not in ("ucb", "thompson", "none"):
            raise InvalidInput("exploration must be 'ucb', 'thompson' or 'none'")


# -- records ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Procedure:
    """A stored strategy: ``task`` is the template, ``steps``/``insight`` the strategy."""

    id: str
    task: str
    steps: tuple[str, ...]
    insight: str | None
    outcome: str
    utility: Utility
    text: str
    version: int
    status: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_memory(cls, m: Memory) -> Procedure:
        p = m.metadata.get(PROCEDURE_KEY)
        p = p if isinstance(p, dict) else {}
        raw = p.get("steps")
        steps: list[Any] = raw if isinstance(raw, list) else []
        return cls(id=m.id, task=str(p.get("task") or m.text), steps=tuple(map(str, steps)),
                   insight=p.get("insight"), outcome=str(p.get("outcome") or "unknown"),
                   utility=Utility.from_dict(m.metadata.get(UTILITY_KEY)), text=m.text,
                   version=m.version, status=str(m.status), metadata=dict(m.metadata))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "task": self.task, "steps": list(self.steps),
                "insight": self.insight, "outcome": self.outcome,
                "utility": self.utility.to_dict(), "text": self.text, "version": self.version,
                "status": self.status}


@dataclass(frozen=True)
class RankedProcedure:
    """A procedure ranked for a task: ``score`` blends ``relevance`` (cosine of the
    task templates) with utility ``value`` plus the exploration ``bonus``."""

    procedure: Procedure
    score: float
    relevance: float
    bonus: float

    def to_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 6), "relevance": round(self.relevance, 6),
                "bonus": round(self.bonus, 6), "procedure": self.procedure.to_dict()}


def _reward(value: Any, what: str = "reward") -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str) and value in OUTCOMES:
        return OUTCOMES[value]
    if not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 1:
        raise InvalidInput(f"{what} must be a number between 0 and 1 (or one of "
                           f"{sorted(OUTCOMES)})")
    return float(value)


def _steps(steps: Any, max_bytes: int) -> list[str]:
    if steps is None:
        return []
    if isinstance(steps, str) or not isinstance(steps, Sequence):
        raise InvalidInput("steps must be a list of strings")
    if len(steps) > MAX_STEPS:
        raise InvalidInput(f"at most {MAX_STEPS} steps")
    out = []
    for s in steps:
        if not isinstance(s, str) or not s.strip():
            raise InvalidInput("each step must be a non-empty string")
        out.append(check_text(s, max_bytes, "step"))
    return out


def _render(task: str, steps: Sequence[str], insight: str | None) -> str:
    lines = [f"Procedure for: {task}"]
    if steps:
        lines.append("Steps:")
        lines.extend(f"{i}. {s}" for i, s in enumerate(steps, 1))
    if insight:
        lines.append(f"Insight: {insight}")
    return "\n".join(lines)


SearchFn = Callable[[str, Scope, int], list[Hit]]
#: ``(template, steps, insight) -> (template, steps, insight)``: a generaliser run after
#: the rules (e.g. :func:`llm_refiner`); may raise :class:`~engram.errors.EngramError`
Refine = Callable[[str, list[str], str | None], tuple[str, list[str], str | None]]

_REFINE_SYSTEM = (
    "You turn a strategy an agent used for one task into a reusable one. Rewrite the task "
    "as a general task description and the steps and insight so they apply to any task of "
    "that kind: remove the remaining instance specifics (names, numbers, ids), keep the "
    "placeholders in angle brackets, keep the steps in order, add no new step and no new "
    "fact. Answer in JSON.")
REFINE_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["task", "steps", "insight"],
    "properties": {"task": {"type": "string"},
                   "steps": {"type": "array", "items": {"type": "string"}},
                   "insight": {"type": ["string", "null"]}},
}


def llm_refiner(client: Any) -> Refine:
    """A :data:`Refine` that asks ``client`` (an :class:`~engram.llm.client.LLMClient`)
    to generalise the rule template further; the output is abstracted again."""

    def refine(task: str, steps: list[str], insight: str | None
               ) -> tuple[str, list[str], str | None]:
        user = "Task: " + task + "\nSteps:\n" + "\n".join(f"- {x}" for x in steps) + \
            ("\nInsight: " + insight if insight else "")
        data = client.chat([{"role": "system", "content": _REFINE_SYSTEM},
                            {"role": "user", "content": user}],
                           json_schema=REFINE_SCHEMA, schema_name="procedure",
                           stage="procedure").data
        return str(data["task"]), [str(x) for x in data["steps"]], data.get("insight")

    return refine


class ProcedureMemory:
    """Remember, rank and reward procedures in a scope (the engine's
    ``remember_procedure``, ``procedures`` and ``feedback`` delegate here).

    ``search(query, scope, limit)`` is the engine's search restricted to kind
    ``procedure``; ``embedder()`` gives the embedder that scores relevance;
    ``refine()`` the generaliser run after the rules (``None``: rules only).
    """

    def __init__(self, ingest: Ingest, search: SearchFn, embedder: Callable[[], Embedder],
                 max_text_bytes: int, refine: Callable[[], Refine | None] = lambda: None
                 ) -> None:
        self._ingest = ingest
        self._search = search
        self._embedder = embedder
        self._max_bytes = max_text_bytes
        self._refine = refine

    def _refined(self, template: str, steps: list[str], insight: str | None
                 ) -> tuple[str, list[str], str | None, str]:
        """The rule template, refined when a refiner is set and its answer is usable
        (non-empty, as many steps, an insight only where there was one; abstracted
        again); else the rules' own. The last item says which: "llm" or "rules"."""
        refine = self._refine()
        if refine is None:
            return template, steps, insight, "rules"
        try:
            t, st, ins = refine(template, list(steps), insight)
        except EngramError as exc:
            log.info("procedure kept as the rules abstracted it: %s", exc.code)
            return template, steps, insight, "rules"
        t, st = abstract(" ".join(t.split())), [abstract(" ".join(x.split())) for x in st]
        ins = abstract(" ".join(ins.split())) if insight and isinstance(ins, str) else None
        if not t or len(st) != len(steps) or not all(st) or (insight and not ins):
            return template, steps, insight, "rules"
        return t, st, ins, "llm"

    def remember(self, sc: Scope, task: str, *, steps: Any = None, insight: str | None = None,
                 outcome: Any = "success", metadata: dict[str, Any] | None = None,
                 policy: UtilityPolicy | None = None) -> Procedure:
        """Store the strategy that ``steps`` and/or ``insight`` describe for ``task``,
        abstracted (see :func:`abstract`); ``outcome`` ("success", "partial",
        "failure", "unknown" or a reward in [0, 1]) is its first utility observation.

        When an active procedure in ``sc`` has the same template, steps and insight,
        nothing new is stored: the outcome is recorded on it as feedback (a new
        version) and it is returned. Nothing is written on bad input."""
        check_text(task, self._max_bytes, "task")
        step_list = [abstract(s) for s in _steps(steps, self._max_bytes)]
        if insight is not None:
            if not isinstance(insight, str) or not insight.strip():
                raise InvalidInput("insight must be a non-empty string")
            insight = abstract(check_text(insight, self._max_bytes, "insight"))
        if not step_list and not insight:
            raise InvalidInput("give the steps or an insight (or both)")
        reward = _reward(outcome, "outcome")
        label = outcome if isinstance(outcome, str) else (
            "success" if reward >= 0.75 else "failure" if reward <= 0.25 else "partial")
        extra = check_metadata(metadata)
        if PROCEDURE_KEY in extra or UTILITY_KEY in extra:
            raise InvalidInput(f"metadata keys {PROCEDURE_KEY!r} and {UTILITY_KEY!r} "
                               "are kept by Engram")
        policy = policy or UtilityPolicy()
        template, step_list, insight, how = self._refined(abstract(task.strip()), step_list,
                                                          insight)
        text = _render(template, step_list, insight)
        check_text(text, self._max_bytes, "procedure")
        for hit in self._search(template, sc, 20):
            m = hit.item
            if isinstance(m, Memory) and m.status == MemoryStatus.ACTIVE and m.text == text:
                return self.feedback(sc, m.id, reward, policy.learning_rate,
                                     reason=f"re-learned ({label})")
        utility = Utility().observe(reward, now(), policy.learning_rate)
        meta = {**extra, PROCEDURE_KEY: {"task": template, "steps": step_list,
                                         "insight": insight, "outcome": label,
                                         "abstraction": how},
                UTILITY_KEY: utility.to_dict()}
        cand = Candidate(kind=MemoryKind.PROCEDURE, text=text, source_episode_ids=[],
                         subject="", importance=0.5)
        return Procedure.from_memory(self._ingest.remember(sc, cand, meta))

    def feedback(self, sc: Scope, memory_id: str, reward: Any,
                 learning_rate: float | None = None, *, reason: str | None = None,
                 expected_version: int | None = None) -> Procedure:
        """Record ``reward`` (in [0, 1], a bool, or a named outcome) for the procedure
        ``memory_id``: its utility observes it (see :meth:`Utility.observe`) and the
        change is a new version whose reason names the reward.
        :class:`~engram.errors.NotFound` for an id not in ``sc``;
        :class:`~engram.errors.InvalidInput` for another kind or an inactive memory."""
        r = _reward(reward)
        lr = UtilityPolicy(learning_rate=learning_rate).learning_rate \
            if learning_rate is not None else UtilityPolicy().learning_rate
        why = f"feedback reward={r:g}" + (f" ({reason})" if reason else "")

        def change(old: Memory, at: datetime) -> Memory:
            if old.kind != MemoryKind.PROCEDURE:
                raise InvalidInput(f"memory {memory_id} is a {old.kind}, not a procedure")
            if old.status != MemoryStatus.ACTIVE:
                raise InvalidInput(f"memory {memory_id} is {old.status}; only active "
                                   "procedures take feedback")
            u = Utility.from_dict(old.metadata.get(UTILITY_KEY)).observe(r, at, lr)
            return dataclasses.replace(old, metadata={**old.metadata, UTILITY_KEY: u.to_dict()},
                                       updated_at=at, version=old.version + 1)

        return Procedure.from_memory(self._ingest.change(sc, memory_id, Operation.UPDATE,
                                                         change, why, expected_version))

    def rank(self, sc: Scope, task: str, limit: int = 5,
             policy: UtilityPolicy | None = None) -> list[RankedProcedure]:
        """The procedures of ``sc`` for ``task``, best first, at most ``limit`` (see
        the module docstring for the score). Reads only: nothing is written."""
        check_text(task, self._max_bytes, "task")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise InvalidInput("limit must be an integer between 1 and 100")
        policy = policy or UtilityPolicy()
        template = abstract(task.strip())
        found = [Procedure.from_memory(h.item) for h in self._search(template, sc,
                                                                     max(4 * limit, 20))
                 if isinstance(h.item, Memory) and h.item.kind == MemoryKind.PROCEDURE
                 and h.item.status == MemoryStatus.ACTIVE]
        if not found:
            return []
        emb = self._embedder()
        vecs = np.asarray(emb.embed([template] + [p.task for p in found], "document"),
                          dtype=np.float32)
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        rel = vecs[1:] @ vecs[0]
        kept = [(p, float(r)) for p, r in zip(found, rel, strict=True)
                if r >= policy.min_relevance]
        total = sum(p.utility.count for p, _ in kept)
        rng = random.Random(policy.seed)
        ranked = []
        for p, r in kept:
            u = p.utility
            if policy.exploration == "ucb":
                bonus = policy.c * math.sqrt(math.log(1 + total) / (1 + u.count))
            elif policy.exploration == "thompson":
                bonus = rng.betavariate(1 + u.value * u.count,
                                        1 + (1 - u.value) * u.count) - u.value
            else:
                bonus = 0.0
            if u.value + bonus < policy.min_utility:
                continue
            score = (1 - policy.weight) * r + policy.weight * (u.value + bonus)
            ranked.append(RankedProcedure(p, score, r, bonus))
        ranked.sort(key=lambda x: (-x.score, x.procedure.id))
        return ranked[:limit]
