"""The grounding gate with the real embedder: paraphrases pass, inventions do not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engram.embed.base import Embedder
from engram.ingest import grounding
from engram.ingest.derive import Candidate
from engram.models import Episode, MemoryKind, Scope

AT = datetime(2024, 3, 1, tzinfo=UTC)

CASES = [
    ("I moved to Lisbon last week", "Ana lives in Lisbon.", True),
    ("I relocated to Portugal's capital a few days ago", "Ana lives in Lisbon.", True),
    ("We adopted a puppy, his name is Rex", "Ana has a dog named Rex.", True),
    ("I can't eat peanuts, they make me sick", "Ana is allergic to peanuts.", True),
    ("Me mudei para Lisboa na semana passada", "Ana mudou-se para Lisboa em 2024-02-23.", True),
    ("I moved to Lisbon last week", "Ana owns a yacht in Monaco.", False),
    ("I moved to Lisbon last week", "Ana works as a surgeon at a hospital.", False),
    ("I love hiking in the Alps", "Ana is afraid of heights and never goes hiking.", False),
    ("I love hiking in the Alps", "Ana has three children.", False),
]


@pytest.mark.parametrize(("said", "proposed", "supported"), CASES)
def test_gate_accepts_supported_and_rejects_invented(
    embedder: Embedder, said: str, proposed: str, supported: bool
) -> None:
    ep = Episode("ep_1", Scope(user_id="u"), "user", said, AT, AT, speaker="Ana")
    cand = Candidate(MemoryKind.FACT, proposed, ["ep_1"], "Ana")
    ep_text = f"[1 March 2024] Ana: {said}"  # what the indexer embeds for an episode
    ep_vec, cand_vec = embedder.embed([ep_text, proposed], "document")
    report = grounding.check([cand], {"ep_1": ep}, [cand_vec], {"ep_1": ep_vec})
    assert (report.accepted == [cand]) is supported
    if not supported:
        assert report.rejected[0].reason == "unsupported"


def test_gate_rejects_missing_and_unknown_citations(embedder: Embedder) -> None:
    ep = Episode("ep_1", Scope(user_id="u"), "user", "I moved to Lisbon", AT, AT)
    vec = embedder.embed(["Ana lives in Lisbon."], "document")[0]
    none = Candidate(MemoryKind.FACT, "Ana lives in Lisbon.", [], "Ana")
    other = Candidate(MemoryKind.FACT, "Ana lives in Lisbon.", ["ep_1", "ep_other"], "Ana")
    report = grounding.check([none, other], {"ep_1": ep}, [vec, vec], {})
    assert report.accepted == []
    assert [r.reason for r in report.rejected] == ["no_citation", "unknown_citation"]
