"""Casual spellings of time words, written out before time expressions are resolved.

People type "2moro", "yday", "last wk", "the wknd", "this sat", "a fortnight ago" and
"tonite". :func:`spelled_out` returns the text with those written as the resolver's
rules read them ("tomorrow", "yesterday", "last week", "the weekend", "this Saturday",
"two weeks ago", "tonight") and, for each character of the new text, the index of the
character of the original it stands for, so that a mention's span indexes the text as
it was typed.

Short forms that are also words are written out only where a time word is meant: a
weekday's short form after "on", "this", "next", "last", ... or before "night",
"morning", ... ("this sat", "fri night"; not "I sat down"); "yr"/"wk"/"mth" after a
count or a "last"/"next"/"this" ("2 yrs ago", "last wk"; not "yr mum"). The short
weekdays that are no word ("fri", "thurs", "tues") are written out wherever they stand
in lower case (a schedule's "Thu" and "Fri" are its columns, not days).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["spelled_out"]

#: short forms that are no English word, written out wherever they stand alone
_ALWAYS = {
    **dict.fromkeys(("2moro", "2morrow", "2mrw", "2mro", "tmrw", "tmrrw", "tmro", "tomoz",
                     "tomorow", "tommorow", "tommorrow", "tmoro"), "tomorrow"),
    **dict.fromkeys(("yday", "ydy", "yest", "ystday", "yesterdy", "yesturday", "yestrday"),
                    "yesterday"),
    **dict.fromkeys(("tonite", "2nite", "2night", "tonigh"), "tonight"),
    "2day": "today",
    "nite": "night",
    **dict.fromkeys(("wknd", "wkend", "w/end"), "weekend"),
    **dict.fromkeys(("wknds", "wkends"), "weekends"),
    "nxt": "next",
    "arvo": "afternoon",
    "xmas": "Christmas",
    "x-mas": "Christmas",
    "a fortnight": "two weeks",
    "fortnight": "two weeks",
    "fortnights": "weeks",
}
#: short units written out after a count or a determiner
_UNITS = {"wk": "week", "wks": "weeks", "mth": "month", "mths": "months", "mnth": "month",
          "mnths": "months", "yr": "year", "yrs": "years"}
#: short weekdays written out after a preposition or determiner, or before a part of day
_DAYS = {"mon": "Monday", "tue": "Tuesday", "tues": "Tuesday", "wed": "Wednesday",
         "weds": "Wednesday", "thu": "Thursday", "thur": "Thursday", "thurs": "Thursday",
         "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}

_COUNTED = (r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|few|couple|"
            r"several|last|next|nxt|this|that|past|coming|per|every|each)")
_BEFORE_DAY = (r"(?:on|this|next|nxt|last|by|till|til|until|from|to|since|every|coming|before|"
               r"after)")
#: the short weekdays that are no English word, written out wherever they stand alone
_NO_WORD_DAYS = ("tue", "tues", "thu", "thur", "thurs", "fri", "weds")
_PART_OF_DAY = r"(?:night|nite|morning|mornin|afternoon|arvo|evening|eve)"


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_PATTERN = re.compile(
    rf"(?<![\w/-])(?P<always>{_alternatives(_ALWAYS)})(?![\w/-])"
    rf"|\b{_COUNTED}[\s-](?P<unit>{_alternatives(_UNITS)})\b"
    rf"|\b{_BEFORE_DAY}\s+(?P<day>{_alternatives(_DAYS)})\b\.?(?!['’\w])"
    rf"|\b(?P<day2>{_alternatives(_DAYS)})\.?\s+(?={_PART_OF_DAY}\b)"
    # lower case only: "Thu" and "Fri" head the columns of schedules and tables
    rf"|(?<![\w'’-])(?-i:(?P<day3>{_alternatives(_NO_WORD_DAYS)}))\b\.?(?![\w'’-])",
    re.IGNORECASE,
)


#: every word a short form is made of: a text holding none is used as it is, unread
_TRIGGERS = frozenset(k.split()[-1] for k in (*_ALWAYS, *_UNITS, *_DAYS))
_TOKEN = re.compile(r"[\w/-]+")


def spelled_out(text: str) -> tuple[str, list[int]] | None:
    """``text`` with its casual time words written out, and the index into ``text``
    of each character of the result (one past the end: ``len(text)``); ``None`` when
    there is nothing to write out (the common case: the text is used as it is)."""
    if _TRIGGERS.isdisjoint(_TOKEN.findall(text.lower())):
        return None
    found = list(_PATTERN.finditer(text))
    if not found:
        return None
    out: list[str] = []
    where: list[int] = []
    pos = 0
    for m in found:
        group = m.lastgroup  # the alternatives hold one named group each
        assert group is not None
        s, e = m.span(group)
        table = _ALWAYS if group == "always" else _UNITS if group == "unit" else _DAYS
        new = table[m.group(group).lower()]
        out.append(text[pos:s])
        where.extend(range(pos, s))
        out.append(new)
        # every written-out character stands for the short form's first, the last one
        # for its last: a span ending on it ends where the short form ended
        where.extend([s] * (len(new) - 1) + [e - 1])
        pos = e
    out.append(text[pos:])
    where.extend(range(pos, len(text)))
    where.append(len(text))
    return "".join(out), where
