"""What the open rules of :mod:`engram.ingest.derive` may keep as a memory's value.

Four rules take whatever follows a first-person verb: "I like/love/enjoy ...", "I
prefer ...", "I hate ...", "I'm planning/going/hoping to ..." and "I plan/want to
...". Read from real chat they also catch what is no durable fact about the speaker
("I like it as it gives you a cosy feeling", "I'm going to head to bed", "I want to
make sure I'm handling errors properly", "I love your turtles", "I like those a lot I
can eat it plain"). :func:`liked` and :func:`planned` give the value a memory may say,
or ``None`` when there is none:

* **what is said around it is cut**: a remark in brackets, a filler and what follows
  it ("pickled ginger tho", "the community system better I think", "bubble tea lol
  have you had ..."), a run-on clause ("swimming it's a great way to keep in shape",
  written as chat writes it: "yoga outside its", "nyquil it knocks me out", "my dog he
  always makes me laugh"), a reason in chat's spelling ("ice cause its nice to drink"), a
  clause of time or condition about the speakers ("get a dog once we move");
* **no other person's words**: a value that speaks of the person addressed ("your
  turtles", "when you try something new") or has the speaker or a group as a subject
  ("that I can eat all those", "how art lets us get our emotions out") says nothing one
  can keep as the speaker's, in the third person, without knowing who "you", "I" and
  "we" are; "my" and "me" are the subject's own and read "their" and "them" ("taking
  care of my hair" -> "taking care of their hair", "projects that excite me" ->
  "projects that excite them");
* **something named**: not a pronoun whose referent is in another message ("it as it
  gives you ...", "those games", "share it"; "it when it snows" is a liking), and not a
  word that names nothing alone ("making", "to go", "to start"), nor a noun that names
  nothing without what it is of ("the idea", "the smell", "the color");
* **a plan is durable**: what one does next in the evening is not a plan to remember
  ("head to bed", "sleep now", "watch a movie", "unwind", "grab some food"), nor a
  check or a question on the task at hand ("make sure I cover all aspects", "ensure
  that ...", "know if this is a good idea", "understand the difference", "be sure",
  "check if the cache works"), nor a verb alone ("I want to learn, can you explain ...",
  "I want to improve": what one would learn or improve is the plan);
  "going to" followed by a place is motion, not a plan ("going to the gym", "going to
  bed");
* **a preference is its whole clause** (:func:`preferred`): "I prefer step-by-step
  explanations with concrete examples like coin tosses to grasp probability, so can you
  ..." is kept to "so", not cut at "with" ("step-by-step explanations" says little of
  what the user asked for); a clause longer than :data:`PREFERRED_MAX` is read the short
  way. The likings and dislikings keep the short reading: read to the end of the clause,
  they cost chat's rankings (docs/recall.md, session 46).
"""

from __future__ import annotations

import re

from .valueclean import NOT_AFTER_OPENER, trimmed

__all__ = ["PREFERRED_MAX", "SHORT_END_WORDS", "as_theirs", "liked", "planned", "preferred"]

#: a remark in brackets, a word of its own ("Lisbon (for work)"; not "2^(k+1)" or
#: "(k+1)^2", parts of one expression), a bracket left open and what follows it, or a
#: filler and everything after it
_SAID_AROUND = re.compile(
    r"(?:\s+|^)\([^)]*\)(?![^\s,.;:!?])|\s*\\?\([^)]*$"
    r"|\s+(?:lol|lmao|lmfao|rofl|haha\w*|hehe\w*|xd|tho|though|dude|bro|ngl|tbh|idk|"
    r"i think|i guess|i assume|i suppose|i mean|i believe|honestly|to be honest|for sure|"
    r"or something|or whatever|and stuff|and things|kinda|sorta)\b.*$"
    # a run-on clause: "swimming it's a great way to keep in shape"
    r"|\s+(?:it['’]s|it is|that['’]s|which is|which was)\b.*$"
    # a clause of time or condition about the speakers: "get a dog once we move"
    r"|\s+(?:once|when|whenever|after|before|if|as soon as|until|unless|so that|while|"
    r"because|since|cause)\s+(?:i|we|you|u|i['’]m|we['’]re|you['’]re)\b.*$"
    # a reason told in chat's spelling, whatever its subject: "ice cause its nice to drink"
    r"|\s+(?:cause|cuz|coz|bc|['’]cause)\s+(?!of\b)\w.*$"
    # "it's" without its apostrophe, running on or left dangling: "yoga outside its"
    r"|\s+(?:its|thats)(?:\s+(?:a|an|the|so|really|very|just|pretty|super|kinda|too|such|"
    r"not|nice|good|great|fun|amazing|awesome|practically|basically|literally|always|never|"
    r"also|like|my|our)\b.*)?$"
    # a run-on clause with a subject of its own: "nyquil it knocks me out", "my dog he
    # always makes me laugh" (not after a word that opens such a clause: "it when it snows")
    r"|" + NOT_AFTER_OPENER
    + r"\s+(?:it|he|she)\s+(?:always\s+|just\s+|really\s+|never\s+|\w+ly\s+)?"
    r"[a-z]+s\b.*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w'’]+")
#: a letter written three times or more ("himmm", "sooo")
_DRAWN_OUT = re.compile(r"([a-z])\1{2,}")
#: the person addressed
_ADDRESSEE = frozenset({"you", "your", "yours", "yourself", "yourselves", "u", "ur", "ya",
                        "y'all", "yall", "you're", "you’re", "you've", "you’ve", "you'll"})
#: the speaker (or a group) in the first person, as a subject or an object
_FIRST = frozenset({"i", "i'm", "i’m", "im", "i've", "i’ve", "i'd", "i’d", "i'll", "i’ll",
                    "we", "us", "our", "ours", "ourselves", "we're", "we’re", "we've", "we’ve"})
_OWN = {"my": "their", "myself": "themselves", "mine": "theirs", "me": "them"}
_OWN_WORD = re.compile(r"\b(my|myself|mine|me)\b", re.IGNORECASE)
#: a first word that points at something said elsewhere, or at nothing
_POINTERS = frozenset({"it", "that", "this", "them", "those", "these", "what", "which", "how",
                       "where", "who", "there", "him", "her", "he", "she", "they", "so",
                       "such", "one", "ones"})
#: a last word that points at something said elsewhere ("share it", "master this")
_TRAILING_POINTERS = frozenset({"it", "this", "that", "them", "those", "these", "one", "ones",
                                "him", "her"})
#: a word that names nothing alone ("Emi likes making", "Paola likes to go")
_LIGHT = frozenset({"go", "do", "make", "get", "be", "see", "have", "try", "start", "finish",
                    "continue", "keep", "stay", "come", "leave", "making", "doing", "going",
                    "getting", "being", "seeing", "having", "trying", "starting", "stuff",
                    "things", "everything", "anything", "something", "nothing", "lot", "lots",
                    "more", "most", "too", "well", "much", "many", "some"})
#: a noun that names nothing without what it is of ("Joanna likes the idea", "Audrey likes
#: the smell", "Joanna likes the color"): what it is of was said in another message
_VAGUE = frozenset({"idea", "thought", "sound", "look", "looks", "sight", "concept", "feeling",
                    "smell", "color", "colour", "colors", "colours", "energy", "vibe", "vibes",
                    "way", "fact", "part", "rest", "same", "result", "results", "outcome"})
#: what one does next in the evening, or a check on the task at hand
_PASSING = re.compile(
    r"^(?:sleep|nap|shower|chill|relax|unwind|rest|crash|text|call|message|reply|"
    r"make sure|ensure|double[- ]check|sign off|log off|turn in|hit the (?:hay|sack)|"
    r"know|understand|find out|figure out|see (?:if|whether|how)|confirm|clarify|verify|"
    r"be (?:sure|certain|clear|careful|safe|honest|ready)|check (?:if|whether|that|how)|"
    r"go over|get (?:this|it|that) right|"
    # what one will need is no plan: "I'm going to need some new shoes after all these games"
    r"need\b|"
    # saying something in this conversation: "I want to reiterate", "I wanted to mention"
    r"(?:say|mention|point out|reiterate|emphasi[sz]e|remind you|thank|apologi[sz]e)\b|"
    r"take a (?:nap|shower|bath|break|rest)|"
    r"have (?:a |some )?(?:dinner|lunch|breakfast|snack|shower|bath|nap|rest|break)|"
    r"(?:make|cook|fix) (?:some )?(?:dinner|lunch|breakfast|food|tea|coffee|a snack)|"
    r"watch (?:tv|a movie|a film|something|a show|netflix|a series)|"
    r"(?:head|go) (?:to bed|to sleep|home|out|off|to the shops)|"
    r"(?:get|grab) (?:some sleep|some rest|ready|some food|food|something to eat|a bite|up|"
    r"lunch|dinner|breakfast|a coffee|coffee|a drink)|"
    r"eat (?:dinner|lunch|breakfast|something))\b",
    re.IGNORECASE,
)
#: a verb that makes no plan alone ("I want to learn", "I'm hoping to improve"): what
#: one would learn or improve is the plan
_BARE_PLAN = frozenset({"learn", "study", "practice", "practise", "improve", "help", "explore",
                        "focus", "ask", "read", "work", "grow", "succeed", "win", "change",
                        "try", "check", "prepare", "review", "progress", "continue", "begin",
                        "proceed", "dig", "practicing", "learning"})
#: "going to" + a place or an article is motion ("going to the gym", "going to bed")
_NOT_A_VERB = frozenset({"the", "a", "an", "my", "his", "her", "their", "our", "your", "this",
                         "that", "these", "those", "some", "bed", "work", "school", "church",
                         "class", "college", "uni", "town", "sleep", "dinner",
                         "lunch", "breakfast"})


def _kept(value: str) -> tuple[str, list[str]] | None:
    # what is left may end on a word that only weighs it ("badminton the most though")
    value = trimmed(_SAID_AROUND.sub("", value).strip(" ,;:-"))
    # a word drawn out as chat writes it is read as the word ("himmm", "thattt")
    ws = [_DRAWN_OUT.sub(r"\1", w.lower()) for w in _WORD.findall(value)]
    if not ws or set(ws) & (_ADDRESSEE | _FIRST):
        return None
    return value, ws


def _named(ws: list[str]) -> bool:
    first = ws[0]
    if first in _POINTERS and not (first == "it" and len(ws) > 2
                                   and ws[1] in ("when", "whenever", "if")):
        return False
    if ws[-1] in _TRAILING_POINTERS and len(ws) <= 4:
        return False
    if "them" in ws:
        return False
    if ws[:2] == ["the", "following"]:
        return False  # what follows is in the next words or the next message
    rest = ws[1:] if first == "to" else ws
    if len(rest) == 2 and rest[0] in ("the", "that", "this") and rest[1] in _VAGUE:
        return False
    return bool(rest) and not (len(rest) == 1 and rest[0] in _LIGHT)


def as_theirs(value: str) -> str:
    """``value`` with the speaker's own words in the third person ("my" -> "their")."""
    return _OWN_WORD.sub(lambda m: _OWN[m.group(1).lower()], value)


def liked(value: str) -> str | None:
    """The value of "X likes / prefers / dislikes {value}" (module notes), or ``None``."""
    got = _kept(value)
    if got is None or not _named(got[1]):
        return None
    return as_theirs(got[0])


#: the longest preference read to the end of its clause (characters); a longer one runs
#: on into what the message goes on to ask, and is read as far as its first "with",
#: "for", "and", ...
PREFERRED_MAX = 120
#: the words before which a value read the short way ends (the open rules' end in
#: :mod:`engram.ingest.derive`, and where :func:`preferred` cuts a long clause)
SHORT_END_WORDS = "and|but|because|since|with|for|so"
_COMPARED = re.compile(r"\s+(?:more|better|most|best)\s*$", re.IGNORECASE)
_SHORT_END = re.compile(rf"\s(?:{SHORT_END_WORDS})\s", re.IGNORECASE)


def preferred(value: str) -> str | None:
    """The value of "X prefers {value}", ``value`` running to the end of its clause
    ("step-by-step explanations with concrete examples like coin tosses and dice rolls
    to grasp probability fundamentals"), or ``None``: what :func:`liked` keeps of the
    whole clause when that is at most :data:`PREFERRED_MAX` characters, else of its
    words up to the first "with", "for", "and", "but", "because", "since" or "so"
    ("a detailed stepwise explanation as per your instruction" speaks of the person
    addressed: "a detailed stepwise explanation")."""
    # "prefer" compares already: "I prefer movies more" prefers movies
    value = _COMPARED.sub("", value)
    whole = liked(value)
    if whole is not None and len(whole) <= PREFERRED_MAX:
        return whole
    cut = _SHORT_END.search(value)
    return liked(value[:cut.start()]) if cut else None


def planned(value: str) -> str | None:
    """The value of "X plans to {value}" (module notes), or ``None``."""
    got = _kept(value)
    if got is None:
        return None
    text, ws = got
    if ws[0] in _NOT_A_VERB or _PASSING.match(text) or not _named(ws):
        return None
    if len(ws) == 1 and ws[0] in _BARE_PLAN:
        return None
    return as_theirs(text)
