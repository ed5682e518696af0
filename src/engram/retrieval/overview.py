"""An overview request's topic: what to search for when a user asks to be walked
through, or given a summary of, what was said about something.

"Can you walk me through the order in which I brought up different aspects of my
app's deployment across our conversations?" is a request about the conversations,
wrapped around a topic ("my app's deployment"). Its frame ("walk me through", "the
order in which", "brought up", "aspects", "across our conversations", "mention only
five items") is in no message the answer needs, yet it is most of the request's
words: every signal then matches the frame as much as the topic, and the best
matches are messages that talk about talking ("as we discussed in our previous
conversations, ...").

:func:`topic` takes the frame off, by rules on English request forms written from
grammar (``tests/test_overview_topic.py`` pins them in many phrasings):

- an opening request to recount or list what was said: "(Can you | Could you |
  Please)? walk me through / list / recap / remind me of / tell me / go over / outline
  (the order in which | in what order | how | what | everything) I / we brought up /
  mentioned / discussed / talked about / asked about / raised / covered / said
  (different aspects / topics / ideas / steps of)? <topic>";
- an opening request for a summary or an overview: "(Can you)? give me / provide /
  write (me)? a (short | comprehensive | ...) summary / overview / recap / rundown of
  (everything / all / what we covered about)? <topic>", or "Summarise / Summarize
  (everything / what we discussed about | how) <topic>" (a bare "Summarize this
  article: ..." is no request about the conversations);
- "How did my / our discussions / conversations about <topic> progress / develop /
  go?";

then a closing frame: "across / throughout / in / during / over our conversations"
(and a clause after it: ", including how I first ..."),
"in order", "(mention) only N items", "so far", and the question mark. Anything else
gives ``None``: the search uses the request as it is. A request that is all frame
("Can you summarise everything we discussed?") has no topic and gives ``None`` too.
"""

from __future__ import annotations

import re

__all__ = ["topic"]

#: what a user says they did with a subject in the conversations
_VERB = (r"(?:brought\s+up|mentioned|discussed|talked\s+about|asked\s+(?:you\s+)?about|"
         r"raised|covered|explored|went\s+(?:over|through)|shared|described|said\s+about|"
         r"told\s+you\s+about|worked\s+(?:on|through)|dealt\s+with|tackled|looked\s+at|"
         r"learn(?:ed|t)\s+about)")
#: the parts of a subject a recount lists
_PARTS = (r"(?:aspects?|concepts?|ideas?|topics?|parts?|things|issues?|steps?|stages?|"
          r"points?|questions?|areas?|elements?|details?|problems?|challenges?|matters?|"
          r"features?|phases?|subjects?)")
_KINDS = r"(?:(?:the\s+)?(?:different|various|several|main|key|many|all\s+the)\s+)?"
_OF = r"(?:of|related\s+to|about|regarding|concerning|on|around|for|in|with)\s+"
_ASK = r"^(?:(?:can|could|would|will)\s+you\s+)?(?:please\s+)?"
_WE = r"(?:i|we)(?:'ve|’ve|\s+have)?\s+"

_FRAMES = tuple(re.compile(p, re.IGNORECASE) for p in (
    # walk me through / list ... (the order in which | how | what) I brought up (aspects of)
    _ASK + r"(?:walk\s+me\s+through|take\s+me\s+through|list|recap|remind\s+me(?:\s+of)?|"
    r"tell\s+me|go\s+over|outline|show\s+me|describe|recount)\s+(?:(?:again|back)\s+)?"
    r"(?:in\s+order\s+)?(?:the\s+(?:order|sequence)\s+(?:in\s+which|of\s+how)|in\s+what\s+order|"
    r"how|what|all\s+(?:that|the\s+things)|everything(?:\s+that)?)\s+" + _WE + _VERB +
    r"\s+(?:" + _KINDS + _PARTS + r"\s+)?(?:" + _OF + r")?",
    # list the aspects of X I brought up (the parts first)
    _ASK + r"(?:list|recap|outline|go\s+over|walk\s+me\s+through)\s+(?:in\s+order\s+)?"
    r"(?:the\s+)?" + _KINDS + _PARTS + r"\s+(?:that\s+)?" + _WE + _VERB + r"\s+(?:" + _OF + r")?",
    # (give me) a summary / an overview of (everything we covered about | how)
    _ASK + r"(?:give|provide|write|make|prepare)\s+(?:me\s+|us\s+)?(?:with\s+)?an?\s+"
    r"(?:[\w-]+\s+){0,2}?(?:summary|overview|recap|rundown|run-down|timeline)\s+of\s+"
    r"(?:(?:everything|all|what)\s+(?:that\s+)?" + _WE + r"?" + _VERB + r"\b\s*(?:" + _OF
    + r")?|how\s+)?",
    # summarise (everything we discussed about) X
    _ASK + r"(?:summari[sz]e|sum\s+up|recap)\s+(?:for\s+me\s+)?(?:(?:everything|all|what)\s+"
    r"(?:that\s+)?" + _WE + r"?" + _VERB + r"\b\s*(?:" + _OF + r")?|how\s+)",
    # how did my discussions about X progress / develop
    r"^how\s+(?:did|have)\s+(?:my|our)\s+(?:discussions?|conversations?|talks?|questions?|"
    r"chats?)\s+(?:about|on|regarding|around)\s+",
))

_TAILS = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"\s*\(?,?\s*(?:please\s+)?(?:mention|list|name|give)\s+(?:only|just|exactly|\d+|one|two|"
    r"three|four|five|six|seven|eight|nine|ten)\b.*$",
    r",?\s*(?:across|throughout|in|during|over|from)\s+(?:all\s+)?(?:of\s+)?"
    r"(?:our|the|my|these|those)\s+(?:\w+\s+)?(?:conversations?|discussions?|chats?|"
    r"sessions?|talks?|exchanges?)\b\s*(?:[,;(].*)?[\s?.!]*$",
    r",?\s*(?:so\s+far|to\s+date|in\s+order|in\s+sequence|over\s+time)\s*[?.!]*\s*$",
    r"(?:\s+(?:has|have|had))?\s+(?:progress(?:ed)?|develop(?:ed)?|go|went|evolve[d]?)"
    r"\s*[?.!]*\s*$",
    r"[\s?.!,]+$",
))

#: a topic of at most this many characters: longer, the request was no frame's
_LONGEST = 300
#: a request of more characters is read as it is (a pasted text, not a request about
#: the conversations; and no rule runs over a long text)
_LONGEST_REQUEST = 1000


def topic(query: str) -> str | None:
    """The topic of an overview request (module docstring), or ``None`` when
    ``query`` is no overview request or names no topic."""
    if len(query) > _LONGEST_REQUEST:  # a request is a sentence or two, not a document
        return None
    text = " ".join(query.split())
    for frame in _FRAMES:
        m = frame.match(text)
        if m is None:
            continue
        rest, before = text[m.end():], ""
        while rest != before:  # the closing frames, last first, until none is left
            before = rest
            for tail in _TAILS:
                rest = tail.sub("", rest)
        rest = rest.strip(" ,;:-")
        words = re.findall(r"[^\W\d_]+", rest)
        if not words or len(rest) > _LONGEST or all(w.lower() in _EMPTY for w in words):
            return None
        return rest
    return None


#: words that make no topic on their own ("everything", "it", "that")
_EMPTY = frozenset({"everything", "all", "it", "that", "this", "them", "things", "stuff",
                    "so", "far", "we", "i", "us", "me", "you", "the", "what", "about"})
