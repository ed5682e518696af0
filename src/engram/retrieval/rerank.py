"""A learned linear reranker over cheap, local features of the fused head.

After fusion the ``rerank_depth`` best candidates are rescored with

    score(x) = sum over features f of weight_f * f(x)

The features need no model call: the item's fused score (relative to the
best), its own (pre-window) BM25 and dense scores, its windowed scores (its own
plus what it borrows from its neighbours), how many of the query's words it
holds, whether it names what the query names, whether its session holds other
strong matches (a coarse, session-level unit: evidence for a question tends to
sit together), and whether it falls in the time range the query names. Weights
are data (:attr:`RetrievalConfig.rerank`),
fitted on the development parts of every data set together
(``python -m tools.fit_rerank_cv``).

How far lexical overlap is trusted depends on the item: ``dense_nolex`` and
``session_nolex`` repeat the cosine and the session mass of an item that holds
none of the query's terms (``dense_nolex`` only for an item of at least 4 index
terms: a statement, not a pleasantry), so the fit can weigh a paraphrase's
cosine up (a turn about "a corgi" for "what pet ...") and the lift a word-less
turn borrows from its session's lexical matches down (small talk next to a turn
that shares the query's words is not evidence because of it).

:func:`features` is a pure function of the query, the candidate lists and the
fetched items; :func:`score` applies weights. Both are deterministic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import isnan
from operator import attrgetter

import numpy as np

from ..index.lexical import term_set, tokens
from ..index.rowfacts import TIME_WORDS, TIMEY, TIMEY_PATTERN, read_terms, timey
from ..models import Episode, ItemRef, Memory
from ..recall import QueryTime, parse_query_time, query_names
from ..store.base import Candidate, Neighbour
from ..store.views import FLAGS, TERMS, kept_facts
from ..text import TextMemo, text_cache
from .aliases import addressed, aliased
from .fusion import Fused
from .signals import Signal

__all__ = ["FEATURES", "QueryInfo", "features", "query_info", "score"]

#: feature names, in column order
FEATURES: tuple[str, ...] = (
    "fused",  # fused score / best fused score of the head
    "bm25",  # own BM25 score / best BM25 score (0: not a lexical match)
    "bm25_top",  # 1 for the best lexical match
    "dense",  # own cosine similarity
    "dense_gap",  # cosine - best cosine of the list (<= 0)
    "dense_top",  # 1 for the best dense match
    "window",  # windowed BM25 / best: own score (x window_self) plus the neighbours'
    "dense_window",  # the same for the dense list
    "coverage",  # share of the query's index terms the item holds
    "names",  # share of the query's names (people, titles) the item holds
    "speaker",  # the query names the item's speaker
    "session",  # lexical mass of the item's session in the head / best session's
    "time_in",  # the query names a time range and the item falls in it
    "time_out",  # the query names a time range and the item falls outside it
    "when_time",  # the query asks "when" and the item says something about time
    "memory",  # the item is a derived memory
    "question",  # the item asks a question (evidence is more often the reply)
    "prev_coverage",  # coverage of the turn just before it (the question it answers)
    "length",  # how much the item says: index terms / 30, capped at 1
    "assistant",  # an episode an AI assistant said (role "assistant"), not the user
    "dense_nolex",  # own cosine, for an item of >= 4 index terms holding none of the query's
    "session_nolex",  # session, for an item holding none of the query's terms (else 0)
    "bm25_lead",  # for the best lexical match: (best - second best BM25) / best (0: a tie)
    "memory_near",  # a derived memory among the dense signal's NEAR best hits, NEAR_GAP near
)
#: how many of the dense signal's best hits a memory must be among for ``memory_near``
NEAR = 10
#: and whose cosine is at most this below the best one's: in a store of a few dozen items
#: every memory is among the 10 best, "The user likes a creamy sauce" for "What printer
#: does the user have?" at .5 below the best (of the memories the development sets lift,
#: 95% stand within .29 of the best; at .3 no question of them moves)
NEAR_GAP = 0.3
#: feature name -> column
_COL = {name: i for i, name in enumerate(FEATURES)}
#: index terms an item needs for ``dense_nolex``: a statement, not a pleasantry
#: ("Not much, work has been busy" has 2; "we adopted a corgi puppy" 5)
_SAYS = 4


@dataclass(frozen=True)
class QueryInfo:
    """What the features need from the query, computed once per search."""

    terms: frozenset[str]
    names: tuple[str, ...]
    start: datetime | None
    end: datetime | None
    asks_when: bool = False


#: the time-word test (:mod:`engram.index.rowfacts`: a card holds its answer)
_TIME_WORDS, _TIMEY, _timey = TIME_WORDS, TIMEY_PATTERN, timey


#: a day the query names reaches a day either side: what happened on a day is often told
#: the day after ("What did Kevin watch on 10.01.2024?" asked of "I watched ... last
#: night", sent on the 11th), and a day's stamp depends on the sender's time zone
_SLACK = timedelta(days=1)


def _one_day(qt: QueryTime) -> bool:
    """Whether ``qt`` names one day (a start and an end at most a day apart)."""
    return (qt.start is not None and qt.end is not None
            and qt.end - qt.start <= timedelta(days=1))


def _widened(at: datetime | None, by: timedelta) -> datetime | None:
    """``at + by``, or ``at`` where that leaves the calendar (year 1 or 9999)."""
    if at is None:
        return None
    try:
        return at + by
    except OverflowError:
        return at


def query_info(query: str, now: datetime) -> QueryInfo:
    """What the features need from ``query``; ``names``: the people and names of
    :func:`~engram.recall.query_entities`, lower-cased (:func:`~engram.recall.query_names`)."""
    qt = parse_query_time(query, now)
    start = end = None
    if qt is not None:  # one day reaches a day either side (:data:`_SLACK`)
        one = _one_day(qt)
        start = _widened(qt.start, -_SLACK) if one else qt.start
        end = _widened(qt.end, _SLACK) if one else qt.end
    return QueryInfo(
        terms=frozenset(tokens(query)),
        names=tuple(n.lower() for n in query_names(query)),
        start=start,
        end=end,
        asks_when=qt is not None and qt.asks_when,
    )


#: bounded: a head's texts repeat across searches, a soak's never do (~1 KB an entry)
@text_cache(8192)
def _terms(text: str) -> frozenset[str]:
    held = _ITEM_TERMS.get(text)  # the features' memos first
    if held is None:
        held = _KEPT.get(text)
    return read_terms(held) if held is not None else term_set(text)


#: an item's text -> its index terms joined by spaces (:func:`_item_terms`; emptied
#: with the text memos). A string, not a set: the garbage collector does not walk a
#: string, and a full collection walked every term of these sets (most of its time
#: in a process that had searched long chats)
_ITEM_TERMS: TextMemo[str, str] = TextMemo()
_ITEM_TERMS_MAX = 8192
#: an item's text -> its terms as its view's card wrote them (:func:`_head_terms`)
_KEPT: TextMemo[str, str] = TextMemo()


def _item_terms(ref: ItemRef, text: str,
                kept: Callable[[ItemRef, str], frozenset[str] | None] | None,
                item: Episode | Memory | None = None) -> str:
    """``term_set(text)`` of an item's ``text``, its terms joined by spaces (each
    once, in no particular order): memoised, else the terms ``item`` (a view of it)
    holds from its card (:func:`~engram.store.views.kept_facts`), else the set the
    store kept from indexing it (``kept``), else split here."""
    out = _ITEM_TERMS.get(text)
    if out is None:
        held = kept_facts(item) if item is not None else None
        found = (read_terms(held[0]) if held is not None
                 else kept(ref, text) if kept is not None else None)
        out = " ".join(term_set(text) if found is None else found)
        if len(_ITEM_TERMS) >= _ITEM_TERMS_MAX:
            _ITEM_TERMS.clear()
        _ITEM_TERMS[text] = out
    return out


def _when(item: Episode | Memory) -> datetime:
    if isinstance(item, Episode):
        return item.occurred_at
    return item.valid_from or item.created_at


def _session(item: Episode | Memory) -> str | None:
    return item.scope.session_id if isinstance(item, Episode) else None


def features(
    info: QueryInfo,
    head: Sequence[Fused],
    items: Mapping[ItemRef, Episode | Memory],
    raw: Mapping[str, Sequence[Candidate]],
    windowed: Mapping[str, Sequence[Candidate]],
    named_speakers: set[str],
    neighbours: Mapping[str, Sequence[Neighbour]] | None = None,
    kept: Callable[[ItemRef, str], frozenset[str] | None] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> np.ndarray:
    """One row of :data:`FEATURES` per entry of ``head`` (all of whose items are fetched).

    ``raw`` holds each signal's list before neighbour windows, ``windowed`` after;
    ``neighbours`` the session neighbours known for some episodes (the window
    seeds): an episode's previous turn counts when it is one of them or a
    seed's neighbour, and is in ``items``. ``kept(ref, text)``: the term set of
    an item's text kept from indexing, or ``None``
    (:meth:`~engram.store.base.Store.kept_terms`), asked for texts not memoised
    here; the others are split here (the same sets). ``aliases``: a lower-cased
    speaker's other names the query uses (:func:`.aliases.speaker_aliases`), matched
    as the speaker's name is.

    Built a column at a time over the head, as array operations where the
    items' facts allow (:func:`_term_hits`: how many query terms each head item
    holds, over its view's term string, with no per-item set built): the same
    values as a row at a time, bit for bit.
    """
    n = len(head)
    out = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if n == 0:
        return out
    col = _COL
    lex, lex_scores = raw.get(Signal.BM25, ()), _scores(raw.get(Signal.BM25, ()))
    vec, vec_scores = raw.get(Signal.DENSE, ()), _scores(raw.get(Signal.DENSE, ()))
    bm25 = dict(zip(map(_REF, lex), lex_scores, strict=True))
    bm25_hi = max(bm25.values(), default=0.0) or 1.0
    dense = dict(zip(map(_REF, vec), vec_scores, strict=True))
    dense_hi = max(dense.values(), default=0.0)
    win = windowed.get(Signal.BM25, ())
    win_hi = max(_scores(win), default=0.0) or 1.0
    win_score = {c.ref: c.score for c in win}
    dwin = windowed.get(Signal.DENSE, ())
    dwin_hi = max(_scores(dwin), default=0.0) or 1.0
    dwin_score = {c.ref: c.score for c in dwin}
    fused_hi = head[0].score or 1.0
    # the head's fields, read once
    refs = [f.ref for f in head]
    its = [items[r] for r in refs]
    texts = [i.text for i in its]
    episode = [isinstance(i, Episode) for i in its]
    speakers = [i.speaker if isinstance(i, Episode) else None for i in its]
    told = [aliased(s, aliases) for s in speakers] if aliases else speakers
    sessions = [i.scope.session_id if e else None for i, e in zip(its, episode, strict=True)]
    own = [bm25.get(r, 0.0) / bm25_hi for r in refs]
    mass: dict[str, float] = defaultdict(float)
    for sess, b in zip(sessions, own, strict=True):
        if sess is not None:
            mass[sess] += b
    mass_hi = max(mass.values(), default=0.0) or 1.0
    out[:, col["fused"]] = [f.score / fused_hi for f in head]
    out[:, col["bm25"]] = own
    for c, best in (("bm25_top", _first_best(lex, items, lex_scores)),
                    ("dense_top", _first_best(vec, items, vec_scores))):
        if best is not None:
            out[[i for i, r in enumerate(refs) if r == best], col[c]] = 1.0
    if (lead := _lead(lex, lex_scores)) > 0.0:  # how decisive the lexical match is
        out[:, col["bm25_lead"]] = out[:, col["bm25_top"]] * lead
    cos = [dense.get(r) for r in refs]
    out[:, col["dense"]] = [0.0 if d is None else d for d in cos]
    out[:, col["dense_gap"]] = [-1.0 if d is None else d - dense_hi for d in cos]
    out[:, col["window"]] = [0.0 if (w := win_score.get(r)) is None else w / win_hi
                             for r in refs]
    out[:, col["dense_window"]] = [0.0 if (w := dwin_score.get(r)) is None else w / dwin_hi
                                   for r in refs]
    held = [i.__dict__.get(TERMS) for i in its]  # a view's terms as its card wrote them
    terms = _head_terms(refs, texts, its, held, kept)
    sizes = np.array([t.count(" ") + 1 if t else 0 for t in terms], dtype=np.int64)
    asked = info.terms
    # the query's names a message only says to someone ("Hey Kate!"): it is to them,
    # not about them, so they count for neither its coverage nor its names
    to = addressed(info.names, texts) if info.names else []
    if asked:  # the terms of "speaker text": no word spans the space
        hits = _term_hits(asked, terms, told)
        for i, ns in enumerate(to):
            if ns:  # a name the speaker's own (other) names hold still counts
                said_by = _terms(told[i] or "")
                gone = {tm for n in ns for tm in _terms(n) if tm in asked and tm not in said_by}
                hits[i] = max(0, hits[i] - len(gone))
        covered = hits / len(asked)
        out[:, col["coverage"]] = covered
    if info.names:
        names, k = info.names, len(info.names)
        out[:, col["names"]] = [
            sum(1 for nm in names if nm in low and not (to and nm in to[i])) / k
            for i, low in enumerate(f"{s or ''} {t}".lower()
                                    for s, t in zip(told, texts, strict=True))]
    if named_speakers:
        out[[i for i, s in enumerate(speakers) if s and s.lower() in named_speakers],
            col["speaker"]] = 1.0
    out[:, col["session"]] = [0.0 if s is None else mass[s] / mass_hi for s in sessions]
    if info.start is not None or info.end is not None:
        start, end = info.start, info.end
        inside = [(start is None or w >= start) and (end is None or w < end)
                  for w in map(_when, its)]
        out[:, col["time_in"]] = inside
        out[:, col["time_out"]] = [not x for x in inside]
    if info.asks_when:
        out[:, col["when_time"]] = [
            bool(i.__dict__[FLAGS] & TIMEY) if h is not None else timey(t)
            for i, h, t in zip(its, held, texts, strict=True)]
    out[:, col["memory"]] = [not e for e in episode]
    near = {c.ref for c, d in zip(vec[:NEAR], vec_scores, strict=False)
            if d >= dense_hi - NEAR_GAP}
    out[:, col["memory_near"]] = [not e and r in near for e, r in zip(episode, refs, strict=True)]
    out[:, col["question"]] = ["?" in t for t in texts]
    if asked:
        out[:, col["prev_coverage"]] = _prev_coverage(refs, items, neighbours, asked, kept,
                                                      covered, aliases)
    out[:, col["length"]] = np.minimum(1.0, sizes / 30.0)
    out[:, col["assistant"]] = [isinstance(i, Episode) and i.role == "assistant" for i in its]
    # no query term: a paraphrase, or small talk
    nolex = out[:, col["coverage"]] == 0.0
    says = nolex & (sizes >= _SAYS)
    out[says, col["dense_nolex"]] = out[says, col["dense"]]
    out[nolex, col["session_nolex"]] = out[nolex, col["session"]]
    return out


def _scores(cands: Sequence[Candidate]) -> list[float]:
    """The scores of ``cands``, in order."""
    return list(map(_SCORE, cands))


def _head_terms(refs: Sequence[ItemRef], texts: Sequence[str],
                its: Sequence[Episode | Memory], held: Sequence[str | None],
                kept: Callable[[ItemRef, str], frozenset[str] | None] | None) -> list[str]:
    """Each head item's index terms joined by spaces: as its view's card wrote them
    (``held``, memoised by text for :func:`_terms`), else as :func:`_item_terms`
    finds them."""
    if len(_KEPT) >= _ITEM_TERMS_MAX:
        _KEPT.clear()
    _KEPT.update((t, h) for t, h in zip(texts, held, strict=True) if h is not None)
    return [h if h is not None else _item_terms(r, t, kept, i)
            for r, t, i, h in zip(refs, texts, its, held, strict=True)]


def _term_hits(asked: frozenset[str], terms: Sequence[str],
               speakers: Sequence[str | None]) -> np.ndarray:
    """How many of ``asked`` each item holds, among its ``terms`` (space-joined, as
    :func:`_head_terms` gives them) or its speaker's. A term is held where " term "
    is in " terms ": a substring test per asked term (a question asks a few), with
    no item's terms split into a list or a set; each distinct speaker's terms are
    read once."""
    keys = [(t, f" {t} ") for t in asked]
    padded = list(map(" {} ".format, terms))
    said = {s: asked & _terms(s) for s in set(speakers) if s}
    if any(said.values()):
        found = [{t for t, k in keys if k in p} | (said[s] if s else _NONE)
                 for p, s in zip(padded, speakers, strict=True)]
        return np.fromiter(map(len, found), dtype=np.int64, count=len(found))
    return np.fromiter((sum(k in p for _, k in keys) for p in padded), dtype=np.int64,
                       count=len(padded))


#: no terms
_NONE: frozenset[str] = frozenset()


def _prev_coverage(
    refs: Sequence[ItemRef],
    items: Mapping[ItemRef, Episode | Memory],
    neighbours: Mapping[str, Sequence[Neighbour]] | None,
    asked: frozenset[str],
    kept: Callable[[ItemRef, str], frozenset[str] | None] | None,
    covered: np.ndarray | None = None,
    aliases: Mapping[str, str] | None = None,
) -> list[float]:
    """:data:`FEATURES`' ``prev_coverage`` of each of ``refs``: the share of the
    query's terms ``asked`` that the turn just before it holds (0 where unknown).
    ``covered``: the coverage of each of ``refs`` already worked out (read for a
    previous turn in ``refs``)."""
    # the turn before each episode, from whatever neighbour lists were fetched
    previous: dict[str, str] = {}
    for seed, ns in (neighbours or {}).items():
        for nb in ns:
            if nb.offset == -1:
                previous[seed] = nb.id
            elif nb.offset == 1:
                previous.setdefault(nb.id, seed)
    no_prev = items.get(ItemRef("episode", ""))  # the look-up of an episode without one
    at = {r: i for i, r in enumerate(refs)} if covered is not None else {}
    done = covered.tolist() if covered is not None else []
    k = len(asked)
    out = []
    for ref in refs:
        pid = previous.get(ref.id)
        prev_ref = ItemRef("episode", pid) if pid is not None else None
        j = at.get(prev_ref) if prev_ref is not None else None
        if j is not None:  # the head's own coverage of it
            out.append(done[j])
            continue
        prev = items.get(prev_ref) if prev_ref is not None else no_prev
        if prev is None:
            out.append(0.0)
            continue
        prev_speaker = aliased(getattr(prev, "speaker", ""), aliases or {})
        said = (asked.intersection(_item_terms(prev_ref, prev.text, kept, prev).split(" "))
                if prev_ref is not None else asked & _terms(prev.text))
        if prev_speaker:
            said |= asked & _terms(prev_speaker)
        out.append(len(said) / k)
    return out


def _first_best(cands: Sequence[Candidate],
                items: Mapping[ItemRef, Episode | Memory] | None = None,
                scores: Sequence[float] | None = None) -> ItemRef | None:
    """The best-scored candidate of a signal's list (NaN scores ignored; ``None``
    for an empty list). A tie goes to the newest of the tied items in ``items``
    (the later statement, as a knowledge update wants), then to the list's order
    (a store lists equal scores in row order): never to an id, whose last 16
    characters are random, so items written in the same millisecond would take
    "best" by chance. ``scores``: the list's scores, if already read."""
    known = _known(cands, scores)
    if not known:
        return None
    hi = max(known)
    at = known.index(hi) if len(known) == len(cands) else None
    if at is not None and (not items or known.count(hi) == 1):  # C-level: no NaN
        return cands[at].ref
    tied = [c.ref for c in cands if c.score == hi]
    if len(tied) == 1 or not items:
        return tied[0]
    # max keeps the first of equal keys: the list's order among equal times
    return max(tied, key=lambda r: _when(items[r]) if r in items else _NEVER)


def _lead(cands: Sequence[Candidate], scores: Sequence[float] | None = None) -> float:
    """How far a list's best score stands above its second, relative to the best:
    ``(s1 - s2) / s1`` (0 on a tie at the top or with no positive best; 1 for a list
    of one)."""
    top = sorted(_known(cands, scores), reverse=True)[:2]
    if not top or top[0] <= 0.0:
        return 0.0
    return (top[0] - (top[1] if len(top) > 1 else 0.0)) / top[0]


def _known(cands: Sequence[Candidate], scores: Sequence[float] | None) -> list[float]:
    """The scores of ``cands`` (``scores`` if given) that are not NaN, in order."""
    got = list(map(_SCORE, cands)) if scores is None else list(scores)
    return [s for s in got if s == s] if any(map(isnan, got)) else got


#: a candidate's ref, and its score
_REF, _SCORE = attrgetter("ref"), attrgetter("score")


#: the time of a tied candidate not fetched (never the newest)
_NEVER = datetime.min.replace(tzinfo=UTC)


def score(matrix: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
    """``matrix @ w`` with ``w`` from ``weights`` by feature name (missing: 0)."""
    w = np.array([weights.get(name, 0.0) for name in FEATURES], dtype=np.float64)
    return matrix @ w

