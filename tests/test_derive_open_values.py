"""The open rules of the rule deriver ("I like ...", "I prefer ...", "I hate ...",
"I'm going to ...", "I want to ...") keep what a user would want remembered and drop
what real chat puts after those words that is no fact about the speaker
(:mod:`engram.ingest.openvalue`). The cases are written from everyday chat, in many
phrasings; the kept ones must still give their memory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engram.ingest.derive import RuleDeriver
from engram.ingest.openvalue import PREFERRED_MAX, liked, planned, preferred
from engram.models import Episode, Scope


def _derive(text: str, speaker: str = "Ana") -> list[str]:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    ep = Episode(id="ep1", scope=Scope(user_id="u"), role="user", text=text,
                 occurred_at=at, created_at=at, speaker=speaker)
    return [c.text for c in RuleDeriver().derive([ep])]


#: what the memories of the open rules say after their subject
_OPEN = (" likes ", " plans to ", " prefers ", " dislikes ", " would rather ", " is more of ")


def _open(text: str) -> list[str]:
    """The memories the open rules (likings, plans, preferences) make of ``text``."""
    return [m for m in _derive(text) if any(w in m for w in _OPEN)]


@pytest.mark.parametrize(("text", "memory"), [
    ("I really love spicy food.", "Ana likes spicy food"),
    ("honestly i enjoy hiking in the Peak District", "Ana likes hiking in the Peak District"),
    ("I like it when it snows.", "Ana likes it when it snows"),
    ("I adore jazz, always have.", "Ana likes jazz"),
    ("I like all dances, salsa most of all.", "Ana likes all dances"),
    ("I love taking care of my plants on Sunday mornings.",
     "Ana likes taking care of their plants on Sunday mornings"),
    ("I prefer window seats on long flights.", "Ana prefers window seats on long flights"),
    ("I hate coriander.", "Ana dislikes coriander"),
    ("I hate when people are late.", "Ana dislikes when people are late"),
    ("I love when it rains in summer.", "Ana likes when it rains in summer"),
    ("I can't stand loud restaurants.", "Ana dislikes loud restaurants"),
    ("I love pickled ginger tho", "Ana likes pickled ginger"),
    ("I love bath bombs lol", "Ana likes bath bombs"),
    ("I like the community system better I think", "Ana likes the community system better"),
    ("I love swimming it's a great way to keep in shape", "Ana likes swimming"),
    ("I like the blue dress (the one from the shop) best", "Ana likes the blue dress best"),
    ("I'm planning to visit Japan next spring.", "Ana plans to visit Japan"),
    ("I'm going to run a marathon in October.", "Ana plans to run a marathon"),
    ("I want to learn Spanish before the trip.", "Ana plans to learn Spanish before the trip"),
    ("I'm hoping to get a dog once we move.", "Ana plans to get a dog"),
    ("I plan to go back to school in the autumn.", "Ana plans to go back to school"),
    ("I'm going to improve my deadlift this year.", "Ana plans to improve their deadlift"),
    ("I want to focus more on projects that excite me.",
     "Ana plans to focus more on projects that excite them"),
    # what chat runs on after the value is cut, the value kept
    ("I prefer ice cause its nice to drink", "Ana prefers ice"),
    ("i like green tea cuz it calms me down", "Ana likes green tea"),
    ("I like doing yoga outside its", "Ana likes doing yoga outside"),
    ("I like cheese its so good", "Ana likes cheese"),
    ("I love lasagne thats my comfort food", "Ana likes lasagne"),
    ("I like nyquil it knocks me out", "Ana likes nyquil"),
    ("I love the beach it always makes me calm", "Ana likes the beach"),
    ("I love my dog he really gets me", "Ana likes their dog"),
    ("I love tea -- especially green tea", "Ana likes tea"),
    ("I want to make real progress this year ->-> 1", "Ana plans to make real progress"),
    ("I love tea --especially green", "Ana likes tea"),
    ("I'm working as a financial analyst - it's been quite a change",
     "Ana works as a financial analyst"),
    ("I live in Stoke-on-Trent now", "Ana lives in Stoke-on-Trent"),
    # a dot inside a name, a file or a version is no stop
    ("I'm planning to use Socket.IO for the live updates.", "Ana plans to use Socket.IO"),
    ("I want to serve the build time from index.html.", "Ana plans to serve the build time "
     "from index.html"),
    ("I'm going to upgrade to Python 3.12 next month.", "Ana plans to upgrade to Python 3.12"),
    # a quote the cut left open is closed
    ('I want to show a message like "Sorry, that file could not be read"',
     'Ana plans to show a message like "Sorry"'),
    ('I like "The Office" – its humour is so dry', 'Ana likes "The Office"'),
    ("I love 'Dune'.", "Ana likes Dune"),
    ('I like fantasy series like "Game of Thrones, The Witcher"',
     'Ana likes fantasy series like "Game of Thrones"'),
    # the speaker's own words in any rule read in the third person
    ("My favourite part of my morning walk is getting my coffee",
     "Ana's favourite part of their morning walk is getting their coffee"),
    ("I live in a dorm on my own", "Ana lives in a dorm"),
    ("I live in St. Louis now.", "Ana lives in St. Louis"),
    ("I moved to Mt. Pleasant last year", "Ana lives in Mt. Pleasant"),
])
def test_a_statement_about_the_speaker_is_kept(text: str, memory: str) -> None:
    assert memory in _derive(text)


@pytest.mark.parametrize("text", [
    # the value points at something said in another message
    "I like it as it gives you a more cosy feeling",
    "Oh I love the idea!", "I really like the color.", "I love the smell",
    "I love himmm", "i like thattt", "I love themmm so much",
    "I like the energy, honestly", "I love that vibe", "I like the sound of that",
    "I love those a lot",
    "Yeah I like that",
    "I'd love to share it",
    "I want to master this",
    "I like how uncomplicated it is",
    # the person addressed, or the speaker again, inside the value
    "I love your turtles!",
    "I like when you try something new",
    "I love how these poses challenge me",
    "I'm going to confess that I can eat all those within 2 hours",
    "I love bubble teas of them too",
    # a word that names nothing alone
    "I like making",
    "I love to go",
    "I want to start",
    # what one does next, not a plan to remember
    "I'm going to head to bed, night!",
    "I'm going to sleep now good night",
    "I'm going to watch a movie tonight",
    "I'm going to unwind with a bath",
    "I want to grab some food first",
    "I'm going to take a nap",
    "I'm going to call my mum later",
    "I want to make sure I cover all aspects of the report",
    "I want to ensure that my tests pass",
    "I want to know if this is a good idea",
    "I want to understand the difference between the two",
    "I calculated the midpoint as (2,1), but I want to be sure",
    "I'm hoping to get this right before Friday",
    "I want to check if the cache works",
    "I want to go over the proof once more",
    # a verb alone is no plan: what one would learn or improve is
    "I've never done these before, but I want to learn, can you explain?",
    "I really want to improve.",
    "I'm hoping to practise, any tips?",
    "I want to study, but I keep getting distracted",
    # what follows is in the next words
    "I like the following: apples, pears and plums",
    # "going to" + a place is motion
    "I'm going to the gym after work",
    "I'm going to bed",
    # no liking is named
    "I'm into the final stretch of training.",
    "I'm into it!",
    "I'm not into it.",
    "I'd rather not talk about it.",
    "I'm not a fan of both.",
    "I'd prefer it if you kept things short.",
])
def test_what_is_no_fact_about_the_speaker_gives_no_memory(text: str) -> None:
    assert not _open(text), _derive(text)


def test_a_name_the_speaker_already_has_is_no_memory() -> None:
    assert _derive("Hi! My name is Kevin, what's yours?", speaker="Kevin") == []
    assert _derive("My name is Emilia, nice to meet you.", speaker="elise") == [
        "Elise's name is Emilia"]


def test_the_readers_directly() -> None:
    assert liked("jazz") == "jazz"
    assert liked("making") is None and liked("your cooking") is None
    assert liked("my mum's lasagne") == "their mum's lasagne"
    assert planned("the gym") is None and planned("head home") is None
    assert planned("go to Japan") == "go to Japan"
    assert planned("write more unit tests") == "write more unit tests"


@pytest.mark.parametrize(("text", "memory"), [
    # what the preference is for, with what, over what: the clause, not its first words
    ("I prefer tea with a splash of oat milk in the morning.",
     "Ana prefers tea with a splash of oat milk in the morning"),
    ("I prefer step-by-step explanations with worked examples, so can you show me one?",
     "Ana prefers step-by-step explanations with worked examples"),
    ("I prefer trains over planes for short trips because they're less stressful.",
     "Ana prefers trains over planes for short trips"),
    ("honestly I prefer running in the evening and I usually go straight after work",
     "Ana prefers running in the evening"),
    ("I prefer short answers with bullet points but sometimes I need more detail.",
     "Ana prefers short answers with bullet points"),
    ("I prefer cooking with fresh herbs from my own garden!",
     "Ana prefers cooking with fresh herbs from their own garden"),
    ("I prefer Python for data analysis and R for statistics.",
     "Ana prefers Python for data analysis and R for statistics"),
    ("I prefer to keep meetings under thirty minutes to leave time for deep work.",
     "Ana prefers to keep meetings under thirty minutes to leave time for deep work"),
    ("Since the move I prefer cycling to work over taking the bus, it's quicker",
     "Ana prefers cycling to work over taking the bus"),
    ("I prefer diagrams alongside the algebra for geometry proofs ->-> 2,14",
     "Ana prefers diagrams alongside the algebra for geometry proofs"),
    # a clause that runs on into the request is read as far as its first "with", "for", ...
    ("I prefer reading on paper with a pencil in hand to mark up the margins and take notes "
     "for a later review of the key arguments made in every chapter of the book I am on",
     "Ana prefers reading on paper"),
    # the clause speaks of the person addressed: its first words are kept
    ("I prefer written summaries for every call you and the team have with the client.",
     "Ana prefers written summaries"),
])
def test_a_preference_is_read_to_the_end_of_its_clause(text: str, memory: str) -> None:
    assert [m for m in _derive(text) if " prefers " in m] == [memory]


def test_the_preference_reader_directly() -> None:
    assert preferred("window seats on long flights") == "window seats on long flights"
    assert preferred("tea for breakfast with my mum") == "tea for breakfast with their mum"
    assert preferred("emails for anything you send me") == "emails"
    assert preferred("x" * (PREFERRED_MAX + 1)) is None
    assert preferred("it for the price") is None


@pytest.mark.parametrize(("text", "memory"), [
    ("I've set a preference for CPU-only deployment due to hardware constraints, despite "
     "slower inference.", "Ana prefers CPU-only deployment due to hardware constraints"),
    ("I have a strong preference for aisle seats on long flights.",
     "Ana prefers aisle seats on long flights"),
    ("My preference is for morning meetings before ten.",
     "Ana prefers morning meetings before ten"),
    ("my preference is quiet restaurants with good lighting",
     "Ana prefers quiet restaurants with good lighting"),
    ("Given my preference for lightweight tools, what should I use?",
     "Ana prefers lightweight tools"),
    ("I'm worried, as stated in my preference for pragmatic security that doesn't slow the "
     "app ->-> 3,1", "Ana prefers pragmatic security that doesn't slow the app"),
])
def test_a_preference_told_as_a_noun_is_kept(text: str, memory: str) -> None:
    assert [m for m in _derive(text) if " prefers " in m] == [memory]


@pytest.mark.parametrize("text", [
    "Do you have a preference for tea or coffee?",
    "Her preference is for tea.",
    "My preference is that you ask first.",
    "I have a preference for it.",
    "There is no preference for either option.",
])
def test_a_preference_that_is_not_the_speakers_own_value_is_no_memory(text: str) -> None:
    assert not [m for m in _derive(text) if " prefers " in m], _derive(text)


@pytest.mark.parametrize(("text", "memory"), [
    # a preference leaned on, or had for long
    ("I usually prefer window seats.", "Ana prefers window seats"),
    ("I much prefer cats to dogs.", "Ana prefers cats to dogs"),
    ("I tend to prefer quieter restaurants.", "Ana prefers quieter restaurants"),
    ("I've always preferred paperbacks over e-books.", "Ana prefers paperbacks over e-books"),
    ("I do prefer tea, to be fair.", "Ana prefers tea"),
    ("I'd rather take the train than fly.", "Ana would rather take the train than fly"),
    ("I'm more of a tea person.", "Ana is more of a tea person"),
    ("I'm more of an outdoors person, honestly.", "Ana is more of an outdoors person"),
    # a liking in other words, and its opposite
    ("I'm really into bouldering these days.", "Ana likes bouldering"),
    ("I'm into baking sourdough at the moment", "Ana likes baking sourdough"),
    ("I'm not a fan of sushi.", "Ana dislikes sushi"),
    ("I'm not into football at all.", "Ana dislikes football"),
    ("I don't really like horror movies.", "Ana dislikes horror movies"),
    ("Honestly I'm not really keen on camping.", "Ana dislikes camping"),
])
def test_a_liking_or_a_preference_in_other_words_is_kept(text: str, memory: str) -> None:
    assert _open(text) == [memory]



@pytest.mark.parametrize(("text", "memory"), [
    ("Now I assume 2^k ≥ k^2, and I want to show that 2^(k+1) ≥ (k+1)^2.",
     "Ana plans to show that 2^(k+1) ≥ (k+1)^2"),
    ("I plan to visit Lisbon (for work) next month.", "Ana plans to visit Lisbon"),
    ("I plan to learn Rust (maybe), it's fun.", "Ana plans to learn Rust"),
])
def test_a_remark_in_brackets_is_left_out_and_an_expression_kept(text: str, memory: str
                                                                  ) -> None:
    """A remark in brackets stands apart from the words around it; brackets inside an
    expression do not ("2^(k+1)", "(k+1)^2" became "2^ ≥^2" in BEAM, session 47)."""
    assert memory in _derive(text), _derive(text)


@pytest.mark.parametrize("text", ["I'm allergic to dogs thats why I adopted a cat",
                                  "I'm allergic to dogs, that's why we got a cat",
                                  "I'm allergic to dogs which is why I have a cat"])
def test_a_value_ends_before_that_is_why(text: str) -> None:
    """"that's why" opens a clause of its own ("Emi is allergic to dog’s thats why I
    adopted a cat" in REALTALK, session 47)."""
    assert "Ana is allergic to dogs" in _derive(text), _derive(text)


@pytest.mark.parametrize(("text", "memory"), [
    # a clause of its own run on without a stop
    ("My favorite halal cart guy is rafiqi i used to get a dollar hotdog from him",
     "Ana's favourite halal cart guy is rafiqi"),
    ("I love pistachios theyre green", "Ana likes pistachios"),
    ("i love the arctic monkeys they're the best live", "Ana likes the arctic monkeys"),
    ("I like Smile Burger their food looks good in the game", "Ana likes Smile Burger"),
    ("my favourite singer is Adele I think she is amazing", "Ana's favourite singer is Adele"),
    # a word that only weighs the value
    ("I love planes but I prefer wide bodies especially", "Ana prefers wide bodies"),
    ("They look delicious, my favorite pasta is actually ravioli",
     "Ana's favourite pasta is ravioli"),
    ("I like to also do yoga as a form of self care",
     "Ana likes to do yoga as a form of self care"),
    ("I love also cheese pizza", "Ana likes cheese pizza"),
    ("Roller but I like ice skating toooo", "Ana likes ice skating"),
    ("Well I hate staying at home drinking bubble tea then!!!",
     "Ana dislikes staying at home drinking bubble tea"),
    ("I love badminton the most though", "Ana likes badminton"),
    ("i like the school ones way better 😅", "Ana likes the school ones way better"),
    # what one switched from is not what one uses
    ("I switched to the gel cream from the water gel when my skin got dry",
     "Ana uses the gel cream"),
    ("I've switched to Fastly from Cloudflare.", "Ana uses Fastly"),
])
def test_what_only_weighs_or_runs_on_after_a_value_is_left_out(text: str, memory: str
                                                                ) -> None:
    """Session 48, from reading every memory derived from REALTALK: a clause run on
    without a stop ("rafiqi i used to ..."), a word that weighs the value ("actually",
    "especially"), an emoji, and what one switched from were kept in the value."""
    assert memory in _derive(text), _derive(text)


@pytest.mark.parametrize(("text", "memory"), [
    ("I like it when they're home early", "Ana likes it when they're home early"),
    ("I love the music back then", "Ana likes the music back then"),
    ("I want to show that their slopes are equal", "Ana plans to show that their slopes "
     "are equal"),
    ("My favourite era is the reign of Henry I", "Ana's favourite era is the reign of Henry I"),
    ("I want to exercise more", "Ana plans to exercise more"),
])
def test_a_clause_the_value_holds_is_kept(text: str, memory: str) -> None:
    """A clause the value opens itself ("it when ..."), a time phrase ("back then") and
    a pronoun inside the value stay."""
    assert memory in _derive(text), _derive(text)


@pytest.mark.parametrize("text", ["I want to reiterate I think the plan is good",
                                  "I'm going to need some new shoes after all these games",
                                  "I just wanted to say thanks for the help",
                                  "I want to point out it was my idea"])
def test_saying_something_now_is_no_plan(text: str) -> None:
    """What one says in this conversation ("I want to reiterate", "I wanted to say") is
    no plan to remember."""
    assert not [m for m in _derive(text) if " plans to " in m], _derive(text)


@pytest.mark.parametrize(("text", "memory"), [
    ("I prefer simple, minimal dependencies, how can I keep the app small?",
     "Ana prefers simple, minimal dependencies"),
    ("I prefer clear, measurable goals for my first 90 days, can you help?",
     "Ana prefers clear, measurable goals for their first 90 days"),
    ("I prefer short, punchy answers.", "Ana prefers short, punchy answers"),
    ("I really prefer quiet, family-run hotels when we travel.",
     "Ana prefers quiet, family-run hotels"),
])
def test_a_preference_opening_on_words_that_describe_it_is_read_whole(text: str,
                                                                      memory: str) -> None:
    """Session 48: "I prefer simple, minimal dependencies" gave "User prefers simple" in
    BEAM (noted in session 47): the comma after a describing word does not end it."""
    assert memory in _derive(text), _derive(text)


@pytest.mark.parametrize(("text", "memory"), [
    ("I do prefer tea, to be fair.", "Ana prefers tea"),
    ("I prefer mornings, it's quieter then.", "Ana prefers mornings"),
    ("I prefer tea, thanks.", "Ana prefers tea"),
    ("I prefer cats, honestly.", "Ana prefers cats"),
    ("I prefer trains, especially at night.", "Ana prefers trains"),
])
def test_a_comma_before_another_clause_still_ends_a_preference(text: str, memory: str
                                                                ) -> None:
    assert memory in _derive(text), _derive(text)


@pytest.mark.parametrize(("text", "memory"), [
    ("Oh let me know cause I love reading and can suggest a few", "Ana likes reading"),
    ("I picked biology because I want to be a doctor", "Ana plans to be a doctor"),
    ("I watch a lot since I love fantasy", "Ana likes fantasy"),
    ("Personally I do not read a lot because I prefer movies more", "Ana prefers movies"),
    ("That's why I'm so tired, cuz I hate early mornings", "Ana dislikes early mornings"),
])
def test_a_clause_of_cause_tells_the_speaker_too(text: str, memory: str) -> None:
    """Session 48: "because I ...", "cause I ...", "since I ..." open a clause in the first
    person like "and I ..." does (REALTALK's "let me know cause I love reading")."""
    assert memory in _derive(text), _derive(text)


def test_as_i_like_to_say_is_no_liking() -> None:
    assert not [m for m in _derive("As I like to say, practice makes perfect")
                if " likes " in m]


@pytest.mark.parametrize(("text", "partner"), [
    ("My girlfriend, Toby and I are going camping.", None),
    ("my boyfriend, Rex and me went to the vet", None),
    ("My wife, Priya, loves cooking.", "Priya"),
    ("My boyfriend Tom and I go hiking", "Tom"),
])
def test_a_partner_named_in_a_list_is_not_named_the_partner(text: str,
                                                            partner: str | None) -> None:
    """Session 48: "My girlfriend, Toby and I are going camping" made Toby, Andrew's
    puppy, his partner (LoCoMo). After a comma the partner's name is set apart by one."""
    got = [m for m in _derive(text) if "partner" in m]
    assert got == ([f"Ana's partner is {partner}"] if partner else []), got


def test_the_person_addressed_at_the_end_is_not_the_value() -> None:
    """"I love the thought Nate!" said in a chat with Nate: Nate is addressed."""
    at = datetime(2025, 1, 1, tzinfo=UTC)
    eps = [Episode(id=f"e{i}", scope=Scope(user_id="u"), role="user", text=text,
                   occurred_at=at, created_at=at, speaker=who)
           for i, (who, text) in enumerate([("Nate", "I made you a little gift"),
                                            ("Joanna", "I love the handmade card Nate!")])]
    got = [c.text for c in RuleDeriver().derive(eps)]
    assert "Joanna likes the handmade card" in got, got
