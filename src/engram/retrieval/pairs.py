"""When a newer statement replaces an older one: the pair kinds of the newer-first rule.

:func:`engram.retrieval.updates.conflicts` reads the hits once (:func:`read`, a
:class:`Reading`: each statement's answer clause, the question's words it holds, its
markers of change, its nearest in meaning and in words) and then each pair of them
(:class:`Pair`, ``older`` before ``newer``). :attr:`Pair.replaces` decides, and reads
in this order (the first that decides, decides):

1. **the gate** (:attr:`Pair.enters`): both statements answer the question, or the
   newer that does not replaces the older by its slot, a later telling, the next
   value of a chain, or a stated change close to it in meaning (it *inherits*);
2. **said again** (:attr:`Pair.said_again`): the same words, nothing replaced;
3. **about the older** (:attr:`Pair.asks_older`): the question names what only the
   older one says;
4. **one telling** (:attr:`Pair.one_telling`, :attr:`Pair.changed_in_telling`):
   two statements of one session conflict only by a change or a correction;
5. **a time moved** (:attr:`Pair.retimed`), for a "When ...?" question;
6. **the slot or a later telling** (:attr:`Pair.by_slot_or_telling`): the newer
   names the older's value, gives another in its slot, or is its later telling with
   a change after a state, another number or another name in its slot;
7. **the next value in a chain** (:attr:`Pair.next_in_chain`);
8. **inherited** (:attr:`Pair.inherited_change`), for a newer that does not answer
   by itself: a stated change sharing a word with the older;
9. **one subject** (:attr:`Pair.one_subject`): a shared frame, close meaning, another
   number, one answer given twice, or a change between related statements;
10. **a plain later telling** (:attr:`Pair.plain_telling`): the only two statements on
    their subject among the hits, in other sessions, with or without a marker (it also
    lets a newer that does not answer by itself through the gate).

A pair that would replace is then read for what leaves the older standing:
:attr:`Pair.keeps` (another holder, a change weighed, an older time, a value beside) and
:attr:`Pair.other_subject` (another thing of the owner's: "My favourite book is ..." after
"My favourite film is ...").

The module docstring of :mod:`.updates` gives each kind's examples; docs/recall.md
the figures each was chosen on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

import numpy as np

from ..index.lexical import tokens
from ..index.rowfacts import TIME_WORDS
from ..ingest.supersede import (
    MAX_WORDS,
    corrects,
    frame,
    narrates_change,
    states_change,
    tells_event,
    words,
)
from .answers import COVER, _answer_at, _forms, _values
from .asks import _MOVED
from .keeps import keeps
from .nearness import jaccard, nearest_in_words, pairs_apart
from .rerank import _terms
from .slots import (
    _mentioned,
    _message,
    _read_long,
    recounts,
    renames,
    retimes,
    same_slot,
    sentence_on,
)

__all__ = ["Pair", "Reading", "read"]

#: who told a statement: the speaker's name a message gives ("Jon", "user", "assistant")
Teller = str

SAME_FRAME = 0.4
SAME_MEANING = 0.75
MEANING_FRAME = 0.15
CHANGE_FRAME = 0.2
CHANGE_MEANING = 0.4
#: a statement whose query cosine is more than this below the best one's
#: takes no part (small talk in a short chat), when the query's words are not given
ANSWER_MARGIN = 0.3
#: or its query cosine is within this of the best one's
DENSE_MARGIN = 0.2

#: two statements in other sessions whose answer clauses both hold this share of
#: the query's words ("My desk at work faces the window" / "After the reshuffle
#: my desk faces the wall by the printer") and whose vectors are this close give
#: one answer twice: the newer is the current one (a current-value question)
ANSWER_COVER = 0.6
ANSWER_MEANING = 0.5
#: a newer statement that does not answer the query by itself takes part when
#: it is this close in meaning to an older one that does (answer clause holding
#: ``COVER``), shares a word with it and states a change or a correction ("Our
#: mortgage is fixed at 1.9 percent" / "The fixed deal ended and we've
#: remortgaged at 4.6 percent")
REPLACER_MEANING = 0.5

#: a later telling (:func:`~.nearness.pairs_apart`): two short statements of other sessions,
#: each the other's nearest in meaning among the hits read, at least this close,
#: the older answering the question; the newer replaces the older when it tells
#: a change, an event or a correction after an older statement of a state
FOLLOW_MEANING = 0.4
#: the fewest letters of a name written shortened ("Rhi" for "Rhiannon", "Alex" for
#: "Alexandra") that name it (:attr:`Pair.asks_older`)
SHORT_NAME = 3
#: a later telling giving another number (:attr:`Pair.renumbers`) or telling a change
#: ("All my notes live in Evernote" / "Switched to Obsidian, just markdown files") may be
#: this close
TOLD_MEANING = 0.3
#: a later telling giving another number and telling a change, both ("Our sprints run two
#: weeks" / "Now that the team has moved to three-week cycles", .27)
TOLD_BOTH = 0.25
#: a plain later telling (:attr:`Pair.plain_telling`), with no marker at all ("Most days I
#: grab a meal deal for lunch" / "I've been bringing leftovers for lunch"; "For my MSc
#: project the questionnaire is on Google Forms" / "the ethics board wanted the data stored
#: in the EU, so my questionnaire lives on Qualtrics"): two statements of other sessions,
#: each the other's nearest in meaning, at least ``FOLLOW_FAR`` close, that stand
#: ``FOLLOW_GAP`` closer to each other than either is to any other hit read, the older
#: answering the question: the only two statements on their subject. In a chat, where
#: many turns share a topic, the gap is small (LoCoMo's pairs of this kind stand .00-.10
#: apart). Between ``FOLLOW_FAR`` and ``FOLLOW_PLAIN`` the newer must give what the
#: question asks for. Session 44 took ``FOLLOW_FAR`` from .55 (``FOLLOW_PLAIN``) to .25 on
#: the development case sets; no question of any data set's both parts moved
#: (docs/recall.md, "Session 44")
FOLLOW_PLAIN = 0.55
FOLLOW_GAP = 0.15
FOLLOW_FAR = 0.25
#: the index terms of a question asking for a count ("How many ...?", "How much ...?")
_COUNTS = frozenset(tokens("many much"))
#: the index terms of words that tell when, not what: a word two statements share that is
#: one of these ("Starry Night" / "last night") puts them on no one subject
#: (:attr:`Pair.inherited_change`)
_WHEN = frozenset(tokens(" ".join(TIME_WORDS) + " night nights morning evening afternoon "
                         "day days hour hours minute minutes time times weeks months years"))


_T = TypeVar("_T")


class _once(Generic[_T]):  # noqa: N801 - read as a decorator, like ``cached_property``
    """A property computed at its first read and then kept in the object's ``__dict__``
    (which later reads find first): :func:`functools.cached_property` without its lock.
    Python 3.11's takes a lock at every first read; a search on a long chat makes some
    80,000 first reads of :class:`Pair` kinds, and the lock was about a third of the pair
    tests' time. A :class:`Pair` is read by one thread."""

    def __init__(self, fn: Callable[[Any], _T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> _T:
        if obj is None:
            return self  # type: ignore[return-value]
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


class OnSubject(NamedTuple):
    """What a pair's two statements say on the subject (:attr:`Pair.on`)."""

    old: str  # the older's words
    new: str  # the newer's
    brief: bool  # both short enough to read as one, and not one sentence said twice
    new_held: int  # how many of the question's words the newer's holds
    nsaid: str  # where the newer's markers are read


@dataclass(frozen=True)
class Reading:
    """What :func:`read` reads of each statement of the hits, by position, once for
    all pairs, and how the question is asked (:func:`~.updates.conflicts`' arguments)."""

    texts: Sequence[str]
    vectors: Sequence[np.ndarray | None]
    terms: list[frozenset[str]]
    #: each statement's session and teller (``None``: not known)
    sessions: list[str | None]
    tellers: list[Teller | None]
    #: the hit nearest the question in meaning (it answers, whatever its words)
    nearest: list[bool]
    #: where markers are read: the answer clause given the question's words, else the text
    said: list[str]
    #: how many of the question's words the answer clause holds, and whether ``COVER``
    held: list[int]
    full: list[bool]
    #: the numbers the answer clause gives (:func:`~.answers._values`)
    values: list[frozenset[str]]
    #: the statement answers the question (its words or its query cosine)
    takes_part: list[bool]
    #: how many of what the question asks beyond its names the answer clause holds
    specific: list[int]
    #: words, and whether short enough to read as one (``MAX_WORDS``)
    sizes: list[int]
    short: list[bool]
    #: a long turn's sentence on the question and how many of its words it holds
    on: list[tuple[str, int]]
    #: which statements' sentences on the question are each other's nearest in words
    kin: dict[int, int]
    #: a stated change, and a change the statement narrates (an older one's denial,
    #: "it never breaks", describes a state)
    states: list[bool]
    narrates: list[bool]
    #: each statement's nearest in meaning, its cosine to the next after that, and to it
    #: (:func:`~.nearness.pairs_apart`)
    near: dict[int, int]
    apart: dict[int, float]
    close: dict[int, float]
    #: the query's index terms, what it asks beyond the names it gives, and those names
    asked: frozenset[str]
    asks: frozenset[str]
    query_terms: frozenset[str]
    changes: bool
    marked: bool
    meaning: bool

    @property
    def told(self) -> bool:
        """Events, values and answers given twice count (a change is asked, not only a
        stated one)."""
        return self.changes and not self.marked


def read(
    texts: Sequence[str],
    vectors: Sequence[np.ndarray | None],
    relevance: Sequence[float | None] = (),
    query_terms: frozenset[str] = frozenset(),
    changes: bool = True,
    sessions: Sequence[str | None] = (),
    asked: frozenset[str] = frozenset(),
    marked: bool = False,
    origins: Sequence[frozenset[str]] = (),
    tellers: Sequence[Teller | None] = (),
    centre: np.ndarray | None = None,
    meaning: bool = True,
) -> Reading:
    """The :class:`Reading` of the hits for :func:`~.updates.conflicts` (its arguments but
    the times and the anchor, which :func:`~.updates.conflicts` reads before a pair is)."""
    n = len(texts)
    told = changes and not marked
    terms = [_terms(t) for t in texts]  # memoised: the reranker tokenised them already
    rel = list(relevance) + [None] * (n - len(relevance))
    best = max((r for r in rel if r is not None), default=None)
    nearest = [r is not None and r == best for r in rel]
    if asked:
        answers = [_answer_at(t, asked) for t in texts]
        said = [a for a, _, _ in answers]
        held = [k for _, k, _ in answers]
        full = [k >= COVER * len(asked) for k in held]
        values = [_values(a, after, len(words(t)) <= MAX_WORDS, _message(t))
                  for t, (a, _, after) in zip(texts, answers, strict=True)]
        takes_part = [
            covers or (r is not None and best is not None and r >= best - DENSE_MARGIN)
            for covers, r in zip(full, rel, strict=True)]
        asks = asked - query_terms
        specific = [len(_terms(a) & asks) for a in said]
    else:
        said = list(texts)
        asks = frozenset()
        full = [False] * n
        held = [0] * n
        values = [frozenset()] * n
        specific = [0] * n
        takes_part = [best is None or r is None or r >= best - ANSWER_MARGIN for r in rel]
    sizes = [len(words(t)) for t in texts]
    short = [k <= MAX_WORDS for k in sizes]
    # a long turn is read by its sentence on the question (:func:`_read_long`)
    on = [sentence_on(t, asked) if asked and not brief and _message(t) else (t, 0)
          for t, brief in zip(texts, short, strict=True)]
    kin = (nearest_in_words([_terms(t) for t, _ in on], origins) if told and not all(short)
           else {})
    # a moved time is read in the whole of a short statement ("I'm worried about
    # missing the meeting with Danielle, so remind me it's rescheduled to 4:30")
    states = [changes and (_MOVED.search(whole if brief else t) is not None if marked
                           else states_change(t))
              for t, whole, brief in zip(said, texts, short, strict=True)]
    narrates = [changes and narrates_change(t) for t in said]
    near, apart, close = pairs_apart(vectors, origins, centre) if changes else ({}, {}, {})
    return Reading(
        texts=texts, vectors=vectors, terms=terms,
        sessions=list(sessions) + [None] * (n - len(sessions)),
        tellers=list(tellers) + [None] * (n - len(tellers)),
        nearest=nearest, said=said, held=held, full=full, values=values,
        takes_part=takes_part, specific=specific, sizes=sizes, short=short, on=on, kin=kin,
        states=states, narrates=narrates, near=near, apart=apart, close=close,
        asked=asked, asks=asks, query_terms=query_terms,
        changes=changes, marked=marked, meaning=meaning)


#: a statement opening on a thing of the owner's: "my" or "our" and two words or more
_OPENING = re.compile(r"^\W*(?:my|our)\s+[a-z][\w-]*\s+[a-z][\w-]*\b", re.IGNORECASE)


#: the subject of a statement about a thing of the owner's: "my", "our" or a memory's "the
#: user's" and the words up to its verb ("My favourite film is ...", "Our mobile contracts
#: are with ...")
_SUBJECT = re.compile(r"^\W*((?:my|our|the user['’]s)(?:\s+[a-z][\w-]*){1,4}?)\s+"
                      r"(?:is|are|was|were|has|have|"
                      r"runs?|lives?|sits?|costs?)\b", re.IGNORECASE)


def subject_of(text: str) -> str | None:
    """The subject of a statement opening on a thing of the owner's, or ``None``."""
    m = _SUBJECT.match(text)
    return m.group(1) if m is not None else None


def same_opening(older: str, newer: str) -> bool:
    """Both statements open on the same thing of the owner's, named in the same two
    words or more ("My side project ...", "Our kanban board ...")."""
    a, b = _OPENING.match(older), _OPENING.match(newer)
    return (a is not None and b is not None
            and a.group(0).lower().split() == b.group(0).lower().split())


class Pair:
    """Two statements of a :class:`Reading`, ``older`` told before ``newer``; ``first``
    is the one ranked higher. ``chained``: the older replaced one statement before it
    and the newer is its next value (:func:`~.updates.conflicts`, :data:`~.updates.CHAIN`).
    Each kind is read once, when asked (:attr:`replaces`)."""

    def __init__(self, reading: Reading, older: int, newer: int, chained: bool = False):
        self.r = reading
        self.older = older
        self.newer = newer
        self.first, self.second = min(older, newer), max(older, newer)
        self.chained = chained

    # -- what the pair is read by -------------------------------------------------------

    @_once
    def cos(self) -> float:
        """The cosine of the two statements' vectors (0 when one has none)."""
        va, vb = self.r.vectors[self.first], self.r.vectors[self.second]
        return float(np.dot(va, vb)) if va is not None and vb is not None else 0.0

    @_once
    def jac(self) -> float:
        return jaccard(self.r.terms[self.first], self.r.terms[self.second])

    @_once
    def lengthy(self) -> bool:
        """One of the two is too long to read as one statement."""
        return not (self.r.short[self.older] and self.r.short[self.newer])

    @_once
    def on(self) -> OnSubject:
        """What each says on the subject: the whole of two short statements, the
        sentences on the question where one is long (:func:`~.slots._read_long`)."""
        r, o, w = self.r, self.older, self.newer
        if self.lengthy:
            return OnSubject(*_read_long(r.texts, r.on, r.said, r.held, r.asked, o, w))
        return OnSubject(r.texts[o], r.texts[w], True, r.held[w], r.said[w])

    @_once
    def mutual(self) -> bool:
        """Each is the other's nearest in meaning among the hits read."""
        near = self.r.near
        return near.get(self.older) == self.newer and near.get(self.newer) == self.older

    @_once
    def one_telling(self) -> bool:
        """Both statements are of one session: one telling (a list of facts, a chat's turns)."""
        sess = self.r.sessions
        return sess[self.first] is not None and sess[self.first] == sess[self.second]

    @_once
    def _slot(self) -> tuple[bool, bool, bool, bool]:
        """``(refers, fills, recounts, renamed)``: the newer names the older's value, or
        gives another in its slot (:func:`~.slots.same_slot`), another number in its
        unit, or another name for a subject both name, where the older answers by a word
        of the question or is the hit nearest it (a value told in turn: "Sold the Volvo
        and picked up a Golf" / "Traded the Golf in for a Kia" for "What car ...?")."""
        r, o, w = self.r, self.older, self.newer
        if not (r.told and (r.held[o] or (r.asked and r.nearest[o])) and r.takes_part[o]
                and self.on.brief and not self.one_telling):
            return False, False, False, False
        refers, fills = same_slot(r.said[o], self.on.new, r.asked)
        # another name in the slot is about the same thing only where the newer holds
        # a word of the question ("rewrote the website in Elm" does not replace "the
        # mobile app is written in Java") (or with a prefix: "remortgaged with
        # Halifax", :func:`~.answers._forms`)
        fills = fills and (self.on.new_held > 0 or bool(_forms(self.on.new) & r.asked))
        # another number in the same unit ("90 a month" / "120 a month"), where the
        # newer holds a word of the question or is related in meaning
        counted = (recounts(r.said[o], self.on.new)
                   and (self.on.new_held > 0 or self.cos >= CHANGE_MEANING))
        # another name for a subject both name by a question word, with no slot word
        # ("we're The Night Porters now"): a stated change only, and both hold ``COVER``
        # of what the question asks ("use", "cost" shared by two turns on other things
        # name no one subject)
        renamed = (self.on.new_held > 0 and (r.states[w] or corrects(r.said[w]))
                   and len(_terms(r.said[o]) & _terms(self.on.new) & r.asks)
                   >= max(1, COVER * len(r.asks))
                   and renames(r.said[o], self.on.new, r.asked))
        return refers, fills, counted, renamed

    @_once
    def follows(self) -> bool:
        """A later telling of the older's answer: in another session, the two each
        other's nearest in meaning (``FOLLOW_MEANING``; ``TOLD_MEANING`` where each
        gives a number the other does not, :attr:`renumbers`, or the newer tells a
        change); in long turns, whose vectors
        tell the whole turn, the two sentences on the question sharing one of its words
        and another, each other's nearest in words."""
        r, o, w = self.r, self.older, self.newer
        sess = r.sessions
        if not (r.told and (r.held[o] > 0 or r.nearest[o]) and r.takes_part[o] and self.on.brief
                and sess[self.first] is not None and sess[self.first] != sess[self.second]):
            return False
        if self.lengthy:
            shared = _terms(self.on.old) & _terms(self.on.new)
            return (bool(shared & r.asked) and len(shared) >= 2
                    and r.kin.get(o) == w and r.kin.get(w) == o)
        return self.mutual and self.cos >= (
            TOLD_BOTH if self.renumbers and r.states[w]
            else TOLD_MEANING if self.renumbers or r.states[w] else FOLLOW_MEANING)

    @_once
    def inherits(self) -> bool:
        """One of the two does not answer the question by itself."""
        return not (self.r.takes_part[self.first] and self.r.takes_part[self.second])

    @_once
    def valued(self) -> bool:
        """Both answer clauses hold the query's words and a number, not the same ones
        (or the newer close to the older in meaning: "Biscuit is down to 12 kilos")."""
        r, o, w = self.r, self.older, self.newer
        return (r.told and r.full[o] and (r.full[w] or self.cos >= ANSWER_MEANING)
                and bool(r.values[o]) and bool(r.values[w] - r.values[o])
                and bool(r.values[o] - r.values[w]))

    @_once
    def renumbers(self) -> bool:
        """Each answer clause gives a number the other does not ("the performance score
        is a miserable 54 on mobile" / "mobile performance is at 91")."""
        vo, vw = self.r.values[self.older], self.r.values[self.newer]
        return bool(vo - vw) and bool(vw - vo)

    @_once
    def changed(self) -> bool:
        """The newer's words on the subject tell a change or an event."""
        nsaid, said = self.on.nsaid, self.r.said[self.newer]
        stated = self.r.states[self.newer] if nsaid is said else states_change(nsaid)
        return stated or tells_event(nsaid)

    @_once
    def after_state(self) -> bool:
        """The older states a state (not one narration after another), or is a value
        that replaced one (:attr:`chained`)."""
        said = self.r.said[self.older]
        return self.chained or (not self.r.narrates[self.older] and not tells_event(said))

    @_once
    def stated_change(self) -> bool:
        """The newer states a change that the older does not narrate too ("started" /
        "now" in two chat turns is narration, not a state and its replacement)."""
        r = self.r
        return r.changes and r.states[self.newer] and (self.chained or not r.narrates[self.older])

    @_once
    def fixes(self) -> bool:
        """The newer corrects or denies and the older does not (a "When ...?" question
        takes a moved time only: chat turns deny a lot)."""
        r = self.r
        return r.told and corrects(r.said[self.newer]) and not corrects(r.said[self.older])

    @_once
    def related(self) -> bool:
        """Related enough for a change to replace: shared words (``CHANGE_FRAME``), close
        meaning (``CHANGE_MEANING``), both answer clauses holding the same two words of
        what the question asks ("The front end is written in Angular" / "We rewrote the
        front end in Svelte"; one word, "interests", is a topic), both opening on one
        thing of the owner's named in two words or more ("My side project repo lives on
        GitHub" / "My side project has moved to Codeberg", :func:`same_opening`), or two
        long turns' sentences on the question sharing words."""
        r, o, w = self.r, self.older, self.newer
        shared = len(_terms(r.said[o]) & _terms(r.said[w]) & r.asks)
        both = r.full[o] and r.full[w] and shared >= max(2, COVER * len(r.asks))
        return (self.jac >= CHANGE_FRAME or self.cos >= CHANGE_MEANING or both
                or same_opening(r.texts[o], r.texts[w])
                or (self.lengthy and self.on.brief
                    and jaccard(_terms(self.on.old), _terms(self.on.new)) >= CHANGE_FRAME))

    @_once
    def change(self) -> bool:
        """:attr:`stated_change`, or across sessions a completed event after a statement
        of a state ("We store it in MongoDB" / "We migrated to PostgreSQL")."""
        return self.stated_change or (self.r.told and self.after_state
                                      and tells_event(self.r.said[self.newer]))

    # -- the kinds, in the order :attr:`replaces` reads them ------------------------------

    @_once
    def enters(self) -> bool:
        """Both answer the question; or the newer that does not (:attr:`inherits`) refers
        to the older's slot, is its later telling or the next value of its chain, or the
        older answers by ``COVER`` of the question's words and the two are close in
        meaning (``REPLACER_MEANING``), or it moves the older's time (:attr:`moves_time`)."""
        if not self.inherits:
            return True
        r, o = self.r, self.older
        refers, fills, recounts, _ = self._slot
        return (refers or fills or recounts or self.follows or self.chained
                or (r.takes_part[o] and r.full[o] and self.cos >= REPLACER_MEANING)
                or self.moves_time or self.plain_telling)

    @_once
    def moves_time(self) -> bool:
        """For a "When ...?" question, the older answering it, the newer, in another
        session and each the other's nearest in meaning, tells its time moved and
        another time ("Demo Day for the accelerator is on 14 March" / "The accelerator
        pushed Demo Day back to 2 April")."""
        r, o, w = self.r, self.older, self.newer
        return bool(r.marked and r.takes_part[o] and self.mutual and not self.one_telling
                     and r.states[w] and retimes(r.texts[o], r.texts[w]))

    @_once
    def said_again(self) -> bool:
        return words(self.r.texts[self.older]) == words(self.r.texts[self.newer])

    @_once
    def asks_older(self) -> bool:
        """The question names what only the older says (and nothing only the newer
        says): it asks about the older statement. Not when both give it a value ("How
        many ... in Caribbean media?": the name is its context, the number its answer),
        nor for a later telling that tells a change after a state, which is about the
        older's subject without naming it ("I'm doing the A2 French course" / "Passed
        the A2 exam! Starting B1 next month" for "What level of French ...?"), or after
        a statement naming the value it changes ("I'm going to the Halloween party as
        Beetlejuice, already got the suit" / "Ditched Beetlejuice. I'm going as Marge
        Simpson" for "What costume ... to the Halloween do?"), or for a correction of it
        ("Made it to the Big Island! I'm staying in Hilo" / "Actually I have to correct
        myself, I'm in Kona, not Hilo" for "Which town on the Big Island ...?"). A name the
        newer writes shortened (its first ``SHORT_NAME`` letters or more: "Rhi" for
        "Rhiannon") it names."""
        r, o, w = self.r, self.older, self.newer
        q = r.query_terms
        only_older, only_newer = r.terms[o] - r.terms[w], r.terms[w] - r.terms[o]
        # a name the newer shortens is named by it too ("Rhiannon" / "Rhi")
        short = [u for u in _mentioned(r.texts[w]) if len(u) >= SHORT_NAME]
        named = {t for t in only_older & q if not any(t.startswith(u) for u in short)}
        return bool(q and named and not only_newer & q and not self.valued
                    and not (self.follows and self.changed
                             and (self.after_state or self._slot[0]
                                  or corrects(r.said[w]))))

    @_once
    def keeps(self) -> bool:
        """The newer, a short statement, leaves the older standing: it is about someone
        else, weighs a change not made, remembers an older time, adds a value beside it,
        or is an exception for a while to what a question asks holds usually
        (:func:`~.keeps.keeps`)."""
        r, o, w = self.r, self.older, self.newer
        return r.short[w] and keeps(r.texts[w], r.texts[o], r.asked,
                                    r.asked | r.query_terms) is not None

    @_once
    def changed_in_telling(self) -> bool:
        """In one telling a change or a correction replaces a statement, related to it,
        only where it says at least as much of what the question asks ("Melira
        discovered an orchid" does not replace "Melira is a botanist specializing in
        ...")."""
        r = self.r
        about = not r.asked or r.specific[self.newer] >= max(1, r.specific[self.older])
        return (self.stated_change or self.fixes) and self.related and about

    @_once
    def retimed(self) -> bool:
        """A planned time told again, another time in an answer to a "When ...?"
        question ("launch the beta on June 3" / "the beta launch slipped to June 17";
        :func:`~.slots.retimes`): both holding the question's words, or both near it in
        other sessions with the newer telling a change."""
        r, o, w = self.r, self.older, self.newer
        # or both near the question, in other sessions, the newer telling a change
        # ("... our Kilimanjaro departure is now 4 September" for "When does the user
        # leave for the mountain trip in Tanzania?")
        answer = (r.full[o] and r.full[w]) or (
            r.takes_part[o] and r.takes_part[w] and not self.one_telling
            and states_change(r.said[w]))
        return (r.marked and answer and self.cos >= ANSWER_MEANING and self.mutual
                and retimes(r.said[o], r.said[w]))

    @_once
    def by_slot_or_telling(self) -> bool:
        """The newer names the older's value and gives one of its own, or gives another
        in its slot, and tells what happened (an event, a change, a correction); or
        gives another name or number; or is its later telling, by a change after a state
        ("I take my coffee with cream" / "I've switched to oat milk"), with another number
        (:attr:`renumbers`: "a 28 lb draw weight" / "Coach put me on 34 lb limbs"), with
        another name in its slot ("on the Sandy Bay site" / "Our pitch at the Perranporth
        site"). A later telling with no marker is :attr:`plain_telling`."""
        r, w = self.r, self.newer
        refers, fills, recounts, renamed = self._slot
        moved = self.changed or self.fixes
        return bool(
            (refers and (moved or fills)) or (fills and moved) or renamed
            or (recounts and (r.held[w] > 0 or moved))
            or (self.follows and ((moved and self.after_state) or self.renumbers or fills)))

    @_once
    def next_in_chain(self) -> bool:
        """After a value that replaced one, a later short statement nearest the chain
        that answers the question by itself gives the value now, with or without a
        marker ("Dan's transferred over to Procurement" / "Dan's in Marketing"). The older
        answers by the value it replaced, whatever its own words ("Swapped Hatha for
        Vinyasa flow" / "Yin classes at the studio on Mondays" for "What style of yoga
        ...?")."""
        return self.r.told and self.chained and self.r.takes_part[self.newer]

    @_once
    def inherited_change(self) -> bool:
        """A newer that does not answer by itself replaces a value it shares a word
        with, or the value before it in a chain, by a stated change."""
        r, o, w = self.r, self.older, self.newer
        return (self.change or self.fixes) and bool((r.terms[o] & r.terms[w]) - _WHEN
                                                    or self.chained)

    @_once
    def one_subject(self) -> bool:
        """The two say one thing about one subject with a slot changed: a shared frame
        (``SAME_FRAME``, :func:`~engram.ingest.supersede.frame`, or two long turns'
        sentences on the question), close meaning with some shared words
        (``SAME_MEANING``, unless ``meaning`` is off), another number
        (:attr:`valued`), one answer given twice (``ANSWER_COVER``), or a change or a
        correction between :attr:`related` statements."""
        r, o, w = self.r, self.older, self.newer
        same_meaning = r.meaning and self.cos >= SAME_MEANING and self.jac >= MEANING_FRAME
        same_answer = (r.told and bool(r.asked) and self.cos >= ANSWER_MEANING
                       and min(r.held[o], r.held[w]) >= ANSWER_COVER * len(r.asked))
        return bool(
            self.jac >= SAME_FRAME or same_meaning or self.valued or same_answer
            or ((self.change or self.fixes) and self.related)
            or frame(r.texts[o], r.texts[w]) is not None
            or (self.lengthy and self.on.brief
                and (jaccard(_terms(self.on.old), _terms(self.on.new)) >= SAME_FRAME
                     or frame(self.on.old, self.on.new) is not None)))

    @_once
    def plain_telling(self) -> bool:
        """The only two statements on their subject among the hits read (three or more),
        the newer told with or without a marker: in other sessions (both known), short
        enough to read as one, each the other's nearest in meaning at ``FOLLOW_FAR`` or
        closer, standing ``FOLLOW_GAP`` closer to each other than either is to any other
        hit, the older answering the question by its words or as the hit nearest it
        ("we send all our logs and metrics to Datadog" / "Grafana Cloud dashboards are up
        for every service", nothing else on monitoring among them). The
        newer need not hold the question's words: being the older's one neighbour on its
        subject, it tells that subject again ("code freeze for the v3 release is 1 May" /
        "PM pushed the v3 code freeze to 22 May" for "When do we stop merging features
        for v3?"). Below ``FOLLOW_PLAIN``, or for a "When ...?" question, the newer must
        give what the question asks for (a number, another time)."""
        r, o, w = self.r, self.older, self.newer
        sess = r.sessions
        if not (not self.lengthy and self.on.brief and r.takes_part[o]
                and (r.held[o] > 0 or r.nearest[o]) and len(r.near) > 2
                and sess[o] is not None and sess[w] is not None and sess[o] != sess[w]
                and self.mutual and self.cos >= FOLLOW_FAR
                and r.close[o] - max(r.apart[o], r.apart[w]) >= FOLLOW_GAP):
            return False
        if self.cos >= FOLLOW_PLAIN and r.told:
            return True
        # farther apart in meaning, the newer must give what the question asks for: a
        # number for "How many ...?" ("Picked up a few at the record fair" gives no count
        # of LPs), another time for "When ...?" ("Tickets for Saturday the 14th are sold
        # out" tells the recital's time again)
        return bool((r.values[w] or not r.asked & _COUNTS)
                    and (not r.marked or retimes(r.said[o], r.said[w])))

    @_once
    def replaces(self) -> bool:
        """Whether the newer statement replaces the older (the module docstring's order)."""
        if not self.enters or self.said_again or self.asks_older:
            return False
        if self.one_telling:
            replaced = self.changed_in_telling
        else:
            replaced = (self.retimed or self.by_slot_or_telling or self.next_in_chain
                        or (self.inherited_change if self.inherits else self.one_subject)
                        or self.plain_telling)
        # read last: only a pair that would replace is read for what leaves it standing
        return replaced and not self.keeps and not self.other_subject

    @_once
    def other_subject(self) -> bool:
        """Both short statements open on a thing of the owner's, and the older's thing is
        named by a word of what the question asks that the newer's lacks: the newer is about
        another thing ("My favourite book is The Hobbit" after "My favourite film is
        Inception" for "What is my favourite film?"; "Our mobile contracts are with
        Vodafone" after "Our broadband is with BT"), :func:`subject_of`."""
        r, o, w = self.r, self.older, self.newer
        if not (r.short[o] and r.short[w] and r.asks):
            return False
        so, sw = subject_of(r.texts[o]), subject_of(r.texts[w])
        if so is None or sw is None:
            return False
        return bool((_terms(so) - _terms(sw)) & r.asks)
