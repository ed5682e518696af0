"""What a question asks for, read from its words: a current value, the time of
something planned, an earlier state or an earlier time (:mod:`engram.retrieval.updates`
orders knowledge updates by it; moved from there, behaviour unchanged)."""

from __future__ import annotations

import re
from datetime import datetime

from ..ingest.supersede import tells_event

__all__ = ["PAST", "anchor_terms", "asks_current", "asks_earlier_state", "asks_past",
           "asks_schedule", "asks_several", "asks_when_done", "earlier_range",
           "marks_earlier_state"]

#: a question about the past (an earlier time or an earlier state)
PAST = re.compile(
    r"\b(?:before|used to|did(?: \w+){1,3} use to|previous(?:ly)?|formerly|former|"
    r"originally|original|initially|at first|earlier|prior|back (?:in|when|then)|(?<!how )old|"
    r"(?:in|during|since|until) (?:19|20)\d\d|last year|years? ago|history|ever)\b",
    re.IGNORECASE,
)


#: a question in the present tense asks for a current value ("What pet does the
#: user have?"); one in the past tense or asking "when" asks about an event
_PRESENT_TENSE = re.compile(r"\b(?:is|are|am|does|do|has|have|must|now|currently|still|"
                            r"nowadays|these days|latest|at the moment)\b", re.IGNORECASE)
#: ("How long is the ride?" asks a current length, "How long have you lived
#: there?" a duration)
_EVENT = re.compile(r"\b(?:did|was|were|had|how long(?!\s+(?:is|are|does|do)\b))\b"
                    r"|^\W*(?:(?:and|so|but)\s+)?when\b", re.IGNORECASE)
#: "when" inside a question, and the clause it opens (up to a comma or the end): "Where
#: does the user's cat stay when they go away?" asks a habit, a current value; "How many
#: days passed between when I obtained ... and ...?" asks about events (:func:`_habitual`)
_WHEN_CLAUSE = re.compile(r"\bwhen\b([^,;?]*)", re.IGNORECASE)
_PAST_TENSE_EVENT = re.compile(r"\b(?:did|was|were|had)\b", re.IGNORECASE)
#: "What's ...?", and a question word followed by a verb in the present tense
#: ("Who provides their internet?", "What grows in the bed?")
_PRESENT_VERB = re.compile(r"^\W*(?:(?:what|who|where|which|how)['’]s\b|"
                           r"who\s+(?!was\b|has\b)[a-z]+[^\Ws']s\b|"
                           # "What powers the search box?", "What bundles the code?"
                           # (not "What platforms my podcast uses?": a plural noun)
                           r"(?:what|which)\s+(?!was\b|has\b|is\b)[a-z]+[^\Ws']s\s+"
                           r"(?:the|a|an|this|that)\b)",
                           re.IGNORECASE)


def asks_current(query: str) -> bool:
    """Whether a question asks for a current value: present tense or a present
    marker ("What's ...?", "Who provides ...?" too), and not about an event
    ("did", "was", "when"). Counting "should",
    "will", "when is" or questions with no marker at all as current was
    measured and left out: one more BEAM update right (of 19) for 1.8 points of
    REALTALK MRR and 1.5 of BEAM's; "when is/are/will" alone: no BEAM update
    more, -0.9 BEAM MRR. Session 37: a verb in the present after the subject of a
    question on the owner's own things (:func:`_owns_present`), and what the owner chose
    ("Which caterer did we go with?", :data:`_CHOSEN`), ask for the value that holds;
    session 46: so does a question for the newest of its kind in any tense ("What score
    did I achieve most recently?", :data:`_RECENT`), unless it names an earlier time."""
    if ((_CHOSEN.search(query) is not None and _WHEN_WHERE.match(query) is None)
            or _CAN_NOW.match(query) is not None
            or (_RECENT.search(query) is not None and PAST.search(query) is None)):
        return True
    return ((_PRESENT_TENSE.search(query) is not None or _PRESENT_VERB.search(query) is not None
             or _owns_present(query))
            and _EVENT.search(query) is None and _habitual(query))


#: a question for the newest of its kind, whatever its tense ("What score did I get most
#: recently?", "When was the last time I saw her?", "Who wrote the latest report?")
_RECENT = re.compile(r"\b(?:most\s+recent(?:ly)?|latest|newest|lately|up[- ]to[- ]date|"
                     r"(?:the\s+)?last\s+time)\b", re.IGNORECASE)
#: what the owner chose ("Which caterer did we go with?", "Which paint colour did we
#: pick?", "What did I settle on?"): the choice that holds, the last one made
_CHOSEN = re.compile(
    r"\b(?:did|have|has)\s+(?:i|we|the user)\s+(?:"
    r"(?:go|gone)\s+with(?=\s*(?:\?|$|for\b|in\s+the\s+end))|"
    r"decided?\s+on|settled?\s+on|opt(?:ed)?\s+for|pick(?:ed)?|cho(?:o)?se|chosen|"
    r"select(?:ed)?|end(?:ed)?\s+up\s+(?:with|choosing|picking|going))\b",
    re.IGNORECASE)


#: how far what the owner can do reaches ("How fast can I swim 400 metres?", "How long
#: can the user's company keep going?"): a value held now; not "How can I ...?", which
#: asks for a way
_CAN_NOW = re.compile(
    r"\W*how\s+(?:fast|far|long|much|many|high|heavy|quickly|well|often|big|low)\b"
    r"(?:\s+[\w'’-]+){0,3}?\s+can\s+(?:i|we|the\s+user|my|our)\b"
    # how much a thing of the owner's holds or takes at once ("How many cards can sit in
    # the doing column of our board at once?", "How many guests can our flat sleep?")
    r"|\W*how\s+(?:many|much)\b(?:\s+[\w'’-]+){0,3}?\s+can\s+[\w'’-]+\b"
    r"(?=.*\b(?:my|our|the\s+user['’]s)\b)", re.IGNORECASE)
#: the owner's own things ("my podcast", "our pipeline", "the user's payments")
_OWNER = re.compile(r"\b(?:my|our|the user['’]s)\b", re.IGNORECASE)
#: a question word, a noun and a verb in the present tense ("Which platform hosts ...",
#: "What tool schedules ...")
_SUBJECT_VERB = re.compile(r"^\W*(?:what|which)\s+(?:\w+\s+){1,2}?"
                           # "What share of my salary goes ...", "Which part of the
                           # garden gets ..."
                           r"(?:of\s+(?:my|our|the|his|her|their|the user['’]s)\s+\w+\s+)?"
                           r"(?!does\b)\w+[^\Ws]s\b",
                           re.IGNORECASE)
#: a question for the time or the place of a choice, not the choice ("When did we pick
#: the venue?")
_WHEN_WHERE = re.compile(r"\W*(?:(?:and|so|but)\s+)?(?:when|where)\b", re.IGNORECASE)


def _owns_present(query: str) -> bool:
    """A question on the owner's own things with a verb in the present tense after its
    subject ("Which company processes the user's payments?"); not a past one."""
    return (_OWNER.search(query) is not None and _SUBJECT_VERB.search(query) is not None
            and not tells_event(query))


def _habitual(query: str) -> bool:
    """Whether every "when" inside ``query`` opens a clause that tells no event: "when
    they go away", "when a migraine starts" say when a habit holds; "when I obtained my
    key", "when she's tired" (a participle after "'s" reads as "has") do not (session 36:
    a "when" anywhere made a question ask about an event)."""
    return not any(tells_event(m.group(1)) or not m.group(1).strip()
                   for m in _WHEN_CLAUSE.finditer(query))


#: "When is ...?", "When does ...?", "What time should I ...?": the time of
#: something planned, which a stated change of its time moves (:data:`_MOVED`)
_SCHEDULE = re.compile(r"^\W*(?:when|what time)\s+(?:is|are|am|does|do|should|will)\b",
                       re.IGNORECASE)
#: a planned time moved ("rescheduled to", "pushed the wedding back", "brought it
#: forward", "postponed", "delayed", "extended the deadline", "moved to Thursdays",
#: "changed it to the 25th", "from now on": session 33, dev case sets +1, every
#: development data set unchanged, session 31's held case set +1); any other marker of
#: change ("now", "new", "started") in a chat turn does not answer "When ...?"
#: (read as one, it cost BEAM .006 and REALTALK .003 of MRR on the development sets)
_MOVED = re.compile(
    r"\b(?:reschedul\w*|postpon\w*|delay(?:ed|ing)?|extend(?:ed|ing)|"
    r"(?:push(?:ed|ing)?|brought|bring(?:ing)?|mov(?:ed|ing))(?: \w+){0,3} (?:back|forward)|"
    r"from now on|(?:mov|chang|switch)(?:ed|ing)(?: \w+){0,3} to)\b"
    # a time told as the one now ("my LASIK is now 5 December", "it's now on the 14th")
    r"|\b(?:is|are|['’]s) now (?:on |at |for |in )?(?:the )?(?:\d|(?:mon|tues|wednes|thurs|"
    r"fri|satur|sun)day\b|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b)",
    re.IGNORECASE)


def asks_schedule(query: str) -> bool:
    """Whether a question asks when something planned happens ("When is the
    wedding?", "When does the lease end?", "What time should I join the call?",
    "When will the movers come?"): a stated change or a correction
    replaces the older time; an event or a second answer alone does not (a
    "When ...?" question read as current cost chat MRR, session 8)."""
    return _SCHEDULE.search(query) is not None and _PAST_TENSE_EVENT.search(query) is None


#: "What sports does ...?", "Which cities has ...?", "What board games has ...?", "What
#: kinds of books do ...?" (a plural noun in lower case, up to two words after the
#: question word, then a verb: "What does Chris do?" names no plural), "What are Kate's
#: hobbies?", "What are the names of Audrey's dogs?"
_SEVERAL = re.compile(
    r"^\W*(?:(?i:what)\s+(?i:are)\s+(?:the\s+)?(?:[a-z]+\s+of\s+)?[A-Za-z]+['’]s?\s+"
    r"(?P<owned>[a-z]+s)\b"
    r"|(?i:what)\s+(?i:are)\s+the\s+(?P<the>[a-z]+s)\s+(?:of|that|which|who)\b"
    r"|(?i:what|which)\s+(?:(?:kinds?|types?|sorts?)\s+of\s+)?(?:[A-Za-z]+\s+){0,2}?"
    r"(?P<noun>[a-z]+s)\s+(?:do|does|did|has|have|had|are|were|can|could|will|would)\b)")
#: words ending in "s" that are no plural noun
_NOT_PLURAL = frozenset({"is", "was", "does", "has", "this", "his", "its", "status", "focus",
                         "process", "business", "series", "news", "bus", "analysis",
                         "basis", "campus", "bonus", "virus", "always", "perhaps", "plus",
                         "class", "address", "progress", "success", "stress", "access"})
#: a plural that names one thing worn or used ("What running shoes does the user wear?")
_ONE_PAIR = frozenset({"shoes", "trainers", "sneakers", "boots", "glasses", "sunglasses",
                       "goggles", "lenses", "contacts", "jeans", "trousers", "pants",
                       "shorts", "leggings", "tights", "pyjamas", "headphones", "earbuds",
                       "earphones", "braces", "scissors", "binoculars"})


def asks_several(query: str) -> bool:
    """Whether a question asks for several values ("What sports does Kevin play?",
    "Which cities has Jon visited?", "What are Kate's hobbies?"): every value told
    answers it, so none told later replaces one told before by coming later alone."""
    m = _SEVERAL.search(query)
    if m is None:
        return False
    noun = (m.group("owned") or m.group("the") or m.group("noun")).lower()
    return (len(noun) > 3 and not noun.endswith("ss") and noun not in _NOT_PLURAL
            and noun not in _ONE_PAIR)


#: "When did ...?", "When was ...?": the time of something that happened
_WHEN_DONE = re.compile(r"^\W*when\s+(?:did|was|were|had)\b", re.IGNORECASE)


def asks_when_done(query: str) -> bool:
    """Whether a question asks when something happened ("When did Jon lose his job?",
    "When was the party?"): its answer is an event's telling, which a later turn on the
    same event, close to it in meaning, does not tell again with another value."""
    return _WHEN_DONE.search(query) is not None


#: "before" and what comes next ("How many approvals does a PR need before merging?",
#: "What do I take before bed?"): a condition, not an earlier time, in a question with no
#: verb in the past tense, and not before a name, a date or a clause ("Have I been to
#: Paris before?", "the puppy she got two weeks before August 11", "before he adopted
#: Toby" ask about the past)
_BEFORE_DOING = re.compile(
    r"\b(?i:before)\s+(?!(?:that|then|this|these|those|now|the|a|an|my|his|her|our|their|its|"
    r"your|i|he|she|we|they|you|it)\b)[a-z]+\b")


def asks_past(query: str) -> bool:
    """Whether a question asks about an earlier state ("What car did I drive before?");
    not a question in the present tense whose "before" opens what comes next ("How
    many approvals does a pull request need before merging?", "What do I take before
    bed?"). A question in the past tense asks about an earlier state too when it names
    the time by what happened then or by a period of life (:func:`_then`: "What phone
    did I have when I started this job?", "Where did I live in college?")."""
    read = query if _PAST_TENSE_EVENT.search(query) else _BEFORE_DOING.sub(" ", query)
    return PAST.search(read) is not None or _then(query)


#: a period of one's life ("in college", "in my twenties", "as a kid", "growing up"; not
#: "at school" alone, which is as often today's school day)
_LIFE_PERIOD = re.compile(
    r"\b(?:in|at|during|through(?:out)?)\s+(?:(?:my|his|her|our|their|your)\s+)?"
    r"(?:college|(?:high|middle|grad(?:uate)?|primary|elementary|secondary|boarding)\s+school|"
    r"uni|university|kindergarten|childhood|youth|teens|twenties|thirties|forties|"
    r"fifties)\b"
    r"|\bas\s+(?:a\s+)?(?:kids?|child|children|teen(?:ager)?s?|students?|baby|toddler|boy|"
    r"girl)\b|\bgrowing\s+up\b", re.IGNORECASE)
#: "was"/"were" in a clause: a state that held then ("when I was training for it")
_WAS = re.compile(r"\b(?:was|were)\b", re.IGNORECASE)
#: what may open a question before a "when" that asks the time itself ("So when did ...?")
_OPENING = re.compile(r"^\W*(?:(?:and|so|but|ok(?:ay)?|hey|then)\W+)*$", re.IGNORECASE)


def _then(query: str) -> bool:
    """Whether a question in the past tense names its time by a period of life or by a
    clause on what happened then ("when we got married", "when I first joined", "when I
    was a kid"): a "when" inside the question, not the one that asks for a time ("When
    did I ...?"), after a clause in the past tense ("Who coached the team when I signed
    up?"; not "What do I eat when I was ill?")."""
    def past(text: str) -> bool:
        return _PAST_TENSE_EVENT.search(text) is not None or tells_event(text)

    if _LIFE_PERIOD.search(query) is not None and past(query):
        return True
    return any(_OPENING.match(query[:m.start()]) is None and past(query[:m.start()])
               and (tells_event(m.group(1)) or _WAS.search(m.group(1)) is not None)
               for m in _WHEN_CLAUSE.finditer(query))


#: the marks of a question for a state that held before a later one: "used to",
#: "previously", "originally", "at first", "formerly", "former", "original", "previous",
#: "earlier", "before" ending the question or before what came next, not an "-ing" ("What
#: car did I drive before?", "before the Skoda", "before prices went up"; not "before
#: meeting Maria": what happened before an event), "did I use to" ending it ("What did I
#: use to drive?")
_EARLIER_STATE = re.compile(
    r"\bused\s+to\b|\b(?:previously|originally|initially|formerly|former)\b|"
    r"\bat\s+first\b(?!\s+sight)|"
    r"\bbefore\s*(?:[?.!]|$)|\bbefore\s+(?!\w+ing\b)\w|\b(?:original|previous|earlier)\b|"
    r"\buse\s+to\s+\w+(?:\s+\w+)?\s*[?.!]?\s*$",
    re.IGNORECASE)
#: a question the whole history or a count answers ("Have I used Bootstrap before?",
#: "Have I ever met Bryan?", "How many days passed between when ...?", "How long had I
#: been with him before ...?"): no one statement of it comes first
_WHOLE_HISTORY = re.compile(
    r"\b(?:ever|history)\b|^\W*(?:have|has)\b|^\W*how\s+(?:many|much|long|often)\b|"
    r"\bbetween\s+when\b", re.IGNORECASE)


def asks_earlier_state(query: str) -> bool:
    """Whether a question asks for a state that held before a later one: a question
    about the past (:func:`asks_past`) marked as one (:data:`_EARLIER_STATE`: "What car
    did I drive before?", "Which gym did I use to go to?", "What was Jo's job
    originally?") or naming its time by what happened then (:func:`_then`: "Which club was
    I in when I ran my first half marathon?"); not one the whole history or a count
    answers ("Have I worked with Michael before?", "How long did I practise before the
    tournament?"), nor one for several values (:func:`asks_several`: "What schools did
    John play in during high school?"), nor one that names an earlier time alone ("What
    did I do last year?": the ranker's order stands for those)."""
    return asks_past(query) and marks_earlier_state(query)


def marks_earlier_state(query: str) -> bool:
    """:func:`asks_earlier_state` of a question already read as one about the past
    (:func:`asks_past`): its marks alone."""
    return (_WHOLE_HISTORY.search(query) is None and not asks_several(query)
            and (_EARLIER_STATE.search(query) is not None or _then(query)))


def earlier_range(start: datetime | None, end: datetime | None, now: datetime) -> bool:
    """Whether the time range a question names (from ``start`` to ``end``, either
    open) is an earlier time, whose statements the ranker's order keeps: any
    range but one that ends after ``now`` ("Where is the user going this
    summer?", "next month": the current or a coming period, whose current value
    the question asks)."""
    return (start is not None or end is not None) and (end is None or end <= now)


_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")


def anchor_terms(query: str) -> frozenset[str]:
    """The years a question about an earlier time names ("Which award did she win
    in 2021?"): two statements that both name them are about the same dated event,
    so the newer one corrects the older; empty when it names none ("What car did I
    drive before?"), and the ranker's order stands."""
    return frozenset(_YEAR.findall(query))
