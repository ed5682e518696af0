"""Entity mentions and keywords from plain English text, without a language model.

    >>> text = "Hey Mel! My friend Caroline moved to New York City."
    >>> for m in extract_entities(text, {"mel": "melanie"}):
    ...     print(m.key, m.kind, sep=": ")
    melanie: known
    friend: keyword
    caroline: name
    moved: keyword
    new york city: name

Three sources, in priority order (a character belongs to at most one mention):

1. ``known`` names supplied by the caller (speakers, people already met),
   matched case-insensitively as whole words, with an optional possessive.
   Pass a mapping ``{"mel": "melanie"}`` to fold aliases onto one key.
2. ``title``: 1-10 words between double quotes ("The Lean Startup").
3. ``name``: runs of capitalised words ("New York City", "Bank of America",
   acronyms like "LGBTQ"), with greetings, pronouns and sentence starters cut
   from their ends ("Hey Mel" -> "Mel") and month/day names dropped. A single
   capitalised word that only ever appears at the start of a sentence is not
   taken as a name (it is usually an ordinary word: "Painting's great").
4. ``keyword``: every other word that is not a stopword, lower-cased, with
   possessives removed and a light plural folding ("kids" -> "kid").

Keys are lower-case, possessive-free, whitespace-collapsed; curly apostrophes
become straight ones. The same function serves documents and queries, so keys
match between them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

from ..text import text_cache
from ._stopwords import CONNECTORS, MONTH_AND_DAY_NAMES, NOT_NAMES, STOPWORDS

__all__ = [
    "EntityKind",
    "EntityMention",
    "QueryEntities",
    "collect_names",
    "entity_keys",
    "extract_entities",
    "keywords",
    "normalise",
    "query_entities",
    "query_names",
    "singular",
]

EntityKind = Literal["known", "title", "name", "keyword"]
KnownNames = Iterable[str] | Mapping[str, str]


@dataclass(frozen=True)
class EntityMention:
    """``span`` indexes the input text; ``key`` is the normalised form to index."""

    key: str
    text: str
    span: tuple[int, int]
    kind: EntityKind


@dataclass(frozen=True)
class QueryEntities:
    """Entities of a query: ``people`` (known names, canonical keys), ``names``
    (other names and quoted titles) and ``keywords``, each unique, in order."""

    people: tuple[str, ...]
    names: tuple[str, ...]
    keywords: tuple[str, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """People, then names, then keywords."""
        return self.people + self.names + self.keywords


_TOKEN = re.compile(r"[^\W_][\w'\-]*")  # letters of any script: "Zoë", "José", "Łukasz"
_POSSESSIVE = re.compile(r"(?:'s|')$", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"[.!?\n:;\"()\[\]]")
_QUOTED = re.compile(r"\"([^\"\n]{1,120})\"|\u201c([^\u201d\n]{1,120})\u201d")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case, straight apostrophes, no possessive, single spaces, no edge punctuation."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").strip().lower()
    text = _SPACES.sub(" ", text).strip(" .,;:!?\"'()[]")
    return _POSSESSIVE.sub("", text)


def singular(word: str) -> str:
    """A plural noun's singular by its ending ("ponies" -> "pony", "dishes" ->
    "dish", "pets" -> "pet"; "glass", "bus", "iris" kept)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class _Tok(NamedTuple):
    """A word of the text (a tuple: made once per word of every text read)."""

    start: int
    end: int
    text: str  # possessive removed
    initial: bool
    capital: bool
    acronym: bool


def _strip_possessive(word: str) -> str:
    if word.endswith(("'s", "'S")):
        return word[:-2]
    return word[:-1] if word.endswith("'") else word


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


_ABBREVIATIONS = frozenset("mr mrs ms dr st jr sr prof mt ft".split())


def _gap_breaks(text: str, prev: _Tok | None, start: int, prev_end: int) -> bool:
    """True when the text between two tokens ends a sentence ("Dr. Seuss" does not)."""
    gap = text[prev_end:start]
    if prev is not None and prev.text.lower() in _ABBREVIATIONS and gap.strip() == ".":
        return False
    return bool(_SENTENCE_BREAK.search(gap))


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    prev_end = 0
    for m in _TOKEN.finditer(text):
        core = _strip_possessive(m.group(0)).rstrip("-")
        if core:
            start = m.start()
            # one space between two words (the common gap) ends no sentence
            initial = not out or (text[prev_end:start] != " "
                                  and _gap_breaks(text, out[-1], start, prev_end))
            capital = core[0].isupper()
            acronym = capital and _is_acronym(core)
            out.append(_Tok(start, start + len(core), core, initial, capital, acronym))
        prev_end = m.end()
    return out


@text_cache(64)  # a user's known names: emptied after a forget or a delete
def _known_pattern(aliases: tuple[str, ...]) -> re.Pattern[str] | None:
    if not aliases:
        return None
    alternation = "|".join(
        r"\s+".join(re.escape(w) for w in a.split()) for a in sorted(aliases, key=len, reverse=True)
    )
    return re.compile(rf"(?<![\w'])(?:{alternation})(?:['\u2019]s)?(?![\w])", re.IGNORECASE)


def _known_map(known_names: KnownNames) -> dict[str, str]:
    if isinstance(known_names, Mapping):
        pairs = [(normalise(k), normalise(v)) for k, v in known_names.items()]
        pairs += [(normalise(v), normalise(v)) for v in known_names.values()]
    else:
        pairs = [(normalise(n), normalise(n)) for n in known_names]
    return {alias: key for alias, key in pairs if alias and key}


def extract_entities(
    text: str, known_names: KnownNames = (), *, names_only: bool = False
) -> list[EntityMention]:
    """Every entity and keyword mention in ``text``, in text order (see module doc);
    ``names_only``: without the keywords (the other mentions are the same)."""
    text = text.replace("\u2019", "'")
    taken = bytearray(len(text))
    out: list[EntityMention] = []

    def free(s: int, e: int) -> bool:
        return not any(taken[s:e])

    def add(s: int, e: int, key: str, kind: EntityKind) -> None:
        taken[s:e] = b"\x01" * (e - s)
        out.append(EntityMention(key, text[s:e], (s, e), kind))

    known = _known_map(known_names)
    pattern = _known_pattern(tuple(sorted(known)))
    if pattern is not None:
        for m in pattern.finditer(text):
            add(m.start(), m.end(), known[normalise(m.group(0))], "known")
    for m in _QUOTED.finditer(text):
        s, e = m.span(1) if m.group(1) is not None else m.span(2)
        inner = text[s:e].strip()
        if 1 <= len(inner.split()) <= 10 and free(s, e) and normalise(inner):
            add(s, e, normalise(inner), "title")
    toks = _tokens(text)
    for run in _capital_runs(toks, text):
        s, e = run[0].start, run[-1].end
        if free(s, e):
            add(s, e, normalise(" ".join(t.text for t in run)), "name")
    for t in () if names_only else toks:  # keywords take what is left
        word = t.text.lower()
        if _not_keyword(word):
            continue
        if free(t.start, t.end):
            add(t.start, t.end, singular(word), "keyword")
    out.sort(key=lambda m: m.span)
    return out


_YEAR = re.compile(r"^(?:19|20)\d\d$")


def _not_keyword(word: str) -> bool:
    bare = word.replace("'", "")
    return (
        bare in STOPWORDS
        or word in MONTH_AND_DAY_NAMES
        or (len(bare) < 3 and not bare.isdigit())
        or bool(_YEAR.match(word))
    )


def _capital_runs(toks: list[_Tok], text: str) -> list[list[_Tok]]:
    runs: list[list[_Tok]] = []
    current: list[_Tok] = []
    pending: list[_Tok] = []  # connectors waiting for the next capitalised word
    for t in toks:
        last = (pending or current)[-1] if (pending or current) else None
        gap = text[last.end : t.start] if last is not None else ""
        if last is not None and last.text.lower() in _ABBREVIATIONS and gap.strip() == ".":
            gap = " "
        joined = bool(current) and gap.strip() == "" and "\n" not in gap and not t.initial
        if t.capital and (not current or joined):
            current.extend(pending)
            current.append(t)
            pending = []
        elif current and joined and t.text.lower() in CONNECTORS and len(pending) < 2:
            pending.append(t)
        else:
            if current:
                runs.append(current)
            current = [t] if t.capital else []
            pending = []
    if current:
        runs.append(current)
    capital_elsewhere = {t.text.lower() for t in toks if t.capital and not t.initial}
    kept = []
    for run in runs:
        run = _trim(run)
        if not run:
            continue
        if (
            len(run) == 1
            and run[0].initial
            and not run[0].acronym
            and run[0].text.lower() not in capital_elsewhere
        ):
            continue
        kept.append(run)
    return kept


def _trim(run: list[_Tok]) -> list[_Tok]:
    def bad(t: _Tok) -> bool:
        w = t.text.lower()
        return w in NOT_NAMES or w in MONTH_AND_DAY_NAMES or w in CONNECTORS or w.isdigit()

    start, end = 0, len(run)
    while start < end and bad(run[start]):
        start += 1
    while end > start and bad(run[end - 1]):
        end -= 1
    return run[start:end]


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def entity_keys(text: str, known_names: KnownNames = ()) -> list[str]:
    """Unique keys of the known names, titles and names in ``text`` (no keywords)."""
    return list(_unique(m.key for m in extract_entities(text, known_names) if m.kind != "keyword"))


def keywords(text: str) -> list[str]:
    """Unique content words of ``text`` (lower-case, possessive-free, plural-folded)."""
    return list(_unique(m.key for m in extract_entities(text) if m.kind == "keyword"))


def collect_names(texts: Iterable[str], known_names: KnownNames = ()) -> dict[str, int]:
    """How often each ``name`` key occurs across ``texts`` (most frequent first).

    Names met mid-sentence anywhere in a conversation can then be passed back
    as ``known_names`` so that they are recognised at sentence starts too
    ("Jean said ..."). Known names themselves are not counted.
    """
    counts: dict[str, int] = {}
    for text in texts:
        for m in extract_entities(text, known_names):
            if m.kind == "name":
                counts[m.key] = counts.get(m.key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@text_cache(256)  # a search reads its query's names twice (topic test, reranker)
def query_names(query: str) -> tuple[str, ...]:
    """``people + names`` of :func:`query_entities` (no known names given), found
    without the keywords."""
    found = extract_entities(query, names_only=True)
    return (_unique(m.key for m in found if m.kind == "known")
            + _unique(m.key for m in found if m.kind in ("name", "title")))


def query_entities(query: str, known_names: KnownNames = ()) -> QueryEntities:
    """The people, names and keywords a query is about (same keys as documents get)."""
    found = extract_entities(query, known_names)
    return QueryEntities(
        people=_unique(m.key for m in found if m.kind == "known"),
        names=_unique(m.key for m in found if m.kind in ("name", "title")),
        keywords=_unique(m.key for m in found if m.kind == "keyword"),
    )
