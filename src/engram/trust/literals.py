"""Literal gates: which of a fixed set of literals a text holds, found in one pass.

A gate belongs to a pattern: groups of literals such that every match of the pattern
contains one literal of each group. When a group has none in the text, the pattern
cannot match and is not searched (:mod:`.poisoning` gates its rules this way;
``tests/test_poisoning_gates.py`` checks every gate on every fixture and chat text).

:class:`LiteralSet` finds the literals of many gates at once. Each literal has a bit; a
gate group is the OR of its literals' bits, so a gate is tested with one AND per group.
Literals made of letters alone are read from the text's runs of ASCII letters through a
trie (each distinct run once, its bits memoised); every other literal is looked up only
when each of its letter segments occurred. Texts are folded first (:func:`fold`), so an
IGNORECASE match of an ASCII literal shows as that literal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import reduce
from operator import or_

from ..text import TextMemo

__all__ = ["RUN", "Gate", "LiteralSet", "fold"]

#: a gate: groups of literals, one of each group in every match of its pattern
Gate = tuple[tuple[str, ...], ...]
#: the non-ASCII characters that IGNORECASE matches to an ASCII letter (İ, ı -> i; ſ -> s;
#: Kelvin sign -> k): folded to it so that a literal gate sees what the pattern sees
_FOLD = {0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k"}
#: a run of ASCII letters: a literal of letters alone lies inside one, and so does every
#: letter segment of the other literals ("the user": "the" and "user")
RUN = re.compile(r"[a-z]+")
#: runs memoised per set before the memo is emptied
_MEMO_RUNS = 1 << 16


def fold(text: str) -> str:
    """Lower-cased text in which an IGNORECASE match of an ASCII literal shows as that literal
    (every position kept: a folded character is one character)."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


class LiteralSet:
    """The literals of ``gates`` (pattern -> :data:`Gate`), and the bit masks of each gate.

    :meth:`present_bits` gives the literals a folded text holds as a bit set; a gate is
    open when each of its masks (:attr:`masks`) shares a bit with it. The memo of runs is
    a :class:`~engram.text.TextMemo`: a forget or a delete empties it.
    """

    def __init__(self, gates: Mapping[re.Pattern[str], Gate]) -> None:
        #: every literal, sorted; :attr:`bit` gives each its bit
        self.literals = sorted({w for gate in gates.values() for group in gate for w in group})
        self.bit = {w: 1 << i for i, w in enumerate(self.literals)}
        #: pattern -> the OR of each group's bits
        self.masks: dict[re.Pattern[str], tuple[int, ...]] = {
            p: tuple(sum(self.bit[w] for w in set(group)) for group in gate)
            for p, gate in gates.items()}
        self._all = (1 << len(self.literals)) - 1
        letters = [w for w in self.literals if RUN.fullmatch(w)]
        segments = sorted({g for w in self.literals for g in RUN.findall(w)} - set(letters))
        # the bits a run can carry: the letter literals' own, then one past the literals'
        # for each segment that is no literal itself
        run_bits = {**{w: self.bit[w] for w in letters},
                    **{g: 1 << (len(self.literals) + i) for i, g in enumerate(segments)}}
        #: (run item, its bit): the letter literals and the other literals' segments
        self.run_items = tuple(run_bits.items())
        # the other literals: (literal, its bit, the bits of its letter segments, all needed)
        self._other = tuple((w, self.bit[w], sum(run_bits[g] for g in set(RUN.findall(w))))
                            for w in self.literals if w not in run_bits)
        self._other_ascii = tuple(x for x in self._other if x[0].isascii())
        self._trie = _trie(self.run_items)
        # no item is longer, so a start reads at most this much of a run
        self._depth = max((len(w) for w, _ in self.run_items), default=0)
        #: run -> the bits of :attr:`run_items` inside it (runs repeat)
        self.run_memo: TextMemo[str, int] = TextMemo()

    def run_bits(self, run: str) -> int:
        """The bits of the :attr:`run_items` that occur in ``run`` (memoised)."""
        bits = 0
        depth = self._depth
        for i in range(len(run)):
            node = self._trie
            for ch in run[i : i + depth]:  # not the whole tail: a long run stays linear
                step = node.get(ch)
                if step is None:
                    break
                bits |= step[0]
                node = step[1]  # type: ignore[assignment]
        if len(self.run_memo) >= _MEMO_RUNS:
            self.run_memo.clear()
        self.run_memo[run] = bits
        return bits

    def present_bits(self, folded: str) -> int:
        """The literals that occur in ``folded`` as a bit set: the letter literals and
        segments from its distinct runs of letters (each run's bits kept), then each other
        literal looked up only when all its segments occurred (one without letters always)."""
        runs = set(RUN.findall(folded))
        found = list(map(self.run_memo.get, runs))
        if None in found:
            found = [self.run_bits(r) if b is None else b
                     for r, b in zip(runs, found, strict=True)]
        have: int = reduce(or_, found, 0)
        for w, bit, need in self._other_ascii if folded.isascii() else self._other:
            if have & need == need and w in folded:
                have |= bit
        return have & self._all

    def present(self, folded: str) -> set[str]:
        """The literals that occur in ``folded``."""
        have = self.present_bits(folded)
        return {w for w, bit in self.bit.items() if have & bit}


def _trie(items: tuple[tuple[str, int], ...]) -> dict[str, tuple[int, dict[str, object]]]:
    """``items`` as a trie: letter -> (the bits of the items that end there, the next
    letters), so a run is read once from each of its positions instead of searched for
    each of some 400 items."""
    root: dict[str, tuple[int, dict[str, object]]] = {}
    for w, bit in items:
        node = root
        for i, ch in enumerate(w):
            ends, nxt = node.get(ch, (0, {}))
            node[ch] = (ends | bit if i == len(w) - 1 else ends, nxt)
            node = nxt  # type: ignore[assignment]
    return root
