"""What the lexical index sees: speaker, caption, date words, stems."""

from __future__ import annotations

from datetime import UTC, datetime

from engram.index.lexical import LexicalIndex, stem, tokens
from engram.ingest.index import Indexer
from engram.models import Episode, Memory, MemoryKind, Scope

WHEN = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def test_episode_text_has_speaker_caption_and_dates() -> None:
    e = Episode("e1", Scope(user_id="u"), "user", "I went to the support group yesterday.",
                WHEN, WHEN, speaker="Caroline", metadata={"blip_caption": "a photo of a flag"})
    text = Indexer(None, None).lexical_text_for(e)  # type: ignore[arg-type]
    assert text.startswith("Caroline: I went to the support group yesterday.")
    assert "a photo of a flag" in text
    assert "8 May 2023" in text and "7 May 2023" in text  # the day, and "yesterday" resolved


def test_memory_text_has_entities_and_date() -> None:
    m = Memory(id="m", scope=Scope(user_id="u"), kind=MemoryKind.FACT, text="Lives in Lisbon",
               created_at=WHEN, updated_at=WHEN, entities=["Lisbon"])
    text = Indexer(None, None).lexical_text_for(m)  # type: ignore[arg-type]
    assert text.startswith("Lives in Lisbon") and "Lisbon" in text[15:] and "May 2023" in text


def test_porter_stems_fold_word_forms() -> None:
    assert stem("adoption") == stem("adopting") == stem("adopted") == stem("adopt")
    assert stem("agencies") == stem("agency")
    assert stem("2023") == "2023"
    assert tokens("The Paintings were painted") == ["paint", "paint"]


def test_bm25_matches_across_word_forms() -> None:
    idx = LexicalIndex()
    idx.add(0, "She is researching adoption agencies")
    idx.add(1, "We went camping at the beach")
    scores = idx.scores("Which agency did she research for adopting?", 2)
    assert scores is not None and scores[0] > 0 and scores[1] == 0
