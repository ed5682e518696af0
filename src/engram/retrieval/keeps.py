"""A later statement that leaves the older value as it is (:func:`keeps`).

The newer-first rule (:mod:`.pairs`) replaces an older statement with a later one
close to it: a later telling, a change, another value in its slot. In a chat many
later statements are close to an older value without changing it:

* **another holder**: "My sister's just got a border collie pup" after "Our dog Pip is
  a border terrier" says what the sister has (:data:`_HOLDER`);
* **considered**: "Should I apply for British citizenship?", "Got a quote for quartz
  worktops today. Laughed, said thanks", "nearly ordered one but couldn't bring myself"
  weigh a change not made (:data:`_CONSIDERED`);
* **remembered**: "Used to do my Sunday runs along the seafront when I lived in
  Brighton", "My first bike was a Honda CG125" tell an even older value
  (:data:`_REMEMBERED`);
* **added**: "Also volunteering a few hours a month on the Citizens Advice line",
  "Picked up a few bank shifts at a private clinic as well" add a value beside the older
  one (:data:`_ADDED`);
* **for a while**: "Covering at the Queen Street Costa for the next two weeks" is an
  exception to what holds usually, for a question asking what holds usually
  (:data:`_FOR_A_WHILE`).

A change weighed, a time remembered and a value added are undone by a marker of a change
made ("switched", "sold", "now", "instead", "no longer" ...: "I used to drive a Volvo, now
it's a Subaru" replaces; so does "Thought about it for months and finally switched");
another holder's change is theirs, and an exception's is for its while. The readings are
read in a short statement only: a long chat turn holds such words about many things
(:attr:`.pairs.Pair.keeps`). Session 37: of a development set of 60 related later
statements that change nothing, 31 were not kept below the statement they leave standing
(5 with the rule off); with these readings 12 (``docs/recall.md``, session 37).
"""

from __future__ import annotations

import re

from .rerank import _terms

__all__ = ["keeps"]

#: a relation the owner names someone by
_RELATIONS = (
    r"sister|brother|mum|mom|mother|dad|father|son|daughter|wife|husband|partner|"
    r"girlfriend|boyfriend|fianc[ée]e?|friend|mate|neighbou?r|colleague|boss|manager|"
    r"cousin|aunt|auntie|aunty|uncle|nan|nana|gran|granny|grandma|grandad|grandpa|"
    r"grandmother|grandfather|niece|nephew|flatmate|housemate|roommate|kids?|children|"
    r"in-laws|parents|(?:brother|sister|mother|father|son|daughter)-in-law|step(?:mum|mom|dad|"
    r"son|daughter|brother|sister)|godson|goddaughter|teammate|classmate|landlord|landlady")
#: someone else is who the statement is about: "my/our <relation> (<Name>)" opening it,
#: after at most two words ("Found out my new girlfriend is ...", "Went to my brother's
#: local ...")
_HOLDER = re.compile(
    r"^\W*(?:[\w'’]+\s+){0,2}?(?:my|our)\s+(?:(?:little|big|older|younger|eldest|oldest|"
    r"youngest|baby|new|best|twin)\s+)?(?P<rel>(?:" + _RELATIONS + r")s?)\b"
    r"(?:\s+(?P<name>(?-i:[A-Z][a-z]+)))?", re.IGNORECASE)
#: where a sentence ends
_SENTENCE = re.compile(r"[.;!?]")
#: the owner's own, or the owner acted on ("My boss gave me a raise")
_OWN = re.compile(r"\b(?:i|i['’]m|i['’]ve|we|we['’]re|we['’]ve|me|us|my|our|mine|ours|"
                  r"myself)\b", re.IGNORECASE)
#: a change weighed, offered or asked about, not made
_CONSIDERED = re.compile(
    r"(?:^|[.!?]\s+)should (?:i|we)\b|"
    r"\b(?:thinking (?:about|of)|(?:am|['’]m|are|['’]re|was|been) considering|"
    r"considering (?:a|an|getting|buying|switching|moving|changing|going)|tempted|"
    r"wondering (?:if|whether) (?:i|we) should|wondering (?:whether|about) (?:to|getting|"
    r"buying|switching|moving)|"
    r"(?:asked|asking) (?:me )?(?:if|whether)|would (?:i|you) (?:like|fancy)|"
    r"eyeing|got a quote|quote for|demoed|test[- ]drove|trial(?:led)?|"
    r"nearly|almost|begging|is it worth|"
    r"not this (?:week|month|year)|said (?:thanks but )?no|we'll see|couldn't bring myself|"
    r"invited (?:me|us))\b", re.IGNORECASE)
#: an even older time told again
_REMEMBERED = re.compile(
    r"\b(?:(?<!\bget )(?<!\bgot )(?<!getting )(?<!\bam )(?<!\bis )(?<!\bare )"
    r"(?<!\bwas )(?<!were )(?<!been )(?<!['’]m )(?<!['’]re )"
    r"used to (?!(?:it|this|that|them|him|her)\b|\w+ing\b)|back when|back in the day|"
    r"when i was (?:a|an|at|in|little|young|younger|small)|as (?:a )?kids?|"
    r"as a (?:child|teenager|teen|student)|"
    r"my first \w+(?: \w+)? (?:was|were)|years ago|remember (?:that|when|the)|"
    r"took me (?:straight )?back|(?:our|my) old (?:house|flat|place|school|job|street|"
    r"home|office|neighbourhood)|the old days|good times|in my (?:teens|twenties|youth))\b",
    re.IGNORECASE)
#: a value added beside the older one
_ADDED = re.compile(r"(?:^|[.!?]\s+)(?:also|on top of that|in addition)\b|"
                    r"\bas well(?=\s*(?:[.!?]|$))", re.IGNORECASE)
#: an exception for a while
_FOR_A_WHILE = re.compile(
    r"\b(?:this week|all (?:this )?(?:week|month)|for (?:the next|a|a few|a couple of|"
    r"the next few|the next two|two|three|four|six)\s+(?:days?|weeks?|fortnight|months?)|"
    r"for a fortnight|till|until|"
    r"while|stand-in|standing in|cover(?:ing)?|in the meantime|temporar\w*|on loan|"
    r"borrowing|courtesy|diversion|shut|closed for|off sick)\b", re.IGNORECASE)
#: a change made: undoes a change weighed, a time remembered, a value added
_MADE = re.compile(
    r"\b(?:now|nowadays|these days|currently|any ?more|no longer|instead|rather than|"
    r"switched|moved|bought|sold|joined|signed up for|quit|changed|replaced|swapped|"
    r"traded|gave up|stopped|went with|decided|booked|adopted|retired|since then|"
    r"pulled out|stepped (?:in|down)|took over|taking over|(?:gone|went) off|ported|"
    r"migrated|(?:down|up) to \d)\b",
    re.IGNORECASE)
#: "nearly ordered one", "almost bought": a change not made
_NOT_MADE = re.compile(r"\b(?:nearly|almost)\s+\w+", re.IGNORECASE)
#: a question asking what holds usually, which an exception for a while leaves standing
_USUALLY = _terms("normally usually usual regular regularly typically generally")


def _made(text: str) -> bool:
    return _MADE.search(_NOT_MADE.sub(" ", text)) is not None


def keeps(newer: str, older: str, asked: frozenset[str] = frozenset(),
          named: frozenset[str] = frozenset()) -> str | None:
    """How the ``newer`` statement leaves the ``older`` one standing, or ``None``:
    ``"holder"`` (it is about someone the older, a statement of the owner's own, does
    not name and the question does not ask about: ``named`` holds the question's index
    terms; not what they do to the owner's own: "My boss gave me a raise"),
    ``"considered"``, ``"remembered"``, ``"added"`` (each undone by a change made), or
    ``"for a while"``
    (where ``asked``, the question's index terms, asks what holds usually; a change it
    tells is for that while)."""
    holder = _HOLDER.search(newer)
    if holder is not None:
        who = _terms(" ".join(g for g in holder.group("rel", "name") if g))
        # what they do to the owner's own is the owner's ("My boss gave me a raise",
        # "our landlord is putting our rent up")
        clause = _SENTENCE.split(newer[holder.end():], maxsplit=1)[0]
        theirs = {t for t in _terms(older) | named if len(t) >= 3}
        known = any(a.startswith(b) or b.startswith(a) for a in who for b in theirs)
        if _OWN.search(older) is not None and not known and _OWN.search(clause) is None:
            return "holder"
    # an exception for a while is one whatever it says changed ("we're doing Wednesdays
    # in the park for the next three weeks instead")
    if asked & _USUALLY and _FOR_A_WHILE.search(newer) is not None:
        return "for a while"
    if _made(newer):
        return None
    if _CONSIDERED.search(newer) is not None:
        return "considered"
    if _REMEMBERED.search(newer) is not None:
        return "remembered"
    if _ADDED.search(newer) is not None:
        return "added"
    return None
