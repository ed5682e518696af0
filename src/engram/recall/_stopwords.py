"""Word lists for entity and keyword extraction (our own, small and English-only).

``STOPWORDS`` are dropped from keywords: function words, auxiliaries, very
common verbs, chat filler and time words (time is handled by ``timeexpr``).
``NOT_NAMES`` are capitalised words that start sentences or greet but never
name anything ("Hey", "Thanks", "The"): they are cut from the ends of
capitalised runs.
"""

from __future__ import annotations

__all__ = ["CONNECTORS", "MONTH_AND_DAY_NAMES", "NOT_NAMES", "STOPWORDS"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FUNCTION = """
a about above across after again against all almost along already also although always am
among an and another any anybody anyone anything anyway anywhere are around as at away back
be became because become been before behind being below beside besides between beyond both
but by can cannot could did do does doing done down during each either else enough even ever
every everybody everyone everything everywhere except few for from further had has have
having he her here hers herself him himself his how however i if in into is it its itself
just least less let like likely lot lots many may maybe me might mine more most much must my
myself near neither never no nobody none nor not nothing now of off often on once one only
onto or other others otherwise our ours ourselves out over own per perhaps quite rather
really same several shall she should since so some somebody someone something sometimes
somewhat somewhere soon still such than that the their theirs them themselves then there
these they this those though through throughout thus till to together too toward towards
under until up upon us very via was we well were what whatever when whenever where wherever
whether which while who whoever whole whom whose why will with within without would yet you
your yours yourself yourselves
im ive ill id youre youve youll youd hes shes its were weve well theyre theyve theyll dont
doesnt didnt isnt arent wasnt werent wont wouldnt couldnt shouldnt cant havent hasnt hadnt
thats theres heres whats whos lets
"""

_COMMON_VERBS = """
get gets got getting gotten go goes went going gone make makes made making do say says said
saying tell tells told know knows knew known think thinks thought want wants wanted see sees
saw seen seem seems seemed come comes came coming take takes took taken give gives gave given
keep keeps kept put puts try tries tried trying use used using need needs needed feel feels
felt feeling find finds found look looks looked looking mean means meant let lets sure
"""

_CHAT = """
hey hi hello oh ah ahh aww wow yeah yes yep yup no nope ok okay lol haha hehe omg btw thanks
thank thx please sorry awesome great cool nice amazing good glad happy super pretty totally
definitely absolutely gonna wanna gotta kinda sorta stuff thing things lot bit kind sort
also actually basically literally honestly seriously guess hope hoping wish
"""

_TIME = """
today tonight yesterday tomorrow day days week weeks weekend weekends month months year years
time times ago last next recently lately now then later earlier morning afternoon evening
night
"""

STOPWORDS = _words(_FUNCTION + _COMMON_VERBS + _CHAT + _TIME)

MONTH_AND_DAY_NAMES = _words(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday "
    "saturday sunday mon tue tues wed weds thu thur thurs fri sat sun"
)

NOT_NAMES = _words(
    """
i i'm i've i'll i'd the a an this that these those my your our their his her its we you he
she they it me us them hey hi hello oh ah aww wow yeah yes yep no nope ok okay thanks thank
lol haha omg btw so and but or if when what where who why how which did do does is are was
were have has had will would could should can just also well sure great awesome cool nice
good love sounds congrats congratulations definitely totally absolutely really ahh hmm dear
let let's here there not maybe please sorry happy glad mr mrs ms dr anyway speaking
honestly seriously guess whoa yay woohoo alright right exactly true agreed same bye goodbye
cheers welcome go keep take check look see enjoy stay hang make try hope wish
"""
)

#: Lower-case words allowed inside a capitalised name ("Bank of America").
CONNECTORS = _words("of the de da del van von la le du")
