"""Query-time order rules: strong single signals keep a place, newer statements win.

Both rules permute the ranked head after the reranker; neither needs an LLM or
a list of attributes. The signal floors live in :mod:`.floors`, the answer clause in
:mod:`.answers`, what an item tells (a memory its message; a question nothing)
in :mod:`.tellings`, and the kinds of pair below, one named test each, in
:mod:`.pairs` (:class:`~.pairs.Pair`); :func:`conflicts` reads the hits once and
makes the passes over their pairs.

**Knowledge updates** (:func:`newer_first`). Among the ``depth`` best hits, two
statements *conflict* when they say the same thing about the same subject with
one slot changed, measured without a vocabulary of attributes (the word-level
tests live in :mod:`engram.ingest.supersede`, shared with the memory layer):

* they share most of their index terms (Jaccard >= ``SAME_FRAME``), or one
  word frame with one slot changed (:func:`~engram.ingest.supersede.frame`:
  "Nora and Eliza collaborated on X" / "Joren and Eliza collaborated on X";
  "could have attended a university ..." / "could have attended a technical
  institute ..."), or
* their vectors are close (cosine >= ``SAME_MEANING``) and they share some
  index terms (Jaccard >= ``MEANING_FRAME``: in a chat most turns on one topic
  are close in meaning, "Lost my job as a banker" / "I went to networking
  events" at cosine .78, without one replacing the other), or
* the question asks for a current value (:func:`asks_current`: present tense
  or a present marker, not "did", "was", "when") and they are
  related (Jaccard >= ``CHANGE_FRAME``, or cosine >= ``CHANGE_MEANING``: "I
  drive a Volvo" / "I sold the Volvo and bought a Subaru") and the newer one
  states a change ("moved to", "switched to", "adopted", "rescheduled", "has
  increased to", "now", ...; :data:`CHANGE`) or corrects or denies
  ("actually", "did not attend": :func:`~engram.ingest.supersede.corrects`)
  that the older one does not state too (two chat turns that both narrate
  "started", "now" replace nothing), or, after a statement of a state in an
  earlier session, narrates a completed event ("We store it in MongoDB" / "We
  migrated to PostgreSQL"), or
* the question asks for a current value, both statements' answer clauses
  (below) hold ``COVER`` of its words (or the older one's does and the two are
  close in meaning, cosine >= ``ANSWER_MEANING``: "The vet weighed Biscuit at
  14 kilos" / "Biscuit is down to 12 kilos after all the walks"), and each
  gives a number the other does not ("My Zotero library has 45 sources" / "I
  count 52 sources in the Zotero library", in turns about other things): the
  newer gives the current value.
  An answer clause without a number gives the numbers of the clause after it
  ("... the commits merged into the main branch, which has now reached 165"), or
* the question asks for a current value and both answer clauses hold
  ``ANSWER_COVER`` of its words, their vectors close (cosine >=
  ``ANSWER_MEANING``): one answer given twice, with no marker and no number
  ("My desk at work faces the window" / "After the reshuffle my desk faces the
  wall by the printer").

Statements of one session are one telling (a list of facts, a chat's turns):
two of them conflict only by a stated change or a correction, never by their
frame or meaning alone, and only when the newer one's answer clause holds at
least one of the question's words beyond the names it gives, and no fewer than
the older one's ("Which field does Melira specialize in?": "Melira discovered
an orchid" replaces nothing of "Melira is a botanist specializing in ...";
letta core-memory read, dev MRR .973 -> .984, bm25 .982).

Only statements that answer the query take part. Given the query's words
(``asked``), a statement answers when its **answer clause** (:func:`answer_clause`:
the clause, of the sentences and clauses it splits into, holding most query
terms; code blocks are not read) holds at least ``COVER`` of the query's index
terms, or its query cosine is within ``DENSE_MARGIN`` of the best one's ("What
pet ...?" / "we adopted a corgi" share no word); a newer statement that does
not answer by itself still replaces an older one that answers by its words when
it states a change or a correction, shares a word with it and is close to it
in meaning (cosine >= ``REPLACER_MEANING``: "Our mortgage is fixed at 1.9 percent" / "The fixed deal
ended and we've remortgaged at 4.6 percent"); the markers of change,
correction and event are read in the answer clause, not anywhere in a
300-word chat turn ("I've never deployed this app" in a turn whose answer is
"commits ... now reached 165"). Without ``asked``, a statement takes part when
its query cosine is within ``ANSWER_MARGIN`` of the best one's and markers are
read in the whole text. Measured on the development sets (all four together,
same tree): reading the answer clause keeps letta's updates (.961 new first)
and BEAM's, and gives back part of the MRR the rule costs on chat (BEAM .443 ->
.469, LoCoMo .566 -> .581 against .496 / .612 with the rule off; figures and the
thresholds tried in docs/recall.md). And a question
that names what only the older statement says (a name or a token with a
digit: "Nora", "tok0q", "2019"), and nothing only the newer one says, asks
about that statement: such a pair is left alone, unless both give the
question a value (the numbers kind above: in "How many women do I mentor in
Caribbean media?" the name is context, the number the answer).

A newer statement moves just above an older one it contradicts, until no
statement is below an older one it contradicts. The older statements are the
top ``depth``; the newer one may also be one of the ``REACH`` hits just below
them when its answer clause holds ``COVER`` of the query's words (letta's new
fact ranked 11th of 11 by the reranker); that hit enters the top ``depth``
and the last one of it leaves. A question about an earlier time alone ("in 2022", or
any time range the query names) keeps the ranker's order; so does one asking whether
something ever happened ("Have I ever met Bryan?": the whole history answers it). A
question about an earlier state ("before", "used to", "originally", "when I joined":
:func:`~.asks.asks_past`) orders each group oldest first (``earlier``, session 51: on
the case sets' questions about the past, the old statement first 129 -> 159 of 181).

Later sessions added, each chosen on the development sets and case sets: irregular
past tenses as events and a participle after "be" as a state; the **slot reader**
(:mod:`.slots`: a newer statement that names the older's value and tells an event, a
change or a correction, or gives another name or number in its slot, replaces it
however far apart the two are in words or meaning); long turns read
by their sentence on the question; the **later telling** (two short statements of
other sessions, each the other's nearest in meaning among the hits read:
:mod:`.nearness`); one speaker's statement never replacing another's
(:func:`told_apart`); the nearest-in-meaning tests reading vectors centred as the
query is (``centre``); a value told in turn (an older statement that is the hit
nearest the question is read by the slot reader too); and a statement that replaced one
value replaced in turn by its next (:data:`CHAIN`: "I take my coffee black" / "I've
started adding oat milk" / "Switched to decaf with almond milk", where the middle one
narrates a change and would otherwise replace nothing; the next may be a short statement
with no marker, "Dan's in Marketing", or one that does not answer the question by itself
but tells a change; a middle one that does not answer by itself answers by the value
it replaced: "Swapped Hatha for Vinyasa flow" / "Yin classes at the studio on Mondays"
for "What style of yoga ...?"), not for a question asking for several values
(:func:`~.asks.asks_several`: "What sports does Kevin play?"); and, for a question asking
when something happened (:func:`~.asks.asks_when_done`), closeness in meaning alone
making no pair; and the **plain later telling** (:attr:`~.pairs.Pair.plain_telling`): the
only two statements on a subject among the hits read, in other sessions, each the other's
nearest in meaning at cosine ``FOLLOW_FAR`` (.25) or closer and standing ``FOLLOW_GAP``
closer to each other than to any other hit, the older answering the question: the newer
replaces it with or without a marker or a word of the question ("we send all our logs
and metrics to Datadog" / "Grafana Cloud dashboards are up for every service"). Each rule's
examples, the
figures it was chosen on and what was tried and left out: docs/recall.md, "The
newer-first rule, session by session" and the sessions' sections.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

import numpy as np

from ..index.lexical import tokens
from ..ingest.supersede import CHANGE
from .answers import (  # noqa: F401  (re-exported: the answer clause moved to answers.py)
    COVER,
    _covers,
    _forms,
    answer_clause,
)
from .asks import (  # noqa: F401  (re-exported: the question readers moved to asks.py)
    PAST,
    anchor_terms,
    asks_current,
    asks_earlier_state,
    asks_past,
    asks_schedule,
    asks_several,
    asks_when_done,
    earlier_range,
    marks_earlier_state,
)
from .floors import apply_floors  # noqa: F401  (re-exported: moved to floors.py)
from .pairs import (  # noqa: F401  (re-exported: the pair kinds moved to pairs.py)
    ANSWER_COVER,
    ANSWER_MARGIN,
    ANSWER_MEANING,
    CHANGE_FRAME,
    CHANGE_MEANING,
    DENSE_MARGIN,
    FOLLOW_GAP,
    FOLLOW_MEANING,
    FOLLOW_PLAIN,
    MEANING_FRAME,
    REPLACER_MEANING,
    SAME_FRAME,
    SAME_MEANING,
    Pair,
    Teller,
    read,
)
from .rerank import _terms
from .slots import (
    LONG_WORDS,
    named,
    same_slot,
)
from .tellings import _asks_idly, asks_only, inherited  # noqa: F401  (re-exported)

__all__ = ["CHANGE", "LONG_WORDS", "PAST", "REACH", "anchor_terms", "answer_clause", "apply_floors",
           "asks_current", "asks_earlier_state", "asks_past", "asks_schedule", "conflicts",
           "earlier_range", "marks_earlier_state", "named",
           "asks_only", "inherited", "naming_terms", "newer_first", "reach", "same_slot",
           "Teller", "told_apart"]

T = TypeVar("T")

#: the words a question names the memory's owner by ("the user's car"), which
#: the owner's own statements never hold ("I", "my"): not part of what it asks
SPEAKER = frozenset({"user"})

#: how many passes :func:`conflicts` makes over the pairs: the first reads every pair,
#: each later one the pairs of a statement the pass before found replacing another
#: (a value told in turn, one change after another)
CHAIN = 3
#: a value told in turn is told in a statement of at most this many words (chat turns of
#: 40-80 words that replaced one another by topic are not one value told in turn: on the
#: development sets, chaining them cost LoCoMo .003 and BEAM 100K+500K .002 of MRR)
CHAIN_WORDS = 40

#: how many hits below the top ``depth`` may hold a newer statement that
#: replaces one in it (:func:`reach`)
REACH = 1

#: words a name is called by in the family or by rank, not who it names ("Auntie Bev",
#: "Grandad Joe", "Coach Reyes"): a later statement calling her "Bev" names her too
TITLES = frozenset(
    "aunt auntie aunty uncle grandma grandpa granny grandad granddad grandmother "
    "grandfather nan nana nanna gran grampa cousin coach professor prof doctor "
    "sister brother mum mom dad father mother sir dame lord".split())
_TITLE_TERMS = frozenset(tokens(" ".join(TITLES)))

#: an abbreviation: capitals ("GP", "CIs") or two capitals about one small letter ("PhD", "MSc")
_CAPITALS = re.compile(r"\b(?:[A-Z]{2,}s?|[A-Z][a-z]?[A-Z][a-z]?)\b")


def naming_terms(query: str, names: Sequence[str] = ()) -> frozenset[str]:
    """The index terms of the names a query gives (``names``, e.g. from
    :func:`engram.recall.query_entities`) and of its tokens holding a digit. A
    word the query writes in capitals is an abbreviation of what it asks ("Who is
    the family's GP?", "What does the team use for CI?", "Who supervises the
    PhD?"), not a name; nor is a title a name is called by (:data:`TITLES`)."""
    capitals = {w.lower() for w in _CAPITALS.findall(query)}
    found = set(tokens(" ".join(n for n in names if n.lower() not in capitals))) - _TITLE_TERMS
    found.update(t for t in tokens(query) if any(ch.isdigit() for ch in t))
    return frozenset(found)


def conflicts(
    texts: Sequence[str],
    times: Sequence[datetime],
    vectors: Sequence[np.ndarray | None],
    relevance: Sequence[float | None] = (),
    query_terms: frozenset[str] = frozenset(),
    changes: bool = True,
    anchor: frozenset[str] = frozenset(),
    sessions: Sequence[str | None] = (),
    asked: frozenset[str] = frozenset(),
    marked: bool = False,
    origins: Sequence[frozenset[str]] = (),
    tellers: Sequence[Teller | None] = (),
    centre: np.ndarray | None = None,
    chain: bool = True,
    meaning: bool = True,
) -> set[tuple[int, int]]:
    """The pairs ``(older, newer)`` of statements that conflict (module docstring).

    ``relevance`` holds each statement's cosine to the query where known;
    ``query_terms`` the query's names and tokens with a digit, as index terms
    (:func:`naming_terms`). ``changes=False`` keeps only the first kind
    (shared frame, close meaning): the change-marker path is for questions that
    ask about the present. ``anchor`` (:func:`anchor_terms`): only statements
    that both hold all of these index terms can conflict. ``sessions``: each
    statement's session where known; two statements of one session (one telling:
    a list of facts, a chat's turns) conflict only when the newer one corrects
    the older (:func:`~engram.ingest.supersede.corrects`) or, with
    ``changes``, states a change. A correction or denial counts whatever the
    question's tense. ``asked``: the query's index terms; given, a statement
    takes part when its answer clause holds ``COVER`` of them or its cosine is
    within ``DENSE_MARGIN`` of the best, and markers are read in the answer
    clause (module docstring). ``marked`` (with ``changes``): only a stated
    change or a correction counts, not an event, a number or an answer given
    twice (a "When is ...?" question: :func:`asks_schedule`). ``origins``: the messages
    each statement tells (a memory and its message are one statement to the nearest-in-
    meaning tests). ``tellers``: the speaker each statement names, where it names one; two
    statements told apart (:func:`told_apart`: "Jon" / "Gina") never conflict.
    ``centre``: taken from each vector before the nearest-in-meaning tests
    (:func:`~.nearness.pairs_apart`); the cosines the thresholds read stay those of the vectors.
    ``chain``: a statement that replaced one is replaced in turn by its next (:data:`CHAIN`;
    not for a question asking for several values, :func:`~.asks.asks_several`).
    ``meaning=False``: two statements close in meaning (``SAME_MEANING``) are not for that
    alone one said again with another value (a question asking when something
    happened, :func:`~.asks.asks_when_done`: a chat's later turns on an event are close
    to its telling without retelling it).

    What is read of each statement once is a :class:`~.pairs.Reading`; whether the newer
    of a pair replaces the older, kind by kind, :attr:`~.pairs.Pair.replaces`.
    """
    reading = read(texts, vectors, relevance, query_terms, changes, sessions, asked, marked,
                   origins, tellers, centre, meaning)
    n, terms, who, near = len(texts), reading.terms, reading.tellers, reading.near
    out: set[tuple[int, int]] = set()
    # a statement that replaced an older one states a value, however it told it ("Hannah
    # quit teaching to retrain as a paramedic" after "My sister Hannah is a primary
    # teacher"): a later change replaces it in turn, as it would a state (a value told
    # in turn, one change after another: :data:`CHAIN`)
    settled: set[int] = set()
    one_value = [k <= CHAIN_WORDS for k in reading.sizes]  # a value told, not a chat turn
    fresh: set[int] | None = None  # the first pass reads every pair, later ones the new
    for _ in range(CHAIN if chain else 1):
        for i, j in _pairs_of(n, fresh):
            if times[i] == times[j]:
                continue
            if anchor and not (anchor <= terms[i] and anchor <= terms[j]):
                continue
            if told_apart(who[i], who[j]):
                continue  # one speaker's statement does not replace another's
            newer, older = (j, i) if times[j] > times[i] else (i, j)
            # the older replaced a statement before it, and of the two one is the other's
            # nearest in meaning, or the newer is nearest a value the older replaced, at a
            # later telling's closeness: the next value ("I take my coffee black" / "I've
            # started adding oat milk" / "Switched to decaf with almond milk")
            chained = False
            if older in settled and one_value[older] and one_value[newer]:
                # the statement of the chain the newer is nearest: the older, or one it replaced
                kin_of = (older if near.get(newer) == older or near.get(older) == newer
                          else near.get(newer))
                if kin_of is not None and (kin_of == older or (kin_of, older) in out):
                    va, vb = vectors[newer], vectors[kin_of]
                    # as close to it as a later telling is (:data:`FOLLOW_MEANING`)
                    chained = (va is not None and vb is not None
                               and float(np.dot(va, vb)) >= FOLLOW_MEANING)
            if Pair(reading, older, newer, chained).replaces:
                out.add((older, newer))
        # (one value before it: a statement that replaced several is a topic's hub in a
        # chat, not a value told in turn)
        before = Counter(new for _, new in out)
        grown = {new for new, k in before.items() if k == 1} - settled
        if not grown:
            break
        settled |= grown
        fresh = grown
    return out


def _pairs_of(n: int, among: set[int] | None) -> Iterator[tuple[int, int]]:
    """The pairs ``(i, j)``, ``i < j < n``; with ``among``, those holding one of its."""
    for i in range(n):
        for j in range(i + 1, n):
            if among is None or i in among or j in among:
                yield i, j


def told_apart(a: Teller | None, b: Teller | None) -> bool:
    """Whether two statements were told by different speakers: both name one and the
    names differ ("Jon" / "Gina", "user" / "assistant"). A statement that names no
    speaker (a memory; a note a model wrote with ``role`` alone, "I moved to Berlin in
    May" on the user's behalf) is told by anyone."""
    return a is not None and b is not None and a != b


def reach(depth: int) -> int:
    """How many of the best hits :func:`newer_first` reads for a ``depth``: the
    top ``depth``, whose statements can be replaced, and ``REACH`` more, which
    can hold the newer statement that replaces one of them."""
    return depth + REACH if depth > 1 else depth


def newer_first(
    ranked: list[T],
    depth: int,
    text_of: Callable[[T], str],
    time_of: Callable[[T], datetime],
    vector_of: Mapping[int, np.ndarray],
    relevance_of: Callable[[T], float | None] = lambda _: None,
    naming: frozenset[str] = frozenset(),
    present: bool = True,
    anchor: frozenset[str] = frozenset(),
    session_of: Callable[[T], str | None] = lambda _: None,
    query: str = "",
    origin_of: Callable[[T], frozenset[str]] = lambda _: frozenset(),
    gathers: Callable[[T], bool] = lambda _: False,
    teller_of: Callable[[T], Teller | None] = lambda _: None,
    centre: np.ndarray | None = None,
    earlier: bool = False,
) -> list[T]:
    """``ranked`` with each conflict group of its top ``depth`` ordered newest first,
    in the positions the group held. ``vector_of`` maps a position to the item's
    vector where known; ``relevance_of`` gives an item's cosine to the query;
    ``naming`` is :func:`naming_terms` of the query; ``present``: the query asks
    about the present ("now", "currently", ...), which lets statements of change
    count (:func:`conflicts`); ``anchor``: terms both statements of a conflict
    hold (:func:`anchor_terms`); ``session_of``: an item's session, where it has one;
    ``query``: the question, whose words decide which statements answer it
    (:func:`conflicts`' ``asked``); ``origin_of``: the messages an item tells (an
    episode: itself; a memory: its source episodes), for :func:`inherited`;
    ``gathers``: an item whose value gathers observations (a tracked preference), which
    replaces nothing; ``teller_of``: the speaker an item names (:data:`Teller`), if any;
    ``centre``: taken from the vectors before the nearest-in-meaning tests
    (:func:`conflicts`); ``earlier``: the question asks about an earlier state ("What car
    did I drive before?"), so each group is ordered oldest first instead."""
    head = ranked[:reach(depth)]
    if len(head) < 2:
        return ranked
    texts = [text_of(x) for x in head]
    asked = _terms(query) - SPEAKER
    # a "When is ...?" question takes a stated change (not when it names a year)
    schedule = not present and not anchor and asks_schedule(query)
    pairs = {(old, new) for old, new in conflicts(
        texts,
        [time_of(x) for x in head],
        [vector_of.get(i) for i in range(len(head))],
        [relevance_of(x) for x in head],
        naming,
        present or schedule,
        anchor,
        [session_of(x) for x in head],
        asked,
        schedule,
        [origin_of(x) for x in head],
        [teller_of(x) for x in head],
        centre,
        not asks_several(query),
        not asks_when_done(query),
    ) if old < depth and (new < depth or _covers(texts[new], asked))
        and not _asks_idly(texts[new]) and not gathers(head[new])}
    if not pairs:
        return ranked
    pairs = inherited(pairs, [origin_of(x) for x in head], depth, texts,
                      [bool(_terms(t) & asked) for t in texts])
    if earlier:
        pairs = {(new, old) for old, new in pairs}
    order = list(range(len(head)))
    # move a newer statement just above an older one it contradicts, until none is
    # left below such a statement (bounded: each pass moves one statement up)
    for _ in range(len(head) * len(head)):
        pos = {k: p for p, k in enumerate(order)}
        found = min(
            ((pos[old], pos[new], new) for old, new in pairs if pos[new] > pos[old]),
            default=None,
        )
        if found is None:
            break
        at, was, new = found
        order.insert(at, order.pop(was))
    return [head[k] for k in order] + ranked[len(head):]
