"""Who a query's name means when no speaker goes by it: names learned from how
people in a chat address each other.

A chat's speaker labels are not always the names its people call each other: a
display name ("Emi") against what a friend calls her ("Hello Kate!"), a handle, or
"user". A question asks about a person by the name it knows ("What are Kate's
hobbies?"), and an item's speaker then matches no word of it, while the turns that
say the name to her, the other person's, match it.

:func:`speaker_aliases` reads the fetched head of one search. A name of the query
that is no speaker's is taken for a speaker's other name when

- exactly one speaker names themself by it ("my name is Kate", "call me Kate", "I go
  by Kate", or "I'm Kate." with the name capitalised and ending a clause); or
- no one does, two speakers are in the head (two people chatting), only one of them
  says the name, and says it *to* someone in at least :data:`MIN_SAID` messages and
  in at least half of those that say it (a place is mostly said *of*): the name is
  then the other's. Said to someone means in a greeting or thanks ("Hey Kate",
  "Thanks, Kate"), after "you" at a sentence's end ("What about you Kate?"), after a
  comma that follows a lower-case word ("See you soon, Kate!", not "Houston,
  Texas."), opening a message ("Kate, look!"), or ending a sentence after a
  lower-case word that is no preposition, article or verb of meeting ("So true
  Kate!", "How was your day Kate?", not "I met Kate.").

Whoever says "his name is Ned" is not Ned, so a name both speakers say is no one's.
Nothing is stored: the names are read again from each search's own head, so a
forget leaves none behind.

The same forms tell a message *to* someone from one *about* them:
:func:`only_said_to` / :func:`addressed` give the names of a query a message says only
to someone ("Thanks Caroline! I've been painting sunsets"). The reranker
(:func:`~engram.retrieval.rerank.features`) counts them for neither its ``coverage``
nor its ``names``: a friend's news told to Caroline is not Caroline's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache

from ..models import Episode, Memory
from ..recall import query_names

__all__ = ["addressed", "aliased", "only_said_to", "speaker_aliases"]

#: the fewest uses of a name said to someone before it is read as the other speaker's
MIN_SAID = 2

#: words that open a greeting or a thanks said to someone by name
_GREETING = (r"hi|hey|heya|hiya|hello|helo|yo|thanks|thank\s+you|thx|ty|morning|"
             r"good\s+(?:morning|night|evening|afternoon|luck)|goodnight|night|bye|"
             r"goodbye|congrats|congratulations|dear|welcome\s+back|miss\s+you|love\s+you|"
             r"happy\s+\w+(?:\s+day)?|cheers|ok|okay|oh|aw+|wow|haha+|sorry|yes|no")


#: words before a name at a message's end that make it a place or a thing, not someone
#: spoken to ("in Houston!")
_NOT_TO = (r"in|at|to|from|of|for|near|into|on|onto|with|by|about|around|visit|visiting|"
           r"visited|the|a|an|my|our|your|his|her|their|love|like|loved|miss|see|saw|meet|"
           r"met|call|called|tell|told|ask|asked|and|or")


@lru_cache(maxsize=512)
def _said_to(name: str) -> re.Pattern[str]:
    """``name`` said to someone, in the forms the module docstring lists. The name
    matches in any case; a comma before it must follow a lower-case word ("Houston,
    Texas" is a place)."""
    n = rf"(?i:{re.escape(name)})"
    end = r"\s*(?:[!?.,:;)]|$)"
    return re.compile(
        rf"(?i:\b(?:{_GREETING}))[,!]?\s+{n}\b(?!\s+(?i:and|or)\b)"
        rf"|(?i:\byou)\s+{n}\s*(?:[!?.]+(?=\s|$)|$)"
        rf"|(?<![\w'])[a-z']+,\s*{n}{end}"
        rf"|^\s*{n}\s*[,!]"
        rf"|(?<![\w'])(?!(?:{_NOT_TO})\s)[a-z']+\s+{n}\s*[!?.]+(?=\s|$)",
    )


#: the words just before a name that a speaker names themself with; the last three
#: only before a capitalised name that ends a clause ("I'm Kate.", not "I'm Canadian
#: too": a capitalised adjective rarely ends one)
_SELF = re.compile(r"(?:\b(my\s+name\s+is|my\s+name's|call\s+me|i\s+go\s+by)"
                   r"|(?<![\w'])(i'm|i’m|i\s+am))\s+$", re.IGNORECASE)
_CLAUSE_END = re.compile(r"\s*[.!,]")


def _names_self(text: str, name: str) -> bool:
    """Whether ``text`` is its speaker naming themself ``name``."""
    for at, end in _places(text, name):
        m = _SELF.search(text, max(0, at - 16), at)
        if m and (m.group(1) or (text[at].isupper() and _CLAUSE_END.match(text, end))):
            return True
    return False


#: characters read before and after each place a name is said (a greeting and a few
#: words before it; the punctuation after it)
_BEFORE, _AFTER = 48, 6


def _says(pattern: re.Pattern[str], text: str, name: str) -> bool:
    """Whether ``pattern`` matches around a place where ``text`` says ``name``. Each
    place is read in a short window, cut so that a message's start and end are still
    seen as such and a cut is not (a search of the whole of a long message for every
    form costs a hundred times more)."""
    return any(pattern.search(_window(text, at, end - at)[0]) for at, end in _places(text, name))


def _places(text: str, name: str) -> Iterator[tuple[int, int]]:
    """Where ``text`` says ``name`` (lower-cased) as a whole word, in any case: start
    and end of each place."""
    for m in _anycase(name).finditer(text):
        at, end = m.start(), m.end()
        if not ((at and (text[at - 1].isalnum() or text[at - 1] == "_")) or (
                end < len(text) and (text[end].isalnum() or text[end] == "_"))):
            yield at, end


def _window(text: str, at: int, size: int) -> tuple[str, int]:
    """The text around ``text[at:at + size]`` (:data:`_BEFORE` / :data:`_AFTER`), a
    cut marked so that no pattern reads it as the message's start or end, and where
    ``at`` falls in it."""
    lo, hi = max(0, at - _BEFORE), at + size + _AFTER
    head = "" if lo == 0 else "\x00 "
    return head + text[lo:hi] + ("" if hi >= len(text) else " \x00"), len(head) + at - lo


def speaker_aliases(query: str, items: Iterable[Episode | Memory]) -> dict[str, str]:
    """Lower-cased speaker -> the lower-cased names of ``query`` that mean them
    (space-joined), from the episodes among ``items``; empty when none."""
    episodes = [i for i in items if isinstance(i, Episode) and i.speaker]
    speakers = {str(i.speaker).lower() for i in episodes}
    names = [n for n in query_names(query)
             if n not in speakers and " " not in n and n.isalpha()] if speakers else []
    if not names:
        return {}
    said = [(str(i.speaker).lower(), i.text) for i in episodes]
    out: dict[str, list[str]] = {}
    for name in names:
        saying = [(s, t) for s, t in said
                  if _says_at_all(t, name) and next(_places(t, name), None)]
        who = _whose(name, saying, speakers)
        if who is not None:
            out.setdefault(who, []).append(name)
    return {s: " ".join(ns) for s, ns in out.items()}


def _whose(name: str, saying: list[tuple[str, str]], speakers: set[str]) -> str | None:
    """The speaker ``name`` means, from the messages that say it (lower-cased
    speaker, text), or ``None``."""
    selves = {s for s, t in saying if _names_self(t, name)}
    if len(selves) == 1:
        return selves.pop()
    if selves:
        return None
    # no one names themself by it: one speaker says it, and only to the other
    tellers = Counter(s for s, _ in saying)
    if len(tellers) != 1 or len(speakers) != 2:
        return None
    (teller, told), = tellers.items()
    need, to, count = max(MIN_SAID, (told + 1) // 2), _said_to(name), 0
    for _, t in saying:
        count += _says(to, t, name)
        if count >= need:
            return next(iter(speakers - {teller}))
    return None


def aliased(speaker: str | None, aliases: Mapping[str, str]) -> str | None:
    """``speaker`` followed by the other names ``aliases`` gives them (for term and
    name matching); ``speaker`` itself when it has none."""
    if not speaker or not aliases:
        return speaker
    more = aliases.get(speaker.lower())
    return f"{speaker} {more}" if more else speaker


def only_said_to(text: str, name: str) -> bool:
    """Whether every place ``text`` says ``name`` (lower-cased; found in any case)
    says it to someone ("Hey Kate!", "What about you Kate?", in the forms of the
    module docstring): the message is to that person, not about them. ``False`` where
    it does not say it."""
    to, found = _said_to(name), False
    for at, end in _places(text, name):  # each place's own form, not one before it
        found = True
        nxt = text[end:end + 3].lstrip()[:1]
        if nxt and nxt not in _CLOSE and not _GREETED.search(text, max(0, at - 24), at):
            return False  # no punctuation after it and no greeting before: of, not to
        window, here = _window(text, at, end - at)
        if not any(f.start() <= here < f.end() for f in to.finditer(window)):
            return False
    return found


#: what may follow a name said to someone, unless a greeting comes before it
_CLOSE = frozenset("!?.,:;)")
#: a greeting or a thanks just before a name ("Hey Kate how are you")
_GREETED = re.compile(rf"(?i:\b(?:{_GREETING}))[,!]?\s+$")


@lru_cache(maxsize=512)
def _anycase(name: str) -> re.Pattern[str]:
    """``name`` in any case (the caller tells a whole word from part of one: a
    look-around here costs more than the test)."""
    return re.compile(re.escape(name), re.IGNORECASE)


def addressed(query_names: Iterable[str], texts: Iterable[str]) -> list[frozenset[str]]:
    """For each of ``texts``, the one-word names of ``query_names`` (lower-cased) that
    it only says to someone (:func:`only_said_to`); a text is read for a name only
    where it holds it as the query has it or capitalised ("kate", "Kate")."""
    names = [n for n in query_names if " " not in n]
    if not names:
        return []
    return [frozenset(n for n in names if _says_at_all(text, n) and only_said_to(text, n))
            for text in texts]


def _says_at_all(text: str, name: str) -> bool:
    """A quick look before the places are read: ``text`` holds ``name`` as the query
    has it (lower-cased) or capitalised ("kate", "Kate"), not in capitals ("KATE")."""
    return name in text or name.capitalize() in text
