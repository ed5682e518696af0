"""Question -> statement: a second dense query shaped like its evidence, without an LLM.

The embedder places a question and the turn that answers it apart: "What did
Caroline research?" is a question about Caroline; the evidence is a first-person
statement by her, stored as ``[8 May 2023] Caroline: I've been researching
adoption agencies`` (:func:`engram.ingest.index.embedding_text`). This module
rewrites a question into the statement its answer would make, by rules:

* the wh-word and the auxiliary go, the subject comes first and the verb keeps
  the auxiliary's tense: ``What did Caroline research?`` -> ``Caroline
  researched``; ``What does Jon do for work?`` -> ``Jon does for work``;
  ``Where has Paola traveled?`` -> ``Paola has traveled``;
* a copula goes after its subject (``What is Elise's favorite type of
  vacation?`` -> ``Elise's favorite type of vacation is``) or before a verb in
  -ing (``What is Elise doing in Galveston?`` -> ``Elise is doing in Galveston``);
* a wh-phrase keeps its noun at the end (``Which book did Tim recommend?`` ->
  ``Tim recommended book``); a fronted preposition goes with it (``Around which
  holiday did Maria ...`` -> ``... around holiday``); a wh-word as the subject
  just goes (``Who traveled with Lila?`` -> ``traveled with Lila``);
* a yes/no question is inverted (``Did Nate adopt a dog?`` -> ``Nate adopted a
  dog``; ``Have I ever met Bryan?`` -> ``I have met Bryan``);
* a request's frame goes (``Can you help me plan a trip?`` -> ``plan a trip``);
* with no first-person word in the question, ``you``/``your`` become ``I``/``my``
  (a question asked *to* the one who made the statement).

:func:`restated` with ``speaker=True`` also conditions on the speaker: a named
subject becomes ``Name: I ...`` / ``Name: my ...``, the shape of a stored turn
(``Caroline: I researched``). Anything that is not a question (no question mark
and no leading wh-word or auxiliary) gives ``None``: the search embeds nothing
more. The rules are English and general; they were written from grammar, not
from any data set, and :mod:`tests.test_reformulate` pins them in many phrasings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .unnamed import mixed

if TYPE_CHECKING:
    from ..embed.base import Embedder
    from ..store.base import Candidate
    from .config import RetrievalConfig

__all__ = ["merged", "past", "query_vectors", "restated", "third_person"]

_WH = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how"})
_DO = frozenset({"do", "does", "did"})
_BE = frozenset({"is", "are", "was", "were", "am"})
_HAVE = frozenset({"has", "have", "had"})
_MODAL = frozenset({"can", "could", "will", "would", "should", "shall", "may", "might", "must"})
_AUX = _DO | _BE | _HAVE | _MODAL
_PRONOUNS = frozenset({"i", "you", "he", "she", "we", "they", "it"})
_DETERMINERS = frozenset({"the", "a", "an", "my", "your", "his", "her", "their", "our", "its",
                          "this", "that", "these", "those", "some", "any", "all", "both"})
_PREPOSITIONS = frozenset({"about", "around", "at", "by", "during", "for", "from", "in", "into",
                           "of", "on", "since", "to", "until", "with", "within", "after",
                           "before", "through", "towards", "under", "over"})
#: words that only make a question a question ("ever", "exactly")
_FILLER = frozenset({"ever", "exactly", "actually"})
#: "how many/much/long ...": the word after "how" goes with it
_HOW_KEEP = frozenset({"many", "much", "long", "often", "far", "old"})
_SWAP = {"you": "I", "your": "my", "yours": "mine", "yourself": "myself",
         "you're": "I'm", "you've": "I've", "you'll": "I'll", "you'd": "I'd"}
#: third-person words that, after "Name: I ...", refer to the speaker
_SPEAKER_SWAP = {"his": "my", "himself": "myself", "herself": "myself"}
_FIRST = frozenset({"i", "me", "my", "mine", "myself", "we", "us", "our", "i'm", "i've", "i'd",
                    "i'll"})
_REQUEST = re.compile(
    r"^(?:please\s+)?(?:can|could|would|will)\s+you\s+(?:please\s+)?"
    r"(?:help\s+me\s+(?:to\s+)?|tell\s+me\s+|remind\s+me\s+|show\s+me\s+|give\s+me\s+)?",
    re.I)
_TOKEN = re.compile(r"[\w'’-]+|[^\w\s]")

#: irregular past tenses (general English, not from any data set)
_IRREGULAR = {
    "be": "was", "become": "became", "begin": "began", "break": "broke", "bring": "brought",
    "build": "built", "buy": "bought", "catch": "caught", "choose": "chose", "come": "came",
    "cut": "cut", "do": "did", "draw": "drew", "dream": "dreamt", "drink": "drank",
    "drive": "drove", "eat": "ate", "fall": "fell", "feel": "felt", "fight": "fought",
    "find": "found", "fly": "flew", "forget": "forgot", "get": "got", "give": "gave",
    "go": "went", "grow": "grew", "have": "had", "hear": "heard", "hold": "held",
    "hurt": "hurt", "keep": "kept", "know": "knew", "lead": "led", "learn": "learned",
    "leave": "left", "lend": "lent", "let": "let", "lose": "lost", "make": "made",
    "mean": "meant", "meet": "met", "pay": "paid", "put": "put", "quit": "quit",
    "read": "read", "ride": "rode", "ring": "rang", "rise": "rose", "run": "ran",
    "say": "said", "see": "saw", "sell": "sold", "send": "sent", "set": "set",
    "shoot": "shot", "show": "showed", "sing": "sang", "sit": "sat", "sleep": "slept",
    "speak": "spoke", "spend": "spent", "stand": "stood", "steal": "stole", "swim": "swam",
    "take": "took", "teach": "taught", "tell": "told", "think": "thought", "throw": "threw",
    "understand": "understood", "wake": "woke", "wear": "wore", "win": "won", "write": "wrote",
}
_PAST_FORMS = frozenset(_IRREGULAR.values())


def past(verb: str) -> str:
    """The simple past of an English verb in its base form (``research`` ->
    ``researched``, ``go`` -> ``went``, ``try`` -> ``tried``, ``plan`` ->
    ``planned``); a word already in the past (``tried``, ``went``) is kept."""
    v = verb.lower()
    if v in _IRREGULAR:
        return _keep_case(verb, _IRREGULAR[v])
    if v.endswith("ed") or v in _PAST_FORMS:
        return verb
    if v.endswith("e"):
        return verb + "d"
    if len(v) > 1 and v.endswith("y") and v[-2] not in "aeiou":
        return verb[:-1] + "ied"
    if (len(v) <= 4 and len(v) >= 3 and v[-1] not in "aeiouwxy" and v[-2] in "aeiou"
            and v[-3] not in "aeiou"):
        return verb + verb[-1] + "ed"  # stop -> stopped, plan -> planned
    return verb + "ed"


def third_person(verb: str) -> str:
    """The third person singular present (``research`` -> ``researches``,
    ``have`` -> ``has``, ``study`` -> ``studies``, ``go`` -> ``goes``)."""
    v = verb.lower()
    if v == "have":
        return _keep_case(verb, "has")
    if v == "be":
        return _keep_case(verb, "is")
    if v.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if len(v) > 1 and v.endswith("y") and v[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _keep_case(original: str, word: str) -> str:
    return word.capitalize() if original[:1].isupper() else word


def _is_name(tok: str) -> bool:
    return (tok[:1].isupper() and tok[:1].isalpha()
            and tok.lower() not in _AUX | _WH | _PRONOUNS | _DETERMINERS)


def _subject_end(toks: list[str], i: int, aux: str) -> int:
    """Index just past the subject that starts at ``toks[i]`` (after an auxiliary)."""
    n = len(toks)
    if i >= n:
        return i
    low = toks[i].lower()
    if low in _PRONOUNS:
        return i + 1
    if _is_name(toks[i]):
        j = i
        while j < n and (_is_name(toks[j]) or (toks[j].lower() in ("and", "&", ",", "or")
                                               and j + 1 < n and _is_name(toks[j + 1]))):
            j += 1
        if _possessive(toks[j - 1]) and j < n and aux not in _BE:
            j += 1  # "Caroline's mom" (before a verb); a copula keeps it whole
        return j
    if low in _DETERMINERS:
        j = i + 1
        if aux in _BE:  # "is the cat sleeping": up to the -ing word, else the whole rest
            while j < n and not _ing(toks[j]):
                j += 1
            return j
        while j < n and toks[j].lower() not in _PREPOSITIONS and not _verbish(toks[j]):
            j += 1
        return max(j, i + 2) if j >= n else j
    return i + 1


def _possessive(tok: str) -> bool:
    return tok.lower().endswith(("'s", "’s"))


def _ing(tok: str) -> bool:
    return len(tok) > 4 and tok.lower().endswith("ing") and tok[:1].islower()


def _verbish(tok: str) -> bool:
    """A word that reads as a verb right after a subject (only a weak guess)."""
    low = tok.lower()
    return low in _IRREGULAR or low in _PAST_FORMS


def _speaker_form(subject: list[str]) -> tuple[str, list[str]] | None:
    """``(Name, [I | my])`` for a subject that is one named person (``Caroline``,
    ``Caroline's``), else ``None``."""
    if not subject or not all(_is_name(t) for t in subject):
        return None
    if any(t.lower() in ("and", "or", "&", ",") for t in subject):
        return None
    last = subject[-1]
    if _possessive(last):
        return " ".join(subject[:-1] + [last[:-2]]), ["my"]
    return " ".join(subject), ["I"]


def _verb(aux: str, verb: str, first_person: bool) -> str:
    """The verb carrying a removed do-auxiliary's tense."""
    if aux == "did":
        return past(verb)
    if aux == "does" and not first_person:
        return third_person(verb)
    return verb


def _be(aux: str, first_person: bool) -> str:
    if not first_person:
        return aux
    return {"is": "am", "are": "am", "were": "was"}.get(aux, aux)


def _have(aux: str, first_person: bool) -> str:
    return "have" if first_person and aux == "has" else aux


def restated(question: str, speaker: bool = False, named_only: bool = False) -> str | None:
    """``question`` as the statement that would answer it, or ``None`` when it is
    not a question or no rule changes it (see the module docstring).

    ``speaker``: a subject that is one named person is written as the stored turn
    of that speaker would be (``Caroline: I researched``). ``named_only`` (with
    ``speaker``): ``None`` unless that happened (first-person and other questions
    keep only the original query)."""
    text = question.strip()
    if not text:
        return None
    head, mark, tail = text.partition("?")  # BEAM: "Can you ...? I'd like ..."
    asked = _REQUEST.sub("", head.rstrip("!. ").strip())
    toks = _TOKEN.findall(asked)
    if not toks:
        return None
    first = toks[0].lower()
    if not (mark or first in _WH or first in _AUX or first in _PREPOSITIONS):
        return None
    out = _restate(toks, speaker)
    if out is None:
        if asked == head.strip():
            return None
        out = toks  # only a request's frame went
    if speaker and out and out[0].endswith(":"):
        out = [_SPEAKER_SWAP.get(t.lower(), t) for t in out]
    elif named_only:
        return None
    if tail.strip():
        out += ["."] + _TOKEN.findall(tail)
    if not any(t.lower() in _FIRST for t in out if not t.endswith(":")):
        out = [_SWAP.get(t.lower(), t) for t in out]
    result = _join(t for t in out if t.lower() not in _FILLER)
    return result if result and result.lower() != question.strip().lower() else None


def _restate(toks: list[str], speaker: bool) -> list[str] | None:
    trailing: list[str] = []
    i = 0
    low = [t.lower() for t in toks]
    if low[0] in _PREPOSITIONS and len(toks) > 1 and low[1] in _WH:
        trailing.append(low[0])  # "Around which holiday did ...": "... around holiday"
        i = 1
    if low[i] in _WH:
        wh = low[i]
        i += 1
        if wh == "how" and i < len(toks) and low[i] in _HOW_KEEP:
            i += 1  # "how many days": "days"
        j = i
        while j < len(toks) and low[j] not in _AUX and wh in ("what", "which", "whose", "how"):
            j += 1
        if j < len(toks) and j - i <= 4 and (j > i or wh not in ("what", "which")):
            trailing += toks[i:j]  # "which book did": "book" goes last
            i = j
        elif j > i and wh in ("what", "which", "whose", "how"):
            # no auxiliary after the wh-phrase: the wh-phrase is the subject
            return [t for t in toks[i:] if t.lower() not in _WH] + trailing
        if i >= len(toks) or low[i] not in _AUX:
            # "Who traveled with Lila?": the wh-word was the subject
            return toks[i:] + trailing
    elif low[i] not in _AUX:
        # a question without a leading wh-word or auxiliary ("X did what?")
        kept = [t for t in toks[i:] if t.lower() not in ("what", "which")]
        return kept + trailing if kept != toks else None
    aux = low[i]
    i += 1
    end = _subject_end(toks, i, aux)
    subject = toks[i:end]
    rest = toks[end:]
    if not subject:  # "(remind me) what my schedule is": already in statement order
        kept = [t for t in toks if t.lower() not in _WH]
        return kept if len(kept) > 1 else None
    lead: list[str] = subject
    first_person = subject[0].lower() in ("i", "we", "you")
    if speaker and (sp := _speaker_form(subject)) is not None:
        lead = [sp[0] + ":"] + sp[1]
        first_person = sp[1] == ["I"]
    if aux in _DO:
        if rest and rest[0][:1].islower() and rest[0].isalpha():
            rest = [_verb(aux, rest[0], first_person)] + rest[1:]
        return lead + rest + trailing
    if aux in _BE:
        k = next((n for n, t in enumerate(rest) if _ing(t)), None)
        be = _be(aux, first_person and lead[-1] == "I")
        if k is not None:
            return lead + rest[:k] + [be] + rest[k:] + trailing
        return lead + rest + [be] + trailing
    if aux in _HAVE:
        return lead + [_have(aux, lead[-1] == "I")] + rest + trailing
    return lead + [aux] + rest + trailing


def _join(tokens: Iterable[str]) -> str:
    s = " ".join(tokens)
    return re.sub(r"\s+([,.;:!?])", r"\1", s).strip()


def query_vectors(query: str, vec: np.ndarray, embedder: Embedder,
                  config: RetrievalConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """The dense query and, with ``config.restate_merge``, the rewrite's own vector.

    Off (``restate_weight`` 0 without ``restate_merge``) or with no rewrite
    (:func:`restated` gives ``None``): ``(vec, None)`` and nothing is embedded.
    Mixed: ``(unit(vec/|vec| + restate_weight * r/|r|), None)``."""
    if not (config.restate_weight > 0 or config.restate_merge):
        return vec, None
    form = config.restate_form
    text = restated(query, speaker=form in ("speaker", "named"), named_only=form == "named")
    if text is None:
        return vec, None
    r = np.asarray(embedder.embed_one(text, "query"), dtype=np.float64).reshape(-1)
    q = np.asarray(vec, dtype=np.float64).reshape(-1)
    nq, nr = np.linalg.norm(q), np.linalg.norm(r)
    if nq == 0 or nr == 0 or q.shape != r.shape:
        return vec, None
    if config.restate_merge:
        return vec, (r / nr).astype(np.float32)
    return mixed(vec, r, config.restate_weight), None


def merged(first: Sequence[Candidate], second: Sequence[Candidate], limit: int) -> list[Candidate]:
    """Two dense lists as one: each item once with its higher score, best first
    (ties: ``first``'s order), at most ``limit``."""
    best: dict[object, Candidate] = {}
    for c in [*first, *second]:
        if c.ref not in best or c.score > best[c.ref].score:
            best[c.ref] = c
    return sorted(best.values(), key=lambda c: -c.score)[:limit]
