"""MemoryBank-style decay: fades with time, slower after each recall; off by default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engram.errors import ConfigError
from engram.models import Memory, MemoryKind, Scope
from engram.retrieval.config import PRESETS, RetrievalConfig
from engram.retrieval.decay import decay_factor, retention

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def mem(age_days: float, access_count: int = 0, accessed_days_ago: float | None = None) -> Memory:
    created = NOW - timedelta(days=age_days)
    last = None if accessed_days_ago is None else NOW - timedelta(days=accessed_days_ago)
    return Memory(id="m", scope=Scope(user_id="u"), kind=MemoryKind.FACT, text="x",
                  created_at=created, updated_at=created, access_count=access_count,
                  last_accessed_at=last)


def test_retention_fades_with_time() -> None:
    assert retention(mem(0), NOW, 30) == pytest.approx(1.0)
    assert retention(mem(30), NOW, 30) == pytest.approx(0.3679, abs=1e-4)
    assert retention(mem(60), NOW, 30) < retention(mem(30), NOW, 30)


def test_recall_resets_the_clock_and_strengthens() -> None:
    never = retention(mem(90), NOW, 30)
    recalled_long_ago = retention(mem(90, access_count=2, accessed_days_ago=90), NOW, 30)
    recalled_lately = retention(mem(90, access_count=1, accessed_days_ago=5), NOW, 30)
    assert never < recalled_long_ago < recalled_lately


def test_factor_is_one_when_off_and_bounded_when_on() -> None:
    assert decay_factor(mem(1000), NOW, 0.0, 30) == 1.0
    f = decay_factor(mem(1000), NOW, 0.4, 30)
    assert 0.6 <= f < 0.61


def test_decay_is_off_in_every_preset_and_checked() -> None:
    assert all(p.decay_weight == 0 for p in PRESETS.values())
    with pytest.raises(ConfigError):
        RetrievalConfig("bad", decay_weight=1.5)
