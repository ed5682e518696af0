"""A day the question names by its date is also searched by its holiday's name.

"Where was Elise on 31 Dec 2023?" names the day by its date; the message that
answers it was written the next day and names the day by what it was: "That sounds
like a great way to celebrate the New Year. I decided to go have a dinner with
family out in Miami where we got to watch the fireworks at midnight." They share no
word. When a question names a calendar day by its date (a number in it: "31 Dec",
"December 31st", "31.12.2023") and that day is a fixed-date holiday (New Year's Eve
and Day, Christmas Eve and Day, Boxing Day, Halloween, Valentine's Day, Independence
Day, St Patrick's Day: :func:`engram.recall._absolute.fixed_holidays`), the lexical
signal also searches for the holiday's name (:func:`holiday_words`, added by
:func:`engram.retrieval.expand.also`), each of its words counting ``weight`` times a
query word. A question that names the holiday itself has its words already; a
relative day ("last Friday") is not read.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..index.lexical import stem, tokens
from ..recall._absolute import fixed_holidays
from ..recall.timeexpr import resolve_time_expressions
from ..text import query_terms

__all__ = ["holiday_words"]

#: any reference time: a day named by its date falls on the same month and day
#: whatever year the reference fills in ("on 31 Dec" said in any year)
_ANY = datetime(2001, 6, 15, tzinfo=UTC)
#: words of a holiday's name that say nothing of which day it is ("Christmas Day")
_GENERIC = frozenset(tokens("day"))


def holiday_words(query: str) -> str:
    """The words of the holidays on the calendar days ``query`` names by date, the
    query's own words left out ("" when it names none)."""
    if not any(ch.isdigit() for ch in query):
        return ""
    names: dict[str, None] = {}
    for m in resolve_time_expressions(query, _ANY):
        if m.relative or m.granularity != "day" or m.first_day != m.last_day:
            continue
        for name in fixed_holidays(m.first_day.month, m.first_day.day):
            names.setdefault(name, None)
    if not names:
        return ""
    seen = set(tokens(query)) | _GENERIC
    out: list[str] = []
    for word in (w for name in names for w in query_terms(name)):
        term = stem(word)
        if term not in seen:  # one word a stem ("new years" adds nothing to "new year")
            seen.add(term)
            out.append(word)
    return " ".join(out)

