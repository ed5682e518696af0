"""What a rule of :mod:`engram.ingest.derive` reads its value as: tests and readers of
the value as written, where the words alone do not say enough.

A rule names a test (``accepts``: is it a person's name, a place one lives, an animal
or a child one adopts?) or a reader (``reads``: the value the memory says, or ``None``:
"tennis every Sunday morning" -> "tennis", "a nurse at St Mary's" -> "a nurse at St
Mary's", "by train" for "the train"). Places, pets, sports, games, instruments and
languages come from the shipped WordNet category table
(:func:`engram.retrieval.expand.table`, read once), with the closed lists below for what
its frequency cut leaves out.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["AS_A_RULE", "a_home", "a_home_by_name", "a_kind_of_home", "a_known_home", "a_name",
           "a_pet", "a_place", "activity", "an_adoptee", "commute", "habit", "job", "languages",
           "learnt", "pastime", "subject_of_study"]


#: capitalised words that are not names
_NOT_NAMES = frozenset({"I", "The", "A", "An", "And", "But", "My", "Our", "He", "She", "They",
                        "We", "You", "It", "This", "That", "Is", "Was", "Who", "Whom"})


def a_name(value: str) -> bool:
    """A person's name as written: one or two capitalised words, none a function word
    ("Tom", "Alex Moreno"; not "someone", "my job", "And")."""
    names = value.split()
    return (0 < len(names) <= 2 and all(w[:1].isupper() for w in names)
            and not any(w in _NOT_NAMES for w in names))


def a_place(value: str) -> bool:
    """A name of a place: capitalised words, the last one a city, country or place
    of the shipped category table ("Denver", "New York", "Porto"; not "Slack",
    "a bigger office"): "we moved to X" also names tools and teams."""
    from ..retrieval.expand import table  # the shipped WordNet table, read once

    names = value.split()
    if not names or len(names) > 3 or not all(w[:1].isupper() for w in names):
        return False
    known = table()
    last = names[-1].lower()
    return any(last in known.get(c, ()) for c in ("city", "country", "place"))



#: a remark in brackets at a value's end
_BRACKETED = re.compile(r"\s*\([^)]*\)?\s*$")
#: lower-case words inside a place's name ("Newcastle upon Tyne", "Isle of Man")
_NAME_JOINS = frozenset({"upon", "on", "of", "de", "la", "le", "del", "am", "sur", "the"})


#: where a lower-case value is not a place: a determiner first, or a word of work
_NOT_A_PLACE = frozenset({"a", "an", "the", "my", "our", "some", "another", "this", "that",
                          "team", "job", "shift", "shifts", "role", "department", "office",
                          "position", "work", "part-time", "full-time", "nights", "days",
                          "weekends", "management", "sales", "marketing", "support"})


def _lower_place(value: str) -> bool:
    """A place written in lower case ("denver", "new york", "san diego"): up to three
    words, none a determiner or a word of work ("a new team", "the night shift")."""
    names = value.split()
    return 0 < len(names) <= 3 and not any(w in _NOT_A_PLACE for w in names)


def a_home(value: str, *, known: bool = False) -> bool:
    """Where one moved: a place of the shipped table (:func:`a_place`), a proper name
    (:func:`_a_proper_place`) or, all in lower case, up to three words that are no
    determiner and no word of work (:func:`_lower_place`: "i moved to new york"); not "a
    GP surgery", "the night shift" or "part-time" ("I moved to a GP surgery" is a job). A
    remark in brackets after it is not read ("Lisbon (for work)"). With ``known`` (for "we
    live in X") a lower-case value must be a place of the table ("we live in denver"; not
    "we live in interesting times")."""
    value = _BRACKETED.sub("", value)
    if a_place(value):
        return True
    if value.islower() and (a_place(value.title()) if known else _lower_place(value)):
        return True
    return _a_proper_place(value)


#: a home in a named place ("a house in Leeds", "a small flat near York")
_HOME_IN = re.compile(r"\s(?:in|near|outside|just outside|on the outskirts of)\s+(?P<place>.+)$",
                      re.IGNORECASE)


def a_home_by_name(value: str) -> bool:
    """Where one lives, named: a place (:func:`a_home`), or a home in one ("a house in
    Leeds", "a studio in Brooklyn"): a new one replaces the old place."""
    if a_home(value):
        return True
    m = _HOME_IN.search(value)
    return m is not None and a_home(m.group("place"))


def a_kind_of_home(value: str) -> bool:
    """Where one lives when no place is named (:func:`a_home_by_name`): the kind of home
    or of place ("a dorm", "a tiny flat above the bakery", "the suburbs")."""
    return not a_home_by_name(value)


def a_known_home(value: str) -> bool:
    """:func:`a_home` with ``known``."""
    return a_home(value, known=True)


def _a_proper_place(value: str) -> bool:
    """A proper name of up to four words ("Harrogate", "the Netherlands", "Newcastle
    upon Tyne")."""
    names = re.sub(r"^the\s+", "", value, flags=re.IGNORECASE).split()
    return (0 < len(names) <= 4 and names[0][:1].isupper() and names[-1][:1].isupper()
            and names[0] not in _NOT_NAMES
            and all(w[:1].isupper() or w in _NAME_JOINS for w in names))


#: words of the table's sport, game and instrument lists that name no activity one plays
_NOT_PLAYED = frozenset({"game", "games", "sport", "sports", "numbers", "stops", "monte",
                         "bolivia", "trump", "bones", "vibes", "scissors", "rum", "jacks",
                         "singles", "doubles", "hardball", "spar", "kip", "upstart"})


@cache
def _table_words(*categories: str) -> frozenset[str]:
    """The instances of these categories in the shipped WordNet table (read once)."""
    from ..retrieval.expand import table

    known = table()
    return frozenset(w for c in categories for w in known.get(c, ()))


@cache
def _activities() -> frozenset[str]:
    """What one plays or does: the table's sports, games and instruments, and pastimes."""
    return (_table_words("sport", "game", "instrument") - _NOT_PLAYED) | _PASTIMES


@cache
def _adoptee_words() -> frozenset[str]:
    """Who is adopted: the table's pets, animals, dogs and cats, and this module's."""
    return _table_words("pet", "animal", "dog", "cat") | _PETS | _ADOPTEES


@cache
def _pet_words() -> frozenset[str]:
    """A kind of pet one names: the table's pets and animals, and this module's."""
    return ((_table_words("pet", "animal") | _PETS)
            - {"tom", "humans", "mankind", "male", "female", "adult", "giant", "queen"})


@cache
def _language_words() -> frozenset[str]:
    """A language one learns: the table's and the widely learnt ones it leaves out."""
    return _table_words("language") | _LANGUAGES


#: pets kept at home that the table's frequency cut leaves out
_PETS = frozenset({"tortoise", "gerbil", "chinchilla", "axolotl", "cockatiel", "canary",
                   "budgie", "parakeet", "hedgehog", "degu", "gecko", "iguana", "guinea"})


#: who is adopted beyond the table's animals: a child, a rescue, breeds it leaves out
_ADOPTEES = frozenset({"baby", "boy", "girl", "son", "daughter", "child", "kid", "rescue",
                       "labrador", "lab", "husky", "cockapoo", "cavapoo", "dog", "cat", "pet",
                       "kitty", "moggy", "mutt", "stray", "foal", "lamb"})


def an_adoptee(value: str) -> bool:
    """An animal or a child among a value's first four words ("a corgi called Biscuit",
    "two rescue kittens", "a baby girl"); not "the APA 7th edition", "a new approach"."""
    kinds = _adoptee_words()
    return any(w in kinds or w.removesuffix("s") in kinds
               for w in (x.lower() for x in value.split()[:4]))


def a_pet(value: str) -> str | None:
    """A named animal of the shipped table's pets and animals ("a tortoise called Shelly"),
    or ``None`` ("a friend called Sam", "a car called Betsy")."""
    ws = value.split()
    kinds = _pet_words()
    return value if len(ws) >= 2 and ws[1].lower() in kinds else None


#: gerunds one does or goes to as a pastime, beyond the table's ("climbing", "yoga")
_PASTIMES = frozenset({"climbing", "bouldering", "yoga", "pilates", "hiking", "running",
                       "swimming", "cycling", "surfing", "skiing", "rowing", "boxing",
                       "dancing", "painting", "pottery", "knitting", "gardening", "kayaking",
                       "sailing", "fishing", "photography", "baking", "skating", "jogging",
                       "crossfit", "karate", "judo", "taekwondo", "weightlifting", "birdwatching"})


def activity(value: str) -> str | None:
    """The activity a value names at its start ("tennis every Sunday" -> "tennis",
    "the violin in a band" -> "the violin"), or ``None`` ("it safe", "with my kids",
    "video games")."""
    ws = value.split()
    the = bool(ws) and ws[0].lower() == "the"
    ws = ws[1:] if the else ws
    if not ws:
        return None
    known = _activities()
    # the activity, or one word before it ("five-a-side football", "table tennis")
    for word in (w.lower() for w in ws[:2]):
        if word in known or word.removesuffix("s") in known:  # "the drums"
            return ("the " if the else "") + word
    return None


def pastime(value: str) -> str | None:
    """:func:`activity`, for what one does or has taken up ("climbing", "yoga")."""
    found = activity(value)
    return found.removeprefix("the ") if found else None


#: widely learnt languages the shipped table's "language" list leaves out (WordNet's
#: most frequent hyponyms: it has "french" and "welsh", not "italian" or "japanese")
_LANGUAGES = frozenset({
    "english", "chinese", "mandarin", "cantonese", "japanese", "korean", "russian", "italian",
    "dutch", "swedish", "danish", "greek", "turkish", "polish", "hungarian", "swahili", "urdu",
    "bengali", "punjabi", "tagalog", "icelandic", "irish", "gaelic", "croatian", "serbian",
    "slovak", "slovenian", "lithuanian", "latvian", "estonian", "farsi", "amharic", "yoruba",
    "zulu", "afrikaans", "esperanto", "sign", "bsl", "asl"})


def learnt(value: str) -> str | None:
    """What one is learning, at a value's start: a language ("Spanish on Duolingo" ->
    "Spanish") or an instrument ("the cello" -> "the cello"); else ``None`` ("a lot",
    "to cook")."""
    ws = value.split()
    if ws and ws[0][:1].isupper() and ws[0].lower() in _language_words():
        return ws[0]
    found = activity(value)
    word = found.removeprefix("the ") if found else ""
    instruments = _table_words("instrument")
    return found if word in instruments or word.removesuffix("s") in instruments else None


#: how often: a place one goes to this often is a habit ("three times a week", "every
#: Monday", "on Sundays"), not a plan ("I go to Paris next week")
_OFTEN = re.compile(
    r"\s+(?:(?:once|twice|\w+ times) a (?:week|month|day)|every (?:day|week|morning|evening|"
    r"night|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday|other day)|"
    r"on (?:mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays|weekends)|"
    r"most (?:days|mornings|evenings|weekends))\b.*$", re.IGNORECASE)


def habit(value: str) -> str | None:
    """The place of a habit, told with how often ("CrossFit three times a week" ->
    "CrossFit", "the gym every morning" -> "the gym"); ``None`` without it."""
    place = _OFTEN.sub("", value)
    return place.strip() if place != value and len(place.split()) <= 4 else None


#: the last word of an occupation ("a nurse", "a software engineer", "an ICU nurse"); a
#: closed class of everyday job titles, not the table's (its "job" list holds "man",
#: "sport" and "batman")
_JOBS = frozenset("""
nurse teacher doctor gp engineer developer programmer designer accountant bookkeeper lawyer
solicitor barrister paralegal paramedic firefighter officer detective chef cook baker waiter
waitress barista bartender cashier manager analyst consultant architect electrician plumber
carpenter joiner mechanic pharmacist dentist hygienist vet veterinarian surgeon physician
physio physiotherapist therapist counsellor counselor psychologist psychiatrist scientist
researcher professor lecturer tutor librarian journalist reporter editor copywriter
photographer illustrator animator musician pilot midwife receptionist secretary clerk
technician nanny cleaner carer caregiver hairdresser barber stylist realtor recruiter
entrepreneur freelancer contractor farmer builder soldier translator interpreter dietitian
nutritionist optician optometrist radiographer banker broker economist statistician
actuary auditor coach trainer instructor firefighter postman postwoman courier surveyor
underwriter pharmacologist biologist chemist physicist geologist zookeeper gardener
landscaper welder machinist pharmacist sonographer chiropractor osteopath podcaster
""".split())
#: endings that name an occupation whatever its field ("a colour technologist", "a
#: cardiologist", "a statistician", "a videographer", "a locksmith", "a playwright"); not
#: "-ist" alone ("a perfectionist", "an optimist")
_JOB_ENDINGS = ("ologist", "ician", "grapher", "smith", "wright")
#: where an occupation's place starts ("a nurse at St Mary's")
_WHERE = re.compile(r" (?:at|for|with|in) ")
#: words before a job title that judge rather than name it ("a good cook", "a big fan")
_JUDGED = frozenset({"good", "bad", "great", "terrible", "awful", "decent", "better", "worse",
                     "best", "worst", "big", "huge", "lousy", "amazing", "natural",
                     "born", "proper", "real", "wannabe", "aspiring", "future", "former", "ex"})


def subject_of_study(value: str) -> str | None:
    """A field of study as written ("Psychology", "computer science", "business finance"),
    without a name said to someone after it in lower case ("business finance Kevin"), or
    ``None`` for a word that is no field ("my major is a mess")."""
    ws = value.split()
    if len(ws) > 1 and ws[-1][:1].isupper() and ws[-2][:1].islower():
        ws = ws[:-1]
    if not ws or ws[0].lower() in ("a", "an", "the", "my", "so", "still", "not"):
        return None
    return " ".join(ws)


def languages(value: str) -> str | None:
    """Languages one speaks as written ("French and German", "fluent Spanish", "a little
    Welsh"), or ``None`` when a word is neither a language of the shipped table nor a
    word joining or grading them ("I speak my mind", "I speak to my mum daily")."""
    known = _known_languages()
    ws = [w.strip(",").lower() for w in value.split()]
    said = [w for w in ws if w in known]
    return value if said and all(w in known or w in _GRADES for w in ws) else None


@cache
def _known_languages() -> frozenset[str]:
    """The shipped table's languages and :data:`_LANGUAGES` (read once)."""
    from ..retrieval.expand import table  # the shipped WordNet table, read once

    return frozenset(table().get("language", ())) | _LANGUAGES


#: widely spoken languages the shipped table (its most frequent WordNet words) leaves out
_LANGUAGES = frozenset("""
english italian japanese mandarin chinese cantonese dutch polish russian korean greek
turkish irish gaelic punjabi bengali tamil telugu marathi gujarati ukrainian romanian
czech hungarian swedish norwegian danish finnish hebrew persian farsi thai vietnamese
indonesian malay tagalog filipino yoruba igbo hausa zulu xhosa amharic somali catalan
basque croatian serbian bulgarian slovak slovenian lithuanian latvian estonian icelandic
""".split())
#: words that join or grade the languages one speaks ("fluent French and a bit of Welsh")
_GRADES = frozenset({"and", "or", "a", "little", "bit", "of", "some", "fluent", "basic",
                     "conversational", "decent", "good", "native", "also", "both"})


def job(value: str) -> str | None:
    """An occupation as written, with where ("a software engineer at a bank", "an ICU
    nurse", "a colour technologist": a title in :data:`_JOBS` or with an ending of
    :data:`_JOB_ENDINGS`), or ``None`` ("a good cook", "a big fan", "a mess", "an aspiring
    chef", "a perfectionist")."""
    ws = _WHERE.split(value, maxsplit=1)[0].split()
    if not 2 <= len(ws) <= 4 or ws[0].lower() not in ("a", "an"):
        return None
    title = ws[-1].lower()
    named = title in _JOBS or (len(title) >= 7 and title.endswith(_JOB_ENDINGS))
    if not named or any(w.lower() in _JUDGED for w in ws):
        return None
    return value


#: what makes a way to work a rule, not a one-off ("I now cycle", "I have to drive", "I've
#: started taking the bus"; not "I cycled to work today")
AS_A_RULE = (r"(?: now| usually| normally| mostly| still| have to| need to|'ve started"
              r"| have started| started|'ve been| have been)")
#: how one gets to work, by the word that says it
_COMMUTE = {"train": "by train", "trains": "by train", "bus": "by bus", "buses": "by bus",
            "tube": "by tube", "subway": "by subway", "metro": "by metro", "tram": "by tram",
            "ferry": "by ferry", "car": "by car", "bike": "by bike", "bicycle": "by bike",
            "scooter": "by scooter", "motorbike": "by motorbike", "motorcycle": "by motorbike",
            "cycle": "by bike", "cycling": "by bike", "biking": "by bike",
            "drive": "by car", "driving": "by car", "walk": "on foot", "walking": "on foot",
            "foot": "on foot", "run": "on foot", "running": "on foot", "carpool": "by car"}


def commute(value: str) -> str | None:
    """How a statement says one gets to work ("the train" -> "by train", "cycling" ->
    "by bike"), or ``None``."""
    ws = re.sub(r"^(?:the|a|my|by|on)\s+", "", value.strip(), flags=re.IGNORECASE).split()
    return _COMMUTE.get(ws[0].lower()) if ws else None
