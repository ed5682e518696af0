"""What an item of the ranked head tells, for the newer-first rule (:mod:`.updates`).

* **A memory tells its message** (:func:`inherited`). A memory's text is not its
  message's ("The user is pescatarian" / "I'm pescatarian, I eat fish but no meat"),
  and the later telling's nearest-in-meaning test pairs a newer message with the older
  message, the memory's nearest. So when the newer statement of a pair tells a change,
  a correction or an event, every item of the top ``depth`` that tells the older one's
  message (an episode itself, a memory its source episodes) and not the newer one's
  goes below it too. A tracked preference (one memory per topic) tells no message
  here: its value moves by its own tracker.
* **A question tells nothing** (:func:`asks_only`). A newer turn that only asks and
  tells no change ("Whats your favorite food") replaces nothing; a request that tells
  one ("Can you remind me the meeting is rescheduled to 4:30?", BEAM's way of giving
  an update) still does.

Measured in session 21 (docs/recall.md, "Session 21"): case sets s9 46 -> 47/50, s12
held 45 -> 46/51, s13 held 42 -> 43/51, none lost; REALTALK MRR dev .558 -> .559, held
.450 -> .454 for the questions; every other figure unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..ingest.supersede import corrects, states_change, tells_event, tells_replacement

__all__ = ["asks_only", "inherited"]


def inherited(pairs: set[tuple[int, int]], origins: Sequence[frozenset[str]], depth: int,
              texts: Sequence[str], answers: Sequence[bool] = ()) -> set[tuple[int, int]]:
    """``pairs`` (older, newer positions) and, where the newer one tells that something
    changed (a stated change, a correction or a completed event: :data:`CHANGE`,
    :func:`~engram.ingest.supersede.corrects`,
    :func:`~engram.ingest.supersede.tells_event`), every other statement of the top
    ``depth`` that tells the older one's message and not the newer one's: a memory
    derived from a message that a later message replaces is replaced by it too ("Ana is
    pescatarian", from "I'm pescatarian, I eat fish but no meat", below "I've cut out fish
    too, everything I eat has been plant-based since the summer"), and so is the message
    under a replaced memory. Items without an origin (empty) take no part. A newer chat
    turn that tells no change ("Not much, work has been busy") moves only above the
    statement it was paired with, as before: a memory often holds the answer, and such
    pairs are the rule's weakest.

    ``answers``: whether each statement holds one of the question's words. A statement
    that does ("Maya lives in Porto" for "Where does Maya live?") goes below a newer one
    that holds none only when that one says outright that a value was replaced
    (:func:`~engram.ingest.supersede.tells_replacement`: "I finally relocated to
    Bristol"), not when it only denies or narrates something ("Too much, he didn't want
    to come home. Next project, I'm planning to run the Porto half marathon" replaces
    nothing of where Maya lives, although it is paired with the message "I moved to
    Porto last weekend" that the memory came from)."""
    out = set(pairs)
    holds = list(answers) + [False] * (len(texts) - len(answers))
    for old, new in pairs:
        told, by = origins[old], origins[new]
        if not told or not _tells_change(texts[new]):
            continue
        weak = not holds[new] and not tells_replacement(texts[new])
        out.update((k, new) for k in range(min(depth, len(origins)))
                   if k not in (old, new) and origins[k] & told and not origins[k] & by
                   and not (weak and holds[k]))
    return out


_ASKING = re.compile(r"(?:what|whats|what's|where|when|who|how|why|which|do|does|did|are|is|"
                     r"was|were|can|could|would|will|have|has|any|anything)\b", re.IGNORECASE)
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


#: a question joined to a statement in one sentence ("Talia's coach put her at libero
#: for the trials — any home drills for that?", "we've been opening with 'Dancing in the
#: Dark' since spring, what should follow it?"): a comma, a semicolon, a colon or a dash,
#: then a question word
_THEN_ASKS = re.compile(
    r"(?:[,;:]|\s[—–-])\s+(?:(?:so|but|and)\s+)?(?:what|whats|what's|where|when|who|how|why|"
    r"which|do|does|did|is|are|can|could|would|should|will|shall|any|anything)\b",
    re.IGNORECASE)


#: the fewest words of a statement before its question ("Hey, how are you?", "So, what
#: are you up to?", "Ok cool, any news?" open with a greeting or a filler)
_STATED_WORDS = 4


def _states_first(sentence: str) -> bool:
    """A sentence that ends asking but opens with a statement (``_STATED_WORDS`` words or
    more, not a question word) joined to its question (:data:`_THEN_ASKS`)."""
    m = _THEN_ASKS.search(sentence)
    return (m is not None and _ASKING.match(sentence.lstrip()) is None
            and len(sentence[:m.start()].split()) >= _STATED_WORDS)


def asks_only(text: str) -> bool:
    """True when ``text`` only asks ("Whats your favorite food", "Anything good on TV
    lately? Any tips?"): every sentence ends with a question mark and none opens with a
    statement joined to its question ("Talia's coach put her at libero — any drills for
    that?" states her position), or a single sentence without an end opens with a
    question word. A question states nothing to replace."""
    whole = text.strip()
    if not whole:
        return False
    if whole.endswith("?"):  # the last sentence asks: do all the others?
        return all(p.rstrip().endswith("?") and not _states_first(p)
                   for p in _SPLIT.split(whole) if p.strip())
    # one sentence without an end (no break in it: a long message is not split whole)
    return (_SPLIT.search(whole) is None and not whole.endswith((".", "!"))
            and _ASKING.match(whole) is not None)


def _asks_idly(text: str) -> bool:
    """A question that tells no change ("Whats your favorite food"); a request that does
    ("Can you remind me the meeting is rescheduled to 4:30?") still replaces."""
    return asks_only(text) and not _tells_change(text)


def _tells_change(text: str) -> bool:
    return states_change(text) or corrects(text) or tells_event(text)
