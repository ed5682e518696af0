"""What the lexical index sees: speaker, caption, date words, stems."""

from __future__ import annotations

import builtins
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from engram.index import lexical
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


def test_a_memory_of_the_anonymous_subject_says_user_once() -> None:
    """Session 36: a memory about "the user" (no speaker name known) holds the entity
    ``user``; its text names the subject already, so the entity is not indexed twice (a
    question saying "the user" matched such memories above every message)."""
    m = Memory(id="m", scope=Scope(user_id="u"), kind=MemoryKind.FACT,
               text="The user likes a creamy sauce", created_at=WHEN, updated_at=WHEN,
               entities=["user", "sauce"])
    text = Indexer(None, None).lexical_text_for(m)  # type: ignore[arg-type]
    assert tokens(text).count("user") == 1 and tokens(text).count("sauc") == 2
    named = Memory(id="n", scope=Scope(user_id="u"), kind=MemoryKind.FACT,
                   text="Ana likes hiking", created_at=WHEN, updated_at=WHEN, entities=["ana"])
    assert tokens(Indexer(None, None).lexical_text_for(named)).count("ana") == 2  # type: ignore[arg-type]


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


#: word forms from everyday English, a few non-English and odd tokens
_WORD_FORMS = (
    "adoption adopting adopted agencies agency running runner runs ran generously generalization"
    " happily happiness hopping hoped hoping skies sky dying died lying flies flying news"
    " cats caresses ponies ties conditional rational relational valency hesitancy digitizer"
    " conformabli radicalli differentli vileli analogousli vietnamization predication operator"
    " feudalism decisiveness hopefulness callousness formaliti sensitiviti sensibiliti triplicate"
    " formative formalize electriciti electrical hopeful goodness revival allowance inference"
    " airliner gyroscopic adjustable defensible irritant replacement adjustment dependent adoption"
    " homologou communism activate angulariti homologous effective bowdlerize probate rate"
    " cease controll roll generate generic communal arsenal gently early only singly"
    " 2023 3rd 12th x2 café naïve straße über résumé istanbul σας ΟΔΟΣ 日本語 ﬁnance yyyy"
).split()


def test_the_compiled_and_the_python_stemmer_agree() -> None:
    stemmer = pytest.importorskip("Stemmer", reason="PyStemmer is a core dependency")
    from snowballstemmer.english_stemmer import EnglishStemmer

    compiled, python = stemmer.Stemmer("english", 0), EnglishStemmer()
    words = [w.lower() for w in _WORD_FORMS]
    assert [compiled.stemWord(w) for w in words] == [python.stemWord(w) for w in words]
    assert type(lexical._english_stemmer()) is type(compiled)  # the compiled one is used


def test_stems_are_the_same_without_the_compiled_stemmer(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pystemmer(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "Stemmer":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    words = [w.lower() for w in _WORD_FORMS]
    lexical._STEMS.clear()
    with_c = [stem(w) for w in words]
    monkeypatch.setattr(builtins, "__import__", no_pystemmer)
    monkeypatch.delitem(sys.modules, "Stemmer", raising=False)
    monkeypatch.setattr(lexical, "_STEMMER", None)
    monkeypatch.setattr(lexical, "_STEMS", {})
    assert [stem(w) for w in words] == with_c
    assert type(lexical._STEMMER).__name__ == "EnglishStemmer"
