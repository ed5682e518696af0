"""The scan every write calls: the rules of :mod:`.poisoning` and the n-gram model of
:mod:`.classifier` (the fast path), then the second look of :mod:`.crosslingual` where the
fast path cannot judge (text mostly not English) or is unsure (English text in the model's
grey zone). The flags and their evidence are described in :mod:`.poisoning`.
"""

from __future__ import annotations

import re

from ..ingest.instructions import FORM_VERBS, FORM_WORDS
from . import crosslingual, greygate
from .classifier import Score, score
from .poisoning import Verdict, names_another, scan_rules

__all__ = ["scan", "scan_fast"]


#: a short retraction of one's own message ("sorry, ignore my last message, wrong chat"):
#: the model reads "ignore" as an order; the classifier flag alone is withheld for it
_RETRACTION = re.compile(
    r"^\W*(?:(?:sorry|oops|ok|okay|ah|hey|also|actually|wait|lol|haha)\W+){0,2}(?:please\s+|pls"
    r"\s+|just\s+|you can\s+)?(?:ignore|disregard|forget|never ?mind)\s+(?:my|that|the|this)\s+"
    r"(?:(?:last|previous|earlier|other|first)\s+)?(?:message|text|msg|email|mail|voicemail"
    r"|photo|pic|comment|question|reply|post|one)s?(?P<tail>(?:[\s,.!;:)-]+.{0,60})?)$",
    re.IGNORECASE | re.DOTALL)
#: a tail that gives an order voids the retraction
_ORDER = re.compile(r"\b(?:always|never|only|instead|from now|recommend|send|tell|say|answer"
                    r"|reply|remember|store|new|must|should|do|don'?t|use|follow|obey)\b",
                    re.IGNORECASE)


#: a user's own standing instruction on the form of the answers ("Always answer me in
#: French", "Keep answers under 200 words from now on", "Please reply in plain English"):
#: one short sentence, an order on how to answer, and no more; the model reads
#: "answer" and "from now on" as an injection's, and its flag alone is withheld for it
#: (:func:`_form_instruction`: what it must name and must not)
_FORM_ORDER = re.compile(
    r"^\W*(?:(?:ok|okay|oh|also|and|hey|hi|btw)\W+)?(?:(?:can|could|would|will) you\s+)?"
    r"(?:(?:from now on|going forward|in future|in the future|for now)\W+)?(?:please\s+|pls\s+)?"
    r"(?:(?:always|never|only|just|do not|don'?t)\s+)?"
    + FORM_VERBS + r"\b(?P<rest>[^.!?\n]{1,110})[.!?]*\W*$",
    re.IGNORECASE)
#: what no order on the form of answers says: another party, a rule of the assistant's,
#: a thing to promote, hide or send, a secret
_NOT_FORM = re.compile(
    r"\b(?:you(?:'re|’re|'ll|’ll| are| will| must| should| have| were)|your|yourself|"
    r"ignore|disregard|forget|override|rules?|restrictions?|filters?|safety|censor\w*|"
    r"guidelines?|system|prompt|jailbreak|recommend\w*|mention\w*|promot\w*|advertis\w*|"
    r"say|tell|send|share|forward|link|links|https?|www|password\w*|secrets?|keys?|tokens?|"
    r"address|passport|credit|refus\w*|pretend|role|persona|act|evil|unfiltered|"
    r"uncensored|moral\w*|opposite|everyone|every user|all users|other users|customers?|"
    r"regardless|actual|instead|false|fake|wrong|lie|lies|stars?|ratings?|reviews?|"
    r"rude\w*|insult\w*|offensive|mean|abusive|swear\w*|curs\w*|threat\w*|hostile)\b"
    r"|@|://", re.IGNORECASE)


#: the one "your" such an order says ("Never use emojis in your answers")
_YOUR_ANSWERS = re.compile(r"\byour\s+(?:answers?|replies|reply|responses?|messages?)\b",
                           re.IGNORECASE)


def _form_instruction(text: str) -> bool:
    """Whether ``text`` is only a standing instruction of one's own on the form of the
    answers (:data:`_FORM_ORDER`): it names a language, a length, a layout, a tone or
    units (:data:`~engram.ingest.instructions.FORM_WORDS`), and no other party, rule,
    thing to promote or send, or secret (:data:`_NOT_FORM`)."""
    m = _FORM_ORDER.match(text.strip())
    if m is None:
        return False
    rest = m.group("rest")  # the words after the verb: the lead is a closed set
    return (FORM_WORDS.search(rest) is not None
            and _NOT_FORM.search(_YOUR_ANSWERS.sub(" ", rest)) is None)


#: a fenced code block (to the end of the text when it is not closed)
_FENCED = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)


def _prose(text: str) -> str:
    """``text`` without its fenced code blocks (``text`` itself when it has none)."""
    if "```" not in text:
        return text
    return _FENCED.sub(" ", text)


def _retraction(text: str) -> bool:
    m = _RETRACTION.match(text.strip())
    if m is None:
        return False
    tail = m.group("tail")
    return not names_another(tail) and not _ORDER.search(tail)


def scan(text: str) -> Verdict:
    """Scan ``text`` for injected instructions; :mod:`.poisoning` describes the flags.

    :func:`scan_fast`, then, for text it did not flag, the second look of
    :mod:`.crosslingual` when its optional encoder is installed:

    - text :func:`.crosslingual.route` sends (mostly not English, or holding a sentence
      that is not): at or above the head's threshold the verdict is the ``classifier``
      flag with evidence ``e5 p=0.93 (mostly not English)`` (or ``(a sentence not
      English)``), followed by the concepts the text names that the head read
      (``k:ignore k:password``);
    - English text in the n-gram model's grey zone (scored at or above
      :data:`.crosslingual.GREY_LOW`, under its threshold): read by the grey look's
      head (:func:`.crosslingual.load_grey_head`), at or above its grey threshold,
      evidence ``e5 p=0.98 (grey zone, p=0.41)`` (the second ``p`` is the n-gram
      model's), then the concepts named. Only a turn the gate of :mod:`.greygate`
      lets on is read (a head over the default embedder's vector: most ordinary turns
      of the zone stop there). A zone turn longer than the gate's long line
      (:class:`.greygate.Long`) is judged by the gate's head alone, evidence
      ``minilm p=0.97 (grey zone, p=0.41, 1480 characters)`` and the concepts named.
      A short retraction of one's own message is not read
      again (:func:`scan_fast` withholds the model's flag for it too). A turn with
      fenced code blocks is read without them, and only when the n-gram model scores
      that prose in the zone or above (:func:`_prose`).

    Without the encoder this is :func:`scan_fast`.
    """
    verdict, fast = _scan_fast(text)
    if verdict.flagged:
        return verdict
    encoder, why = "e5", crosslingual.route(text)
    if why is not None:
        p = crosslingual.second_look(text)
        if p is None or p < crosslingual.load_head().threshold:
            return verdict
    elif (crosslingual.in_grey_zone(fast.probability) and not _retraction(text)
          and not _form_instruction(text)):
        if not crosslingual.available():
            return verdict
        prose = _prose(text)
        if prose is not text:
            # the grey look reads what the writer says around pasted code: the code's
            # identifiers and strings ("send", "include", "response") put ordinary
            # technical questions in the zone (the rules and the model read it all)
            if score(prose).probability < crosslingual.GREY_LOW:
                return verdict
            text = prose
        gate = greygate.decide(text)
        if gate.action == "stop":
            return verdict
        why = f"grey zone, p={fast.probability:.2f}"
        if gate.action == "flag":
            encoder, p, why = "minilm", gate.probability, f"{why}, {len(text)} characters"
        else:
            head = crosslingual.load_grey_head()
            p = crosslingual.second_look(text, head)
            if p is None or head.grey_threshold is None or p < head.grey_threshold:
                return verdict
    else:
        return verdict
    named = "".join(" " + c for c in crosslingual.concepts_named(text))
    return Verdict(flags=("classifier",), evidence=(f"{encoder} p={p:.2f} ({why}){named}",))


def scan_fast(text: str) -> Verdict:
    """The rules first, then the linear model of :mod:`.classifier`: when it scores the
    text at or above its threshold the ``classifier`` flag is added, its evidence the
    probability and the features that raised it most (``p=0.97 w:ignore b:from now``).
    The model alone does not flag a short retraction of one's own message ("sorry,
    ignore my last message, wrong chat") that names no assistant, user or "you", nor a
    standing instruction of one's own on the form of the answers ("Always answer me in
    French", "Keep answers under 200 words from now on": :func:`_form_instruction`).
    """
    return _scan_fast(text)[0]


def _scan_fast(text: str) -> tuple[Verdict, Score]:
    """:func:`scan_fast`'s verdict and the model's score it read."""
    verdict = scan_rules(text)
    if verdict.flags == ("behaviour_directive",) and _form_instruction(text):
        verdict = Verdict(flags=())  # one's own order on the form of the answers
    s = score(text)
    if not s.flagged or (not verdict.flags and (_retraction(text) or _form_instruction(text))):
        return verdict, s
    flags = dict(zip(verdict.flags, verdict.evidence, strict=True))
    flags["classifier"] = f"p={s.probability:.2f} " + " ".join(s.top_features)
    names = tuple(sorted(flags))
    return Verdict(flags=names, evidence=tuple(flags[n] for n in names)), s
