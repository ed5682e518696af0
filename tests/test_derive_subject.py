"""The subject of a derived memory is named consistently for one user (#13.19):
the speaker, else the user's display name (the one speaker name their own messages
carry), else "the user" - on every store backend."""

from __future__ import annotations

from datetime import UTC, datetime

from engram import Engram
from engram.embed.base import Embedder
from engram.ingest.derive import RuleDeriver
from engram.models import Episode, Scope
from engram.store.base import Store


def _texts(eg: Engram, user: str) -> list[str]:
    return sorted(m.text for m in eg.list(user_id=user, limit=100).items)


def test_a_message_without_speaker_uses_the_users_name(store: Store,
                                                       embedder: Embedder) -> None:
    eg = Engram(store=store, embedder=embedder)
    eg.add("I moved to Lisbon in March", user_id="ana", speaker="Ana")
    eg.add("I love green tea", user_id="ana")  # another call, no speaker
    eg.add("I work at Acme", user_id="ana", session_id="s2")  # another session too
    assert _texts(eg, "ana") == ["Ana likes green tea", "Ana lives in Lisbon",
                                 "Ana works at Acme"]
    # the name is the user's own: another user's speaker never names them
    eg.add("I love coffee", user_id="bo")
    assert _texts(eg, "bo") == ["The user likes coffee"]


def test_the_same_batch_names_the_user_and_facts_supersede_across_calls(
        store: Store, embedder: Embedder) -> None:
    eg = Engram(store=store, embedder=embedder)
    eg.add([{"text": "Hi there", "speaker": "Cy"}, {"text": "I live in Oslo"}], user_id="cy")
    assert _texts(eg, "cy") == ["Cy lives in Oslo"]
    eg.add("I moved to Bergen", user_id="cy", speaker="Cy")
    assert _texts(eg, "cy") == ["Cy lives in Bergen"]  # one subject, so it superseded


def test_anonymous_subject_and_ambiguous_names(store: Store, embedder: Embedder) -> None:
    eg = Engram(store=store, embedder=embedder)
    eg.add("I moved to Porto", user_id="dee")
    eg.add("I moved to Faro", user_id="dee")
    assert _texts(eg, "dee") == ["The user lives in Faro"]
    # two people speak as this user (a shared account): a speaker-less line names neither
    eg.add([{"text": "hello", "speaker": "Eve"}, {"text": "hi", "speaker": "Fay"}],
           user_id="shared")
    eg.add("I like jazz", user_id="shared")
    assert _texts(eg, "shared") == ["The user likes jazz"]
    # assistant turns never name the user
    eg.add([{"text": "I am Bot and I like answers", "speaker": "Bot", "role": "assistant"}],
           user_id="gus")
    eg.add("I like tennis", user_id="gus")
    assert _texts(eg, "gus") == ["The user likes tennis"]


def test_old_anonymous_facts_are_still_superseded(store: Store, embedder: Embedder) -> None:
    """Facts written before the rename ("User lives in X", key ``user:lives_in``) keep
    being superseded by "The user ..." ones."""
    eg = Engram(store=store, embedder=embedder)
    eg.add("I moved to Riga", user_id="hal")
    active = eg.list(user_id="hal").items
    assert [getattr(m, "attribute", None) for m in active] == ["user:lives_in"]
    eg.add("I moved to Vilnius", user_id="hal")
    assert _texts(eg, "hal") == ["The user lives in Vilnius"]


def test_rule_deriver_without_a_store_reads_the_batch() -> None:
    sc = Scope(user_id="ivy")
    at = datetime(2024, 1, 1, tzinfo=UTC)

    def ep(i: int, text: str, speaker: str | None, role: str = "user") -> Episode:
        return Episode(id=f"e{i}", scope=sc, role=role, speaker=speaker, text=text,
                       occurred_at=at, created_at=at, metadata={})

    batch = [ep(1, "I like chess", None), ep(2, "hello", "Ivy"), ep(3, "ok", "Bot", "assistant")]
    assert RuleDeriver().subject_names(batch) == {"e1": "Ivy", "e2": "Ivy"}
    assert [c.text for c in RuleDeriver().derive(batch)] == ["Ivy likes chess"]
    assert RuleDeriver().subject_names(batch[:1]) == {"e1": "the user"}
