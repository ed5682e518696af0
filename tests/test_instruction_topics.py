"""Standing instructions for different requests are different instructions: however
alike their words, one never replaces or duplicates another
(:func:`engram.ingest.instructions.for_other_requests`); an instruction for the same
requests still replaces the one it contradicts. Real SQLite files, the real embedder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.ingest.instructions import for_other_requests, read_instruction_text

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def _said(eg: Engram, texts: list[str], user: str = "ana") -> None:
    for i, text in enumerate(texts):
        eg.add(text, user_id=user, occurred_at=T0 + timedelta(hours=i))


def _standing(eg: Engram, user: str = "ana") -> dict[str | None, str]:
    """Each active instruction's topic -> its rule."""
    out: dict[str | None, str] = {}
    for m in eg.list(user_id=user, kinds=["procedure"]).items:
        read = read_instruction_text(m.text)
        assert read is not None
        assert read.topic not in out, m.text
        out[read.topic] = read.rule
    return out


@pytest.mark.parametrize("texts", [
    [f"Always give step-by-step answers when I ask about {t}." for t in
     ("probability concepts", "dice probability", "card probability", "coin tosses")],
    [f"Whenever I ask about {t}, give metric units." for t in
     ("recipes", "baking", "running distances")],
    ["When I ask about my resume, always use bullet points.",
     "When I ask about my cover letter, always use bullet points.",
     "When I ask about meeting notes, always use bullet points."],
    ["Never use emojis.", "Never use emojis when I ask about work emails."],
])
def test_the_same_rule_for_other_requests_is_kept_for_each(tmp_path: Path, embedder: Embedder,
                                                           texts: list[str]) -> None:
    with Engram(str(tmp_path / "i.db"), embedder=embedder) as eg:
        _said(eg, texts)
        assert len(_standing(eg)) == len(texts)


def test_an_instruction_for_the_same_requests_replaces_the_one_it_contradicts(
        tmp_path: Path, embedder: Embedder) -> None:
    with Engram(str(tmp_path / "r.db"), embedder=embedder) as eg:
        _said(eg, ["Whenever I ask about recipes, give metric units.",
                   "Whenever I ask about running distances, give metric units.",
                   "Whenever I ask about recipes, give imperial units."])
        assert _standing(eg) == {"recipes": "give imperial units",
                                 "running distances": "give metric units"}
        history = [m for m in eg.list(user_id="ana", kinds=["procedure"],
                                      include_inactive=True).items
                   if "metric" in m.text and "recipes" in m.text]
        assert [str(m.status) for m in history] == ["superseded"]


def test_one_message_with_two_topics_keeps_both(tmp_path: Path, embedder: Embedder) -> None:
    with Engram(str(tmp_path / "b.db"), embedder=embedder) as eg:
        _said(eg, ["Always cite your sources when I ask about history. Always cite your "
                   "sources when I ask about medicine."])
        assert set(_standing(eg)) == {"history", "medicine"}


def test_the_reader_directly() -> None:
    a = "When Ana asks about dice probability: always give step-by-step answers"
    b = "When Ana asks about card probability: always give step-by-step answers"
    every = "Ana's standing instruction: always give step-by-step answers"
    assert for_other_requests(a, b) and for_other_requests(a, every)
    assert not for_other_requests(a, a.replace("step-by-step", "short"))
    assert not for_other_requests(a, "Ana likes dice")
    assert not for_other_requests("Ana likes dice", "Ana likes cards")


@pytest.mark.parametrize(("first", "then", "rule"), [
    ("Always cite sources when I ask about history.",
     "Actually, don't cite sources when I ask about history.", "don't cite sources"),
    ("Always use bullet points when I ask about emails.",
     "Stop using bullet points when I ask about emails.", "stop using bullet points"),
    ("Never use emojis.", "Always use emojis.", "always use emojis"),
])
def test_an_instruction_taken_back_is_superseded(tmp_path: Path, embedder: Embedder,
                                                 first: str, then: str, rule: str) -> None:
    with Engram(str(tmp_path / "t.db"), embedder=embedder) as eg:
        _said(eg, [first, then])
        assert list(_standing(eg).values()) == [rule]
