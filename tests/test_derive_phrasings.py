"""The rule deriver reads a statement after a discourse word ("These days my
favourite hobby is pottery", "Honestly, I prefer tea") and a favourite told value
first ("Ramen has become my favourite food"), a move to a place ("We moved to Porto")
and a partner by name ("My boyfriend Tom and I ...", "I'm dating Alex now"), and still
derives nothing from pronouns, questions, someone else's favourite, a product ("We moved
to Slack") or a word that is not a name (#14: a new value the deriver missed left the
old one active)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engram.ingest.derive import RuleDeriver
from engram.models import Episode, Scope


def _derive(text: str) -> list[tuple[str, str | None]]:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    ep = Episode(id="ep1", scope=Scope(user_id="u"), role="user", text=text,
                 occurred_at=at, created_at=at, speaker="Ana")
    return [(c.text, c.attribute) for c in RuleDeriver().derive([ep])]


@pytest.mark.parametrize(("text", "memory", "attribute"), [
    ("These days my favourite hobby is pottery; I barely paint.",
     "Ana's favourite hobby is pottery", "favourite:hobby"),
    ("Nowadays, my favourite drink is mint tea.", "Ana's favourite drink is mint tea",
     "favourite:drink"),
    ("Honestly ramen has become my favourite food.", "Ana's favourite food is ramen",
     "favourite:food"),
    ("lately sourdough is my new favourite bread", "Ana's favourite bread is sourdough",
     "favourite:bread"),
    ("Funny thing, Squash has now become my favourite sport.",
     "Ana's favourite sport is Squash", "favourite:sport"),
    ("Honestly, I prefer tea.", "Ana prefers tea", None),
    ("Currently I live in Berlin.", "Ana lives in Berlin", "lives_in"),
    ("At the moment I work at a bakery.", "Ana works at a bakery", "works_at"),
])
def test_a_statement_after_a_discourse_word_is_derived(text: str, memory: str,
                                                       attribute: str | None) -> None:
    assert (memory, attribute) in _derive(text)


@pytest.mark.parametrize("text", [
    "It is my favourite food.",
    "That has become my favourite song.",
    "What is your favourite food?",
    "My sister's cooking is my favourite food now.",
    "Honestly, she prefers tea.",
])
def test_no_favourite_from_a_pronoun_a_question_or_another_person(text: str) -> None:
    assert not any("favourite" in m or "prefers" in m for m, _ in _derive(text))


#: (text, the value derived): "we moved to X" where X is a place, a partner by name
NAMED = [
    ("We finally moved to Denver, the new place has a view of the mountains.",
     "Ana lives in Denver", "lives_in"),
    ("We moved to Porto in May, the flat has a view of the Douro.", "Ana lives in Porto",
     "lives_in"),
    ("we've just relocated to Glasgow", "Ana lives in Glasgow", "lives_in"),
    ("So we moved to Canada last year.", "Ana lives in Canada", "lives_in"),
    ("My boyfriend Tom and I go hiking every Sunday.", "Ana's partner is Tom", "partner"),
    ("My wife, Priya, is a doctor.", "Ana's partner is Priya", "partner"),
    ("My partner Sam's sister is visiting.", "Ana's partner is Sam", "partner"),
    ("I'm dating Alex now and we go climbing together.", "Ana's partner is Alex", "partner"),
    ("I'm married to Sam.", "Ana's partner is Sam", "partner"),
    ("I'm engaged to Alex Moreno!", "Ana's partner is Alex Moreno", "partner"),
    ("Clara and I split up in April; I'm seeing someone called Mia now.",
     "Ana's partner is Mia", "partner"),
    ("I've been seeing a guy called Marcus for a couple of months.",
     "Ana's partner is Marcus", "partner"),
]
#: (text, the attribute it must not derive): a product, a team, no name
NOT_NAMED = [
    ("We moved to Slack for chat.", "lives_in"),
    ("We moved to a bigger office.", "lives_in"),
    ("we moved to monthly billing", "lives_in"),
    ("We moved to Jordan's place for the weekend.", "lives_in"),
    ("We moved to Microsoft Teams in March.", "lives_in"),
    ("My girlfriend and I went to Paris.", "partner"),
    ("I'm dating someone new.", "partner"),
    ("I'm married to my job lol", "partner"),
    ("My friend's boyfriend Tom is a chef.", "partner"),
    ("Is your husband Tom coming?", "partner"),
    ("I'm seeing someone called Dr Patel about my knee.", "partner"),
    ("I'm seeing a guy called Dave about the boiler.", "partner"),
]


@pytest.mark.parametrize(("text", "memory", "attribute"), NAMED)
def test_a_home_or_a_partner_named_is_derived(text: str, memory: str, attribute: str) -> None:
    assert (memory, attribute) in _derive(text)


@pytest.mark.parametrize(("text", "attribute"), NOT_NAMED)
def test_no_home_or_partner_without_a_place_or_a_name(text: str, attribute: str) -> None:
    assert not any(a == attribute for _, a in _derive(text))


#: (text, memory, attribute): session 23 — an activity kept up, how one gets to work, what
#: one is learning, a habit with how often, what one owns, a named thing ended before a
#: clause it does not hold, and a move told with a season
KEPT_UP = [
    ("I play tennis every Sunday morning.", "Ana plays tennis", None),
    ("I play the drums in my cousin's band.", "Ana plays the drums", None),
    ("I play five-a-side football every Monday night.", "Ana plays football", None),
    ("I still play the violin in a community orchestra.", "Ana plays the violin", None),
    ("Honestly I play guitar in a band, mostly covers.", "Ana plays guitar", None),
    ("i play chess online most nights", "Ana plays chess", None),
    ("I've taken up climbing, twice a week at the wall.", "Ana does climbing", None),
    ("Last year I took up pottery.", "Ana does pottery", None),
    ("I commute by train, it takes forty minutes.", "Ana commutes by train", "commute"),
    ("These days I cycle to work, it's quicker.", "Ana commutes by bike", "commute"),
    ("I usually take the bus to work.", "Ana commutes by bus", "commute"),
    ("I get the tube to work now.", "Ana commutes by tube", "commute"),
    ("I've started driving to work since the new job.", "Ana commutes by car", "commute"),
    ("I walk to work most days.", "Ana commutes on foot", "commute"),
    ("Since we moved I have to drive to work.", "Ana commutes by car", "commute"),
    ("Now that we live in town I walk to work.", "Ana commutes on foot", "commute"),
    ("Since my knee surgery I play golf instead.", "Ana plays golf", None),
    ("I'm learning Spanish on Duolingo.", "Ana is learning Spanish", None),
    ("I'm learning Italian at evening classes.", "Ana is learning Italian", None),
    ("I have a tortoise called Shelly.", "Ana has a tortoise called Shelly", None),
    ("We've adopted an old greyhound called Misty.", "Ana has an old greyhound called Misty",
     None),
    ("We adopted two rescue kittens.", "Ana has two rescue kittens", None),
    ("We live in Hackney.", "Ana lives in Hackney", "lives_in"),
    ("I've been learning the cello since March.", "Ana is learning the cello", None),
    ("I go to CrossFit three times a week.", "Ana goes to CrossFit", None),
    ("I usually go to the gym every morning before work.", "Ana goes to the gym", None),
    ("I own a little Nissan Micra.", "Ana owns a little Nissan Micra", None),
    ("I'm a member of PureGym.", "Ana is a member of PureGym", None),
    ("I run about twenty miles a week.", "Ana runs about twenty miles a week", None),
    ("I swim every morning before work.", "Ana swims every morning", None),
    ("I cycle three times a week.", "Ana cycles three times a week", None),
    ("I bank with Barclays, have done since I was a student.", "Ana banks with Barclays", None),
    ("I work night shifts at the hospital.", "Ana works at the hospital", "works_at"),
    ("I switched to Apple Music when the family plan went up.", "Ana uses Apple Music", None),
    ("I'm a nurse.", "Ana works as a nurse", None),
    ("I'm a software engineer at a bank.", "Ana works as a software engineer at a bank", None),
    ("I am an ICU nurse at St Mary's.", "Ana works as an ICU nurse at St Mary's", None),
    ("I'm not a paramedic anymore, I retrained as a plumber.", "Ana works as a plumber", None),
    # a title by its ending, whatever its field; where one is from is no part of it
    ("I'm 44, and I'm a colour technologist, and I'm from Port Michael.",
     "Ana works as a colour technologist", None),
    ("I'm a colour technologist from Port Michael.", "Ana works as a colour technologist",
     None),
    ("I am a teacher from Ohio, nice to meet you!", "Ana works as a teacher", None),
    ("I'm a cardiologist at the Royal Free.", "Ana works as a cardiologist at the Royal Free",
     None),
    ("I'm a freelance videographer.", "Ana works as a freelance videographer", None),
    ("I am a mathematician at Warwick.", "Ana works as a mathematician at Warwick", None),
    ("I'm a locksmith.", "Ana works as a locksmith", None),
    ("I'm a playwright and I teach drama on Mondays.", "Ana works as a playwright", None),
    ("I've been a nurse for ten years.", "Ana works as a nurse", None),
    ("I've been a teacher since 2009.", "Ana works as a teacher", None),
    ("I'm retired now.", "Ana is retired", None),
    # where one is from, the languages one speaks, one the owner names by name
    ("I'm from Port Michael originally.", "Ana is from Port Michael", "from"),
    ("I'm from Leeds, but I live in London now.", "Ana is from Leeds", "from"),
    ("i'm from denver", "Ana is from denver", "from"),
    ("I grew up in Manchester.", "Ana grew up in Manchester", "grew_up"),
    ("I was born in Lagos.", "Ana was born in Lagos", "born_in"),
    ("I speak French and German.", "Ana speaks French and German", None),
    ("I can speak fluent Spanish and a bit of Welsh.",
     "Ana speaks fluent Spanish and a bit of Welsh", None),
    ("I speak English.", "Ana speaks English", None),
    ("My wife's name is Priya.", "Ana's partner is Priya", "partner"),
    ("My dog is called Rex.", "Ana has a dog called Rex", None),
    ("My son is called Leo.", "Ana has a son called Leo", None),
    ("My brother's name is Jake.", "Ana has a brother called Jake", None),
    # what one studies and where, what one is a fan of
    ("I study at NYU, a bit away from home but totally worth it.", "Ana studies at NYU",
     "school"),
    ("I'm a second-year student at Leeds Beckett.", "Ana studies at Leeds Beckett", "school"),
    ("I'm majoring in Psychology.", "Ana majors in Psychology", "major"),
    ("my major is in computer science, I've decided to explore", "Ana majors in computer science",
     "major"),
    ("I study law here in Orlando, it's my third year.", "Ana studies law", "subject"),
    ("I'm a big fan of chamomile tea, especially at night.", "Ana likes chamomile tea", None),
    # what one speaks as, opening a sentence
    ("As a software engineer I spend all day at a desk.", "Ana works as a software engineer",
     None),
    ("As a nurse, I see this a lot.", "Ana works as a nurse", None),
    ("Honestly? As an accountant I dread January.", "Ana works as an accountant", None),
    ("As a statistician, my advice is to plot it first.", "Ana works as a statistician", None),
    ("We moved to Bristol in the spring.", "Ana lives in Bristol", "lives_in"),
    ("I moved to Harrogate over the summer.", "Ana lives in Harrogate", "lives_in"),
    ("I've moved to the Netherlands for good.", "Ana lives in the Netherlands", "lives_in"),
    ("I moved to Lisbon (note 1-2)", "Ana lives in Lisbon (note 1-2)", "lives_in"),
    ("i moved to denver last year", "Ana lives in denver", "lives_in"),
    ("i just moved to new york", "Ana lives in new york", "lives_in"),
]
#: (text, a word no memory may hold): not an activity, a one-off, a plan, not a place
NOT_KEPT_UP = [
    ("I play it safe with money.", "plays"),
    ("I play with my kids after dinner.", "plays"),
    ("I play video games sometimes.", "plays"),
    ("The train was cancelled so I cycled to work today.", "commutes"),
    ("I had to drive to work today because of the rain.", "commutes"),
    ("Should I cycle to work?", "commutes"),
    ("My brother takes the bus to work.", "commutes"),
    ("I go to Paris next week.", "goes"),
    ("I go to bed at ten.", "goes"),
    ("I'm learning a lot at the new job.", "learning"),
    ("I'm learning to cook.", "learning"),
    ("I own up to my mistakes.", "owns"),
    ("I moved to a GP surgery after the hospital.", "lives"),
    ("I moved to the night shift in May.", "lives"),
    ("I moved to part-time work.", "lives"),
    ("i moved to a new team", "lives"),
    ("We live in a world where nobody reads.", "lives"),
    ("we live in interesting times", "lives"),
    ("I have a friend called Sam.", "has"),
    ("We've adopted the APA 7th edition for the thesis.", "has"),
    ("I adopted a new approach to budgeting.", "has"),
    ("I'm a big fan of jazz.", "works"),
    ("When I drive to work I listen to podcasts.", "commutes"),
    ("If we move I will cycle to work.", "commutes"),
    ("I drive to work.", "drives"),
    ("I drive home at six.", "drives"),
    ("I run a small bakery.", "runs"),
    ("I ran ten miles yesterday.", "runs"),
    ("I'm a good cook.", "works"),
    ("I'm a mess today.", "works"),
    ("I'm an aspiring chef.", "works"),
    ("Am I a good teacher?", "works"),
    ("I'm a perfectionist, sadly.", "works"),
    ("I'm an optimist about it.", "works"),
    ("I'm a fan from way back.", "works"),
    ("As a kid, I loved dinosaurs.", "works"),
    ("As a vegetarian, I skip the burgers.", "works"),
    ("Hi! As a parent of two, I never sleep.", "works"),
    ("As a beginner, I struggle with chords.", "works"),
    ("She is a dermatologist.", "works"),
    ("My brother, as a physician, says I should rest.", "works"),
    ("Would I make a good psychologist?", "works"),
    ("I've been a fan for years.", "works"),
    ("I'm from the future.", "from"),
    ("I'm from work, heading home.", "from"),
    ("I'm from a big family.", "from"),
    ("I was born in 1985.", "born"),
    ("I grew up in a small village.", "grew"),
    ("I speak my mind.", "speaks"),
    ("I speak to my mum every day.", "speaks"),
    ("I speak Python fluently.", "speaks"),
    ("I am studying for school.", "studies"),
    ("I study hard at night.", "studies"),
    ("I study at home.", "studies"),
    ("I studied history at Cambridge.", "studies"),
    ("My mom is a great cook.", "works"),
    ("My sister is a nurse.", "works"),
    ("My husband is a secondary school teacher.", "works"),
    ("I'm a fan of both classical like Bach and Mozart.", "likes"),
    ("My dog is called a menace by the neighbours.", "called"),
    ("My boss is called in to every meeting.", "called"),
]


@pytest.mark.parametrize(("text", "memory", "attribute"), KEPT_UP)
def test_an_activity_a_commute_or_a_habit_is_derived(text: str, memory: str,
                                                     attribute: str | None) -> None:
    assert (memory, attribute) in _derive(text)


@pytest.mark.parametrize(("text", "word"), NOT_KEPT_UP)
def test_no_activity_commute_or_home_from_a_passing_mention(text: str, word: str) -> None:
    assert not any(word in m.split() for m, _ in _derive(text))


def test_a_fronted_clause_is_quoted_as_it_was_said() -> None:
    # the rules read "Since we moved, I ..." (a comma put in), but quote the words sent
    at = datetime(2025, 1, 1, tzinfo=UTC)
    ep = Episode(id="ep1", scope=Scope(user_id="u"), role="user", speaker="Ana",
                 text="Lovely weather. Since we moved I have to drive to work. Anyway!",
                 occurred_at=at, created_at=at)
    out = RuleDeriver().derive([ep])
    assert [c.said for c in out if c.attribute == "commute"] == [
        "Since we moved I have to drive to work"]
