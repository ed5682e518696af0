"""Standing instructions: how a user wants to be answered, from now on.

A user tells an assistant rules that outlive the message: "Always use APA 7th edition
citation style when I ask about formatting references", "Never use emojis", "From now
on, keep answers under 200 words", "Whenever I ask about recipes, give metric units",
"Please always reply in Spanish". :func:`read_instructions` finds them in a message;
the rule deriver (:mod:`engram.ingest.derive`) keeps each as a memory of kind
``procedure`` whose text names the topic first ("When Ana asks about formatting
references: always use APA 7th edition citation style"), so the dense signal of a
search (:mod:`engram.retrieval.search`) finds the instructions that apply to a request
by meaning, however few words the two share ("How should I list the sources I used in
my paper?"). A separate lane for them, floored in the first hits, was measured and left
out (docs/recall.md, "Session 34").

A sentence is an instruction when it starts (after "please", "from now on", "going
forward", "in future", "and") with "always", "never", "don't ever" or "do not ever";
when a clause "when(ever) I ask (you) about/for X" comes first ("Whenever I ask about
recipes, give metric units"); or when "from now on" or "going forward" leads a request
("From now on, keep answers under 200 words") or ends it ("Keep answers under 200
words from now on"); or, with a topic, when it starts with "don't", "do not" or "stop"
("Actually, don't cite sources when I ask about history": it takes back the one it
contradicts; "Don't tell anyone" between friends orders nothing); or when the order
is asked for ahead of it ("I'd like you to always ...", "Can you remember to always
...?"); or when a short message is only an order on the form of the answers, naming a
language, a length, a layout, a tone or units (:data:`FORM_WORDS`: "Please keep your
answers short", "Use British spelling", "No emojis please"; inside a longer message such
an order is a request of the moment). The rule keeps the
speaker's words in the third person ("always answer me in French" -> "always answer
them in French"), without "please" or an onward marker. Its verb is a base form, and an
instruction for every request (no "when I ask about") starts with a verb of answering
(:data:`_DIRECTIVE`: "use", "include", "reply", "keep", "cite", ...): chat between
friends says "always here to help", "never give up", "never heard of it". A question
("Should I always ...?") and a statement about oneself ("I always ...", "I never ...")
are not instructions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .openvalue import as_theirs

__all__ = ["FORM_VERBS", "FORM_WORDS", "Instruction", "StandingText", "for_other_requests",
           "instruction_text", "read_instruction_text", "read_instructions"]

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_LEAD = r"(?:(?:and|also|oh|ok|okay|btw|so|actually|correction|wait)\s*,?\s+)?(?:please\s*,?\s+)?"
_ONWARD_WORDS = r"(?:from now on|going forward|in (?:the )?future|moving forward)"
_FROM_NOW = rf"(?:(?:{_ONWARD_WORDS}|for future reference)\s*,?\s+)?"
_RULE_WORD = r"(?:always|never|don['’]t ever|do not ever)"
_TOPIC = r"(?:about|for|on|regarding|questions about|for help with|to help with)"
#: "when(ever) I ask (you) about", the words before an instruction's topic
_ASKED = (r"(?:when|whenever|every time|any time|anytime)\s+i\s+(?:ask|request|want)"
          rf"(?:\s+you)?\s+{_TOPIC}")
#: what an order on the form of the answers names: a language, a length, a layout, a
#: tone, units (also read by :mod:`engram.trust.cascade`)
FORM_WORDS = re.compile(
    r"\b(?:english|french|spanish|german|italian|portuguese|dutch|polish|swedish|danish|"
    r"norwegian|finnish|greek|turkish|russian|ukrainian|arabic|hebrew|hindi|chinese|mandarin|"
    r"cantonese|japanese|korean|vietnamese|thai|indonesian|language|words?|sentences?|"
    r"paragraphs?|characters|lines|short(?:er)?|brief(?:er)?|concise(?:ly)?|detailed|"
    r"bullet(?:ed)?(?: points?)?|lists?|numbered|tables?|markdown|headings?|headers?|"
    r"emojis?|emoticons|formal(?:ly)?|informal(?:ly)?|casual(?:ly)?|tone|metric|imperial|"
    r"units?|celsius|fahrenheit|examples?|step[- ]by[- ]step|code blocks?|spelling|"
    r"jargon|simple terms|plain terms|summary|summaries|tl;?dr)\b", re.IGNORECASE)
#: the verbs an order on the form of the answers opens with ("keep answers short", "use
#: British spelling", "reply in Spanish"; also read by :mod:`engram.trust.cascade`)
FORM_VERBS = (r"(?:answer|reply|respond|write|talk|speak|keep|use|give|format|explain|avoid|"
              r"stop using)")
#: what asks for an order ahead of it ("I'd like you to always ...", "Can you remember to
#: always ...?", "Make sure to always ...")
_ASKING = (r"(?:i['’]d like you to|i want you to|i need you to|make sure (?:to|you)|"
           r"remember to|be sure to|(?:can|could|would|will) you(?: please)?(?: remember to)?)")
#: a message that is only an order on the form of the answers, with no word that it
#: stands ("Please keep your answers short", "Use British spelling", "Please don't use
#: bullet points", "No emojis please"): read when it names :data:`FORM_WORDS`
_FORM_ONLY = re.compile(
    rf"^\s*{_LEAD}(?:{_ASKING}\s+)?(?:please\s+)?(?P<rule>(?:(?:don['’]t|do not)\s+)?"
    rf"{FORM_VERBS}\b.+?|no\s+(?:more\s+)?\w+(?:\s+\w+)?)(?:,?\s+please)?\s*[.!]*\s*$",
    re.IGNORECASE,
)
#: "Don't X when I ask about Y": a plain "don't" orders only with a topic ("Don't tell
#: anyone" between friends orders nothing of an assistant)
_DONT = re.compile(
    rf"^\s*{_LEAD}{_FROM_NOW}(?:please\s+)?(?P<rule>(?:don['’]t|do not|stop)\s+.+?)"
    rf",?\s+{_ASKED}\s+(?P<topic>.+?)\s*[.!]?\s*$",
    re.IGNORECASE,
)
#: "Always X (when I ask about Y)"
_PLAIN = re.compile(
    rf"^\s*{_LEAD}{_FROM_NOW}(?:{_ASKING}\s+)?(?:please\s+)?(?P<rule>{_RULE_WORD}\b.+?)"
    rf"(?:,?\s+{_ASKED}\s+(?P<topic>.+?))?\s*[.!]?\s*$",
    re.IGNORECASE,
)
#: "When(ever) I ask about Y, always X" / "When I ask for code, please use TypeScript"
_FRONTED = re.compile(
    rf"^\s*{_LEAD}{_FROM_NOW}{_ASKED}\s+(?P<topic>[^,]+?)\s*,\s*"
    rf"(?P<rule>(?:please\s+)?(?:{_RULE_WORD}\b)?.+?)\s*[.!]?\s*$",
    re.IGNORECASE,
)
#: "From now on, keep answers short (when I ask about Y)": any request after the marker
_ONWARD = re.compile(
    rf"^\s*{_LEAD}{_ONWARD_WORDS}\s*,?\s+(?!i\b|i['’]|we\b|you\b)(?P<rule>.+?)"
    rf"(?:,?\s+{_ASKED}\s+(?P<topic>.+?))?\s*[.!]?\s*$",
    re.IGNORECASE,
)
#: "Keep answers under 200 words from now on": a request, the marker last
_ONWARD_LAST = re.compile(
    rf"^\s*{_LEAD}(?!i\b|i['’]|we\b|you\b)(?P<rule>.+?),?\s+{_ONWARD_WORDS}"
    rf"(?:,?\s+please)?(?:,?\s+{_ASKED}\s+(?P<topic>.+?))?\s*[.!]?\s*$",
    re.IGNORECASE,
)
#: the end of a message id some chat exports append ("... ->-> 2,7")
_TRAILER = re.compile(r"\s*->->.*$")


@dataclass(frozen=True)
class Instruction:
    """One standing instruction: what to do (``rule``, as said, without "please"), the
    requests it is for (``topic``; ``None``: every request) and where the sentence
    stands in the message (``start``, ``end``)."""

    rule: str
    topic: str | None
    start: int
    end: int


#: verbs that tell an assistant how to answer: an instruction for every request starts
#: with one ("Never use emojis", "Always reply in Spanish"); chat's "always here to help",
#: "never give up" and "never heard of it" do not
_DIRECTIVE = frozenset("""
use include provide give show list cite format write answer reply respond explain add keep
mention specify state label highlight report display prioritize prioritise relate suggest
recommend avoid assume ask call address remind tell send summarize summarise translate
quote link round convert express present put start end begin sign check double-check
spell define compare break structure number bold italicize italicise mark flag note
separate limit stick default respect follow apply attach enable disable offer
""".split())
#: a word after "always" or "never" that is no verb of a request
_NOT_A_REQUEST = frozenset({"been", "had", "was", "were", "did", "got", "heard", "seen",
                            "saw", "said", "say", "thought", "knew", "felt", "done", "gone",
                            "happy", "glad", "here", "there", "up", "a", "an", "the", "so",
                            "too", "good", "great", "nice", "fun", "better", "ever", "again",
                            "mind", "quit", "forget"})
_ED_VERBS = frozenset({"need", "feed", "embed", "proceed", "exceed", "succeed", "heed"})


def _requests(rule: str, topic: str | None) -> bool:
    """Whether ``rule`` (as read) asks something of the assistant: its verb (after
    "always" / "never" / "don't ever") is a base form, and, for every request (no
    ``topic``), a verb of answering (:data:`_DIRECTIVE`)."""
    words = re.findall(r"[\w'’-]+", rule.lower())
    while words and words[0] in ("always", "never", "don't", "don’t", "do", "not", "ever",
                                 "please"):
        words = words[1:]
    if len(words) < 2:
        return False
    verb = words[0]
    if (verb, words[1]) in (("give", "up"), ("let", "go")):  # "never give up"
        return False
    if verb in _NOT_A_REQUEST or (verb.endswith(("ed", "ing")) and verb not in _ED_VERBS):
        return False
    return topic is not None or verb in _DIRECTIVE


def _tidy(rule: str) -> str:
    """``rule`` as a memory says it: without "please" or an onward marker at its end, the
    speaker's own words in the third person ("always answer me in French from now on"
    -> "always answer them in French")."""
    rule = re.sub(rf"^please\s+|,?\s+please$|,?\s+{_ONWARD_WORDS}$", "", rule.strip(),
                  flags=re.IGNORECASE)
    rule = as_theirs(rule)
    return rule[:1].lower() + rule[1:]


#: the longest message read whole as an order on the form of the answers
FORM_ONLY_MAX = 120
#: a request put as a question ("Can you remember to always cite your sources?")
_ASKED_TO = re.compile(rf"^\s*{_LEAD}(?:can|could|would|will) you\b", re.IGNORECASE)


def _may_hold(low: str) -> bool:
    """Whether a message (lower case) holds the words one of the forms needs ("always",
    "never" / "ever", an onward marker, "when I ask"), or is short enough to be only an
    order on the form of the answers: one without holds no instruction, and is not split
    into sentences."""
    return ("always" in low or "ever" in low or "forward" in low or "future" in low
            or "from now on" in low or len(low) <= FORM_ONLY_MAX
            or (("ask" in low or "request" in low or "want" in low)
                and ("when" in low or "time" in low)))


def read_instructions(text: str) -> list[Instruction]:
    """The standing instructions of ``text``, in order (module notes)."""
    out: list[Instruction] = []
    if not _may_hold(text.lower()):
        return out
    whole = _TRAILER.sub("", text).strip()
    for m in _SENTENCE.finditer(text):
        sentence = _TRAILER.sub("", m.group(0))
        if sentence.rstrip().endswith("?"):
            if _ASKED_TO.match(sentence) is None:
                continue
            sentence = sentence.rstrip()[:-1]
        got = (_PLAIN.match(sentence) or _FRONTED.match(sentence) or _ONWARD.match(sentence)
               or _ONWARD_LAST.match(sentence) or _DONT.match(sentence))
        if got is not None and len(sentence.split()) >= 3:
            rule, topic = _tidy(got.group("rule")), got.group("topic")
            if not _requests(rule, topic):
                continue
        elif (len(whole) <= FORM_ONLY_MAX and sentence.strip() == whole.rstrip("?").strip()
              and (got := _FORM_ONLY.match(sentence)) is not None
              and FORM_WORDS.search(got.group("rule")) is not None):
            rule, topic = _tidy(got.group("rule")), None
        else:
            continue
        out.append(Instruction(rule, topic.strip() if topic else None, m.start(), m.end()))
    return out


@dataclass(frozen=True)
class StandingText:
    """What :func:`read_instruction_text` reads back from a memory's text."""

    #: the requests the instruction is for (``None``: every request)
    topic: str | None
    rule: str


#: the two forms :func:`instruction_text` writes (a subject holds no colon)
_WRITTEN = re.compile(r"When (?P<subject>[^:]+?) asks about (?P<topic>[^:]+?): (?P<rule>.+)"
                      r"|(?P<who>[^:]+?)['’]s standing instruction: (?P<any>.+)", re.DOTALL)


def instruction_text(subject: str, ins: Instruction) -> str:
    """The text of the ``procedure`` memory that keeps ``ins`` for ``subject``, its
    topic first ("When Ana asks about formatting references: always use APA 7th
    edition citation style"), or for every request "Ana's standing instruction:
    never use emojis". :func:`read_instruction_text` reads it back."""
    head = (f"When {subject} asks about {ins.topic}" if ins.topic
            else f"{subject[:1].upper()}{subject[1:]}'s standing instruction")
    return f"{head}: {ins.rule}"


def read_instruction_text(text: str) -> StandingText | None:
    """The topic and rule of a memory text :func:`instruction_text` wrote; ``None``
    for any other text (an agent's procedure, a fact)."""
    m = _WRITTEN.fullmatch(text.strip())
    if m is None:
        return None
    if m.group("rule") is not None:
        return StandingText(m.group("topic"), m.group("rule"))
    return StandingText(None, m.group("any"))


def for_other_requests(a: str, b: str) -> bool:
    """Whether the memory texts ``a`` and ``b`` are standing instructions for different
    requests (two topics, or a topic and every request): both hold, and neither
    replaces the other, however alike their words ("When Ana asks about dice
    probability: always give step-by-step answers" / "... about card probability: ...").
    Two instructions for the same requests may replace each other (metric units, then
    imperial units for recipes); any other text is ``False``."""
    ra, rb = read_instruction_text(a), read_instruction_text(b)
    if ra is None or rb is None:
        return False
    return _topic_key(ra.topic) != _topic_key(rb.topic)


def _topic_key(topic: str | None) -> str | None:
    return None if topic is None else " ".join(topic.lower().split())
