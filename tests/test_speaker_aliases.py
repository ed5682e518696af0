"""A person asked about by a name that is not their speaker label
(:mod:`engram.retrieval.aliases`): the name the other person calls them, or the one
they give themself. Unit cases in many phrasings, then searches over a real SQLite
file with the real embedder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engram import Engram
from engram.embed.base import Embedder
from engram.models import Episode, Scope
from engram.retrieval.aliases import addressed, aliased, only_said_to, speaker_aliases

T0 = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
SCOPE = Scope(tenant="default", user_id="u", session_id="s")


def _chat(*turns: tuple[str, str]) -> list[Episode]:
    return [Episode(id=f"e{i}", scope=SCOPE, role="user", text=text, speaker=speaker,
                    occurred_at=T0 + timedelta(minutes=i), created_at=T0)
            for i, (speaker, text) in enumerate(turns)]


#: one friend ("elise") calls the other ("emi") Kate, in the ways people do
CALLED_KATE = [
    ("elise", "Hey Kate! How was your weekend?"),
    ("emi", "It was lovely, we went hiking near the lake."),
    ("elise", "That sounds amazing Kate."),
    ("elise", "What are your plans for today Kate?"),
    ("emi", "Just work and a cooking class tonight."),
    ("elise", "Thanks, Kate! Talk tomorrow."),
    ("elise", "Kate, you have to see this photo."),
    ("elise", "What about you Kate?"),
]


@pytest.mark.parametrize("query", [
    "What are Kate's hobbies?",
    "Where did Kate go hiking?",
    "Tell me what Kate does on weekends.",
    "Did Kate take a cooking class?",
])
def test_a_name_said_to_the_other_speaker_is_theirs(query: str) -> None:
    assert speaker_aliases(query, _chat(*CALLED_KATE)) == {"emi": "kate"}


@pytest.mark.parametrize("said", [
    "Hi Kate, long time!", "Hello Kate", "Good morning Kate!", "Thank you Kate.",
    "See you soon, Kate!", "Kate, look at this!", "Congrats Kate!",
    "How are you doing today Kate?", "So true Kate!", "Miss you Kate",
])
def test_each_form_of_address_counts(said: str) -> None:
    chat = _chat(("elise", said), ("emi", "hi"), ("elise", "Bye Kate!"))
    assert speaker_aliases("Where does Kate work?", chat) == {"emi": "kate"}


@pytest.mark.parametrize("said", [
    "Haha, totally forgot to introduce myself, I'm Kate. What's your name?",
    "My name is Kate by the way.",
    "Please call me Kate, everyone does.",
    "I go by Kate at work.",
])
def test_a_speaker_who_names_themself(said: str) -> None:
    chat = _chat(("user", said), ("assistant", "Nice to meet you! How can I help?"))
    assert speaker_aliases("What is Kate allergic to?", chat) == {"user": "kate"}


@pytest.mark.parametrize("turns", [
    # places said of, not to: "in Houston!", "Houston, Texas."
    [("elise", "It's a sunny day here in Houston!"), ("kevin", "nice"),
     ("elise", "I'm from Houston, Texas."), ("elise", "Back in Houston!")],
    # a third person both speakers talk about
    [("james", "Hey John! I adopted a pup, his name is Ned."),
     ("john", "That's right, his name is Ned, how could I forget?!"),
     ("james", "Ned!"), ("james", "Thanks to the new pup Ned!")],
    # said to someone only once
    [("elise", "Hey Kate!"), ("emi", "hi"), ("elise", "Kate said she would come too."),
     ("elise", "I met Kate at the gym.")],
    # three people: whom it was said to is not known
    [("elise", "Hey Kate!"), ("emi", "hi"), ("bob", "yo"), ("elise", "Thanks Kate!")],
    # "I'm" before a word that is no name
    [("user", "I'm Canadian too, funny."), ("assistant", "Nice!")],
])
def test_no_alias_where_the_name_is_not_the_other_speaker(
        turns: list[tuple[str, str]]) -> None:
    query = "Where is Houston, and did Kate or Ned or Canadian come?"
    assert speaker_aliases(query, _chat(*turns)) == {}


def test_a_speaker_label_the_query_names_is_no_alias() -> None:
    chat = _chat(("elise", "Hey Emi!"), ("emi", "hi"), ("elise", "Thanks Emi!"))
    assert speaker_aliases("What does Emi like?", chat) == {}


def test_aliased_joins_the_names() -> None:
    assert aliased("Emi", {"emi": "kate"}) == "Emi kate"
    assert aliased("elise", {"emi": "kate"}) == "elise"
    assert aliased(None, {"emi": "kate"}) is None


#: two friends; "elise" calls "emi" Kate, and each says what they like
FRIENDS = [
    ("elise", "Hey Kate! How have you been?"),
    ("emi", "Good! Busy week at the school where I work as a teaching assistant."),
    ("elise", "I work at a bank downtown, long hours lately."),
    ("elise", "What do you do for fun these days Kate?"),
    ("emi", "Skiing is my absolute favourite sport, I go every winter."),
    ("elise", "Basketball is my favourite sport, I play every weekend."),
    ("elise", "Thanks, Kate! Talk soon."),
    ("emi", "I had pasta carbonara for dinner last night."),
    ("elise", "I had sushi for dinner last night."),
    ("elise", "That sounds amazing Kate."),
]

#: (question about Kate, a word only her turn has, a word only elise's has)
ABOUT_KATE = [
    ("What is Kate's favourite sport?", "skiing", "basketball"),
    ("Which sport does Kate love most?", "skiing", "basketball"),
    ("What did Kate eat for dinner last night?", "carbonara", "sushi"),
    ("Where does Kate work?", "teaching assistant", "bank"),
]


def _engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, name: str,
            turns: list[tuple[str, str]]) -> Engram:
    """A real SQLite file holding ``turns`` (speaker, text) as one session of "pair"."""
    engine = Engram(str(tmp_path_factory.mktemp(name) / "a.db"), embedder=embedder)
    for i, (speaker, text) in enumerate(turns):
        engine.add(text, user_id="pair", session_id="d1", speaker=speaker,
                   occurred_at=T0 + timedelta(minutes=i), derive=False)
    return engine


@pytest.fixture(scope="module")
def eg(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engram:
    engine = _engine(tmp_path_factory, embedder, "aliases", FRIENDS)
    yield engine
    engine.close()


@pytest.mark.parametrize(("query", "hers", "not_hers"), ABOUT_KATE)
def test_search_puts_the_named_persons_turn_first(eg: Engram, query: str, hers: str,
                                                  not_hers: str) -> None:
    hits = eg.search(query, user_id="pair", limit=10)
    texts = [h.item.text.lower() for h in hits]
    first = next(i for i, t in enumerate(texts) if hers in t)
    other = next((i for i, t in enumerate(texts) if not_hers in t), len(texts))
    assert first < other, texts


@pytest.mark.parametrize(("text", "name", "to"), [
    ("Hey Kate! How was your weekend?", "kate", True),
    ("Thanks, Caroline, that means a lot!", "caroline", True),
    ("What about you Kate?", "kate", True),
    ("Kate, you have to see this!", "kate", True),
    ("That is so true Kate! Talk tomorrow.", "kate", True),
    ("Hey Kate! Kate's sister called me.", "kate", False),  # also said of her
    ("Kate went to the gym this morning.", "kate", False),
    ("I met Kate at the party.", "kate", False),
    ("We flew to Houston, Texas.", "texas", False),
    ("Nothing about her here.", "kate", False),
])
def test_a_name_only_said_to_someone(text: str, name: str, to: bool) -> None:
    assert only_said_to(text, name) is to
    assert addressed([name, "two words"], [text]) == [frozenset({name} if to else ())]


#: Melanie says Caroline's name to her while telling her own news, in the words of the
#: questions; Caroline tells hers in other words
TOLD_TO = [
    ("Melanie", "Thanks Caroline! I've been painting sunsets by the lake all week."),
    ("Caroline", "These days I mostly do portraits of my grandmother in oils."),
    ("Melanie", "Hey Caroline, I signed up for pottery classes on Mondays!"),
    ("Caroline", "A friend talked me into a ceramics workshop in May."),
    ("Melanie", "The weather is lovely today, we went for a long walk."),
    ("Caroline", "My cat knocked a plant off the shelf again."),
]


@pytest.fixture(scope="module")
def told_to(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engram:
    engine = _engine(tmp_path_factory, embedder, "told", TOLD_TO)
    yield engine
    engine.close()


@pytest.mark.parametrize(("query", "hers"), [
    ("What has Caroline been painting?", "portraits"),
    ("What does Caroline paint these days?", "portraits"),
    ("What is Caroline painting lately?", "portraits"),
])
def test_a_message_to_someone_is_not_about_them(told_to: Engram, query: str,
                                                hers: str) -> None:
    hits = told_to.search(query, user_id="pair", limit=4)
    assert hers in hits[0].item.text, [h.item.text for h in hits]


NAMEY = st.sampled_from(["Kate", "kate", "KATE", "José", "Zoë", "İpek", "O'Neil", "Ned",
                         "user", "a.b", "(x)", "Kate?", "Ka te"])
WORDS = st.lists(st.one_of(NAMEY, st.text(max_size=12),
                           st.sampled_from(["Hey", "thanks", ",", "!", "?", "you", "I'm",
                                            "my name is", "in", "\n", "…"])),
                 max_size=12).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(query=WORDS, turns=st.lists(st.tuples(NAMEY, WORDS), max_size=6))
def test_any_text_gives_names_or_none_and_never_fails(query: str,
                                                      turns: list[tuple[str, str]]) -> None:
    chat = _chat(*turns)
    found = speaker_aliases(query, chat)
    assert set(found) <= {s.lower() for s, _ in turns}
    for text in (t for _, t in turns):
        for name in ("kate", "josé", "ned"):
            only_said_to(text, name)
    assert len(addressed(["kate", "zoë"], [t for _, t in turns])) == (len(turns))


def test_a_name_inside_a_longer_word_is_not_said() -> None:
    """"Jo" is not in "job" or "enjoy": the friend who never says the name stays its
    owner."""
    chat = _chat(("nate", "Hey Jo! How was the job interview?"), ("joanna", "I enjoyed it!"),
                 ("nate", "Thanks Jo!"), ("joanna", "Got the job, what a joy."))
    assert speaker_aliases("What did Nate and Jo do together?", chat) == {"joanna": "jo"}
