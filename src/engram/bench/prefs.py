"""``engram bench prefs``: evolving preferences and answering as the user, measured.

**Preferences with drift.** Each simulated user holds a stance on a topic
(likes or dislikes) that changes at random points; every turn they say
something about it, in one of many phrasings, and sometimes (``--noise``) the
opposite of what they hold (a bad day, a joke). Every statement goes through
the real write path (``Engram.add`` with rule derivation) and the stance is
read back from ``profile()`` after each turn. Policies compared on the very
same statements (common random numbers):

* ``tracked``: Engram's tracker (short/long averages, drift sustained for
  ``sustain`` statements), read from ``profile()``;
* ``last``: the last recognised statement wins (what superseding gives);
* ``mean``: the mean of every statement so far (no forgetting);
* ``ema``: one average (``alpha_long``) with no drift rule;
* ``sustain=1``/``sustain=3``: the tracker with other settings (the
  tracker run offline on the statements the rules recognised).

Scored: **accuracy** (turns whose current stance is the true one), **lag**
(turns from a true change until the stance follows and stays, median and
mean; a change never followed counts its whole segment) and **false flips**
(flips to the wrong stance per 100 turns).

**Form filling.** Generated personas (facts said in varied phrasings, some
fields never mentioned) fill forms whose fields are worded in many ways,
including fields memory cannot know. Scored: precision (filled values that are
right), recall (known fields filled right), silence (unknown fields left
empty) and citations (every cited id is a memory of that user).
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["PrefsReport", "prefs_command", "run_form_bench", "run_prefs_bench"]

TOPICS = ["coffee", "sushi", "jazz", "horror films", "hiking", "spicy food", "board games",
          "podcasts", "cold showers", "opera", "camping", "video games", "gardening", "yoga",
          "red wine", "reality TV", "crossword puzzles", "running", "country music", "tea",
          "museums", "techno", "road trips", "cooking", "cats", "karaoke", "chess",
          "winter", "beach holidays", "science fiction"]

#: statement templates, ``{x}`` the topic; some are phrasings the rules do not read
LIKE = ["I love {x}.", "I really like {x}.", "I like {x}.", "I enjoy {x} a lot.",
        "I adore {x}!", "Honestly, I really enjoy {x}.", "I prefer {x}.",
        "You know what, I love {x}", "So I like {x}, it is great", "I'm a big fan of {x}.",
        "I can't get enough of {x}.", "Well, I really love {x} these days."]
DISLIKE = ["I hate {x}.", "I don't like {x}.", "I can't stand {x}.", "I really dislike {x}.",
           "Actually, I don't like {x} anymore.", "I'm not into {x} these days.",
           "So I hate {x} now", "Well, I really don't like {x}.", "{X} is awful, I hate {x}.",
           "I've gone off {x}."]

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _stance(x: float) -> int:
    return 0 if abs(x) < 0.15 else (1 if x > 0 else -1)


@dataclass
class Stream:
    topic: str
    truth: list[int]  # the true stance before each turn's statement is read
    said: list[str]
    signs: list[int]  # the sign of what was said


def make_stream(rng: random.Random, topic: str, turns: int, changes: int,
                noise: float) -> Stream:
    """One topic's stream: ``changes`` true changes at least 6 turns apart."""
    points: list[int] = []
    while len(points) < changes:
        p = rng.randrange(6, turns - 6)
        if all(abs(p - q) >= 6 for q in points):
            points.append(p)
    stance = rng.choice([1, -1])
    truth: list[int] = []
    for i in range(turns):
        if i in points:
            stance = -stance
        truth.append(stance)
    said, signs = [], []
    for t in truth:
        sign = -t if rng.random() < noise else t
        text = rng.choice(LIKE if sign > 0 else DISLIKE)
        said.append(text.replace("{X}", topic[0].upper() + topic[1:]).replace("{x}", topic))
        signs.append(sign)
    return Stream(topic, truth, said, signs)


@dataclass
class Score:
    accuracy: float
    lag_median: float
    lag_mean: float
    false_flips_per_100: float


def score(runs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> Score:
    """Accuracy, lag after each true change, and flips to the wrong stance, over
    ``(truth, current)`` pairs (one per stream)."""
    right = total = wrong_flips = 0
    lags: list[int] = []
    for truth, current in runs:
        n = len(truth)
        total += n
        right += sum(1 for t, c in zip(truth, current, strict=True) if t == c)
        changes = [i for i in range(1, n) if truth[i] != truth[i - 1]]
        for k, start in enumerate(changes):
            end = changes[k + 1] if k + 1 < len(changes) else n
            lag = end - start  # never followed: the whole segment
            for j in range(start, end):
                if all(current[m] == truth[m] for m in range(j, end)):
                    lag = j - start
                    break
            lags.append(lag)
        wrong_flips += sum(1 for i in range(1, n)
                           if current[i] != current[i - 1] and current[i] != truth[i])
    return Score(round(right / max(1, total), 3),
                 float(statistics.median(lags)) if lags else 0.0,
                 round(statistics.fmean(lags), 2) if lags else 0.0,
                 round(100 * wrong_flips / max(1, total), 2))


def _offline(observed: Sequence[float | None], kind: str, sustain: int = 2) -> list[int]:
    """The stance after each turn under a baseline policy (``None``: nothing recognised)."""
    from ..agents.preferences import TrackerConfig, observe

    out: list[int] = []
    value: float | None = None
    seen: list[float] = []
    state = None
    config = TrackerConfig(sustain=sustain)
    for x in observed:
        if x is not None:
            seen.append(x)
            if kind == "last":
                value = x
            elif kind == "mean":
                value = statistics.fmean(seen)
            elif kind == "ema":
                value = x if value is None else value + config.alpha_long * (x - value)
            else:
                state, _ = observe(state, x, None, "t", config)
                value = state.current
        out.append(0 if value is None else _stance(value))
    return out


@dataclass
class PrefsReport:
    turns: int
    topics: int
    noise: float
    recognised: float
    policies: dict[str, Score]
    seconds: float
    form: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["policies"] = {k: asdict(v) for k, v in self.policies.items()}
        return d


def run_prefs_bench(engine_factory: Callable[[], Any], *, topics: int = 12, turns: int = 40,
                    changes: int = 2, noise: float = 0.15, seed: int = 7) -> PrefsReport:
    """Run the drift streams through ``engine_factory()`` (a fresh engine) and score."""
    from ..agents.preferences import parse_statement, wording_strength
    from ..ingest.derive import RuleDeriver
    from ..models import Episode, Scope

    rng = random.Random(seed)
    streams = [make_stream(rng, TOPICS[i % len(TOPICS)], turns, changes, noise)
               for i in range(topics)]
    names = ("tracked", "last", "mean", "ema", "sustain=1", "sustain=2", "sustain=3")
    runs: dict[str, list[tuple[list[int], list[int]]]] = {k: [] for k in names}
    recognised = total = 0
    started = time.perf_counter()
    deriver = RuleDeriver()
    eg = engine_factory()
    try:
        for u, stream in enumerate(streams):
            user = f"bench-user-{u}"
            observed: list[float | None] = []
            tracked: list[int] = []
            for i, text in enumerate(stream.said):
                eg.add(text, user_id=user, speaker="Sam", occurred_at=T0 + timedelta(hours=i))
                view = next((v for v in eg.profile(user_id=user).preferences
                             if v.topic == stream.topic.lower()), None)
                tracked.append(0 if view is None else _stance(view.current))
                ep = Episode(id=f"e{i}", scope=Scope(user_id=user), role="user", text=text,
                             occurred_at=T0, created_at=T0, speaker="Sam")
                x = None
                for cand in deriver.derive([ep]):
                    parsed = parse_statement(cand)
                    if parsed is not None:
                        x = wording_strength(text, parsed[1], parsed[0])
                recognised += x is not None
                total += 1
                observed.append(x)
            runs["tracked"].append((stream.truth, tracked))
            for kind in ("last", "mean", "ema"):
                runs[kind].append((stream.truth, _offline(observed, kind)))
            for k in (1, 2, 3):
                runs[f"sustain={k}"].append((stream.truth, _offline(observed, "tracked", k)))
    finally:
        eg.close()
    return PrefsReport(turns=turns, topics=topics, noise=noise,
                       recognised=round(recognised / max(1, total), 3),
                       policies={k: score(v) for k, v in runs.items()},
                       seconds=round(time.perf_counter() - started, 1))


# -- form filling ------------------------------------------------------------------------
_NAMES = ["Ana Silva", "Tom Becker", "Priya Natarajan", "Kenji Watanabe", "Lucia Romero",
          "Omar Haddad", "Ingrid Larsen", "Mateo Gomez", "Chloe Martin", "Dmitri Volkov",
          "Amara Okafor", "Sven Olsen", "Mei Lin", "Jonas Weber", "Fatima Zahra", "Liam Byrne"]
_CITIES = ["Lisbon", "Utrecht", "Osaka", "Melbourne", "Toronto", "Nairobi", "Lyon", "Krakow",
           "Austin", "Seville", "Bergen", "Porto", "Valparaiso", "Tallinn"]
_EMPLOYERS = ["Acme Robotics", "Globex", "Initech", "Northwind Traders", "Fabrikam", "Contoso",
              "Umbrella Labs", "Wayne Logistics", "Blue Harbor Bank", "Sunrise Bakery"]
_PARTNERS = ["Tom", "Maria", "Alex", "Sam", "Yuki", "Noor", "Daniel", "Elena"]
_ALLERGIES = ["peanuts", "shellfish", "penicillin", "gluten", "pollen", "cat hair"]
_PETS = ["a dog called Rex", "two cats", "a cat named Miso", "a parrot called Kiwi"]
_FAVOURITES = {"food": ["pizza", "ramen", "paella", "dumplings"],
               "film": ["Amelie", "Alien", "Spirited Away", "Casablanca"],
               "book": ["Dune", "Middlemarch", "The Hobbit"],
               "colour": ["green", "blue", "orange"]}
_PLANS = ["visit Japan", "learn the cello", "run a marathon", "move to the coast"]

#: what a person says, per fact (some phrasings the rules cannot read)
_SAY: dict[str, list[str]] = {
    "name": ["My name is {v}.", "Hi, my name is {v}!", "I'm {v}, nice to meet you.",
             "Hello! My name is {v}, by the way."],
    "lives_in": ["I moved to {v} last year.", "I live in {v}.", "I'm based in {v}.",
                 "These days I'm living in {v}.", "Home is {v} now."],
    "works_at": ["I work at {v}.", "I'm working for {v}.", "I just started a new job at {v}.",
                 "I got a job with {v}.", "My employer is {v}."],
    "age": ["I'm {v} years old.", "I am {v} years old", "I just turned {v}."],
    "partner": ["My wife is {v}.", "My husband is {v}.", "My partner is {v}.",
                "I'm married to {v}."],
    "diet": ["I'm {v}.", "I am {v} these days", "I've been {v} for years, actually"],
    "allergy": ["I'm allergic to {v}.", "I am allergic to {v}", "{V} makes me sneeze a lot."],
    "pets": ["I have {v}.", "At home I have {v}.", "We share the flat with {v}."],
    "favourite": ["My favourite {w} is {v}.", "My favorite {w} is {v}",
                  "{V} is my favourite {w}."],
    "likes": LIKE,
    "dislikes": DISLIKE,
    "plan": ["I'm planning to {v}.", "I want to {v}.", "I intend to {v} next year.",
             "I'm hoping to {v}."],
}

#: how forms ask, per slot (written as forms word them, not from the rules' cues)
_ASK: dict[str, list[str]] = {
    "name": ["Full name", "Name", "Your name", "First and last name", "Applicant name",
             "What is your name?", "Name (as on ID)"],
    "lives_in": ["City", "City of residence", "Where do you live?", "Current city",
                 "Location", "Place of residence", "Which city are you based in?"],
    "works_at": ["Employer", "Company", "Current employer", "Where do you work?",
                 "Organisation", "Company name", "Workplace"],
    "age": ["Age", "How old are you?", "Your age (years)"],
    "partner": ["Spouse", "Partner's name", "Name of spouse/partner", "Who is your partner?",
                "Husband or wife"],
    "diet": ["Dietary requirements", "Diet", "Dietary preference",
             "Are you vegetarian or vegan?", "Special diet"],
    "allergy": ["Allergies", "Food allergies", "Known allergies",
                "Are you allergic to anything?", "Allergies or intolerances"],
    "pets": ["Pets", "Do you have any pets?", "Pet(s)", "Animals at home"],
    "favourite": ["Favourite {w}", "Favorite {w}", "Your favourite {w}", "Preferred {w}"],
    "likes": ["Hobbies", "Interests", "Things you enjoy", "What do you like?",
              "Hobbies and interests", "What do you do for fun?"],
    "dislikes": ["Dislikes", "Things you dislike", "Pet peeves", "What do you hate?"],
    "plan": ["Plans", "Upcoming plans", "Future plans", "What are you planning?"],
}
_UNKNOWN = ["Blood type", "Passport number", "Shoe size", "Phone number",
            "Mother's maiden name", "Emergency contact", "Date of birth", "Height",
            "Eye colour", "Favourite number", "Nationality", "Driving licence number"]


def _persona(rng: random.Random, i: int, known: float) -> tuple[list[str], dict[str, Any]]:
    """What person ``i`` says, and the true value of each slot (absent: never said)."""
    facts: dict[str, Any] = {
        "name": _NAMES[i % len(_NAMES)], "lives_in": rng.choice(_CITIES),
        "works_at": rng.choice(_EMPLOYERS), "age": str(rng.randint(21, 70)),
        "partner": rng.choice(_PARTNERS),
        "diet": rng.choice(["vegetarian", "vegan", "pescatarian"]),
        "allergy": rng.choice(_ALLERGIES), "pets": rng.choice(_PETS),
        "plan": rng.choice(_PLANS)}
    what = rng.choice(sorted(_FAVOURITES))
    facts["favourite:" + what] = rng.choice(_FAVOURITES[what])
    topics = rng.sample(TOPICS, 3)
    facts["likes"], facts["dislikes"] = topics[:2], topics[2:]
    kept = {k: v for k, v in facts.items() if rng.random() < known}
    said: list[str] = []
    for slot, value in kept.items():
        key = "favourite" if slot.startswith("favourite:") else slot
        for v in value if isinstance(value, list) else [value]:
            text = rng.choice(_SAY[key]).replace("{w}", slot.split(":")[-1])
            said.append(text.replace("{V}", v[0].upper() + v[1:]).replace("{v}", v)
                        .replace("{X}", v[0].upper() + v[1:]).replace("{x}", v))
    rng.shuffle(said)
    return said, kept


def _right(value: str, gold: Any) -> bool:
    want = [g.lower() for g in (gold if isinstance(gold, list) else [gold])]
    got = [v.strip().lower() for v in value.split(",") if v.strip()]
    return all(any(w in g or g in w for g in got) for w in want) and all(
        any(w in g or g in w for w in want) for g in got)


def run_form_bench(engine_factory: Callable[[], Any], *, personas: int = 12, known: float = 0.75,
                   seed: int = 11) -> dict[str, Any]:
    """Fill one form per generated persona; precision, recall, silence, citations."""
    rng = random.Random(seed)
    filled = right = gold_known = found = silent = silent_ok = cites = cites_ok = 0
    known_derived = found_derived = 0
    misses: list[str] = []
    started = time.perf_counter()
    eg = engine_factory()
    try:
        for i in range(personas):
            said, truth = _persona(rng, i, known)
            user = f"bench-persona-{i}"
            for k, text in enumerate(said):
                eg.add(text, user_id=user, speaker=truth.get("name", "Pat").split()[0],
                       occurred_at=T0 + timedelta(minutes=k))
            asked: dict[str, Any] = {}
            for slot, ways in _ASK.items():
                if slot == "favourite":
                    fav = next((k for k in truth if k.startswith("favourite:")), None)
                    what = fav.split(":")[1] if fav else rng.choice(sorted(_FAVOURITES))
                    asked[rng.choice(ways).replace("{w}", what)] = truth.get(f"favourite:{what}")
                else:
                    asked[rng.choice(ways)] = truth.get(slot)
            for name in rng.sample(_UNKNOWN, 3):
                asked[name] = None
            form = eg.fill_form(list(asked), user_id=user)
            texts = " | ".join(m.text.lower() for m in eg.list(user_id=user, limit=500).items)
            for f in form.fields:
                gold = asked[f.name]
                for ref in f.citations:
                    cites += 1
                    try:
                        cites_ok += eg.get(ref.id, user_id=user).id == ref.id
                    except Exception:  # noqa: BLE001 - a citation that does not resolve
                        pass
                if gold is None:
                    silent += 1
                    silent_ok += not f.value
                    if f.value:
                        misses.append(f"{f.name!r} filled {f.value!r} (unknown)")
                    continue
                gold_known += 1
                derived = all(g.lower() in texts for g in (gold if isinstance(gold, list)
                                                            else [gold]))
                known_derived += derived
                found_derived += derived and bool(f.value) and _right(f.value, gold)
                if not f.value and derived:
                    misses.append(f"{f.name!r} empty, a memory says {gold!r}")
                if f.value:
                    filled += 1
                    ok = _right(f.value, gold)
                    right += ok
                    found += ok
                    if not ok:
                        misses.append(f"{f.name!r}: {f.value!r} != {gold!r}")
    finally:
        eg.close()
    wrong_unknown = silent - silent_ok
    return {
        "personas": personas, "fields_known": gold_known, "fields_unknown": silent,
        "precision": round(right / max(1, filled + wrong_unknown), 3),
        "recall": round(found / max(1, gold_known), 3),
        "derived": round(known_derived / max(1, gold_known), 3),
        "recall_of_derived": round(found_derived / max(1, known_derived), 3),
        "silence": round(silent_ok / max(1, silent), 3),
        "citations_valid": round(cites_ok / max(1, cites), 3), "citations": cites,
        "wrong": misses[:40], "seconds": round(time.perf_counter() - started, 1),
    }


def format_report(report: PrefsReport) -> str:
    """The two tables: drift following per policy, and form filling."""
    lines = [f"preferences: {report.topics} topics x {report.turns} turns, "
             f"noise {report.noise:.0%}, statements the rules read {report.recognised:.0%}",
             f"{'policy':<11}{'accuracy':>9}{'lag p50':>9}{'lag mean':>9}{'false flips/100':>17}"]
    for name, s in report.policies.items():
        lines.append(f"{name:<11}{s.accuracy:>9.3f}{s.lag_median:>9.1f}{s.lag_mean:>9.2f}"
                     f"{s.false_flips_per_100:>17.2f}")
    f = report.form
    if f:
        lines += ["", f"form filling: {f['personas']} personas, {f['fields_known']} fields "
                      f"memory was told, {f['fields_unknown']} it was not",
                  f"precision {f['precision']:.3f}  recall {f['recall']:.3f}  (told and "
                  f"derived {f['derived']:.3f}, recall of those {f['recall_of_derived']:.3f})"
                  f"  silence {f['silence']:.3f}  citations valid {f['citations_valid']:.3f}"]
    return "\n".join(lines)


def _prefs_command() -> object:
    import click

    @click.command("prefs")
    @click.option("--topics", default=12, show_default=True, help="Preference streams.")
    @click.option("--turns", default=40, show_default=True, help="Statements per stream.")
    @click.option("--changes", default=2, show_default=True,
                  help="True changes of mind per stream.")
    @click.option("--noise", default=0.15, show_default=True,
                  help="Share of statements saying the opposite of the true stance.")
    @click.option("--personas", default=16, show_default=True,
                  help="Generated personas for form filling (0: skip).")
    @click.option("--seed", default=7, show_default=True)
    @click.option("--out", type=click.Path(path_type=Path),
                  default=Path("bench-results/prefs.json"), show_default=True)
    def prefs(topics: int, turns: int, changes: int, noise: float, personas: int, seed: int,
              out: Path) -> None:
        """Evolving preferences (how fast and how stably the current value follows a
        drifting stream) and form filling as the user (precision, recall, silence)."""
        if topics < 1 or turns < 14 or not 0 <= changes <= (turns - 14) // 6 + 1 or personas < 0:
            raise click.BadParameter("need --topics >= 1, --turns >= 14, --personas >= 0 and "
                                     "--changes that fit (at least 6 turns apart)")
        if not 0.0 <= noise < 0.5:
            raise click.BadParameter("--noise must be in [0, 0.5)")
        from ..embed.registry import get_embedder
        from ..engine import Engram

        embedder = get_embedder("default")
        try:
            def fresh() -> Engram:
                return Engram("memory://bench-prefs", embedder=embedder)

            report = run_prefs_bench(fresh, topics=topics, turns=turns, changes=changes,
                                     noise=noise, seed=seed)
            if personas:
                report.form = run_form_bench(fresh, personas=personas, seed=seed + 4)
        finally:
            embedder.close()
        click.echo(format_report(report))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report.to_dict(), indent=2))
        click.echo(f"JSON report: {out}")

    return prefs


prefs_command = _prefs_command()
