"""When a newer statement replaces an older one, decided without a model and
without a list of attributes.

Two statements about the same subject *conflict* on any of three kinds of
evidence, all read from the words themselves:

* **Same frame, one slot differs** (:func:`frame`): aligned word by word
  (``difflib`` over lower-cased words, no parser), the two share their frame
  and differ in one place ("Nora and Eliza collaborated on X" / "Joren and
  Eliza collaborated on X"; "is known for his expertise in environmental
  science" / "... in classical music"). The shared words must be at least
  :data:`FRAME_WORDS` and :data:`FRAME_SHARE` of the shorter statement, and the
  differing runs at most :data:`SLOTS` (a swap of two names is two). A slot
  that flips polarity ("likes" / "no longer likes", "is" / "is not") always
  counts; a slot between short frames ("Ana likes sushi" / "Ana likes ramen",
  two shared words) does not: a short frame does not say the relation holds one
  value only.
* **A stated change** (:data:`CHANGE`, :func:`states_change`): the newer one
  says something replaced a state ("moved to", "switched to", "started a new
  job as", "adopted", "gave up", "no longer", "rescheduled", "has increased
  to" ...) and the older does not, and the two are related (:func:`related`:
  a shared frame, shared terms, or close vectors).
* **A correction** (:func:`corrects`): "actually", "not anymore",
  "correction", "I meant", "turns out", or a denial ("did not attend", "has
  never published") in the newer one, with the same relatedness.

:func:`replaces` applies the three to a pair and names the reason. The
consolidator (:mod:`engram.ingest.consolidate`) uses it to mark an older
memory superseded; the read side (:mod:`engram.retrieval.updates`) uses the
same tests to order a search's hits newest first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from ..text import text_cache

__all__ = ["CHANGE", "CORRECTION", "FRAME_SHARE", "FRAME_WORDS", "SLOTS", "Frame", "corrects",
           "frame", "related", "replaces", "states_change", "words"]

#: a statement that replaces a state or corrects an earlier one (general
#: English markers of change, not attributes)
CHANGE = re.compile(
    r"\b(?:now|nowadays|these days|currently|anymore|any more|no longer|not anymore|"
    r"actually|correction|turn(?:s|ed) out|instead|switch(?:ed|ing)?|chang(?:ed|ing)|"
    r"mov(?:ed|ing)|relocat\w*|(?:a|an|my|our|his|her|their|the) new|"
    r"adopt(?:ed|ing)|bought|sold|traded|reschedul\w*|postpon\w*|push(?:ed)? back|"
    r"replac\w+|upgrad\w+|quit|gave up|giv(?:e|ing) up|stopp(?:ed|ing)|left|"
    r"start(?:ed|ing)|took up|joined|dropp(?:ed|ing)|cancel{1,2}ed|cut out|"
    r"broke up|split up|retired|passed away|died|became|become|got (?:a|an|my)|updat\w+|"
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
    r"\b(?:actually|correction|not anymore|no longer|any ?more|i meant|turns? out|"
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
_MAX_WORDS = 80
#: related: shared index terms (Jaccard) or close vectors
RELATED_TERMS = 0.2
RELATED_MEANING = 0.4

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


@text_cache(8192)
def words(text: str) -> tuple[str, ...]:
    """The lower-cased words of ``text`` ("isn't" one word), in order."""
    return tuple(w.replace("’", "'") for w in _WORD.findall(text.lower()))


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
        """The two share one frame (see the module docstring)."""
        return (0 < self.slots <= SLOTS and self.shared >= FRAME_WORDS
                and self.shared >= FRAME_SHARE * shorter)

    @property
    def specific(self) -> bool:
        return self.shared >= SPECIFIC_FRAME


def frame(old: str, new: str) -> Frame | None:
    """The word alignment of two statements; ``None`` when either is longer than
    the alignment reads (:data:`_MAX_WORDS`) or they share no frame
    (:meth:`Frame.same`)."""
    a, b = words(old), words(new)
    if not a or not b or len(a) > _MAX_WORDS or len(b) > _MAX_WORDS:
        return None
    ops = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    shared = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag == "equal")
    diff = [(a[i1:i2], b[j1:j2]) for tag, i1, i2, j1, j2 in ops if tag != "equal"]
    olds = tuple(w for x, _ in diff for w in x)
    news = tuple(w for _, y in diff for w in y)
    flip = bool((set(olds) ^ set(news)) & _POLARITY) or any(
        w.endswith("n't") for w in set(olds) ^ set(news))
    found = Frame(shared, len(diff), olds, news, flip)
    return found if found.same(min(len(a), len(b))) else None


@text_cache(8192)
def states_change(text: str) -> bool:
    """Whether ``text`` holds a marker of :data:`CHANGE` (memoised: texts recur)."""
    return CHANGE.search(text) is not None


@text_cache(8192)
def corrects(text: str) -> bool:
    """Whether ``text`` corrects or denies something (:data:`CORRECTION`, or a
    denial: "did not attend", "has never published", "isn't")."""
    return CORRECTION.search(text) is not None or _DENIAL.search(text) is not None


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def related(old: str, new: str, cosine: float | None = None,
            terms: tuple[frozenset[str], frozenset[str]] | None = None) -> bool:
    """Whether two statements are about the same thing: one frame, or shared
    index terms (Jaccard >= :data:`RELATED_TERMS` of ``terms`` when given, else
    of their content words), or vectors close (``cosine`` >= :data:`RELATED_MEANING`)."""
    if cosine is not None and cosine >= RELATED_MEANING:
        return True
    if terms is None:
        from ..text import STOPWORDS

        terms = (frozenset(words(old)) - STOPWORDS, frozenset(words(new)) - STOPWORDS)
    return _jaccard(*terms) >= RELATED_TERMS or frame(old, new) is not None


def replaces(old: str, new: str, cosine: float | None = None) -> str | None:
    """Why ``new`` (said later) replaces ``old``, or ``None`` when it does not.

    The reasons, tried in this order: ``"same frame, one slot differs"`` (a
    specific frame, or a slot that flips polarity), ``"correction"``
    (:func:`corrects`: the newer one only), ``"states a change"``
    (:data:`CHANGE` in the newer one only); the last two need the statements
    :func:`related`. A statement said again (same words) replaces nothing.
    """
    if words(old) == words(new):
        return None
    f = frame(old, new)
    if f is not None and (f.specific or f.polarity):
        return "same frame, one slot differs"
    if not related(old, new, cosine):
        return None
    if corrects(new) and not corrects(old):
        return "correction"
    if states_change(new) and not states_change(old):
        return "states a change"
    return None
