"""Values returned by the LLM client: responses, token usage, prices, totals."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LLMResponse",
    "Price",
    "StageUsage",
    "Usage",
    "UsageLedger",
    "UsageTotals",
    "lookup_price",
]


@dataclass(frozen=True)
class Usage:
    """Tokens billed by the server. ``total`` is the server's figure when it gave one."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total + other.total,
        )

    @classmethod
    def from_openai(cls, raw: Any) -> Usage:
        """Read an OpenAI ``usage`` object; missing or malformed fields count as 0."""
        if not isinstance(raw, Mapping):
            return cls()

        def num(key: str) -> int:
            value = raw.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        prompt, completion = num("prompt_tokens"), num("completion_tokens")
        return cls(prompt, completion, num("total_tokens") or prompt + completion)


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens, for prompt and completion tokens."""

    prompt: float
    completion: float

    def cost(self, usage: Usage) -> float:
        return (usage.prompt_tokens * self.prompt + usage.completion_tokens * self.completion) / 1e6


def lookup_price(prices: Mapping[str, Price], requested: str, served: str | None) -> Price | None:
    """Price for a call: the requested model's entry, else the served model's, else the
    longest entry the served model name starts with (``gpt-4o-mini`` prices
    ``gpt-4o-mini-2024-07-18``); ``None`` when nothing matches."""
    if requested in prices:
        return prices[requested]
    if served:
        if served in prices:
            return prices[served]
        prefixes = [name for name in prices if served.startswith(name)]
        if prefixes:
            return prices[max(prefixes, key=len)]
    return None


@dataclass(frozen=True)
class LLMResponse:
    """The result of one :meth:`LLMClient.chat` call.

    * ``text``: the assistant message content (the final, accepted one).
    * ``data``: the parsed JSON, validated against the schema, when a schema was
      given; otherwise ``None``.
    * ``usage``/``cost``: tokens and dollars of *this* call, summed over every
      HTTP response it took (re-asks included); zero for a cache hit. ``cost``
      is ``None`` when the price table has no entry for the model.
    * ``model``: the model name the server reported (else the requested one).
    * ``cached``: served from the on-disk cache, no request sent.
    * ``attempts``: HTTP requests sent (0 for a cache hit).
    """

    text: str
    data: Any
    usage: Usage
    cost: float | None
    model: str
    cached: bool
    attempts: int
    finish_reason: str | None = None
    stage: str = "default"


@dataclass(frozen=True)
class StageUsage:
    """Cumulative figures for one stage (or all stages).

    ``calls`` counts completed ``chat`` calls (``cached_calls`` of them from
    the cache), ``failed_calls`` the ones that raised; ``requests`` counts
    HTTP requests. Tokens include those of failed calls (they were billed).
    ``cost`` sums the calls whose model had a price; ``unpriced_calls``
    counts the others that used tokens.
    """

    calls: int = 0
    cached_calls: int = 0
    failed_calls: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0
    unpriced_calls: int = 0

    def __add__(self, other: StageUsage) -> StageUsage:
        return StageUsage(
            *(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__)
        )


@dataclass(frozen=True)
class UsageTotals:
    """A snapshot of a client's usage, per stage name."""

    stages: Mapping[str, StageUsage] = field(default_factory=dict)

    def __getitem__(self, stage: str) -> StageUsage:
        """Figures of ``stage``; all zero for a stage never used."""
        return self.stages.get(stage, StageUsage())

    @property
    def total(self) -> StageUsage:
        result = StageUsage()
        for usage in self.stages.values():
            result = result + usage
        return result


class UsageLedger:
    """Thread-safe accumulator of :class:`StageUsage` per stage.

    One ledger may be shared by several clients (e.g. one per stage) so the
    totals of a whole pipeline read in one place.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stages: dict[str, StageUsage] = {}

    def record(
        self,
        stage: str,
        usage: Usage,
        cost: float | None,
        *,
        requests: int,
        cached: bool = False,
        failed: bool = False,
    ) -> None:
        delta = StageUsage(
            calls=0 if failed else 1,
            cached_calls=1 if cached and not failed else 0,
            failed_calls=1 if failed else 0,
            requests=requests,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total,
            cost=cost or 0.0,
            unpriced_calls=1 if cost is None and usage.total else 0,
        )
        with self._lock:
            self._stages[stage] = self._stages.get(stage, StageUsage()) + delta

    def snapshot(self) -> UsageTotals:
        with self._lock:
            return UsageTotals(dict(self._stages))

    def reset(self) -> None:
        with self._lock:
            self._stages.clear()
