"""When a newer statement replaces an older one, decided without a model and
without a list of attributes.

Three kinds of evidence, all read from the words themselves:

* **Same frame, one slot differs** (:func:`frame`): aligned word by word
  (``difflib`` over lower-cased words, no parser), the two share their frame
  and differ in one place ("Nora and Eliza collaborated on X" / "Joren and
  Eliza collaborated on X"; "is known for his expertise in environmental
  science" / "... in classical music"): at most :data:`SLOTS` differing runs
  (a swap of two names is two), equal runs of :data:`FRAME_WORDS` words and
  :data:`FRAME_SHARE` of the shorter statement. A slot may flip polarity
  ("likes" / "no longer likes", "is" / "is not").
* **A stated change** (:data:`CHANGE`, :func:`states_change`): the newer one
  says something replaced a state ("moved to", "switched to", "started a new
  job as", "adopted", "gave up", "no longer", "rescheduled", "has increased
  to" ...) and the older does not.
* **A correction** (:func:`corrects`): "actually", "not anymore",
  "correction", "I meant", "turns out", or a denial ("did not attend", "has
  never published") in the newer one and not in the older.

Two users of these tests:

* the memory layer (:func:`replaces`, called by
  :class:`engram.ingest.consolidate.RuleConsolidator`): a new memory
  supersedes an active one of the same subject when they share a predicate
  frame and one slot differs in a specific frame, flips polarity, or comes with
  a correction or a stated change. A short frame does not say the relation
  holds one value only: "Ana likes hiking" / "Ana likes pottery" (and a later
  "now") replace nothing; the older memory stays active.
* the read side (:mod:`engram.retrieval.updates`), which orders a search's
  hits newest first among statements that conflict, with the question deciding
  which statements take part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import pairwise
from typing import NamedTuple

from ..text import text_cache

__all__ = ["CHANGE", "CORRECTION", "FRAME_SHARE", "FRAME_WORDS", "MAX_WORDS", "SLOTS", "Frame",
           "align", "corrects", "frame", "narrates_change", "replaces", "states_change",
           "tells_event", "tells_replacement", "words"]

#: "correction" as a marker: opening what one says ("Correction: she's nine", "Oh,
#: correction", "oh correction") or "a quick correction", not a thing named by it
#: ("focusing on error correction and proof writing", "colour correction in Lightroom",
#: "error detection and correction")
_CORRECTION_WORD = ("(?:(?<![\\w-]\\s)" + "".join(
    rf"|(?<=\b{w}\s)" for w in ("a", "one", "oh", "small", "quick", "minor",
                                 "slight", "tiny")) + ")correction")
#: a statement that replaces a state or corrects an earlier one (general
#: English markers of change, not attributes)
CHANGE = re.compile(
    r"\b(?:now|nowadays|these days|currently|anymore|any more|no longer|no more|not anymore|"
    r"actually|" + _CORRECTION_WORD + r"|turn(?:s|ed) out|instead|switch(?:ed|ing)?|"
    r"chang(?:ed|ing)|change of plans?|"
    r"mov(?:ed|ing)|relocat\w*|(?:a|an|my|our|his|her|their|the) new|"
    r"adopt(?:ed|ing)|bought|sold|traded|reschedul\w*|postpon\w*|migrat(?:ed|ing|ion)|"
    # something taken out of what it was in ("pulling the last MUI imports out of the
    # dashboard", "pulled out of the race")
    r"pull(?:ed|ing)(?: \w+){0,4} out of|"
    r"(?:push(?:ed)?|brought|bring)(?: \w+){0,3} (?:back|forward)|"
    r"replac(?!ements?\b)\w+|upgrad\w+|quit|gave up|giv(?:e|ing) up|stopp(?:ed|ing)|left|"
    r"start(?:ed|ing)|took up|joined|dropp(?:ed|ing)|cancel{1,2}ed|cut out|"
    r"broke up|split up|retired|passed away|died|became|become|updat\w+|"
    # "I got a puppy" (not "I've got a Labrador": what one has, :data:`_STATE_PARTICIPLE`)
    r"(?<!['’]ve )(?<!['’]s )(?<!\bhave )(?<!\bhas )got (?:a|an|my)|"
    r"(?:has|have|had) (?:grown|improved|increased|decreased|dropped|risen|fallen|gone|"
    r"reached|climbed)|(?:increased|decreased|grew|rose|fell|dropped|improved) to|"
    r"(?:went|gone) (?:up|down)|recently|since then|from now on|"
    # a denial contradicts what was said before ("has no siblings", "never lived there")
    r"(?:is|are|was|were|has|have|had|did|does|do) (?:not|never|no)|"
    r"(?:isn|aren|wasn|weren|hasn|haven|hadn|didn|doesn)'t|never)\b",
    re.IGNORECASE,
)
#: an explicit correction of something said before
CORRECTION = re.compile(
    r"\b(?:actually|" + _CORRECTION_WORD + r"|not anymore|no longer|any ?more|i meant|turns? out|"
    r"turned out|scratch that|my mistake|i was wrong|to be clear|instead)\b",
    re.IGNORECASE,
)
#: a denial of what was said before ("did not attend", "has never published")
_DENIAL = re.compile(
    r"\b(?:(?:is|are|was|were|has|have|had|did|does|do|could|would|will)\s+(?:not|never)|"
    r"(?:isn|aren|wasn|weren|hasn|haven|hadn|didn|doesn|don|won|couldn)['’]t|never|no longer|"
    r"not anymore|(?:has|have|had) no)\b",
    re.IGNORECASE,
)
#: a value set right on the read side ("my nephew is nine, not seven", "I got that
#: wrong"); not a correction for the memory layer, where "tea, not coffee" is a taste
_SET_RIGHT = re.compile(
    r"\b\w+,\s*not\s+(?:\w+\s+){0,2}\w+\W*$|\b(?:got|had) (?:that|it|this) wrong\b",
    re.IGNORECASE)
#: a word that flips what a slot says
_POLARITY = frozenset({"not", "never", "no", "longer", "anymore", "dislikes", "dislike",
                       "hates", "hate", "quit", "stopped", "only"})

#: least words the two frames share
FRAME_WORDS = 3
#: least share of the shorter statement's words the frame holds
FRAME_SHARE = 0.4
#: most differing runs in a shared frame (a swap of two names is two)
SLOTS = 2
#: a frame of at least this many words says a relation specific enough that one
#: differing slot replaces the value (shorter ones need a polarity flip)
SPECIFIC_FRAME = 4
#: statements longer than this are not aligned word by word (chat turns of
#: hundreds of words share no single frame)
MAX_WORDS = 80

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


@text_cache(8192)
def words(text: str) -> tuple[str, ...]:
    """The lower-cased words of ``text`` ("isn't" one word), in order."""
    lower = text.lower()
    if "’" in lower:  # one replace of the text, not one a word: the same words
        lower = lower.replace("’", "'")
    return tuple(_WORD.findall(lower))


@dataclass(frozen=True)
class Frame:
    """How two statements align: ``shared`` words in equal runs, ``slots``
    differing runs, the words of each side's slots, and whether a slot flips
    polarity."""

    shared: int
    slots: int
    old: tuple[str, ...]
    new: tuple[str, ...]
    polarity: bool

    def same(self, shorter: int) -> bool:
        """The two share one frame: 1 to :data:`SLOTS` differing runs, and equal
        runs of at least :data:`FRAME_WORDS` words (two when a slot flips
        polarity: "Ana likes tea" / "Ana dislikes tea") and :data:`FRAME_SHARE`
        of the shorter statement."""
        least = 2 if self.polarity else FRAME_WORDS
        return (0 < self.slots <= SLOTS and self.shared >= least
                and self.shared >= FRAME_SHARE * shorter)

    @property
    def specific(self) -> bool:
        """At least :data:`SPECIFIC_FRAME` shared words."""
        return self.shared >= SPECIFIC_FRAME


def frame(old: str, new: str) -> Frame | None:
    """The word alignment of two statements; ``None`` when either is longer than
    the alignment reads (:data:`MAX_WORDS`) or they share no frame
    (:meth:`Frame.same`). Exact bounds on what an alignment can share (words,
    each word's count, adjacent pairs) skip aligning pairs that cannot share a
    frame: the result is what :func:`align` gives."""
    a, b = words(old), words(new)
    if not a or not b or len(a) > MAX_WORDS or len(b) > MAX_WORDS:
        return None
    # the alignment shares at most the words of ``a`` that ``b`` holds: when that is
    # too few for any frame (:meth:`Frame.same`), skip aligning (most pairs of a head)
    in_b = set(b)
    bound = sum(map(in_b.__contains__, a))
    least = max(2, FRAME_SHARE * min(len(a), len(b)))
    if bound < least:
        return None
    # tighter: the equal runs pair each word of ``a`` with its own equal word of
    # ``b``, so they hold at most min(count in a, count in b) of each word
    common = in_b.intersection(a)
    if bound != len(common):  # a shared word repeats in ``a``
        if sum(min(a.count(w), b.count(w)) for w in common) < least:
            return None
    # a frame has at most SLOTS + 1 equal runs (the runs and the slots alternate), so
    # its ``shared`` words hold at least ``shared - SLOTS - 1`` adjacent pairs of ``a``
    # that are adjacent pairs of ``b`` too: fewer such pairs, no frame
    pairs_b = set(pairwise(b))
    if sum(map(pairs_b.__contains__, pairwise(a))) < least - SLOTS - 1:
        return None
    return align(a, b)


def align(a: tuple[str, ...], b: tuple[str, ...]) -> Frame | None:
    """The frame of two word sequences by full alignment (no shortcut), ``None``
    when they share none (:meth:`Frame.same`); :func:`frame` calls it only for
    pairs whose shared words could make a frame."""
    ops = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    shared = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag == "equal")
    diff = [(a[i1:i2], b[j1:j2]) for tag, i1, i2, j1, j2 in ops if tag != "equal"]
    olds = tuple(w for x, _ in diff for w in x)
    news = tuple(w for _, y in diff for w in y)
    flip = bool((set(olds) ^ set(news)) & _POLARITY) or any(
        w.endswith("n't") for w in set(olds) ^ set(news))
    found = Frame(shared, len(diff), olds, news, flip)
    return found if found.same(min(len(a), len(b))) else None


#: the past tenses and participles of common irregular English verbs whose
#: form is not also a present tense ("went", "took", "rewrote", not "put" or "cut"):
#: a closed class of the grammar, not a list of attributes
_IRREGULAR = (
    "went|gone|took|taken|got|gotten|gave|given|told|made|found|bought|brought|wrote|"
    "written|rewrote|rewritten|began|begun|chose|chosen|came|left|sent|spent|paid|won|"
    "lost|met|ran|drove|driven|flew|flown|grew|grown|knew|known|saw|seen|built|rebuilt|"
    "broke|broken|fell|fallen|felt|kept|held|led|said|thought|taught|caught|became|"
    "forgot|forgotten|stood|shook|woke|wore|worn|threw|thrown|drew|drawn|ate|eaten|"
    "drank|sang|swam|rode|ridden|hid|stole|stolen|froze|frozen|spoke|spoken|sold|heard|"
    "meant|sat|slept|sought|dealt|fought|dug|hung|lent|struck|swung|withdrew|overtook"
)
#: a completed event: a regular past tense ("migrated", "extended", "resprayed")
#: or an irregular one ("rewrote", "went", "gave")
_PAST_EVENT = re.compile(rf"\b(?:[a-z]{{2,}}(?<!e)ed|{_IRREGULAR})\b", re.IGNORECASE)
#: a participle after a form of "be" describes a state, not an event ("is hosted
#: on", "are based in", "is gone", "I'm married"; "'s" is left: "she's moved" is
#: "has moved")
_STATE_PARTICIPLE = re.compile(
    rf"\b(?:am|is|are|be|been|being|isn't|aren't)\s+(?:not\s+|never\s+)?(?:[a-z]+ly\s+)?"
    rf"(?:[a-z]{{2,}}(?<!e)ed|{_IRREGULAR})\b|['’](?:m|re)\s+(?:not\s+)?(?:[a-z]+ly\s+)?"
    rf"(?:[a-z]{{2,}}(?<!e)ed|{_IRREGULAR})\b"
    # "have got" right after its subject is "have": "I've got a Labrador", "we've got an
    # old HP Deskjet", "she's got two kids" say what one has, a state ("I got a puppy",
    # "I've just got a puppy", "I've got a new job" tell an event or a change)
    r"|(?:['’]ve|['’]s|\bhave|\bhas)\s+got\b"
    # after a word of degree or of seeming it is an adjective: "bit tired", "very
    # pleased", "too stressed", "feeling drained", "getting bored", "looks shattered"
    rf"|\b(?:bit|very|too|feel|feels|feeling|felt|getting|seem|seems|seemed|look|looks|"
    rf"looked)\s+(?:[a-z]+ly\s+)?(?:[a-z]{{2,}}(?<!e)ed|{_IRREGULAR})\b",
    re.IGNORECASE,
)


#: the letters that an IGNORECASE pattern's ASCII letter matches although their
#: ``str.lower()`` is not that letter ("İ", "ı", "ſ"; every other character
#: lower-cases to one character of the same ``\w``/``\s``/``\d`` class, and
#: only "K" (Kelvin) to an ASCII letter, its own)
_CASE_ODD = ("\u0130", "\u0131", "\u017f")


class _Markers(NamedTuple):
    """The marker patterns a text is read with (:func:`_read`)."""

    change: re.Pattern[str]
    correction: re.Pattern[str]
    denial: re.Pattern[str]
    set_right: re.Pattern[str]
    past_event: re.Pattern[str]
    state_participle: re.Pattern[str]


#: the patterns as written (IGNORECASE)
_ANY_CASE = _Markers(CHANGE, CORRECTION, _DENIAL, _SET_RIGHT, _PAST_EVENT, _STATE_PARTICIPLE)
#: the same patterns without IGNORECASE, for a lower-cased text: the engine skips an
#: alternative on its first letter, several times faster on the same answers
_LOWER = _Markers(*(re.compile(p.pattern, p.flags & ~re.IGNORECASE) for p in _ANY_CASE))


def _read(text: str) -> tuple[str, _Markers]:
    """``text`` lower-cased with the lower-case patterns (:data:`_LOWER`), which
    match it exactly where the IGNORECASE ones match ``text``: every position
    holds the same character class and the same letter up to case; a text
    holding one of :data:`_CASE_ODD` is read as it is, by the patterns as
    written."""
    if text.isascii() or not any(c in text for c in _CASE_ODD):
        return text.lower(), _LOWER
    return text, _ANY_CASE


@text_cache(8192)
def states_change(text: str) -> bool:
    """Whether ``text`` holds a marker of :data:`CHANGE` (memoised: texts recur)."""
    read, markers = _read(text)
    return markers.change.search(read) is not None


#: a span of time up to the present ("for three years now", "for a while now"):
#: how long a state has held, not a change
_DURATION_NOW = re.compile(
    r"\bfor\s+(?:(?:a|an|the|about|over|nearly|almost|\w+)\s+){0,3}"
    r"(?:years?|months?|weeks?|days?|decades?|ages|while|time)\s+now\b", re.IGNORECASE)


@text_cache(8192)
def narrates_change(text: str) -> bool:
    """Whether ``text`` holds a marker of :data:`CHANGE` other than a denial or a
    span of time up to now: "it never breaks", "isn't far" or "renting in Madrid for
    three years now" describe a state, "I started" or "now" tell of a change. A
    text without any marker has none once its denials are blanked (a blank between
    two non-word characters joins no marker), so it is not read twice."""
    if not states_change(text):
        return False
    read, markers = _read(text)
    kept = _DURATION_NOW.sub(" ", markers.denial.sub(" ", read))
    return markers.change.search(kept) is not None


@text_cache(8192)
def tells_event(text: str) -> bool:
    """Whether ``text`` narrates a completed event (a regular past tense): after
    an older statement of a state ("We store everything in MongoDB"), a later
    event on the same thing ("We migrated to PostgreSQL", "We rewrote the front
    end in Svelte") is a change. A participle after a form of "be" is a state
    ("The site is hosted on a VPS", "the VPS is gone"). A past tense is a whole
    word, and blanking the states leaves every other word whole: a text with no
    past tense at all is not read twice."""
    read, markers = _read(text)
    if markers.past_event.search(read) is None:
        return False
    return markers.past_event.search(markers.state_participle.sub(" ", read)) is not None


@text_cache(8192)
def corrects(text: str) -> bool:
    """Whether ``text`` corrects or denies something (:data:`CORRECTION`, a
    denial: "did not attend", "has never published", "isn't", or a value set
    right: "he is nine, not seven", "I got that wrong")."""
    read, markers = _read(text)
    return (markers.correction.search(read) is not None
            or markers.denial.search(read) is not None
            or markers.set_right.search(read) is not None)


@text_cache(8192)
def tells_replacement(text: str) -> bool:
    """Whether ``text`` says outright that a value was replaced: a marker of change
    other than a denial (:func:`narrates_change`: "relocated to Bristol", "switched
    to", "now"), a correction ("actually", "I got that wrong") or a value set right
    ("he is nine, not seven"). A bare denial ("he didn't want to come home") or a
    narrated event ("he found the sunniest spot") is not one."""
    if narrates_change(text):
        return True
    read, markers = _read(text)
    return (markers.correction.search(read) is not None
            or markers.set_right.search(read) is not None)


def _flips(f: Frame) -> bool:
    """The slots are short (at most three words) and differ by a negation and at
    most two other words ("likes" / "dislikes", "drinks" / "doesn't drink"),
    not by a new statement that holds a "don't"."""
    diff = set(f.old) ^ set(f.new)
    neg = {w for w in diff if w in _POLARITY or w.endswith("n't")}
    return bool(neg) and len(diff - neg) <= 2 and max(len(f.old), len(f.new)) <= 3


def replaces(old: str, new: str, said: str = "", subject: str = "",
             accumulates: bool = False) -> str | None:
    """Why memory ``new`` (learned later) replaces memory ``old`` of the same
    subject, or ``None``. ``said``: the statement ``new`` was read from, where
    markers of change and correction live ("I finally *switched to* oat
    milk"); ``subject``: the subject's name, whose words do not count as frame.

    The two must share a frame (:func:`frame`) holding at least two words
    besides the subject, one when a slot flips polarity (a predicate: "has a",
    "works as a"; "Ana likes hiking" / "Ana likes pottery" share one and replace
    nothing). Then, in this order: ``"same frame, one slot differs"`` when a
    slot flips polarity, or the predicate frame is specific
    (:data:`SPECIFIC_FRAME` words besides the subject: not "works as a nurse" /
    "works as a developer", nor "plans to visit Japan" / "... Peru") and at
    least twice as long as the longer slot (a slot, not a new statement: "plans
    to make sure I meet the deadline" / "plans to make sure it's fast" replace
    nothing); ``"correction"`` when ``said`` (else ``new``) holds an explicit
    correction (:data:`CORRECTION`; a denial alone is too common in chat) and
    ``old`` does not; ``"states a change"`` likewise with :data:`CHANGE`; these
    two need a frame at least as long as the longer slot ("Ana works as a
    nurse" / "... a software developer"; not "... as a nurse at the county
    hospital", which is left active: more changed than kept). A memory said
    again (same words) replaces nothing.

    ``accumulates``: the memory's kind gathers values rather than holding one
    (plans, preferences: "plans to make sure it's fast" / "... it's secure"):
    then only a polarity flip or an explicit correction replaces.
    """
    if words(old) == words(new):
        return None
    f = frame(old, new)
    if f is None:
        return None
    pred = f.shared - len(set(words(subject)))
    flips = _flips(f)
    if pred < (1 if flips else 2):
        return None
    slot = max(len(f.old), len(f.new))
    if flips or (not accumulates and pred >= SPECIFIC_FRAME and f.shared >= 2 * slot):
        return "same frame, one slot differs"
    if f.shared < slot:  # more changed than kept: another statement, not a new value
        return None
    told = said or new
    if CORRECTION.search(told) and not CORRECTION.search(old):
        return "correction"
    if accumulates:
        return None
    if states_change(told) and not states_change(old):
        return "states a change"
    return None
