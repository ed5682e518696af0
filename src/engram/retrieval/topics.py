"""Topic prototypes: a dense query that also says what its category sounds like.

A broad question names a category ("What are Emi's hobbies?") and the turns
that answer it name instances in words the question never uses ("my first
Pilates class"). The query's vector and such a turn's are far apart; the
category's *turns* are closer to it than the category's *name*. Each topic of
:data:`TOPICS` (general life categories, written from general knowledge, not
from any data set) has a name side (the category in words, what a question
says) and a turn side (a few example chat turns about it). :func:`expanded`
moves the query's vector towards the turn side of the topic whose name side it
is closest to::

    q' = q / |q| + weight * mean(turn vectors of the topic)    (then unit length)

so the dense signal ranks turns that sound like the category higher. Only a
broad query moves (:func:`broad`: at most :data:`BROAD_TERMS` index terms
besides the names it holds, "What are Emi's hobbies?"): a longer one carries
its own anchors ("What kind of pasta did Kate make on 29 Dec 2023?", BEAM's
long requests), and moving it towards a generic topic loses them.

The topic vectors are computed with the search's own embedder on first use
(about 140 short texts in one batch; nothing is downloaded or read at import)
and kept per ``model_id``: vectors of two models are never compared.
"""

from __future__ import annotations

import threading

import numpy as np

from ..embed.base import Embedder
from ..index.lexical import tokens
from ..recall import query_names

__all__ = ["BROAD_TERMS", "TOPICS", "broad", "expanded", "topic_of", "topic_vectors", "unit"]

#: a query of at most this many index terms besides its names is broad
BROAD_TERMS = 4

#: name -> (what a question names: the category in words, what a chat turn about it
#: sounds like: a few example turns), written from general knowledge
TOPICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "hobby": (
        "hobbies, free time, fun, pastimes, interests, leisure activities",
        (
            'In my spare time I like to do something creative.',
            "I picked up a new hobby last month and I'm hooked.",
            'On weekends I unwind with something I enjoy doing just for fun.',
            "I've been spending my evenings on a little side passion.",
        ),
    ),
    "sport": (
        "sports, exercise, fitness, working out, training, athletics",
        (
            'I went for a long run this morning before work.',
            'Our team won the match last night!',
            "I've been going to the gym three times a week.",
            'I took my first yoga class and my legs are sore.',
            'We played tennis at the park all afternoon.',
        ),
    ),
    "pet": (
        "pets, animals, dog, cat",
        (
            'My dog loves chasing the ball at the park.',
            'We adopted a kitten from the shelter.',
            'I have to take the puppy to the vet tomorrow.',
            'Feeding the fish and walking the dog are my morning chores.',
        ),
    ),
    "food": (
        "food, cooking, diet, eating, meals, recipes, restaurants",
        (
            'I tried a new recipe for dinner and it turned out delicious.',
            'We went to a great little restaurant downtown.',
            "I've cut out sugar and I'm eating more vegetables.",
            'I baked bread from scratch this weekend.',
            'Brunch with friends is my favorite.',
        ),
    ),
    "drink": (
        "drinks, coffee, tea, beverages",
        (
            "I can't start my day without a cup of coffee.",
            'A warm mug of tea before bed helps me relax.',
            'We had a glass of wine with dinner.',
        ),
    ),
    "work": (
        "job, work, career, occupation, profession, employer, office",
        (
            'Work has been hectic with a big deadline this week.',
            'My boss asked me to lead the new project.',
            'I started a new position at a marketing firm.',
            "I had a long shift today and I'm exhausted.",
            "I'm thinking about asking for a promotion.",
        ),
    ),
    "study": (
        "school, study, education, college, university, classes, degree, exams",
        (
            "I have finals next week so I'm studying every night.",
            'My professor gave us a huge assignment.',
            "I'm majoring in biology at the university.",
            'I just finished my thesis and graduation is next month.',
        ),
    ),
    "health": (
        "health, illness, sickness, injury, medical, doctor, symptoms",
        (
            "I've had a bad cold and a fever all week.",
            'I sprained my ankle and have to rest it.',
            'The doctor prescribed some medicine for my allergies.',
            "I'm feeling under the weather today.",
            'I finally recovered from the flu.',
        ),
    ),
    "sleep": (
        "sleep, rest, tiredness, insomnia",
        (
            "I couldn't fall asleep until three in the morning.",
            'A nap in the afternoon helps me recharge.',
            "I've been so tired lately, I need more rest.",
        ),
    ),
    "family": (
        "family, parents, children, kids, siblings, relatives",
        (
            'My mom called to check on me today.',
            'I spent the afternoon playing with my kids.',
            'My brother is visiting us next weekend.',
            "We had a big family dinner at my grandparents' house.",
        ),
    ),
    "friends": (
        "friends, friendship, social life, hanging out",
        (
            'I caught up with an old friend over coffee.',
            'My friends and I had a game night.',
            "We've been best friends since high school.",
        ),
    ),
    "romance": (
        "relationship, partner, dating, boyfriend, girlfriend, spouse, marriage, wedding",
        (
            'My partner surprised me with flowers.',
            'We celebrated our anniversary at a fancy dinner.',
            'I went on a first date last night.',
            "We're getting married next summer.",
        ),
    ),
    "travel": (
        "travel, trips, vacation, holidays abroad, places visited, destinations, cities, countries",
        (
            'We just got back from a week at the beach.',
            "I'm planning a trip to Europe next spring.",
            'The flight was delayed but the city was worth it.',
            "I've visited so many countries, my favorite is still Italy.",
            'We went sightseeing all day and saw the old town.',
        ),
    ),
    "home": (
        "home, house, apartment, moving, neighborhood, living situation",
        (
            'We finally moved into our new apartment.',
            "I've been redecorating the living room.",
            'Our neighborhood is quiet and close to the park.',
            "We're renovating the kitchen this month.",
        ),
    ),
    "music": (
        "music, songs, bands, concerts, instruments, singing",
        (
            "I've been practicing guitar every evening.",
            'We went to a concert and the band was amazing.',
            'I have this song stuck in my head all day.',
            'I sing in a choir on Thursdays.',
        ),
    ),
    "art": (
        "art, painting, drawing, crafts, museums, creativity",
        (
            'I finished a new painting this weekend.',
            'We went to the art museum to see the new exhibit.',
            "I've been sketching portraits in my notebook.",
            'I love making pottery and knitting scarves.',
        ),
    ),
    "reading": (
        "books, reading, novels, authors, literature",
        (
            'I just finished a great novel last night.',
            "I'm reading a book about the history of science.",
            'My book club meets every month.',
            "I can't put this mystery down.",
        ),
    ),
    "screen": (
        "movies, films, TV shows, series, video games, streaming",
        (
            'We watched a movie at the cinema last night.',
            "I've been binge-watching a new series.",
            'I stayed up late playing video games.',
            'That documentary was really interesting.',
        ),
    ),
    "outdoors": (
        "nature, outdoors, hiking, camping, parks, gardens, beach",
        (
            'We hiked up the mountain and the view was breathtaking.',
            'We went camping by the lake this weekend.',
            'I spent the morning in my garden planting flowers.',
            'A walk in the park clears my head.',
        ),
    ),
    "money": (
        "money, finances, budget, shopping, purchases, savings, spending, expenses",
        (
            "I've been saving up to buy a new laptop.",
            'I spent way too much on shopping this weekend.',
            "Rent went up again so I'm sticking to a budget.",
            'I finally bought the jacket I wanted.',
        ),
    ),
    "vehicle": (
        "car, vehicle, driving, bike, commute, transportation",
        (
            'My car broke down on the highway.',
            'I bike to work most days.',
            'I just bought a used truck.',
            'The commute on the train takes an hour.',
        ),
    ),
    "feelings": (
        "feelings, emotions, mood, stress, anxiety, happiness, mental health",
        (
            "I've been feeling really stressed lately.",
            "Today I'm just so happy and grateful.",
            'I get anxious before big presentations.',
            'Talking to someone helped me feel better.',
        ),
    ),
    "plans": (
        "plans, goals, dreams, ambitions, future, wishes",
        (
            'Someday I want to open my own bakery.',
            'My goal this year is to run a marathon.',
            "I'm hoping to move abroad in a few years.",
            "I've always dreamed of writing a book.",
        ),
    ),
    "celebration": (
        "celebrations, holidays, parties, birthdays, festivals, New Year, Christmas",
        (
            'We threw a surprise birthday party for her.',
            'We spent Christmas with the whole family.',
            "We watched the fireworks on New Year's Eve.",
            'The festival downtown was so much fun.',
        ),
    ),
    "beliefs": (
        "beliefs, religion, faith, values, politics, causes, volunteering, community",
        (
            'I volunteer at the food bank on Saturdays.',
            'Faith has always been important to me.',
            'I care a lot about protecting the environment.',
            'We organized a charity drive in our community.',
        ),
    ),
    "tech": (
        "technology, computers, phones, apps, software, gadgets, internet",
        (
            "I got a new phone and I'm still setting it up.",
            "I've been learning to code in my free time.",
            'The app keeps crashing on my laptop.',
        ),
    ),
    "appearance": (
        "clothes, fashion, style, appearance, hair, makeup",
        (
            'I got a haircut and I love it.',
            'I bought a new dress for the party.',
            'I like a simple, casual style.',
        ),
    ),
    "weather": (
        "weather, seasons, temperature, rain, snow",
        (
            "It's been raining all week.",
            'The snow finally melted.',
            "It's so hot today I can barely go outside.",
        ),
    ),
}

_lock = threading.Lock()
#: model_id -> (name-side vectors, turn-side centroids), rows in :data:`TOPICS` order
_vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def unit(m: np.ndarray) -> np.ndarray:
    """``m`` (a vector, or vectors in rows) scaled to unit length; a zero row stays zero."""
    norm = np.linalg.norm(m, axis=-1, keepdims=True)
    out: np.ndarray = m / np.where(norm > 0, norm, 1.0)
    return out


def broad(query: str) -> bool:
    """Whether ``query`` holds at most :data:`BROAD_TERMS` index terms besides the
    names it holds ("What are Emi's hobbies?": ``hobbi``; "What kind of pasta
    did Kate make on 29 Dec 2023?": six)."""
    names = {t for n in query_names(query) for t in tokens(n)}
    return len(set(tokens(query)) - names) <= BROAD_TERMS


def topic_vectors(embedder: Embedder) -> tuple[np.ndarray, np.ndarray]:
    """``(names, turns)``: per topic of :data:`TOPICS` (in order) the unit vector of
    its name side (embedded as a query) and the unit centroid of its example turns
    (embedded as documents), both by ``embedder``; computed once per ``model_id``."""
    key = embedder.model_id
    with _lock:
        found = _vectors.get(key)
    if found is not None:
        return found
    topics = list(TOPICS.values())
    names = unit(np.asarray(embedder.embed([n for n, _ in topics], "query"), dtype=np.float64))
    sents = [s for _, ss in topics for s in ss]
    vecs = unit(np.asarray(embedder.embed(sents, "document"), dtype=np.float64))
    turns, at = [], 0
    for _, ss in topics:
        turns.append(vecs[at: at + len(ss)].mean(axis=0))
        at += len(ss)
    out = (names, unit(np.stack(turns)))
    with _lock:
        _vectors[key] = out
    return out


def topic_of(vector: np.ndarray, embedder: Embedder) -> str:
    """The name of the topic whose name side is closest to the query ``vector``."""
    names, _ = topic_vectors(embedder)
    return list(TOPICS)[int(np.argmax(names @ unit(np.asarray(vector, dtype=np.float64))))]


def expanded(vector: np.ndarray, embedder: Embedder, weight: float) -> np.ndarray:
    """The query ``vector`` moved ``weight`` towards the turns of its closest topic,
    unit length, in ``vector``'s dtype (``weight`` 0: ``vector`` itself)."""
    if weight <= 0:
        return vector
    names, turns = topic_vectors(embedder)
    q = unit(np.asarray(vector, dtype=np.float64))
    moved = unit(q + weight * turns[int(np.argmax(names @ q))])
    return moved.astype(np.asarray(vector).dtype, copy=False)
