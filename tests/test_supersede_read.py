"""The marker tests of ``supersede`` (#21: newer-first reads them on every head text
of a first search) read a lower-cased text with lower-case patterns, and skip a
second pass that cannot change the answer: the answers are exactly those of the
patterns as written (IGNORECASE) read the plain way, on any text."""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engram.ingest import supersede as sup
from engram.ingest.supersede import corrects, narrates_change, states_change, tells_event

_FIXTURES = Path(__file__).parent / "fixtures"


def _plain(name: str) -> Callable[[str], bool]:
    """The test as first written: the IGNORECASE patterns on the text, every pass run."""
    def change(text: str) -> bool:
        return sup.CHANGE.search(text) is not None

    def narrates(text: str) -> bool:
        return sup.CHANGE.search(sup._DURATION_NOW.sub(" ", sup._DENIAL.sub(" ", text))) is not None

    def event(text: str) -> bool:
        return sup._PAST_EVENT.search(sup._STATE_PARTICIPLE.sub(" ", text)) is not None

    def fixes(text: str) -> bool:
        return any(p.search(text) is not None
                   for p in (sup.CORRECTION, sup._DENIAL, sup._SET_RIGHT))

    return {"states_change": change, "narrates_change": narrates, "tells_event": event,
            "corrects": fixes}[name]


_TESTS = {"states_change": states_change, "narrates_change": narrates_change,
          "tells_event": tells_event, "corrects": corrects}


def _texts() -> list[str]:
    """Every statement and question of the knowledge-update case sets."""
    out: set[str] = set()
    for path in sorted(_FIXTURES.glob("knowledge_updates*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.update(v for v in json.loads(line).values() if isinstance(v, str))
    return sorted(out)


def _edited(text: str, rng: random.Random) -> str:
    """``text`` with random case flips, apostrophes swapped, punctuation dropped or
    added, and now and then a letter that only IGNORECASE reads as ASCII."""
    odd = {"s": "ſ", "i": "ı", "I": "İ", "k": "K"}
    out = []
    for c in text:
        r = rng.random()
        if c in ",.;:!?" and r < 0.2:
            continue
        c = {"'": "’", "’": "'"}.get(c, c) if r < 0.5 else c
        c = c.swapcase() if rng.random() < 0.3 else c
        c = odd.get(c, c) if rng.random() < 0.03 else c
        out.append(c)
        if c == " " and rng.random() < 0.05:
            out.append(rng.choice([", not ", "no ", "never ", "isn't ", "; "]))
    return "".join(out)


@pytest.mark.parametrize("name", sorted(_TESTS))
def test_markers_read_every_case_text_as_the_plain_patterns(name: str) -> None:
    fast, plain = _TESTS[name], _plain(name)
    rng = random.Random(11)
    texts = _texts()
    assert len(texts) > 500
    seen = {True: 0, False: 0}
    for text in texts + [_edited(t, rng) for t in texts for _ in range(2)]:
        want = plain(text)
        assert fast(text) is want, (name, text)
        seen[want] += 1
    assert min(seen.values()) > 50  # both answers are pinned, not one


@pytest.mark.parametrize(("text", "marked"), [
    ("I ſwitched to oat milk", {"states_change", "narrates_change", "tells_event"}),
    ("SHE MOVED TO PORTO", {"states_change", "narrates_change", "tells_event"}),
    ("He İS NOT coming, actually", {"states_change", "narrates_change", "corrects"}),
    ("Turns out the Kiosk cloſed", {"states_change", "narrates_change", "tells_event",
                                    "corrects"}),
    ("it ısn't far", {"states_change", "corrects"}),
    ("The site is hosted on a VPS", set()),
    ("My nephew is nine, NOT seven", {"corrects"}),
    ("Café au lait, naïve résumé", set()),
])
def test_letters_read_as_ascii_only_without_case_are_read(text: str, marked: set[str]) -> None:
    for name, fast in _TESTS.items():
        assert fast(text) is (name in marked) is _plain(name)(text), (name, text)


def test_a_lower_cased_text_keeps_every_character_class() -> None:
    """Why the lower-cased read is exact: outside ``_CASE_ODD`` every character
    lower-cases to one character of the same word/space/digit class, which is an
    ASCII letter only when IGNORECASE reads the character as that letter."""
    odd = set(sup._CASE_ODD)
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        low = c.lower()
        if low == c or c in odd:
            continue
        assert len(low) == 1, hex(cp)
        for cls in (r"\w", r"\s", r"\d"):
            assert bool(re.match(cls, c)) is bool(re.match(cls, low)), (hex(cp), cls)
        assert c.isascii() or not low.isascii() or low == "k", hex(cp)  # "K" (Kelvin)
    # every non-ASCII character IGNORECASE reads as an ASCII letter lower-cases to
    # it, but the odd ones
    beyond = "".join(map(chr, range(128, sys.maxunicode + 1)))
    for letter in "abcdefghijklmnopqrstuvwxyz":
        for m in re.finditer(letter, beyond, re.IGNORECASE):
            assert m.group() in odd or m.group().lower() == letter, hex(ord(m.group()))
    for m in re.finditer("[a-z]", beyond, re.IGNORECASE):
        assert m.group() in odd or m.group().lower().isascii(), hex(ord(m.group()))


@pytest.mark.parametrize(("text", "event", "change"), [
    # "have got" right after its subject says what one has: a state (session 36)
    ("We've got an old HP Deskjet at home that jams constantly.", False, False),
    ("She's got two kids and a dog.", False, False),
    ("I have got a season ticket for the Emirates.", False, False),
    ("My brother has got a flat in Leeds.", False, False),
    ("We’ve got a Ford Fiesta, it's fine.", False, False),
    ("I've got to go to the dentist.", False, False),
    # "got" as an event, or "have got" with a marker of change, is not
    ("I got a puppy last week.", True, True),
    ("I've just got a puppy!", True, True),
    ("We got a Canon printer in the sale.", True, True),
    ("I've got a new job at Tesco.", False, True),
    ("I have got my own flat now.", False, True),
])
def test_have_got_says_what_one_has(text: str, event: bool, change: bool) -> None:
    assert tells_event(text) is event, text
    assert states_change(text) is change, text


@pytest.mark.parametrize(("text", "change"), [
    # "replacement" names a thing (a hip replacement, a replacement bus): no change told
    ("Auntie Jan's hip replacement is booked for the 12th of February.", False),
    ("Dad's knee replacement went well, he's home.", False),
    ("There's a rail replacement bus on Sundays.", False),
    ("Replacements for the broken tiles are on order.", False),
    # the verb tells one
    ("I replaced the Fitbit with a Garmin.", True),
    ("We're replacing the boiler in spring.", True),
    ("The old router was replaced last week.", True),
    ("They replace the filters every month.", True),
])
def test_a_replacement_is_a_thing_and_replacing_a_change(text: str, change: bool) -> None:
    assert states_change(text) is change, text


@pytest.mark.parametrize("text", [
    "Change of plan, we're hosting Christmas at ours this year.",
    "Slight change of plans: the party's at Dan's.",
    "Big change of plan - we're driving, not flying.",
])
def test_a_change_of_plan_states_a_change(text: str) -> None:
    assert states_change(text), text
    assert not states_change("We plan to host Christmas at ours.")
