"""Entity mentions and keywords without a language model."""

from __future__ import annotations

import pytest

from engram.recall.entities import (
    collect_names,
    entity_keys,
    extract_entities,
    keywords,
    normalise,
    query_entities,
)

SPEAKERS = ["Caroline", "Melanie"]


def kinds(text: str, known: object = ()) -> list[tuple[str, str]]:
    return [(m.key, m.kind) for m in extract_entities(text, known)]  # type: ignore[arg-type]


def test_known_names_with_possessives_and_any_case() -> None:
    got = kinds("Caroline's mom met melanie and CAROLINE.", SPEAKERS)
    assert [k for k in got if k[1] == "known"] == [
        ("caroline", "known"),
        ("melanie", "known"),
        ("caroline", "known"),
    ]


def test_alias_mapping_folds_onto_one_key() -> None:
    got = kinds("Hey Mel! Good to see you, Melanie.", {"mel": "melanie"})
    assert [k for k, kind in got if kind == "known"] == ["melanie", "melanie"]


def test_known_name_inside_a_longer_word_is_not_matched() -> None:
    assert all(m.kind != "known" for m in extract_entities("Melanies and Jonathan", ["Jon"]))


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("We moved to New York City last year.", ["new york city"]),
        ("She works at the Bank of America tower.", ["bank of america"]),
        ("I went to the LGBTQ+ pride parade.", ["lgbtq"]),
        ("Would she have Dr. Seuss books?", ["seuss"]),
        ("We met at St. Mary's church.", ["st mary"]),
        ("Thanks Jon! See you at Central Park.", ["jon", "central park"]),
        ("My friend Jean said hi. Jean is great.", ["jean", "jean"]),
    ],
)
def test_capitalised_runs(text: str, names: list[str]) -> None:
    assert [m.key for m in extract_entities(text) if m.kind == "name"] == names


@pytest.mark.parametrize(
    "text",
    [
        "Painting's great for expressing myself.",
        "Hey! Thanks so much. Wow, that is awesome.",
        "I went there in May. On Sunday it rained.",
        "The kids loved it. They want to go again.",
    ],
)
def test_sentence_starters_months_and_pronouns_are_not_names(text: str) -> None:
    assert [m for m in extract_entities(text) if m.kind == "name"] == []


def test_quoted_titles() -> None:
    got = extract_entities('I loved "Charlotte\'s Web" and \u201cNothing is Impossible\u201d.')
    assert [(m.key, m.kind) for m in got if m.kind == "title"] == [
        ("charlotte's web", "title"),
        ("nothing is impossible", "title"),
    ]


def test_keywords_are_normalised_content_words() -> None:
    assert keywords("Yeah, the kids' classes and parties were SO much fun in 2023 on Friday!") == [
        "kid",
        "class",
        "party",
        "fun",
    ]


def test_spans_index_the_text_and_mentions_do_not_overlap() -> None:
    text = 'Caroline\u2019s friend Jean moved to New York with "The Lean Startup".'
    found = extract_entities(text, SPEAKERS)
    flat = text.replace("\u2019", "'")
    end = 0
    for m in found:
        assert flat[m.span[0] : m.span[1]] == m.text
        assert m.span[0] >= end
        end = m.span[1]


def test_entity_keys_and_query_entities() -> None:
    assert entity_keys("Caroline and Jean visited New York.", SPEAKERS) == [
        "caroline",
        "jean",
        "new york",
    ]
    q = query_entities("When did Caroline go to the LGBTQ support group?", SPEAKERS)
    assert q.people == ("caroline",)
    assert q.names == ("lgbtq",)
    assert q.keywords == ("support", "group")
    assert q.keys == ("caroline", "lgbtq", "support", "group")


def test_collect_names_feeds_known_names_back() -> None:
    texts = ["I met Jean at the cafe.", "Jean said the film was long."]
    counts = collect_names(texts)
    assert counts == {"jean": 1}
    assert ("jean", "known") in kinds(texts[1], list(counts))


def test_normalise() -> None:
    assert normalise("  Caroline\u2019s ") == "caroline"
    assert normalise("New   York.") == "new york"
    assert normalise("James'") == "james"


def test_index_suffix_adds_speaker_caption_day_and_annotations() -> None:
    from datetime import UTC, datetime

    from engram.recall import index_suffix

    ref = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    got = index_suffix(
        "I went to a support group yesterday", ref, speaker="Caroline", extra=["a photo", " "]
    )
    assert got == ("Caroline a photo 2023-05-08 8 May 2023 May 2023 2023-05-07 7 May 2023 May 2023")
    assert index_suffix("hello", None) == ""


@pytest.mark.parametrize(("text", "name"), [
    ("which band does my friend Zoë like", "zoë"),
    ("I met José García at the market", "josé garcía"),
    ("we drove to Málaga with Søren", "málaga"),
    ("I should ask Chloé about the flat", "chloé"),
])
def test_a_name_in_letters_of_any_script_is_one_name(text: str, name: str) -> None:
    """Session 53: a letter outside ASCII no longer cuts a name ("Zo" + "ë")."""
    assert name in [m.key for m in extract_entities(text) if m.kind == "name"]
